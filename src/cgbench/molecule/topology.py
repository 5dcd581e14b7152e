"""The all-atom topology: bonded lists from the molecular graph, parameters from the force field.

Every parameter is written explicitly, so the ``.itp`` is self-contained and the arrays here can
feed other engines (the DBM energy prior) unchanged. Parameters come, in this order, from the
supplement's SMARTS overrides and from ``oplsaa.ff`` looked up by bonded types; an interaction
found in neither is an error that lists what is missing.
"""

from dataclasses import dataclass, field
import itertools

import numpy as np
from rdkit import Chem

from ..core.errors import MoleculeError


@dataclass
class Topology:
    """Arrays of one molecule's all-atom topology (GROMACS units, 0-based atom indices)."""

    name: str
    resname: str
    atom_names: list
    types: list
    bond_types: list
    elements: np.ndarray  #: (n,) atomic numbers
    masses: np.ndarray  #: (n,) amu
    charges: np.ndarray  #: (n,) e
    sigma: np.ndarray  #: (n,) nm
    epsilon: np.ndarray  #: (n,) kJ/mol
    bonds: np.ndarray  #: (nb, 2)
    bond_params: np.ndarray  #: (nb, 2) b0 nm, kb kJ/mol/nm^2 (harmonic, type 1)
    angles: np.ndarray  #: (na, 3)
    angle_params: np.ndarray  #: (na, 2) theta0 deg, k kJ/mol/rad^2 (harmonic, type 1)
    propers: np.ndarray  #: (nd, 4)
    proper_params: np.ndarray  #: (nd, 6) Ryckaert-Bellemans C0..C5 kJ/mol (type 3)
    impropers: np.ndarray  #: (ni, 4)
    improper_params: np.ndarray  #: (ni, 3) phi_s deg, k kJ/mol, multiplicity (periodic, type 1)
    pairs: np.ndarray  #: (np, 2) 1-4 pairs, scaled by fudge_lj / fudge_qq
    fudge_lj: float = 0.5
    fudge_qq: float = 0.5
    sources: dict = field(default_factory=dict)  #: "kind i-j-..." -> where its parameters came from

    @property
    def n_atoms(self):
        return len(self.atom_names)

    def save_npz(self, path):
        """Write the arrays (and names) to ``path`` for stages that do not parse ``.itp`` files."""
        np.savez(
            path,
            **{k: np.asarray(v) for k, v in self.__dict__.items() if k not in ("sources",)},
        )

    @classmethod
    def load_npz(cls, path):
        data = np.load(path, allow_pickle=False)
        kw = {k: data[k] for k in data.files}
        for key in ("name", "resname", "fudge_lj", "fudge_qq"):
            kw[key] = kw[key].item()
        for key in ("atom_names", "types", "bond_types"):
            kw[key] = [str(v) for v in kw[key]]
        return cls(**kw)


def graph_interactions(mol):
    """Bonds, angles, proper dihedrals, impropers and 1-4 pairs of a molecular graph.

    Impropers hold each planar (sp2) atom with three neighbours in plane, ordered as GROMACS'
    OPLS-AA residue files do: two neighbours, the centre, then the third neighbour (the one outside
    the centre's ring where there is one).

    Returns
    -------
    dict of str -> ndarray
        ``bonds`` (nb, 2), ``angles`` (na, 3), ``propers`` (nd, 4), ``impropers`` (ni, 4),
        ``pairs`` (np, 2); 0-based indices, each interaction once.
    """
    nbrs = [sorted(n.GetIdx() for n in a.GetNeighbors()) for a in mol.GetAtoms()]
    bonds = sorted(tuple(sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx()))) for b in mol.GetBonds())
    angles = []
    for j, nj in enumerate(nbrs):
        for i, k in itertools.combinations(nj, 2):
            angles.append((i, j, k))
    propers = set()
    for j, k in bonds:
        for i in nbrs[j]:
            if i == k:
                continue
            for l in nbrs[k]:
                if l in (j, i):
                    continue
                d = (i, j, k, l)
                propers.add(min(d, d[::-1]))
    impropers = []
    ring = mol.GetRingInfo()
    for atom in mol.GetAtoms():
        c = atom.GetIdx()
        if atom.GetDegree() != 3 or atom.GetHybridization() != Chem.HybridizationType.SP2:
            continue
        inside = [n for n in nbrs[c] if ring.AreAtomsInSameRing(c, n)] if atom.IsInRing() else []
        outside = [n for n in nbrs[c] if n not in inside]
        ordered = (inside + outside) if len(outside) == 1 else nbrs[c]
        impropers.append((ordered[0], ordered[1], c, ordered[2]))
    dist = Chem.GetDistanceMatrix(mol)
    pairs = [(i, j) for i, j in zip(*np.nonzero(np.triu(dist == 3)))]
    as_arr = lambda rows, w: np.asarray(sorted(rows), dtype=int).reshape(-1, w)
    return {
        "bonds": as_arr(bonds, 2),
        "angles": as_arr(angles, 3),
        "propers": as_arr(propers, 4),
        "impropers": np.asarray(impropers, dtype=int).reshape(-1, 4),
        "pairs": as_arr(pairs, 2),
    }


