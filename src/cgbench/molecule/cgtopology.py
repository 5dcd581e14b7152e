"""The coarse-grained topology, derived from the bead graph, and its VOTCA mapping file.

Two beads are bonded when any of their atoms are. From the bead bonds follow angles (every
bonded triple), proper dihedrals (every bonded path of four beads) and impropers (every bead with
exactly three bonded neighbours: centre first, then its neighbours). Interaction types are named by
bead types, read in the direction that lists earlier-defined bead types first (T-A, not A-T),
which gives the study's names for TMBT: bonds T-A and A-A, angles T-A-A and A-T-A, proper
A-T-A-A, improper T-A-A-A.
"""

from dataclasses import dataclass, field
import itertools
from xml.sax.saxutils import escape

import numpy as np

#: The interaction kinds of a CG topology, in the order every table, file and model uses: the one
#: vocabulary of bonded kinds. The names below are how other places spell each kind.
KINDS = ("bonds", "angles", "propers", "impropers")
#: Kind -> its name in distribution tables (the reference, Figure 2) and in the DBI tables.
DISTRIBUTION = {"bonds": "bond", "angles": "angle", "propers": "proper", "impropers": "improper"}
#: Kind -> its key in a CG model of the config (``cg.models`` in the schema).
MODEL_KEY = {"bonds": "bonds", "angles": "angles", "propers": "proper", "impropers": "improper"}


@dataclass
class CGTopology:
    """Beads and bonded interactions of one CG molecule (0-based bead indices)."""

    name: str
    bead_names: list
    bead_types: list
    bead_masses: np.ndarray  #: amu
    bonds: list = field(default_factory=list)  #: [(type name, (i, j))]
    angles: list = field(default_factory=list)
    propers: list = field(default_factory=list)
    impropers: list = field(default_factory=list)

    def interaction_types(self, kind):
        """Sorted unique type names of one kind (``bonds``, ``angles``, ...)."""
        return sorted({t for t, _ in getattr(self, kind)})

    def indices(self, kind, type_name=None):
        """(n, width) int array of the interactions of one kind (optionally one type)."""
        rows = [idx for t, idx in getattr(self, kind) if type_name in (None, t)]
        width = {"bonds": 2, "angles": 3, "propers": 4, "impropers": 4}[kind]
        return np.asarray(rows, dtype=int).reshape(-1, width)

    def to_dict(self):
        d = {
            "name": self.name,
            "bead_names": list(self.bead_names),
            "bead_types": list(self.bead_types),
            "bead_masses": [float(m) for m in self.bead_masses],
        }
        for kind in KINDS:
            d[kind] = [{"type": t, "beads": [int(i) for i in idx]} for t, idx in getattr(self, kind)]
        return d

    @classmethod
    def from_dict(cls, d):
        kw = {kind: [(e["type"], tuple(e["beads"])) for e in d[kind]] for kind in KINDS}
        return cls(d["name"], d["bead_names"], d["bead_types"], np.asarray(d["bead_masses"]), **kw)


def bead_bonds(bonds, bead_of_atom):
    """Sorted unique bead pairs joined by at least one atom bond.

    Parameters
    ----------
    bonds : ndarray, shape (n_bonds, 2)
        Atom bonds.
    bead_of_atom : ndarray, shape (n_atoms,)
    """
    b = bead_of_atom[np.asarray(bonds)]
    b = b[b[:, 0] != b[:, 1]]
    return sorted({tuple(sorted(map(int, row))) for row in b})


