"""The Snakefile: planning on every shipped config, lint, config errors, and a real run on test.yaml."""

import os
from pathlib import Path
import subprocess
import sys

import pytest

from conftest import copy_workflow, needs_gmx

pytestmark = pytest.mark.workflow

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def snakemake(*args, cwd=ROOT, timeout=600):
    return subprocess.run([SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A copy of the workflow in a temporary directory, so tests never touch results/."""
    return copy_workflow(tmp_path_factory.mktemp("wf"))


@pytest.mark.parametrize("config", ["config.yaml", "paper.yaml", "test.yaml"])
def test_dry_run_plans_the_whole_dag(workdir, config):
    res = snakemake("-n", "--configfile", f"config/{config}", cwd=workdir)
    assert res.returncode == 0, res.stderr + res.stdout
    out = res.stdout
    for rule in ("molecule", "aa_system", "aa_equilibrate", "aa_nvt", "aa_thermo", "map_aa", "dbi", "ibi_setup",
                 "ibi_chunk", "ibi_finish", "rescale_bonded", "cg_production", "figure2", "testset", "backmap_em",
                 "evaluate_aa", "evaluate_set", "cg_model_forces", "summarise", "dbm_train", "backmap_dbm", "all"):
        assert f"rule {rule}:" in out or f"\n{rule} " in out, rule
    assert "This was a dry-run" in out


def test_lint_is_clean():
    res = snakemake("--lint", "--configfile", "config/test.yaml")
    assert "Congratulations, your workflow is in a good condition!" in res.stdout + res.stderr, res.stdout + res.stderr


def test_snakefmt_is_clean():
    snakefmt = Path(sys.executable).with_name("snakefmt")
    res = subprocess.run([str(snakefmt), "--check", "Snakefile", "workflow"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_bad_config_fails_before_any_job(workdir):
    bad = workdir / "bad.yaml"
    bad.write_text("molecule: resources/tmbt/molecule.yaml\naa:\n  n_molecule: 10\n  nvt: {time_ps: -5}\n")
    res = snakemake("-n", "--configfile", "bad.yaml", cwd=workdir)
    assert res.returncode != 0
    text = res.stderr + res.stdout
    assert "aa: unknown key(s) 'n_molecule'" in text
    assert "aa.nvt.time_ps: -5" in text
    assert "Job stats" not in text and not (workdir / "results").exists()


@needs_gmx
@pytest.mark.slow
def test_run_on_test_config(workdir):
    res = snakemake("--cores", "2", "--configfile", "config/test.yaml", cwd=workdir, timeout=1200)
    assert res.returncode == 0, res.stderr[-3000:]
    r = workdir / "results"
    for path in ("molecule/molecule.itp", "molecule/votca_mapping.xml", "molecule/molecule.png",
                 "aa/nvt.trr", "aa/nvt.tpr", "aa/thermo.png"):
        assert (r / path).stat().st_size > 0, path
    import numpy as np
    import pandas as pd

    thermo = pd.read_csv(r / "aa" / "thermo.csv")
    assert list(thermo["stage"].unique()) == ["compress", "anneal", "cool", "npt", "nvt"]
    assert thermo["time_ps"].is_monotonic_increasing
    summary = pd.read_csv(r / "aa" / "summary.csv").set_index("stage")
    assert list(summary.index) == ["em", "compress", "anneal", "cool", "npt", "nvt"]
    assert (summary["wall_s"] > 0).all() and summary.loc["nvt", "ns_per_day"] > 0
    # the mapped reference: every CG distribution, and DBI parameters with fit quality
    ref = pd.read_csv(r / "mapping" / "reference.csv")
    assert set(ref["kind"]) == {"bond", "angle", "proper", "improper", "rdf"}
    import json

    dbi = json.loads((r / "bonded" / "dbi_params.json").read_text())
    assert set(dbi["bonds"]) == {"T-A", "A-A"} and len(dbi["propers"]["A-T-A-A"]["C"]) == 6
    assert 0.38 < dbi["bonds"]["T-A"]["mean_nm"] < 0.46
    # IBI ran in chunks of iterations, each a job with its own sentinel and log
    conv = pd.read_csv(r / "ibi" / "convergence.csv")
    assert sorted(conv["iteration"].unique()) == [1, 2] and set(conv["pair"]) == {"T-T", "T-A", "A-A"}
    assert (r / "ibi" / "chunk_001.json").exists() and (r / "ibi" / "chunk_002.json").exists()
    assert "step_002" in {p.name for p in (r / "ibi" / "work").iterdir()}
    pots = pd.read_csv(r / "ibi" / "potentials.csv")
    assert pots["U"].notna().all() and set(pots["pair"]) == {"T-T", "T-A", "A-A"}
    # every model produced a GROMACS-format CG trajectory of whole molecules, and Figure 2 compares them
    import MDAnalysis as mda

    for model in ("A", "B", "C"):
        u = mda.Universe(str(r / "cg" / model / "traj.gro"), str(r / "cg" / model / "traj.xtc"))
        assert len(u.atoms) == 16 * 7 and len(u.trajectory) == 11
        info = json.loads((r / "cg" / model / "summary.json").read_text())
        assert info["timestep_fs"] == {"A": 10, "B": 1, "C": 1}[model]
    dist = pd.read_csv(r / "cg" / "distances.csv")
    assert set(dist["model"]) == {"A", "B", "C"} and dist["js"].between(0, np.log(2)).all()
    # model C has no dihedral potentials, model A holds its bonds: the bond distributions show it
    d = dist.set_index(["model", "kind", "name"])["js"]
    assert d["A", "bond", "T-A"] > d["B", "bond", "T-A"]
    # backmapping and evaluation: every test set backmapped, Tables 1 and 2, ranking, chi^2
    t1 = pd.read_csv(r / "evaluate" / "table1_rmsd.csv", index_col=0)
    assert list(t1.index) == ["indist", "A", "B", "C"] and (t1["em"] > 0).all()
    assert list(t1.columns) == ["dbm", "dbm_projected", "em"]
    # projecting each bead's atoms onto its CG position makes the re-projection exact
    assert (t1["dbm_projected"] < 1e-4).all() and (t1["dbm"] > 1e-3).all()
    t2 = pd.read_csv(r / "evaluate" / "table2_js.csv")
    # percentile intervals of the plug-in JS need not hold the point estimate: its upward bias can
    # lift a close set's whole interval above it (cgbench.evaluate.divergence)
    assert (t2["lo"] <= t2["hi"]).all() and t2["js"].between(0, np.log(2)).all() and (t2["hi"] <= np.log(2)).all()
    ranking = pd.read_csv(r / "evaluate" / "ranking.csv")
    assert sorted(ranking["method"].unique()) == ["dbm", "dbm_projected", "em"]
    for _method, group in ranking.groupby("method"):
        assert sorted(group["model"]) == ["A", "B", "C"]
        # a rank only where the control lies below every model; unresolved neighbours share one
        ranks = group["rank"]
        assert ranks.isna().all() == (~group["control_below"]).any()
        assert ranks.isna().all() or (ranks.iloc[0] == 1 and ranks.is_monotonic_increasing and ranks.max() <= 3)
    pairs = pd.read_csv(r / "evaluate" / "ranking_pairs.csv")
    assert len(pairs) == 6 and pairs["resolved"].dtype == bool  # two adjacent pairs per method
    distances = pd.read_csv(r / "evaluate" / "distances.csv")
    assert {"w1", "w1_lo", "w1_hi", "energy", "w1_vs_indist", "nonfinite"} <= set(distances.columns)
    assert set(distances["beads"]) == {"all", "T", "A"}
    for table in ("table1_rmsd", "table2_js", "distances", "ranking", "ranking_pairs", "chi2"):
        assert (r / "evaluate" / f"{table}.tex").read_text().startswith("\\begin{tabular}")
    assert (r / "evaluate" / "figure5.svg").exists()
    chi = pd.read_csv(r / "evaluate" / "chi2.csv")
    assert len(chi) == 9 and (chi["chi2_perp"] > 0).all()
    done = chi[chi["clash_frames"] < chi["frames"]]
    assert (done["chi2_BM"] >= done["chi2"]).all()
    # DBM fine-tuned (one tiny epoch) from the shipped model, resumable from its checkpoint outside
    # the outputs, with curves; the summary says where the model came from
    assert (r / "dbm" / "work" / "checkpoints" / "last.ckpt").exists()
    metrics = pd.read_csv(r / "dbm" / "metrics.csv")
    assert metrics["val_bond_rmse_nm"].notna().any()
    training = json.loads((r / "dbm" / "training.json").read_text())
    assert training["init_from"] == "resources/tmbt/dbm/model.pt" and training["generator_updates"] == 4
    u = mda.Universe(str(r / "backmap" / "em" / "A.gro"), str(r / "backmap" / "em" / "A.trr"))
    assert len(u.atoms) == 16 * 69 and len(u.trajectory) == 2
    summary = (r / "evaluate" / "summary.html").read_text()
    assert summary.startswith("<h2>Verdict</h2>") and "<h3>Table 2" in summary
    assert "initialised from the shipped model resources/tmbt/dbm/model.pt" in summary
    # logs of every job land under results/logs
    logs = {p.name for p in (r / "logs" / "aa").iterdir()}
    assert {"system.log", "em.log", "nvt.log", "thermo.log"} <= logs
    assert "Performance:" in (r / "logs" / "aa" / "nvt.log").read_text()
    # nothing left to do: a second run is a no-op
    again = snakemake("-n", "--configfile", "config/test.yaml", cwd=workdir)
    assert "Nothing to be done" in again.stdout + again.stderr
    # an update that edits every script (as the package layout did, one import line each) makes
    # Snakemake rerun all they made; the README's resume flag plans nothing, so the run carries over
    for script in (workdir / "scripts").glob("*.py"):
        os.utime(script)
    stale = snakemake("-n", "--configfile", "config/test.yaml", cwd=workdir)
    assert "Code has changed since last execution" in stale.stdout
    resumed = snakemake("-n", "--configfile", "config/test.yaml",
                        "--rerun-triggers", "mtime", "params", "input", "software-env", cwd=workdir)
    assert "Nothing to be done" in resumed.stdout + resumed.stderr, resumed.stdout[-2000:]
    report = snakemake("--configfile", "config/test.yaml", "--report", "report.html", cwd=workdir)
    assert report.returncode == 0, report.stderr[-2000:]
    assert (workdir / "report.html").stat().st_size > 10_000


def test_a_molecule_that_makes_no_sense_fails_before_any_job(workdir):
    bad = workdir / "badmol.yaml"
    spec = (workdir / "resources" / "tmbt" / "molecule.yaml").read_text()
    (workdir / "resources" / "tmbt" / "bad.yaml").write_text(
        "\n".join('smiles: "c1ccc(cc1"' if line.startswith("smiles:") else line for line in spec.splitlines()))
    bad.write_text("molecule: resources/tmbt/bad.yaml\n")
    res = snakemake("-n", "--configfile", "config/test.yaml", "badmol.yaml", cwd=workdir)
    assert res.returncode != 0
    assert "invalid SMILES 'c1ccc(cc1'" in res.stderr + res.stdout


# A second molecule: 1,3,5-triphenylbenzene (resources/tpb), carbon and hydrogen only, whose CG
# molecule has bonds, one angle and an improper but no proper dihedral.


@pytest.fixture(scope="module")
def tpb_workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("wf_tpb"))


def test_a_molecule_without_nitrogen_plans_on_default_settings_and_a_dbm_training(tpb_workdir):
    # the demo takes TMBT's shipped DBM model as it is (no training): TPB ships none, so the plan
    # stops and says what to give instead of training nothing
    (tpb_workdir / "own.yaml").write_text("molecule: resources/tpb/molecule.yaml\n")
    res = snakemake("-n", "--configfile", "own.yaml", cwd=tpb_workdir)
    text = res.stderr + res.stdout
    assert res.returncode != 0 and "dbm.train.epochs: 0 takes the starting model as it is" in text
    assert "Job stats" not in text
    (tpb_workdir / "own.yaml").write_text("molecule: resources/tpb/molecule.yaml\ndbm: {train: {epochs: 1}}\n")
    res = snakemake("-n", "--configfile", "own.yaml", cwd=tpb_workdir)
    assert res.returncode == 0, res.stderr + res.stdout
    text = res.stderr + res.stdout
    # harmless mismatches are warnings: the default models A and B ask for proper dihedrals
    assert "cg_models.A.proper: TPB has no CG proper interaction" in text
    assert "dbm.train.init_from: TPB ships no DBM model" in text
    assert "This was a dry-run" in text


@pytest.mark.parametrize("extra, message", [
    ("evaluate: {rdf_pairs: [C-C, C-N]}", "evaluate.rdf_pairs: 'C-N' names N, which TPB (C24H18) does not have"),
    ("dbm: {train: {init_from: resources/tmbt/dbm/model.pt}}",
     "dbm.train.init_from: resources/tmbt/dbm/model.pt was trained for TMBT, another molecule than this run's TPB"),
])
def test_a_config_that_does_not_fit_the_molecule_stops_at_planning(tpb_workdir, extra, message):
    (tpb_workdir / "misfit.yaml").write_text(f"molecule: resources/tpb/molecule.yaml\n{extra}\n")
    res = snakemake("-n", "--configfile", "misfit.yaml", cwd=tpb_workdir)
    assert res.returncode != 0
    text = res.stderr + res.stdout
    assert "the configuration does not fit the molecule TPB" in text and message in text
    assert "Job stats" not in text and not (tpb_workdir / "results").exists()


@needs_gmx
@pytest.mark.slow
def test_run_second_molecule_on_test_config(tpb_workdir):
    (tpb_workdir / "tpb_test.yaml").write_text("molecule: resources/tpb/molecule.yaml\n")
    res = snakemake("--cores", "2", "--configfile", "config/test.yaml", "tpb_test.yaml", cwd=tpb_workdir,
                    timeout=1200)
    assert res.returncode == 0, res.stderr[-3000:]
    r = tpb_workdir / "results"
    import json

    import numpy as np
    import pandas as pd

    ref = pd.read_csv(r / "mapping" / "reference.csv")
    assert set(ref["kind"]) == {"bond", "angle", "improper", "rdf"}
    assert set(ref.loc[ref["kind"] == "rdf", "name"]) == {"B-B", "B-P", "P-P"}
    dbi = json.loads((r / "bonded" / "dbi_params.json").read_text())
    assert set(dbi["bonds"]) == {"B-P"} and dbi["propers"] == {}
    conv = pd.read_csv(r / "ibi" / "convergence.csv")
    assert set(conv["pair"]) == {"B-B", "B-P", "P-P"}
    dist = pd.read_csv(r / "cg" / "distances.csv")
    assert set(dist["model"]) == {"A", "B", "C"} and "proper" not in set(dist["kind"])
    # the atomistic RDFs are the pairs of the elements TPB has: C-C
    aa = np.load(r / "evaluate" / "aa.npz")
    assert sorted(k for k in aa.files if k.startswith("rdf_") and k != "rdf_r") == ["rdf_C-C"]
    t1 = pd.read_csv(r / "evaluate" / "table1_rmsd.csv", index_col=0)
    assert list(t1.index) == ["indist", "A", "B", "C"] and (t1["em"] > 0).all()
    ranking = pd.read_csv(r / "evaluate" / "ranking.csv")
    assert sorted(ranking["method"].unique()) == ["dbm", "dbm_projected", "em"]
    distances = pd.read_csv(r / "evaluate" / "distances.csv")
    assert set(distances["beads"]) == {"all", "B", "P"}
    training = json.loads((r / "dbm" / "training.json").read_text())
    assert training["init_from"] is None
    assert (r / "evaluate" / "figure3.png").stat().st_size > 5000 and (r / "cg" / "figure2.png").exists()
    assert (r / "evaluate" / "summary.html").read_text().startswith("<h2>Verdict</h2>")
