"""Centre-of-mass mapping of atoms to beads (study Eqs. 1-2) and its force counterpart (Eq. 6).

A mapping is a dense (n_beads, n_atoms) weight matrix for one molecule; each atom belongs to one
bead. Whole systems are ``n_molecules`` copies in a row, so mapping a trajectory is one einsum over
the per-molecule block.
"""

from dataclasses import dataclass

import numpy as np

from ..core.errors import MoleculeError


@dataclass
class Mapping:
    """Atoms -> beads for one molecule."""

    bead_names: list  #: e.g. ["T1", "A1", ...]
    bead_types: list  #: e.g. ["T", "A", ...]
    bead_of_atom: np.ndarray  #: (n_atoms,) bead index of each atom
    masses: np.ndarray  #: (n_atoms,) amu

    @property
    def n_beads(self):
        return len(self.bead_names)

    @property
    def n_atoms(self):
        return len(self.bead_of_atom)

    def membership(self):
        """(n_beads, n_atoms) 0/1 matrix: atom i belongs to bead I."""
        m = np.zeros((self.n_beads, self.n_atoms))
        m[self.bead_of_atom, np.arange(self.n_atoms)] = 1.0
        return m

    def com_weights(self):
        r"""(n_beads, n_atoms) matrix :math:`c_{iI} = m_i / \sum_{i \in \Psi_I} m_i` (Eq. 2)."""
        m = self.membership() * self.masses
        return m / m.sum(axis=1, keepdims=True)

    def bead_masses(self):
        """(n_beads,) bead masses in amu."""
        return self.membership() @ self.masses

    def to_dict(self):
        return {
            "bead_names": list(self.bead_names),
            "bead_types": list(self.bead_types),
            "bead_of_atom": [int(b) for b in self.bead_of_atom],
            "masses": [float(m) for m in self.masses],
        }

    @classmethod
    def from_dict(cls, d):
        return cls(
            list(d["bead_names"]),
            list(d["bead_types"]),
            np.asarray(d["bead_of_atom"], dtype=int),
            np.asarray(d["masses"], dtype=float),
        )


def make_mapping(beads, masses):
    """Build a :class:`Mapping` from ``[(type, atom indices)]`` and per-atom masses (amu).

    Bead names are the type plus a per-type counter (T1, A1, A2, ...).
    """
    masses = np.asarray(masses, dtype=float)
    n = len(masses)
    owner = np.full(n, -1)
    counts, names, types = {}, [], []
    for b, (btype, atoms) in enumerate(beads):
        if np.any(owner[list(atoms)] >= 0):
            raise MoleculeError(f"bead {b} ({btype}) shares atoms with another bead")
        owner[list(atoms)] = b
        counts[btype] = counts.get(btype, 0) + 1
        names.append(f"{btype}{counts[btype]}")
        types.append(btype)
    if np.any(owner < 0):
        raise MoleculeError(f"atoms {np.flatnonzero(owner < 0) + 1} are in no bead")
    return Mapping(names, types, owner, masses)


def map_positions(x, weights):
    """Bead positions of whole molecules (Eq. 1).

    Parameters
    ----------
    x : ndarray, shape (..., n_molecules * n_atoms, 3)
        Atom positions in nm; molecules must be whole (not split by periodic boundaries).
    weights : ndarray, shape (n_beads, n_atoms)
        Per-molecule COM weights, e.g. :meth:`Mapping.com_weights`.

    Returns
    -------
    ndarray, shape (..., n_molecules * n_beads, 3)
        Bead positions in nm.
    """
    n_beads, n_atoms = weights.shape
    lead = x.shape[:-2]
    xm = x.reshape(*lead, -1, n_atoms, 3)
    return np.einsum("ba,...mak->...mbk", weights, xm).reshape(*lead, -1, 3)


def map_forces(f, membership, mean=False):
    """Bead forces from atom forces.

    ``mean=False`` gives the net force on each bead, :math:`\\sum_{i \\in \\Psi_I} f_i`, which is
    what multiscale force matching compares with CG forces. ``mean=True`` gives Eq. 6 as the
    study prints it, :math:`|\\Psi_I|^{-1} \\sum_{i \\in \\Psi_I} f_i`.

    Parameters
    ----------
    f : ndarray, shape (..., n_molecules * n_atoms, 3)
        Atom forces in kJ/mol/nm.
    membership : ndarray, shape (n_beads, n_atoms)
        0/1 matrix, :meth:`Mapping.membership`.
    """
    w = membership / membership.sum(axis=1, keepdims=True) if mean else membership
    return map_positions(f, w)
