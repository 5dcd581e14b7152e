"""The consistency projection: each bead's atoms translated rigidly onto their CG bead."""

import numpy as np
import pytest

from cgbench.core.errors import CgbenchError
from cgbench.mapping.projection import reprojection_rmsd
from cgbench.molecule.mapping import map_positions
from cgbench.mapping.projection import project_onto_beads

# one molecule: a chain of 5 atoms in two beads (atoms 0-2 and 3-4), unequal masses
MASSES = np.array([12.0, 1.0, 14.0, 12.0, 16.0])
BEAD = np.array([0, 0, 0, 1, 1])
BONDS = np.array([[0, 1], [1, 2], [2, 3], [3, 4]])
W = np.zeros((2, 5))
W[BEAD, np.arange(5)] = MASSES
W /= W.sum(axis=1, keepdims=True)


def system(rng, n_frames=3, n_mol=6, box=2.0):
    chain = np.cumsum(np.r_[[[0.0, 0.0, 0.0]], rng.normal(0, 0.08, (4, 3)) + [0.12, 0, 0]], axis=0)
    whole = chain[None, None] + rng.uniform(0, box, (n_frames, n_mol, 1, 3))
    whole = whole.reshape(n_frames, n_mol * 5, 3)
    boxes = np.full((n_frames, 3), box)
    return whole, boxes


def test_projection_makes_the_reprojection_exact_and_keeps_in_bead_geometry():
    rng = np.random.default_rng(3)
    whole, box = system(rng)
    cg = map_positions(whole, W) + rng.normal(0, 0.03, (3, 12, 3))  # the generator missed by ~0.05 nm
    wrapped = np.mod(whole, box[:, None, :])  # molecules split by the boundary
    before = reprojection_rmsd(wrapped, cg, box, W, BONDS)
    x, shift = project_onto_beads(wrapped, cg, box, W, BONDS)
    assert before > 0.02
    assert reprojection_rmsd(x, cg, box, W, BONDS) < 1e-12
    np.testing.assert_allclose(np.sqrt((shift**2).mean()), before, rtol=1e-9)
    # atoms of one bead move together: their distances are unchanged
    a, b = x.reshape(3, 6, 5, 3), whole.reshape(3, 6, 5, 3)
    for i, j in [(0, 1), (0, 2), (3, 4)]:
        np.testing.assert_allclose(np.linalg.norm(a[:, :, i] - a[:, :, j], axis=-1),
                                   np.linalg.norm(b[:, :, i] - b[:, :, j], axis=-1), atol=1e-12)


def test_a_consistent_backmap_is_left_in_place():
    rng = np.random.default_rng(4)
    whole, box = system(rng)
    x, shift = project_onto_beads(whole, map_positions(whole, W), box, W, BONDS)
    np.testing.assert_allclose(x, whole, atol=1e-12)
    assert shift.max() < 1e-12


def test_mismatched_molecules_are_refused():
    rng = np.random.default_rng(5)
    whole, box = system(rng)
    with pytest.raises(CgbenchError, match="not the same molecules"):
        project_onto_beads(whole, map_positions(whole, W)[:, :-2], box, W, BONDS)
    shared = W.copy()
    shared[1, 0] = 0.1
    with pytest.raises(CgbenchError, match="exactly one bead"):
        project_onto_beads(whole, map_positions(whole, W), box, shared, BONDS)
