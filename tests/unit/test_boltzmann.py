import numpy as np
import pytest

from cgbench.bonded import boltzmann as bz
from cgbench.geometry.distributions import histogram
from cgbench.core.errors import CgbenchError
from cgbench.core.units import kT

T = 450.0


# --------------------------------------------------------------------------- inversion
def test_invert_recovers_boltzmann_potential_and_masks_empty_bins():
    x = np.linspace(0.3, 0.5, 41)
    U_true = 0.5 * 5000.0 * (x - 0.4) ** 2
    p = np.exp(-U_true / kT(T))
    p[[0, 1, 40]] = 0.0
    U = bz.invert(x, p / p.sum(), T)
    assert np.isnan(U[[0, 1, 40]]).all()
    assert np.nanmin(U) == 0.0
    np.testing.assert_allclose(U[2:40], U_true[2:40] - U_true[2:40].min(), atol=1e-10)


def test_invert_rejects_all_empty():
    with pytest.raises(CgbenchError):
        bz.invert(np.arange(3.0), np.zeros(3), T)


def test_bond_chain_recovers_force_constant_through_jacobian():
    # Sample P(r) ~ r^2 exp(-k (r - r0)^2 / 2kT): a harmonic bond in 3-D. With the 4 pi r^2 Jacobian
    # DBI gives back the harmonic U; without it the curvature would be off.
    rng = np.random.default_rng(0)
    k, r0 = 2000.0, 0.25
    sigma = np.sqrt(kT(T) / k)
    r = rng.normal(r0, sigma, 2_000_000)
    r = r[rng.uniform(size=r.size) < (r / (r0 + 5 * sigma)) ** 2]
    c, p = histogram(r, 60, (r0 - 2.5 * sigma, r0 + 2.5 * sigma), "bond")
    U = bz.invert(c, p, T)
    a = np.polyfit(c - r0, U, 2)[0]
    assert 2 * a == pytest.approx(k, rel=0.03)


# --------------------------------------------------------------------------- smoothing
def test_savgol_keeps_quadratics_and_reduces_noise():
    x = np.linspace(-1, 1, 101)
    U = 3 * x**2 + x
    np.testing.assert_allclose(bz.smooth(U, window=7, polyorder=2), U, atol=1e-12)
    noisy = U + np.random.default_rng(1).normal(0, 0.1, x.size)
    for method in ("savgol", "running"):
        err_before = np.sqrt(np.mean((noisy - U) ** 2))
        err_after = np.sqrt(np.mean((bz.smooth(noisy, window=9, method=method) - U) ** 2))
        assert err_after < 0.75 * err_before, method


def test_smooth_leaves_gaps_and_short_runs_alone():
    y = np.array([5.0, 1, 2, 9, 2, 1, 0, np.nan, 3.0, 8.0, np.nan])
    out = bz.smooth(y, window=3, method="running")
    assert np.isnan(out[[7, 10]]).all()
    np.testing.assert_array_equal(out[8:10], y[8:10])  # run of 2 < window 3
    assert out[3] == pytest.approx((2 + 9 + 2) / 3)
    assert out[0] == pytest.approx((5 + 1) / 2)  # window shrinks at the end


def test_periodic_smoothing_wraps():
    phi = np.linspace(-np.pi, np.pi, 72, endpoint=False)
    y = np.zeros(72)
    y[0] = 3.0  # a spike at -pi must spread to +pi side when periodic
    out = bz.smooth(y, window=3, method="running", periodic=True)
    assert out[-1] == pytest.approx(1.0) and out[1] == pytest.approx(1.0)
    assert bz.smooth(y, window=3, method="running")[-1] == 0.0
    # A run crossing the seam is smoothed as one run.
    y2 = np.cos(phi) + 0.0
    y2[30:40] = np.nan
    out2 = bz.smooth(y2, window=5, polyorder=2, periodic=True)
    assert np.isnan(out2[30:40]).all()
    np.testing.assert_allclose(out2[np.isfinite(out2)], y2[np.isfinite(y2)], atol=0.01)


