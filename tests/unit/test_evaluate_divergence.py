import numpy as np
import pytest

from cgbench.geometry import distributions
from cgbench.core.errors import CgbenchError
from cgbench.evaluate.divergence import bootstrap_js, bootstrap_js_many, js_divergence, js_saturated
from cgbench.evaluate.forces import force_bin_edges, force_histograms

LN2 = np.log(2.0)


def test_bounds_and_symmetry():
    p = np.array([0.1, 0.4, 0.5, 0.0])
    assert js_divergence(p, p) == 0.0
    assert js_divergence(3 * p, p) == pytest.approx(0.0, abs=1e-15)  # normalised first
    assert js_divergence([1, 2, 0, 0], [0, 0, 3, 1]) == pytest.approx(LN2)  # disjoint supports
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 1, (2, 500, 12))
    a[:, :3] = 0.0  # empty bins in one of them
    js = js_divergence(a, b, axis=-1)
    assert js.shape == (500,)
    assert np.all((js >= 0) & (js <= LN2))
    np.testing.assert_allclose(js, js_divergence(b, a, axis=-1), rtol=1e-12)


def test_vectorised_equals_the_one_dimensional_reference():
    rng = np.random.default_rng(1)
    p, q = rng.uniform(0, 1, (2, 20, 8))
    q[::3, 2] = 0.0
    got = js_divergence(p, q, axis=-1)
    np.testing.assert_allclose(got, [distributions.js_divergence(a, b) for a, b in zip(p, q)], rtol=1e-12)
    # along another axis
    np.testing.assert_allclose(js_divergence(p.T, q.T, axis=0), got, rtol=1e-12)


def test_hand_value():
    # p = (1, 0), q = (1/2, 1/2): m = (3/4, 1/4); JS = 1/2 ln(4/3) + 1/2 (1/2 ln(2/3) + 1/2 ln 2)
    expected = 0.5 * np.log(4 / 3) + 0.25 * np.log(2 / 3) + 0.25 * np.log(2)
    assert js_divergence([1, 0], [1, 1]) == pytest.approx(expected, rel=1e-12)


def test_invalid_inputs():
    with pytest.raises(CgbenchError):
        js_divergence([1, -1], [1, 1])
    with pytest.raises(CgbenchError):
        js_divergence([0, 0], [1, 1])


def _sets(rng, n_frames, shift, n_beads=40):
    """Per-frame force magnitudes: |normal| shifted, with a frame-to-frame fluctuation."""
    frame_noise = rng.normal(0, 5, (n_frames, 1))
    return np.abs(rng.normal(100 + shift, 30, (n_frames, n_beads)) + frame_noise)


def test_bootstrap_interval_contains_estimate_and_shrinks_with_frames():
    rng = np.random.default_rng(2)
    ref_all = _sets(rng, 640, 0.0)
    test_all = _sets(rng, 640, 25.0)
    edges = force_bin_edges(ref_all, n_bins=40)
    widths = []
    for n in (20, 80, 320):
        res = bootstrap_js(force_histograms(ref_all[:n], edges), force_histograms(test_all[:n], edges),
                           n_boot=400, seed=5)
        assert res.lo <= res.js <= res.hi
        assert 0.0 <= res.lo < res.hi <= LN2
        assert res.replicates.shape == (400,) and res.n_frames_test == n
        widths.append(res.hi - res.lo)
    assert widths[0] > widths[1] > widths[2]
    assert widths[0] > 2.5 * widths[2]  # ~ sqrt(16) = 4 for independent frames


def test_bootstrap_is_reproducible_by_seed():
    rng = np.random.default_rng(3)
    edges = np.append(np.linspace(0, 200, 21), np.inf)
    ref = force_histograms(_sets(rng, 30, 0.0), edges)
    test = force_histograms(_sets(rng, 30, 10.0), edges)
    a = bootstrap_js(ref, test, n_boot=50, seed=1)
    b = bootstrap_js(ref, test, n_boot=50, seed=1)
    c = bootstrap_js(ref, test, n_boot=50, seed=2)
    np.testing.assert_array_equal(a.replicates, b.replicates)
    assert not np.array_equal(a.replicates, c.replicates)
    fixed = bootstrap_js(ref, test, n_boot=50, seed=1, resample_reference=False)
    assert fixed.js == a.js and not np.array_equal(fixed.replicates, a.replicates)


def test_replicates_are_paired_through_the_reference_and_independent_of_other_sets():
    rng = np.random.default_rng(4)
    ref = _sets(rng, 200, 0.0)
    edges = force_bin_edges(ref, n_bins=40)
    sets = {"C": _sets(rng, 200, 60.0), "A": _sets(rng, 200, 15.0)}
    counts = {k: force_histograms(v, edges) for k, v in sets.items()}
    res = bootstrap_js_many(force_histograms(ref, edges), counts, n_boot=300, seed=0)
    assert res["A"].js < res["C"].js
    # replicates of a set depend on the seed and its name only, not on the other sets
    alone = bootstrap_js_many(force_histograms(ref, edges), {"A": counts["A"]}, n_boot=300, seed=0)
    np.testing.assert_array_equal(alone["A"].replicates, res["A"].replicates)


def test_saturation_is_flagged_near_ln2():
    assert js_saturated(0.95 * LN2) and js_saturated(LN2)
    assert not js_saturated(0.9 * LN2)
    np.testing.assert_array_equal(js_saturated([0.1, 0.68, LN2]), [False, True, True])
    # every force beyond the reference's range: the overflow bin holds them all, JS sits at ln 2
    rng = np.random.default_rng(5)
    ref = _sets(rng, 50, 0.0)
    edges = force_bin_edges(ref, n_bins=40)
    far, farther = 1e3 * ref, 1e6 * ref
    js = [bootstrap_js(force_histograms(ref, edges), force_histograms(x, edges), n_boot=20).js for x in (far, farther)]
    assert js[0] == js[1] and js_saturated(js[0])


def test_mismatched_bins_are_refused():
    with pytest.raises(CgbenchError, match="shared edges"):
        bootstrap_js(np.ones((3, 5)), np.ones((3, 6)), n_boot=10)
