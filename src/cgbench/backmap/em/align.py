"""Batched weighted Kabsch alignment: best rotations and best-rotation RMSDs of point sets.

Everything broadcasts over leading axes, so one call aligns every bead of every molecule of every
frame. Rotations are about the origin: callers give points relative to the centre that must stay
fixed (here, a bead's centre of mass, which backmapping places exactly).
"""

import numpy as np

__all__ = ["kabsch", "kabsch_reference", "aligned_msd"]


def _covariance(p, q, weights):
    if weights is None:
        return np.einsum("...ki,...kj->...ij", p, q)
    return np.einsum("...k,...ki,...kj->...ij", weights, p, q)


def kabsch(p, q, weights=None):
    r"""Proper rotations that best map ``p`` onto ``q`` about the origin.

    Minimises :math:`\sum_k w_k |R p_k - q_k|^2` over rotations :math:`R` (det +1) by the SVD of
    :math:`H = \sum_k w_k p_k q_k^T = U S V^T`, :math:`R = V\,\mathrm{diag}(1, 1, d)\,U^T` with
    :math:`d = \mathrm{sign}\det(V U^T)`, which excludes reflections.

    Parameters
    ----------
    p, q : ndarray, shape (..., n_points, 3)
        Points (nm) relative to the rotation centre; leading axes broadcast.
    weights : ndarray, shape (..., n_points), optional
        Non-negative weights; zero weights pad point sets of unequal size. Unit weights if omitted.

    Returns
    -------
    ndarray, shape (..., 3, 3)
        Rotation matrices; apply as ``np.einsum("...ij,...kj->...ki", R, p)``.

    Notes
    -----
    When the points do not fix a rotation (one point, or all on a line through the origin), the
    result is one of the equally good rotations; with no weighted point at all (``H = 0``) it is
    the identity.
    """
    h = _covariance(np.asarray(p, dtype=float), np.asarray(q, dtype=float), weights)
    u, _, vt = np.linalg.svd(h)
    v = np.swapaxes(vt, -1, -2)
    ut = np.swapaxes(u, -1, -2)
    d = np.sign(np.linalg.det(v @ ut))
    # det is exactly 0 only for a degenerate H; any proper rotation is then as good as another
    d = np.where(d == 0, 1.0, d)
    v = v.copy()
    v[..., :, 2] *= d[..., None]
    return v @ ut


def kabsch_reference(p, q, weights=None):
    """Plain per-set loop version of :func:`kabsch` (for tests); same arguments and result."""
    p, q = np.broadcast_arrays(np.asarray(p, dtype=float), np.asarray(q, dtype=float))
    lead = p.shape[:-2]
    w = np.ones(p.shape[:-1]) if weights is None else np.broadcast_to(weights, p.shape[:-1])
    out = np.empty((*lead, 3, 3))
    for idx in np.ndindex(*lead):
        h = (p[idx] * w[idx][:, None]).T @ q[idx]
        u, _, vt = np.linalg.svd(h)
        d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
        out[idx] = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return out


def aligned_msd(p, q, weights):
    r"""Weighted mean square deviation of ``p`` and ``q`` after the best rotation about the origin.

    Uses the closed form :math:`\min_R \sum_k w_k |R p_k - q_k|^2 = \sum_k w_k (|p_k|^2 + |q_k|^2)
    - 2 (s_1 + s_2 + d\,s_3)` with :math:`s_i` the singular values of :math:`H` and
    :math:`d = \mathrm{sign}\det H`, so no rotation is built.

    Parameters
    ----------
    p, q : ndarray, shape (..., n_points, 3)
        nm; leading axes broadcast (e.g. ``p[:, None]`` against ``q[None]`` for all pairs).
    weights : ndarray, shape (n_points,)

    Returns
    -------
    ndarray, shape (...)
        nm^2, divided by the sum of the weights.
    """
    w = np.asarray(weights, dtype=float)
    h = _covariance(p, q, w)
    s = np.linalg.svd(h, compute_uv=False)
    d = np.where(np.linalg.det(h) < 0, -1.0, 1.0)
    gp = np.einsum("k,...ki,...ki->...", w, p, p)
    gq = np.einsum("k,...ki,...ki->...", w, q, q)
    e = gp + gq - 2.0 * (s[..., 0] + s[..., 1] + d * s[..., 2])
    # rounding can leave a tiny negative value for identical sets
    return np.maximum(e, 0.0) / w.sum()