def _override_table(mol, overrides):
    """Map (kind, atom tuple) -> override entry, both directions, first entry wins."""
    width = {"bond": 2, "angle": 3, "dihedral": 4}
    table = {}
    for entry in overrides:
        kind = entry.get("kind")
        if kind not in width:
            raise MoleculeError(f"bonded override {entry.get('name')!r}: unknown kind {kind!r}")
        patt = Chem.MolFromSmarts(entry["smarts"])
        if patt is None:
            raise MoleculeError(f"bonded override {entry.get('name')!r}: invalid SMARTS")
        maps = {a.GetAtomMapNum(): a.GetIdx() for a in patt.GetAtoms() if a.GetAtomMapNum()}
        if sorted(maps) != list(range(1, width[kind] + 1)):
            raise MoleculeError(
                f"bonded override {entry.get('name')!r}: a {kind} needs atoms mapped "
                f":1..:{width[kind]} in its SMARTS"
            )
        for match in mol.GetSubstructMatches(patt, uniquify=False):
            atoms = tuple(match[maps[m]] for m in range(1, width[kind] + 1))
            for key in ((kind, atoms), (kind, atoms[::-1])):
                table.setdefault(key, entry)
    return table


_IMPROPER_MACRO = {6: "improper_Z_CA_X_Y", 7: "improper_Z_N_X_Y"}


def build_topology(molecule, typing, forcefield):
    """Assemble the parameterised topology of ``molecule``.

    Parameters
    ----------
    molecule : cgbench.molecule.spec.Molecule
    typing : cgbench.molecule.atomtyping.AtomTyping
    forcefield : cgbench.molecule.oplsaa.ForceField

    Raises
    ------
    MoleculeError
        Listing every interaction that has neither an override nor a force-field entry.
    """
    mol = molecule.mol
    inter = graph_interactions(mol)
    over = _override_table(mol, molecule.spec.supplement.get("bonded", []))
    bt = typing.bond_types
    names = molecule.atom_names
    missing, sources = {}, {}

    def resolve(kind, atoms, lookup, from_override):
        key = f"{kind} {'-'.join(bt[a] for a in atoms)}"
        entry = over.get((kind, tuple(atoms)))
        if entry is not None:
            sources[f"{kind} {'-'.join(names[a] for a in atoms)}"] = entry.get("name", "override")
            return from_override(entry)
        hit = lookup(*[bt[a] for a in atoms])
        if hit is None:
            missing.setdefault(key, []).append("-".join(names[a] for a in atoms))
            return None
        return hit

    bond_params = [
        resolve("bond", b, forcefield.bond, lambda e: (e["b0"], e["kb"])) for b in inter["bonds"]
    ]
    angle_params = [
        resolve("angle", a, forcefield.angle, lambda e: (e["theta0"], e["ktheta"]))
        for a in inter["angles"]
    ]

    def dihedral_lookup(*types):
        hit = forcefield.dihedral(*types)
        if hit is None:
            return None
        funct, params = hit
        if funct != 3:
            raise MoleculeError(
                f"dihedral type {'-'.join(types)} in {forcefield.path} has function {funct}; "
                "cgbench writes Ryckaert-Bellemans (3) propers: add an override"
            )
        return params[:6]

    proper_params = [
        resolve("dihedral", d, dihedral_lookup, lambda e: tuple(e["rb"])) for d in inter["propers"]
    ]
    if missing:
        lines = [
            f"  {key}: {len(v)} interaction(s), e.g. {v[0]}" for key, v in sorted(missing.items())
        ]
        raise MoleculeError(
            f"{forcefield.path.name} has no parameters for:\n"
            + "\n".join(lines)
            + "\nGive them explicitly in the supplement's 'bonded' overrides."
        )
    improper_params = []
    for imp in inter["impropers"]:
        centre = int(molecule.mol.GetAtomWithIdx(int(imp[2])).GetAtomicNum())
        macro = _IMPROPER_MACRO.get(centre)
        if macro is None or macro not in forcefield.defines:
            raise MoleculeError(
                f"no OPLS-AA improper for a planar centre of element {centre} "
                f"(atom {names[imp[2]]})"
            )
        improper_params.append(forcefield.defines[macro])
    return Topology(
        name=molecule.spec.name,
        resname=molecule.spec.resname,
        atom_names=list(names),
        types=list(typing.types),
        bond_types=list(typing.bond_types),
        elements=np.array([a.GetAtomicNum() for a in mol.GetAtoms()]),
        masses=typing.masses,
        charges=typing.charges,
        sigma=typing.sigma,
        epsilon=typing.epsilon,
        bonds=inter["bonds"],
        bond_params=np.asarray(bond_params, dtype=float).reshape(-1, 2),
        angles=inter["angles"],
        angle_params=np.asarray(angle_params, dtype=float).reshape(-1, 2),
        propers=inter["propers"],
        proper_params=np.asarray(proper_params, dtype=float).reshape(-1, 6),
        impropers=inter["impropers"],
        improper_params=np.asarray(improper_params, dtype=float).reshape(-1, 3),
        pairs=inter["pairs"],
        fudge_lj=forcefield.fudge_lj,
        fudge_qq=forcefield.fudge_qq,
        sources=sources,
    )


