"""chi^2 (Eq. 7) and chi^2_BM (Eq. 8) of every CG model and backmapping method, as one table.

The functionals themselves are in :mod:`cgbench.evaluate.force_matching`; this module decides
which frames enter them (no clashes), which components (all, or those perpendicular to the bonds
for a model that holds its bonds as constraints) and flags backmaps that do not re-project onto
their CG input, which Eq. 8 assumes.
"""

import numpy as np
import pandas as pd

from .constraints import BondGeometry
from .force_matching import chi2, chi2_bm, clash_frames
from .forces import force_magnitudes
from .reduction import MARKED_FORCE

__all__ = ["CLASH_MULTIPLE_CHI2", "REPROJECTION_TOL_NM", "force_matching_table"]

#: A frame clashes, for chi^2_BM, when a net bead force reaches this multiple of the reference's
#: force_quantile quantile (the top of the clash spectrum).
CLASH_MULTIPLE_CHI2 = 100.0
#: Re-projection RMSD (nm) above which a backmap is flagged as inconsistent, M(BM(R)) != R, which
#: Eq. 8 assumes: a few per cent of a CG bond length (0.3-0.5 nm for TMBT).
REPROJECTION_TOL_NM = 0.01


def _bond_geometry(positions, box, bonds, n_beads):
    return None if bonds is None else BondGeometry(positions, box, bonds, n_beads)


def force_matching_table(cg_forces, mapped, data, methods, ref_net, settings, bonds=None, testset_geometry=None,
                         cg_models=None):
    """chi^2 (Eq. 7) and chi^2_BM (Eq. 8) per CG model and backmapping method, on net bead forces.

    The backmapping term averages over the frames without clashes (no bead force at or above
    :data:`CLASH_MULTIPLE_CHI2` times the reference's ``force_quantile`` quantile of net forces,
    none non-finite); their number stands beside it, and the swamped all-frame value is kept for
    comparison. ``chi2_perp`` and ``chi2_BM_perp`` use only the components perpendicular to every
    bond of a bead (needs ``bonds`` and ``testset_geometry``). ``reprojection_ok`` is False where
    the backmap's re-projection RMSD exceeds :data:`REPROJECTION_TOL_NM`: M(BM(R)) != R, which
    Eq. 8 assumes.

    Parameters
    ----------
    cg_forces : dict of str -> mapping
        Each model's CG forces (kJ/mol/nm): ``mapped`` (n_frames_aa, n_beads, 3) on the mapped AA
        frames and ``test`` (n_frames, n_beads, 3) on its own test-set frames.
    mapped : mapping
        The mapping stage's ``cg.npz``: ``forces_net``, ``positions``, ``box``, ``bead_types``.
    data : dict of (method, test set) -> mapping
        Evaluations of the backmapped sets (:func:`cgbench.evaluate.reduction.reduce_aa`).
    methods : list of str
    ref_net : ndarray, shape (n_frames, n_beads, 3), kJ/mol/nm
        Net bead forces of the AA reference.
    settings : dict
        ``force_quantile``.
    bonds : ndarray of int, shape (n_bonds, 2), optional
        CG bonds of one molecule.
    testset_geometry : dict of str -> (ndarray, ndarray), optional
        Each model's test-set positions (n_frames, n_beads, 3) and boxes (n_frames, 3), nm: the
        configurations R of Eq. 8.
    cg_models : dict of str -> dict, optional
        Model specifications (``bonds: constrained`` marks models without a bond term).

    Returns
    -------
    pandas.DataFrame
    """
    mag = force_magnitudes(ref_net)
    limit = CLASH_MULTIPLE_CHI2 * float(np.quantile(mag[np.isfinite(mag) & (mag < MARKED_FORCE)],
                                                    settings["force_quantile"]))
    n_beads = len(mapped["bead_types"]) if "bead_types" in mapped else None
    geom_aa = _bond_geometry(mapped["positions"], mapped["box"], bonds, n_beads) if n_beads else None
    rows = []
    for model, f in cg_forces.items():
        chi = chi2(f["mapped"], mapped["forces_net"])
        chi_perp = chi2(f["mapped"], mapped["forces_net"], geom_aa) if geom_aa is not None else np.nan
        geom_cg = None
        if geom_aa is not None and testset_geometry and model in testset_geometry:
            positions, box = testset_geometry[model]
            if len(positions) == len(f["test"]):
                geom_cg = _bond_geometry(positions, box, bonds, n_beads)
        constrained = bool(cg_models) and cg_models.get(model, {}).get("bonds") == "constrained"
        for m in methods:
            if (m, model) not in data:
                continue
            f_bm = data[m, model]["forces_net"]
            clash = clash_frames(f_bm, limit)
            kept = chi2_bm(f["mapped"], mapped["forces_net"], f["test"], f_bm, keep=~clash)
            every = chi2_bm(f["mapped"], mapped["forces_net"], f["test"], f_bm).chi2_bm \
                if np.isfinite(f_bm).all() else np.inf
            perp = chi2_bm(f["mapped"], mapped["forces_net"], f["test"], f_bm, keep=~clash,
                           perpendicular_to=(geom_aa, geom_cg)).chi2_bm if geom_cg is not None else np.nan
            rmsd = float(np.mean(data[m, model]["rmsd_nm"]))
            rows.append({"model": model, "method": m, "forces": "net",
                         "bonds": "constrained" if constrained else "potential",
                         "chi2": chi, "chi2_perp": chi_perp, "frames": kept.n_frames, "clash_frames": int(clash.sum()),
                         "chi2_BM": kept.chi2_bm, "chi2_BM_perp": perp, "chi2_BM_all_frames": every,
                         "rmsd_nm": rmsd, "reprojection_ok": rmsd <= REPROJECTION_TOL_NM})
    return pd.DataFrame(rows)
