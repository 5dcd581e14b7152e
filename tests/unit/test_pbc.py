"""Making molecules whole across periodic boundaries."""

import numpy as np
import pytest

from cgbench.geometry.pbc import bfs_parents, make_whole, wrap


def chain(n):
    return np.array([(i, i + 1) for i in range(n - 1)])


def test_whole_molecule_survives_wrapping():
    rng = np.random.default_rng(1)
    n_atoms, n_mol, nf = 6, 5, 3
    box = np.array([[2.0, 2.5, 3.0]] * nf)
    # random-walk chains with 0.4 nm steps, longer in total than half the box
    steps = rng.normal(size=(nf, n_mol, n_atoms, 3))
    steps *= 0.4 / np.linalg.norm(steps, axis=-1, keepdims=True)
    x = np.cumsum(steps, axis=2) + rng.uniform(0, 2, size=(nf, n_mol, 1, 3))
    x = x.reshape(nf, -1, 3)
    wrapped = wrap(x, box)
    assert not np.allclose(wrapped, x)
    whole = make_whole(wrapped, box, chain(n_atoms), n_atoms)
    # equal to the original up to one lattice translation per molecule
    shift = (whole - x).reshape(nf, n_mol, n_atoms, 3)
    np.testing.assert_allclose(shift, shift[:, :, :1].repeat(n_atoms, axis=2), atol=1e-12)
    np.testing.assert_allclose(shift[:, :, 0] / box[:, None], np.round(shift[:, :, 0] / box[:, None]), atol=1e-12)


def test_ring_molecule(tmbt):
    top = tmbt.topology
    x = tmbt.molecule.positions[None] + 1.0
    box = np.array([[1.5, 1.5, 1.5]])  # smaller than the molecule
    whole = make_whole(wrap(x, box), box, top.bonds, top.n_atoms)
    d = whole - x
    np.testing.assert_allclose(d, np.broadcast_to(d[:, :1], d.shape), atol=1e-9)


def test_disconnected_graph_is_refused():
    with pytest.raises(ValueError, match="not connected"):
        bfs_parents([(0, 1), (2, 3)], 4)


def test_wrap_molecules_keeps_them_whole():
    from cgbench.geometry.pbc import wrap_molecules

    x = np.array([[[4.9, 0.1, 0.1], [5.3, 0.1, 0.1], [-0.2, 0.0, 0.0], [0.1, 0.0, 0.0]]])
    box = np.array([[5.0, 5.0, 5.0]])
    w = wrap_molecules(x, box, 2)
    np.testing.assert_allclose(w[0, 1] - w[0, 0], x[0, 1] - x[0, 0])
    np.testing.assert_allclose(w[0, :2, 0], [-0.1, 0.3])  # centre 5.1 -> 0.1
    np.testing.assert_allclose(w[0, 2:, 0], [4.8, 5.1])  # centre -0.05 -> 4.95
