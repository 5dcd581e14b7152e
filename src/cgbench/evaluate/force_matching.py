r"""Force-matching functionals of a CG force field: chi^2 (study Eq. 7) and chi^2_BM (Eq. 8).

.. math::
    \chi^2[F^{CG}] = \frac{1}{3N} \Big\langle \sum_{I=1}^{N}
        \big|F^{CG}_I(M(r)) - F^{AA}_I(r)\big|^2 \Big\rangle_{AA}
    \qquad \text{(Eq. 7)}

.. math::
    \chi^2_{BM}[F] = \chi^2 + \frac{1}{3N} \Big\langle \sum_{I=1}^{N}
        \big|F^{CG}_I(R) - F^{AA}_I(BM(R))\big|^2 \Big\rangle_{CG}
    \qquad \text{(Eq. 8)}

N is the number of beads in a configuration, the averages run over frames of the AA reference
(Eq. 7) and of the CG model's own ensemble, backmapped (Eq. 8's second term). Units are
(kJ/mol/nm)^2.

The AA forces must be **net** bead forces, :math:`\sum_{i \in \Psi_I} f_i`
(:func:`cgbench.evaluate.forces.project_forces` with ``kind="net"``): that is the force a CG force
field models and what multiscale force matching compares; Eq. 6's mean force is smaller by the
number of atoms per bead and does not enter here. CG forces come from the CG model evaluated on
the same bead configurations (:func:`cgbench.engines.lammps.forces.cg_forces`).

Two variants for backmapped ensembles that clash or that a model cannot be charged for in full:

* ``keep``: the backmapping term of Eq. 8 averaged over chosen frames of the CG ensemble. A few
  clashing frames (forces of 1e10 kJ/mol/nm and more) otherwise swamp the sum by many orders of
  magnitude; :func:`clash_frames` finds them so they can be counted beside a finite value.
* ``perpendicular_to``: only the bead-force components perpendicular to every bond of the bead
  (:class:`cgbench.evaluate.constraints.BondGeometry`), normalised by the number of those
  components instead of :math:`3N`. A model whose bonds are constraints has no bond force; on
  these components it compares with the others.

Everything here is arrays in, numbers out.
"""

from dataclasses import dataclass

import numpy as np

from cgbench.core.errors import CgbenchError

__all__ = ["chi2", "chi2_per_frame", "ForceMatching", "chi2_bm", "clash_frames"]


def _pair(f_cg, f_aa):
    f_cg = np.asarray(f_cg, dtype=float)
    f_aa = np.asarray(f_aa, dtype=float)
    if f_cg.ndim == 2:
        f_cg, f_aa = f_cg[None], f_aa[None]
    if f_cg.shape != f_aa.shape or f_cg.ndim != 3 or f_cg.shape[-1] != 3:
        raise CgbenchError(
            f"CG and AA bead forces must share the shape (n_frames, n_beads, 3), got {f_cg.shape} and {f_aa.shape}"
        )
    if not (np.isfinite(f_cg).all() and np.isfinite(f_aa).all()):
        raise CgbenchError("forces must be finite")
    return f_cg, f_aa


def chi2_per_frame(f_cg, f_aa, perpendicular_to=None):
    r"""The bracketed term of Eq. 7 for every frame, :math:`\frac{1}{3N}\sum_I |F^{CG}_I - F^{AA}_I|^2`.

    Parameters
    ----------
    f_cg : ndarray, shape (n_frames, n_beads, 3), kJ/mol/nm
        CG-model forces on each frame's beads.
    f_aa : ndarray, shape (n_frames, n_beads, 3), kJ/mol/nm
        Net AA forces projected to the same beads.
    perpendicular_to : cgbench.evaluate.constraints.BondGeometry, optional
        Bond directions of these frames: the differences are projected perpendicular to each
        bead's bonds and the sum is divided by the number of components kept, not by :math:`3N`.

    Returns
    -------
    ndarray, shape (n_frames,), (kJ/mol/nm)^2
    """
    f_cg, f_aa = _pair(f_cg, f_aa)
    d = f_cg - f_aa
    if perpendicular_to is None:
        return np.einsum("fik,fik->f", d, d) / (3.0 * f_cg.shape[1])
    d, dof = perpendicular_to.perpendicular(d)
    n = dof.sum(axis=1)
    if np.any(n == 0):
        raise CgbenchError("no force component is perpendicular to the bonds in some frame")
    return np.einsum("fik,fik->f", d, d) / n


