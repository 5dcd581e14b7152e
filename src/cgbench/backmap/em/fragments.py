"""The fragment library: one reference conformation of each bead's atoms, taken from AA data.

A fragment is a bead's atoms relative to the bead's centre of mass, stored with its *anchors*:
the centres of mass of the beads that orient it, relative to the same centre, taken from the
same molecule in the same frame. Backmapping rotates the fragment so that its anchors best match
the anchors of the CG bead (:mod:`cgbench.backmap.em.assemble`).

Choices
-------
- **One fragment per bead index of the molecule**, not per bead type: a bead's anchors depend on
  its place in the molecule (in TMBT the inner phenyl has two neighbours, the outer phenyl one),
  so fragments of the same type are not interchangeable.
- **Anchors**: the bead's bonded neighbours (weight 1). A bead with a single neighbour (TMBT's
  outer phenyl rings) is not oriented by two points, which leave the roll about the bond axis
  free; it also takes its neighbour's other neighbours (the "second shell", TMBT's triazine) with
  a small weight (default 0.1), so the bond axis is matched almost exactly and the second-shell
  bead sets the roll. The roll of the outer ring about its bond, i.e. the biphenyl twist, is then
  the reference conformation's twist measured against the plane of the three beads: the CG model
  carries no information about it. A bead with no neighbour keeps the reference orientation.
- **Which conformation**: among the bead's instances in the reference frames (every molecule of
  every reference frame, at most ``max_candidates`` of them, evenly spread), the medoid: the
  instance with the smallest sum of RMSDs to all other instances, each RMSD taken after the best
  rotation about the bead's centre over the bead's atoms (weight 1) and its anchors (their anchor
  weights). A medoid is a real, physically consistent conformation (no averaged, distorted
  rings) and, unlike the instance closest to an average, it falls inside one of the modes of a
  bimodal torsion such as the biphenyl twist (+/- 40 degrees) instead of between them.
"""

from dataclasses import dataclass

import numpy as np

from ...core.errors import CgbenchError
from ...molecule.mapping import map_positions
from ...geometry.pbc import make_whole
from .align import aligned_msd

__all__ = ["FragmentLibrary", "anchor_table", "medoid", "build_library"]


@dataclass
class FragmentLibrary:
    """Reference fragments of one molecule (nm)."""

    offsets: np.ndarray  #: (n_atoms, 3) each atom relative to its bead's COM
    anchors: np.ndarray  #: (n_beads, n_anchors, 3) anchor bead COMs relative to the bead's COM; 0 pads
    anchor_index: np.ndarray  #: (n_beads, n_anchors) bead index of each anchor; -1 pads
    anchor_weight: np.ndarray  #: (n_beads, n_anchors) alignment weight of each anchor; 0 pads
    bead_of_atom: np.ndarray  #: (n_atoms,) bead of each atom (the Mapping's)
    source: np.ndarray  #: (n_beads, 2) (frame, molecule) each fragment was taken from (0-based)
    spread_nm: np.ndarray  #: (n_beads,) mean aligned RMSD of the chosen fragment to the other candidates

    @property
    def n_beads(self):
        return self.anchors.shape[0]

    @property
    def n_atoms(self):
        return self.offsets.shape[0]

    def save_npz(self, path):
        np.savez(path, **self.__dict__)

    @classmethod
    def load_npz(cls, path):
        data = np.load(path, allow_pickle=False)
        return cls(**{k: data[k] for k in data.files})


def anchor_table(n_beads, bead_bonds, second_shell_weight=0.1):
    """Anchors of every bead: bonded neighbours, plus the second shell for single-neighbour beads.

    Parameters
    ----------
    n_beads : int
    bead_bonds : ndarray, shape (n_bonds, 2)
        Bonded bead pairs of one molecule (``CGTopology.indices("bonds")``).
    second_shell_weight : float
        Weight of second-shell anchors (neighbours have weight 1).

    Returns
    -------
    index : ndarray of int, shape (n_beads, n_anchors)
        Anchor bead indices, -1 where a bead has fewer anchors than the widest.
    weight : ndarray, shape (n_beads, n_anchors)
        Anchor weights, 0 in the padding.
    """
    adj = [set() for _ in range(n_beads)]
    for i, j in np.asarray(bead_bonds, dtype=int).reshape(-1, 2):
        adj[i].add(j)
        adj[j].add(i)
    rows = []
    for b in range(n_beads):
        first = sorted(adj[b])
        row = [(j, 1.0) for j in first]
        if len(first) == 1:
            second = sorted(adj[first[0]] - {b})
            row += [(k, float(second_shell_weight)) for k in second]
        rows.append(row)
    width = max(1, max(len(r) for r in rows))
    index = np.full((n_beads, width), -1, dtype=int)
    weight = np.zeros((n_beads, width))
    for b, row in enumerate(rows):
        for k, (j, w) in enumerate(row):
            index[b, k], weight[b, k] = j, w
    return index, weight


