"""Structural distributions of coarse-grained (CG) beads: bonded coordinates, histograms, RDFs, JS divergence.

Everything here works on arrays in GROMACS units: positions and boxes in nm, angles in radians.
Boxes are orthorhombic, given per frame as their three edge lengths, and every distance is taken
with the minimum-image convention.

The histograms carry the Jacobians of direct Boltzmann inversion (study, text before Eq. 3 and
after it): :math:`P_r(r) = H_r(r) / 4\\pi r^2`,
:math:`P_\\theta(\\theta) = H_\\theta(\\theta) / \\sin\\theta`, :math:`P_\\phi(\\phi) = H_\\phi(\\phi)`.
"""

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import rel_entr

from cgbench.core.errors import CgbenchError
from cgbench.geometry.pbc import minimum_image

__all__ = [
    "as_frames",
    "bond_lengths",
    "angles",
    "dihedrals",
    "histogram",
    "density_from_counts",
    "bonded_exclusions",
    "rdf",
    "RDF",
    "js_divergence",
]

_KINDS = ("bond", "angle", "dihedral")


def as_frames(x, box):
    """Positions as (n_frames, n, 3) and boxes as (n_frames, 3), nm, checked (orthorhombic only)."""
    x = np.asarray(x, dtype=float)
    box = np.asarray(box, dtype=float)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[-1] != 3:
        raise CgbenchError(f"positions must have shape (n_frames, n_beads, 3), got {x.shape}")
    if box.ndim == 1:
        box = np.broadcast_to(box, (x.shape[0], 3))
    if box.shape != (x.shape[0], 3):
        raise CgbenchError(f"box must have shape (n_frames, 3) = ({x.shape[0]}, 3), got {box.shape}")
    if np.any(box <= 0):
        raise CgbenchError("box lengths must be positive (orthorhombic boxes only)")
    return x, box


def _index(idx, width, n_beads):
    idx = np.asarray(idx)
    if idx.ndim != 2 or idx.shape[1] != width or not np.issubdtype(idx.dtype, np.integer):
        raise CgbenchError(
            f"index array must be integer with shape (n, {width}), got {idx.dtype} {idx.shape}"
        )
    if idx.size and (idx.min() < 0 or idx.max() >= n_beads):
        raise CgbenchError(f"bead index out of range 0..{n_beads - 1}")
    return idx


def _vec(x, box, i, j):
    return minimum_image(x[:, j] - x[:, i], np.asarray(box, dtype=float)[:, None, :])


def bond_lengths(x, box, idx):
    """Bond lengths, minimum image.

    Parameters
    ----------
    x : ndarray, shape (n_frames, n_beads, 3), nm
        Bead positions.
    box : ndarray, shape (n_frames, 3), nm
        Orthorhombic box lengths.
    idx : ndarray of int, shape (n_bonds, 2)
        Bead indices of each bond.

    Returns
    -------
    ndarray, shape (n_frames, n_bonds), nm
    """
    x, box = as_frames(x, box)
    idx = _index(idx, 2, x.shape[1])
    return np.linalg.norm(_vec(x, box, idx[:, 0], idx[:, 1]), axis=-1)


def angles(x, box, idx3):
    """Bond angles i-j-k, vertex at j, minimum image.

    The angle is taken as ``atan2(|u x v|, u . v)``, which stays accurate near 0 and pi where
    ``arccos`` loses digits.

    Parameters
    ----------
    x : ndarray, shape (n_frames, n_beads, 3), nm
    box : ndarray, shape (n_frames, 3), nm
    idx3 : ndarray of int, shape (n_angles, 3)

    Returns
    -------
    ndarray, shape (n_frames, n_angles), radians in [0, pi]
    """
    x, box = as_frames(x, box)
    idx3 = _index(idx3, 3, x.shape[1])
    u = _vec(x, box, idx3[:, 1], idx3[:, 0])
    v = _vec(x, box, idx3[:, 1], idx3[:, 2])
    return np.arctan2(np.linalg.norm(np.cross(u, v), axis=-1), np.einsum("fnk,fnk->fn", u, v))


