"""Split-half sampling noise of IBI's RDF distances: unbiased on independent frames, read from a
LAMMPS dump, recorded by the convergence check and named in the verdict."""

import json

import numpy as np
import pytest

from cgbench import ibi
from cgbench.engines.lammps.forces import write_frames_dump
from cgbench.ibi import criterion as ic
from cgbench.ibi.noise import iteration_noise, pressure_standard_error, split_half_noise
from cgbench.geometry.rdf import intermolecular_rdf

N_MOL, TYPES, L = 40, np.array(["T", "A"]), 3.0
STEPS = {"T-T": 0.05, "T-A": 0.05}


def _gas(rng, n_frames):
    """Ideal-gas frames of two-bead molecules: every frame independent of the others."""
    x = rng.uniform(0.0, L, (n_frames, 2 * N_MOL, 3))
    return x, np.full((n_frames, 3), L)


def test_identical_halves_have_no_noise():
    x, box = _gas(np.random.default_rng(0), 5)
    x = np.concatenate([x, x])
    noise = split_half_noise(x, np.concatenate([box, box]), np.tile(TYPES, N_MOL), np.repeat(np.arange(N_MOL), 2),
                             STEPS, 1.2)
    assert noise == {"T-T": 0.0, "T-A": 0.0}


def test_noise_matches_the_spread_of_independent_runs():
    # nu estimates the integral of Var(g) of a whole run's RDF; independent runs measure it directly
    rng = np.random.default_rng(1)
    types, mol = np.tile(TYPES, N_MOL), np.repeat(np.arange(N_MOL), 2)
    runs, nus = [], []
    for _ in range(40):
        x, box = _gas(rng, 8)
        nus.append(split_half_noise(x, box, types, mol, {"T-T": 0.05}, 1.2)["T-T"])
        runs.append(intermolecular_rdf(x, box, types == "T", types == "T", mol, r_max=1.2, bins=24))
    r = runs[0][0]
    var = np.var([g for _, g in runs], axis=0, ddof=1)
    direct = float(np.sum(0.5 * (var[1:] + var[:-1]) * np.diff(r)))
    assert np.mean(nus) == pytest.approx(direct, rel=0.25)
    # and it shrinks as the run grows: four times the frames, about a quarter of the noise
    long = np.mean([split_half_noise(*_gas(rng, 32), types, mol, {"T-T": 0.05}, 1.2)["T-T"] for _ in range(10)])
    assert 0.15 < long / np.mean(nus) < 0.4


def test_range_is_cut_to_half_the_box_and_refuses_a_box_below_one_bin():
    x, box = _gas(np.random.default_rng(2), 4)
    types, mol = np.tile(TYPES, N_MOL), np.repeat(np.arange(N_MOL), 2)
    assert split_half_noise(x, box, types, mol, STEPS, 5.0)["T-T"] > 0  # 5 nm > L/2: cut to 1.5 nm
    with pytest.raises(ValueError, match="too small"):
        split_half_noise(x, box / 100, types, mol, STEPS, 1.2)
    with pytest.raises(ValueError, match="at least 2 frames"):
        split_half_noise(x[:1], box[:1], types, mol, STEPS, 1.2)


def test_iteration_noise_reads_the_dump_in_molecule_order(tmp_path):
    x, box = _gas(np.random.default_rng(3), 6)
    write_frames_dump(tmp_path / "traj.dump", x, box, np.tile([1, 2], N_MOL))
    got = iteration_noise(tmp_path, ["T", "A"], N_MOL, STEPS, 1.2)
    want = split_half_noise(x, box, np.tile(TYPES, N_MOL), np.repeat(np.arange(N_MOL), 2), STEPS, 1.2)
    assert got == pytest.approx(want, rel=1e-6)
    with pytest.raises(ValueError, match="expected 41 x 2"):
        iteration_noise(tmp_path, ["T", "A"], N_MOL + 1, STEPS, 1.2)


