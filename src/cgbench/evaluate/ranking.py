r"""A ranking of CG models that is claimed only where the data resolve it.

Decision rule
-------------
The models' distances to the reference (:mod:`cgbench.evaluate.transport`: Wasserstein-1 and
energy distance of :math:`\log_{10}|F|`) come with block-bootstrap replicates, each measured
against the same replicate of the reference, so the difference of two sets is a paired
difference, replicate by replicate.

Intervals are percentile intervals of the paired replicate differences, read at a coverage
expanded for the number of bootstrap blocks of the sparser set compared
(:func:`cgbench.evaluate.resampling.percentile_interval`), so that a handful of frames does not
resolve what it cannot.

1. **Control.** The in-distribution set (held-out AA frames mapped and backmapped by the same
   method) carries the backmapper's own error and no model's. A ranking is claimed only when,
   for every model and for both distances, the percentile interval (at ``level``) of
   *model minus control* lies above 0. The claim needs every one of these comparisons, so each
   is made at ``level`` itself (an intersection-union test needs no correction). Otherwise there
   is no ranking: the backmapper's error is as large as the differences a ranking would rest on.
2. **Order.** Models are listed by their Wasserstein-1 point estimate (then energy distance);
   equal values keep the order they were given in and are never ordered by name.
3. **Adjacent pairs.** A pair of neighbours in that order is *resolved* when the intervals of the
   paired differences of both distances lie above 0: both must agree in sign. The intervals of
   the :math:`m - 1` adjacent pairs are Bonferroni-corrected, each at
   :math:`1 - (1 - \mathrm{level})/(m - 1)`, since each pair is reported on its own.
4. Neighbours that are not resolved share a rank and are reported "unresolved", with the reason.

:func:`block_sensitivity` repeats the rule at other block lengths, to show that the verdict does
not hinge on that choice.
"""

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from cgbench.core.errors import CgbenchError
from cgbench.evaluate.resampling import block_length, percentile_interval
from cgbench.evaluate.transport import MEASURES, replicate_distances

__all__ = ["Ranking", "rank_models", "block_sensitivity"]

_NAMES = {"w1": "W1", "energy": "energy distance"}


@dataclass
class Ranking:
    """Verdict of the decision rule for one backmapping method.

    Attributes
    ----------
    models : pandas.DataFrame
        One row per model, in order of W1: ``model``, ``w1``, ``energy``, ``nonfinite`` (bead
        forces left off the axis), for each measure ``<m>_vs_control`` and its ``_lo``, ``_hi``,
        ``control_below`` and ``rank`` (shared by unresolved neighbours; missing when no ranking
        is claimed).
    pairs : pandas.DataFrame
        One row per adjacent pair: ``better``, ``worse``, for each measure ``d_<m>`` (worse minus
        better) and its ``_lo``, ``_hi``, ``level`` (corrected), ``blocks`` (of the sparser set,
        behind the interval's expansion), ``resolved`` and ``why``.
    claimed : bool
        Whether the control lies below every model.
    reason : str
        Why there is no ranking (empty when there is one).
    level, pair_level : float
        Coverage of the control intervals and of the (corrected) pair intervals.
    """

    models: pd.DataFrame
    pairs: pd.DataFrame
    claimed: bool
    reason: str
    level: float
    pair_level: float

    def order(self):
        """The models in order, resolved steps as " < " and unresolved ones as " ~ "."""
        names = list(self.models["model"])
        if not names:
            return ""
        text = names[0]
        for name, resolved in zip(names[1:], self.pairs["resolved"]):
            text += (" < " if resolved else " ~ ") + name
        return text

    def verdict(self):
        """One sentence: the ranking and each adjacent pair, or that there is none and why."""
        if not self.claimed:
            return f"no ranking: {self.reason}."
        steps = [f"{r.better}-{r.worse} " + ("resolved" if r.resolved else f"unresolved ({r.why})")
                 for r in self.pairs.itertuples()]
        return f"ranking {self.order()}" + (f"; {', '.join(steps)}" if steps else "") + "."


