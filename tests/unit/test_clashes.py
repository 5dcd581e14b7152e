"""Atoms in a clash by the force field's Lennard-Jones pair energies (cgbench.geometry.clashes)."""

import numpy as np

from cgbench.geometry.clashes import lj_clash_atoms, pair_rules

#: A four-atom chain 0-1-2-3: 0-2 is a 1-3 pair (excluded), 0-3 the 1-4 pair (scaled).
BONDS = np.array([[0, 1], [1, 2], [2, 3]])
PAIRS = np.array([[0, 3]])
SIGMA = np.full(4, 0.3)
EPSILON = np.full(4, 0.3)
E_MAX = 10.0  # kJ/mol


def lj(r, sigma=0.3, epsilon=0.3):
    s6 = (sigma / r) ** 6
    return 4 * epsilon * (s6 * s6 - s6)


def r_at(energy):
    """Distance at which two atoms' LJ energy equals ``energy`` (> 0), on the repulsive side."""
    from scipy.optimize import brentq

    return brentq(lambda r: lj(r) - energy, 0.05, 0.3)


def flags(x, box=(3.0, 3.0, 3.0), fudge=0.5):
    excluded, scaled = pair_rules(4, BONDS, PAIRS)
    return lj_clash_atoms(np.asarray(x)[None], np.asarray(box)[None], 4, SIGMA, EPSILON, excluded, scaled, fudge, E_MAX)[0]


def chain(origin, spread=0.5):
    """Atoms 0-3 far apart along x (no clash among themselves), from ``origin``."""
    return np.asarray(origin) + np.arange(4)[:, None] * np.array([spread, 0.0, 0.0])


def test_pair_rules_exclude_within_three_bonds_and_scale_the_1_4_pairs():
    excluded, scaled = pair_rules(4, BONDS, PAIRS)
    assert excluded[0, 1] and excluded[0, 2] and excluded[0, 0] and not excluded[0, 3]
    assert scaled[0, 3] and scaled[3, 0] and scaled.sum() == 2


def test_an_intermolecular_overlap_is_a_clash_across_the_periodic_boundary():
    a = chain([0.1, 1.0, 1.0])
    b = chain([0.1, 2.0, 1.0])
    assert not flags(np.concatenate([a, b])).any()
    # atom 0 of b just across the x boundary from atom 0 of a: inside the energy threshold
    close, far = r_at(2 * E_MAX), r_at(0.5 * E_MAX)
    for d, expect in ((close, True), (far, False)):
        b = a + [0.0, 1.0, 0.0]
        b[0] = a[0] + [-d, 0.0, 0.0]  # x = 0.1 - d < 0: wraps to the far side of the box
        f = flags(np.concatenate([a, b]))
        assert f[0] == f[4] == expect and f.sum() == 2 * expect


def test_excluded_pairs_never_clash_and_the_1_4_pair_is_scaled():
    x = chain([0.5, 1.0, 1.0])
    x[2] = x[0] + [0.05, 0, 0]  # a 1-3 pair on top of each other: GROMACS computes no LJ for it
    assert not flags(x).any()
    # the 1-4 pair where the full LJ is 1.5 x the threshold: a clash only without the 0.5 scaling
    x = chain([0.5, 1.0, 1.0])
    x[3] = x[0] + [r_at(1.5 * E_MAX), 0, 0]
    x[1], x[2] = x[0] + [0, 0.6, 0], x[0] + [0, 1.2, 0]
    assert not flags(x, fudge=0.5).any()
    assert flags(x, fudge=1.0)[[0, 3]].all()
