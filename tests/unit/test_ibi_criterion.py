"""The IBI convergence criterion: per-pair RDF distances, the pressure window, hold_iterations, and the
state a loop directory reports (on hand-made step directories, no VOTCA needed)."""

import json

import numpy as np
import pytest

from cgbench import ibi
from cgbench.ibi import criterion as ic
from cgbench.engines import votca
from cgbench.core.units import BAR_TO_ATM


def test_holds_needs_every_pair_and_the_pressure():
    c = ic.Criterion(rdf_l2_nm=0.002, pressure_tolerance_bar=100.0, p_target_bar=1.0)
    assert c.holds({"T-T": 0.0019, "A-A": 0.0001}, 80.0) == (True, [])
    ok, failing = c.holds({"T-T": 0.0043, "A-A": 0.0001}, 80.0)
    assert not ok and failing == ["T-T: 0.0043 > 0.002 nm"]
    ok, failing = c.holds({"T-T": 0.001, "A-A": 0.0001}, 329.0)
    assert not ok and failing[0].startswith("pressure: |329 - 1| > 100 bar")
    # the window is two-sided around the target
    assert not c.holds({"T-T": 0.001}, -120.0)[0] and c.holds({"T-T": 0.001}, -98.0)[0]


def test_per_pair_tolerance_overrides_and_unchecked_parts():
    c = ic.Criterion(rdf_l2_nm=0.002, rdf_l2_nm_pairs={"T-T": 0.005})
    assert c.tolerance("T-T") == 0.005 and c.tolerance("A-A") == 0.002
    assert c.holds({"T-T": 0.004, "A-A": 0.001}, 5000.0)[0]  # no pressure check
    only_pair = ic.Criterion(rdf_l2_nm_pairs={"T-T": 0.005})
    assert only_pair.holds({"T-T": 0.004, "A-A": 1.0}, 0.0)[0]  # A-A unchecked
    with pytest.raises(ValueError, match="does not have"):
        only_pair.holds({"A-A": 0.1}, 0.0)


def test_nan_never_passes_and_an_empty_criterion_never_converges():
    c = ic.Criterion(rdf_l2_nm=0.002, pressure_tolerance_bar=100.0)
    assert not c.holds({"T-T": float("nan")}, 0.0)[0]
    assert not c.holds({"T-T": 0.0}, float("nan"))[0]
    empty = ic.Criterion()
    assert not empty.active and empty.holds({"T-T": 0.0}, 1.0) == (False, [])


@pytest.mark.parametrize("kw", [{"hold_iterations": 0}, {"rdf_l2_nm": 0.0}, {"pressure_tolerance_bar": -1.0},
                                {"rdf_l2_nm_pairs": {"T-T": 0.0}}])
def test_refuses_bad_settings(kw):
    with pytest.raises(ValueError):
        ic.Criterion(**kw)


def test_converged_over_the_last_hold_iterations():
    assert ic.converged([False, True], 1)
    assert not ic.converged([True, False], 1)
    assert ic.converged([False, True, True], 2)
    assert not ic.converged([True, False, True], 2)
    assert not ic.converged([True], 2)  # too few iterations yet
    assert not ic.converged([], 1)


def test_round_trip_through_a_dict():
    c = ic.Criterion(rdf_l2_nm=0.002, rdf_l2_nm_pairs={"T-T": 0.003}, pressure_tolerance_bar=50.0,
                     p_target_bar=1.0, hold_iterations=2, stop_early=False)
    assert ic.Criterion.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    assert ic.Criterion.from_dict(None) == ic.Criterion()


def test_rdf_distance_by_hand():
    r = np.array([0.0, 0.1, 0.2])
    assert ic.rdf_distance(r, [1.0, 1.2, 1.0], [1.0, 1.0, 1.0]) == pytest.approx(0.5 * 0.04 * 0.1 * 2)
    assert ic.rdf_distance(r, [1.0, 1.2, 1.0], [1.0, 1.0, 1.0], order=1) == pytest.approx(0.02)
    assert ibi.rdf_distance is ic.rdf_distance