def _interval(diff, level, *sets):
    # the sparsest of the compared sets sets how far the percentiles must be expanded
    return percentile_interval(diff, level, min(s.n_blocks for s in sets))


def _why(points, intervals):
    """Why a pair is not resolved (empty when it is)."""
    if any(np.isnan(points[m]) or np.isnan(intervals[m][0]) for m in MEASURES):
        return "a distance could not be computed"
    if all(points[m] == 0 for m in MEASURES):
        return "equal distances"
    if len({np.sign(points[m]) for m in MEASURES}) > 1 or (
            any(intervals[m][0] > 0 for m in MEASURES) and any(intervals[m][1] < 0 for m in MEASURES)):
        return "W1 and energy distance disagree in sign"
    open_ = [_NAMES[m] for m in MEASURES if not intervals[m][0] > 0]
    return ("the interval of the " + " and ".join(open_) + " difference does not lie above 0") if open_ else ""


def rank_models(models, control=None, level=0.95):
    """Apply the decision rule (module docstring) to the models of one backmapping method.

    Parameters
    ----------
    models : dict of str -> cgbench.evaluate.transport.SetDistances
        The CG models' sets, replicates paired through one reference stream
        (:func:`cgbench.evaluate.transport.bootstrap_distances` with one seed and ``n_boot``).
    control : cgbench.evaluate.transport.SetDistances, optional
        The in-distribution set of the same method, made in the same call.
    level : float in (0, 1)

    Returns
    -------
    Ranking
    """
    if not models:
        raise CgbenchError("nothing to rank")
    if not 0.0 < level < 1.0:
        raise CgbenchError(f"level must lie in (0, 1), got {level}")
    sets = list(models.values()) + ([control] if control is not None else [])
    n_boot = {s.replicates[m].size for s in sets for m in MEASURES}
    if len(n_boot) != 1:
        raise CgbenchError(f"sets have different numbers of replicates {sorted(n_boot)}; they cannot be paired")
    # sorted() is stable: equal distances keep the given order, so nothing is ordered by name
    order = sorted(models, key=lambda k: tuple((np.isnan(models[k].point(m)), np.nan_to_num(models[k].point(m)))
                                               for m in MEASURES))
    rows, failing = [], []
    for name in order:
        s = models[name]
        row = {"model": name, **{m: s.point(m) for m in MEASURES}, "nonfinite": s.n_nonfinite}
        below = control is not None
        for m in MEASURES:
            if control is None:
                row.update({f"{m}_vs_control": np.nan, f"{m}_vs_control_lo": np.nan, f"{m}_vs_control_hi": np.nan})
                continue
            lo, hi = _interval(s.replicates[m] - control.replicates[m], level, s, control)
            row.update({f"{m}_vs_control": s.point(m) - control.point(m), f"{m}_vs_control_lo": lo,
                        f"{m}_vs_control_hi": hi})
            below = below and lo > 0
        row["control_below"] = below
        if not below:
            failing.append(name)
        rows.append(row)
    n_pairs = len(order) - 1
    pair_level = 1.0 - (1.0 - level) / n_pairs if n_pairs else level
    pairs = []
    for better, worse in zip(order[:-1], order[1:]):
        a, b = models[better], models[worse]
        points = {m: b.point(m) - a.point(m) for m in MEASURES}
        intervals = {m: _interval(b.replicates[m] - a.replicates[m], pair_level, a, b) for m in MEASURES}
        why = _why(points, intervals)
        row = {"better": better, "worse": worse}
        for m in MEASURES:
            row.update({f"d_{m}": points[m], f"d_{m}_lo": intervals[m][0], f"d_{m}_hi": intervals[m][1]})
        row.update({"level": pair_level, "blocks": min(a.n_blocks, b.n_blocks), "resolved": why == "",
                    "why": why or "resolved"})
        pairs.append(row)
    columns = ["better", "worse", *[f"d_{m}{s}" for m in MEASURES for s in ("", "_lo", "_hi")], "level", "blocks",
               "resolved", "why"]
    pairs = pd.DataFrame(pairs, columns=columns)
    claimed = not failing
    table = pd.DataFrame(rows)
    rank = np.cumsum([1] + [int(r) for r in pairs["resolved"]])
    table["rank"] = pd.array(rank if claimed else [None] * len(order), dtype="Int64")
    if control is None:
        reason = "no in-distribution control was evaluated, so model error cannot be told from backmapping error"
    elif failing:
        reason = ("backmapper-limited: the in-distribution control is not measurably closer to the reference than "
                  + ("model " if len(failing) == 1 else "models ") + ", ".join(failing))
    else:
        reason = ""
    return Ranking(table, pairs, claimed, reason, float(level), float(pair_level))