def dihedrals(x, box, idx4):
    """Dihedral angles i-j-k-l, IUPAC/GROMACS convention, minimum image.

    cis = 0, trans = pi; the angle is positive when, looking along j -> k, the projection of l is
    rotated clockwise from that of i. GROMACS improper type 2 uses the same i-j-k-l angle, so
    impropers are measured with this function too.

    Parameters
    ----------
    x : ndarray, shape (n_frames, n_beads, 3), nm
    box : ndarray, shape (n_frames, 3), nm
    idx4 : ndarray of int, shape (n_dihedrals, 4)

    Returns
    -------
    ndarray, shape (n_frames, n_dihedrals), radians in (-pi, pi]
    """
    x, box = as_frames(x, box)
    idx4 = _index(idx4, 4, x.shape[1])
    b1 = _vec(x, box, idx4[:, 0], idx4[:, 1])
    b2 = _vec(x, box, idx4[:, 1], idx4[:, 2])
    b3 = _vec(x, box, idx4[:, 2], idx4[:, 3])
    n1 = np.cross(b1, b2)
    n2 = np.cross(b2, b3)
    y = np.linalg.norm(b2, axis=-1) * np.einsum("fnk,fnk->fn", b1, n2)
    phi = np.arctan2(y, np.einsum("fnk,fnk->fn", n1, n2))
    # atan2 returns -pi for a trans geometry with y = -0.0; the documented range is (-pi, pi].
    return np.where(phi <= -np.pi, phi + 2.0 * np.pi, phi)


def histogram(values, bins, range=None, kind="dihedral"):
    """Normalised distribution of a bonded coordinate with the Jacobian of DBI.

    .. math::
        P_r(r) = \\frac{H_r(r)}{4\\pi r^2},\\quad
        P_\\theta(\\theta) = \\frac{H_\\theta(\\theta)}{\\sin\\theta},\\quad
        P_\\phi(\\phi) = H_\\phi(\\phi)

    (study, with Eq. 3). The Jacobian is averaged over each bin exactly,
    :math:`\\int_{lo}^{hi} 4\\pi r^2 dr / \\Delta` and :math:`(\\cos lo - \\cos hi)/\\Delta`,
    rather than taken at the bin centre, so the first bins near r = 0 or theta = 0, pi are not biased.
    The result integrates to 1 over ``range``.

    Parameters
    ----------
    values : array_like, any shape
        Samples: bond lengths in nm, angles or dihedrals in radians.
    bins : int
        Number of bins.
    range : (float, float), optional
        Histogram range, same unit as ``values``. Defaults: angles (0, pi), dihedrals (-pi, pi),
        bonds (min, max) of the data.
    kind : {"bond", "angle", "dihedral"}

    Returns
    -------
    centres : ndarray, shape (bins,)
        Bin centres, unit of ``values``.
    density : ndarray, shape (bins,)
        Probability density in 1/unit of ``values``; zero in empty bins.
    """
    if kind not in _KINDS:
        raise CgbenchError(f"kind must be one of {_KINDS}, got {kind!r}")
    values = np.asarray(values, dtype=float).ravel()
    if range is None:
        range = {"angle": (0.0, np.pi), "dihedral": (-np.pi, np.pi)}.get(kind)
        if range is None:
            if values.size == 0:
                raise CgbenchError("cannot choose a bond range from no samples")
            range = (values.min(), values.max())
    lo, hi = map(float, range)
    if not hi > lo:
        raise CgbenchError(f"histogram range must be increasing, got {range}")
    if kind == "bond" and lo < 0:
        raise CgbenchError("bond lengths cannot be negative")
    if kind == "angle" and (lo < 0 or hi > np.pi + 1e-12):
        raise CgbenchError(f"angle range must lie in [0, pi] radians, got {range}")
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    return density_from_counts(counts, edges, kind)


def density_from_counts(counts, edges, kind="dihedral"):
    """:func:`histogram`'s normalised, Jacobian-corrected density from bin counts.

    Counts of several chunks of samples, each histogrammed on the same ``edges``, add up to the
    counts of all samples, so a distribution accumulated chunk by chunk ends here with the result
    :func:`histogram` gives for all samples at once.

    Parameters
    ----------
    counts : array_like, shape (bins,)
        Samples per bin.
    edges : array_like, shape (bins + 1,)
        Bin edges, unit of the samples.
    kind : {"bond", "angle", "dihedral"}

    Returns
    -------
    centres, density : ndarray, shape (bins,)
        As for :func:`histogram`.
    """
    if kind not in _KINDS:
        raise CgbenchError(f"kind must be one of {_KINDS}, got {kind!r}")
    counts = np.asarray(counts)
    edges = np.asarray(edges, dtype=float)
    width = np.diff(edges)
    centres = 0.5 * (edges[1:] + edges[:-1])
    if kind == "bond":
        jacobian = 4.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3) / (3.0 * width)
    elif kind == "angle":
        jacobian = (np.cos(edges[:-1]) - np.cos(edges[1:])) / width
    else:
        jacobian = np.ones_like(width)
    density = counts / jacobian
    total = np.sum(density * width)
    if total <= 0:
        raise CgbenchError(f"no {kind} samples fall inside the range ({edges[0]:g}, {edges[-1]:g})")
    return centres, density / total


