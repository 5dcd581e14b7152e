"""IBI set-up and bookkeeping without engines: targets, initial potentials, the working directory, divergence checks."""

import json
import os
from pathlib import Path
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from cgbench.bonded import terms as bonded_terms
from cgbench import ibi
from cgbench.engines import votca
from cgbench.engines import lammps as lr
from cgbench.core.errors import CgbenchError
from cgbench.core.units import kT

from test_ibi_lammps import terms_for

GRID = ibi.IBISettings().grid()


def g_model(r, r0=0.5, w=0.03, peak=0.3):
    s = 1.0 / (1.0 + np.exp(-(r - r0) / w))
    return s * (1.0 + peak * np.exp(-(((r - r0 - 0.15) / 0.08) ** 2)))


R = np.linspace(0.005, 1.4, 280)
TARGETS = {"T-T": (R, g_model(R, 0.55)), "T-A": (R, g_model(R, 0.5)), "A-A": (R, g_model(R, 0.45))}


def test_grid_is_votcas():
    assert GRID[0] == 0.0 and GRID[-1] == pytest.approx(1.3) and GRID.size == 131
    with pytest.raises(CgbenchError, match="whole number"):
        ibi.IBISettings(cutoff_nm=1.305).grid()
    assert ibi.IBISettings().table_points() == 601  # 0.1 .. 1.3 nm every 0.002 nm


def test_resample_target_interpolates_and_refuses_bad_targets():
    g = ibi.resample_target(R, TARGETS["T-A"][1], GRID)
    np.testing.assert_allclose(g[1:], np.interp(GRID[1:], *TARGETS["T-A"]))
    assert g[0] == 0.0  # r = 0 lies left of the data (first bin centre 0.005 nm): nothing sampled
    bad = TARGETS["T-A"][1].copy()
    bad[100] = np.nan
    with pytest.raises(CgbenchError, match="NaN"):
        ibi.resample_target(R, bad, GRID)
    with pytest.raises(CgbenchError, match="cut-off"):
        ibi.resample_target(R[R < 1.0], TARGETS["T-A"][1][R < 1.0], GRID)
    with pytest.raises(CgbenchError, match="negative"):
        ibi.resample_target(R, TARGETS["T-A"][1] - 2.0, GRID)


def test_initial_potential_is_the_pmf_with_a_repulsive_core():
    g = ibi.resample_target(*TARGETS["A-A"], GRID)
    U = ibi.initial_potential(GRID, g, 450.0)
    assert np.isfinite(U).all()
    assert U[-1] == 0.0
    ok = g > 1e-3
    pmf = -kT(450.0) * np.log(g[ok])
    np.testing.assert_allclose(U[ok], pmf - pmf[-1], atol=1e-9)
    core = ~ok
    assert core[0] and np.all(np.diff(U[core]) < 0)  # rises towards r = 0
    assert U[0] > U[ok][0]


def test_votca_like_pair_factor():
    assert ibi.votca_like_pair_factor(64) == pytest.approx(63 / 64)
    with pytest.raises(CgbenchError):
        ibi.votca_like_pair_factor(1)


def test_rdf_distance():
    r = np.linspace(0, 1, 101)
    assert ibi.rdf_distance(r, np.ones(101), np.ones(101)) == 0.0
    assert ibi.rdf_distance(r, np.full(101, 1.5), np.ones(101)) == pytest.approx(0.25)
    assert ibi.rdf_distance(r, np.full(101, 1.5), np.ones(101), order=1) == pytest.approx(0.5)


# --------------------------------------------------------------------------- set-up
MD = lr.MDSettings(n_steps=200, dump_every=50)


def _setup(tmp_path, tmbt, targets=TARGETS, replica_positions_nm=(), **kw):
    n = 27
    L = 2.9
    x = lr.lattice_configuration(np.random.default_rng(0).normal(size=(7, 3)) * 0.2, n, np.full(3, L), seed=1)
    return ibi.setup(
        tmp_path / "ibi",
        tmbt.cg,
        n,
        x,
        np.full(3, L),
        targets,
        terms_for(tmbt.cg),
        MD,
        settings=ibi.IBISettings(iterations_max=4, **kw),
        lammps_command="lmp",
        replica_positions_nm=replica_positions_nm,
    )


