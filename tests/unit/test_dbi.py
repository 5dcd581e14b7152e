"""Direct Boltzmann inversion of bonded interactions: sampled -> inverted -> the potential back."""

import numpy as np
import pandas as pd
import pytest

from cgbench.bonded import dbi
from cgbench.geometry import distributions as dist
from cgbench.core.units import kT

T = 450.0


def sample_bonds(rng, b0, k, n):
    """Bond lengths from P(r) ~ r^2 exp(-k (r-b0)^2 / 2kT): a harmonic bond in 3-D."""
    sigma = np.sqrt(kT(T) / k)
    r = rng.normal(b0, sigma, size=4 * n)
    keep = rng.uniform(size=r.size) < (r / (b0 + 4 * sigma)) ** 2
    return r[keep][:n]


def reference_from(kind, name, values, nbins, rng_, unit=1.0):
    jac = {"bond": "bond", "angle": "angle", "proper": "dihedral", "improper": "dihedral"}[kind]
    c, d = dist.histogram(values, nbins, range=rng_, kind=jac)
    return pd.DataFrame({"kind": kind, "name": name, "x": c / unit, "y": d * unit})


def test_bond_round_trip_recovers_force_constant():
    rng = np.random.default_rng(0)
    b0, k = 0.43, 20000.0
    r = sample_bonds(rng, b0, k, 400_000)
    ref = reference_from("bond", "T-A", r, 500, (0.0, 1.0))
    tables, params = dbi.invert_all(ref, T)
    t = tables[tables["name"] == "T-A"]
    x, U = t["x"].to_numpy(), t["U"].to_numpy()
    inside = np.abs(x - b0) < 1.5 * np.sqrt(kT(T) / k)
    a, b, c = np.polyfit(x[inside], U[inside], 2)
    assert 2 * a == pytest.approx(k, rel=0.08)
    assert -b / (2 * a) == pytest.approx(b0, abs=0.002)
    # the table reaches beyond the sampled range and keeps rising there
    assert x[0] < r.min() - 0.1 and x[-1] > r.max() + 0.1
    assert U[0] > U[inside].max() and U[-1] > U[inside].max()
    # the force column integrates back to the potential (what LAMMPS checks of a table)
    F = t["F"].to_numpy()
    U_from_F = U[0] - np.concatenate([[0.0], np.cumsum(0.5 * (F[1:] + F[:-1]) * np.diff(x))])
    np.testing.assert_allclose(U_from_F, U, atol=1e-3 * np.ptp(U))
    assert params["bonds"]["T-A"]["mean_nm"] == pytest.approx(r.mean(), abs=1e-3)


def test_proper_fit_recovers_rb_coefficients():
    rng = np.random.default_rng(1)
    C = np.array([5.0, -2.0, 3.0, 1.0, -1.5, 0.0])
    phi = np.linspace(-np.pi, np.pi, 20001)
    psi = phi - np.pi
    U = sum(c * np.cos(psi) ** n for n, c in enumerate(C))
    p = np.exp(-(U - U.min()) / kT(T))
    samples = rng.choice(phi, size=2_000_000, p=p / p.sum())
    deg = np.pi / 180
    ref = reference_from("proper", "A-T-A-A", samples, 180, (-np.pi, np.pi), unit=deg)
    _, params = dbi.invert_all(ref, T)
    fit = params["propers"]["A-T-A-A"]
    assert fit["r2"] > 0.98
    # compare the fitted and true profiles where the dihedral is sampled (constant offset free)
    from cgbench.bonded.boltzmann import ryckaert_bellemans

    grid = np.linspace(-np.pi, np.pi, 361)
    true = ryckaert_bellemans(grid, C)
    got = ryckaert_bellemans(grid, fit["C"])
    w = np.exp(-(true - true.min()) / kT(T))
    diff = (got - true) - np.average(got - true, weights=w)
    assert np.sqrt(np.average(diff**2, weights=w)) < 0.3  # kJ/mol


def test_improper_fit():
    rng = np.random.default_rng(2)
    k, xi0 = 60.0, 0.0
    xi = rng.normal(np.deg2rad(xi0), np.sqrt(kT(T) / k), size=500_000)
    deg = np.pi / 180
    ref = reference_from("improper", "T-A-A-A", xi, 180, (-np.pi, np.pi), unit=deg)
    _, params = dbi.invert_all(ref, T)
    fit = params["impropers"]["T-A-A-A"]
    assert fit["k"] == pytest.approx(k, rel=0.1)
    assert fit["xi0_deg"] == pytest.approx(xi0, abs=1.0)
