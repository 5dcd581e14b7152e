"""File-level steps of backmapping evaluation (``evaluate.smk``): per-set evaluation, tables and figures.

A test set is a CG trajectory in GROMACS format (``.gro`` + ``.trr``): ``indist`` holds held-out
mapped AA frames, and each CG model's set holds frames of its production run. Every backmapping
method turns a test set into an AA trajectory; :func:`evaluate_aa` and :func:`evaluate_set` read
them a chunk of frames at a time into :func:`cgbench.evaluate.reduction.reduce_aa`; :func:`summarise`
reads those reductions and writes the study's Tables 1 and 2, Figures 3 and 5, the chi^2 table and
the ranking of the CG models (:mod:`cgbench.evaluate.comparison`), with the summary in words
(:mod:`cgbench.evaluate.summary`). The science is in :mod:`cgbench.evaluate`; this module reads,
writes and draws.
"""

import base64
import json
import logging
from pathlib import Path

import numpy as np

from .. import evaluate as ev
from ..core.errors import InputError
from ..engines.trajectory import count_frames, default_chunk, iter_frames, read_frames
from ..evaluate.comparison import bead_groups, rank_by_distances, ranking_tables
from ..evaluate.force_matching_table import force_matching_table
from ..evaluate.reduction import MARKED_FORCE, join_reductions, reduce_aa
from ..evaluate.study_tables import table1_rmsd, table2_js
from ..evaluate.summary import dbm_provenance, readings, summary_html
from ..molecule.mapping import Mapping
from ..molecule.topology import Topology

log = logging.getLogger("cgbench")


def _load_molecule(topology, mapping):
    return Topology.load_npz(topology), Mapping.from_dict(json.loads(Path(mapping).read_text()))


def evaluate_aa(tpr, trr, topology, mapping, n_molecules, mdp, top, settings, workdir, out, threads=1,
                executable="gmx", chunk=None):
    """The AA reference: every NVT frame, forces recomputed exactly as for the backmapped sets.

    The frames go through :func:`reduce_aa` a chunk at a time (``chunk`` frames,
    :func:`cgbench.engines.trajectory.default_chunk` by default; one rerun each) and the reductions are
    joined by :func:`join_reductions`, so memory holds one chunk of atoms, not the run.
    """
    top_, mp = _load_molecule(topology, mapping)
    # sized with forces: the rerun brings a chunk's forces beside its positions
    chunk = chunk or default_chunk(n_molecules * top_.n_atoms, forces=True)
    parts = [reduce_aa(aa.positions, aa.box, top_, mp, n_molecules, mdp, top, workdir, settings, threads, executable)
             for aa in iter_frames(tpr, trr, chunk=chunk, forces=False)]
    data = join_reductions(parts)
    np.savez_compressed(out["npz"], **data)
    log.info("AA reference: %d frames, clash fraction %.2e", len(data["clash_fraction"]), data["clash_fraction"].mean())


def evaluate_set(bm_gro, bm_traj, cg_gro, cg_traj, topology, mapping, n_molecules, mdp, top, settings, workdir, out,
                 threads=1, executable="gmx", chunk=None):
    """One backmapped test set, a chunk of frames at a time as in :func:`evaluate_aa`."""
    top_, mp = _load_molecule(topology, mapping)
    n_bm, n_cg = count_frames(bm_gro, bm_traj), count_frames(cg_gro, cg_traj)
    if n_bm != n_cg:
        raise InputError(f"{bm_traj} has {n_bm} frames but its CG input {cg_traj} has {n_cg}")
    # one chunk size for both files, which are read in step
    chunk = chunk or default_chunk(n_molecules * top_.n_atoms, forces=True)
    parts = [reduce_aa(bm.positions, bm.box, top_, mp, n_molecules, mdp, top, workdir, settings, threads, executable,
                       cg_input=cg.positions)
             for bm, cg in zip(iter_frames(bm_gro, bm_traj, chunk=chunk, forces=False),
                               iter_frames(cg_gro, cg_traj, chunk=chunk, forces=False))]
    data = join_reductions(parts)
    np.savez_compressed(out["npz"], **data)
    log.info("%s: RMSD %.4f nm, clash fraction %.2e", bm_traj, data["rmsd_nm"].mean(), data["clash_fraction"].mean())


