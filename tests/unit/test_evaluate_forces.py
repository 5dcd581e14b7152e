import numpy as np
import pytest

from cgbench.core.errors import CgbenchError
from cgbench.evaluate.forces import (
    force_bin_edges,
    force_density,
    force_histograms,
    force_magnitudes,
    project_forces,
)

# one molecule: 5 atoms in beads of 3 and 2 atoms
MEMBER = np.array([[1, 1, 1, 0, 0], [0, 0, 0, 1, 1]], dtype=float)


def test_rigid_translation_net_and_mean():
    f = np.array([1.5, -2.0, 0.5])
    atoms = np.broadcast_to(f, (2, 3 * 5, 3))  # 2 frames, 3 molecules, uniform force on every atom
    net = project_forces(atoms, MEMBER, kind="net")
    mean = project_forces(atoms, MEMBER, kind="mean")
    assert net.shape == mean.shape == (2, 3 * 2, 3)
    np.testing.assert_allclose(net[:, 0::2], np.broadcast_to(3 * f, (2, 3, 3)))  # n_atoms * f
    np.testing.assert_allclose(net[:, 1::2], np.broadcast_to(2 * f, (2, 3, 3)))
    np.testing.assert_allclose(mean, np.broadcast_to(f, mean.shape))  # Eq. 6: f


def test_internal_forces_stay_zero():
    rng = np.random.default_rng(0)
    f = rng.normal(0, 100, (4, 2, 5, 3))
    f -= f.mean(axis=2, keepdims=True)  # zero net force on each molecule
    net = project_forces(f.reshape(4, 10, 3), MEMBER, kind="net").reshape(4, 2, 2, 3)
    np.testing.assert_allclose(net.sum(axis=2), 0.0, atol=1e-10)
    # forces that cancel inside each bead give zero bead forces, both ways
    g = np.zeros((1, 5, 3))
    g[0, 0], g[0, 2] = [5.0, 1.0, 0.0], [-5.0, -1.0, 0.0]
    g[0, 3], g[0, 4] = [0.0, 2.0, 2.0], [0.0, -2.0, -2.0]
    for kind in ("net", "mean"):
        np.testing.assert_array_equal(project_forces(g, MEMBER, kind=kind), 0.0)


def test_bad_projection_inputs():
    with pytest.raises(CgbenchError, match="one of"):
        project_forces(np.zeros((1, 5, 3)), MEMBER, kind="sum")
    with pytest.raises(CgbenchError, match="not"):
        project_forces(np.zeros((1, 7, 3)), MEMBER)


def test_magnitudes():
    f = np.array([[[3.0, 4.0, 0.0], [0.0, 0.0, -2.0]]])
    np.testing.assert_allclose(force_magnitudes(f), [[5.0, 2.0]])


def test_bin_edges_from_reference_quantile_with_overflow():
    ref = np.arange(1, 1001, dtype=float).reshape(10, 100)
    e = force_bin_edges(ref, n_bins=4, quantile=0.5)
    assert e.shape == (6,) and np.isposinf(e[-1])
    np.testing.assert_allclose(e[:-1], np.linspace(0, np.quantile(ref, 0.5), 5))
    np.testing.assert_allclose(force_bin_edges(None, n_bins=2, upper=10.0), [0, 5, 10, np.inf])
    with pytest.raises(CgbenchError):
        force_bin_edges(ref, upper=-1.0)


def test_histograms_per_frame_with_shared_edges_and_overflow():
    edges = np.array([0.0, 1.0, 2.0, np.inf])
    m = np.array([[0.0, 0.5, 1.0, 5e6], [1.5, 1.99, 2.0, 0.2]])
    c = force_histograms(m, edges)
    np.testing.assert_array_equal(c, [[2, 1, 1], [1, 2, 1]])  # [lo, hi): 1.0 in bin 1, 2.0 overflows
    # same edges for another set: histograms are comparable bin by bin
    assert force_histograms(m * 0.5, edges).shape == c.shape
    with pytest.raises(CgbenchError):
        force_histograms([[np.nan]], edges)


def test_density_integrates_to_one_minus_overflow():
    rng = np.random.default_rng(1)
    m = np.abs(rng.normal(0, 100, (20, 50)))
    edges = force_bin_edges(m, n_bins=30, quantile=0.9)
    centres, dens, over = force_density(force_histograms(m, edges), edges)
    assert centres.shape == dens.shape == (30,)
    assert over == pytest.approx(np.mean(m >= edges[-2]))
    assert np.sum(dens * np.diff(edges[:-1])) == pytest.approx(1.0 - over)


def test_infinite_forces_count_in_the_overflow_bin():
    edges = np.array([0.0, 1.0, 2.0, np.inf])
    counts = force_histograms(np.array([[0.5, 1.5, 3.0, np.inf]]), edges)
    np.testing.assert_array_equal(counts, [[1, 1, 2]])
    with pytest.raises(Exception, match="numbers"):
        force_histograms(np.array([[np.nan]]), edges)
