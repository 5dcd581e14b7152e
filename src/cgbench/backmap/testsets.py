"""Which frames a test set holds: the held-out part of the AA run, frames spread evenly over a run.

Training (DBM) and the test sets of the evaluation draw on the same AA run; both take the boundary
between trained-on and held-out frames from :func:`held_out_start`, so no test frame is trained on.
"""

import numpy as np

from ..core.errors import InputError

__all__ = ["held_out_start", "spread"]


def held_out_start(n_frames, train_fraction):
    """First frame index of the held-out part of an AA run of ``n_frames`` frames."""
    return min(n_frames - 1, int(np.ceil(train_fraction * n_frames)))


def spread(n_total, n_wanted, start=0):
    """``n_wanted`` frame indices spread evenly over ``range(start, n_total)``.

    Returns
    -------
    ndarray of int, shape (min(n_wanted, n_total - start),) at most
        Sorted, without repeats.
    """
    n = n_total - start
    if n < 1:
        raise InputError(f"no frames between {start} and {n_total}")
    return np.unique(np.linspace(start, n_total - 1, min(n_wanted, n)).round().astype(int))