def cg_model_forces(model, model_spec, cg_npz, testset_gro, testset_trr, potentials, dbi_tables, dbi_params, scales,
                    cg_topology, cutoff_nm, workdir, out, threads=1):
    """CG forces of one model on the mapped AA frames and on its own test-set frames (for chi^2)."""
    from .common import dbi_terms, load_cg, read_potentials, read_scales
    from ..engines import lammps
    from ..engines.lammps import cg_forces

    top = load_cg(cg_topology)
    terms = dbi_terms(dbi_tables, dbi_params, model_spec, read_scales(scales))
    pots = read_potentials(potentials)
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    keys = {n: n.replace("-", "_") for n in pots}
    lammps.write_pair_table(work / "pairs.table", {keys[n]: v for n, v in pots.items()})
    pair_tables = {tuple(n.split("-")): (str((work / "pairs.table").resolve()), keys[n]) for n in pots}
    r_first = min(v[0][0] for v in pots.values())
    table_n = int(round((cutoff_nm - r_first) / 0.0005)) + 1
    mapped = np.load(cg_npz)
    test = read_frames(testset_gro, testset_trr, forces=False)
    f_mapped = cg_forces(mapped["positions"], mapped["box"], top, terms, pair_tables, cutoff_nm, table_n,
                         work / "mapped", threads=threads)
    f_test = cg_forces(test.positions, test.box, top, terms, pair_tables, cutoff_nm, table_n, work / "test",
                       threads=threads)
    np.savez_compressed(out["npz"], mapped=f_mapped, test=f_test)
    log.info("model %s: CG forces on %d mapped and %d test frames", model, len(f_mapped), len(f_test))


def _projection(settings):
    return "forces_" + settings["force_projection"]


def _write_table(df, csv, tex, index=False):
    """A table as CSV and as a LaTeX tabular (index, if kept in the CSV, as the first column)."""
    df.to_csv(csv, index=index)
    Path(tex).write_text(ev.latex_table(df.reset_index() if index else df))


