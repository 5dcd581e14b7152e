"""The plan's view of a molecule and its checks of a config against it (no job, no 3-D structure)."""

import json
from pathlib import Path

import pytest
import yaml

from cgbench.core.elements import element_pairs, hill_formula
from cgbench.planning import plan
from cgbench.core.config import validate
from cgbench.core.errors import MoleculeError

ROOT = Path(__file__).resolve().parents[2]
TMBT = ROOT / "resources" / "tmbt" / "molecule.yaml"
TPB = ROOT / "resources" / "tpb" / "molecule.yaml"


def config(molecule, **sections):
    cfg = {"molecule": str(molecule)}
    cfg.update(sections)
    return validate(cfg)


def test_outlines_of_the_two_shipped_molecules():
    tmbt = plan.outline(TMBT)
    assert (tmbt.formula, tmbt.n_atoms, tmbt.n_beads) == ("C39H27N3", 69, 7)
    assert tmbt.heavy_elements == ["C", "N"] and tmbt.bead_pairs() == ["T-T", "T-A", "A-A"]
    assert tmbt.interactions == {"bonds": ["A-A", "T-A"], "angles": ["A-T-A", "T-A-A"],
                                 "propers": ["A-T-A-A"], "impropers": ["T-A-A-A"]}
    assert tmbt.rdf_pairs == ["C-C", "C-N", "N-N"] and tmbt.dbm_model.endswith("resources/tmbt/dbm/model.pt")
    tpb = plan.outline(TPB)
    assert (tpb.formula, tpb.n_atoms, tpb.bead_types) == ("C24H18", 42, ["B", "P", "P", "P"])
    assert tpb.heavy_elements == ["C"] and tpb.bead_pairs() == ["B-B", "B-P", "P-P"]
    assert tpb.interactions == {"bonds": ["B-P"], "angles": ["P-B-P"], "propers": [], "impropers": ["B-P-P-P"]}
    assert tpb.rdf_pairs is None and tpb.dbm_model is None


def test_hill_formula():
    assert hill_formula(["H", "C", "O", "H", "C", "N"]) == "C2H2NO"
    assert hill_formula(["O", "H", "H"]) == "H2O"


def test_rdf_pairs_come_from_config_then_molecule_then_its_elements():
    tmbt, tpb = plan.outline(TMBT), plan.outline(TPB)
    assert plan.rdf_pairs(config(TMBT), tmbt) == ["C-C", "C-N", "N-N"]
    assert plan.rdf_pairs(config(TPB), tpb) == ["C-C"]
    assert plan.rdf_pairs(config(TMBT, evaluate={"rdf_pairs": ["N-N"]}), tmbt) == ["N-N"]
    assert element_pairs(["C", "N", "O"]) == ["C-C", "C-N", "C-O", "N-N", "N-O", "O-O"]


def test_a_pair_of_an_element_the_molecule_lacks_is_a_problem_naming_the_key():
    tpb = plan.outline(TPB)
    problems, _ = plan.check(config(TPB, evaluate={"rdf_pairs": ["C-C", "C-N"]}, dbm={"train": {"init_from": None}}), tpb)
    assert len(problems) == 1
    assert problems[0].startswith("evaluate.rdf_pairs: 'C-N' names N, which TPB (C24H18) does not have")
    problems, _ = plan.check(config(TPB, evaluate={"rdf_pairs": ["C-C", "C-C"]}), tpb)
    assert problems == ["evaluate.rdf_pairs: ['C-C', 'C-C'] names a pair twice"]


def test_the_schema_refuses_a_pair_that_is_not_two_elements():
    with pytest.raises(Exception, match="evaluate.rdf_pairs.0"):
        config(TPB, evaluate={"rdf_pairs": ["carbon"]})


def test_a_model_asking_for_an_absent_kind_is_a_warning_not_a_problem():
    problems, warnings = plan.check(config(TPB), plan.outline(TPB))
    assert problems == []
    proper = [w for w in warnings if ".proper:" in w]
    # the default models A and B ask for proper dihedrals; C does not
    assert [w.split(":")[0] for w in proper] == ["cg_models.A.proper", "cg_models.B.proper"]
    assert "TPB has no CG proper interaction (its bonded kinds: bonds, angles, impropers)" in proper[0]
    problems, warnings = plan.check(config(TMBT), plan.outline(TMBT))
    assert problems == [] and warnings == []