def bonded_exclusions(*index_arrays):
    """Bead pairs to leave out of an RDF: every pair inside any bonded interaction.

    This is VOTCA's rule (csg_stat): two beads that share a bond, angle or dihedral do not count,
    whatever their position in it.

    Parameters
    ----------
    *index_arrays : ndarray of int, shapes (n_k, m_k)
        Bonds (m=2), angles (m=3), dihedrals and impropers (m=4), bead indices.

    Returns
    -------
    ndarray of int, shape (n_pairs, 2)
        Unique pairs with ``i < j``, sorted.
    """
    pairs = []
    for idx in index_arrays:
        idx = np.asarray(idx)
        if idx.size == 0:
            continue
        a, b = np.triu_indices(idx.shape[1], k=1)
        p = np.stack([idx[:, a].ravel(), idx[:, b].ravel()], axis=1)
        pairs.append(np.sort(p, axis=1))
    if not pairs:
        return np.empty((0, 2), dtype=int)
    p = np.concatenate(pairs)
    p = p[p[:, 0] != p[:, 1]]
    return np.unique(p, axis=0)


def _selection(sel, n_beads):
    sel = np.asarray(sel)
    if sel.dtype == bool:
        if sel.shape != (n_beads,):
            raise CgbenchError(f"boolean selection must have shape ({n_beads},), got {sel.shape}")
        return np.flatnonzero(sel)
    sel = np.unique(sel.astype(int))
    if sel.size == 0:
        raise CgbenchError("an RDF selection is empty")
    if sel.min() < 0 or sel.max() >= n_beads:
        raise CgbenchError(f"selection index out of range 0..{n_beads - 1}")
    return sel


def rdf(x, box, types_a, types_b, exclusions=None, r_max=1.3, bins=130):
    """Radial distribution function between two bead selections, periodic, with exclusions.

    .. math::
        g_{AB}(r) = \\frac{1}{n_\\mathrm{frames}} \\sum_f \\frac{V_f}{N_{AB}}
        \\frac{\\#\\{(i, j): i \\in A, j \\in B, r_{ij} \\in [r, r+\\Delta r)\\}}
             {\\frac{4}{3}\\pi((r+\\Delta r)^3 - r^3)}

    where the pairs run over ordered (i, j), i != j, that are not excluded and :math:`N_{AB}` is the
    number of ordered pairs with i != j (:math:`N_A N_B` minus beads in both selections), so an ideal gas
    gives g = 1. Excluded (intramolecular, bonded) pairs are dropped from the counts but not from
    :math:`N_{AB}`, as in VOTCA, so g(r) of the reference and of a CG run are comparable bin by bin.
    Each frame is normalised by its own volume, so NPT trajectories are handled.

    Distances come from :class:`scipy.spatial.cKDTree` with ``boxsize`` (periodic, minimum image).

    Parameters
    ----------
    x : ndarray, shape (n_frames, n_beads, 3), nm
        Bead positions (need not be wrapped).
    box : ndarray, shape (n_frames, 3), nm
        Orthorhombic box lengths.
    types_a, types_b : array_like of int, or boolean ndarray of shape (n_beads,)
        The two selections (bead indices or masks); may be the same.
    exclusions : ndarray of int, shape (n_pairs, 2), optional
        Unordered bead pairs never counted, e.g. from :func:`bonded_exclusions`.
    r_max : float, nm
        Largest distance; at most half the smallest box length of any frame.
    bins : int
        Number of bins in [0, r_max].

    Returns
    -------
    r : ndarray, shape (bins,), nm
        Bin centres.
    g : ndarray, shape (bins,)
        g(r), dimensionless.
    """
    x, box = as_frames(x, box)
    acc = RDF(x.shape[1], types_a, types_b, exclusions, r_max, bins)
    acc.update(x, box)
    return acc.result()


