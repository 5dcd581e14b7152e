import numpy as np
import pytest

from cgbench.core.errors import CgbenchError
from cgbench.evaluate.resampling import block_length, block_weights, expanded_level, percentile_interval, stream


def test_block_length_follows_the_cube_root():
    assert [block_length(n) for n in (1, 2, 3, 8, 100, 2000)] == [1, 1, 1, 2, 5, 13]
    assert block_length(100, 2.0) == 9 and block_length(100, 0.5) == 2
    assert block_length(3, 10.0) == 1 and block_length(10, 10.0) == 5  # at least two blocks per replicate
    with pytest.raises(CgbenchError):
        block_length(0)


def test_block_weights_draw_whole_circular_blocks():
    n, length = 10, 3
    w = block_weights(n, 500, length, stream(0, "x"))
    assert w.shape == (500, n) and (w.sum(axis=1) == n).all()
    # every frame is equally likely in a circular block bootstrap
    assert np.allclose(w.mean(axis=0), 1.0, atol=0.15)
    one = block_weights(n, 1, n, stream(0, "y"))
    np.testing.assert_array_equal(one, np.ones((1, n)))  # a block as long as the set draws it whole
    np.testing.assert_array_equal(block_weights(n, 4, 2, stream(5, "z")), block_weights(n, 4, 2, stream(5, "z")))
    assert not np.array_equal(block_weights(n, 4, 2, stream(5, "z")), block_weights(n, 4, 2, stream(5, "w")))


def test_block_weights_keep_neighbours_together():
    w = block_weights(12, 200, 4, stream(1, "k"))
    # with blocks of 4 (12 = 3 blocks exactly), frame 0 is drawn together with frame 1 unless a block starts at 1
    together = np.mean((w[:, 0] > 0) == (w[:, 1] > 0))
    iid = block_weights(12, 200, 1, stream(1, "k"))
    assert together > np.mean((iid[:, 0] > 0) == (iid[:, 1] > 0))


def test_expanded_level_widens_for_few_units():
    assert expanded_level(0.95, 1) == 1.0
    assert expanded_level(0.95, 3) > expanded_level(0.95, 20) > expanded_level(0.95, 1000) > 0.95
    assert expanded_level(0.95, 10**6) == pytest.approx(0.95, abs=1e-4)
    reps = np.linspace(0, 1, 1001)
    lo, hi = percentile_interval(reps, 0.9)
    assert (lo, hi) == pytest.approx((0.05, 0.95))
    lo3, hi3 = percentile_interval(reps, 0.9, n_units=3)
    assert lo3 < lo and hi3 > hi
    assert np.isnan(percentile_interval(np.array([0.0, np.nan, 1.0]), 0.9)[0])
    with pytest.raises(CgbenchError):
        percentile_interval(reps, 1.0)
