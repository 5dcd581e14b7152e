"""The consistency projection of backmapped structures: each bead's atoms translated onto their CG bead.

A backmap BM(R) is consistent when mapping it back gives its CG input, M(BM(R)) = R (the study's
Eq. 8 assumes it). A generator's output misses R by its re-projection error; translating each
bead's atoms rigidly by the miss of their centre of mass makes the identity exact and leaves every
bond inside a bead as generated. Bonds between beads change by the difference of two beads' shifts.
"""

import numpy as np

from .errors import CgbenchError
from .mapping import map_positions
from .pbc import make_whole


def project_onto_beads(aa, cg, box, weights, bonds):
    """Translate every bead's atoms so that their centre of mass is the CG bead.

    Parameters
    ----------
    aa : ndarray, shape (n_frames, n_molecules * n_atoms, 3), nm
        Backmapped frames, molecule after molecule (wrapped or whole).
    cg : ndarray, shape (n_frames, n_molecules * n_beads, 3), nm
        The CG frames they were backmapped from.
    box : ndarray, shape (n_frames, 3), nm
    weights : ndarray, shape (n_beads, n_atoms)
        COM weights of one molecule (:meth:`cgbench.mapping.Mapping.com_weights`); each atom is in
        one bead.
    bonds : ndarray of int, shape (n_bonds, 2)
        Bonds of one molecule, to make molecules whole first.

    Returns
    -------
    x : ndarray, like ``aa``, nm
        Whole molecules, each bead on its CG position (to the nearest periodic image of it).
    shift : ndarray, shape (n_frames, n_molecules * n_beads), nm
        Length of each bead's translation: its re-projection error before the projection.
    """
    aa = np.asarray(aa, dtype=float)
    cg = np.asarray(cg, dtype=float)
    box = np.asarray(box, dtype=float).reshape(-1, 3)
    weights = np.asarray(weights, dtype=float)
    n_beads, n_atoms = weights.shape
    if aa.shape[1] % n_atoms or cg.shape[1] != aa.shape[1] // n_atoms * n_beads or len(cg) != len(aa):
        raise CgbenchError(f"{aa.shape[:2]} backmapped atoms and {cg.shape[:2]} CG beads are not the same "
                           f"molecules of {n_atoms} atoms and {n_beads} beads")
    owners = (weights > 0).sum(axis=0)
    if np.any(owners != 1):
        raise CgbenchError("every atom must belong to exactly one bead to project beads rigidly")
    n_mol = aa.shape[1] // n_atoms
    whole = make_whole(aa, box, bonds, n_atoms)
    d = cg - map_positions(whole, weights)
    d -= box[:, None, :] * np.round(d / box[:, None, :])
    bead_of_atom = np.argmax(weights > 0, axis=0)
    atom_bead = (bead_of_atom[None, :] + n_beads * np.arange(n_mol)[:, None]).ravel()
    return whole + d[:, atom_bead], np.linalg.norm(d, axis=-1)
