r"""Bead-force components that no bond force can reach: what a model with constrained bonds predicts.

A CG model whose bonds are constraints (model A) has no bond potential: its force field gives
bead forces only up to the constraint forces, which depend on the dynamics, not on the
configuration. Its forces are therefore short of the pull along the bonds that the AA net forces
carry, and Eq. 7 charges it for a term it does not model.

Every bond force on bead :math:`I`, constraint or potential, lies along the bond vectors
:math:`e_{IJ} = x_J - x_I` of its bonds. Projected onto the orthogonal complement of their span,

.. math:: P_I = 1 - \sum_b q_b q_b^\mathsf{T},

with :math:`q_b` an orthonormal basis of :math:`\mathrm{span}\{e_{IJ}\}` (Gram-Schmidt), a force
keeps only components that bond terms cannot reach: :math:`3 - \mathrm{rank}` of them per bead
(one for a bead with three bonds in a plane, two for a chain end). On these components every
model, constrained or not, is compared on equal terms; angle, dihedral and pair forces remain.
Bond vectors take the minimum image in the orthorhombic box.
"""

from dataclasses import dataclass

import numpy as np

from cgbench.core.errors import CgbenchError

__all__ = ["BondGeometry", "bond_neighbours"]

#: A bond vector whose part outside the span of the earlier ones is below this fraction of its
#: length adds no direction (collinear bonds).
_TOL = 1e-6
#: Bead-bond slots handled at once, to bound memory on long trajectories.
_CHUNK = 2_000_000


def bond_neighbours(bonds, n_beads, n_molecules):
    """Bonded neighbours of every bead of a system of identical molecules.

    Parameters
    ----------
    bonds : array_like of int, shape (n_bonds, 2)
        Bonds of one molecule, 0-based bead indices.
    n_beads : int
        Beads per molecule.
    n_molecules : int

    Returns
    -------
    ndarray of int, shape (n_molecules * n_beads, max_degree)
        System bead indices of each bead's neighbours, padded with -1.
    """
    b = np.asarray(bonds, dtype=int).reshape(-1, 2)
    if b.size and (b.min() < 0 or b.max() >= n_beads):
        raise CgbenchError(f"bond indices must lie in [0, {n_beads})")
    lists = [[] for _ in range(n_beads)]
    for i, j in b:
        lists[i].append(j)
        lists[j].append(i)
    width = max((len(x) for x in lists), default=0)
    one = np.full((n_beads, width), -1, dtype=int)
    for i, x in enumerate(lists):
        one[i, : len(x)] = x
    offsets = (np.arange(n_molecules) * n_beads)[:, None, None]
    return np.where(one >= 0, one + offsets, -1).reshape(n_molecules * n_beads, width)


@dataclass
class BondGeometry:
    """Bond directions of a set of CG frames.

    Attributes
    ----------
    positions : ndarray, shape (n_frames, n_molecules * n_beads, 3), nm
    box : ndarray, shape (n_frames, 3) or (3,), nm
        Orthorhombic box lengths.
    bonds : ndarray of int, shape (n_bonds, 2)
        Bonds of one molecule.
    n_beads : int
        Beads per molecule.
    """

    positions: np.ndarray
    box: np.ndarray
    bonds: np.ndarray
    n_beads: int

    def select(self, frames):
        """The geometry of some frames only (an index or boolean mask over frames)."""
        box = np.asarray(self.box)
        return BondGeometry(np.asarray(self.positions)[frames], box[frames] if box.ndim == 2 else box, self.bonds,
                            self.n_beads)

    def perpendicular(self, vectors):
        """Components of per-bead vectors perpendicular to every bond of their bead.

        Parameters
        ----------
        vectors : ndarray, shape (n_frames, n_molecules * n_beads, 3)
            E.g. force differences, kJ/mol/nm.

        Returns
        -------
        perpendicular : ndarray, shape (n_frames, n_molecules * n_beads, 3)
            Same unit as ``vectors``.
        dof : ndarray of int, shape (n_frames, n_molecules * n_beads)
            Components kept per bead, 3 minus the rank of its bond vectors.
        """
        v = np.asarray(vectors, dtype=float)
        x = np.asarray(self.positions, dtype=float)
        if v.ndim != 3 or v.shape != x.shape or v.shape[-1] != 3 or v.shape[1] % int(self.n_beads):
            raise CgbenchError(f"vectors {v.shape} and positions {x.shape} must share the shape "
                               f"(n_frames, n_molecules * {self.n_beads}, 3)")
        box = np.asarray(self.box, dtype=float)
        box = np.broadcast_to(box, (v.shape[0], 3)) if box.ndim == 1 else box
        if box.shape != (v.shape[0], 3) or np.any(box <= 0):
            raise CgbenchError(f"box must hold positive lengths with shape ({v.shape[0]}, 3), got {box.shape}")
        nbr = bond_neighbours(self.bonds, int(self.n_beads), v.shape[1] // int(self.n_beads))
        pad = nbr < 0
        out = v.copy()
        dof = np.full(v.shape[:2], 3, dtype=int)
        step = max(1, _CHUNK // max(1, nbr.size))
        for s in range(0, v.shape[0], step):
            sl = slice(s, s + step)
            e = x[sl][:, np.where(pad, 0, nbr)] - x[sl][:, :, None, :]
            b = box[sl][:, None, None, :]
            e -= b * np.round(e / b)
            e[:, pad] = 0.0
            p = out[sl]
            basis = []
            for k in range(nbr.shape[1]):
                u = e[:, :, k]
                length = np.linalg.norm(u, axis=-1)
                for q in basis:
                    u = u - np.einsum("fik,fik->fi", u, q)[..., None] * q
                rest = np.linalg.norm(u, axis=-1)
                new = rest > _TOL * length
                q = np.where(new[..., None], u / np.where(new, rest, 1.0)[..., None], 0.0)
                basis.append(q)
                dof[sl] -= new
                p -= np.einsum("fik,fik->fi", p, q)[..., None] * q
        return out, dof