# --------------------------------------------------------------------------- extrapolation and tables
def test_walls_rise_outward_even_when_data_edges_turn_down():
    x = np.linspace(0.3, 0.5, 21)
    U = -10 * np.sin(np.pi * (x - 0.3) / 0.2)  # a well whose edges are both at 0: edge slopes point inward
    U[[0, -1]] = np.nan
    for mode in ("linear", "quadratic"):
        xo = np.linspace(0.1, 0.7, 601)
        Uo = bz.extrapolate(x, U, xo, left=mode, right=mode)
        assert np.isfinite(Uo).all()
        left, right = xo < x[1], xo > x[-2]
        assert np.all(np.diff(Uo[left]) < 0) and np.all(np.diff(Uo[right]) > 0), mode
        assert Uo[0] > np.nanmax(U) and Uo[-1] > np.nanmax(U)
        # Inside the data the interpolant passes through every sampled point.
        np.testing.assert_allclose(bz.extrapolate(x, U, x[1:-1], left=mode, right=mode), U[1:-1], atol=1e-12)


def test_min_slope_default_is_mean_data_slope_and_constant_tail():
    x = np.linspace(0.0, 1.0, 11)
    U = 10 * (x - 0.5) ** 2  # max - min = 2.5 over span 1
    Uo = bz.extrapolate(x, U, np.array([-1.0, 2.0]), left="linear", right="constant", n_fit=2)
    assert Uo[1] == pytest.approx(U[-1])
    # Left edge slope of the data is -9.0 (fit through 2 points) -> steeper than the minimum 2.5.
    assert Uo[0] == pytest.approx(U[0] + 9.0)
    flat = np.ones(11)
    assert bz.extrapolate(x, flat, np.array([-1.0]), min_slope=4.0)[0] == pytest.approx(5.0)


def test_interior_gap_is_a_barrier():
    x = np.linspace(0, 1, 21)
    U = np.abs(x - 0.5) * 2
    U[8:13] = np.nan  # the minimum was never sampled
    Uo = bz.extrapolate(x, U, np.linspace(0.35, 0.65, 31))
    assert np.all(Uo >= min(U[7], U[13]) - 1e-12)


def test_tabulate_force_is_minus_gradient_and_grid_is_uniform():
    rng = np.random.default_rng(2)
    x = np.linspace(0.3, 0.5, 41)
    U = 0.5 * 3000 * (x - 0.41) ** 2 + rng.normal(0, 0.01, x.size)
    U[:3] = np.nan
    grid, Ug, F = bz.tabulate(x, bz.smooth(U), 0.1, 0.8, 7001, left="quadratic")
    assert np.allclose(np.diff(grid), 1e-4)
    assert np.isfinite(Ug).all() and np.isfinite(F).all()
    inner = slice(1, -1)
    np.testing.assert_allclose(F[inner], -np.gradient(Ug, grid)[inner], atol=0.05 * np.abs(F).max())
    assert F[0] > 0 and F[-1] < 0  # walls push back into the table


def test_periodic_table_is_continuous_across_the_seam():
    phi = np.linspace(-np.pi, np.pi, 73)[:-1] + np.pi / 72
    U = bz.ryckaert_bellemans(phi, [2, 1, -1, 0.5, 0, 0])
    U[40:50] = np.nan
    grid, Ug, F = bz.tabulate(phi, U, -np.pi, np.pi, 361, periodic=True)
    assert Ug[0] == pytest.approx(Ug[-1]) and F[0] == pytest.approx(F[-1])
    assert np.isfinite(Ug).all()
    full = bz.tabulate(
        phi, bz.ryckaert_bellemans(phi, [2, 1, -1, 0.5, 0, 0]), -np.pi, np.pi, 361, periodic=True
    )[1]
    np.testing.assert_allclose(full, bz.ryckaert_bellemans(grid, [2, 1, -1, 0.5, 0, 0]), atol=0.02)


