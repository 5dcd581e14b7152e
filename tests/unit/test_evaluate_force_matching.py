import numpy as np
import pytest

from cgbench.core.errors import CgbenchError
from cgbench.evaluate.constraints import BondGeometry, bond_neighbours
from cgbench.evaluate.force_matching import chi2, chi2_bm, chi2_per_frame, clash_frames


def test_zero_when_forces_match():
    rng = np.random.default_rng(0)
    f = rng.normal(0, 300, (5, 14, 3))
    assert chi2(f, f) == 0.0
    np.testing.assert_array_equal(chi2_per_frame(f, f), np.zeros(5))
    res = chi2_bm(f, f, f[:2], f[:2])
    assert res.chi2 == res.backmapping_term == res.chi2_bm == 0.0


def test_hand_values_eq7():
    f_aa = np.zeros((2, 2, 3))
    f_cg = np.zeros((2, 2, 3))
    f_cg[0, 0] = [1.0, 2.0, 2.0]  # frame 0: sum_I |dF_I|^2 = 9, over 3N = 6 -> 1.5
    f_cg[1, 0] = [0.0, 3.0, 0.0]  # frame 1: 9 + 9 = 18 -> 3.0
    f_cg[1, 1] = [0.0, 0.0, 3.0]
    np.testing.assert_allclose(chi2_per_frame(f_cg, f_aa), [1.5, 3.0])
    assert chi2(f_cg, f_aa) == pytest.approx(2.25)
    assert chi2(f_aa, f_cg) == pytest.approx(2.25)  # symmetric in its arguments
    assert chi2(f_cg + 7.0, f_aa + 7.0) == pytest.approx(2.25)  # only differences count


def test_chi2_bm_adds_the_backmapping_term_eq8():
    f_aa = np.zeros((3, 2, 3))
    f_cg = np.full((3, 2, 3), 1.0)  # chi2 = 6 / 6 = 1
    g_cg = np.zeros((1, 2, 3))  # CG ensemble: one frame
    g_bm = np.zeros((1, 2, 3))
    g_bm[0, 1] = [2.0, 0.0, 0.0]  # 4 / 6
    res = chi2_bm(f_cg, f_aa, g_cg, g_bm)
    assert res.chi2 == pytest.approx(1.0)
    assert res.backmapping_term == pytest.approx(4 / 6)
    assert res.chi2_bm == pytest.approx(1.0 + 4 / 6)


def test_shapes_are_checked():
    with pytest.raises(CgbenchError, match="share the shape"):
        chi2(np.zeros((2, 3, 3)), np.zeros((2, 4, 3)))
    with pytest.raises(CgbenchError, match="same beads"):
        chi2_bm(np.zeros((2, 3, 3)), np.zeros((2, 3, 3)), np.zeros((1, 4, 3)), np.zeros((1, 4, 3)))
    with pytest.raises(CgbenchError, match="finite"):
        chi2(np.full((1, 1, 3), np.nan), np.zeros((1, 1, 3)))


def _chain(n_frames, rng):
    """Two 3-bead molecules, bonds 0-1 and 1-2, in a 3 nm box; the second crosses the boundary."""
    x = np.array([[0.5, 0.5, 0.5], [0.9, 0.5, 0.5], [1.1, 0.85, 0.5],
                  [2.8, 1.0, 1.0], [0.2, 1.0, 1.0], [0.2, 1.4, 1.2]])
    return x + rng.normal(0, 0.01, (n_frames, 6, 3))


