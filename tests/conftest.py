from pathlib import Path
import shutil

import pytest

ROOT = Path(__file__).resolve().parents[1]
TMBT = ROOT / "resources" / "tmbt" / "molecule.yaml"


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def tmbt():
    """TMBT built, typed, parameterised and mapped (the molecule stage, in memory)."""
    from cgbench.stages.molecule import prepare

    return prepare(TMBT, seed=1)


@pytest.fixture(scope="session")
def tmbt_files(tmp_path_factory, tmbt):
    """The molecule stage's files for TMBT."""
    from cgbench.stages.molecule import write_outputs

    d = tmp_path_factory.mktemp("molecule")
    names = {
        "itp": "molecule.itp", "gro": "molecule.gro", "top": "molecule.top",
        "topology": "topology.npz", "mapping": "mapping.json", "cg_topology": "cg_topology.json",
        "votca_mapping": "votca_mapping.xml", "summary": "summary.json",
    }
    out = {k: d / v for k, v in names.items()}
    write_outputs(tmbt, out)
    return out


def write_spec(tmp_path, smiles, beads, charge=0, name="MOL"):
    """A molecule.yaml in ``tmp_path`` that uses the shipped OPLS-AA supplement."""
    import yaml

    spec = {
        "name": name,
        "smiles": smiles,
        "charge": charge,
        "supplement": str(ROOT / "resources" / "oplsaa" / "supplement.yaml"),
        "beads": beads,
    }
    path = tmp_path / "molecule.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


#: What a run of the workflow needs from the checkout.
WORKFLOW_PARTS = ["Snakefile", "workflow", "config", "resources", "scripts", "envs", "profiles"]


def copy_workflow(d):
    """Copy the workflow into ``d``, so a test run never touches the checkout's results/."""
    d.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        src = ROOT / part
        (shutil.copytree if src.is_dir() else shutil.copyfile)(src, d / part)
    return d


needs_gmx = pytest.mark.skipif(shutil.which("gmx") is None, reason="GROMACS (gmx) is not installed")


def tiny_aa_run(d, tmbt_files, n_molecules=4, cutoff_nm=0.6, density_g_cm3=0.5, pack_seed=4, em_steps=300,
                nvt_ps=0.05, output_ps=0.01, mdp_seed=1):
    """Pack TMBT in ``d``, minimise, and run a short NVT that writes full-precision frames.

    Leaves ``system.top``, ``molecule.itp``, ``em.mdp``, ``nvt.mdp``, ``em.gro``, ``nvt.gro``,
    ``nvt.trr`` and ``nvt.tpr`` in ``d``, with GROMACS' work in ``d/w_em`` and ``d/w_nvt``.
    """
    from cgbench.aa import protocol as aa
    from cgbench.engines import mdp
    from cgbench.engines.mdrun import run_stage
    from cgbench.stages.aa import pack_system
    from cgbench.core.config import validate

    cfg = validate({"molecule": str(TMBT), "aa": {
        "n_molecules": n_molecules, "cutoff_nm": cutoff_nm, "energy_interval_ps": 0.01,
        "em": {"nsteps": em_steps}, "nvt": {"time_ps": nvt_ps, "output_interval_ps": output_ps}}})["aa"]
    log = d / "log"
    pack_system(tmbt_files["gro"], tmbt_files["itp"], tmbt_files["summary"], d / "packed.gro", d / "system.top",
                d / "molecule.itp", n_molecules, density_g_cm3, cutoff_nm, pack_seed, "gmx", log)
    res = ROOT / "resources" / "mdp"
    prev = d / "packed.gro"
    for stage in ("em", "nvt"):
        (d / f"{stage}.mdp").write_text(
            mdp.render(res / aa.template(stage), aa.mdp_values(stage, cfg, mdp_seed), res / "common.mdp"))
        outs = {"gro": d / f"{stage}.gro"}
        if stage == "nvt":
            outs.update(trr=d / "nvt.trr", tpr=d / "nvt.tpr")
        run_stage(stage, d / f"{stage}.mdp", prev, d / "system.top", d / f"w_{stage}", outs, log, threads=2)
        prev = outs["gro"]
    return d
