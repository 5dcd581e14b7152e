"""Everything DBM needs to know about one molecule, as plain arrays that travel in a checkpoint.

:class:`MoleculeSpec` gathers the OPLS-AA topology (for the energy prior and the feature channels),
the mapping (atoms -> beads, COM weights), the bead graph and the reconstruction order. It converts
to and from a dict of lists so that ``save_hyperparameters()`` stores it and a checkpoint alone is
enough to backmap.
"""

from dataclasses import dataclass, fields

import numpy as np
from scipy.sparse.csgraph import shortest_path

from .order import reconstruction_order

_INT = ("elements", "bonds", "angles", "propers", "impropers", "pairs", "bead_of_atom", "bead_bonds",
        "atom_type", "bead_type", "bead_order", "bead_parent", "bead_reference", "bead_atoms")


@dataclass
class MoleculeSpec:
    name: str
    atom_names: list
    atom_type_names: list  #: unique force-field atom types; ``atom_type`` indexes this list
    bead_type_names: list  #: unique bead types; ``bead_type`` indexes this list
    elements: np.ndarray  #: (n_atoms,) atomic numbers
    atom_type: np.ndarray  #: (n_atoms,) index into ``atom_type_names``
    masses: np.ndarray  #: (n_atoms,) amu
    charges: np.ndarray  #: (n_atoms,) e
    sigma: np.ndarray  #: (n_atoms,) nm
    epsilon: np.ndarray  #: (n_atoms,) kJ/mol
    bonds: np.ndarray  #: (nb, 2)
    bond_params: np.ndarray  #: (nb, 2) b0 nm, kb kJ/mol/nm^2
    angles: np.ndarray  #: (na, 3)
    angle_params: np.ndarray  #: (na, 2) theta0 deg, k kJ/mol/rad^2
    propers: np.ndarray  #: (nd, 4)
    proper_params: np.ndarray  #: (nd, 6) RB C0..C5 kJ/mol
    impropers: np.ndarray  #: (ni, 4)
    improper_params: np.ndarray  #: (ni, 3) phi_s deg, k kJ/mol, multiplicity
    pairs: np.ndarray  #: (np, 2) 1-4 pairs
    fudge_lj: float
    fudge_qq: float
    bead_of_atom: np.ndarray  #: (n_atoms,)
    bead_type: np.ndarray  #: (n_beads,)
    bead_bonds: np.ndarray  #: (n_bead_bonds, 2)
    bead_order: np.ndarray  #: (n_beads,) DFS order
    bead_parent: np.ndarray  #: (n_beads,) DFS parent, -1 for the root
    bead_reference: np.ndarray  #: (n_beads,) local-frame reference neighbour, -1 for none
    bead_atoms: np.ndarray  #: (n_beads, max_atoms) build order, -1 padded
    template: np.ndarray = None  #: (n_atoms, 3) nm, a whole reference conformation (start of inference)
    resname: str = "MOL"

    @property
    def n_atoms(self):
        return len(self.elements)

    @property
    def n_beads(self):
        return len(self.bead_type)

    @property
    def max_atoms(self):
        return self.bead_atoms.shape[1]

    def com_weights(self):
        """(n_beads, n_atoms) mass fractions of each atom in its bead (study Eq. 2)."""
        w = np.zeros((self.n_beads, self.n_atoms))
        w[self.bead_of_atom, np.arange(self.n_atoms)] = self.masses
        return w / w.sum(axis=1, keepdims=True)

    def graph_distance(self):
        """(n_atoms, n_atoms) number of bonds on the shortest path (inf between fragments)."""
        a = np.zeros((self.n_atoms, self.n_atoms))
        a[self.bonds[:, 0], self.bonds[:, 1]] = 1
        return shortest_path(a, unweighted=True, directed=False)

    def bead_partners(self):
        """(n_beads, n_beads) bool: beads that share a bonded interaction (or a bond) with each other.

        A bead's environment must hold these beads whatever their distance, or the energy of its
        bonded terms could not be evaluated locally.
        """
        out = np.eye(self.n_beads, dtype=bool)
        for idx in (self.bonds, self.angles, self.propers, self.impropers):
            b = self.bead_of_atom[idx]
            for i in range(b.shape[1]):
                for j in range(b.shape[1]):
                    out[b[:, i], b[:, j]] = True
        for i, j in self.bead_bonds:
            out[i, j] = out[j, i] = True
        return out

    def to_dict(self):
        d = {}
        for f in fields(self):
            v = getattr(self, f.name)
            d[f.name] = v.tolist() if isinstance(v, np.ndarray) else v
        return d

    @classmethod
    def from_dict(cls, d):
        kw = dict(d)
        for f in fields(cls):
            v = kw.get(f.name)
            if f.name in _INT:
                kw[f.name] = np.asarray(v, dtype=np.int64)
            elif isinstance(v, list) and f.name not in ("atom_names", "atom_type_names", "bead_type_names"):
                kw[f.name] = np.asarray(v, dtype=float)
        for name, width in (("bonds", 2), ("angles", 3), ("propers", 4), ("impropers", 4), ("pairs", 2),
                            ("bead_bonds", 2)):
            kw[name] = kw[name].reshape(-1, width)
        for name, width in (("bond_params", 2), ("angle_params", 2), ("proper_params", 6), ("improper_params", 3)):
            kw[name] = np.asarray(kw[name], dtype=float).reshape(-1, width)
        return cls(**kw)


