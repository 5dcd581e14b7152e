"""Reconstruction order: beads depth-first along CG bonds, atoms heavy-first within each bead.

DBM builds a molecule autoregressively. Beads follow a depth-first search of the bead graph so that
each bead's parent is built before it; the parent is also the bead's *reference neighbour*, which
fixes the local frame's +z axis (the root takes its first child). Inside a bead, heavy atoms follow
a depth-first search along atom bonds, starting from the atom bonded to the reference neighbour,
and hydrogens come after all heavy atoms, each in the rank of the heavy atom it is bonded to.
"""

from dataclasses import dataclass

import numpy as np

from ...core.graph import depth_first


@dataclass
class ReconstructionOrder:
    """Per-molecule order of beads and atoms (0-based, molecule-local indices)."""

    beads: np.ndarray  #: (n_beads,) depth-first order of beads
    parent: np.ndarray  #: (n_beads,) DFS parent of each bead, -1 for the root
    reference: np.ndarray  #: (n_beads,) reference neighbour (local +z), -1 if the bead has no bond
    bead_atoms: np.ndarray  #: (n_beads, max_atoms) atoms of each bead in build order, -1 padded

    @property
    def max_atoms(self):
        return self.bead_atoms.shape[1]


def _adjacency(n, pairs):
    adj = [[] for _ in range(n)]
    for i, j in pairs:
        adj[int(i)].append(int(j))
        adj[int(j)].append(int(i))
    return [sorted(set(a)) for a in adj]


def bead_dfs(n_beads, bead_bonds, root=0):
    """Depth-first order of beads along bead bonds.

    Parameters
    ----------
    n_beads : int
    bead_bonds : array_like, shape (n_bonds, 2)
        Bonded bead pairs.
    root : int
        First bead. Disconnected parts of the graph are appended, each from its lowest index.

    Returns
    -------
    order : ndarray, shape (n_beads,)
    parent : ndarray, shape (n_beads,)
        -1 for roots.
    """
    adj = _adjacency(n_beads, bead_bonds)
    # reversed so that the lowest-index neighbour is visited first
    order, parent = depth_first(n_beads, [root, *range(n_beads)], lambda b: reversed(adj[b]))
    return np.asarray(order), parent


def reference_neighbours(n_beads, bead_bonds, parent):
    """Reference neighbour of each bead: its DFS parent, or for a root its lowest-index neighbour."""
    adj = _adjacency(n_beads, bead_bonds)
    ref = np.array(parent, copy=True)
    for b in range(n_beads):
        if ref[b] < 0 and adj[b]:
            ref[b] = adj[b][0]
    return ref


def atom_order(bead_of_atom, elements, bonds, reference):
    """Build order of the atoms of every bead.

    Parameters
    ----------
    bead_of_atom : ndarray, shape (n_atoms,)
    elements : ndarray, shape (n_atoms,)
        Atomic numbers (1 = hydrogen).
    bonds : ndarray, shape (n_bonds, 2)
        Atom bonds.
    reference : ndarray, shape (n_beads,)
        Reference neighbour bead of each bead (-1 for none).

    Returns
    -------
    ndarray, shape (n_beads, max_atoms)
        Molecule-local atom indices per bead, -1 padded.
    """
    bead_of_atom = np.asarray(bead_of_atom)
    n_beads = int(bead_of_atom.max()) + 1
    adj = _adjacency(len(bead_of_atom), bonds)
    rows = []
    for b in range(n_beads):
        atoms = np.flatnonzero(bead_of_atom == b)
        heavy = [a for a in atoms if elements[a] > 1]
        hydrogens = [a for a in atoms if elements[a] == 1]
        # start where the bead is attached to its reference neighbour, so the first atom placed is
        # the one the local frame's +z axis points at
        linked = [a for a in heavy if reference[b] >= 0 and any(bead_of_atom[n] == reference[b] for n in adj[a])]
        start = linked[0] if linked else (heavy[0] if heavy else atoms[0])
        order, _ = depth_first(len(bead_of_atom), [start],
                               lambda a: [n for n in reversed(adj[a]) if bead_of_atom[n] == b and elements[n] > 1])
        seen = set(order)
        order += [a for a in heavy if a not in seen]  # heavy atoms not bonded within the bead
        rank = {a: i for i, a in enumerate(order)}
        host = lambda h: min((rank.get(n, len(order)) for n in adj[h]), default=len(order))
        order += sorted(hydrogens, key=lambda h: (host(h), h)) if heavy else [h for h in hydrogens if h not in seen]
        rows.append(order)
    width = max(len(r) for r in rows)
    out = np.full((n_beads, width), -1)
    for b, r in enumerate(rows):
        out[b, : len(r)] = r
    return out


def reconstruction_order(bead_of_atom, elements, bonds, bead_bonds, root=0):
    """The full :class:`ReconstructionOrder` of one molecule."""
    n_beads = int(np.max(bead_of_atom)) + 1
    beads, parent = bead_dfs(n_beads, bead_bonds, root)
    ref = reference_neighbours(n_beads, bead_bonds, parent)
    return ReconstructionOrder(beads, parent, ref, atom_order(bead_of_atom, elements, bonds, ref))
