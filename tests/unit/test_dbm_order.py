"""Reconstruction order of DBM: beads depth-first, heavy atoms before hydrogens."""

import numpy as np

from cgbench.backmap.dbm.order import atom_order, bead_dfs, reconstruction_order
from dbm_testdata import tmbt_spec


def test_bead_dfs_visits_parents_first_and_goes_deep():
    # a branched chain 0-1-2, 0-3-4, 3-5
    order, parent = bead_dfs(6, [(0, 1), (1, 2), (0, 3), (3, 4), (3, 5)])
    assert order.tolist() == [0, 1, 2, 3, 4, 5]
    assert parent.tolist() == [-1, 0, 1, 0, 3, 3]


def test_atom_order_heavy_first_from_the_link_atom():
    # bead 0: atoms 0-1-2 with H 3 on 2 and H 4 on 0; bead 1: atom 5 bonded to atom 2
    bonds = np.array([(0, 1), (1, 2), (2, 3), (0, 4), (2, 5)])
    elements = np.array([6, 6, 6, 1, 1, 6])
    out = atom_order(np.array([0, 0, 0, 0, 0, 1]), elements, bonds, reference=np.array([1, 0]))
    assert out[0].tolist() == [2, 1, 0, 3, 4]  # starts at the atom bonded to bead 1; H in host rank
    assert out[1].tolist() == [5, -1, -1, -1, -1]


def test_tmbt_order_covers_every_atom_once(tmbt):
    spec = tmbt_spec(tmbt)
    flat = spec.bead_atoms[spec.bead_atoms >= 0]
    assert sorted(flat.tolist()) == list(range(spec.n_atoms))
    rank = np.empty(spec.n_beads, int)
    rank[spec.bead_order] = np.arange(spec.n_beads)
    for b in range(spec.n_beads):
        atoms = spec.bead_atoms[b][spec.bead_atoms[b] >= 0]
        assert np.all(spec.bead_of_atom[atoms] == b)
        h = spec.elements[atoms] == 1
        assert not np.any(np.diff(h.astype(int)) < 0)  # no heavy atom after a hydrogen
        if spec.bead_parent[b] >= 0:
            assert rank[spec.bead_parent[b]] < rank[b]
        # the reference neighbour is bonded (CG) to the bead
        pair = sorted((b, int(spec.bead_reference[b])))
        assert pair in spec.bead_bonds.tolist()


def test_order_survives_a_round_trip_through_a_dict(tmbt):
    from cgbench.backmap.dbm.molecule import MoleculeSpec

    spec = tmbt_spec(tmbt)
    back = MoleculeSpec.from_dict(spec.to_dict())
    assert np.array_equal(back.bead_atoms, spec.bead_atoms) and np.allclose(back.template, spec.template)
    assert np.allclose(back.proper_params, spec.proper_params) and back.resname == spec.resname
    r = reconstruction_order(spec.bead_of_atom, spec.elements, spec.bonds, spec.bead_bonds)
    assert np.array_equal(r.bead_atoms, spec.bead_atoms)