def test_the_check_records_the_noise_and_the_verdict_names_a_pair_within_it(tmp_path):
    from test_ibi_criterion import _distance, _loop

    tol = _distance(0.2)
    crit = ic.Criterion(rdf_l2_nm=tol, pressure_tolerance_bar=100.0)
    wd = _loop(tmp_path, crit, [((0.25, 0.1), 50.0)], iterations_max=1)
    meta = json.loads((wd / ic.META).read_text())
    meta["bead_types"] = ["T", "A"]
    meta["n_molecules"] = N_MOL
    meta["ibi"]["cutoff_nm"] = 1.2
    for p in meta["pairs"]:
        p["step_nm"] = 0.05
    (wd / ic.META).write_text(json.dumps(meta))
    x, box = _gas(np.random.default_rng(4), 6)
    write_frames_dump(wd / "step_001" / "traj.dump", x, box, np.tile([1, 2], N_MOL))
    ic.main([str(wd / "step_001")])
    check = json.loads((wd / "step_001" / ic.CHECK_FILE).read_text())
    assert set(check["rdf_noise"]) == {"T-T", "A-A"} and all(v > 0 for v in check["rdf_noise"].values())
    (wd / "done").touch()
    table = ibi.collect(wd)
    assert table.set_index("pair")["rdf_noise"].to_dict() == pytest.approx(check["rdf_noise"])
    state = ibi.convergence_state(wd, table)
    assert state["final"]["rdf_noise_nm"] == pytest.approx(check["rdf_noise"])
    text = ic.verdict(state)
    assert text.startswith("IBI did NOT converge") and "Sampling noise of the last iteration" in text
    d = state["final"]["rdf_l2_nm"]["T-T"]
    within = tol < d <= tol + check["rdf_noise"]["T-T"]
    assert ("T-T misses the tolerance by less than its own sampling noise" in text) == within
    # a loop set up before the noise was recorded reports without it
    del meta["bead_types"]
    (wd / ic.META).write_text(json.dumps(meta))
    ic.main([str(wd / "step_001")])
    assert json.loads((wd / "step_001" / ic.CHECK_FILE).read_text())["rdf_noise"] == {}
    assert "Sampling noise" not in ic.verdict(ibi.convergence_state(wd))


def test_pressure_standard_error_matches_the_spread_of_independent_means():
    rng = np.random.default_rng(3)
    # correlated over ~5 samples (an AR(1) series), as an instantaneous pressure is over a fraction of a ps
    def series(n):
        e = rng.normal(0.0, 500.0, n)
        out = np.empty(n)
        out[0] = e[0]
        for i in range(1, n):
            out[i] = 0.8 * out[i - 1] + e[i]
        return out
    runs = [series(2000) for _ in range(200)]
    direct = np.std([r.mean() for r in runs], ddof=1)
    estimated = np.mean([pressure_standard_error(r) for r in runs])
    assert estimated == pytest.approx(direct, rel=0.2)
    # a naive standard error that ignores the correlation would be three times too small
    assert np.mean([r.std() / np.sqrt(r.size) for r in runs]) < 0.5 * direct
    assert np.isnan(pressure_standard_error(np.ones(15)))


def test_verdict_says_when_the_pressure_misses_by_less_than_its_noise():
    crit = ic.Criterion(rdf_l2_nm=0.002, pressure_tolerance_bar=100.0).to_dict()
    state = {"criterion": crit, "checked": True, "converged": False, "iterations": 12, "iterations_max": 12,
             "failing": ["pressure: |148.3 - 1| > 100 bar"],
             "final": {"rdf_l2_nm": {"T-T": 0.0013}, "pressure_bar": 148.3, "pressure_noise_bar": 30.0}}
    text = ic.verdict(state)
    assert "pressure 148 bar (standard error 30 bar)" in text and "cannot tell whether the pressure" in text
    state["final"]["pressure_noise_bar"] = 10.0
    assert "cannot tell whether the pressure" not in ic.verdict(state)
