"""Direct Boltzmann inversion (DBI) of bonded distributions, and the analytic fits the study uses.

Pipeline for one bonded coordinate q (bond length in nm, angle or dihedral in radians):

1. :func:`cgbench.geometry.distributions.histogram` gives P(q) with its Jacobian;
2. :func:`invert` gives :math:`U(q) = -k_B T \\ln P(q)` (study, Eq. 3), NaN where nothing was sampled;
3. :func:`smooth` removes bin noise;
4. :func:`tabulate` (via :func:`extrapolate`) puts U on a uniform grid that is wider than the data,
   with repulsive walls where the data stop, and F = -dU/dq;
5. for proper dihedrals :func:`fit_ryckaert_bellemans`, for impropers :func:`fit_harmonic_improper`
   (study, text after Eq. 3).

Energies are in kJ/mol, temperatures in K.
"""

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.signal import savgol_filter

from cgbench.core.errors import CgbenchError
from cgbench.core.units import kT

__all__ = [
    "invert",
    "smooth",
    "extrapolate",
    "tabulate",
    "ryckaert_bellemans",
    "fit_ryckaert_bellemans",
    "harmonic_improper",
    "fit_harmonic_improper",
]

_WALLS = ("linear", "quadratic", "constant")


def invert(centres, density, temperature_K, min_density=0.0):
    """Potential of mean force of one coordinate by direct Boltzmann inversion (study, Eq. 3).

    .. math:: U(q) = -k_B T \\ln P(q) + C

    with C chosen so that the smallest finite U is 0.

    Parameters
    ----------
    centres : ndarray, shape (n_bins,)
        Bin centres (nm or radians); only checked against ``density``.
    density : ndarray, shape (n_bins,)
        Jacobian-corrected probability density from :func:`cgbench.geometry.distributions.histogram`.
    temperature_K : float
        Temperature of the reference ensemble, K.
    min_density : float, optional
        Bins with ``density <= min_density`` count as unsampled.

    Returns
    -------
    ndarray, shape (n_bins,), kJ/mol
        U, with NaN in unsampled bins: ``np.isfinite(U)`` is the sampled mask. :func:`tabulate`
        fills them.
    """
    centres = np.asarray(centres, dtype=float)
    density = np.asarray(density, dtype=float)
    if centres.shape != density.shape or density.ndim != 1:
        raise CgbenchError(
            f"centres and density must be 1-D of equal length, got {centres.shape}, {density.shape}"
        )
    if temperature_K <= 0:
        raise CgbenchError(f"temperature must be positive, got {temperature_K} K")
    sampled = density > min_density
    if not sampled.any():
        raise CgbenchError("no bin of the distribution is sampled; nothing to invert")
    U = np.full(density.shape, np.nan)
    U[sampled] = -kT(temperature_K) * np.log(density[sampled])
    return U - np.nanmin(U)


