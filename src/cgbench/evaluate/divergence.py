r"""Jensen-Shannon divergence of force distributions to the reference, with bootstrap intervals (Table 2).

Kept to compare with the study; never used to rank. JS is bounded by ln 2 and reaches it as soon
as two histograms stop overlapping, so sets whose forces mostly fall in the overflow bin all come
out near ln 2 however far beyond it they lie (:func:`js_saturated` flags them). Rankings rest on
transport distances of log force magnitudes (:mod:`cgbench.evaluate.transport`,
:mod:`cgbench.evaluate.ranking`).

Definition used here
--------------------
For two histograms on the same bins, normalised to probabilities :math:`p_k`, :math:`q_k`,

.. math::
    \mathrm{JS}(p, q) = \tfrac12 \sum_k p_k \ln\frac{p_k}{m_k} + \tfrac12 \sum_k q_k \ln\frac{q_k}{m_k},
    \qquad m_k = \tfrac12 (p_k + q_k),

with natural logarithms (nats) and :math:`0 \ln 0 = 0`. It is symmetric, 0 only for equal
histograms and at most :math:`\ln 2 \approx 0.693` (histograms with no bin in common).

The study's Table 2 reports values up to 4.94, above :math:`\ln 2` (and above 1, the bound in
bits), so the study cannot have used this bounded divergence; its exact definition is not stated.
Values from cgbench are the standard JS divergence above and are comparable with the study's only
in their ordering, not in size. The binning is that of
:func:`cgbench.evaluate.forces.force_bin_edges`: equal bins up to the reference's 99.9th
percentile plus one overflow bin, the same edges for the reference and every test set.

Uncertainty
-----------
Frames are the resampling unit (beads of one frame are correlated): a bootstrap replicate draws
``n_frames`` frames with replacement from the reference and, independently, from the test set,
sums their per-frame histograms and recomputes JS. The interval is the percentile interval of the
replicates. The plug-in JS of finite samples is biased upwards (sampling noise alone makes two
histograms of one distribution differ), and the replicates carry that bias too; for sets that
really differ it is small against the spread, for near-identical sets the interval can lie above
the point estimate. :class:`BootstrapJS` keeps the replicates' mean so the bias can be seen.
The reference's resampling depends only on ``seed`` (not on the test set), so replicates of
different test sets made with one seed are paired, replicate by replicate, through a common
reference resample.
"""

from dataclasses import dataclass

import numpy as np

from cgbench.geometry.distributions import js_divergence
from cgbench.core.errors import CgbenchError
from cgbench.evaluate.resampling import stream

__all__ = ["SATURATION", "js_divergence", "js_saturated", "BootstrapJS", "bootstrap_js", "bootstrap_js_many"]

#: JS at or above this fraction of its bound ln 2 is flagged as saturated.
SATURATION = 0.95


def js_saturated(js, fraction=SATURATION):
    """Whether JS values lie so close to their bound ln 2 that they no longer tell sets apart.

    Parameters
    ----------
    js : float or array_like, nats
    fraction : float in (0, 1]
        Flag values at or above ``fraction * ln 2``.

    Returns
    -------
    bool or ndarray of bool
    """
    out = np.asarray(js, dtype=float) >= fraction * np.log(2.0)
    return bool(out) if out.ndim == 0 else out


@dataclass
class BootstrapJS:
    """JS divergence of a test set to the reference with its bootstrap interval.

    Attributes
    ----------
    js : float
        Point estimate from all frames, nats.
    lo, hi : float
        Percentile interval at ``level``, nats.
    level : float
    replicates : ndarray, shape (n_boot,)
        JS of each bootstrap replicate, nats.
    n_frames_reference, n_frames_test : int
    """

    js: float
    lo: float
    hi: float
    level: float
    replicates: np.ndarray
    n_frames_reference: int
    n_frames_test: int

    @property
    def replicate_mean(self):
        """Mean of the replicates; ``replicate_mean - js`` estimates the plug-in bias."""
        return float(self.replicates.mean())


def _counts(c, name):
    c = np.asarray(c, dtype=float)
    if c.ndim != 2 or c.shape[0] < 1:
        raise CgbenchError(f"{name}: per-frame counts must have shape (n_frames, n_bins), got {c.shape}")
    if np.any(c < 0) or not np.isfinite(c).all():
        raise CgbenchError(f"{name}: counts must be finite and non-negative")
    return c


def _resampled(counts, n_boot, rng):
    """(n_boot, n_bins) histograms of frames drawn with replacement."""
    n = counts.shape[0]
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)
    return weights @ counts


def _interval(reps, level):
    a = 0.5 * (1.0 - level)
    lo, hi = np.quantile(reps, [a, 1.0 - a])
    return float(lo), float(hi)


def bootstrap_js_many(reference_counts, test_counts, n_boot=1000, level=0.95, seed=0, resample_reference=True):
    """JS divergence of several test sets to one reference, with paired bootstrap intervals.

    Parameters
    ----------
    reference_counts : ndarray, shape (n_frames_ref, n_bins)
        Per-frame histograms of the reference,
        :func:`cgbench.evaluate.forces.force_histograms`.
    test_counts : dict of str -> ndarray, shape (n_frames_test, n_bins)
        Per-frame histograms of each test set on the same edges.
    n_boot : int
        Bootstrap replicates.
    level : float in (0, 1)
        Confidence level of the percentile interval.
    seed : int
        Seed; the reference's resamples depend on it alone, each test set's on it and the set's name.
    resample_reference : bool
        Also resample the reference's frames (it is a finite sample too). ``False`` treats it as exact.

    Returns
    -------
    dict of str -> BootstrapJS
    """
    ref = _counts(reference_counts, "reference")
    if not 0.0 < level < 1.0 or int(n_boot) < 1:
        raise CgbenchError(f"need 0 < level < 1 and n_boot >= 1, got {level}, {n_boot}")
    n_boot = int(n_boot)
    ref_total = ref.sum(axis=0)
    if resample_reference:
        ref_boot = _resampled(ref, n_boot, stream(seed, "reference"))
    else:
        ref_boot = np.broadcast_to(ref_total, (n_boot, ref.shape[1]))
    out = {}
    for name, counts in test_counts.items():
        c = _counts(counts, name)
        if c.shape[1] != ref.shape[1]:
            raise CgbenchError(f"{name}: {c.shape[1]} bins, the reference has {ref.shape[1]}: use shared edges")
        reps = js_divergence(ref_boot, _resampled(c, n_boot, stream(seed, name)), axis=-1)
        lo, hi = _interval(reps, level)
        point = js_divergence(ref_total, c.sum(axis=0))
        out[name] = BootstrapJS(point, lo, hi, float(level), np.atleast_1d(reps), ref.shape[0], c.shape[0])
    return out


def bootstrap_js(reference_counts, test_counts, n_boot=1000, level=0.95, seed=0, resample_reference=True):
    """JS divergence of one test set to the reference with a bootstrap percentile interval.

    Parameters and resampling as :func:`bootstrap_js_many`; ``test_counts`` is one
    (n_frames_test, n_bins) array.

    Returns
    -------
    BootstrapJS
    """
    return bootstrap_js_many(reference_counts, {"test": test_counts}, n_boot, level, seed,
                             resample_reference)["test"]
