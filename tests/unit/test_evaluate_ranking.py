"""Distances of log force magnitudes and the decision rule that ranks CG models with them."""

import numpy as np
import pytest
from scipy.stats import energy_distance, wasserstein_distance

from cgbench.core.errors import CgbenchError
from cgbench.evaluate.divergence import bootstrap_js_many, js_saturated
from cgbench.evaluate.forces import force_bin_edges, force_histograms
from cgbench.evaluate.ranking import block_sensitivity, rank_models
from cgbench.evaluate.transport import (
    SetDistances,
    bootstrap_distances,
    clash_spectrum,
    log_magnitudes,
    quantile_shifts,
    transport_distances,
)

N_BOOT = 200


def _magnitudes(rng, n_frames, shift_decades=0.0, n_beads=40):
    """Log-normal force magnitudes around 100 kJ/mol/nm, shifted, with a frame-to-frame fluctuation."""
    frame = rng.normal(0.0, 0.03, (n_frames, 1))
    return 10.0 ** (2.0 + shift_decades + frame + rng.normal(0.0, 0.25, (n_frames, n_beads)))


def _rank(rng, shifts, control_shift=0.0, n_frames=60, seed=0, **kw):
    ref = _magnitudes(rng, 200)
    upper = float(np.quantile(ref, 0.999))
    tests = {"indist": log_magnitudes(_magnitudes(rng, n_frames, control_shift))}
    tests.update({k: log_magnitudes(_magnitudes(rng, n_frames, v)) for k, v in shifts.items()})
    dist = bootstrap_distances(log_magnitudes(ref), tests, upper, n_boot=N_BOOT, seed=seed, **kw)
    control = dist.pop("indist")
    return rank_models(dist, control, level=0.95), dist, control


def test_distances_equal_scipys_on_the_same_data():
    rng = np.random.default_rng(0)
    ref, test = _magnitudes(rng, 30), _magnitudes(rng, 10, 0.3)
    test[2, 5] = np.inf  # non-finite: off the axis, counted apart
    test[3, 7] = 2e27  # a marked clash, non-finite by the caller's rule
    u, v = log_magnitudes(test, nonfinite_above=1e26), log_magnitudes(ref)
    ok = np.isfinite(test) & (test < 1e26)
    d = transport_distances(u, v)
    assert d["w1"] == pytest.approx(wasserstein_distance(np.log10(test[ok]), np.log10(ref.ravel())), rel=1e-12)
    assert d["energy"] == pytest.approx(energy_distance(np.log10(test[ok]), np.log10(ref.ravel())), rel=1e-12)
    binned = transport_distances(u, v, resolution=1e-3)  # what very large sets use
    assert binned["w1"] == pytest.approx(d["w1"], abs=1e-3) and binned["energy"] == pytest.approx(d["energy"], abs=1e-3)
    np.testing.assert_allclose(quantile_shifts(u, v), np.quantile(np.log10(test[ok]), [0.5, 0.9, 0.99])
                               - np.quantile(np.log10(ref), [0.5, 0.9, 0.99]), rtol=1e-12)
    upper = float(np.quantile(ref, 0.999))
    expected = [np.mean(~ok | (test > k * upper)) for k in (1, 10, 100)]
    np.testing.assert_allclose(clash_spectrum(u, upper), expected)
    res = bootstrap_distances(v, {"t": u}, upper, n_boot=20, seed=1)["t"]
    assert res.w1 == d["w1"] and res.energy == d["energy"]
    assert (res.n_finite, res.n_nonfinite) == (ok.sum(), 2)
    # replicates are measured on cells of 1e-3 decades: with one frame per set every replicate draws
    # the same frames, and equals the point estimate within one cell width
    whole = bootstrap_distances(v[:1], {"t": u[:1]}, upper, n_boot=3, seed=1)["t"]
    np.testing.assert_allclose(whole.replicates["w1"], whole.w1, atol=1e-3)


def test_known_shifts_are_ordered_and_resolved():
    rng = np.random.default_rng(1)
    r, dist, control = _rank(rng, {"far": 0.6, "near": 0.15, "middle": 0.35})
    assert r.claimed and r.reason == ""
    assert list(r.models["model"]) == ["near", "middle", "far"]
    assert list(r.models["rank"]) == [1, 2, 3]
    assert r.pairs["resolved"].all() and (r.pairs["why"] == "resolved").all()
    assert r.pair_level == pytest.approx(1 - 0.05 / 2)  # Bonferroni over two adjacent pairs
    assert r.verdict() == "ranking near < middle < far; near-middle resolved, middle-far resolved."
    # a known shift of the log magnitudes is what W1 measures
    assert dist["far"].w1 == pytest.approx(0.6, abs=0.05)
    assert dist["far"].quantile_shift == pytest.approx([0.6] * 3, abs=0.1)


