"""The CG models compared through their backmaps: distances per method and bead group, and the rankings.

For each backmapping method, the bead-force distributions of every test set are set against the
AA reference (:func:`cgbench.evaluate.transport.bootstrap_distances`), pooled over every bead and
over each bead type; the pooled distances over every bead feed the decision rule
(:func:`cgbench.evaluate.ranking.rank_models`) and its block-length check. Arrays and tables in,
tables and :class:`~cgbench.evaluate.ranking.Ranking` objects out.
"""

import logging

import numpy as np
import pandas as pd

from . import transport
from .ranking import block_sensitivity, rank_models
from .resampling import percentile_interval

__all__ = ["BLOCK_FACTORS", "bead_groups", "distance_rows", "rank_by_distances", "ranking_tables"]

log = logging.getLogger("cgbench")

#: Block lengths of the stability check of the rankings, as multiples of the default.
BLOCK_FACTORS = (0.5, 1.0, 2.0)


def bead_groups(bead_types, n_molecules, n_beads_total):
    """Columns of the bead forces to pool: every bead, then each bead type (when the data allow).

    Parameters
    ----------
    bead_types : sequence of str or None
        Bead types of one molecule; None pools every bead only.
    n_molecules : int or None
    n_beads_total : int
        Bead columns of the force arrays.

    Returns
    -------
    dict of str -> ndarray of bool, shape (n_beads_total,)
        ``"all"`` first, then one entry per bead type in order of first appearance.
    """
    groups = {"all": np.ones(n_beads_total, dtype=bool)}
    if bead_types is None or n_molecules is None:
        return groups
    types = np.tile(np.asarray(bead_types).astype(str), int(n_molecules))
    if types.size == n_beads_total:
        groups.update({t: types == t for t in dict.fromkeys(types)})
    else:
        log.warning("bead types (%d beads) do not match the forces (%d beads): distances pooled only",
                    types.size, n_beads_total)
    return groups


def distance_rows(method, group, dist, control, level):
    """Table rows of one method and bead group: each set's distances, intervals and difference to the control.

    Parameters
    ----------
    method, group : str
    dist : dict of str -> cgbench.evaluate.transport.SetDistances
        Test set -> its distances to the reference.
    control : SetDistances or None
        The in-distribution set's, whose paired differences the other rows carry.
    level : float
        Interval level.

    Returns
    -------
    list of dict
    """
    rows = []
    for s, d in dist.items():
        row = {"method": method, "test set": s, "beads": group, "frames": d.n_frames, "block": d.block,
               "nonfinite": d.n_nonfinite}
        for m in transport.MEASURES:
            lo, hi = percentile_interval(d.replicates[m], level, d.n_blocks)
            row.update({m: d.point(m), f"{m}_lo": lo, f"{m}_hi": hi})
        for m in transport.MEASURES:
            diff = (np.nan, np.nan, np.nan)
            if control is not None and d is not control:
                n = min(d.n_blocks, control.n_blocks)
                diff = (d.point(m) - control.point(m),
                        *percentile_interval(d.replicates[m] - control.replicates[m], level, n))
            row.update(dict(zip((f"{m}_vs_indist", f"{m}_vs_indist_lo", f"{m}_vs_indist_hi"), diff)))
        row.update({f"dq{round(100 * q)}": v for q, v in zip(transport.QUANTILES, d.quantile_shift)})
        row.update({f">{k:g}x": v for k, v in zip(transport.CLASH_MULTIPLES, d.clash)})
        rows.append(row)
    return rows


def rank_by_distances(ref_log, logs, groups, methods, upper, settings, seed=0):
    """Distance table, rankings and block-length check of every backmapping method.

    Parameters
    ----------
    ref_log : ndarray, shape (n_frames_ref, n_beads), decades
        :func:`cgbench.evaluate.transport.log_magnitudes` of the reference's bead forces.
    logs : dict of (method, test set) -> ndarray, shape (n_frames, n_beads), decades
    groups : dict of str -> ndarray of bool, shape (n_beads,)
        Bead columns to pool (``"all"`` ranks; the rest are reported), from :func:`bead_groups`.
    methods : list of str
    upper : float, kJ/mol/nm
        The reference's ``force_quantile`` quantile (clash spectrum unit).
    settings : dict
        ``bootstrap`` (replicates) and ``level``.
    seed : int

    Returns
    -------
    distances : pandas.DataFrame
    rankings : dict of str -> cgbench.evaluate.ranking.Ranking
    sensitivity : pandas.DataFrame
        :func:`cgbench.evaluate.ranking.block_sensitivity` of every method, with a ``method`` column.
    """
    rows, rankings, checks = [], {}, []
    for m in methods:
        sets = {s: v for (mm, s), v in logs.items() if mm == m}
        for g, cols in groups.items():
            dist = transport.bootstrap_distances(ref_log[:, cols], {s: v[:, cols] for s, v in sets.items()}, upper,
                                                 n_boot=settings["bootstrap"], seed=seed)
            rows += distance_rows(m, g, dist, dist.get("indist"), settings["level"])
            if g != "all":
                continue
            models = {s: d for s, d in dist.items() if s != "indist"}
            if not models:
                continue
            rankings[m] = rank_models(models, dist.get("indist"), settings["level"])
            check = block_sensitivity(dist, ref_log, sets, "indist" if "indist" in dist else None,
                                      settings["level"], seed, factors=BLOCK_FACTORS)
            check.insert(0, "method", m)
            checks.append(check)
            log.info("%s: %s (block length stable: %s)", m, rankings[m].verdict(), bool(check["stable"].all()))
    return pd.DataFrame(rows), rankings, pd.concat(checks, ignore_index=True) if checks else pd.DataFrame()


def ranking_tables(rankings):
    """The rankings of every method as two tables, the method first in each.

    Returns
    -------
    models : pandas.DataFrame
        One row per method and model (rank, control, distances).
    pairs : pandas.DataFrame
        One row per method and adjacent pair (whether it is resolved).
    """
    if rankings:
        models = pd.concat([r.models.assign(method=m) for m, r in rankings.items()], ignore_index=True)
        pairs = pd.concat([r.pairs.assign(method=m) for m, r in rankings.items()], ignore_index=True)
    else:
        models = pd.DataFrame(columns=["method", "model", "rank"])
        pairs = pd.DataFrame(columns=["method", "better", "worse", "resolved"])
    first = (lambda df: df[["method", *[c for c in df.columns if c != "method"]]])
    return first(models), first(pairs)