def block_sensitivity(distances, reference, tests, control=None, level=0.95, seed=0, n_boot=None,
                      factors=(0.5, 1.0, 2.0)):
    """The decision rule's intervals and verdict at several block lengths.

    Parameters
    ----------
    distances : dict of str -> cgbench.evaluate.transport.SetDistances
        Every set of one method, control included, from
        :func:`cgbench.evaluate.transport.bootstrap_distances` at the default block length; their
        point estimates are kept, and their replicates serve for the factor 1.
    reference : ndarray, shape (n_frames_ref, n_beads), decades
    tests : dict of str -> ndarray, shape (n_frames, n_beads), decades
        The same sets' log magnitudes, under the same names.
    control : str, optional
        Name of the control among ``tests``.
    level : float
    seed : int
        The seed ``distances`` were made with.
    n_boot : int, optional
        Replicates; defaults to those of ``distances``.
    factors : sequence of float
        Multiples of the default block length.

    Returns
    -------
    pandas.DataFrame
        One row per block factor and comparison (``"<model> - <control>"`` or
        ``"<worse> - <better>"``): ``block_factor``, ``block_reference`` (frames),
        ``comparison``, per measure ``<m>_lo`` and ``<m>_hi``, ``resolved`` (the comparison passes
        the rule), ``verdict``, and ``stable`` (the verdict is the same at every factor).
    """
    if n_boot is None:
        n_boot = next(iter(distances.values())).replicates["w1"].size
    rows, verdicts = [], []
    for f in factors:
        if f == 1.0:
            # the default length is what ``distances`` were made with: no need to draw them again
            sets, ref_block = dict(distances), block_length(np.shape(reference)[0])
        else:
            reps, blocks = replicate_distances(reference, tests, n_boot, seed, f)
            sets = {k: replace(v, replicates=reps[k], block=blocks[k]) for k, v in distances.items()}
            ref_block = blocks["reference"]
        ctrl = sets.pop(control) if control is not None else None
        r = rank_models(sets, ctrl, level)
        verdicts.append(r.verdict())
        base = {"block_factor": f, "block_reference": ref_block}
        if ctrl is not None:
            for row in r.models.itertuples():
                bounds = {f"{m}_{s}": getattr(row, f"{m}_vs_control_{s}") for m in MEASURES for s in ("lo", "hi")}
                rows.append({**base, "comparison": f"{row.model} - {control}", **bounds,
                             "resolved": bool(row.control_below), "verdict": verdicts[-1]})
        for row in r.pairs.itertuples():
            rows.append({**base, "comparison": f"{row.worse} - {row.better}",
                         **{f"{m}_{s}": getattr(row, f"d_{m}_{s}") for m in MEASURES for s in ("lo", "hi")},
                         "resolved": bool(row.resolved), "verdict": verdicts[-1]})
    out = pd.DataFrame(rows)
    out["stable"] = len(set(verdicts)) == 1
    return out
