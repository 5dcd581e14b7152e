"""Backmapped structures against their CG input: the re-projection RMSD and the consistency projection.

The re-projection RMSD (study Table 1): a backmapped AA structure r = BM(R) is mapped back to
beads with the same centre-of-mass mapping that made the CG data (Eqs. 1-2), M(r), and compared
with the CG configuration R it was built from. The one implementation, used by DBM, EM
backmapping and the evaluation.

The consistency projection: each bead's atoms translated onto their CG bead.

A backmap BM(R) is consistent when mapping it back gives its CG input, M(BM(R)) = R (the study's
Eq. 8 assumes it). A generator's output misses R by its re-projection error; translating each
bead's atoms rigidly by the miss of their centre of mass makes the identity exact and leaves every
bond inside a bead as generated. Bonds between beads change by the difference of two beads' shifts.
"""

import numpy as np

from ..core.errors import CgbenchError
from ..molecule.mapping import map_positions
from ..geometry.pbc import make_whole, minimum_image

__all__ = ["minimum_image_rmsd", "reprojection_rmsd", "project_onto_beads"]


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
        COM weights of one molecule (:meth:`cgbench.molecule.mapping.Mapping.com_weights`); each atom is in
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
    d = minimum_image(cg - map_positions(whole, weights), box[:, None, :])
    bead_of_atom = np.argmax(weights > 0, axis=0)
    atom_bead = (bead_of_atom[None, :] + n_beads * np.arange(n_mol)[:, None]).ravel()
    return whole + d[:, atom_bead], np.linalg.norm(d, axis=-1)


def _box(box, n_frames):
    box = np.asarray(box, dtype=float)
    if box.ndim == 1:
        box = np.broadcast_to(box, (n_frames, 3))
    if box.shape != (n_frames, 3) or np.any(box <= 0):
        raise CgbenchError(f"box must hold positive lengths with shape ({n_frames}, 3), got {box.shape}")
    return box


def minimum_image_rmsd(x, y, box, per_frame=False):
    r"""Root-mean-square deviation between two sets of bead positions, minimum image.

    .. math::
        \mathrm{RMSD} = \Big(\frac{1}{n_\mathrm{frames} N} \sum_f \sum_{I=1}^{N}
        \big|\,\mathrm{mic}(x_{fI} - y_{fI})\big|^2\Big)^{1/2}

    pooled over all beads and frames (``per_frame=False``, the number of Table 1), where
    :math:`\mathrm{mic}` takes the shortest periodic image of the difference vector: a bead that
    lands on the other side of a periodic boundary counts by its true displacement, and a
    structure shifted by a box vector has RMSD 0. :math:`|\cdot|^2` is the full 3-D squared
    distance (no division by 3). No superposition (rotation or translation fit) is applied: the
    CG input fixes where every bead should be.

    Parameters
    ----------
    x, y : ndarray, shape (n_frames, n_beads, 3), nm
    box : ndarray, shape (n_frames, 3) or (3,), nm
        Orthorhombic box lengths.
    per_frame : bool
        Return one RMSD per frame instead of the pooled value.

    Returns
    -------
    float or ndarray of shape (n_frames,), nm
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim == 2:
        x, y = x[None], y[None]
    if x.shape != y.shape or x.ndim != 3 or x.shape[-1] != 3:
        raise CgbenchError(f"positions must share the shape (n_frames, n_beads, 3), got {x.shape} and {y.shape}")
    b = _box(box, x.shape[0])[:, None, :]
    d = minimum_image(x - y, b)
    msd = np.einsum("fik,fik->fi", d, d)
    if per_frame:
        return np.sqrt(msd.mean(axis=1))
    return float(np.sqrt(msd.mean()))


def reprojection_rmsd(aa_positions, cg_positions, box, weights, bonds=None, per_frame=False):
    """RMSD between backmapped AA structures mapped back to beads and their CG input (Table 1).

    Molecules of the AA structures are made whole first (:func:`cgbench.geometry.pbc.make_whole`) when their
    ``bonds`` are given, since a centre of mass of atoms split by a boundary lies nowhere near the
    molecule (without ``bonds`` they must be whole already); the re-projected
    beads are then compared with :func:`minimum_image_rmsd`, so whether either set is wrapped
    does not matter.

    Parameters
    ----------
    aa_positions : ndarray, shape (n_frames, n_molecules * n_atoms, 3), nm
        Backmapped AA frames, molecule after molecule.
    cg_positions : ndarray, shape (n_frames, n_molecules * n_beads, 3), nm
        The CG frames they were backmapped from, same order.
    box : ndarray, shape (n_frames, 3) or (3,), nm
    weights : ndarray, shape (n_beads, n_atoms)
        COM weights of one molecule, :meth:`cgbench.molecule.mapping.Mapping.com_weights` (Eq. 2).
    bonds : ndarray of int, shape (n_bonds, 2), optional
        Bonds of one molecule (0-based), :attr:`cgbench.molecule.topology.Topology.bonds`; None when the
        molecules are whole already.
    per_frame : bool

    Returns
    -------
    float or ndarray of shape (n_frames,), nm
    """
    aa = np.asarray(aa_positions, dtype=float)
    if aa.ndim == 2:
        aa = aa[None]
    weights = np.asarray(weights, dtype=float)
    n_beads, n_atoms = weights.shape
    if aa.shape[1] % n_atoms:
        raise CgbenchError(f"{aa.shape[1]} atoms are not a whole number of {n_atoms}-atom molecules")
    b = _box(box, aa.shape[0])
    beads = map_positions(aa if bonds is None else make_whole(aa, b, bonds, n_atoms), weights)
    cg = np.asarray(cg_positions, dtype=float)
    if cg.ndim == 2:
        cg = cg[None]
    if cg.shape != beads.shape:
        raise CgbenchError(f"CG positions have shape {cg.shape}; the re-projected AA frames have {beads.shape}")
    return minimum_image_rmsd(beads, cg, b, per_frame=per_frame)
