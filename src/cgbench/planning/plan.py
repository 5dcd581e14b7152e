"""What the workflow knows before any job runs: the molecule's outline, and whether the config fits it.

The outline comes from the molecule definition alone (SMILES, bead definitions; RDKit, no 3-D
embedding, well under a second), so the Snakefile can refuse a config that asks for something the
molecule does not have before an hour of MD, not after it.
"""

from dataclasses import dataclass, field
import itertools
import json
from pathlib import Path

from ..molecule import cgtopology
from ..core.elements import SYMBOLS, element_pairs, hill_formula



@dataclass
class Outline:
    """One molecule as the plan sees it."""

    name: str
    formula: str  #: Hill order, e.g. C39H27N3
    n_atoms: int  #: hydrogens included
    bead_types: list  #: per bead, in the mapping's (depth-first) order
    type_order: list  #: bead types in definition order
    heavy_elements: list  #: symbols, by atomic number
    interactions: dict = field(default_factory=dict)  #: kind (bonds, angles, propers, impropers) -> type names
    rdf_pairs: list | None = None  #: the molecule file's element pairs of the atomistic RDFs
    dbm_model: str | None = None  #: the molecule file's shipped DBM model

    @property
    def n_beads(self):
        return len(self.bead_types)

    def bead_pairs(self):
        """Non-bonded bead-type pairs in the order the IBI uses (T-T, T-A, A-A for TMBT)."""
        return [f"{a}-{b}" for a, b in itertools.combinations_with_replacement(self.type_order, 2)]


def outline(spec_path):
    """The :class:`Outline` of a ``molecule.yaml``; a definition that makes no sense raises
    :class:`~cgbench.core.errors.MoleculeError` with the reason."""
    # RDKit only when a molecule is outlined, not when the plan is imported
    from ..molecule.spec import assign_beads, load_spec, parse_smiles

    spec = load_spec(spec_path)
    mol = parse_smiles(spec.smiles)
    beads = assign_beads(mol, spec.beads)
    owner = {a: b for b, (_t, atoms) in enumerate(beads) for a in atoms}
    pairs = sorted({tuple(sorted((owner[bd.GetBeginAtomIdx()], owner[bd.GetEndAtomIdx()])))
                    for bd in mol.GetBonds() if owner[bd.GetBeginAtomIdx()] != owner[bd.GetEndAtomIdx()]})
    types = [t for t, _ in beads]
    type_order = list(dict.fromkeys(d["type"] for d in spec.beads))
    top = cgtopology.derive(spec.name, [f"{t}{i}" for i, t in enumerate(types)], types, [1.0] * len(types),
                            pairs, type_order)
    numbers = sorted({a.GetAtomicNum() for a in mol.GetAtoms() if a.GetAtomicNum() > 1})
    return Outline(
        name=spec.name,
        formula=hill_formula(a.GetSymbol() for a in mol.GetAtoms()),
        n_atoms=mol.GetNumAtoms(),
        bead_types=types,
        type_order=type_order,
        heavy_elements=[SYMBOLS.get(z, str(z)) for z in numbers],
        interactions={kind: top.interaction_types(kind) for kind in cgtopology.KINDS},
        rdf_pairs=spec.rdf_pairs,
        dbm_model=str(spec.dbm_model) if spec.dbm_model else None,
    )


def rdf_pairs(config, out):
    """The atomistic RDF element pairs of this run: ``evaluate.rdf_pairs``, else the molecule file's
    ``rdf_pairs``, else every pair of the molecule's heavy elements."""
    return list(config["evaluate"]["rdf_pairs"] or out.rdf_pairs or element_pairs(out.heavy_elements))


#: ``dbm.train.init_from`` value that means "the molecule's shipped model, if it ships one".
SHIPPED = "shipped"


def init_from(config, out):
    """The DBM model file that starts training (``dbm.train.init_from`` resolved), or None."""
    value = config["dbm"]["train"]["init_from"]
    if value == SHIPPED:
        return out.dbm_model
    return value


def model_identity(path):
    """The molecule a shipped DBM model belongs to, from the ``.json`` written next to it, or None.

    The weights file needs torch to open; its identity card does not, so the plan can check it.
    """
    card = Path(path).with_suffix(".json")
    if not card.is_file():
        return None
    try:
        return json.loads(card.read_text())["molecule"]
    except (OSError, ValueError, KeyError):
        return None


