"""Bonded rescaling: one update restores the width of a harmonic distribution."""

import numpy as np
import pandas as pd
import pytest

from cgbench.cg import rescale


def gauss_table(kind, name, x, mu, sigma):
    y = np.exp(-0.5 * ((x - mu) / sigma) ** 2)
    return pd.DataFrame({"kind": kind, "name": name, "x": x, "y": y / (y.sum() * (x[1] - x[0]))})


def test_harmonic_width_is_restored_in_one_round():
    x = np.linspace(0, 1, 2001)
    sigma_ref = 0.010
    ref = gauss_table("bond", "T-A", x, 0.43, sigma_ref)
    # a CG run with the DBI potential at scale 1 came out 1.3x too broad: sigma ~ s^-1/2
    cg = gauss_table("bond", "T-A", x, 0.43, 1.3 * sigma_ref)
    scales, report = rescale.update({}, ref, cg)
    s = scales[("bond", "T-A")]
    assert s == pytest.approx(1.3**2, rel=1e-3)
    # the model with the new scale has sigma = 1.3 sigma_ref / sqrt(s) = sigma_ref
    again = gauss_table("bond", "T-A", x, 0.43, 1.3 * sigma_ref / np.sqrt(s))
    _, report2 = rescale.update(scales, ref, again)
    assert report2["js"].iloc[0] < 1e-6 < report["js"].iloc[0]
    assert rescale.converged(report2, 1e-4) and not rescale.converged(report, 1e-4)


def test_steps_are_bounded_and_kinds_filtered():
    x = np.linspace(-180, 180, 181)
    ref = gauss_table("proper", "A-T-A-A", x, 0, 5)
    cg = gauss_table("proper", "A-T-A-A", x, 0, 60)
    scales, _ = rescale.update({("proper", "A-T-A-A"): 1.0}, ref, cg)
    assert scales[("proper", "A-T-A-A")] == rescale.MAX_FACTOR
    scales, report = rescale.update({}, ref, cg, kinds=("bond", "angle"))
    assert report.empty and scales == {}
