"""Rescaling of the bonded CG potentials once the pair potentials are known.

DBI treats each bonded coordinate as independent; with the non-bonded potentials switched on, the
CG distributions come out broader or narrower than the mapped AA ones. Each bonded potential is
therefore multiplied by a factor ``s`` and the factors are updated from the distributions' widths,
measured by their entropy :math:`H = -\\sum p \\ln p` (bin probabilities):

.. math:: s \\leftarrow s\\, e^{2 (H_\\mathrm{CG} - H_\\mathrm{ref})}

For a harmonic potential the width is :math:`\\sigma \\propto s^{-1/2}` and
:math:`H = \\ln \\sigma + \\mathrm{const}`, so one update reproduces the reference width exactly;
the entropy makes the same rule work for multimodal dihedral distributions. Factors change by at
most :data:`MAX_FACTOR` per round. Rounds stop when every distribution's JS divergence to the
reference is below the tolerance, or after a set number of rounds.
"""

import numpy as np
import pandas as pd

from .compare import as_probabilities
from ..geometry.distributions import js_divergence

#: Largest change of a scale factor in one round (either direction).
MAX_FACTOR = 2.0


def entropy(p):
    """Shannon entropy (nats) of bin probabilities."""
    p = np.asarray(p, dtype=float)
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)))


def update(scales, reference, model, kinds=("bond", "angle", "proper", "improper")):
    """One rescaling round.

    Parameters
    ----------
    scales : dict of (kind, name) -> float
        Current factors; missing entries count as 1.
    reference, model : pandas.DataFrame
        Distribution tables on the same bins (:func:`cgbench.mapping.reference.reference_table`).
    kinds : sequence of str
        Kinds the model has (a model without dihedrals leaves them out).

    Returns
    -------
    new_scales : dict
    report : pandas.DataFrame
        Per distribution: ``kind``, ``name``, ``js`` (nats), ``entropy_ref``, ``entropy_cg``,
        ``scale`` (before), ``new_scale``.
    """
    rows, new = [], dict(scales)
    for (kind, name), ref in reference.groupby(["kind", "name"], sort=False):
        if kind not in kinds:
            continue
        got = model[(model["kind"] == kind) & (model["name"] == name)]
        p = as_probabilities(kind, ref["x"], ref["y"])
        q = as_probabilities(kind, got["x"], got["y"])
        h_ref, h_cg = entropy(p), entropy(q)
        s = scales.get((kind, name), 1.0)
        factor = float(np.clip(np.exp(2.0 * (h_cg - h_ref)), 1 / MAX_FACTOR, MAX_FACTOR))
        new[(kind, name)] = s * factor
        rows.append({"kind": kind, "name": name, "js": float(js_divergence(p, q)), "entropy_ref": h_ref,
                     "entropy_cg": h_cg, "scale": s, "new_scale": s * factor})
    return new, pd.DataFrame(rows)


def converged(report, tolerance):
    """Whether every distribution in a round's report is within ``tolerance`` (JS, nats)."""
    return bool((report["js"] <= tolerance).all())