def _runs(mask):
    """(start, stop) of each run of True in a 1-D boolean array."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    change = np.flatnonzero(np.diff(padded))
    return list(zip(change[::2], change[1::2]))


def _running_mean(y, window, wrap):
    half = window // 2
    if wrap:
        padded = np.concatenate([y[-half:], y, y[:half]]) if half else y
        return np.convolve(padded, np.ones(window) / window, mode="valid")
    # Shrinking the window at the ends keeps the edge values unbiased instead of padding with guesses.
    c = np.concatenate([[0.0], np.cumsum(y)])
    i = np.arange(y.size)
    lo = np.clip(i - half, 0, y.size)
    hi = np.clip(i + half + 1, 0, y.size)
    return (c[hi] - c[lo]) / (hi - lo)


def smooth(y, window=5, polyorder=2, method="savgol", periodic=False):
    """Smooth a tabulated potential over a few bins, leaving unsampled (NaN) bins alone.

    ``method="savgol"`` is a Savitzky-Golay filter (local least-squares polynomial of order
    ``polyorder`` over ``window`` bins): it removes bin noise while keeping the position and
    curvature of minima, which a running mean flattens. ``method="running"`` is a centred running
    mean over ``window`` bins (shrinking at the ends), the simplest choice and VOTCA's.
    Each run of consecutive sampled bins is smoothed on its own, so nothing leaks across gaps; runs
    shorter than ``window`` are returned unchanged. With ``periodic=True`` (dihedrals) a fully
    sampled array wraps around, and a run touching both ends is treated as one run.

    Parameters
    ----------
    y : ndarray, shape (n_bins,)
        Values on a uniform grid, e.g. U in kJ/mol from :func:`invert`.
    window : int
        Odd number of bins.
    polyorder : int
        Polynomial order of the Savitzky-Golay filter, < window.
    method : {"savgol", "running"}
    periodic : bool

    Returns
    -------
    ndarray, shape (n_bins,)
    """
    y = np.asarray(y, dtype=float)
    if window < 1 or window % 2 == 0:
        raise CgbenchError(f"smoothing window must be a positive odd number of bins, got {window}")
    if method not in ("savgol", "running"):
        raise CgbenchError(f"method must be 'savgol' or 'running', got {method!r}")
    if method == "savgol" and polyorder >= window:
        raise CgbenchError(f"polyorder ({polyorder}) must be smaller than window ({window})")
    if window == 1:
        return y.copy()
    finite = np.isfinite(y)
    out = y.copy()
    if periodic and finite.all():
        if method == "savgol":
            return savgol_filter(y, window, polyorder, mode="wrap")
        return _running_mean(y, window, wrap=True)
    shift = 0
    if periodic and finite[0] and finite[-1]:
        # Rotate so the array starts in a gap: the run that crosses the period boundary becomes one run.
        shift = int(np.flatnonzero(~finite)[0])
        y = np.roll(y, -shift)
        out = y.copy()
        finite = np.roll(finite, -shift)
    for start, stop in _runs(finite):
        if stop - start < window:
            continue
        seg = y[start:stop]
        if method == "savgol":
            out[start:stop] = savgol_filter(seg, window, polyorder, mode="interp")
        else:
            out[start:stop] = _running_mean(seg, window, wrap=False)
    return np.roll(out, shift) if shift else out


class _Segment:
    """One run of sampled points: a monotone cubic (PCHIP) inside, walls outside."""

    def __init__(self, x, U, n_fit, min_slope, left, right):
        self.x0, self.x1 = x[0], x[-1]
        self.interp = PchipInterpolator(x, U, extrapolate=False)
        self.deriv = self.interp.derivative()
        self.left = self._wall(x[:n_fit], U[:n_fit], x[0], U[0], -1, left, min_slope)
        self.right = self._wall(x[-n_fit:], U[-n_fit:], x[-1], U[-1], +1, right, min_slope)

    @staticmethod
    def _wall(xf, Uf, xe, Ue, outward, mode, min_slope):
        """(edge x, edge U, slope, curvature) of a continuation away from the data."""
        if mode == "constant":
            return xe, Ue, 0.0, 0.0
        deg = 2 if (mode == "quadratic" and xf.size >= 3) else 1
        coef = np.polyfit(xf - xe, Uf, deg)
        slope = coef[-2]
        curvature = 2.0 * coef[0] if deg == 2 else 0.0
        # A wall must climb away from the data: the slope points outward with at least min_slope,
        # and a negative curvature (which would turn the wall over) is dropped.
        slope = max(slope, min_slope) if outward > 0 else min(slope, -min_slope)
        return xe, Ue, slope, max(curvature, 0.0)

    @staticmethod
    def wall_eval(wall, x):
        xe, Ue, s, c = wall
        d = x - xe
        return Ue + s * d + 0.5 * c * d * d, s + c * d


def _build(x, U, *, left, right, n_fit, min_slope, periodic, period):
    x = np.asarray(x, dtype=float)
    U = np.asarray(U, dtype=float)
    if x.shape != U.shape or x.ndim != 1:
        raise CgbenchError(f"x and U must be 1-D of equal length, got {x.shape}, {U.shape}")
    if np.any(np.diff(x) <= 0):
        raise CgbenchError("x must be strictly increasing")
    for name, mode in (("left", left), ("right", right)):
        if mode not in _WALLS:
            raise CgbenchError(f"{name} must be one of {_WALLS}, got {mode!r}")
    if n_fit < 2:
        raise CgbenchError(f"n_fit must be at least 2, got {n_fit}")
    finite = np.isfinite(U)
    if finite.sum() < 2:
        raise CgbenchError("need at least two sampled points to build a potential")
    if min_slope is None:
        span = x[finite][-1] - x[finite][0]
        min_slope = (np.nanmax(U) - np.nanmin(U)) / span if span > 0 else 0.0
    if min_slope < 0:
        raise CgbenchError(f"min_slope must be non-negative, got {min_slope}")

    if periodic and finite.all():
        # Pad with a full copy on each side so the monotone cubic sees the function as periodic.
        xp = np.concatenate([x - period, x, x + period])
        interp = PchipInterpolator(xp, np.tile(U, 3), extrapolate=False)
        return ("circle", x[0], period, interp, interp.derivative())

    runs = _runs(finite)
    pieces = [(x[a:b], U[a:b]) for a, b in runs]
    if periodic and len(runs) > 1 and runs[0][0] == 0 and runs[-1][1] == x.size:
        first = pieces.pop(0)
        last = pieces.pop()
        pieces.append((np.concatenate([last[0], first[0] + period]), np.concatenate([last[1], first[1]])))
    # A single sampled bin between gaps carries no slope; it is treated as unsampled.
    pieces = [p for p in pieces if p[0].size >= 2]
    if not pieces:
        raise CgbenchError("no two consecutive bins are sampled; cannot build a potential")
    segs = []
    for k, (xs, Us) in enumerate(pieces):
        # Interior gaps are unsampled regions between data: they get linear walls from both sides.
        lw = left if (k == 0 and not periodic) else "linear"
        rw = right if (k == len(pieces) - 1 and not periodic) else "linear"
        segs.append(_Segment(xs, Us, min(n_fit, xs.size), min_slope, lw, rw))
    return ("segments", segs, periodic, period)


def _evaluate(model, xq):
    """U and dU/dx of a model from :func:`_build` at the points xq."""
    xq = np.asarray(xq, dtype=float)
    if model[0] == "circle":
        _, x0, period, interp, deriv = model
        xq = x0 + np.mod(xq - x0, period)
        return interp(xq), deriv(xq)
    _, segs, periodic, period = model
    if periodic:
        # Every segment lies inside [x0, x0 + period), so wrapping the queries there reaches them all.
        x0 = segs[0].x0
        xq = x0 + np.mod(xq - x0, period)
    U = np.full(xq.shape, np.nan)
    dU = np.full(xq.shape, np.nan)
    for seg in segs:
        inside = (xq >= seg.x0) & (xq <= seg.x1)
        U[inside] = seg.interp(xq[inside])
        dU[inside] = seg.deriv(xq[inside])
    # On a circle the last gap runs from the last segment to the first one, one period on.
    bounds = segs + [_Shifted(segs[0], period)] if periodic else segs
    for a, b in zip(bounds[:-1], bounds[1:]):
        gap = (xq > a.x1) & (xq < b.x0)
        if not gap.any():
            continue
        Ur, dr = _Segment.wall_eval(a.right, xq[gap])
        Ul, dl = _Segment.wall_eval(b.left, xq[gap])
        use_r = Ur >= Ul
        U[gap] = np.where(use_r, Ur, Ul)
        dU[gap] = np.where(use_r, dr, dl)
    if not periodic:
        lo = xq < segs[0].x0
        U[lo], dU[lo] = _Segment.wall_eval(segs[0].left, xq[lo])
        hi = xq > segs[-1].x1
        U[hi], dU[hi] = _Segment.wall_eval(segs[-1].right, xq[hi])
    return U, dU


class _Shifted:
    """The left edge of a segment moved one period on (only what a gap needs)."""

    def __init__(self, seg, period):
        self.x0 = seg.x0 + period
        self.x1 = seg.x1 + period
        xe, Ue, s, c = seg.left
        self.left = (xe + period, Ue, s, c)


def extrapolate(
    x, U, x_out, left="linear", right="linear", n_fit=5, min_slope=None, periodic=False, period=2 * np.pi
):
    """Evaluate a sampled potential anywhere, with walls where the data stop.

    Inside each run of sampled (finite) points U is interpolated by a monotone cubic (PCHIP, no
    overshoot between bins). Outside the sampled range it is continued by a wall fitted to the
    ``n_fit`` points nearest the edge:

    .. math:: U(q) = U_e + s\\,(q - q_e) + \\tfrac{c}{2}(q - q_e)^2

    with the slope s forced to point away from the data with magnitude at least ``min_slope`` and
    the curvature c (``"quadratic"`` only) clipped at 0, so U rises monotonically outward and stays
    finite: every value a CG run can reach has a repulsive-going potential. ``"constant"``
    continues with the edge value (for pair tails). Unsampled gaps between sampled runs get linear
    walls from both sides and take the larger: an empty bin is a barrier, never a valley.

    Parameters
    ----------
    x : ndarray, shape (n,)
        Strictly increasing grid of the data (nm or radians).
    U : ndarray, shape (n,), kJ/mol
        Potential, NaN where unsampled.
    x_out : ndarray, shape (m,)
        Where to evaluate.
    left, right : {"linear", "quadratic", "constant"}
        Continuation below the first and above the last sampled point (ignored when periodic).
    n_fit : int
        Points used to fit each wall.
    min_slope : float, optional
        Smallest outward wall slope, kJ/mol per unit of x. Default: the mean slope of the data,
        (max U - min U) / (sampled span), so walls are at least as steep as the data on average.
    periodic : bool
        Treat x as an angle with the given period (dihedrals): no edges, only gaps.
    period : float
        Period of x, same unit (2 pi radians).

    Returns
    -------
    ndarray, shape (m,), kJ/mol
    """
    model = _build(
        x, U, left=left, right=right, n_fit=n_fit, min_slope=min_slope, periodic=periodic, period=period
    )
    return _evaluate(model, x_out)[0]


def tabulate(
    x,
    U,
    x_min,
    x_max,
    n_points,
    left="linear",
    right="linear",
    n_fit=5,
    min_slope=None,
    periodic=False,
    period=2 * np.pi,
):
    """Put a (smoothed) potential on a uniform grid with its force, ready for an engine table.

    U is evaluated as in :func:`extrapolate`; the force is the exact derivative of that
    representation, :math:`F = -dU/dx`, so tables are self-consistent (LAMMPS checks this).

    Parameters
    ----------
    x : ndarray, shape (n,)
        Data grid, nm (bonds) or radians (angles, dihedrals).
    U : ndarray, shape (n,), kJ/mol
        Potential, NaN where unsampled.
    x_min, x_max : float
        Table range, same unit as x; may extend beyond the data.
    n_points : int
        Number of grid points, including both ends.
    left, right, n_fit, min_slope, periodic, period
        As in :func:`extrapolate`.

    Returns
    -------
    grid : ndarray, shape (n_points,)
        Uniform grid, unit of x.
    U : ndarray, shape (n_points,), kJ/mol
    F : ndarray, shape (n_points,), kJ/mol per unit of x (kJ/mol/nm, kJ/mol/rad)
    """
    if n_points < 2 or not x_max > x_min:
        raise CgbenchError(f"need n_points >= 2 and x_max > x_min, got {n_points}, [{x_min}, {x_max}]")
    grid = np.linspace(x_min, x_max, n_points)
    model = _build(
        x, U, left=left, right=right, n_fit=n_fit, min_slope=min_slope, periodic=periodic, period=period
    )
    Ug, dU = _evaluate(model, grid)
    return grid, Ug, -dU


def _weights(U, weights, temperature_K):
    U = np.asarray(U, dtype=float)
    if weights is not None:
        w = np.asarray(weights, dtype=float)
        if w.shape != U.shape:
            raise CgbenchError(f"weights must have the shape of U {U.shape}, got {w.shape}")
        if np.any(w[np.isfinite(w)] < 0):
            raise CgbenchError("weights must be non-negative")
    elif temperature_K is not None:
        w = np.exp(-(U - np.nanmin(U)) / kT(temperature_K))
    else:
        w = np.ones_like(U)
    w = np.where(np.isfinite(U) & np.isfinite(w), w, 0.0)
    if np.count_nonzero(w) == 0:
        raise CgbenchError("no point carries weight in the fit")
    return w


def _fit_quality(U, model, w):
    keep = w > 0
    r = U[keep] - model[keep]
    wk = w[keep] / w[keep].sum()
    rmse = float(np.sqrt(np.sum(wk * r * r)))
    mean = np.sum(wk * U[keep])
    ss_tot = np.sum(wk * (U[keep] - mean) ** 2)
    r2 = float(1.0 - np.sum(wk * r * r) / ss_tot) if ss_tot > 0 else 1.0
    return rmse, r2


def ryckaert_bellemans(phi, C):
    """GROMACS dihedral type 3: :math:`U(\\phi) = \\sum_{n=0}^{5} C_n \\cos^n(\\phi - 180^\\circ)`.

    Parameters
    ----------
    phi : ndarray, any shape, radians
        IUPAC dihedral (trans = pi).
    C : array_like, shape (6,), kJ/mol

    Returns
    -------
    ndarray, shape of phi, kJ/mol
    """
    C = np.asarray(C, dtype=float)
    if C.shape != (6,):
        raise CgbenchError(f"Ryckaert-Bellemans needs six coefficients C0..C5, got shape {C.shape}")
    return np.polynomial.polynomial.polyval(np.cos(np.asarray(phi, dtype=float) - np.pi), C)


def fit_ryckaert_bellemans(phi, U, weights=None, temperature_K=None):
    """Least-squares Ryckaert-Bellemans fit of a proper-dihedral potential (study, after Eq. 3).

    .. math::
        U(\\phi) \\approx \\sum_{n=0}^{5} C_n \\cos^n\\psi,\\quad \\psi = \\phi - 180^\\circ

    (GROMACS type 3; the study's :math:`\\cos^i(180^\\circ - \\phi)` is the same since cos is even).
    The fit minimises :math:`\\sum_i w_i (U_i - U_{RB}(\\phi_i))^2`. Weights, by priority:
    ``weights`` if given (e.g. the sampled density P(phi)); else, with ``temperature_K``, the
    Boltzmann factor :math:`e^{-U/k_BT}`, which is the sampled probability when U came from
    :func:`invert` at that temperature; else uniform. Probability weights keep rarely sampled,
    noisy high-energy bins from dominating the fit. NaN bins get weight 0.

    Parameters
    ----------
    phi : ndarray, shape (n,), radians
        IUPAC dihedral angles (trans = pi), e.g. histogram centres.
    U : ndarray, shape (n,), kJ/mol
        Potential, NaN where unsampled.
    weights : ndarray, shape (n,), optional
    temperature_K : float, optional

    Returns
    -------
    C : ndarray, shape (6,), kJ/mol
        C0..C5.
    rmse : float, kJ/mol
        Weighted root-mean-square residual.
    r2 : float
        Weighted coefficient of determination.
    """
    phi = np.asarray(phi, dtype=float)
    U = np.asarray(U, dtype=float)
    if phi.shape != U.shape or phi.ndim != 1:
        raise CgbenchError(f"phi and U must be 1-D of equal length, got {phi.shape}, {U.shape}")
    w = _weights(U, weights, temperature_K)
    keep = w > 0
    A = np.cos(phi[keep] - np.pi)[:, None] ** np.arange(6)
    sw = np.sqrt(w[keep])
    C, *_ = np.linalg.lstsq(A * sw[:, None], U[keep] * sw, rcond=None)
    model = np.full_like(U, np.nan)
    model[keep] = A @ C
    rmse, r2 = _fit_quality(U, model, w)
    return C, rmse, r2


def harmonic_improper(xi, xi0_deg, k):
    """GROMACS improper type 2: :math:`U = \\tfrac{k}{2}(\\xi - \\xi_0)^2`, difference wrapped to [-pi, pi).

    Parameters
    ----------
    xi : ndarray, any shape, radians
    xi0_deg : float, degrees
    k : float, kJ/mol/rad^2

    Returns
    -------
    ndarray, shape of xi, kJ/mol
    """
    d = np.mod(np.asarray(xi, dtype=float) - np.radians(xi0_deg) + np.pi, 2 * np.pi) - np.pi
    return 0.5 * k * d * d


def fit_harmonic_improper(xi, U, weights=None, temperature_K=None):
    """Least-squares quadratic fit of an improper-dihedral potential (GROMACS improper type 2).

    .. math:: U(\\xi) \\approx \\tfrac{k}{2}(\\xi - \\xi_0)^2 + c

    The constant c absorbs the arbitrary zero of a Boltzmann-inverted potential and is not returned.
    Angles are first centred on the weighted circular mean of the data, so a well at 180 degrees,
    which straddles the +-pi seam, is fitted as well as one at 0. Weights as in
    :func:`fit_ryckaert_bellemans`.

    Parameters
    ----------
    xi : ndarray, shape (n,), radians
        Improper angles (i-j-k-l dihedral), e.g. histogram centres.
    U : ndarray, shape (n,), kJ/mol
        Potential, NaN where unsampled.
    weights : ndarray, shape (n,), optional
    temperature_K : float, optional

    Returns
    -------
    xi0 : float, degrees in (-180, 180]
    k : float, kJ/mol/rad^2
    rmse : float, kJ/mol
    r2 : float
    """
    xi = np.asarray(xi, dtype=float)
    U = np.asarray(U, dtype=float)
    if xi.shape != U.shape or xi.ndim != 1:
        raise CgbenchError(f"xi and U must be 1-D of equal length, got {xi.shape}, {U.shape}")
    w = _weights(U, weights, temperature_K)
    keep = w > 0
    centre = np.arctan2(np.sum(w * np.sin(xi)), np.sum(w * np.cos(xi)))
    d = np.mod(xi[keep] - centre + np.pi, 2 * np.pi) - np.pi
    sw = np.sqrt(w[keep])
    A = np.stack([d * d, d, np.ones_like(d)], axis=1)
    (a, b, c), *_ = np.linalg.lstsq(A * sw[:, None], U[keep] * sw, rcond=None)
    if not a > 0:
        raise CgbenchError(
            f"the improper potential is not a well: fitted curvature {2 * a:.4g} kJ/mol/rad^2 is not positive"
        )
    k = 2.0 * a
    d0 = -b / (2.0 * a)
    model = np.full_like(U, np.nan)
    model[keep] = A @ np.array([a, b, c])
    rmse, r2 = _fit_quality(U, model, w)
    xi0 = np.degrees(np.mod(centre + d0 + np.pi, 2 * np.pi) - np.pi)
    if xi0 <= -180.0:
        xi0 += 360.0
    return float(xi0), float(k), rmse, r2
