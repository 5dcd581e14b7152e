"""Direct Boltzmann inversion of the bonded CG interactions (study, Eq. 3).

Bonds and angles become smoothed tables that reach beyond every value seen (rising walls outside
the sampled range); the proper dihedral is fitted to Ryckaert-Bellemans and the improper to a
quadratic, both by probability-weighted least squares, with the fit quality reported.
"""

import numpy as np
import pandas as pd

from . import boltzmann

#: Grid spacings of the tables: bonds in nm, angles and dihedrals in radians.
BOND_TABLE_STEP_NM = 0.0005
ANGLE_TABLE_POINTS = 721  # 0.25 degree
DIHEDRAL_TABLE_POINTS = 721
#: How far bond tables reach beyond the sampled range (nm).
BOND_TABLE_MARGIN_NM = 0.15
#: Bins whose potential lies more than this many kT above the minimum hold a handful of samples
#: each; they are treated as unsampled so that the walls are fitted to well-sampled bins.
MAX_SAMPLED_KT = 6.0


def _trim(density):
    """Density with the sparse tail bins (beyond :data:`MAX_SAMPLED_KT`) set to zero."""
    d = np.asarray(density, dtype=float).copy()
    d[d < d.max() * np.exp(-MAX_SAMPLED_KT)] = 0.0
    return d


def _sampled_range(x, y):
    s = np.flatnonzero(y > 0)
    return x[s[0]], x[s[-1]]


def invert_bond(r, density, temperature_K, smooth_window=5):
    """Table of a bond from its Jacobian-corrected density.

    Parameters
    ----------
    r : ndarray, shape (n,), nm
    density : ndarray, shape (n,), 1/nm

    Returns
    -------
    grid, U, F : ndarray
        nm, kJ/mol, kJ/mol/nm; the grid spans the sampled range plus
        :data:`BOND_TABLE_MARGIN_NM` on both sides (never below 0.01 nm).
    """
    density = _trim(density)
    U = boltzmann.invert(r, density, temperature_K)
    U = boltzmann.smooth(U, window=smooth_window)
    lo, hi = _sampled_range(r, density)
    lo = max(0.01, lo - BOND_TABLE_MARGIN_NM)
    hi = hi + BOND_TABLE_MARGIN_NM
    n = int(round((hi - lo) / BOND_TABLE_STEP_NM)) + 1
    return boltzmann.tabulate(r, U, lo, hi, n, left="quadratic", right="quadratic")


def invert_angle(theta, density, temperature_K, smooth_window=5):
    """Table of an angle over [0, pi] (radians) from its Jacobian-corrected density."""
    U = boltzmann.invert(theta, _trim(density), temperature_K)
    U = boltzmann.smooth(U, window=smooth_window)
    return boltzmann.tabulate(theta, U, 0.0, np.pi, ANGLE_TABLE_POINTS, left="quadratic", right="quadratic")


def invert_dihedral(phi, density, temperature_K, smooth_window=5):
    """Periodic table of a dihedral over [-pi, pi] (radians)."""
    U = boltzmann.invert(phi, density, temperature_K)
    U = boltzmann.smooth(U, window=smooth_window, periodic=True)
    return boltzmann.tabulate(phi, U, -np.pi, np.pi, DIHEDRAL_TABLE_POINTS, periodic=True)


def mean_bond_length(r, density):
    """Mean bond length (nm) of the sampled distribution, undoing the r^2 Jacobian."""
    h = density * r**2
    return float(np.sum(r * h) / np.sum(h))