def derive(name, bead_names, bead_types, bead_masses, pairs, type_order=None):
    """Derive the CG bonded interactions from bead bonds ``pairs``.

    Parameters
    ----------
    type_order : list of str, optional
        Bead types in definition order; decides which direction names a type. Defaults to the
        order of first appearance in ``bead_types``.
    """
    if type_order is None:
        type_order = list(dict.fromkeys(bead_types))
    rank = {t: i for i, t in enumerate(type_order)}
    nb = len(bead_names)
    adj = [set() for _ in range(nb)]
    for i, j in pairs:
        adj[i].add(j)
        adj[j].add(i)

    def oriented(idx):
        """The direction of ``idx`` whose bead-type ranks read smallest, and its type name."""
        fwd, rev = tuple(idx), tuple(idx[::-1])
        key = lambda t: ([rank[bead_types[i]] for i in t], t)
        best = min(fwd, rev, key=key)
        return "-".join(bead_types[i] for i in best), best

    top = CGTopology(name, list(bead_names), list(bead_types), np.asarray(bead_masses, dtype=float))
    top.bonds = sorted(oriented(p) for p in pairs)
    angles = {oriented((i, j, k)) for j in range(nb) for i, k in itertools.combinations(sorted(adj[j]), 2)}
    top.angles = sorted(angles)
    propers = set()
    for j, k in pairs:
        for a, b in ((j, k), (k, j)):
            for i in adj[a] - {b}:
                for l in adj[b] - {a, i}:
                    propers.add(oriented((i, a, b, l)))
    top.propers = sorted(propers)
    impropers = []
    for c in range(nb):
        if len(adj[c]) == 3:
            nbrs = sorted(adj[c])
            impropers.append(("-".join(bead_types[i] for i in (c, *nbrs)), (c, *nbrs)))
    top.impropers = impropers
    return top


def exclusion_pairs(top):
    """Bead pairs (i < j) that share any bonded interaction; VOTCA leaves them out of RDFs."""
    out = set()
    for kind in KINDS:
        for _t, idx in getattr(top, kind):
            out.update(tuple(sorted(p)) for p in itertools.combinations(idx, 2))
    return sorted(out)


def votca_name(kind, type_name):
    """A file-name safe interaction name for VOTCA, e.g. ``bond_T_A``."""
    prefix = {"bonds": "bond", "angles": "angle", "propers": "dihedral", "impropers": "improper"}
    return f"{prefix[kind]}_{type_name.replace('-', '_')}"


def votca_mapping_xml(top, mapping, atom_names, resname):
    """VOTCA ``cg_molecule`` mapping XML (beads, COM weights, bonded lists).

    Atoms are named ``1:<resname>:<atom name>`` as VOTCA reads them from a GROMACS topology.
    Propers and impropers are both VOTCA ``dihedral`` groups.
    """
    lines = ["<cg_molecule>", f"  <name>{escape(top.name)}</name>", f"  <ident>{escape(top.name)}</ident>"]
    lines += ["  <topology>", "    <cg_beads>"]
    for b, (bname, btype) in enumerate(zip(top.bead_names, top.bead_types)):
        atoms = np.flatnonzero(mapping.bead_of_atom == b)
        ids = " ".join(f"1:{resname}:{atom_names[a]}" for a in atoms)
        lines += [
            "      <cg_bead>",
            f"        <name>{bname}</name>",
            f"        <type>{btype}</type>",
            f"        <mapping>map_{bname}</mapping>",
            f"        <beads>{ids}</beads>",
            "      </cg_bead>",
        ]
    lines += ["    </cg_beads>", "    <cg_bonded>"]
    tag = {"bonds": "bond", "angles": "angle", "propers": "dihedral", "impropers": "dihedral"}
    for kind in KINDS:
        for t in top.interaction_types(kind):
            beads = " ".join(
                " ".join(top.bead_names[i] for i in idx) for tt, idx in getattr(top, kind) if tt == t
            )
            lines += [
                f"      <{tag[kind]}>",
                f"        <name>{votca_name(kind, t)}</name>",
                f"        <beads>{beads}</beads>",
                f"      </{tag[kind]}>",
            ]
    lines += ["    </cg_bonded>", "  </topology>", "  <maps>"]
    for b, bname in enumerate(top.bead_names):
        atoms = np.flatnonzero(mapping.bead_of_atom == b)
        w = " ".join(f"{mapping.masses[a]:.4f}" for a in atoms)
        lines += ["    <map>", f"      <name>map_{bname}</name>", f"      <weights>{w}</weights>", "    </map>"]
    lines += ["  </maps>", "</cg_molecule>"]
    return "\n".join(lines) + "\n"
