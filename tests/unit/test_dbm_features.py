"""Feature channels of DBM's condition."""

import numpy as np
import pytest
import torch

from cgbench.backmap.dbm.features import FeatureSpec, atom_weights, bead_weights
from dbm_testdata import one_torch_thread, tmbt_spec


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from one_torch_thread()


def test_relation_channels_follow_the_topology(tmbt):
    spec = tmbt_spec(tmbt)
    fs = FeatureSpec(spec)
    rel = fs.relation
    nbond = sum(n.startswith("bond") for n in fs.names)
    bonded = rel[..., :nbond].sum(-1)
    expect = np.zeros((spec.n_atoms, spec.n_atoms))
    expect[spec.bonds[:, 0], spec.bonds[:, 1]] = expect[spec.bonds[:, 1], spec.bonds[:, 0]] = 1
    assert np.array_equal(bonded, expect)  # one bond class per bonded pair, symmetric
    # intramolecular LJ channel exactly for pairs three or more bonds apart
    lj = rel[..., fs.names.index("lj_intra_heavy")] + rel[..., fs.names.index("lj_intra_h")]
    assert np.array_equal(lj > 0, spec.graph_distance() >= 3)
    # other molecules' atoms light only the intermolecular channels, heavy or hydrogen
    heavy = spec.elements > 1
    assert np.array_equal(fs.inter[:, fs.names.index("lj_inter_h")] > 0, ~heavy)
    assert fs.inter.sum() == spec.n_atoms
    assert fs.n_channels == len(fs.names) == fs.n_atom_channels + len(spec.bead_type_names) + 1


def test_atom_weights_hide_absent_atoms_and_use_inter_for_other_molecules(tmbt):
    spec = tmbt_spec(tmbt)
    rel, inter = FeatureSpec(spec).tables("cpu")
    target = torch.tensor([0, 0])
    local = torch.tensor([[1, 1, 2]] * 2)
    same = torch.tensor([[True, False, True]] * 2)
    present = torch.tensor([[True, True, True], [True, True, False]])
    w = atom_weights(rel, inter, target, local, same, present)
    assert torch.equal(w[0, 0], rel[0, 1]) and torch.equal(w[0, 1], inter[1])
    assert w[1, 2].abs().sum() == 0 and w[0, 2].abs().sum() > 0


def test_bead_weights_one_hot_plus_same_molecule():
    w = bead_weights(torch.tensor([[0, 1, 1]]), torch.tensor([[True, False, True]]),
                     torch.tensor([[True, True, False]]), 2)
    assert w.tolist() == [[[1, 0, 1], [0, 1, 0], [0, 0, 0]]]
