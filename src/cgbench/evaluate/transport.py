r"""Distances between distributions of log bead-force magnitudes, with block-bootstrap replicates.

Why :math:`\log_{10}|F|`
------------------------
Steric clashes in backmapped structures push bead forces orders of magnitude beyond anything the
reference holds. A divergence of histograms on the reference's range saturates there: once most
forces fall beyond the last bin, the Jensen-Shannon divergence sits at ln 2 whether they lie 10 or
10\ :sup:`6` times beyond. On a logarithmic axis the same sets stay apart, and a transport
distance grows with how far beyond they lie. All values here are in decades of kJ/mol/nm.

Definitions
-----------
For the finite values :math:`u` of a test set and :math:`v` of the reference, with empirical
distribution functions :math:`U`, :math:`V`:

* Wasserstein-1, :math:`W_1 = \int |U(x) - V(x)|\,dx` (decades),
  :func:`scipy.stats.wasserstein_distance`: the mean shift needed to turn one into the other.
* Energy distance, :math:`D = (2\,E|X-Y| - E|X-X'| - E|Y-Y'|)^{1/2}
  = (2 \int (U - V)^2 dx)^{1/2}` (decades\ :sup:`1/2`), :func:`scipy.stats.energy_distance`:
  weighs the bulk more and the far tail less than :math:`W_1`.
* Quantile shifts :math:`q_p(u) - q_p(v)` at :data:`QUANTILES` (decades).
* Clash spectrum: the fraction of a set's bead forces above :math:`k\,F_{0.999}` for
  :math:`k` in :data:`CLASH_MULTIPLES`, with :math:`F_{0.999}` the reference's 99.9 % quantile;
  non-finite forces count as above every :math:`k`.

Non-finite forces (atoms on top of each other) have no place on the axis: the distances and
quantiles use the finite ones, and the non-finite ones are counted beside them (and enter the
clash spectrum). Magnitudes below :data:`FLOOR_KJ_MOL_NM` are raised to it, so a zero force does
not become :math:`-\infty`.

Bootstrap replicates
--------------------
Point estimates come from scipy on the raw values (on the cells below for sets of more than
:data:`EXACT_MAX` values). Replicates resample frames in blocks
(:mod:`cgbench.evaluate.resampling`), the reference with one stream shared by every test set, so
replicate :math:`b` of every set is measured against the same reference replicate and
differences between sets are paired. To keep a thousand replicates of millions of values
affordable, each replicate calls scipy on a histogram: values on cells of :data:`RESOLUTION`
decades (cell centres as values, counts as weights). Moving every value by at most half a cell
changes :math:`W_1` by at most one cell width; the differences that decide a ranking are computed
on the same cells for both sets.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.stats import energy_distance, wasserstein_distance

from cgbench.core.errors import CgbenchError
from cgbench.evaluate.resampling import block_length, block_weights, stream

__all__ = [
    "QUANTILES",
    "CLASH_MULTIPLES",
    "MEASURES",
    "log_magnitudes",
    "transport_distances",
    "quantile_shifts",
    "clash_spectrum",
    "SetDistances",
    "replicate_distances",
    "bootstrap_distances",
]

#: Quantiles whose shifts are reported.
QUANTILES = (0.5, 0.9, 0.99)
#: Multiples of the reference's 99.9 % quantile at which the clash spectrum counts forces.
CLASH_MULTIPLES = (1.0, 10.0, 100.0)
#: The headline distances: both must agree before a ranking step is resolved.
MEASURES = ("w1", "energy")
#: Smallest magnitude taken at face value, kJ/mol/nm.
FLOOR_KJ_MOL_NM = 1e-6
#: Cell width of the replicates' histograms, decades.
RESOLUTION = 1e-3
#: Point estimates come from the values themselves up to this many (test plus reference), from
#: cells of :data:`RESOLUTION` beyond (the study's scale: 4e7 reference values per bead group).
EXACT_MAX = 4_000_000
#: Replicates held in memory at once.
_CHUNK = 64


def log_magnitudes(magnitudes, nonfinite_above=np.inf):
    """:math:`\\log_{10}|F|` of bead forces, NaN where a force is not finite.

    Parameters
    ----------
    magnitudes : array_like, shape (n_frames, n_beads), kJ/mol/nm
        :func:`cgbench.evaluate.forces.force_magnitudes`.
    nonfinite_above : float, kJ/mol/nm
        Magnitudes at or above this count as non-finite too: the marker a caller gave forces that
        came out non-finite (e.g. :data:`cgbench.evaluate.reduction.CLASH_FORCE`).

    Returns
    -------
    ndarray, shape (n_frames, n_beads), decades of kJ/mol/nm
    """
    m = np.asarray(magnitudes, dtype=float)
    if m.ndim == 1:
        m = m[None]
    if m.ndim != 2:
        raise CgbenchError(f"magnitudes must have shape (n_frames, n_beads), got {m.shape}")
    if np.any(m < 0):
        raise CgbenchError("force magnitudes cannot be negative")
    bad = ~np.isfinite(m) | (m >= nonfinite_above)
    out = np.log10(np.maximum(np.where(bad, 1.0, m), FLOOR_KJ_MOL_NM))
    out[bad] = np.nan
    return out


def _finite(values):
    v = np.asarray(values, dtype=float).ravel()
    return v[np.isfinite(v)]


def transport_distances(test, reference, resolution=None):
    """Wasserstein-1 and energy distance between the finite values of two sets (scipy).

    Parameters
    ----------
    test, reference : array_like, any shape, decades
        :func:`log_magnitudes`; NaN values are left out.
    resolution : float, optional, decades
        Measure histograms on cells of this width (cell centres weighted by counts) instead of
        the values themselves: for sets of many millions of values, where sorting them all for
        every distance would dominate the run. ``None``: the values, exactly.

    Returns
    -------
    dict
        ``w1`` (decades) and ``energy`` (decades^(1/2)); NaN when a set has no finite value.
    """
    u, v = _finite(test), _finite(reference)
    if u.size == 0 or v.size == 0:
        return {"w1": np.nan, "energy": np.nan}
    if resolution is None:
        return {"w1": float(wasserstein_distance(u, v)), "energy": float(energy_distance(u, v))}
    cells, count = np.unique(np.floor(np.concatenate([u, v]) / resolution).astype(np.int64), return_inverse=True)
    wu = np.bincount(count[: u.size], minlength=cells.size).astype(float)
    wv = np.bincount(count[u.size:], minlength=cells.size).astype(float)
    x = (cells + 0.5) * resolution
    return {"w1": float(wasserstein_distance(x, x, wu, wv)), "energy": float(energy_distance(x, x, wu, wv))}


def quantile_shifts(test, reference, quantiles=QUANTILES):
    """:math:`q_p(\\mathrm{test}) - q_p(\\mathrm{reference})` of the finite values.

    Parameters
    ----------
    test, reference : array_like, any shape, decades
    quantiles : sequence of float in [0, 1]

    Returns
    -------
    ndarray, shape (len(quantiles),), decades
        NaN when a set has no finite value.
    """
    u, v = _finite(test), _finite(reference)
    if u.size == 0 or v.size == 0:
        return np.full(len(quantiles), np.nan)
    return np.quantile(u, quantiles) - np.quantile(v, quantiles)


def clash_spectrum(values, upper, multiples=CLASH_MULTIPLES):
    """Fraction of bead forces above ``k * upper`` for each ``k``; non-finite ones count as above all.

    Parameters
    ----------
    values : array_like, any shape, decades
        :func:`log_magnitudes` (NaN = non-finite).
    upper : float, kJ/mol/nm
        The reference's 99.9 % quantile of the magnitudes.
    multiples : sequence of float

    Returns
    -------
    ndarray, shape (len(multiples),)
    """
    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0 or not upper > 0:
        raise CgbenchError("need values and a positive upper force")
    limits = np.log10(float(upper) * np.asarray(multiples, dtype=float))
    above = np.isnan(v)[:, None] | (v[:, None] > limits)
    return above.mean(axis=0)


@dataclass
class SetDistances:
    """Distances of one set to the reference, with their bootstrap replicates.

    Attributes
    ----------
    w1 : float
        Wasserstein-1 of the finite :math:`\\log_{10}|F|`, decades.
    energy : float
        Energy distance, decades^(1/2).
    quantile_shift : ndarray, shape (len(QUANTILES),), decades
    clash : ndarray, shape (len(CLASH_MULTIPLES),)
        Clash spectrum.
    n_frames : int
    n_finite, n_nonfinite : int
        Bead forces on and off the axis.
    block : int
        Frames per bootstrap block of this set.
    replicates : dict of str -> ndarray, shape (n_boot,)
        ``w1`` and ``energy`` of each replicate, against the matching replicate of the reference.
    """

    w1: float
    energy: float
    quantile_shift: np.ndarray
    clash: np.ndarray
    n_frames: int
    n_finite: int
    n_nonfinite: int
    block: int
    replicates: dict = field(default_factory=dict)

    @property
    def n_blocks(self):
        """Blocks per replicate: the independent units behind this set's intervals."""
        return -(-int(self.n_frames) // int(self.block))

    def point(self, measure):
        """The point estimate of ``measure`` (one of :data:`MEASURES`)."""
        return float(getattr(self, measure))


def _values(x, name):
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[0] < 1:
        raise CgbenchError(f"{name}: log magnitudes must have shape (n_frames, n_beads), got {x.shape}")
    return x


def _cells(values, resolution):
    """Frame index and cell index of every finite value."""
    frame, bead = np.nonzero(np.isfinite(values))
    return frame, np.floor(values[frame, bead] / resolution).astype(np.int64)


def _per_frame(frame, column, n_frames, n_cells):
    """(n_frames, n_cells) sparse counts: one row per frame, the histogram of that frame."""
    return sparse.csr_array((np.ones(frame.size), (frame, column)), shape=(n_frames, n_cells))


def replicate_distances(reference, tests, n_boot=1000, seed=0, block_factor=1.0, resolution=RESOLUTION):
    """W1 and energy distance of block-bootstrap replicates of each test set to the reference.

    Parameters
    ----------
    reference : ndarray, shape (n_frames_ref, n_beads), decades
        :func:`log_magnitudes` of the reference.
    tests : dict of str -> ndarray, shape (n_frames, n_beads'), decades
        Each test set; the key names its random stream.
    n_boot : int
    seed : int
        The reference's draws depend on it alone, each test set's on it and the set's name.
    block_factor : float
        Multiplies each set's default block length (:func:`cgbench.evaluate.resampling.block_length`).
    resolution : float, decades
        Cell width of the histograms the replicates are measured on.

    Returns
    -------
    replicates : dict of str -> dict of str -> ndarray, shape (n_boot,)
        ``w1`` and ``energy`` per set; NaN for a replicate with no finite value on either side.
    blocks : dict of str -> int
        Frames per block of each set, ``"reference"`` included.
    """
    ref = _values(reference, "reference")
    n_boot = int(n_boot)
    if n_boot < 1 or not resolution > 0:
        raise CgbenchError(f"need n_boot >= 1 and resolution > 0, got {n_boot} and {resolution}")
    blocks = {"reference": block_length(ref.shape[0], block_factor)}
    w_ref = block_weights(ref.shape[0], n_boot, blocks["reference"], stream(seed, "reference"))
    ref_frame, ref_cell = _cells(ref, resolution)
    ref_cells, ref_col = np.unique(ref_cell, return_inverse=True)
    # the reference's replicate histograms, once: (n_boot, n_ref_cells)
    h_ref_all = np.asarray(_per_frame(ref_frame, ref_col, ref.shape[0], ref_cells.size).T @ w_ref.T, dtype=float).T
    out = {}
    for name, test in tests.items():
        t = _values(test, name)
        blocks[name] = block_length(t.shape[0], block_factor)
        w_t = block_weights(t.shape[0], n_boot, blocks[name], stream(seed, name))
        t_frame, t_cell = _cells(t, resolution)
        t_cells, t_col = np.unique(t_cell, return_inverse=True)
        h_t_all = np.asarray(_per_frame(t_frame, t_col, t.shape[0], t_cells.size).T @ w_t.T, dtype=float).T
        # both on the cells either of them occupies
        cells = np.union1d(ref_cells, t_cells)
        at_ref, at_t = np.searchsorted(cells, ref_cells), np.searchsorted(cells, t_cells)
        x = (cells + 0.5) * resolution
        reps = {m: np.full(n_boot, np.nan) for m in MEASURES}
        for start in range(0, n_boot, _CHUNK):
            sl = slice(start, min(start + _CHUNK, n_boot))
            h_ref = np.zeros((sl.stop - sl.start, cells.size))
            h_ref[:, at_ref] = h_ref_all[sl]
            h_t = np.zeros_like(h_ref)
            h_t[:, at_t] = h_t_all[sl]
            for b, (hr, ht) in enumerate(zip(h_ref, h_t), start=start):
                if hr.sum() > 0 and ht.sum() > 0:
                    reps["w1"][b] = wasserstein_distance(x, x, ht, hr)
                    reps["energy"][b] = energy_distance(x, x, ht, hr)
        out[name] = reps
    return out, blocks


def bootstrap_distances(reference, tests, upper, n_boot=1000, seed=0, block_factor=1.0, resolution=RESOLUTION):
    """Distances of several test sets to one reference, with paired block-bootstrap replicates.

    Parameters
    ----------
    reference : ndarray, shape (n_frames_ref, n_beads), decades
        :func:`log_magnitudes` of the reference.
    tests : dict of str -> ndarray, shape (n_frames, n_beads'), decades
    upper : float, kJ/mol/nm
        The reference's 99.9 % quantile of the magnitudes (the clash spectrum's unit).
    n_boot, seed, block_factor, resolution
        As :func:`replicate_distances`.

    Returns
    -------
    dict of str -> SetDistances
    """
    ref = _values(reference, "reference")
    reps, blocks = replicate_distances(ref, tests, n_boot, seed, block_factor, resolution)
    out = {}
    for name, test in tests.items():
        t = _values(test, name)
        exact = t.size + ref.size <= EXACT_MAX
        d = transport_distances(t, ref, None if exact else resolution)
        n_finite = int(np.isfinite(t).sum())
        out[name] = SetDistances(d["w1"], d["energy"], quantile_shifts(t, ref), clash_spectrum(t, upper), t.shape[0],
                                 n_finite, t.size - n_finite, blocks[name], reps[name])
    return out
