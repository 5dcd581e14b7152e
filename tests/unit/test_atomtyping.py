"""OPLS-AA atom types and the charge rule."""

from collections import Counter

import numpy as np
import pytest

from cgbench.molecule.atomtyping import assign_types
from cgbench.core.errors import MoleculeError
from cgbench.molecule.spec import load_spec, parse_smiles
from cgbench.molecule.oplsaa import read_forcefield
from conftest import needs_gmx

pytestmark = needs_gmx  # the atom types come from GROMACS' oplsaa.ff


@pytest.fixture(scope="module")
def ff():
    return read_forcefield("oplsaa.ff")


@pytest.fixture(scope="module")
def rules(root):
    return load_spec(root / "resources/tmbt/molecule.yaml").supplement["atom_types"]


def test_tmbt_types(tmbt):
    counts = Counter(tmbt.topology.types)
    assert counts == {"opls_641": 3, "opls_642": 3, "opls_145": 36, "opls_146": 27}


def test_tmbt_is_neutral_by_the_documented_rule(tmbt):
    top = tmbt.topology
    q = top.charges
    assert abs(q.sum()) < 1e-9
    n_h = np.array([sum(1 for n in a.GetNeighbors() if n.GetAtomicNum() == 1) for a in tmbt.molecule.mol.GetAtoms()])
    t = np.array(top.types)
    # a carbon that lost its H to a ring link carries the H's charge
    link_phenyl = (t == "opls_145") & (n_h == 0)
    assert link_phenyl.sum() == 9 and np.allclose(q[link_phenyl], 0.0)
    assert np.allclose(q[t == "opls_642"], 0.965 - 0.014)
    assert np.allclose(q[(t == "opls_145") & (n_h == 1)], -0.115)
    assert np.allclose(q[t == "opls_146"], 0.115)
    assert np.allclose(q[t == "opls_641"], -0.951)


def test_masses_and_lj_come_from_oplsaa(tmbt, ff):
    top = tmbt.topology
    for i, name in enumerate(top.types):
        at = ff.atomtypes[name]
        assert top.masses[i] == at.mass and top.sigma[i] == at.sigma and top.epsilon[i] == at.epsilon


def test_atom_without_type_is_refused(ff, rules):
    mol = parse_smiles("Clc1ccccc1")  # no rule for Cl, nor for the C that holds it
    with pytest.raises(MoleculeError, match=r"2 atom\(s\) have no OPLS-AA type: atom 1 \(Cl"):
        assign_types(mol, rules, ff)


def test_charges_that_do_not_add_up_are_refused(ff, rules):
    mol = parse_smiles("c1ccccc1")
    with pytest.raises(MoleculeError, match=r"add up to [+-]0.0000 e, not the formal charge \+1"):
        assign_types(mol, rules, ff, formal_charge=1)


def test_rule_naming_a_missing_type_is_refused(ff):
    mol = parse_smiles("c1ccccc1")
    with pytest.raises(MoleculeError, match="opls_9999"):
        assign_types(mol, [{"smarts": "[#6]", "type": "opls_9999"}, {"smarts": "[#1]", "type": "opls_146"}], ff)


def test_rule_with_wrong_element_is_refused(ff):
    mol = parse_smiles("c1ccccc1")
    with pytest.raises(MoleculeError, match="element 6 but rule 0 gives it opls_146"):
        assign_types(mol, [{"smarts": "[#6]", "type": "opls_146"}, {"smarts": "[#1]", "type": "opls_146"}], ff)
