"""Shipped DBM models: the file round trip, the molecule hash, and refusal of another molecule."""

import numpy as np
import pytest
import torch

from cgbench.backmap import dbm
from cgbench.backmap.dbm import shipped
from cgbench.backmap.dbm.module import DBM
from cgbench.core.errors import CgbenchError
from dbm_testdata import synthetic_frames, tmbt_spec


@pytest.fixture(scope="module")
def model_file(tmbt, tmp_path_factory):
    torch.manual_seed(0)
    spec = tmbt_spec(tmbt)
    model = DBM(spec.to_dict(), n_filters=8, z_dim=8, warmup_steps=7)
    path = tmp_path_factory.mktemp("shipped") / "model.pt"
    info = shipped.export(model, path, recipe={"command": "make pretrain"}, quality={"rmsd": 0.01})
    return spec, model, path, info


def test_shipped_file_holds_weights_not_optimiser_state_and_restores_the_networks(model_file):
    spec, model, path, info = model_file
    payload = shipped.read(path)
    assert payload["recipe"]["command"] == "make pretrain" and payload["quality"]["rmsd"] == 0.01
    assert all(k.startswith(("generator.", "critic.")) for k in payload["state_dict"])
    assert info["molecule_sha256"] == shipped.molecule_hash(spec)
    back = dbm.load_model(path, "cpu")
    assert back.hparams.warmup_steps == 7 and back.spec.n_atoms == spec.n_atoms
    for k, v in model.generator.state_dict().items():
        assert torch.equal(v, back.generator.state_dict()[k]), k


def test_hash_ignores_the_start_conformation_but_not_the_force_field(tmbt):
    spec = tmbt_spec(tmbt)
    other = tmbt_spec(tmbt)
    other.template = other.template + 0.1
    assert shipped.molecule_hash(spec) == shipped.molecule_hash(other)
    other.bond_params = other.bond_params.copy()
    other.bond_params[0, 0] += 0.01
    assert shipped.molecule_hash(spec) != shipped.molecule_hash(other)
    assert shipped.differences(spec, other) == ["bond_params"]


def test_a_model_for_another_molecule_is_refused_with_the_reason(model_file, tmbt):
    spec, _, path, _ = model_file
    other = tmbt_spec(tmbt)
    # another molecule: one atom fewer in the specification
    other.elements = other.elements[:-1]
    with pytest.raises(CgbenchError, match=r"trained for another molecule.*elements \(69 entries in the model, 68"):
        dbm.load_model(path, "cpu", molecule=other)
    with pytest.raises(CgbenchError, match="another molecule"):
        shipped.build(shipped.read(path), molecule=other)


def test_a_damaged_or_foreign_file_is_not_taken_for_a_model(model_file, tmp_path):
    _, _, path, _ = model_file
    foreign = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    assert shipped.read(foreign) is None
    payload = shipped.read(path)
    payload["molecule"]["charges"][0] += 0.5
    torch.save(payload, tmp_path / "damaged.pt")
    with pytest.raises(CgbenchError, match="does not match its hash"):
        shipped.read(tmp_path / "damaged.pt")


def test_fine_tuning_starts_from_the_shipped_weights_with_its_architecture(model_file, tmbt):
    spec, model, path, _ = model_file
    spec2 = tmbt_spec(tmbt)
    spec2.template = synthetic_frames(spec2, n_frames=1).x[0, : spec2.n_atoms]
    tuned = shipped.build(shipped.read(path), molecule=spec2, overrides={"n_filters": 32, "warmup_steps": 3})
    # architecture from the file, training settings from the caller, template from this run
    assert tuned.hparams.n_filters == 8 and tuned.hparams.warmup_steps == 3
    assert np.allclose(tuned.spec.template, spec2.template)
    assert int(tuned.generator_updates) == 0
