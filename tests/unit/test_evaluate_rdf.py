import numpy as np
import pytest

from cgbench.core.errors import CgbenchError
from cgbench.geometry.rdf import (
    close_contacts,
    element_rdfs,
    intermolecular_rdf,
    intermolecular_rdf_reference,
    molecule_index,
)


def _clustered(rng, n_mol, n_atoms, box, spread=0.25):
    """Molecules as tight random clusters of atoms, so that intramolecular pairs fill small r."""
    centres = rng.uniform(0, box, (n_mol, 1, 3))
    return (centres + rng.normal(0, spread, (n_mol, n_atoms, 3))).reshape(-1, 3)


def test_ideal_gas_gives_one():
    rng = np.random.default_rng(0)
    L, n, frames = 5.0, 2000, 4
    x = rng.uniform(0, L, (frames, n, 3))
    mol = molecule_index(n // 10, 10)
    r, g = intermolecular_rdf(x, np.full((frames, 3), L), np.arange(n), np.arange(n), mol, r_max=2.0, bins=40)
    far = r > 0.3  # the first bins hold few pairs: noisy
    assert np.abs(g[far] - 1.0).max() < 0.06
    assert abs(g[far].mean() - 1.0) < 0.01


def test_fast_kernel_equals_all_pairs_reference():
    rng = np.random.default_rng(1)
    n_mol, n_atoms = 30, 6
    boxes = np.array([[3.0, 3.2, 3.1], [3.1, 3.0, 3.3], [2.9, 3.1, 3.0]])
    x = np.stack([_clustered(rng, n_mol, n_atoms, b) for b in boxes])
    x[1] -= 4.0  # unwrapped input is allowed
    mol = molecule_index(n_mol, n_atoms)
    a = np.tile([True, True, False, True, False, False], n_mol)
    b = np.tile([False, True, True, False, False, True], n_mol)  # overlaps a in one atom per molecule
    for sa, sb in ((a, b), (a, a), (np.flatnonzero(b), np.flatnonzero(a))):
        r1, g1 = intermolecular_rdf(x, boxes, sa, sb, mol, r_max=1.4, bins=70)
        r2, g2 = intermolecular_rdf_reference(x, boxes, sa, sb, mol, r_max=1.4, bins=70)
        np.testing.assert_array_equal(r1, r2)
        np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-12)
        assert g1[:10].sum() > 0  # the comparison covers short distances too


def test_hand_value_and_intramolecular_exclusion_across_the_boundary():
    # two dimers (bond 0.15 nm along x), 1.25 nm apart along y through the periodic boundary
    L = 4.0
    x = np.array([[1.0, 0.5, 1.0], [1.15, 0.5, 1.0], [1.0, 3.25, 1.0], [1.15, 3.25, 1.0]])
    mol = np.array([7, 7, 3, 3])  # any integer labels
    r, g = intermolecular_rdf(x, [L, L, L], np.arange(4), np.arange(4), mol, r_max=1.5, bins=15)
    # 8 ordered intermolecular pairs, at 1.25 and sqrt(1.25^2 + 0.15^2) = 1.259 nm: bin (1.2, 1.3]
    n_inter = 4 * 4 - (2 * 2 + 2 * 2)
    shell = 4.0 / 3.0 * np.pi * (1.3**3 - 1.2**3)
    expected = np.zeros(15)
    expected[12] = L**3 / n_inter * 8 / shell
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-12)  # the 0.15 nm bond is not counted


def test_symmetric_in_the_two_selections():
    rng = np.random.default_rng(2)
    x = _clustered(rng, 20, 5, 3.0)[None]
    mol = molecule_index(20, 5)
    a, b = np.arange(0, 100, 2), np.arange(1, 100, 3)
    np.testing.assert_allclose(intermolecular_rdf(x, [3.0] * 3, a, b, mol, 1.2, 24)[1],
                               intermolecular_rdf(x, [3.0] * 3, b, a, mol, 1.2, 24)[1], rtol=1e-12)


def test_element_rdfs_select_by_atomic_number():
    rng = np.random.default_rng(3)
    per_mol = np.array([6, 6, 7, 1, 6, 7])
    x = _clustered(rng, 25, 6, 3.0)[None]
    elements, mol = np.tile(per_mol, 25), molecule_index(25, 6)
    out = element_rdfs(x, [3.0] * 3, elements, mol, r_max=1.2, bins=12)
    assert set(out) == {"C-C", "C-N", "N-N"}
    direct = intermolecular_rdf(x, [3.0] * 3, elements == 6, elements == 7, mol, r_max=1.2, bins=12)
    np.testing.assert_allclose(out["C-N"][1], direct[1])
    with pytest.raises(CgbenchError, match="unknown element"):
        element_rdfs(x, [3.0] * 3, elements, mol, pairs=("C-Xx",))
    with pytest.raises(CgbenchError, match="no atom of element O"):
        element_rdfs(x, [3.0] * 3, elements, mol, pairs=("C-O",))


def test_r_max_beyond_half_box_is_refused():
    x = np.zeros((1, 4, 3))
    with pytest.raises(CgbenchError, match="half the smallest box"):
        intermolecular_rdf(x, [2.0, 3.0, 3.0], [0, 1], [2, 3], molecule_index(2, 2), r_max=1.1)


def test_close_contacts_hand_counts():
    L = 3.0
    x = np.array([
        [0.02, 1.0, 1.0], [0.60, 1.0, 1.0],   # molecule 0
        [2.99, 1.0, 1.0], [2.80, 1.0, 1.0],   # molecule 1: atom 2 is 0.03 nm from atom 0 through the boundary
        [0.72, 1.0, 1.0], [1.50, 1.5, 1.5],   # molecule 2: atom 4 is 0.12 nm from atom 1 (not a clash)
    ])[None]
    x = np.concatenate([x, x + [0.0, 0.0, 0.5]])  # two frames, same contacts
    x[1, 3] = x[1, 0] + [-0.06, 0.0, 0.05]  # frame 1: one more clash, atom 3 with atom 0 at 0.078 nm
    res = close_contacts(x, [L, L, L], molecule_index(3, 2), threshold=0.1)
    n_inter = (6 * 5 - 3 * 2) // 2
    assert res.n_intermolecular_pairs == n_inter == 12
    np.testing.assert_array_equal(res.pairs_per_frame, [1, 2])
    np.testing.assert_array_equal(res.atoms_per_frame, [2, 3])
    np.testing.assert_allclose(res.fraction_per_frame, [1 / 12, 2 / 12])
    assert res.fraction == pytest.approx(3 / 24)


def test_close_contacts_ignore_intramolecular_pairs():
    x = np.array([[[1.0, 1.0, 1.0], [1.05, 1.0, 1.0], [2.0, 2.0, 2.0], [2.0, 2.0, 2.05]]])
    res = close_contacts(x, [3.0] * 3, molecule_index(2, 2))
    assert res.pairs_per_frame[0] == 0 and res.fraction == 0.0
