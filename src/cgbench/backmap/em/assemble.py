"""Placing reference fragments onto CG beads and assembling whole AA molecules.

For every bead of every molecule of every frame at once:

1. the CG molecule is made whole (each bead at the minimum image of its bond-tree parent), so a
   bead's anchors are its neighbours' nearest images even across the box boundary;
2. the rotation :math:`R` that best maps the fragment's reference anchors onto the CG anchors,
   both relative to the bead (:func:`cgbench.backmap.em.align.kabsch`, weighted by the anchor weights),
   is found; rotating about the bead keeps the bead fixed, which the next step requires;
3. each atom goes to :math:`x_i = R\\,o_i + r_I`, with :math:`o_i` its offset from its bead's centre
   of mass in the reference. The offsets of a bead have a zero mass-weighted mean, so the placed
   fragment's centre of mass is the CG bead :math:`r_I` exactly (Eq. 1 inverted for that bead).

Atoms come out in the AA topology's order, molecule by molecule, molecules whole.
"""

import numpy as np

from ...core.errors import CgbenchError
from ...geometry.pbc import make_whole
from .align import kabsch

__all__ = ["whole_beads", "rotations", "place"]


def whole_beads(r, box, bead_bonds, n_beads):
    """CG molecules made whole: (n_frames, n_molecules, n_beads, 3) nm from wrapped beads.

    Parameters
    ----------
    r : ndarray, shape (n_frames, n_molecules * n_beads, 3)
        Bead positions, nm, molecule by molecule in Mapping order.
    box : ndarray, shape (n_frames, 3)
        nm.
    bead_bonds : ndarray, shape (n_bonds, 2)
        Bonded bead pairs of one molecule.
    """
    r = np.asarray(r, dtype=float)
    if r.ndim != 3 or r.shape[1] % n_beads:
        raise CgbenchError(f"bead positions of shape {r.shape} are not whole molecules of {n_beads} beads")
    return make_whole(r, box, bead_bonds, n_beads).reshape(r.shape[0], -1, n_beads, 3)


def rotations(rw, library):
    """Rotation of every bead's fragment.

    Parameters
    ----------
    rw : ndarray, shape (n_frames, n_molecules, n_beads, 3)
        Whole CG molecules, nm.
    library : cgbench.backmap.em.fragments.FragmentLibrary

    Returns
    -------
    ndarray, shape (n_frames, n_molecules, n_beads, 3, 3)
    """
    nb = library.n_beads
    # padded anchors point at the bead itself: a zero vector with zero weight
    idx = np.where(library.anchor_index >= 0, library.anchor_index, np.arange(nb)[:, None])
    target = rw[:, :, idx] - rw[:, :, :, None]  # (F, M, B, K, 3)
    return kabsch(library.anchors, target, library.anchor_weight)


def place(r, box, library, bead_bonds):
    """Atom positions of every molecule from its beads and the fragment library.

    Parameters
    ----------
    r : ndarray, shape (n_frames, n_molecules * n_beads, 3)
        Bead positions (wrapped or not), nm, beads in Mapping order.
    box : ndarray, shape (n_frames, 3)
        Orthorhombic box edges, nm.
    library : cgbench.backmap.em.fragments.FragmentLibrary
    bead_bonds : ndarray, shape (n_bonds, 2)
        Bonded bead pairs of one molecule.

    Returns
    -------
    ndarray, shape (n_frames, n_molecules * n_atoms, 3)
        nm; whole molecules in AA topology order; molecule m's first bead stays where ``r`` has it.
    """
    rw = whole_beads(r, box, bead_bonds, library.n_beads)
    rot = rotations(rw, library)
    boa = library.bead_of_atom
    x = np.einsum("fmaij,aj->fmai", rot[:, :, boa], library.offsets) + rw[:, :, boa]
    return x.reshape(rw.shape[0], -1, 3)
