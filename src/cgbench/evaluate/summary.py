"""The report's summary in words: the verdict first, then what the tables say, as one HTML fragment."""

import html

from .divergence import SATURATION
from .force_matching_table import CLASH_MULTIPLE_CHI2, REPROJECTION_TOL_NM
from .tables import html_table

__all__ = ["readings", "dbm_provenance", "summary_html"]


def readings(t1, t2, chi, sensitivity, perpendicular=True, reference_clash=None, clash_kT=None):
    """Sentences on what the tables show beyond the verdict (RMSD, JS saturation, chi^2, block length).

    Parameters
    ----------
    t1, t2 : pandas.DataFrame
        :func:`cgbench.evaluate.study_tables.table1_rmsd` and ``table2_js``.
    chi : pandas.DataFrame
        :func:`cgbench.evaluate.force_matching_table.force_matching_table`.
    sensitivity : pandas.DataFrame
        The block-length check of :func:`cgbench.evaluate.comparison.rank_by_distances`.
    perpendicular : bool
        Whether chi^2 on the components perpendicular to the bonds could be computed.
    reference_clash : float, optional
        Fraction of the AA reference's atoms in a clash (Table 2's ``atoms_in_clash``), and
    clash_kT : float, optional
        the pair energy that defines a clash, in k_BT.

    Returns
    -------
    list of str
    """
    out = []
    if not sensitivity.empty:
        unstable = sorted(set(sensitivity.loc[~sensitivity["stable"], "method"]))
        factors = ", ".join(f"{f:g}" for f in sorted(sensitivity["block_factor"].unique()))
        out.append(f"Block length: the verdicts are the same at {factors} times the default block length."
                   if not unstable else
                   f"Block length: the verdict of {', '.join(m.upper() for m in unstable)} changes with the block "
                   f"length ({factors} times the default); see the block-length check.")
    for m in t1.columns:
        out.append(f"{m.upper()}: re-projection RMSD {t1[m].min():.3g}-{t1[m].max():.3g} nm.")
    if "atoms_in_clash" in t2 and reference_clash is not None:
        span = lambda v: f"{v.min():.2%}" if v.min() == v.max() else f"{v.min():.2%}-{v.max():.2%}"
        per = "; ".join(f"{m.upper()} {span(g['atoms_in_clash'])}" for m, g in t2.groupby("method", sort=False))
        out.append(f"Atoms in a clash (a Lennard-Jones pair energy above {clash_kT:g} k_BT in the AA force field; "
                   f"AA reference {reference_clash:.2%}): {per}. Each puts its bead's force far into the tail of "
                   f"Figure 5.")
    sat = t2[t2["saturated"]] if "saturated" in t2 else t2.iloc[:0]
    if not sat.empty:
        which = ", ".join(f"{r['method']}/{r['test set']}" for _, r in sat.iterrows())
        out.append(f"JS divergence is saturated (at least {SATURATION:.0%} of ln 2) for {which}: "
                   f"it no longer tells these sets apart, and no ranking uses it.")
    if not chi.empty:
        for model in chi.loc[chi["bonds"] == "constrained", "model"].unique():
            out.append(f"Model {model} holds its bonds as constraints: its CG forces have no bond term, so its chi^2 "
                       f"and chi^2_BM on all components do not compare with the other models'; "
                       + ("chi2_perp and chi2_BM_perp (components perpendicular to every bond of a bead) do."
                          if perpendicular else "the bond directions were not available to compare it on the "
                                                "components perpendicular to the bonds."))
        clashing = chi[chi["clash_frames"] > 0]
        if not clashing.empty:
            out.append("chi^2_BM averages over frames without clashes (no net bead force at or above "
                       f"{CLASH_MULTIPLE_CHI2:g} times the reference's quantile, none non-finite); clash frames: "
                       + ", ".join(f"{r['method']}/{r['model']} {r['clash_frames']} of {r['frames']}"
                                   for _, r in clashing.iterrows()) + ".")
        off = chi[~chi["reprojection_ok"].astype(bool)]
        if not off.empty:
            out.append(f"M(BM(R)) != R (re-projection RMSD above {REPROJECTION_TOL_NM:g} nm) for "
                       + ", ".join(f"{r['method']}/{r['model']}" for _, r in off.iterrows())
                       + ": Eq. 8 assumes a consistent backmapping, so their chi^2_BM is flagged.")
    return out


