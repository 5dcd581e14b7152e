"""Molecule definitions: parsing, bead assignment, and the inputs that must be refused."""

import pytest

from cgbench.core.errors import MoleculeError
from cgbench.molecule.spec import build, load_spec, parse_smiles
from conftest import write_spec

BIPHENYL = "c1ccccc1-c1ccccc1"
PHENYL = [{"type": "A", "ring": {"size": 6, "elements": ["C"]}}]


def test_invalid_smiles_is_refused_with_reason():
    with pytest.raises(MoleculeError, match=r"invalid SMILES 'c1cccc1'.*kekulize"):
        parse_smiles("c1cccc1")
    with pytest.raises(MoleculeError, match="invalid SMILES"):
        parse_smiles("C(C")


def test_tmbt_beads_in_study_order(tmbt):
    types = [t for t, _ in tmbt.molecule.beads]
    assert types == ["T", "A", "A", "A", "A", "A", "A"]
    sizes = [len(a) for _, a in tmbt.molecule.beads]
    # triazine C3N3; inner phenyls C6H4; outer phenyls C6H5
    assert sizes == [6, 10, 11, 10, 11, 10, 11]
    assert sum(sizes) == 69
    # atoms are ordered bead by bead
    flat = [a for _, atoms in tmbt.molecule.beads for a in atoms]
    assert flat == list(range(69))


def test_bead_graph_is_depth_first(tmbt):
    cg = tmbt.cg
    bonded = {tuple(idx) for _, idx in cg.bonds}
    # T1 - A1 - A2, T1 - A3 - A4, ...: each inner phenyl is followed by its outer phenyl
    assert {(0, 1), (1, 2), (0, 3), (3, 4), (0, 5), (5, 6)} == {tuple(sorted(b)) for b in bonded}


def test_beads_that_miss_atoms_are_refused(tmp_path):
    spec = load_spec(write_spec(tmp_path, "c1ccccc1CC", PHENYL))
    with pytest.raises(MoleculeError, match=r"miss 2 heavy atom\(s\): C7 \(index 6\), C8 \(index 7\) \(and their 5 hydrogens\)"):
        build(spec)


def test_overlapping_beads_are_refused(tmp_path):
    beads = [{"type": "A", "smarts": "c1ccccc1"}, {"type": "B", "smarts": "c-c"}]
    spec = load_spec(write_spec(tmp_path, BIPHENYL, beads))
    with pytest.raises(MoleculeError, match="overlap"):
        build(spec)


def test_bead_without_heavy_atom_is_refused(tmp_path):
    beads = PHENYL + [{"type": "H", "smarts": "[#1]"}]
    spec = load_spec(write_spec(tmp_path, "c1ccccc1", beads))
    with pytest.raises(MoleculeError, match="has no heavy atom"):
        build(spec)


def test_bead_definition_that_matches_nothing_is_refused(tmp_path):
    beads = PHENYL + [{"type": "N", "smarts": "n1cncnc1"}]
    spec = load_spec(write_spec(tmp_path, BIPHENYL, beads))
    with pytest.raises(MoleculeError, match="matches nothing"):
        build(spec)


def test_unknown_key_in_molecule_yaml(tmp_path):
    path = write_spec(tmp_path, BIPHENYL, PHENYL)
    path.write_text(path.read_text() + "colour: red\n")
    with pytest.raises(MoleculeError, match="unknown keys.*colour"):
        load_spec(path)


def test_structure_is_three_dimensional_and_sane(tmbt):
    x = tmbt.molecule.positions
    assert x.shape == (69, 3)
    d = x[tmbt.topology.bonds[:, 0]] - x[tmbt.topology.bonds[:, 1]]
    lengths = (d**2).sum(axis=1) ** 0.5
    assert 0.10 < lengths.min() and lengths.max() < 0.16  # nm: C-H ~0.108, C-C ~0.14-0.149
    assert x.std(axis=0).min() > 0.05  # not flat
