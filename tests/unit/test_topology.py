"""All-atom bonded lists and parameters."""

import numpy as np
import pytest

from cgbench.molecule.atomtyping import assign_types
from cgbench.core.errors import MoleculeError
from cgbench.molecule.spec import build, load_spec
from cgbench.molecule.oplsaa import read_forcefield
from cgbench.molecule.topology import Topology, build_topology, format_itp, graph_interactions
from conftest import needs_gmx

pytestmark = needs_gmx


def test_benzene_graph():
    from cgbench.molecule.spec import parse_smiles

    inter = graph_interactions(parse_smiles("c1ccccc1"))
    assert len(inter["bonds"]) == 12
    assert len(inter["angles"]) == 18  # 6 C-C-C + 12 C-C-H
    # per ring bond: 2x2 neighbour combinations = 4 dihedrals; 6 bonds -> 24; C-H bonds give none
    assert len(inter["propers"]) == 24
    assert len(inter["impropers"]) == 6
    # 1-4 pairs: C-C para (3), C-H meta... every pair at graph distance 3
    assert len(inter["pairs"]) == 3 + 12 + 6
    assert all(len(set(d)) == 4 for d in inter["propers"])


def test_tmbt_counts(tmbt):
    top = tmbt.topology
    assert (len(top.bonds), len(top.angles), len(top.propers), len(top.impropers), len(top.pairs)) == (
        75, 120, 180, 39, 159,
    )


def test_links_use_explicit_parameters(tmbt):
    top = tmbt.topology
    link = [i for i, (a, b) in enumerate(top.bonds) if top.types[a] != "opls_146" and top.types[b] != "opls_146"
            and tmbt.mapping.bead_of_atom[a] != tmbt.mapping.bead_of_atom[b]]
    assert len(link) == 6
    assert np.allclose(top.bond_params[link], [0.146, 322168.0])
    # in-ring aromatic bonds keep oplsaa.ff's CA-CA
    ring = [i for i, (a, b) in enumerate(top.bonds) if top.bond_types[a] == top.bond_types[b] == "CA"
            and tmbt.mapping.bead_of_atom[a] == tmbt.mapping.bead_of_atom[b]]
    assert np.allclose(top.bond_params[ring], [0.140, 392459.2])
    # biphenyl torsions are not the flat aromatic 30.334 kJ/mol term
    rb = top.proper_params
    assert sum(np.allclose(r, [0.84375, 0, -6.375, 0, 6.25, 0]) for r in rb) == 12
    assert sum(np.allclose(r, [3.0, 0, -3.0, 0, 0, 0]) for r in rb) == 12


def test_missing_parameters_are_listed(root, tmp_path):
    spec = load_spec(root / "resources/tmbt/molecule.yaml")
    spec.supplement = dict(spec.supplement, bonded=[])
    ff = read_forcefield(spec.forcefield)
    mol = build(spec)
    typing = assign_types(mol.mol, spec.supplement["atom_types"], ff)
    with pytest.raises(MoleculeError) as err:
        build_topology(mol, typing, ff)
    msg = str(err.value)
    assert "bond CQ-CA: 3 interaction(s)" in msg
    assert "angle CA-CA-CQ" in msg or "angle CQ-CA-CA" in msg
    assert "dihedral" in msg and "overrides" in msg


def test_npz_round_trip(tmbt, tmp_path):
    path = tmp_path / "top.npz"
    tmbt.topology.save_npz(path)
    back = Topology.load_npz(path)
    assert back.atom_names == tmbt.topology.atom_names and back.name == "TMBT"
    np.testing.assert_array_equal(back.propers, tmbt.topology.propers)
    np.testing.assert_array_equal(back.proper_params, tmbt.topology.proper_params)


def test_itp_lists_every_interaction(tmbt):
    text = format_itp(tmbt.topology)
    sections = {}
    current = None
    for line in text.splitlines():
        if line.startswith("["):
            current = line
            sections.setdefault(current, 0)
        elif current and line.strip() and not line.startswith(";"):
            sections[current] += 1
    assert sections["[ atoms ]"] == 69
    assert sections["[ bonds ]"] == 75
    assert sections["[ pairs ]"] == 159
    assert sections["[ angles ]"] == 120
    assert sections["[ dihedrals ]"] == 180 + 39
