"""``gmx mdrun -rerun`` through cgbench.evaluate.rerun reproduces a real run's own forces.

A tiny TMBT box (4 molecules, PME, the study's mdp templates) runs 100 steps of NVT writing
positions and forces every 20 steps. ``mdrun -nstlist 20`` puts every written frame on a pair-list
build, where the dynamic run's forces are exact for the force field (between builds, the Verlet
buffer lets a few pairs that drift inside the cut-off go missing, a ~1e-4 relative effect the
rerun does not have). On those frames the rerun must give the run's forces to single precision,
and their CG projections (Eq. 6 mean and net) must equal what the mapping stage made of the run.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from cgbench.aa import protocol as aa
from cgbench.engines import mdp
from cgbench.engines.mdrun import run_stage
from cgbench.stages.aa import pack_system
from cgbench.core.config import validate
from cgbench.evaluate.forces import project_forces
from cgbench.evaluate.rerun import read_rerun_forces, rerun_forces, rerun_mdp
from cgbench.engines.gromacs import Gromacs, read_edr
from cgbench.molecule.mapping import Mapping
from cgbench.mapping.reference import map_trajectory
from cgbench.molecule.topology import Topology
from cgbench.engines.trajectory import read_frames
from conftest import ROOT, needs_gmx

pytestmark = [pytest.mark.integration, needs_gmx]

N_MOL = 4


def _raw_frames(trr):
    """Positions (float32 nm, as GROMACS wrote them), boxes, forces and times of a .trr."""
    from MDAnalysis.lib.formats.libmdaxdr import TRRFile

    x, box, f, t = [], [], [], []
    with TRRFile(str(trr)) as fh:
        for fr in fh:
            x.append(fr.x.copy())
            box.append(np.diag(fr.box).copy())
            f.append(fr.f.astype(float))
            t.append(fr.time)
    return np.array(x), np.array(box, dtype=float), np.array(f), np.array(t)


@pytest.fixture(scope="module")
def aa_run(tmp_path_factory, tmbt_files):
    d = tmp_path_factory.mktemp("rerun")
    cfg = validate({"molecule": str(ROOT / "resources/tmbt/molecule.yaml"), "aa": {
        "n_molecules": N_MOL, "cutoff_nm": 0.6, "energy_interval_ps": 0.01,
        "em": {"nsteps": 300}, "nvt": {"time_ps": 0.1, "output_interval_ps": 0.02}}})["aa"]
    log = d / "log"
    pack_system(tmbt_files["gro"], tmbt_files["itp"], tmbt_files["summary"], d / "packed.gro", d / "system.top",
                d / "molecule.itp", N_MOL, 0.5, 0.6, 2, "gmx", log)
    res = ROOT / "resources" / "mdp"
    for stage in ("em", "nvt"):
        (d / f"{stage}.mdp").write_text(
            mdp.render(res / aa.template(stage), aa.mdp_values(stage, cfg, 1), res / "common.mdp"))
    run_stage("em", d / "em.mdp", d / "packed.gro", d / "system.top", d / "w_em", {"gro": d / "em.gro"}, log)
    gmx = Gromacs()
    gmx.grompp(d / "nvt.mdp", d / "em.gro", d / "system.top", "nvt.tpr", d, log)
    # pair list built every 20 steps = every written frame (GROMACS would otherwise pick its own)
    gmx.mdrun("nvt.tpr", "nvt", d, log, threads=1, extra=["-nstlist", "20"])
    return d


def test_rerun_mdp_replaces_output_settings_only():
    text = "integrator = md\nnstfout = 500 ; every 500\nnst_energy = 100\ncoulombtype = PME\n"
    out = rerun_mdp(text)
    parsed = mdp.parse(out)
    assert parsed["nstfout"] == "1" and parsed["nstenergy"] == "1" and parsed["nstxout"] == "1"
    assert parsed["coulombtype"] == "PME" and parsed["integrator"] == "md"
    # no key twice (grompp refuses that), whichever spelling the input used
    keys = [ln.split("=")[0].strip().replace("_", "-") for ln in out.splitlines() if "=" in ln.split(";")[0]]
    assert len(keys) == len(set(keys))


def test_rerun_reproduces_the_runs_forces_and_their_projection(aa_run, tmbt_files, tmp_path):
    x, box, f_run, t = _raw_frames(aa_run / "nvt.trr")
    assert len(t) == 6
    top = Topology.load_npz(tmbt_files["topology"])
    out = rerun_forces(x, box, aa_run / "nvt.mdp", aa_run / "system.top", top.atom_names, top.resname,
                       tmp_path / "rerun")
    scale = np.abs(f_run).max()
    assert out.forces.shape == f_run.shape
    # single precision: float32 rounding of sums of terms of order |f|
    assert np.abs(out.forces - f_run).max() <= 2e-6 * scale

    # the run's energy file has every 10th step; the frames are every 20th
    edr = read_edr(aa_run / "nvt.edr", ["Potential"])
    at = np.searchsorted(np.round(edr["Time"], 6), np.round(t, 6))
    np.testing.assert_allclose(out.potential, edr["Potential"][at], rtol=1e-6, atol=1e-3)

    # CG projections equal those the mapping stage makes of the run's own forces
    mapping = Mapping.from_dict(json.loads(Path(tmbt_files["mapping"]).read_text()))
    cg, mean = map_trajectory(read_frames(aa_run / "nvt.tpr", aa_run / "nvt.trr"), top, mapping, N_MOL)
    member = mapping.membership()
    net = project_forces(out.forces, member, kind="net")
    np.testing.assert_allclose(net, cg.forces, rtol=0, atol=1e-5 * np.abs(cg.forces).max())
    np.testing.assert_allclose(project_forces(out.forces, member, kind="mean"), mean, rtol=0,
                               atol=1e-5 * np.abs(mean).max())


def test_xtc_precision_would_not_reproduce_the_forces(aa_run, tmbt_files, tmp_path):
    # why the rerun takes .trr frames: positions rounded to 0.001 nm, as .xtc stores them, move
    # forces on stiff bonds by far more than single precision
    x, box, f_run, _ = _raw_frames(aa_run / "nvt.trr")
    top = Topology.load_npz(tmbt_files["topology"])
    out = rerun_forces(np.round(x[:2], 3), box[:2], aa_run / "nvt.mdp", aa_run / "system.top", top.atom_names,
                       top.resname, tmp_path / "xtc")
    assert np.abs(out.forces - f_run[:2]).max() > 100 * 2e-6 * np.abs(f_run).max()
    assert read_rerun_forces(tmp_path / "xtc" / "rerun.trr").shape == (2, N_MOL * 69, 3)
