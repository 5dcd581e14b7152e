"""AA forces projected to the CG resolution, and their magnitude distributions (study Eq. 6, Fig. 5).

Two projections are offered and the caller chooses (:func:`project_forces`):

``"mean"``
    Eq. 6 as the study prints it, :math:`F_I = |\\Psi_I|^{-1} \\sum_{i \\in \\Psi_I} f_i`: the mean
    atomic force of the bead. Used for the force distributions (Fig. 5) and their Jensen-Shannon
    divergences (Table 2), to follow the study.
``"net"``
    :math:`F_I = \\sum_{i \\in \\Psi_I} f_i`, the net force on the bead: what a CG force field
    predicts, hence what the force-matching functionals (Eqs. 7-8) compare.

Binning of force magnitudes (:func:`force_bin_edges`) is shared: the edges are computed once from
the reference and used for the reference and for every test set, so their histograms are on the
same bins and a new test set never moves them.
"""

import numpy as np

from cgbench.core.errors import CgbenchError
from cgbench.molecule.mapping import map_forces

__all__ = [
    "PROJECTIONS",
    "project_forces",
    "force_magnitudes",
    "force_bin_edges",
    "force_histograms",
    "force_density",
]

PROJECTIONS = ("mean", "net")


def project_forces(f, membership, kind="mean"):
    r"""Bead forces from atom forces, Eq. 6 (``"mean"``) or the net force (``"net"``).

    .. math::
        F^\mathrm{mean}_I = \frac{1}{|\Psi_I|} \sum_{i \in \Psi_I} f_i \quad \text{(Eq. 6)},\qquad
        F^\mathrm{net}_I = \sum_{i \in \Psi_I} f_i

    Parameters
    ----------
    f : ndarray, shape (..., n_molecules * n_atoms, 3), kJ/mol/nm
        Atom forces, molecule after molecule.
    membership : ndarray, shape (n_beads, n_atoms)
        0/1 matrix of one molecule, :meth:`cgbench.molecule.mapping.Mapping.membership`.
    kind : {"mean", "net"}

    Returns
    -------
    ndarray, shape (..., n_molecules * n_beads, 3), kJ/mol/nm
    """
    if kind not in PROJECTIONS:
        raise CgbenchError(f"force projection must be one of {PROJECTIONS}, got {kind!r}")
    f = np.asarray(f, dtype=float)
    n_atoms = np.shape(membership)[1]
    if f.ndim < 2 or f.shape[-1] != 3 or f.shape[-2] % n_atoms:
        raise CgbenchError(
            f"forces of shape {f.shape} are not (..., n_molecules * {n_atoms}, 3) for this mapping"
        )
    return map_forces(f, np.asarray(membership, dtype=float), mean=(kind == "mean"))


def force_magnitudes(f):
    """|F| of every bead.

    Parameters
    ----------
    f : ndarray, shape (n_frames, n_beads, 3), kJ/mol/nm

    Returns
    -------
    ndarray, shape (n_frames, n_beads), kJ/mol/nm
    """
    return np.linalg.norm(np.asarray(f, dtype=float), axis=-1)


