"""A trained DBM as a file to ship: weights, the molecule they belong to, a hash of it, the recipe and quality.

A Lightning checkpoint carries optimiser states and the trainer's loop state (several times the
weights) and nothing that says where the model came from. A shipped model holds the generator's
and the critic's weights, the hyperparameters, the molecule specification (so it backmaps on its
own), a SHA-256 of that specification, and free-form ``recipe`` and ``quality`` records (the
command, data and seed that trained it; what it measured). Loading it for a molecule whose
specification differs is refused with the fields that differ.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

from ...core.elements import SYMBOLS, hill_formula
from ...core.errors import CgbenchError
from .molecule import MoleculeSpec

FORMAT = "cgbench-dbm-model"
VERSION = 1
#: Fields of a MoleculeSpec that do not change what a model means: the start conformation of inference.
_NOT_HASHED = ("template",)


def _canonical(spec):
    d = spec.to_dict() if isinstance(spec, MoleculeSpec) else dict(spec)
    out = {}
    for k in sorted(d):
        if k in _NOT_HASHED:
            continue
        v = d[k]
        if isinstance(v, (list, tuple)) and v and not isinstance(v[0], str):
            v = np.round(np.asarray(v, dtype=float), 6).tolist()
        elif isinstance(v, float):
            v = round(v, 6)
        out[k] = v
    return out


def molecule_hash(spec):
    """SHA-256 (hex) of a molecule specification: topology, force field, mapping, build order."""
    return hashlib.sha256(json.dumps(_canonical(spec), sort_keys=True).encode()).hexdigest()


def differences(a, b):
    """Names of the specification fields in which two molecules differ, with a short reason each."""
    ca, cb = _canonical(a), _canonical(b)
    out = []
    for k in sorted(set(ca) | set(cb)):
        va, vb = ca.get(k), cb.get(k)
        if va == vb:
            continue
        if isinstance(va, list) and isinstance(vb, list) and len(va) != len(vb):
            out.append(f"{k} ({len(va)} entries in the model, {len(vb)} here)")
        elif isinstance(va, (str, int, float)) or va is None:
            out.append(f"{k} ({va!r} in the model, {vb!r} here)")
        else:
            out.append(k)
    return out


def check_molecule(model_spec, spec, source):
    """Refuse a model trained for another molecule, naming what differs."""
    if molecule_hash(model_spec) != molecule_hash(spec):
        raise CgbenchError(f"{source} was trained for another molecule: it differs in "
                           + ", ".join(differences(model_spec, spec)))


def export(model, path, recipe=None, quality=None):
    """Write ``model`` (a :class:`~cgbench.backmap.dbm.module.DBM`) as a shipped model file.

    Returns
    -------
    dict
        ``path``, ``bytes`` and ``molecule_sha256``.
    """
    import torch

    hp = {k: v for k, v in dict(model.hparams).items() if k != "molecule"}
    state = {k: v.detach().cpu() for k, v in model.state_dict().items() if k.startswith(("generator.", "critic."))}
    mol = model.spec.to_dict()
    h = molecule_hash(model.spec)
    payload = {"format": FORMAT, "version": VERSION, "molecule": mol, "molecule_sha256": h, "hparams": hp,
               "state_dict": state, "recipe": recipe or {}, "quality": quality or {}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    torch.save(payload, part)
    part.replace(path)
    write_identity(model.spec, h, path.with_suffix(".json"))
    return {"path": str(path), "bytes": path.stat().st_size, "molecule_sha256": h}


def write_identity(spec, sha256, path):
    """The model's identity card (molecule name, formula, bead types, hash) next to its weights:
    plain JSON, so that a workflow can refuse a model of another molecule when it is planned,
    without torch (:func:`cgbench.planning.plan.model_identity`)."""
    card = {"format": FORMAT, "version": VERSION, "molecule": identity(spec), "molecule_sha256": sha256}
    Path(path).write_text(json.dumps(card, indent=1) + "\n")


def read(path):
    """The payload of a shipped model file, checked for format and integrity; None for other files."""
    import torch

    try:
        payload = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception:
        return None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        return None
    if payload.get("version") != VERSION:
        raise CgbenchError(f"{path}: model file version {payload.get('version')}, this cgbench reads {VERSION}")
    if molecule_hash(payload["molecule"]) != payload["molecule_sha256"]:
        raise CgbenchError(f"{path}: the molecule stored in the model does not match its hash (damaged file?)")
    return payload


def hparams(payload, overrides=None):
    """The payload's hyperparameters, with ``overrides`` for those that do not fix the networks'
    shapes (training settings of a fine-tune); architecture keys always come from the payload."""
    from .module import ARCHITECTURE

    hp = dict(payload["hparams"])
    hp.update({k: v for k, v in (overrides or {}).items() if k not in ARCHITECTURE})
    return hp


def build(payload, molecule=None, overrides=None):
    """A :class:`~cgbench.backmap.dbm.module.DBM` with the payload's weights.

    Parameters
    ----------
    payload : dict
        From :func:`read`.
    molecule : MoleculeSpec, optional
        The molecule to use instead of the stored one (checked against it; its template is used).
    overrides : dict, optional
        See :func:`hparams`.
    """
    from .module import DBM

    mol = payload["molecule"]
    if molecule is not None:
        check_molecule(mol, molecule, "the model")
        mol = molecule.to_dict()
    model = DBM(mol, **hparams(payload, overrides))
    missing, unexpected = model.load_state_dict(payload["state_dict"], strict=False)
    wanted = [k for k in missing if k.startswith(("generator.", "critic."))]
    if wanted or unexpected:
        raise CgbenchError(f"model weights do not fit the networks: missing {wanted[:3]}, unexpected {unexpected[:3]}")
    return model


def identity(spec):
    """The identity card of a DBM molecule (:class:`cgbench.backmap.dbm.molecule.MoleculeSpec`): name,
    formula and bead types, as :func:`cgbench.planning.plan.model_identity` reads them back."""
    symbols = [SYMBOLS.get(int(z), str(int(z))) for z in spec.elements]
    return {"name": spec.name, "formula": hill_formula(symbols),
            "bead_types": [spec.bead_type_names[int(t)] for t in spec.bead_type]}