# --------------------------------------------------------------------------- a hand-made loop directory
GRID = np.round(np.arange(0.0, 1.3001, 0.01), 4)


def _g(r, bump=0.0):
    return np.where(r < 0.4, 0.0, 1.0 + bump * np.exp(-((r - 0.6) / 0.05) ** 2))


def _loop(tmp_path, criterion, steps, iterations_max=10, bound=1e5):
    """A directory shaped like an IBI loop: targets, meta, and steps with RDFs, potentials, pressure."""
    wd = tmp_path / "loop"
    wd.mkdir(parents=True)
    pairs = [{"name": "T_T", "key": "T-T", "target": "T_T.dist.tgt"},
             {"name": "A_A", "key": "A-A", "target": "A_A.dist.tgt"}]
    for p in pairs:
        votca.write_table(wd / p["target"], GRID, _g(GRID))
    meta = {"pairs": pairs, "ibi": {"iterations_max": iterations_max, "pressure_bound_bar": bound,
                                    "table_begin_nm": 0.1},
            "criterion": criterion.to_dict()}
    (wd / ic.META).write_text(json.dumps(meta))
    for it, (bumps, p_bar) in enumerate(steps, start=1):
        step = wd / f"step_{it:03d}"
        step.mkdir()
        for p, bump in zip(pairs, bumps):
            votca.write_table(step / f"{p['name']}.dist.new", GRID, _g(GRID, bump))
            votca.write_table(step / f"{p['name']}.pot.new", GRID, np.zeros_like(GRID))
            (step / f"{p['name']}.pressure").write_text(f"Pressure={p_bar * BAR_TO_ATM!r}\n")
        (step / "done").touch()
    return wd


def _distance(bump):
    return ic.rdf_distance(GRID, _g(GRID, bump), _g(GRID))


def test_step_state_and_the_votca_hook_stop_only_after_hold_iterations(tmp_path):
    tol = _distance(0.2)
    crit = ic.Criterion(rdf_l2_nm=tol, pressure_tolerance_bar=100.0, hold_iterations=2)
    wd = _loop(tmp_path, crit, [((0.5, 0.1), 900.0), ((0.1, 0.1), 50.0), ((0.1, 0.0), -30.0)])
    s1 = ic.step_state(wd, 1)
    assert s1["rdf_l2"]["T-T"] == pytest.approx(_distance(0.5)) and s1["pressure_bar"] == pytest.approx(900.0)
    assert not s1["holds"] and len(s1["failing"]) == 2 and s1["diverged"] is None
    for it in (1, 2, 3):
        ic.main([str(wd / f"step_{it:03d}")])
    checks = [json.loads((wd / f"step_{i:03d}" / ic.CHECK_FILE).read_text()) for i in (1, 2, 3)]
    assert [c["holds"] for c in checks] == [False, True, True]
    assert [c["converged"] for c in checks] == [False, False, True]
    assert [(wd / f"step_{i:03d}" / "stop").exists() for i in (1, 2, 3)] == [False, False, True]


def test_hook_reports_but_does_not_stop_without_stop_early(tmp_path):
    crit = ic.Criterion(rdf_l2_nm=1.0, stop_early=False)
    wd = _loop(tmp_path, crit, [((0.0, 0.0), 1.0)])
    ic.main([str(wd / "step_001")])
    assert json.loads((wd / "step_001" / ic.CHECK_FILE).read_text())["converged"]
    assert not (wd / "step_001" / "stop").exists()


def test_hook_stops_a_diverged_iteration(tmp_path):
    wd = _loop(tmp_path, ic.Criterion(), [((0.0, 0.0), 5.0e5)], bound=1e5)
    ic.main([str(wd / "step_001")])
    state = json.loads((wd / "step_001" / ic.CHECK_FILE).read_text())
    assert "exceeds the bound" in state["diverged"] and (wd / "step_001" / "stop").exists()
    wd2 = _loop(tmp_path / "b", ic.Criterion(), [((0.0, 0.0), 1.0)])
    (wd2 / "step_001" / "T_T.pot.new").write_text("0 nan i\n1.3 0 i\n")
    ic.main([str(wd2 / "step_001")])
    assert "NaN" in json.loads((wd2 / "step_001" / ic.CHECK_FILE).read_text())["diverged"]


