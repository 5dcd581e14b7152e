"""CG topology derived from the bead graph, and its VOTCA export."""

import xml.etree.ElementTree as ET

import numpy as np

from cgbench.molecule import cgtopology
from cgbench.molecule.cgtopology import CGTopology


def test_tmbt_interactions_match_the_study(tmbt):
    cg = tmbt.cg
    assert cg.interaction_types("bonds") == ["A-A", "T-A"]
    assert cg.interaction_types("angles") == ["A-T-A", "T-A-A"]
    assert cg.interaction_types("propers") == ["A-T-A-A"]
    assert cg.interaction_types("impropers") == ["T-A-A-A"]
    counts = {k: len(getattr(cg, k)) for k in cgtopology.KINDS}
    assert counts == {"bonds": 6, "angles": 6, "propers": 6, "impropers": 1}
    # T is the centre of the improper
    assert cg.impropers[0][1] == (0, 1, 3, 5)


def test_chain_derivation():
    # a linear chain of 5 beads: 4 bonds, 3 angles, 2 dihedrals, no improper
    cg = cgtopology.derive("chain", list("abcde"), ["P", "Q", "Q", "Q", "P"], np.ones(5),
                           [(0, 1), (1, 2), (2, 3), (3, 4)])
    assert len(cg.bonds) == 4 and len(cg.angles) == 3 and len(cg.propers) == 2 and not cg.impropers
    assert cg.interaction_types("bonds") == ["P-Q", "Q-Q"]
    assert cg.interaction_types("propers") == ["P-Q-Q-Q"]


def test_exclusions_cover_every_bonded_pair(tmbt):
    excl = cgtopology.exclusion_pairs(tmbt.cg)
    # 21 bead pairs in TMBT; only the three outer-outer phenyl pairs share no interaction
    assert len(excl) == 18
    assert {(2, 4), (2, 6), (4, 6)}.isdisjoint(excl)


def test_dict_round_trip(tmbt):
    back = CGTopology.from_dict(tmbt.cg.to_dict())
    assert back.propers == [(t, tuple(i)) for t, i in tmbt.cg.propers]


def test_votca_mapping_xml(tmbt):
    text = cgtopology.votca_mapping_xml(tmbt.cg, tmbt.mapping, tmbt.topology.atom_names, "TMBT")
    root = ET.fromstring(text)
    beads = root.findall("topology/cg_beads/cg_bead")
    assert [b.find("type").text for b in beads] == list("TAAAAAA")
    atoms = sum(len(b.find("beads").text.split()) for b in beads)
    assert atoms == 69
    maps = {m.find("name").text: m.find("weights").text.split() for m in root.findall("maps/map")}
    assert len(maps["map_T1"]) == 6
    names = [e.find("name").text for e in root.find("topology/cg_bonded")]
    assert names == ["bond_A_A", "bond_T_A", "angle_A_T_A", "angle_T_A_A", "dihedral_A_T_A_A", "improper_T_A_A_A"]