def dbm_provenance(training):
    """One sentence on where the DBM model of this run came from, from its training summary (dict)."""
    if training.get("init_from") and training.get("epochs") == 0:
        return f"DBM: the shipped model {training['init_from']} as it is, not trained on this run's frames."
    updates = training.get("generator_updates")
    wall = training.get("wall_s")
    done = (f"{updates} generator updates" if updates is not None else f"{training.get('steps')} optimiser steps") + (
        f" in {wall / 60:.1f} min" if wall else "")
    if training.get("self_frames"):
        done += (f"; in {training['self_frames']} of the frames, {training['self_fraction']:.0%} of the samples saw "
                 f"other molecules' atoms where the model itself had put them")
    if training.get("init_from"):
        return (f"DBM: initialised from the shipped model {training['init_from']} and fine-tuned on this run's "
                f"training frames ({done}).")
    return f"DBM: trained from scratch on this run's training frames ({done})."


def summary_html(verdicts, tables, settings, notes=(), findings=(), figures=(), ibi=None):
    """The report's summary as one HTML fragment: the verdict first, then readings, tables and figures.

    Parameters
    ----------
    verdicts : dict of str -> str
        Backmapping method -> :meth:`cgbench.evaluate.ranking.Ranking.verdict`.
    tables : list of (str, pandas.DataFrame)
        Title and table, shown to three significant figures without an index column.
    settings : dict
        The ``evaluate`` settings (``force_projection``, ``bootstrap``, ``level``, ``force_bins``,
        ``force_quantile``).
    notes : sequence of str
        Sentences on the run's provenance (e.g. :func:`dbm_provenance`).
    findings : sequence of str
        Further readings of the tables (:func:`readings`).
    figures : list of (str, str)
        Title and image source (a ``data:`` URI keeps the summary one self-contained file).
    ibi : str, optional
        Whether IBI met its convergence criterion (:func:`cgbench.ibi.criterion.verdict`), shown
        first: models whose pair potentials missed their targets are not presented as converged.
    """
    level = settings["level"]
    lines = ["<h2>Verdict</h2>", "<ul>"]
    if ibi is not None:
        lines.append(f"<li><b>CG models</b>: {html.escape(ibi)}</li>")
    lines += [f"<li><b>{html.escape(m.upper())}</b>: {html.escape(v)}</li>" for m, v in verdicts.items()]
    if not verdicts:
        lines.append("<li>No CG model was evaluated: nothing to rank.</li>")
    lines.append("</ul>")
    lines.append(
        f"<p>Models are compared by the Wasserstein-1 (W1) and energy distances between the distributions of "
        f"log10|F| of backmapped and reference bead forces "
        f"({'Eq. 6 mean' if settings['force_projection'] == 'mean' else 'net'} projection), with "
        f"{settings['bootstrap']} block-bootstrap replicates over frames (blocks of round(n^(1/3)) frames) paired "
        f"through a common reference replicate. A ranking is claimed only when, for both distances, the "
        f"{level:.0%} interval of every model's distance minus the in-distribution control's lies above 0; an "
        f"adjacent pair is resolved when the intervals of both paired differences lie above 0, Bonferroni-corrected "
        f"over the adjacent pairs. Unresolved neighbours share a rank (written ~) and are never ordered by name.</p>")
    lines.append("<h2>What else this run says</h2>")
    lines.append("<ul>")
    lines += [f"<li>{html.escape(n)}</li>" for n in (*notes, *findings)]
    lines.append("</ul>")
    lines.append(f"<p>Table 2 is the standard JS divergence in nats (bounded by ln 2) on {settings['force_bins']} "
                 f"equal bins up to the reference's {settings['force_quantile']} quantile plus one overflow bin, "
                 f"kept to compare with the study and never used to rank.</p>")
    for title, df in tables:
        lines.append(f"<h3>{html.escape(title)}</h3>")
        lines.append(html_table(df))
    for title, src in figures:
        lines.append(f"<h3>{html.escape(title)}</h3>")
        lines.append(f'<img src="{src}" alt="{html.escape(title)}" style="max-width:100%">')
    return "\n".join(lines) + "\n"