# --------------------------------------------------------------------------- Ryckaert-Bellemans
def test_rb_convention_psi_is_phi_minus_180():
    C = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert bz.ryckaert_bellemans(np.pi, C) == pytest.approx(C.sum())  # trans: cos psi = 1
    assert bz.ryckaert_bellemans(np.pi / 2, C) == pytest.approx(C[0])
    assert bz.ryckaert_bellemans(0.0, C) == pytest.approx(np.sum(C * (-1.0) ** np.arange(6)))  # cis


def test_rb_fit_round_trip():
    rng = np.random.default_rng(3)
    phi = np.linspace(-np.pi, np.pi, 90, endpoint=False)
    for _ in range(5):
        C = rng.normal(0, 10, 6)
        U = bz.ryckaert_bellemans(phi, C)
        got, rmse, r2 = bz.fit_ryckaert_bellemans(phi, U, weights=rng.uniform(0.1, 1, phi.size))
        np.testing.assert_allclose(got, C, atol=1e-8)
        assert rmse < 1e-8 and r2 == pytest.approx(1.0)


def test_rb_fit_weights_ignore_nan_and_unsampled_junk():
    phi = np.linspace(-np.pi, np.pi, 120, endpoint=False)
    C = np.array([9.28, 12.16, -13.12, -3.06, 26.24, 0.0])
    U = bz.ryckaert_bellemans(phi, C)
    junk = U.copy()
    barrier = U > 20.0
    junk[barrier] = 60.0 + 10 * np.sin(7 * phi[barrier])  # what a barely sampled region looks like
    junk[::7] = np.nan
    p = np.where(barrier, 0.0, 1.0)  # the density there is zero
    got, rmse, r2 = bz.fit_ryckaert_bellemans(phi, junk, weights=p)
    np.testing.assert_allclose(got, C, atol=1e-8)
    assert rmse < 1e-8
    uniform, rmse_u, _ = bz.fit_ryckaert_bellemans(phi, junk)
    assert np.abs(uniform - C).max() > 1.0 and rmse_u > 1.0


def test_rb_fit_default_weights_are_boltzmann_factors():
    rng = np.random.default_rng(4)
    phi = np.linspace(-np.pi, np.pi, 72, endpoint=False)
    U = bz.ryckaert_bellemans(phi, [9.28, 12.16, -13.12, -3.06, 26.24, 0.0]) + rng.normal(0, 2, 72)
    by_temperature = bz.fit_ryckaert_bellemans(phi, U, temperature_K=T)
    explicit = bz.fit_ryckaert_bellemans(phi, U, weights=np.exp(-U / kT(T)))
    uniform = bz.fit_ryckaert_bellemans(phi, U)
    np.testing.assert_allclose(by_temperature[0], explicit[0], rtol=1e-9)
    assert by_temperature[1] == pytest.approx(explicit[1])
    assert not np.allclose(by_temperature[0], uniform[0], rtol=1e-3)


# --------------------------------------------------------------------------- improper
@pytest.mark.parametrize("xi0, k", [(0.0, 150.0), (12.5, 80.0), (180.0, 200.0), (-170.0, 60.0)])
def test_improper_fit_round_trip(xi0, k):
    xi = np.radians(xi0) + np.linspace(-0.6, 0.6, 61)
    xi = np.mod(xi + np.pi, 2 * np.pi) - np.pi  # wrapped, so the 180-degree case straddles the seam
    U = bz.harmonic_improper(xi, xi0, k) + 3.7  # arbitrary zero
    got_xi0, got_k, rmse, r2 = bz.fit_harmonic_improper(xi, U)
    assert got_xi0 == pytest.approx(xi0 if xi0 != -180 else 180.0, abs=1e-8)
    assert got_k == pytest.approx(k, rel=1e-10)
    assert rmse < 1e-8 and r2 == pytest.approx(1.0)


def test_improper_fit_refuses_a_hill():
    xi = np.linspace(-0.5, 0.5, 21)
    with pytest.raises(CgbenchError, match="not a well"):
        bz.fit_harmonic_improper(xi, -(xi**2))
