"""A molecule definition (``resources/<molecule>/molecule.yaml``) and its RDKit structure.

The definition holds a name, a SMILES string, the formal charge, the force field, and bead
definitions. This module reads it, refuses what does not make sense, and builds a 3-D structure
with hydrogens whose atoms are ordered bead by bead (each heavy atom followed by its hydrogens),
so that the all-atom topology reads in the same order as the coarse-grained one.
"""

from dataclasses import dataclass, field
import os
from pathlib import Path

import numpy as np
import yaml
from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem

from ..core.errors import MoleculeError
from ..core.graph import depth_first

_KEYS = {"name", "resname", "smiles", "charge", "forcefield", "supplement", "beads", "rdf_pairs", "dbm_model"}


@dataclass
class MoleculeSpec:
    """What ``molecule.yaml`` says. ``supplement`` is the parsed force-field supplement."""

    name: str
    resname: str
    smiles: str
    charge: int = 0
    forcefield: str = "oplsaa.ff"
    supplement: dict = field(default_factory=dict)
    beads: list = field(default_factory=list)
    path: Path | None = None
    #: element pairs of the atomistic RDFs (``evaluate.rdf_pairs`` overrides; None - every heavy pair)
    rdf_pairs: list | None = None
    #: a shipped DBM model of this molecule (``dbm.train.init_from: shipped``), relative paths resolved
    dbm_model: Path | None = None


def load_spec(path):
    """Read and check a ``molecule.yaml``; the supplement path is relative to that file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise MoleculeError(f"{path}: cannot read molecule definition: {exc}") from exc
    if not isinstance(raw, dict):
        raise MoleculeError(f"{path}: expected a mapping of keys, got {type(raw).__name__}")
    unknown = set(raw) - _KEYS
    if unknown:
        raise MoleculeError(f"{path}: unknown keys {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    for key in ("name", "smiles", "beads"):
        if key not in raw:
            raise MoleculeError(f"{path}: missing required key '{key}'")
    resname = str(raw.get("resname", raw["name"]))
    if len(resname) > 5:
        raise MoleculeError(f"{path}: resname '{resname}' is longer than 5 characters (.gro limit)")
    supplement = {}
    if raw.get("supplement"):
        sup_path = (path.parent / raw["supplement"]).resolve()
        try:
            supplement = yaml.safe_load(sup_path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise MoleculeError(f"{path}: cannot read supplement {sup_path}: {exc}") from exc
    beads = raw["beads"]
    if not isinstance(beads, list) or not beads:
        raise MoleculeError(f"{path}: 'beads' must be a non-empty list")
    for i, bead in enumerate(beads):
        if not isinstance(bead, dict) or "type" not in bead:
            raise MoleculeError(f"{path}: beads[{i}] needs a 'type'")
        if ("smarts" in bead) == ("ring" in bead):
            raise MoleculeError(f"{path}: beads[{i}] needs exactly one of 'smarts' or 'ring'")
    rdf_pairs = raw.get("rdf_pairs")
    if rdf_pairs is not None and (not isinstance(rdf_pairs, list) or not rdf_pairs
                                  or not all(isinstance(p, str) and p.count("-") == 1 for p in rdf_pairs)):
        raise MoleculeError(f"{path}: 'rdf_pairs' must be a list of element pairs such as [C-C, C-N], got {rdf_pairs!r}")
    # normpath, not resolve(): the run directory may reach resources/ through a link
    dbm_model = Path(os.path.normpath(path.parent / raw["dbm_model"])) if raw.get("dbm_model") else None
    return MoleculeSpec(
        rdf_pairs=rdf_pairs,
        dbm_model=dbm_model,
        name=str(raw["name"]),
        resname=resname,
        smiles=str(raw["smiles"]),
        charge=int(raw.get("charge", 0)),
        forcefield=str(raw.get("forcefield", "oplsaa.ff")),
        supplement=supplement,
        beads=beads,
        path=path,
    )


def parse_smiles(smiles):
    """RDKit molecule with explicit hydrogens; an invalid SMILES raises with RDKit's reason."""
    log = []
    RDLogger.DisableLog("rdApp.*")
    try:
        mol = Chem.MolFromSmiles(smiles, sanitize=False)
        if mol is not None:
            try:
                Chem.SanitizeMol(mol)
            except Exception as exc:  # RDKit raises several exception types here
                log.append(str(exc))
                mol = None
    finally:
        RDLogger.EnableLog("rdApp.*")
    if mol is None:
        reason = log[0] if log else "RDKit cannot parse it"
        raise MoleculeError(f"invalid SMILES '{smiles}': {reason}")
    return Chem.AddHs(mol)


def _ring_beads(mol, ring):
    size = int(ring.get("size", 6))
    elements = set(ring.get("elements", []))
    out = []
    for atoms in mol.GetRingInfo().AtomRings():
        syms = {mol.GetAtomWithIdx(a).GetSymbol() for a in atoms}
        if len(atoms) == size and (not elements or syms == elements):
            out.append(tuple(sorted(atoms)))
    return out


def _smarts_beads(mol, smarts):
    patt = Chem.MolFromSmarts(smarts)
    if patt is None:
        raise MoleculeError(f"bead SMARTS '{smarts}' is not valid SMARTS")
    seen, out = set(), []
    for match in mol.GetSubstructMatches(patt, uniquify=True):
        key = frozenset(match)
        if key not in seen:
            seen.add(key)
            out.append(tuple(sorted(match)))
    return out