def test_setup_writes_a_complete_working_directory(tmp_path, tmbt):
    settings = _setup(tmp_path, tmbt)
    d = settings.parent
    root = ET.parse(settings).getroot()
    files = root.findtext("inverse/filelist").split()
    assert files == ["cg_nvt.in", "topol.xml", "bonds.table", "angles.table"]
    for f in files + ["system.data", root.findtext("inverse/lammps/conf")]:
        assert (d / f).exists(), f
    for e, key in zip(root.findall("non-bonded"), TARGETS):
        name = e.findtext("name")
        r, g, _ = votca.read_table(d / e.findtext("inverse/target"))
        np.testing.assert_allclose(r, GRID)
        # like pairs carry csg_stat's N^2 normalisation: 27 T beads, 162 A beads in the box
        factor = {"T-T": 26 / 27, "T-A": 1.0, "A-A": 161 / 162}[key]
        np.testing.assert_allclose(g[1:], factor * np.interp(GRID[1:], *TARGETS[key]), rtol=1e-9)
        r, U, _ = votca.read_table(d / f"{name}.pot.in")  # VOTCA starts from this, not from its own BI
        assert U[-1] == 0.0 and np.isfinite(U).all()
    meta = json.loads((d / ibi.META).read_text())
    assert [p["key"] for p in meta["pairs"]] == ["T-T", "T-A", "A-A"]
    assert int(root.findtext("inverse/iterations_max")) == 4
    script = (d / "cg_nvt.in").read_text()
    assert "pair_coeff      1 2 T_A.table VOTCA" in script
    assert ibi.completed_iterations(d) == [] and not ibi.is_done(d)
    assert ibi.collect(d).empty


def test_setup_refuses_nan_targets_missing_pairs_and_an_existing_loop(tmp_path, tmbt):
    bad = dict(TARGETS)
    g = TARGETS["A-A"][1].copy()
    g[5] = np.nan
    bad["A-A"] = (R, g)
    with pytest.raises(CgbenchError, match="A-A.*NaN"):
        _setup(tmp_path, tmbt, bad)
    assert not (tmp_path / "ibi").exists()  # nothing written for a bad input
    with pytest.raises(CgbenchError, match="one target RDF per pair"):
        _setup(tmp_path, tmbt, {k: TARGETS[k] for k in ("T-T", "T-A")})
    settings = _setup(tmp_path, tmbt)
    (settings.parent / "step_000").mkdir()
    with pytest.raises(CgbenchError, match="already holds"):
        _setup(tmp_path, tmbt)


def test_setup_of_replicas_writes_their_frames_inputs_and_runner(tmp_path, tmbt):
    """Replica 1 gets its own data file, its own seeds and output names, both travel with every step
    (filelist), and csg_inverse runs LAMMPS through the replica runner."""
    L = 2.9
    x1 = lr.lattice_configuration(np.random.default_rng(5).normal(size=(7, 3)) * 0.2, 27, np.full(3, L), seed=2)
    settings = _setup(tmp_path, tmbt, replicas=2, replica_positions_nm=[x1])
    d = settings.parent
    root = ET.parse(settings).getroot()
    assert root.findtext("inverse/filelist").split() == [
        "cg_nvt.in", "topol.xml", "bonds.table", "angles.table", "system_r1.data", "cg_nvt_r1.in"]
    runner = Path(root.findtext("inverse/lammps/command"))
    assert runner.name == ibi.REPLICA_RUNNER and os.access(runner, os.X_OK)
    text = runner.read_text()
    assert 'lmp="lmp"' in text
    assert "n=2" in text and "traj.dump" in text and "pressure.dat" in text
    main, rep = (d / "cg_nvt.in").read_text(), (d / "cg_nvt_r1.in").read_text()
    for a, b in (("system.data", "system_r1.data"), ("traj.dump", "traj_r1.dump"),
                 ("pressure.dat", "pressure_r1.dat"), ("confout.data", "confout_r1.data")):
        assert a in main and b in rep and b not in main
    seeds = [[ln.split()[4] for ln in t.splitlines() if ln.startswith("velocity")] for t in (main, rep)]
    assert seeds[0] != seeds[1]
    assert (d / "system.data").read_text() != (d / "system_r1.data").read_text()


