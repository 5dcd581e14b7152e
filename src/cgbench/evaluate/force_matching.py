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
the same bead configurations (:func:`cgbench.evaluate.cg_forces.cg_forces`).

Everything here is arrays in, numbers out.
"""

from dataclasses import dataclass

import numpy as np

from cgbench.errors import CgbenchError

__all__ = ["chi2", "chi2_per_frame", "ForceMatching", "chi2_bm"]


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


def chi2_per_frame(f_cg, f_aa):
    r"""The bracketed term of Eq. 7 for every frame, :math:`\frac{1}{3N}\sum_I |F^{CG}_I - F^{AA}_I|^2`.

    Parameters
    ----------
    f_cg : ndarray, shape (n_frames, n_beads, 3), kJ/mol/nm
        CG-model forces on each frame's beads.
    f_aa : ndarray, shape (n_frames, n_beads, 3), kJ/mol/nm
        Net AA forces projected to the same beads.

    Returns
    -------
    ndarray, shape (n_frames,), (kJ/mol/nm)^2
    """
    f_cg, f_aa = _pair(f_cg, f_aa)
    d = f_cg - f_aa
    return np.einsum("fik,fik->f", d, d) / (3.0 * f_cg.shape[1])


def chi2(f_cg, f_aa):
    """Force-matching functional chi^2, Eq. 7: :func:`chi2_per_frame` averaged over frames.

    Parameters
    ----------
    f_cg : ndarray, shape (n_frames, n_beads, 3), kJ/mol/nm
        :math:`F^{CG}(M(r))`: the CG model's forces on mapped AA frames.
    f_aa : ndarray, shape (n_frames, n_beads, 3), kJ/mol/nm
        :math:`F^{AA}(r)`: net AA forces of the same frames projected to beads.

    Returns
    -------
    float, (kJ/mol/nm)^2
    """
    return float(chi2_per_frame(f_cg, f_aa).mean())


@dataclass
class ForceMatching:
    """chi^2 (Eq. 7), the backmapping term of Eq. 8, and their sum chi^2_BM, all in (kJ/mol/nm)^2."""

    chi2: float
    backmapping_term: float

    @property
    def chi2_bm(self):
        """chi^2_BM = chi^2 + backmapping term (Eq. 8)."""
        return self.chi2 + self.backmapping_term


def chi2_bm(f_cg_mapped, f_aa, f_cg_model, f_aa_backmapped):
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

    Returns
    -------
    ForceMatching
    """
    a = chi2(f_cg_mapped, f_aa)
    f_cg_model, f_aa_backmapped = _pair(f_cg_model, f_aa_backmapped)
    if f_cg_model.shape[1] != np.shape(f_aa)[-2]:
        raise CgbenchError(
            f"both ensembles need the same beads per frame: {np.shape(f_aa)[-2]} (AA) and {f_cg_model.shape[1]} (CG)"
        )
    return ForceMatching(a, chi2(f_cg_model, f_aa_backmapped))