def summarise(aa_npz, sets, cgforce_npz, mapped_npz, settings, out, seed=0, dbm_training=None, cg_topology=None,
              testset_frames=None, cg_models=None, ibi_state=None):
    """Tables 1 and 2, the distance table, the ranking, chi^2, and Figures 3 and 5, with the summary.

    Parameters
    ----------
    sets : dict of (method, testset) -> path of its evaluation ``.npz``
    cgforce_npz : dict of model -> path of :func:`cg_model_forces` output
    out : dict of str -> path
        ``table1``, ``table2``, ``distances``, ``ranking``, ``pairs``, ``chi2``,
        ``block_sensitivity`` (CSV) with a ``<name>_tex`` LaTeX twin each; ``figure3`` and
        ``figure5`` (PNG) with ``<name>_svg``; ``html``.
    dbm_training : path, optional
        DBM's training summary (``training.json``): the summary says where the model came from.
    cg_topology : path, optional
        The CG topology (``cg_topology.json``): its bonds give chi^2 perpendicular to the bonds.
    testset_frames : dict of model -> (gro, trr), optional
        Each model's test-set frames, for the bond directions of Eq. 8's second term.
    cg_models : dict of model -> dict, optional
        The models' specifications (config ``cg_models``).
    ibi_state : path, optional
        ``results/ibi/convergence.json``: the verdict says whether IBI met its criterion.
    """
    ref = np.load(aa_npz)
    data = {k: np.load(p) for k, p in sets.items()}
    mapped = np.load(mapped_npz)
    key = _projection(settings)
    ref_mag = ev.force_magnitudes(ref[key])
    edges = ev.force_bin_edges(ref_mag, n_bins=settings["force_bins"], quantile=settings["force_quantile"])
    methods = sorted({m for m, _ in data})
    testsets = list(dict.fromkeys(s for _, s in data))

    t1 = table1_rmsd(data, methods, testsets)
    _write_table(t1, out["table1"], out["table1_tex"], index=True)
    t2 = table2_js(ev.force_histograms(ref_mag, edges), edges, data, key, methods, testsets, settings, seed)
    _write_table(t2, out["table2"], out["table2_tex"])

    # distances of log10|F|, the rankings they support, and their dependence on the block length
    upper = float(edges[-2])
    ref_log = ev.log_magnitudes(ref_mag, MARKED_FORCE)
    logs = {k: ev.log_magnitudes(ev.force_magnitudes(d[key]), MARKED_FORCE) for k, d in data.items()}
    groups = bead_groups(mapped["bead_types"] if "bead_types" in mapped else None,
                         mapped["n_molecules"] if "n_molecules" in mapped else None, ref_log.shape[1])
    distances, rankings, sensitivity = rank_by_distances(ref_log, logs, groups, methods, upper, settings, seed)
    ranking, pairs = ranking_tables(rankings)
    _write_table(distances, out["distances"], out["distances_tex"])
    _write_table(ranking, out["ranking"], out["ranking_tex"])
    _write_table(pairs, out["pairs"], out["pairs_tex"])
    _write_table(sensitivity, out["block_sensitivity"], out["block_sensitivity_tex"])

    # chi^2 (Eq. 7) on the AA ensemble and chi^2_BM (Eq. 8) per model and method: net forces
    bonds = None
    if cg_topology is not None:
        from ..molecule.cgtopology import CGTopology

        bonds = CGTopology.from_dict(json.loads(Path(cg_topology).read_text())).indices("bonds")
    geometry = {}
    # the bond directions of Eq. 8's second term: only read where there are bonds to take them from
    for model, files in (testset_frames or {}).items() if bonds is not None else ():
        frames = read_frames(*files, forces=False)
        geometry[model] = (frames.positions, frames.box)
    chi = force_matching_table({m: np.load(p) for m, p in cgforce_npz.items()}, mapped, data, methods,
                               ref["forces_net"], settings, bonds, geometry, cg_models)
    _write_table(chi, out["chi2"], out["chi2_tex"])

    models = sorted({s for _m, s in data if s != "indist"})
    figure3(ref, data, methods, out["figure3"], sets=("indist", *models[:1]), svg=out.get("figure3_svg"))
    figure5(ref_log, logs, methods, upper, out["figure5"], svg=out.get("figure5_svg"))
    notes = [dbm_provenance(json.loads(Path(dbm_training).read_text()))] if dbm_training else []
    verdicts = {m: r.verdict() for m, r in rankings.items()}
    findings = readings(t1, t2, chi, sensitivity, bonds is not None and bool(testset_frames),
                        float(np.mean(ref["lj_clash_fraction"])), settings["clash_kT"])
    tables = [("Table 1: re-projection RMSD (nm)", t1.reset_index()),
              ("Table 2: JS divergence of force-magnitude histograms (nats; kept to compare with the study)", t2),
              ("Table 3: distances of log10|F| to the AA reference", distances),
              ("Ranking: distances and control per model", ranking),
              ("Ranking: adjacent pairs", pairs),
              ("Force matching: chi^2 (Eq. 7) and chi^2_BM (Eq. 8), net bead forces, (kJ/mol/nm)^2", chi),
              ("Block-length check", sensitivity)]
    figures = [("Figure 3: intermolecular RDFs", _inline_png(out["figure3"])),
               ("Figure 5: bead force magnitudes", _inline_png(out["figure5"]))]
    ibi_line = None
    if ibi_state is not None:
        from ..ibi.criterion import verdict as ibi_verdict

        ibi_line = ibi_verdict(json.loads(Path(ibi_state).read_text()))
    Path(out["html"]).write_text(summary_html(verdicts, tables, settings, notes, findings, figures, ibi_line))
    log.info("Table 1 (RMSD, nm):\n%s\nTable 2 (JS, nats):\n%s\nVerdicts: %s", t1.round(4), t2.round(4), verdicts)