class RDF:
    """:func:`rdf` accumulated over chunks of frames.

    Frames are counted one by one into one histogram in the order they come, so feeding a
    trajectory chunk by chunk gives exactly what :func:`rdf` gives for all its frames at once.

    Parameters
    ----------
    n_beads : int
        Beads per frame.
    types_a, types_b, exclusions, r_max, bins
        As for :func:`rdf`.
    """

    def __init__(self, n_beads, types_a, types_b, exclusions=None, r_max=1.3, bins=130):
        self.n_beads = int(n_beads)
        self.a = _selection(types_a, n_beads)
        self.b = _selection(types_b, n_beads)
        self.r_max = float(r_max)
        self.edges = np.linspace(0.0, r_max, bins + 1)
        self.excluded_keys = np.empty(0, dtype=np.int64)
        if exclusions is not None and len(exclusions):
            e = np.asarray(exclusions, dtype=np.int64)
            self.excluded_keys = np.unique(np.concatenate([e[:, 0] * n_beads + e[:, 1], e[:, 1] * n_beads + e[:, 0]]))
        self.n_pairs = self.a.size * self.b.size - np.intersect1d(self.a, self.b).size
        if self.n_pairs <= 0:
            raise CgbenchError("the two selections leave no distinct pairs")
        self.same = np.array_equal(self.a, self.b)
        self.hist = np.zeros(bins)
        self.n_frames = 0

    def update(self, x, box):
        """Count the pairs of frames ``x`` (n_frames, n_beads, 3) nm in boxes ``box`` (n_frames, 3) nm."""
        x, box = as_frames(x, box)
        if x.shape[1] != self.n_beads:
            raise CgbenchError(f"frames have {x.shape[1]} beads, the RDF was set up for {self.n_beads}")
        if self.r_max > 0.5 * box.min():
            raise CgbenchError(
                f"r_max = {self.r_max} nm exceeds half the smallest box length ({0.5 * box.min():.4g} nm)"
            )
        a, b, n_beads = self.a, self.b, self.n_beads
        for f in range(x.shape[0]):
            # One tree per frame is unavoidable: the box, hence the periodic metric, changes with NPT.
            L = box[f]
            wrapped = np.mod(x[f], L)
            wrapped[wrapped >= L] = 0.0  # np.mod can round up to L, which cKDTree rejects
            ta = cKDTree(wrapped[a], boxsize=L)
            tb = ta if self.same else cKDTree(wrapped[b], boxsize=L)
            m = ta.sparse_distance_matrix(tb, self.r_max, output_type="ndarray")
            i = a[m["i"]]
            j = b[m["j"]]
            keep = i != j
            if self.excluded_keys.size:
                keep &= ~np.isin(i.astype(np.int64) * n_beads + j, self.excluded_keys)
            counts, _ = np.histogram(m["v"][keep], bins=self.edges)
            self.hist += counts * np.prod(L) / self.n_pairs
        self.n_frames += x.shape[0]

    def result(self):
        """Bin centres (nm) and g(r) over every frame counted so far."""
        if self.n_frames == 0:
            raise CgbenchError("no frames counted for the RDF")
        edges = self.edges
        shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
        return 0.5 * (edges[1:] + edges[:-1]), self.hist / (shell * self.n_frames)


def js_divergence(p, q, axis=-1):
    """Jensen-Shannon divergence of distributions on the same bins, in nats, vectorised.

    .. math::
        JS(p, q) = \\tfrac12 \\sum_i p_i \\ln\\frac{p_i}{m_i} + \\tfrac12 \\sum_i q_i \\ln\\frac{q_i}{m_i},
        \\quad m = \\tfrac12 (p + q)

    Each slice along ``axis`` is normalised to sum to 1 first (histogram counts or densities on
    equal-width bins both work); terms with :math:`p_i = 0` contribute 0. The result is symmetric
    and lies in [0, ln 2] (study, Table 2). The one implementation, used for the CG distributions
    and for the force distributions of :mod:`cgbench.evaluate.divergence`.

    Parameters
    ----------
    p, q : array_like, broadcastable shapes (..., n_bins, ...)
        Non-negative weights per bin.
    axis : int

    Returns
    -------
    float or ndarray, nats
        One value per slice; a float for 1-D inputs.
    """
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    try:
        np.broadcast_shapes(p.shape, q.shape)
    except ValueError:
        raise CgbenchError(f"p and q must be on the same bins, got shapes {p.shape} and {q.shape}") from None
    if not (np.isfinite(p).all() and np.isfinite(q).all()) or np.any(p < 0) or np.any(q < 0):
        raise CgbenchError("p and q must be finite and non-negative")
    sp = p.sum(axis=axis, keepdims=True)
    sq = q.sum(axis=axis, keepdims=True)
    if np.any(sp <= 0) or np.any(sq <= 0):
        raise CgbenchError("p and q must each have positive mass")
    p, q = np.broadcast_arrays(p / sp, q / sq)
    m = 0.5 * (p + q)
    js = 0.5 * rel_entr(p, m).sum(axis=axis) + 0.5 * rel_entr(q, m).sum(axis=axis)
    # rounding can step a hair outside [0, ln 2]; the bounds are exact in exact arithmetic
    js = np.clip(js, 0.0, np.log(2.0))
    return float(js) if js.ndim == 0 else js