def chi2(f_cg, f_aa, perpendicular_to=None):
    """Force-matching functional chi^2, Eq. 7: :func:`chi2_per_frame` averaged over frames.

    Parameters
    ----------
    f_cg : ndarray, shape (n_frames, n_beads, 3), kJ/mol/nm
        :math:`F^{CG}(M(r))`: the CG model's forces on mapped AA frames.
    f_aa : ndarray, shape (n_frames, n_beads, 3), kJ/mol/nm
        :math:`F^{AA}(r)`: net AA forces of the same frames projected to beads.
    perpendicular_to : cgbench.evaluate.constraints.BondGeometry, optional
        See :func:`chi2_per_frame`.

    Returns
    -------
    float, (kJ/mol/nm)^2
    """
    return float(chi2_per_frame(f_cg, f_aa, perpendicular_to).mean())


@dataclass
class ForceMatching:
    """chi^2 (Eq. 7), the backmapping term of Eq. 8, and their sum chi^2_BM, all in (kJ/mol/nm)^2.

    ``n_frames`` is the number of CG-ensemble frames and ``n_used`` how many of them the backmapping
    term averages over; with none, the term (and chi^2_BM) is NaN.
    """

    chi2: float
    backmapping_term: float
    n_frames: int = 0
    n_used: int = 0

    @property
    def chi2_bm(self):
        """chi^2_BM = chi^2 + backmapping term (Eq. 8)."""
        return self.chi2 + self.backmapping_term


def clash_frames(f, limit):
    """Frames in which some bead force is not finite or reaches ``limit``.

    Parameters
    ----------
    f : ndarray, shape (n_frames, n_beads, 3), kJ/mol/nm
    limit : float, kJ/mol/nm

    Returns
    -------
    ndarray of bool, shape (n_frames,)
    """
    m = np.linalg.norm(np.asarray(f, dtype=float), axis=-1)
    return ~np.all(np.isfinite(m) & (m < limit), axis=-1)


def chi2_bm(f_cg_mapped, f_aa, f_cg_model, f_aa_backmapped, keep=None, perpendicular_to=None):
    """Force-matching functional with backmapping, chi^2_BM (Eq. 8).

    The two averages run over different ensembles and may have different numbers of frames; both
    must have the same beads per frame (N).

    Parameters
    ----------
    f_cg_mapped : ndarray, shape (n_aa_frames, n_beads, 3), kJ/mol/nm
        :math:`F^{CG}(M(r))`, CG forces on mapped AA reference frames.
    f_aa : ndarray, shape (n_aa_frames, n_beads, 3), kJ/mol/nm
        :math:`F^{AA}(r)`, net AA forces of those frames projected to beads.
    f_cg_model : ndarray, shape (n_cg_frames, n_beads, 3), kJ/mol/nm
        :math:`F^{CG}(R)`, CG forces on frames R of the CG model's own run.
    f_aa_backmapped : ndarray, shape (n_cg_frames, n_beads, 3), kJ/mol/nm
        :math:`F^{AA}(BM(R))`, net AA forces (AA force field) of the backmapped frames, projected
        to beads.
    keep : ndarray of bool, shape (n_cg_frames,), optional
        CG-ensemble frames the backmapping term averages over (e.g. ``~clash_frames(...)``);
        the term is NaN when none is kept. Default: all.
    perpendicular_to : tuple of two cgbench.evaluate.constraints.BondGeometry, optional
        Bond directions of the AA frames and of the CG frames: both terms on the components
        perpendicular to the bonds (:func:`chi2_per_frame`).

    Returns
    -------
    ForceMatching
    """
    geometry_aa, geometry_cg = perpendicular_to if perpendicular_to is not None else (None, None)
    a = chi2(f_cg_mapped, f_aa, geometry_aa)
    f_cg_model = np.asarray(f_cg_model, dtype=float)
    f_aa_backmapped = np.asarray(f_aa_backmapped, dtype=float)
    if f_cg_model.ndim == 2:
        f_cg_model, f_aa_backmapped = f_cg_model[None], f_aa_backmapped[None]
    if f_cg_model.ndim != 3 or f_cg_model.shape[1] != np.shape(f_aa)[-2]:
        raise CgbenchError(
            f"both ensembles need the same beads per frame: {np.shape(f_aa)[-2]} (AA) and {f_cg_model.shape} (CG)"
        )
    if f_aa_backmapped.shape != f_cg_model.shape:
        raise CgbenchError(f"CG and AA bead forces must share the shape (n_frames, n_beads, 3), got "
                           f"{f_cg_model.shape} and {f_aa_backmapped.shape}")
    n = f_cg_model.shape[0]
    keep = np.ones(n, dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    if keep.shape != (n,):
        raise CgbenchError(f"keep must have shape ({n},), got {keep.shape}")
    if not keep.any():
        return ForceMatching(a, np.nan, n, 0)
    if geometry_cg is not None:
        geometry_cg = geometry_cg.select(keep)
    return ForceMatching(a, chi2(f_cg_model[keep], f_aa_backmapped[keep], geometry_cg), n, int(keep.sum()))
