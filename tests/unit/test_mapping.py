"""Centre-of-mass mapping (Eqs. 1-2) and force mapping (Eq. 6)."""

import numpy as np
import pytest

from cgbench.core.errors import MoleculeError
from cgbench.molecule.mapping import Mapping, make_mapping, map_forces, map_positions


@pytest.fixture
def toy():
    # two beads: atoms 0,1 (masses 12, 1) and atoms 2,3,4 (masses 14, 1, 1)
    return make_mapping([("X", (0, 1)), ("Y", (2, 3, 4))], [12.0, 1.0, 14.0, 1.0, 1.0])


def test_weights_are_mass_fractions(toy):
    w = toy.com_weights()
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(w[0, :2], [12 / 13, 1 / 13])
    np.testing.assert_allclose(w[1, 2:], [14 / 16, 1 / 16, 1 / 16])
    assert np.all(w[0, 2:] == 0) and np.all(w[1, :2] == 0)
    assert toy.bead_names == ["X1", "Y1"]


def test_com_of_a_translated_system_translates(toy):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 2 * 5, 3))  # 3 frames, 2 molecules
    shift = np.array([0.3, -1.2, 2.0])
    r0 = map_positions(x, toy.com_weights())
    r1 = map_positions(x + shift, toy.com_weights())
    assert r0.shape == (3, 4, 3)
    np.testing.assert_allclose(r1 - r0, np.broadcast_to(shift, r0.shape))
    # molecule 2, bead Y by hand
    m = np.array([14.0, 1.0, 1.0])
    np.testing.assert_allclose(r0[1, 3], (m[:, None] * x[1, 7:10]).sum(0) / m.sum())


def test_net_and_mean_forces(toy):
    f = np.arange(30, dtype=float).reshape(2 * 5, 3)
    net = map_forces(f, toy.membership())
    mean = map_forces(f, toy.membership(), mean=True)
    np.testing.assert_allclose(net[0], f[0] + f[1])
    np.testing.assert_allclose(net[3], f[7] + f[8] + f[9])
    np.testing.assert_allclose(mean[3], (f[7] + f[8] + f[9]) / 3)
    # total force is conserved by the net mapping, not by the mean
    np.testing.assert_allclose(net.sum(0), f.sum(0))


def test_tmbt_bead_masses(tmbt):
    m = tmbt.mapping.bead_masses()
    assert m[0] == pytest.approx(3 * 12.011 + 3 * 14.0067)
    assert m[1] == pytest.approx(6 * 12.011 + 4 * 1.008)
    assert m[2] == pytest.approx(6 * 12.011 + 5 * 1.008)
    assert m.sum() == pytest.approx(tmbt.topology.masses.sum())


def test_dict_round_trip(tmbt):
    back = Mapping.from_dict(tmbt.mapping.to_dict())
    np.testing.assert_array_equal(back.com_weights(), tmbt.mapping.com_weights())


def test_shared_atoms_are_refused():
    with pytest.raises(MoleculeError, match="shares atoms"):
        make_mapping([("X", (0, 1)), ("Y", (1, 2))], [1.0, 1.0, 1.0])