def test_perpendicular_components_drop_every_bond_direction():
    rng = np.random.default_rng(1)
    x = _chain(4, rng)
    geom = BondGeometry(x, np.array([3.0, 3.0, 3.0]), np.array([[0, 1], [1, 2]]), 3)
    v = rng.normal(0, 100, (4, 6, 3))
    perp, dof = geom.perpendicular(v)
    np.testing.assert_array_equal(dof, np.tile([2, 1, 2], (4, 2)))
    # bond vectors by minimum image: 3 -> 4 wraps across the box
    e = x[:, [1, 4]] - x[:, [0, 3]]
    e -= 3.0 * np.round(e / 3.0)
    assert np.abs(e[:, 1]).max() < 0.5
    # what remains is orthogonal to each bead's bonds, and the rest of the vector lies along them
    for bead, other in ((0, 1), (4, 3), (4, 5), (1, 0), (1, 2)):
        b = x[:, other] - x[:, bead]
        b -= 3.0 * np.round(b / 3.0)
        np.testing.assert_allclose(np.einsum("fk,fk->f", perp[:, bead], b), 0.0, atol=1e-9)
    # a force along the bonds has nothing perpendicular; one perpendicular is untouched
    along = np.zeros_like(v)
    along[:, 1] = 5.0 * (x[:, 0] - x[:, 1]) - 2.0 * (x[:, 2] - x[:, 1])
    np.testing.assert_allclose(geom.perpendicular(along)[0], 0.0, atol=1e-9)
    normal = np.zeros_like(v)
    normal[:, 1] = np.cross(x[:, 0] - x[:, 1], x[:, 2] - x[:, 1])
    np.testing.assert_allclose(geom.perpendicular(normal)[0], normal, atol=1e-9)
    np.testing.assert_array_equal(bond_neighbours([[0, 1], [1, 2]], 3, 2),
                                  [[1, -1], [0, 2], [1, -1], [4, -1], [3, 5], [4, -1]])


def test_chi2_perpendicular_ignores_bond_forces_a_constrained_model_lacks():
    rng = np.random.default_rng(2)
    x = _chain(5, rng)
    geom = BondGeometry(x, np.full((5, 3), 3.0), np.array([[0, 1], [1, 2]]), 3)
    f_cg = rng.normal(0, 50, (5, 6, 3))
    bond = np.zeros_like(f_cg)  # a bond force pair along 0-1 in molecule 1: what constraints would carry
    e = x[:, 1] - x[:, 0]
    bond[:, 0], bond[:, 1] = 30.0 * e, -30.0 * e
    f_aa = f_cg + bond
    assert chi2(f_cg, f_aa) > 0
    assert chi2(f_cg, f_aa, perpendicular_to=geom) == pytest.approx(0.0, abs=1e-18)
    # per component kept: one unit difference on a chain end's two free components
    d = np.zeros_like(f_cg)
    d[:, 0] = np.cross(e, [0.0, 0.0, 1.0])
    d[:, 0] /= np.linalg.norm(d[:, 0], axis=-1, keepdims=True)
    np.testing.assert_allclose(chi2_per_frame(f_cg + d, f_cg, perpendicular_to=geom), 1.0 / 10)


def test_chi2_bm_over_frames_without_clashes():
    rng = np.random.default_rng(3)
    f = rng.normal(0, 10, (4, 6, 3))
    g_cg = rng.normal(0, 10, (3, 6, 3))
    g_bm = g_cg + 1.0
    g_bm[1, 2] = 1e30  # a clash marker
    clash = clash_frames(g_bm, 1e6)
    np.testing.assert_array_equal(clash, [False, True, False])
    swamped = chi2_bm(f, f, g_cg, g_bm)
    kept = chi2_bm(f, f, g_cg, g_bm, keep=~clash)
    assert swamped.chi2_bm > 1e50
    assert kept.backmapping_term == pytest.approx(1.0) and (kept.n_frames, kept.n_used) == (3, 2)
    none = chi2_bm(f, f, g_cg, g_bm, keep=np.zeros(3, bool))
    assert np.isnan(none.chi2_bm) and none.chi2 == 0.0
    nan = g_bm.copy()
    nan[1, 0] = np.nan
    assert clash_frames(nan, 1e40)[1] and chi2_bm(f, f, g_cg, nan, keep=~clash_frames(nan, 1e6)).n_used == 2
    geom = BondGeometry(_chain(3, rng), np.full(3, 3.0), np.array([[0, 1], [1, 2]]), 3)
    geom_aa = BondGeometry(_chain(4, rng), np.full(3, 3.0), np.array([[0, 1], [1, 2]]), 3)
    perp = chi2_bm(f, f, g_cg, g_bm, keep=~clash, perpendicular_to=(geom_aa, geom))
    # the kept frames' own bond directions are used
    expected = chi2_per_frame(g_cg[~clash], g_bm[~clash], perpendicular_to=geom.select(~clash)).mean()
    assert perp.n_used == 2 and perp.backmapping_term == pytest.approx(expected)
    assert 0 < perp.backmapping_term < 3.0