def assign_beads(mol, bead_defs):
    """Group atoms into beads.

    Parameters
    ----------
    mol : rdkit.Chem.Mol
        Molecule with explicit hydrogens.
    bead_defs : list of dict
        Each ``{type, smarts}`` or ``{type, ring: {size, elements}}``; every match is one bead.
        Hydrogens go with the heavy atom they are bonded to.

    Returns
    -------
    list of (str, tuple of int)
        Bead type and sorted atom indices, beads in depth-first order along the bead graph.

    Raises
    ------
    MoleculeError
        If a heavy atom is in no bead, an atom is in two beads, or a bead has no heavy atom.
    """
    owner = {}
    beads = []
    for d in bead_defs:
        found = _smarts_beads(mol, d["smarts"]) if "smarts" in d else _ring_beads(mol, d["ring"])
        if not found:
            what = d.get("smarts") or d.get("ring")
            raise MoleculeError(f"bead type {d['type']}: definition {what!r} matches nothing")
        for atoms in found:
            b = len(beads)
            for a in atoms:
                if a in owner:
                    other = beads[owner[a]]
                    raise MoleculeError(
                        f"bead definitions overlap: atom {_label(mol, a)} is in bead "
                        f"{owner[a]} (type {other[0]}) and bead {b} (type {d['type']})"
                    )
                owner[a] = b
            beads.append((d["type"], list(atoms)))
    for b, (btype, atoms) in enumerate(beads):
        if all(mol.GetAtomWithIdx(a).GetAtomicNum() == 1 for a in atoms):
            raise MoleculeError(f"bead {b} (type {btype}) has no heavy atom")
    # hydrogens follow their heavy atom unless a definition placed them explicitly
    for atom in mol.GetAtoms():
        if atom.GetAtomicNum() == 1 and atom.GetIdx() not in owner:
            heavy = atom.GetNeighbors()[0].GetIdx()
            if heavy in owner:
                owner[atom.GetIdx()] = owner[heavy]
                beads[owner[heavy]][1].append(atom.GetIdx())
    missing = [a.GetIdx() for a in mol.GetAtoms() if a.GetIdx() not in owner]
    heavy = [a for a in missing if mol.GetAtomWithIdx(a).GetAtomicNum() > 1]
    if missing:
        labels = ", ".join(_label(mol, a) for a in heavy or missing)
        n_h = len(missing) - len(heavy)
        hs = f" (and their {n_h} hydrogens)" if heavy and n_h else ""
        raise MoleculeError(
            f"bead definitions miss {len(heavy or missing)} {'heavy ' if heavy else ''}atom(s): "
            f"{labels}{hs}; every atom must be in a bead"
        )
    order = _bead_dfs_order(mol, beads, owner)
    return [(beads[b][0], tuple(sorted(beads[b][1]))) for b in order]


def _bead_dfs_order(mol, beads, owner):
    nb = len(beads)
    adj = [set() for _ in range(nb)]
    for bond in mol.GetBonds():
        i, j = owner[bond.GetBeginAtomIdx()], owner[bond.GetEndAtomIdx()]
        if i != j:
            adj[i].add(j)
            adj[j].add(i)
    first = {b: min(beads[b][1]) for b in range(nb)}
    # definition order decides where each component starts
    order, _ = depth_first(nb, range(nb), lambda b: sorted(adj[b], key=lambda n: -first[n]))
    return order


def _label(mol, idx):
    atom = mol.GetAtomWithIdx(idx)
    return f"{atom.GetSymbol()}{idx + 1} (index {idx})"


def bead_order(mol, beads):
    """New atom order: bead by bead, each heavy atom followed by its hydrogens."""
    order = []
    for _btype, atoms in beads:
        atoms = set(atoms)
        for a in sorted(atoms):
            atom = mol.GetAtomWithIdx(a)
            if atom.GetAtomicNum() == 1:
                continue
            order.append(a)
            hs = [n.GetIdx() for n in atom.GetNeighbors() if n.GetAtomicNum() == 1]
            order.extend(h for h in sorted(hs) if h in atoms)
        order.extend(a for a in sorted(atoms) if a not in order)  # H placed in another bead
    return order


def embed_3d(mol, seed):
    """Add a 3-D conformer (ETKDG, then MMFF94 relaxation); positions in nm.

    Returns
    -------
    ndarray, shape (n_atoms, 3)
        Coordinates in nm.
    """
    mol = Chem.Mol(mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed)
    if AllChem.EmbedMolecule(mol, params) != 0:
        raise MoleculeError("RDKit could not embed a 3-D structure for this molecule")
    if AllChem.MMFFHasAllMoleculeParams(mol):
        AllChem.MMFFOptimizeMolecule(mol, maxIters=2000)
    return mol, mol.GetConformer().GetPositions() / 10.0


@dataclass
class Molecule:
    """A molecule ready for topology building: RDKit graph in bead order, 3-D positions, beads."""

    spec: MoleculeSpec
    mol: Chem.Mol
    positions: np.ndarray  #: (n_atoms, 3) nm
    beads: list  #: [(type, atom indices)] in the new atom order
    atom_names: list


def build(spec, seed=1):
    """Parse, check and order a molecule, and give it a 3-D structure."""
    mol = parse_smiles(spec.smiles)
    beads = assign_beads(mol, spec.beads)
    order = bead_order(mol, beads)
    mol = Chem.RenumberAtoms(mol, order)
    beads = assign_beads(mol, spec.beads)
    mol, pos = embed_3d(mol, seed)
    return Molecule(spec, mol, pos, beads, atom_names(mol))


def atom_names(mol):
    """Element symbol plus a per-element counter (C1, C2, ..., N1, H1); at most 5 characters."""
    counts, names = {}, []
    for atom in mol.GetAtoms():
        sym = atom.GetSymbol()
        counts[sym] = counts.get(sym, 0) + 1
        name = f"{sym}{counts[sym]}"
        if len(name) > 5:
            raise MoleculeError(f"atom name {name} is longer than 5 characters (.gro limit)")
        names.append(name)
    return names
