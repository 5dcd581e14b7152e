"""OPLS-AA atom types and charges from ordered SMARTS rules.

Each rule is ``{smarts, type, charge?, why}``; the first rule whose SMARTS matches an atom as the
pattern's first atom types it. Mass, Lennard-Jones parameters, bonded type and the default charge
come from the force field's ``ffnonbonded.itp``; a rule's ``charge`` overrides the default (the
charge rule is documented in ``resources/oplsaa/supplement.yaml``).
"""

from dataclasses import dataclass

import numpy as np
from rdkit import Chem

from ..core.errors import MoleculeError

#: Largest |total charge - formal charge| accepted, in e.
CHARGE_TOLERANCE = 1e-6


@dataclass
class AtomTyping:
    """Per-atom force-field data, arrays of length n_atoms."""

    types: list  #: OPLS-AA type names, e.g. ``opls_145``
    bond_types: list  #: bonded type names, e.g. ``CA``
    masses: np.ndarray  #: amu
    charges: np.ndarray  #: e
    sigma: np.ndarray  #: nm
    epsilon: np.ndarray  #: kJ/mol
    rules: list  #: index of the rule that typed each atom


def _compile(rules):
    compiled = []
    for i, rule in enumerate(rules):
        for key in ("smarts", "type"):
            if key not in rule:
                raise MoleculeError(f"atom-type rule {i} has no '{key}': {rule}")
        patt = Chem.MolFromSmarts(rule["smarts"])
        if patt is None:
            raise MoleculeError(f"atom-type rule {i}: invalid SMARTS '{rule['smarts']}'")
        compiled.append(patt)
    return compiled


def assign_types(mol, rules, forcefield, formal_charge=0):
    """Type every atom of ``mol`` and check that the charges add up.

    Parameters
    ----------
    mol : rdkit.Chem.Mol
        Molecule with explicit hydrogens.
    rules : list of dict
        Ordered typing rules (see module docstring).
    forcefield : cgbench.molecule.oplsaa.ForceField
        Source of atom-type parameters.
    formal_charge : int
        The molecule's net charge in e.

    Raises
    ------
    MoleculeError
        An atom matches no rule, a rule names a type the force field lacks, or the charges do not
        add up to ``formal_charge``.
    """
    n = mol.GetNumAtoms()
    rule_of = np.full(n, -1)
    for r, patt in enumerate(_compile(rules)):
        for match in mol.GetSubstructMatches(patt, uniquify=False):
            if rule_of[match[0]] < 0:
                rule_of[match[0]] = r
    untyped = np.flatnonzero(rule_of < 0)
    if untyped.size:
        desc = "; ".join(_describe(mol, int(i)) for i in untyped[:5])
        more = f" (and {untyped.size - 5} more)" if untyped.size > 5 else ""
        raise MoleculeError(
            f"{untyped.size} atom(s) have no OPLS-AA type: {desc}{more}. "
            "Add a SMARTS rule for them to the supplement's atom_types."
        )
    types, btypes = [], []
    masses, charges, sigma, eps = (np.zeros(n) for _ in range(4))
    for i in range(n):
        rule = rules[rule_of[i]]
        at = forcefield.atomtypes.get(rule["type"])
        if at is None:
            raise MoleculeError(
                f"atom-type rule {rule_of[i]} names '{rule['type']}', "
                f"which {forcefield.path}/ffnonbonded.itp does not define"
            )
        element = mol.GetAtomWithIdx(i).GetAtomicNum()
        if at.element != element:
            raise MoleculeError(
                f"{_describe(mol, i)} is element {element} but rule {rule_of[i]} gives it "
                f"{at.name}, an atom type of element {at.element}"
            )
        types.append(at.name)
        btypes.append(at.bond_type)
        masses[i], sigma[i], eps[i] = at.mass, at.sigma, at.epsilon
        charges[i] = float(rule.get("charge", at.charge))
    total = charges.sum()
    if abs(total - formal_charge) > CHARGE_TOLERANCE:
        raise MoleculeError(
            f"charges add up to {total:+.4f} e, not the formal charge {formal_charge:+d} e; "
            "fix the charge rules in the supplement's atom_types"
        )
    return AtomTyping(types, btypes, masses, charges, sigma, eps, list(rule_of))


def _describe(mol, i):
    atom = mol.GetAtomWithIdx(i)
    kind = "aromatic " if atom.GetIsAromatic() else ""
    return (
        f"atom {i + 1} ({kind}{atom.GetSymbol()}, {atom.GetDegree()} neighbours, "
        f"{atom.GetTotalNumHs()} H)"
    )