def test_setup_refuses_replicas_without_their_frames_or_from_the_last_step(tmp_path, tmbt):
    with pytest.raises(CgbenchError, match="2 replicas need 1 more"):
        _setup(tmp_path, tmbt, replicas=2)
    x1 = np.zeros((27 * 7, 3))
    with pytest.raises(CgbenchError, match="maindir"):
        _setup(tmp_path, tmbt, replicas=2, replica_positions_nm=[x1], initial_configuration="laststep")
    with pytest.raises(CgbenchError, match="shape"):
        _setup(tmp_path, tmbt, replicas=2, replica_positions_nm=[x1[:-7]])
    assert not (tmp_path / "ibi").exists()


def test_update_scale_of_sparse_and_named_pairs(tmp_path, tmbt):
    """sparse_alpha reaches the sparse pair (T-T: 351 bead pairs), pair_alpha overrides per pair."""
    settings = _setup(tmp_path, tmbt, alpha=0.2, sparse_max_pairs=1000, sparse_alpha=0.6, pair_alpha={"A-A": 0.4})
    root = ET.parse(settings).getroot()
    scale = {e.findtext("name"): float(e.findtext("inverse/post_update_options/scale"))
             for e in root.findall("non-bonded")}
    assert scale == {"T_T": 0.6, "T_A": 0.2, "A_A": 0.4}
    with pytest.raises(CgbenchError, match="without a target"):
        _setup(tmp_path / "x", tmbt, pair_alpha={"T-B": 0.4})


def test_setup_refuses_a_cutoff_beyond_half_the_box(tmp_path, tmbt):
    with pytest.raises(CgbenchError, match="half"):
        _setup(tmp_path, tmbt, cutoff_nm=1.5)


# --------------------------------------------------------------------------- divergence checks on step files
def _fake_step(d, it, p_atm=100.0, pot=None, dist=None):
    """Write the files VOTCA leaves in a finished step (the checks read only these)."""
    step = d / f"step_{it:03d}"
    step.mkdir()
    for name in ("T_T", "T_A", "A_A"):
        votca.write_table(step / f"{name}.dist.new", GRID, np.ones_like(GRID) if dist is None else dist)
        y = np.zeros_like(GRID) if pot is None else pot
        (step / f"{name}.pot.new").write_text("\n".join(f"{a} {b} i" for a, b in zip(GRID, y)) + "\n")
        (step / f"{name}.pressure").write_text(f"Pressure={p_atm}\n")
    (step / "done").touch()
    return step


def test_check_iteration_flags_nan_and_exploding_pressure(tmp_path, tmbt):
    d = _setup(tmp_path, tmbt).parent
    _fake_step(d, 1)
    assert ibi.check_iteration(d, 1, 1e5) is None
    _fake_step(d, 2, p_atm=1e7)
    assert "exceeds the bound" in ibi.check_iteration(d, 2, 1e5)
    pot = np.zeros_like(GRID)
    pot[3] = np.nan
    _fake_step(d, 3, pot=pot)
    assert "NaN" in ibi.check_iteration(d, 3, 1e5)
    _fake_step(d, 4, p_atm="nan")
    assert "NaN" in ibi.check_iteration(d, 4, 1e5)
    _fake_step(d, 5, dist=np.zeros_like(GRID))
    assert "zero everywhere" in ibi.check_iteration(d, 5, 1e5)
    assert ibi.completed_iterations(d) == [1, 2, 3, 4, 5]
    table = ibi.collect(d)
    assert len(table) == 15 and set(table["pair"]) == {"T-T", "T-A", "A-A"}
    assert table.loc[table.iteration == 1, "pressure_bar"].iloc[0] == pytest.approx(101.325)