def medoid(points, weights):
    """The point set with the smallest sum of best-rotation RMSDs to all others.

    Parameters
    ----------
    points : ndarray, shape (n_sets, n_points, 3)
        nm, each set relative to its rotation centre.
    weights : ndarray, shape (n_points,)

    Returns
    -------
    index : int
    mean_rmsd : float
        Mean RMSD (nm) of the chosen set to the others (0 for a single set).
    """
    n = len(points)
    rmsd = np.sqrt(aligned_msd(points[:, None], points[None], weights))
    total = rmsd.sum(axis=1)
    k = int(np.argmin(total))
    return k, float(total[k] / max(n - 1, 1))


def build_library(x, box, bonds, mapping, bead_bonds, n_molecules, second_shell_weight=0.1,
                  max_candidates=256):
    """Choose and store one reference fragment per bead from AA frames.

    Parameters
    ----------
    x : ndarray, shape (n_frames, n_molecules * n_atoms, 3)
        AA positions in nm, molecule by molecule in topology order (wrapped or whole).
    box : ndarray, shape (n_frames, 3)
        Orthorhombic box edges, nm.
    bonds : ndarray, shape (n_bonds, 2)
        Atom bonds of one molecule (to make molecules whole).
    mapping : cgbench.molecule.mapping.Mapping
    bead_bonds : ndarray, shape (n_bead_bonds, 2)
        Bonded bead pairs of one molecule.
    n_molecules : int
    second_shell_weight : float
        See :func:`anchor_table`.
    max_candidates : int
        At most this many (frame, molecule) instances, evenly spread, compete per bead; the
        medoid search costs O(max_candidates^2).

    Returns
    -------
    FragmentLibrary
    """
    x = np.asarray(x, dtype=float)
    n_atoms, n_beads = mapping.n_atoms, mapping.n_beads
    if x.ndim != 3 or x.shape[1] != n_molecules * n_atoms:
        raise CgbenchError(
            f"reference positions of shape {x.shape} are not frames of {n_molecules} molecules x {n_atoms} atoms"
        )
    nf = x.shape[0]
    whole = make_whole(x, box, bonds, n_atoms).reshape(nf * n_molecules, n_atoms, 3)
    n_inst = len(whole)
    pick = np.unique(np.linspace(0, n_inst - 1, min(max_candidates, n_inst)).round().astype(int))
    whole = whole[pick]
    com = map_positions(whole, mapping.com_weights())  # (n_pick, n_beads, 3)
    index, weight = anchor_table(n_beads, bead_bonds, second_shell_weight)
    offsets = np.zeros((n_atoms, 3))
    anchors = np.zeros((*index.shape, 3))
    source = np.zeros((n_beads, 2), dtype=int)
    spread = np.zeros(n_beads)
    for b in range(n_beads):
        atoms = np.flatnonzero(mapping.bead_of_atom == b)
        k = int(np.sum(index[b] >= 0))
        pts = np.concatenate([whole[:, atoms], com[:, index[b, :k]]], axis=1) - com[:, b, None]
        w = np.concatenate([np.ones(len(atoms)), weight[b, :k]])
        choice, spread[b] = medoid(pts, w)
        offsets[atoms] = pts[choice, : len(atoms)]
        anchors[b, :k] = pts[choice, len(atoms):]
        source[b] = divmod(int(pick[choice]), n_molecules)
    return FragmentLibrary(offsets, anchors, index, weight, np.asarray(mapping.bead_of_atom, dtype=int),
                           source, spread)
