import numpy as np
import pytest

from cgbench.errors import CgbenchError
from cgbench.evaluate.force_matching import chi2, chi2_bm, chi2_per_frame


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