#: config key of a CG model -> the CG topology's interaction kind.
_MODEL_KINDS = {cgtopology.MODEL_KEY[k]: k for k in cgtopology.KINDS}


def check(config, out):
    """Problems (the run cannot make sense) and warnings (it can) of ``config`` for molecule ``out``.

    Returns
    -------
    problems, warnings : list of str
        Each starts with the config key it is about.
    """
    problems, warnings = [], []
    key = "evaluate.rdf_pairs" if config["evaluate"]["rdf_pairs"] else "rdf_pairs of the molecule file"
    pairs = config["evaluate"]["rdf_pairs"] or out.rdf_pairs
    for pair in pairs or []:
        missing = [e for e in pair.split("-") if e not in out.heavy_elements]
        if missing:
            problems.append(
                f"{key}: '{pair}' names {', '.join(dict.fromkeys(missing))}, which {out.name} "
                f"({out.formula}) does not have; its heavy elements are {', '.join(out.heavy_elements)} "
                f"(leave the key out for every pair of them)"
            )
    if pairs is not None and len(set(pairs)) != len(pairs):
        problems.append(f"{key}: {pairs} names a pair twice")
    for name, model in config["cg_models"].items():
        for key, kind in _MODEL_KINDS.items():
            if model[key] and not out.interactions[kind]:
                warnings.append(
                    f"cg_models.{name}.{key}: {out.name} has no CG {kind[:-1]} interaction (its bonded "
                    f"kinds: {', '.join(k for k in cgtopology.KINDS if out.interactions[k]) or 'none'}), so "
                    f"model {name} has no {kind[:-1]} terms"
                )
    if out.n_beads < 2:
        problems.append(f"molecule: {out.name} maps to {out.n_beads} bead; a CG molecule needs at least two")
    problems += _ibi_pair_problems(config.get("ibi") or {}, out)
    init = init_from(config, out)
    if config["dbm"]["train"]["init_from"] == SHIPPED and init is None:
        warnings.append(
            f"dbm.train.init_from: {out.name} ships no DBM model (no dbm_model in its molecule file), so DBM "
            f"trains from scratch with this config's training settings; check that they are sized for that "
            f"(`make pretrain` shows how the TMBT model was made)"
        )
    if init is None and config["dbm"]["train"]["epochs"] == 0:
        problems.append(
            "dbm.train.epochs: 0 takes the starting model as it is, but there is none "
            f"(init_from: {config['dbm']['train']['init_from']}); give DBM a training (config/tpb.yaml sizes one "
            "from scratch)"
        )
    if init is None and config["dbm"]["train"].get("self_frames"):
        warnings.append(
            f"dbm.train.self_frames: DBM trains from scratch here, so there is no model to backmap the "
            f"{config['dbm']['train']['self_frames']} frames with; training uses the reference frames only"
        )
    if init:
        if not Path(init).is_file():
            problems.append(f"dbm.train.init_from: file '{init}' does not exist")
        else:
            ident = model_identity(init)
            if ident is not None:
                diff = []
                if ident.get("formula") != out.formula:
                    diff.append(f"formula {ident.get('formula')} (this run: {out.formula})")
                if ident.get("bead_types") != out.bead_types:
                    diff.append(f"beads {'-'.join(ident.get('bead_types') or [])} (this run: {'-'.join(out.bead_types)})")
                if diff:
                    problems.append(
                        f"dbm.train.init_from: {init} was trained for {ident.get('name')}, another molecule than "
                        f"this run's {out.name}: {'; '.join(diff)}. Set it to null to train from scratch, or to a "
                        f"model of {out.name}"
                    )
    return problems, warnings


def _ibi_pair_problems(ibi, out):
    """Per-pair IBI keys that name a pair of bead types this molecule does not have."""
    # written in the IBI's own order (T-A, not A-T): the targets are keyed that way
    pairs = out.bead_pairs()
    named = [("ibi.pair_step_nm", list(ibi.get("pair_step_nm") or {})),
             ("ibi.target_smooth_iterations", list(ibi.get("target_smooth_iterations") or {})),
             ("ibi.pressure_pairs", list(ibi.get("pressure_pairs") or [])),
             ("ibi.convergence.rdf_l2_nm_pairs", list((ibi.get("convergence") or {}).get("rdf_l2_nm_pairs") or {}))]
    return [f"{key}: '{pair}' is not a pair of {out.name}'s bead types; its pairs are {', '.join(pairs)}"
            for key, given in named for pair in given if pair not in pairs]