def format_itp(top, header=""):
    """The topology as a GROMACS ``.itp`` (moleculetype) with explicit parameters."""
    out = [f"; {line}" for line in header.splitlines()]
    out += ["[ moleculetype ]", "; name  nrexcl", f"{top.name}  3", ""]
    out += ["[ atoms ]", ";   nr  type       resnr  res    atom   cgnr   charge      mass"]
    for i in range(top.n_atoms):
        out.append(
            f"{i + 1:6d}  {top.types[i]:<10s} 1  {top.resname:<6s} {top.atom_names[i]:<6s} "
            f"{i + 1:5d} {top.charges[i]:9.4f} {top.masses[i]:9.4f}"
        )
    q = top.charges.sum()
    out += [f"; total charge {q:+.4f} e", ""]
    bt = top.bond_types
    tag = lambda idx: "-".join(bt[a] for a in idx)
    out += ["[ bonds ]", ";  ai    aj funct   b0 (nm)     kb (kJ/mol/nm2)"]
    for (i, j), (b0, kb) in zip(top.bonds, top.bond_params):
        out.append(f"{i + 1:5d} {j + 1:5d}   1   {b0:9.5f}  {kb:12.2f}  ; {tag((i, j))}")
    out += ["", "[ pairs ]", ";  ai    aj funct"]
    out += [f"{i + 1:5d} {j + 1:5d}   1" for i, j in top.pairs]
    out += ["", "[ angles ]", ";  ai    aj    ak funct  theta0 (deg)  k (kJ/mol/rad2)"]
    for (i, j, k), (t0, kt) in zip(top.angles, top.angle_params):
        out.append(
            f"{i + 1:5d} {j + 1:5d} {k + 1:5d}   1   {t0:9.3f}  {kt:10.3f}  ; {tag((i, j, k))}"
        )
    out += ["", "[ dihedrals ]", "; proper, Ryckaert-Bellemans: C0..C5 (kJ/mol)"]
    for d, c in zip(top.propers, top.proper_params):
        idx = " ".join(f"{a + 1:5d}" for a in d)
        out.append(f"{idx}   3  " + " ".join(f"{v:9.5f}" for v in c) + f"  ; {tag(d)}")
    out += ["", "[ dihedrals ]", "; improper, periodic: phi_s (deg), k (kJ/mol), multiplicity"]
    for d, (phi, k, mult) in zip(top.impropers, top.improper_params):
        idx = " ".join(f"{a + 1:5d}" for a in d)
        out.append(f"{idx}   1  {phi:7.2f} {k:9.5f} {int(mult):d}  ; {tag(d)}")
    return "\n".join(out) + "\n"