def test_saturated_sets_are_still_ordered_while_js_is_flagged():
    rng = np.random.default_rng(2)
    ref = _magnitudes(rng, 200)
    sets = {"indist": _magnitudes(rng, 40), "X": _magnitudes(rng, 40, 3.0), "Y": _magnitudes(rng, 40, 6.0)}
    edges = force_bin_edges(ref)
    assert all(np.all(sets[k] >= edges[-2]) for k in ("X", "Y"))  # every force beyond the reference's range
    js = bootstrap_js_many(force_histograms(ref, edges), {k: force_histograms(v, edges) for k, v in sets.items()},
                           n_boot=20)
    assert js_saturated(js["X"].js) and js_saturated(js["Y"].js) and js["X"].js == js["Y"].js
    upper = float(edges[-2])
    dist = bootstrap_distances(log_magnitudes(ref), {k: log_magnitudes(v) for k, v in sets.items()}, upper,
                               n_boot=N_BOOT)
    np.testing.assert_allclose(dist["Y"].clash, [1.0, 1.0, 1.0])
    assert dist["X"].clash[0] == 1.0 and dist["X"].clash[2] < 1.0
    r = rank_models({"Y": dist["Y"], "X": dist["X"]}, dist["indist"])
    assert r.claimed and list(r.models["model"]) == ["X", "Y"] and bool(r.pairs["resolved"].iloc[0])


def test_identical_sets_are_unresolved_and_share_a_rank_in_the_given_order():
    rng = np.random.default_rng(3)
    ref = log_magnitudes(_magnitudes(rng, 200))
    same = log_magnitudes(_magnitudes(rng, 60, 0.4))
    tests = {"indist": log_magnitudes(_magnitudes(rng, 60)), "Z": same, "A": same.copy()}
    dist = bootstrap_distances(ref, tests, 500.0, n_boot=N_BOOT)
    assert dist["Z"].w1 == dist["A"].w1 and dist["Z"].energy == dist["A"].energy
    control = dist.pop("indist")
    r = rank_models(dist, control)
    assert r.claimed and not r.pairs["resolved"].any()
    assert r.pairs["why"].iloc[0] == "equal distances"
    assert list(r.models["rank"]) == [1, 1]
    # equal values keep the order they came in: never sorted by name
    assert list(r.models["model"]) == ["Z", "A"]
    assert list(rank_models({"A": dist["A"], "Z": dist["Z"]}, control).models["model"]) == ["A", "Z"]
    assert r.order() == "Z ~ A" and "unresolved (equal distances)" in r.verdict()


def test_a_control_no_better_than_the_models_blocks_the_ranking():
    rng = np.random.default_rng(4)
    # the backmapper alone moves the forces by 0.5 decades; the models add little to that
    r, _, _ = _rank(rng, {"A": 0.45, "B": 0.9}, control_shift=0.5)
    assert not r.claimed
    assert r.models["rank"].isna().all()
    assert list(r.models.loc[~r.models["control_below"], "model"]) == ["A"]
    assert r.verdict() == ("no ranking: backmapper-limited: the in-distribution control is not measurably closer "
                           "to the reference than model A.")
    without = rank_models({"A": SetDistances(0.1, 0.1, np.zeros(3), np.zeros(3), 10, 10, 0, 1,
                                             {"w1": np.ones(5), "energy": np.ones(5)})})
    assert not without.claimed and "no in-distribution control" in without.reason


def _fixed(w1, energy, w1_reps, energy_reps):
    return SetDistances(w1, energy, np.zeros(3), np.zeros(3), 100, 100, 0, 1,
                        {"w1": np.asarray(w1_reps, float), "energy": np.asarray(energy_reps, float)})


def test_the_two_distances_must_agree_in_sign():
    n = 400
    spread = np.linspace(-0.01, 0.01, n)
    control = _fixed(0.0, 0.0, spread, spread)
    a = _fixed(1.0, 2.0, 1.0 + spread, 2.0 + spread)
    b = _fixed(1.5, 1.5, 1.5 + spread, 1.5 + spread)  # farther by W1, nearer by energy distance
    r = rank_models({"b": b, "a": a}, control)
    assert r.claimed and list(r.models["model"]) == ["a", "b"]
    assert not r.pairs["resolved"].iloc[0]
    assert r.pairs["why"].iloc[0] == "W1 and energy distance disagree in sign"
    c = _fixed(1.5, 2.5, 1.5 + spread, 2.5 + spread)
    assert rank_models({"c": c, "a": a}, control).pairs["resolved"].iloc[0]
    with pytest.raises(CgbenchError, match="cannot be paired"):
        rank_models({"a": a, "short": _fixed(1, 1, spread[:10], spread[:10])}, control)


def test_block_sensitivity_reports_each_block_length():
    rng = np.random.default_rng(5)
    ref = log_magnitudes(_magnitudes(rng, 125))
    tests = {"indist": log_magnitudes(_magnitudes(rng, 64)), "A": log_magnitudes(_magnitudes(rng, 64, 0.3)),
             "B": log_magnitudes(_magnitudes(rng, 64, 0.8))}
    dist = bootstrap_distances(ref, tests, 500.0, n_boot=100, seed=2)
    table = block_sensitivity(dist, ref, tests, "indist", seed=2)
    assert list(table["block_factor"].unique()) == [0.5, 1.0, 2.0]
    assert list(table["block_reference"].unique()) == [2, 5, 10]  # round(f * 125^(1/3))
    assert set(table["comparison"]) == {"A - indist", "B - indist", "B - A"}
    assert table["stable"].all() and table["resolved"].all()
    assert (table["w1_lo"] < table["w1_hi"]).all()
    # the default length reuses the given replicates
    at_one = table[(table["block_factor"] == 1.0) & (table["comparison"] == "B - A")]
    r = rank_models({k: v for k, v in dist.items() if k != "indist"}, dist["indist"])
    assert at_one["w1_lo"].iloc[0] == r.pairs["d_w1_lo"].iloc[0]