def test_pair_potentials_in_gromacs_units(tmp_path, tmbt):
    d = _setup(tmp_path, tmbt).parent
    _fake_step(d, 1, pot=5.0 * (1.3 - GRID) ** 2)
    pots = ibi.pair_potentials(d)
    r, U, F = pots["T-A"]
    assert r[0] == pytest.approx(0.1) and U[-1] == 0.0
    np.testing.assert_allclose(F[1:-1], 10.0 * (1.3 - r[1:-1]), rtol=1e-6)
    with pytest.raises(CgbenchError, match="not finished"):
        ibi.pair_potentials(d, iteration=7)


def test_target_from_bin_centres_reaches_the_cutoff():
    # bin centres of 130 bins over [0, 1.3] stop half a bin short of the cut-off, up to rounding
    edges = np.linspace(0.0, 1.3, 131)
    r = 0.5 * (edges[1:] + edges[:-1])
    grid = np.linspace(0.0, 1.3, 131)
    g = ibi.resample_target(r, np.ones_like(r), grid)
    assert g[-1] == 1.0
    with pytest.raises(CgbenchError, match="stops at"):
        ibi.resample_target(r[:-2], np.ones(r.size - 2), grid)


def test_the_core_wall_climbs_core_kT_even_when_the_first_sampled_points_are_flat():
    # a sparse bead type: a low, nearly flat RDF from 0.45 nm on
    g = np.where(GRID >= 0.45, 0.3 + 0.01 * (GRID - 0.45), 0.0)
    U = ibi.initial_potential(GRID, g, 450.0)
    first = np.argmax(g > 1e-3)
    assert U[0] - U[first] >= ibi.CORE_KT * kT(450.0) - 1e-9
    assert np.all(np.diff(U[: first + 1]) < 0)


def test_smooth_121_matches_votcas_table_smooth_by_hand():
    y = np.array([0.0, 4.0, 0.0, 0.0, 8.0])
    z = ibi.smooth_121(y, 1)
    np.testing.assert_allclose(z, [4.0 / 3.0, 2.0, 1.0, 2.0, 16.0 / 3.0])
    np.testing.assert_allclose(ibi.smooth_121(y, 2), ibi.smooth_121(z, 1))
    np.testing.assert_array_equal(ibi.smooth_121(y, 0), y)
    # a constant and a straight line inside are unchanged
    np.testing.assert_allclose(ibi.smooth_121(np.full(7, 2.5), 3), 2.5)
    line = np.arange(7.0)
    np.testing.assert_allclose(ibi.smooth_121(line, 1)[1:-1], line[1:-1])


def test_per_pair_grid_step():
    s = ibi.IBISettings(cutoff_nm=1.3, step_nm=0.01, pair_step_nm={"T-T": 0.02})
    assert s.grid("T-T").size == 66 and s.grid("A-A").size == 131 and s.grid().size == 131
    assert s.step("T-T") == 0.02 and s.step("T-A") == 0.01
    with pytest.raises(CgbenchError, match="whole number"):
        ibi.IBISettings(cutoff_nm=1.3, pair_step_nm={"T-T": 0.03}).grid("T-T")


def test_sparse_pairs_from_bead_pairs_in_the_box():
    s = ibi.IBISettings(sparse_max_pairs=5000)
    # 64 TMBT molecules: T-T has 64 * 63 / 2 = 2016 bead pairs, T-A 64 * 384, A-A 384 * 383 / 2
    assert s.sparse_pairs({"T": 64, "A": 384}) == ["T-T"]
    assert s.sparse_pairs({"T": 3000, "A": 18000}) == []
    assert ibi.IBISettings().sparse_pairs({"T": 2, "A": 3}) == []  # off by default
    assert ibi.IBISettings(sparse_max_pairs=30).sparse_pairs({"B": 5, "P": 5}) == ["B-B", "B-P", "P-B", "P-P"]
