"""Real GROMACS on TMBT: the topology passes grompp without warnings, and a tiny box runs."""

import json
from pathlib import Path

import numpy as np
import pytest

from cgbench.aa import protocol as aa
from cgbench.engines import mdp
from cgbench.engines.mdrun import run_stage
from cgbench.stages.aa import pack_system
from cgbench.core.config import validate
from cgbench.core.errors import CgbenchError, EngineError
from cgbench.engines.gromacs import Gromacs, read_edr
from conftest import needs_gmx

pytestmark = [pytest.mark.integration, needs_gmx]

MDP = Path(__file__).resolve().parents[2] / "resources" / "mdp"


def tiny_aa(root, **over):
    cfg = validate({"molecule": str(root / "resources/tmbt/molecule.yaml"), "aa": {
        "n_molecules": 4, "cutoff_nm": 0.6, "energy_interval_ps": 0.01, "snapshot_interval_ps": 0.05,
        "em": {"nsteps": 200}, "compress": {"time_ps": 0.05}, "anneal": {"time_ps": 0.05},
        "cool": {"time_ps": 0.05}, "npt": {"time_ps": 0.05}, "nvt": {"time_ps": 0.1, "output_interval_ps": 0.02},
        **over}})
    return cfg["aa"]


def write_mdp(path, stage, cfg):
    path.write_text(mdp.render(MDP / aa.template(stage), aa.mdp_values(stage, cfg, 5), MDP / "common.mdp"))


def test_single_molecule_grompp_has_no_warning(tmp_path, tmbt_files, root):
    cfg = tiny_aa(root)
    write_mdp(tmp_path / "em.mdp", "em", cfg)
    log = tmp_path / "grompp.log"
    # -maxwarn 0 and nothing allowed: any warning fails
    Gromacs().grompp(tmp_path / "em.mdp", tmbt_files["gro"], tmbt_files["top"], "em.tpr", tmp_path, log)
    text = log.read_text()
    assert "WARNING" not in text and (tmp_path / "em.tpr").exists()


def test_pack_minimise_and_run_a_few_hundred_steps(tmp_path, tmbt_files, root):
    cfg = tiny_aa(root)
    log = tmp_path / "run.log"
    pack_system(tmbt_files["gro"], tmbt_files["itp"], tmbt_files["summary"], tmp_path / "packed.gro",
                tmp_path / "system.top", tmp_path / "molecule.itp", n_molecules=4, density_g_cm3=0.3,
                cutoff_nm=0.6, seed=3, executable="gmx", log_path=log)
    prev = tmp_path / "packed.gro"
    for stage in aa.active_stages(cfg):
        write_mdp(tmp_path / f"{stage}.mdp", stage, cfg)
        outs = {"gro": tmp_path / f"{stage}.gro", "edr": tmp_path / f"{stage}.edr"}
        if stage == "nvt":
            outs["trr"] = tmp_path / "nvt.trr"
        perf = run_stage(stage, tmp_path / f"{stage}.mdp", prev, tmp_path / "system.top", tmp_path / "work" / stage,
                         outs, log, threads=2)
        prev = outs["gro"]
        assert perf["wall_s"] > 0
    edr = read_edr(tmp_path / "nvt.edr", ["Temperature", "Potential"])
    assert np.all(np.isfinite(edr["Potential"]))
    assert len(edr["Time"]) == 11  # 100 steps, energies every 10
    # cool ramps 800 K -> 450 K: the thermostat's reference at the end is 450 K
    cool = (tmp_path / "cool.mdp").read_text()
    assert "annealing-temp           = 800 450" in cool
    import MDAnalysis as mda

    u = mda.Universe(str(tmp_path / "work" / "nvt" / "nvt.tpr"), str(tmp_path / "nvt.trr"))
    assert len(u.atoms) == 4 * 69 and len(u.trajectory) == 6
    assert u.trajectory[0].has_forces