def molecule_spec(topology, mapping, cg, template=None):
    """Build a :class:`MoleculeSpec`.

    Parameters
    ----------
    topology : cgbench.molecule.topology.Topology
    mapping : cgbench.molecule.mapping.Mapping
    cg : cgbench.molecule.cgtopology.CGTopology
    template : ndarray, shape (n_atoms, 3), optional
        A whole conformation in nm, used to start inference.
    """
    types = list(dict.fromkeys(topology.types))
    btypes = list(dict.fromkeys(mapping.bead_types))
    bead_bonds = cg.indices("bonds")
    order = reconstruction_order(mapping.bead_of_atom, topology.elements, topology.bonds, bead_bonds)
    return MoleculeSpec(
        name=topology.name,
        atom_names=list(topology.atom_names),
        atom_type_names=types,
        bead_type_names=btypes,
        elements=np.asarray(topology.elements, dtype=np.int64),
        atom_type=np.asarray([types.index(t) for t in topology.types]),
        masses=np.asarray(topology.masses, dtype=float),
        charges=np.asarray(topology.charges, dtype=float),
        sigma=np.asarray(topology.sigma, dtype=float),
        epsilon=np.asarray(topology.epsilon, dtype=float),
        bonds=np.asarray(topology.bonds, dtype=np.int64).reshape(-1, 2),
        bond_params=np.asarray(topology.bond_params, dtype=float).reshape(-1, 2),
        angles=np.asarray(topology.angles, dtype=np.int64).reshape(-1, 3),
        angle_params=np.asarray(topology.angle_params, dtype=float).reshape(-1, 2),
        propers=np.asarray(topology.propers, dtype=np.int64).reshape(-1, 4),
        proper_params=np.asarray(topology.proper_params, dtype=float).reshape(-1, 6),
        impropers=np.asarray(topology.impropers, dtype=np.int64).reshape(-1, 4),
        improper_params=np.asarray(topology.improper_params, dtype=float).reshape(-1, 3),
        pairs=np.asarray(topology.pairs, dtype=np.int64).reshape(-1, 2),
        fudge_lj=float(topology.fudge_lj),
        fudge_qq=float(topology.fudge_qq),
        bead_of_atom=np.asarray(mapping.bead_of_atom, dtype=np.int64),
        bead_type=np.asarray([btypes.index(t) for t in mapping.bead_types]),
        bead_bonds=bead_bonds,
        bead_order=order.beads,
        bead_parent=order.parent,
        bead_reference=order.reference,
        bead_atoms=order.bead_atoms,
        template=None if template is None else np.asarray(template, dtype=float),
        resname=str(topology.resname),
    )