def test_convergence_state_of_a_loop_that_ran_out_of_budget(tmp_path):
    crit = ic.Criterion(rdf_l2_nm=_distance(0.2), pressure_tolerance_bar=100.0)
    wd = _loop(tmp_path, crit, [((0.5, 0.1), 900.0), ((0.1, 0.1), 50.0), ((0.4, 0.1), 329.0)], iterations_max=3)
    (wd / "done").touch()
    table = ibi.collect(wd)
    assert table.groupby("iteration")["criterion_met"].first().tolist() == [False, True, False]
    st = ibi.convergence_state(wd, table)
    assert st["checked"] and not st["converged"] and not st["stopped_early"]
    assert st["first_met"] == 2 and st["iterations"] == 3 and st["iterations_max"] == 3
    assert st["final"]["pressure_bar"] == pytest.approx(329.0)
    assert st["final"]["rdf_l2_nm"]["T-T"] == pytest.approx(_distance(0.4))
    assert any(f.startswith("T-T") for f in st["failing"]) and any(f.startswith("pressure") for f in st["failing"])


def test_convergence_state_of_a_loop_that_stopped_early(tmp_path):
    crit = ic.Criterion(rdf_l2_nm=_distance(0.2), pressure_tolerance_bar=100.0)
    wd = _loop(tmp_path, crit, [((0.5, 0.1), 900.0), ((0.1, 0.1), 50.0)], iterations_max=10)
    (wd / "done").touch()
    st = ibi.convergence_state(wd)
    assert st["converged"] and st["stopped_early"] and st["failing"] == [] and st["first_met"] == 2
    # without 'done' the loop has not stopped (yet), whatever the criterion says
    (wd / "done").unlink()
    assert not ibi.convergence_state(wd)["stopped_early"]


def test_a_loop_without_criterion_is_never_converged(tmp_path):
    wd = _loop(tmp_path, ic.Criterion(), [((0.0, 0.0), 1.0)])
    st = ibi.convergence_state(wd)
    assert not st["checked"] and not st["converged"] and st["failing"] == ["no criterion set"]


def test_verdict_never_calls_an_unconverged_loop_converged(tmp_path):
    crit = ic.Criterion(rdf_l2_nm=_distance(0.2), pressure_tolerance_bar=100.0)
    wd = _loop(tmp_path / "a", crit, [((0.5, 0.1), 900.0), ((0.4, 0.1), 329.0)], iterations_max=2)
    (wd / "done").touch()
    text = ic.verdict(ibi.convergence_state(wd))
    assert text.startswith("IBI did NOT converge") and "not converged" in text and "pressure 329 bar" in text
    assert "budget of 2 iterations" in text and "T-T:" in text
    wd = _loop(tmp_path / "b", crit, [((0.1, 0.1), 50.0)], iterations_max=5)
    (wd / "done").touch()
    text = ic.verdict(ibi.convergence_state(wd))
    assert text.startswith("IBI converged") and "iteration 1" in text and "stopped early" in text
    wd = _loop(tmp_path / "c", ic.Criterion(), [((0.1, 0.1), 50.0)])
    assert "no convergence criterion" in ic.verdict(ibi.convergence_state(wd))


def test_verdict_names_the_iterations_in_which_the_criterion_held_last(tmp_path):
    # held in 2, missed in 3, held in 4 and 5: converged over 4-5, not "from iteration 2"
    crit = ic.Criterion(rdf_l2_nm=_distance(0.2), pressure_tolerance_bar=100.0, hold_iterations=2)
    runs = [((0.5, 0.1), 900.0), ((0.1, 0.1), 50.0), ((0.1, 0.1), 400.0), ((0.1, 0.1), 50.0), ((0.1, 0.1), 20.0)]
    wd = _loop(tmp_path, crit, runs, iterations_max=5)
    (wd / "done").touch()
    st = ibi.convergence_state(wd)
    assert st["converged"] and st["first_met"] == 2
    text = ic.verdict(st)
    assert "held in iterations 4-5 (first in 2)" in text and "from iteration" not in text
