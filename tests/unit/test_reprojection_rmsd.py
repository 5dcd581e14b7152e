import numpy as np
import pytest

from cgbench.core.errors import CgbenchError
from cgbench.mapping.projection import minimum_image_rmsd, reprojection_rmsd

BOX = np.array([3.0, 4.0, 5.0])


def test_hand_value_pooled_and_per_frame():
    y = np.zeros((2, 2, 3)) + 1.0
    x = y.copy()
    x[0, 0, 0] += 0.3
    x[0, 1, 1] += 0.4
    x[1, 1, 2] -= 0.2
    assert minimum_image_rmsd(x, y, BOX) == pytest.approx(np.sqrt((0.09 + 0.16 + 0.04) / 4))
    np.testing.assert_allclose(minimum_image_rmsd(x, y, BOX, per_frame=True),
                               [np.sqrt(0.25 / 2), np.sqrt(0.04 / 2)])


def test_shift_by_box_vectors_is_zero():
    rng = np.random.default_rng(0)
    y = rng.uniform(0, 3, (3, 10, 3))
    shifts = rng.integers(-2, 3, (3, 10, 3)) * BOX
    assert minimum_image_rmsd(y + shifts, y, BOX) == pytest.approx(0.0, abs=1e-12)


def test_bead_across_the_boundary_counts_by_minimum_image():
    y = np.array([[[0.05, 1.0, 1.0], [1.0, 1.0, 1.0]]])
    x = np.array([[[2.95, 1.0, 1.0], [1.0, 1.0, 1.0]]])  # 0.1 nm away through the boundary at x = 0
    assert minimum_image_rmsd(x, y, BOX) == pytest.approx(np.sqrt(0.01 / 2))


def _molecule():
    """4 atoms in 2 beads, masses 1, 3 | 2, 2; bonds 0-1, 1-2, 2-3."""
    masses = np.array([1.0, 3.0, 2.0, 2.0])
    member = np.array([[1, 1, 0, 0], [0, 0, 1, 1]], dtype=float)
    weights = member * masses
    weights /= weights.sum(axis=1, keepdims=True)
    bonds = np.array([[0, 1], [1, 2], [2, 3]])
    atoms = np.array([[0.1, 0.0, 0.0], [0.2, 0.0, 0.0], [0.3, 0.1, 0.0], [0.4, 0.1, 0.0]])
    beads = np.array([[0.175, 0.0, 0.0], [0.35, 0.1, 0.0]])  # COMs by hand
    return weights, bonds, atoms, beads


def test_reprojection_of_a_molecule_split_by_the_boundary():
    weights, bonds, atoms, beads = _molecule()
    # place the molecule across x = 0 and wrap its atoms: atoms 0-1 at the far side
    aa = atoms + [-0.25, 1.0, 1.0]
    aa_wrapped = aa - BOX * np.floor(aa / BOX)
    assert aa_wrapped[0, 0] > 2.5 and aa_wrapped[3, 0] < 0.5
    cg = beads + [-0.25, 1.0, 1.0]
    assert reprojection_rmsd(aa_wrapped[None], cg[None], BOX, weights, bonds) == pytest.approx(0.0, abs=1e-12)
    # a CG input whose first bead is 0.1 nm off in y: RMSD over 2 beads
    off = cg + [[0.0, 0.1, 0.0], [0.0, 0.0, 0.0]]
    assert reprojection_rmsd(aa_wrapped[None], off[None], BOX, weights, bonds) == pytest.approx(np.sqrt(0.01 / 2))


def test_reprojection_several_molecules_and_frames():
    weights, bonds, atoms, beads = _molecule()
    rng = np.random.default_rng(1)
    shifts = rng.uniform(0, 3, (2, 5, 1, 3))  # 2 frames, 5 molecules
    aa = (atoms[None, None] + shifts).reshape(2, 20, 3)
    cg = (beads[None, None] + shifts).reshape(2, 10, 3)
    cg[1] += rng.integers(-1, 2, (10, 3)) * BOX  # CG beads in other periodic images
    d = np.zeros_like(cg)
    d[1, 3] = [0.0, 0.0, 0.2]
    np.testing.assert_allclose(reprojection_rmsd(aa, cg + d, BOX, weights, bonds, per_frame=True),
                               [0.0, np.sqrt(0.04 / 10)], atol=1e-12)
    with pytest.raises(CgbenchError, match="shape"):
        reprojection_rmsd(aa, cg[:, :8], BOX, weights, bonds)