def invert_all(reference, temperature_K, smooth_window=5):
    """DBI of every bonded interaction in a reference table.

    Parameters
    ----------
    reference : pandas.DataFrame
        The mapping stage's reference table (``kind``, ``name``, ``x``, ``y``; angles in degrees).
    temperature_K : float

    Returns
    -------
    tables : pandas.DataFrame
        ``kind``, ``name``, ``x`` (nm, or radians for angles and dihedrals), ``U`` (kJ/mol),
        ``F`` (kJ/mol per unit of x) for bonds, angles and propers (the proper's table is kept for
        comparison with its fit), and the improper's.
    params : dict
        ``bonds``: mean length; ``propers``: RB ``C`` (kJ/mol), ``rmse``, ``r2``;
        ``impropers``: ``xi0_deg``, ``k`` (kJ/mol/rad^2), ``rmse``, ``r2``.
    """
    deg = np.pi / 180.0
    rows, params = [], {"temperature_K": temperature_K, "bonds": {}, "angles": {}, "propers": {}, "impropers": {}}
    for (kind, name), grp in reference[reference["kind"] != "rdf"].groupby(["kind", "name"], sort=False):
        x = grp["x"].to_numpy()
        y = grp["y"].to_numpy()
        if kind == "bond":
            grid, U, F = invert_bond(x, y, temperature_K, smooth_window)
            params["bonds"][name] = {"mean_nm": mean_bond_length(x, y), "table_range_nm": [grid[0], grid[-1]]}
        elif kind == "angle":
            grid, U, F = invert_angle(x * deg, y / deg, temperature_K, smooth_window)
            params["angles"][name] = {"mean_deg": float(np.sum(x * y) / np.sum(y))}
        else:
            phi, dens = x * deg, y / deg
            grid, U, F = invert_dihedral(phi, dens, temperature_K, smooth_window)
            Ud = boltzmann.invert(phi, dens, temperature_K)
            if kind == "proper":
                C, rmse, r2 = boltzmann.fit_ryckaert_bellemans(phi, Ud, weights=dens)
                params["propers"][name] = {"C": [float(c) for c in C], "rmse": float(rmse), "r2": float(r2)}
            else:
                xi0, k, rmse, r2 = boltzmann.fit_harmonic_improper(phi, Ud, weights=dens)
                params["impropers"][name] = {"xi0_deg": float(xi0), "k": float(k), "rmse": float(rmse), "r2": float(r2)}
        rows.append(pd.DataFrame({"kind": kind, "name": name, "x": grid, "U": U, "F": F}))
    return pd.concat(rows, ignore_index=True), params


def plot(reference, tables, params, path):
    """Potentials from DBI, with the RB and quadratic fits over their tables."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(dict.fromkeys(zip(tables["kind"], tables["name"])))
    fig, axes = plt.subplots(2, (len(keys) + 1) // 2, figsize=(3.2 * ((len(keys) + 1) // 2), 6))
    for ax, (kind, name) in zip(axes.ravel(), keys):
        t = tables[(tables["kind"] == kind) & (tables["name"] == name)]
        x = t["x"].to_numpy() * (1.0 if kind == "bond" else 180 / np.pi)
        ax.plot(x, t["U"], lw=1.2, label="DBI table")
        if kind == "proper":
            p = params["propers"][name]
            ax.plot(x, boltzmann.ryckaert_bellemans(t["x"].to_numpy(), p["C"]), "--", label=f"RB fit (rmse {p['rmse']:.2f})")
        if kind == "improper":
            p = params["impropers"][name]
            ax.plot(x, boltzmann.harmonic_improper(t["x"].to_numpy(), p["xi0_deg"], p["k"]), "--",
                    label=f"quadratic (rmse {p['rmse']:.2f})")
        ref = reference[(reference["kind"] == kind) & (reference["name"] == name)]
        s = ref["y"] > 0
        if s.any():
            lo, hi = ref["x"][s].min(), ref["x"][s].max()
            ax.axvspan(lo, hi, color="0.9", zorder=0)
            # show the sampled region and a few kT above it
            umax = t["U"][(x >= lo) & (x <= hi)].max()
            ax.set_ylim(-1, max(5.0, 1.5 * umax))
        ax.set_title(f"{kind} {name}")
        ax.set_xlabel("r (nm)" if kind == "bond" else "angle (deg)")
        ax.set_ylabel("U (kJ/mol)")
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(keys):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
