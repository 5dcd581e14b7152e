"""Target RDFs on the loop's grid and the initial potentials (potentials of mean force)."""


import numpy as np

from ..bonded.boltzmann import extrapolate
from ..core.errors import CgbenchError
from ..core.units import kT as thermal_energy


def resample_target(r, g, grid):
    """Put a target RDF on VOTCA's grid: linear interpolation, 0 left of the data, last value right.

    Parameters
    ----------
    r : ndarray, shape (n,), nm
        Strictly increasing, e.g. bin centres from :func:`cgbench.geometry.distributions.rdf`.
    g : ndarray, shape (n,)
    grid : ndarray, shape (m,), nm

    Returns
    -------
    ndarray, shape (m,)
    """
    r = np.asarray(r, dtype=float)
    g = np.asarray(g, dtype=float)
    if r.ndim != 1 or r.shape != g.shape or r.size < 2:
        raise CgbenchError(f"target r and g must be 1-D of equal length >= 2, got {r.shape}, {g.shape}")
    if not (np.isfinite(r).all() and np.isfinite(g).all()):
        raise CgbenchError("the target RDF holds NaN or infinite values")
    if np.any(np.diff(r) <= 0):
        raise CgbenchError("target r must be strictly increasing")
    if np.any(g < 0):
        raise CgbenchError("a target RDF cannot be negative")
    # half a bin short of the cut-off is fine (bin centres); 1e-9 absorbs rounding of the centres
    if r[-1] < grid[-1] - 0.5 * (grid[1] - grid[0]) - 1e-9:
        raise CgbenchError(f"the target RDF stops at {r[-1]:.4g} nm, before the cut-off {grid[-1]:.4g} nm")
    return np.interp(grid, r, g, left=0.0, right=g[-1])


#: Smallest height (k_BT) of the initial potential's core wall, from the first sampled point of the
#: target RDF to the start of the table.
CORE_KT = 20.0


def initial_potential(grid, g, temperature_K, g_min=1e-3, core_kT=CORE_KT):
    """Potential of mean force :math:`U_0(r) = -k_BT \\ln g_\\mathrm{ref}(r)`, zero at the cut-off.

    Where :math:`g \\le` ``g_min`` (the core, never sampled) the PMF is continued by a linear wall
    fitted to the first sampled points (:func:`cgbench.bonded.boltzmann.extrapolate`), so the table is finite
    and repulsive everywhere; beyond the data it is continued with its last value. The wall is at
    least steep enough to climb ``core_kT`` k_BT from the first sampled point to the table's start:
    a sparse bead type's first sampled points can be nearly flat, and a wall of a few k_BT lets
    two beads reach the table's start, where LAMMPS stops the run.

    Parameters
    ----------
    grid : ndarray, shape (m,), nm
    g : ndarray, shape (m,)
        Target RDF on ``grid``.
    temperature_K : float
    g_min : float

    Returns
    -------
    ndarray, shape (m,), kJ/mol
    """
    grid = np.asarray(grid, dtype=float)
    g = np.asarray(g, dtype=float)
    sampled = g > g_min
    if sampled.sum() < 2:
        raise CgbenchError("the target RDF has fewer than two points above g_min; cannot invert it")
    kT = thermal_energy(temperature_K)
    U = np.where(sampled, -kT * np.log(np.where(sampled, g, 1.0)), np.nan)
    first = grid[np.argmax(sampled)]
    span = grid[sampled][-1] - first
    data_slope = (np.nanmax(U) - np.nanmin(U)) / span if span > 0 else 0.0
    core_slope = core_kT * kT / (first - grid[0]) if first > grid[0] else 0.0
    U = extrapolate(grid, U, grid, left="linear", right="constant", min_slope=max(data_slope, core_slope))
    return U - U[-1]


def votca_like_pair_factor(n_beads):
    """csg_stat's RDF of N like beads over the true one: (N - 1)/N.

    ``csg_stat`` normalises a like-pair RDF by :math:`N^2/2` pairs, not the :math:`N(N-1)/2`
    distinct ones (checked against csg_stat in the integration tests), so its g(r) of a finite box
    is low by this factor; unlike pairs (:math:`N_A N_B`) are unaffected.
    """
    if n_beads < 2:
        raise CgbenchError(f"a like-pair RDF needs at least two beads, got {n_beads}")
    return (n_beads - 1) / n_beads


def smooth_121(y, passes):
    """``passes`` of VOTCA's triangular filter (``table_smooth.pl``, all points in range).

    Inner points become :math:`(y_{i-1} + 2 y_i + y_{i+1})/4`, the end points
    :math:`(2 y_0 + y_1)/3` and :math:`(2 y_{n-1} + y_{n-2})/3`.
    """
    y = np.asarray(y, dtype=float).copy()
    for _ in range(int(passes)):
        z = y.copy()
        z[1:-1] = 0.25 * y[:-2] + 0.5 * y[1:-1] + 0.25 * y[2:]
        z[0] = (2.0 * y[0] + y[1]) / 3.0
        z[-1] = (2.0 * y[-1] + y[-2]) / 3.0
        y = z
    return y
