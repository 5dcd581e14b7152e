r"""Block bootstrap over frames: resampling weights, block lengths and percentile intervals.

Frames of one trajectory are correlated, and the beads of one frame more so, so the unit of
resampling is a block of consecutive frames. A replicate is a *circular block bootstrap*
(Politis & Romano 1992): :math:`\lceil n/L \rceil` blocks of :math:`L` consecutive frames, each
starting at a frame drawn uniformly and wrapping around the end, strung together and cut to
:math:`n` frames. The block length defaults to

.. math:: L = \max\big(1, \operatorname{round}(n^{1/3})\big),

the order of length that is optimal for bootstrap estimates of variance and distribution
(Hall, Horowitz & Jing 1995): 5 frames for 100, 13 for 2000, 1 (the plain bootstrap) for 3 or
fewer, and never more than half the frames. :func:`block_length` takes a factor so that callers
can check that their intervals do not depend on this choice
(:func:`cgbench.evaluate.ranking.block_sensitivity`).

A replicate is returned as weights, how often each frame was drawn, so a statistic of per-frame
histograms of a replicate is one product ``weights @ counts`` and never a copy of the frames.
Percentile intervals of a bootstrap are too narrow when the independent units are few: the
bootstrap variance of a mean is :math:`(n-1)/n` of the true one, and its quantiles are normal where
Student's t would be right. :func:`percentile_interval` therefore reads the replicates' quantiles
at an *expanded* coverage (Hesterberg 2015, "What teachers should know about the bootstrap"):

.. math:: z' = \sqrt{n/(n-1)}\; t_{n-1,\,(1+\mathrm{level})/2},\qquad
          \mathrm{level}' = 2\Phi(z') - 1,

with :math:`n` the number of blocks, the independent units of a block bootstrap. With 20 blocks
a 95 % interval reads the 2.2 % and 97.8 % quantiles; with 3, nearly the extremes; with one, the
extremes.

Each resampled set draws from its own random stream, fixed by the seed and the set's name
(:func:`stream`): adding a set changes no other set's draws, and replicates of different sets
made with one seed share the reference's draws, replicate by replicate (paired differences).
"""

import zlib

import numpy as np

from cgbench.core.errors import CgbenchError

__all__ = ["stream", "block_length", "block_weights", "expanded_level", "percentile_interval"]


def stream(seed, key):
    """The random generator of one resampled set: a function of ``seed`` and the set's name ``key``."""
    return np.random.default_rng([int(seed), zlib.crc32(str(key).encode())])


def block_length(n_frames, factor=1.0):
    """Frames per block, :math:`\\max(1, \\mathrm{round}(f\\,n^{1/3}))`, at most half the frames.

    A block as long as the set would make every replicate the whole set again, with no
    variability left; at most ``n_frames // 2`` keeps at least two blocks per replicate.

    Parameters
    ----------
    n_frames : int
    factor : float
        Multiplies the default length (0.5 and 2 for the stability check).

    Returns
    -------
    int
    """
    n = int(n_frames)
    if n < 1 or not factor > 0:
        raise CgbenchError(f"need n_frames >= 1 and factor > 0, got {n_frames} and {factor}")
    return int(min(max(1, n // 2), max(1, round(factor * n ** (1.0 / 3.0)))))


def block_weights(n_frames, n_boot, length, rng):
    """How often each frame is drawn in each circular-block-bootstrap replicate.

    Parameters
    ----------
    n_frames : int
    n_boot : int
        Replicates.
    length : int
        Frames per block (:func:`block_length`); 1 is the ordinary bootstrap over frames.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int, shape (n_boot, n_frames)
        Every row sums to ``n_frames``.
    """
    n, n_boot, length = int(n_frames), int(n_boot), int(length)
    if n < 1 or n_boot < 1 or not 1 <= length <= n:
        raise CgbenchError(f"need n_frames >= 1, n_boot >= 1 and 1 <= length <= n_frames, got {n}, {n_boot}, {length}")
    n_blocks = -(-n // length)
    starts = rng.integers(0, n, size=(n_boot, n_blocks))
    frames = ((starts[:, :, None] + np.arange(length)) % n).reshape(n_boot, -1)[:, :n]
    # one bincount over all replicates: replicate b's frames are offset by b * n
    flat = (frames + n * np.arange(n_boot)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n)


def expanded_level(level, n_units):
    """Coverage at which to read bootstrap percentiles for about ``level`` coverage with ``n_units`` units.

    Parameters
    ----------
    level : float in (0, 1)
    n_units : int
        Independent resampling units (blocks); below 2 the result is 1 (the replicates' range).

    Returns
    -------
    float in [level, 1]
    """
    from scipy.stats import norm, t

    n = int(n_units)
    if n < 2:
        return 1.0
    z = np.sqrt(n / (n - 1.0)) * t.ppf(0.5 * (1.0 + level), n - 1)
    return float(max(level, 2.0 * norm.cdf(z) - 1.0))


def percentile_interval(replicates, level, n_units=None, axis=0):
    """Percentile interval of bootstrap replicates, expanded for few units; NaN where any replicate is NaN.

    Parameters
    ----------
    replicates : ndarray, shape (n_boot, ...)
    level : float in (0, 1)
        Coverage, e.g. 0.95.
    n_units : int, optional
        Independent units behind the replicates (blocks of the sparsest set compared): the
        quantiles are read at :func:`expanded_level`. ``None`` reads them at ``level`` itself.
    axis : int

    Returns
    -------
    lo, hi : float or ndarray
    """
    if not 0.0 < level < 1.0:
        raise CgbenchError(f"level must lie in (0, 1), got {level}")
    cover = level if n_units is None else expanded_level(level, n_units)
    a = 0.5 * (1.0 - cover)
    # np.quantile propagates NaN: a replicate that could not be computed leaves no interval
    lo, hi = np.quantile(np.asarray(replicates, dtype=float), [a, 1.0 - a], axis=axis)
    return (float(lo), float(hi)) if np.ndim(lo) == 0 else (lo, hi)