def _save(fig, path, svg=None):
    fig.savefig(path, dpi=120)
    if svg:
        fig.savefig(svg)


def figure3(ref, data, methods, path, sets=("indist", "A"), svg=None):
    """The study's Figure 3: intermolecular element-pair RDFs (for TMBT C-C, C-N, N-N) of the AA
    reference and of the backmapped test sets ``sets`` (the study: in-distribution and model A).

    The pairs are those the evaluation computed (``rdf_<pair>`` keys of the reference), one row each.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ref.files if hasattr(ref, "files") else list(ref)
    pairs = [k[len("rdf_"):] for k in keys if k.startswith("rdf_") and k != "rdf_r"]
    fig, axes = plt.subplots(len(pairs), len(methods), figsize=(5 * len(methods), 1.2 + 2.3 * len(pairs)),
                             squeeze=False)
    for j, m in enumerate(methods):
        for i, pair in enumerate(pairs):
            ax = axes[i, j]
            ax.plot(ref["rdf_r"], ref[f"rdf_{pair}"], color="black", lw=2, label="AA reference")
            for s in sets:
                if (m, s) in data:
                    d = data[m, s]
                    ax.plot(d["rdf_r"], d[f"rdf_{pair}"], lw=1.2, label="in-distribution" if s == "indist" else f"model {s}")
            ax.set_title(f"{m.upper()}: {pair}")
            ax.set_xlabel("r (nm)")
            ax.set_ylabel("g(r)")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path, svg)
    plt.close(fig)


def figure5(ref_log, logs, methods, upper, path, svg=None, bins_per_decade=20):
    """The study's Figure 5 on a logarithmic force axis: reference and backmapped bead force magnitudes.

    A logarithmic axis keeps the tails and clashes, orders of magnitude beyond the reference, in
    view. Densities are per decade and normalised over every bead force (non-finite ones
    included, which cannot be drawn and are given in the legend); dotted lines mark 1, 10 and 100
    times the reference's quantile ``upper`` (the clash spectrum).

    Parameters
    ----------
    ref_log : ndarray, shape (n_frames, n_beads), decades
        :func:`cgbench.evaluate.transport.log_magnitudes` of the reference.
    logs : dict of (method, test set) -> ndarray, decades
    methods : list of str
    upper : float, kJ/mol/nm
    path, svg : path
        PNG and (optionally) SVG.
    bins_per_decade : int
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    finite = [v[np.isfinite(v)] for v in (ref_log, *logs.values())]
    lo = min(float(v.min()) for v in finite if v.size)
    hi = max(float(v.max()) for v in finite if v.size)
    edges = np.arange(np.floor(lo * bins_per_decade), np.ceil(hi * bins_per_decade) + 2) / bins_per_decade

    def stairs(ax, values, **kw):
        v = np.asarray(values).ravel()
        counts, _ = np.histogram(v[np.isfinite(v)], edges)
        ax.stairs(counts * bins_per_decade / v.size, 10.0 ** edges, **kw)

    fig, axes = plt.subplots(1, len(methods), figsize=(6 * len(methods), 4), squeeze=False)
    for j, m in enumerate(methods):
        ax = axes[0, j]
        stairs(ax, ref_log, color="black", lw=2, label="AA reference")
        for (mm, s), v in logs.items():
            if mm != m:
                continue
            label = "in-distribution" if s == "indist" else f"model {s}"
            beyond = float(np.mean(~(v <= np.log10(upper))))
            nonfinite = float(np.mean(np.isnan(v)))
            stairs(ax, v, lw=1.2, label=f"{label} ({beyond:.1%} beyond, {nonfinite:.1%} non-finite)")
        for k in ev.transport.CLASH_MULTIPLES:
            ax.axvline(k * upper, color="grey", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{m.upper()}: bead force magnitudes")
        ax.set_xlabel("|F| (kJ/mol/nm)")
        ax.set_ylabel("density per decade")
        ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path, svg)
    plt.close(fig)


def _inline_png(path):
    """A PNG file as a ``data:`` URI, so the summary is one self-contained file."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")