def test_a_dbm_model_of_another_molecule_is_refused_when_planned():
    tpb = plan.outline(TPB)
    model = str(ROOT / "resources" / "tmbt" / "dbm" / "model.pt")
    problems, _ = plan.check(config(TPB, dbm={"train": {"init_from": model}}), tpb)
    assert len(problems) == 1 and problems[0].startswith(f"dbm.train.init_from: {model} was trained for TMBT")
    assert "formula C39H27N3 (this run: C24H18)" in problems[0] and "beads T-A-A-A-A-A-A (this run: B-P-P-P)" in problems[0]
    problems, _ = plan.check(config(TMBT, dbm={"train": {"init_from": model}}), plan.outline(TMBT))
    assert problems == []
    problems, _ = plan.check(config(TMBT, dbm={"train": {"init_from": "nowhere/model.pt"}}), plan.outline(TMBT))
    assert problems == ["dbm.train.init_from: file 'nowhere/model.pt' does not exist"]


def test_shipped_means_the_molecules_own_model_or_none():
    tmbt, tpb = plan.outline(TMBT), plan.outline(TPB)
    shipped = {"train": {"init_from": "shipped"}}
    assert plan.init_from(config(TMBT, dbm=shipped), tmbt) == tmbt.dbm_model
    assert plan.init_from(config(TPB, dbm=shipped), tpb) is None
    _, warnings = plan.check(config(TPB, dbm=shipped), tpb)
    assert any(w.startswith("dbm.train.init_from: TPB ships no DBM model") for w in warnings)
    # no model to backmap the self frames with: said, and training keeps to the reference frames
    _, warnings = plan.check(config(TPB, dbm={"train": {"init_from": "shipped", "self_frames": 4}}), tpb)
    assert any(w.startswith("dbm.train.self_frames: DBM trains from scratch") for w in warnings)
    _, warnings = plan.check(config(TMBT, dbm={"train": {"init_from": "shipped", "self_frames": 4}}), tmbt)
    assert not any(w.startswith("dbm.train.self_frames") for w in warnings)


def test_the_shipped_model_card_matches_the_weights():
    card = json.loads((ROOT / "resources" / "tmbt" / "dbm" / "model.json").read_text())
    pytest.importorskip("torch")
    from cgbench.backmap.dbm import shipped
    from cgbench.backmap.dbm.molecule import MoleculeSpec

    payload = shipped.read(ROOT / "resources" / "tmbt" / "dbm" / "model.pt")
    assert card["molecule_sha256"] == payload["molecule_sha256"]
    assert card["molecule"] == shipped.identity(MoleculeSpec.from_dict(payload["molecule"]))
    assert plan.model_identity(ROOT / "resources" / "tmbt" / "dbm" / "model.pt")["formula"] == "C39H27N3"


def test_a_bad_rdf_pairs_entry_in_a_molecule_file_is_refused(tmp_path):
    spec = yaml.safe_load(TPB.read_text())
    spec["rdf_pairs"] = "C-C"
    spec["supplement"] = str(TPB.parent / spec["supplement"])
    path = tmp_path / "molecule.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(MoleculeError, match="'rdf_pairs' must be a list of element pairs"):
        plan.outline(path)


def test_per_pair_ibi_keys_must_name_pairs_of_the_molecules_bead_types():
    tpb = plan.outline(TPB)
    cfg = config(TPB, dbm={"train": {"init_from": None}},
                 ibi={"pair_step_nm": {"T-T": 0.02}, "pressure_pairs": ["P-B"],
                      "convergence": {"rdf_l2_nm_pairs": {"B-P": 0.003, "A-A": 0.003}}})
    problems, _ = plan.check(cfg, tpb)
    assert problems == [
        "ibi.pair_step_nm: 'T-T' is not a pair of TPB's bead types; its pairs are B-B, B-P, P-P",
        "ibi.pressure_pairs: 'P-B' is not a pair of TPB's bead types; its pairs are B-B, B-P, P-P",
        "ibi.convergence.rdf_l2_nm_pairs: 'A-A' is not a pair of TPB's bead types; its pairs are B-B, B-P, P-P",
    ]
    tmbt = plan.outline(TMBT)
    problems, _ = plan.check(config(TMBT, ibi={"pair_step_nm": {"T-T": 0.02}}), tmbt)
    assert problems == []
    # epochs 0 takes the starting model as it is: refused where there is none
    problems, _ = plan.check(config(TPB, dbm={"train": {"init_from": "shipped", "epochs": 0}}), tpb)
    assert any(p.startswith("dbm.train.epochs: 0 takes the starting model as it is") for p in problems)
    problems, _ = plan.check(config(TMBT, dbm={"train": {"init_from": "shipped", "epochs": 0}}), tmbt)
    assert not any(p.startswith("dbm.train.epochs") for p in problems)