def test_interrupted_stage_resumes_from_checkpoint(tmp_path, tmbt_files, root):
    cfg = tiny_aa(root)
    log = tmp_path / "run.log"
    pack_system(tmbt_files["gro"], tmbt_files["itp"], tmbt_files["summary"], tmp_path / "packed.gro",
                tmp_path / "system.top", tmp_path / "molecule.itp", n_molecules=4, density_g_cm3=0.3,
                cutoff_nm=0.6, seed=3, executable="gmx", log_path=log)
    write_mdp(tmp_path / "em.mdp", "em", cfg)
    run_stage("em", tmp_path / "em.mdp", tmp_path / "packed.gro", tmp_path / "system.top", tmp_path / "w_em",
              {"gro": tmp_path / "em.gro"}, log)
    write_mdp(tmp_path / "nvt.mdp", "nvt", cfg)
    work = tmp_path / "w_nvt"
    # an interrupted run: the first 40 of 100 steps, ending with a checkpoint
    gmx = Gromacs()
    gmx.grompp(tmp_path / "nvt.mdp", tmp_path / "em.gro", tmp_path / "system.top", "nvt.tpr", work, log)
    gmx.mdrun("nvt.tpr", "nvt", work, log, extra=["-nsteps", "40"])
    part = read_edr(work / "nvt.edr")["Time"]
    assert part[-1] == pytest.approx(0.04)
    out = run_stage("nvt", tmp_path / "nvt.mdp", tmp_path / "em.gro", tmp_path / "system.top", work,
                    {"edr": tmp_path / "nvt.edr", "trr": tmp_path / "nvt.trr"}, log)
    assert out["resumed"] and "-cpi nvt.cpt" in log.read_text()
    full = read_edr(tmp_path / "nvt.edr")["Time"]
    # the energy file continues where the first part stopped, without repeating it
    np.testing.assert_allclose(full, np.arange(11) * 0.01, atol=1e-6)
    # changed inputs start the stage afresh instead of resuming a different run
    write_mdp(tmp_path / "nvt.mdp", "nvt", {**cfg, "temperature_K": 440})
    fresh = run_stage("nvt", tmp_path / "nvt.mdp", tmp_path / "em.gro", tmp_path / "system.top", work,
                      {"edr": tmp_path / "fresh.edr"}, log)
    assert not fresh["resumed"]


def test_grompp_error_names_command_and_log(tmp_path, tmbt_files, root):
    bad = tmp_path / "bad.mdp"
    bad.write_text("integrator = steep\nnsteps = 10\nrcoulomb = 0.5\nrvdw = 0.9\ncoulombtype = PME\n")
    with pytest.raises(EngineError) as err:
        Gromacs().grompp(bad, tmbt_files["gro"], tmbt_files["top"], "x.tpr", tmp_path, tmp_path / "g.log")
    msg = str(err.value)
    assert "gmx grompp -f" in msg and f"working directory: {tmp_path}" in msg
    assert "ERROR" in msg or "Fatal error" in msg


def test_box_too_small_for_cutoff_is_refused_before_packing(tmp_path, tmbt_files):
    with pytest.raises(CgbenchError, match="less than twice the cut-off"):
        pack_system(tmbt_files["gro"], tmbt_files["itp"], tmbt_files["summary"], tmp_path / "p.gro",
                    tmp_path / "s.top", tmp_path / "m.itp", n_molecules=4, density_g_cm3=0.3,
                    cutoff_nm=1.3, seed=1, executable="gmx", log_path=tmp_path / "log")
    assert not (tmp_path / "p.gro").exists()


def test_stage_stops_before_the_job_limit_and_the_next_attempt_finishes(tmp_path, tmbt_files, root):
    import time

    from cgbench.core.walltime import TimeLimitReached

    cfg = tiny_aa(root, nvt={"time_ps": 20, "output_interval_ps": 1})
    log = tmp_path / "run.log"
    pack_system(tmbt_files["gro"], tmbt_files["itp"], tmbt_files["summary"], tmp_path / "packed.gro",
                tmp_path / "system.top", tmp_path / "molecule.itp", n_molecules=4, density_g_cm3=0.3,
                cutoff_nm=0.6, seed=3, executable="gmx", log_path=log)
    write_mdp(tmp_path / "nvt.mdp", "nvt", cfg)
    work = tmp_path / "w_nvt"
    args = ("nvt", tmp_path / "nvt.mdp", tmp_path / "packed.gro", tmp_path / "system.top", work,
            {"edr": tmp_path / "nvt.edr"}, log)
    # a job whose limit is already here: mdrun gets the shortest -maxh and stops with a checkpoint
    with pytest.raises(TimeLimitReached, match="next attempt resumes"):
        run_stage(*args, threads=1, stop_at=time.time())
    assert "-maxh" in log.read_text() and (work / "nvt.cpt").exists() and not (tmp_path / "nvt.edr").exists()
    stopped = read_edr(work / "nvt.edr")["Time"][-1]
    assert 0 < stopped < 20
    out = run_stage(*args, threads=1, stop_at=time.time() + 3600)
    assert out["resumed"]
    np.testing.assert_allclose(read_edr(tmp_path / "nvt.edr")["Time"][-1], 20.0)