def force_bin_edges(reference, n_bins=100, upper=None, quantile=0.999):
    """Shared bin edges for force magnitudes: ``n_bins`` equal bins on [0, upper) and an overflow bin.

    The edges are ``[0, w, 2w, ..., upper, inf]`` with ``w = upper / n_bins``: ``n_bins + 1`` bins,
    the last one collecting every magnitude at or above ``upper``. ``upper`` defaults to the
    ``quantile`` of the *reference* magnitudes (0.999: the reference puts about 0.1 % of its beads
    in the overflow bin). The overflow bin is what keeps the long tails of clashing test sets in
    the comparison: without it they would fall outside the histogram and be ignored, and
    stretching equal bins to the largest test force would squeeze the reference into a few bins.
    Computing the edges from the reference alone keeps every test set's divergence on the same
    bins, however many sets are added later.

    Parameters
    ----------
    reference : array_like, any shape, kJ/mol/nm
        Reference force magnitudes (:func:`force_magnitudes` of the AA reference).
    n_bins : int
        Equal-width bins below ``upper``.
    upper : float, optional, kJ/mol/nm
        Start of the overflow bin; overrides ``quantile``.
    quantile : float in (0, 1]

    Returns
    -------
    ndarray, shape (n_bins + 2,), kJ/mol/nm
        Edges; the last is ``inf``.
    """
    if int(n_bins) < 1:
        raise CgbenchError(f"n_bins must be >= 1, got {n_bins}")
    if upper is None:
        ref = np.asarray(reference, dtype=float).ravel()
        if ref.size == 0 or not np.isfinite(ref).all():
            raise CgbenchError("reference force magnitudes must be finite and not empty")
        if not 0.0 < quantile <= 1.0:
            raise CgbenchError(f"quantile must lie in (0, 1], got {quantile}")
        upper = float(np.quantile(ref, quantile))
    if not np.isfinite(upper) or upper <= 0:
        raise CgbenchError(f"the upper edge must be positive and finite, got {upper} kJ/mol/nm")
    return np.append(np.linspace(0.0, float(upper), int(n_bins) + 1), np.inf)


def force_histograms(magnitudes, edges):
    """Counts of force magnitudes per frame on shared edges.

    Per-frame counts are what the bootstrap over frames resamples
    (:func:`cgbench.evaluate.divergence.bootstrap_js`); their sum over frames is the histogram of
    the whole set. Bins are closed on the left, [lo, hi).

    Parameters
    ----------
    magnitudes : ndarray, shape (n_frames, n_beads), kJ/mol/nm
    edges : ndarray, shape (n_bins + 2,), kJ/mol/nm
        From :func:`force_bin_edges` (starts at 0, ends with inf). Infinite magnitudes count in the
        last bin.

    Returns
    -------
    ndarray of int, shape (n_frames, n_bins + 1)
    """
    m = np.asarray(magnitudes, dtype=float)
    if m.ndim == 1:
        m = m[None]
    if m.ndim != 2:
        raise CgbenchError(f"magnitudes must have shape (n_frames, n_beads), got {m.shape}")
    edges = np.asarray(edges, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise CgbenchError("edges must be a strictly increasing 1-D array")
    if np.isnan(m).any() or np.any(m < edges[0]):
        raise CgbenchError(f"force magnitudes must be numbers no smaller than {edges[0]}")
    k = edges.size - 1
    # an infinite force (atoms on top of each other) belongs to the last, open-ended bin
    idx = np.minimum(np.searchsorted(edges, m, side="right") - 1, k - 1)
    frame = np.arange(m.shape[0])[:, None]
    return np.bincount((frame * k + idx).ravel(), minlength=m.shape[0] * k).reshape(m.shape[0], k)


def force_density(counts, edges):
    """Probability density of force magnitudes on the finite bins, for plotting (Fig. 5).

    Parameters
    ----------
    counts : ndarray of int, shape (n_frames, n_bins + 1) or (n_bins + 1,)
        :func:`force_histograms` output (summed over frames here).
    edges : ndarray, shape (n_bins + 2,), kJ/mol/nm

    Returns
    -------
    centres : ndarray, shape (n_bins,), kJ/mol/nm
    density : ndarray, shape (n_bins,), 1/(kJ/mol/nm)
        Normalised over *all* samples, overflow included, so it integrates to
        ``1 - overflow``.
    overflow : float
        Fraction of samples at or above ``edges[-2]``.
    """
    c = np.asarray(counts, dtype=float)
    if c.ndim == 2:
        c = c.sum(axis=0)
    edges = np.asarray(edges, dtype=float)
    if c.shape != (edges.size - 1,):
        raise CgbenchError(f"counts have {c.size} bins, edges make {edges.size - 1}")
    if not np.isposinf(edges[-1]):
        raise CgbenchError("edges must end with the overflow bin's inf (see force_bin_edges)")
    total = c.sum()
    if total <= 0:
        raise CgbenchError("no samples to make a density from")
    finite = edges[:-1]
    width = np.diff(finite)
    return 0.5 * (finite[1:] + finite[:-1]), c[:-1] / (total * width), float(c[-1] / total)
