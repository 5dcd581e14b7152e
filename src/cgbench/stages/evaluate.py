"""File-level steps of backmapping evaluation (``evaluate.smk``): per-set evaluation, tables and figures.

A test set is a CG trajectory in GROMACS format (``.gro`` + ``.trr``): ``indist`` holds held-out
mapped AA frames, and each CG model's set holds frames of its production run. Every backmapping
method turns a test set into an AA trajectory; :func:`evaluate_aa` and :func:`evaluate_set`
recompute the AA forces with the AA force field and reduce each trajectory to arrays; the
summary turns those into the study's Tables 1 and 2, Figures 3 and 5 and the chi^2 table, and into
a ranking of the CG models by distances of log force magnitudes that is claimed only where the
in-distribution control and the bootstrap intervals allow it (:mod:`cgbench.evaluate.ranking`).
"""

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .. import evaluate as ev
from ..core.errors import InputError
from ..evaluate.rerun import rerun_forces
from ..molecule.mapping import Mapping
from ..molecule.topology import Topology
from ..engines.trajectory import count_frames, default_chunk, iter_frames, read_frames

log = logging.getLogger("cgbench")

#: Force (kJ/mol/nm) given to atom force components that came out non-finite.
CLASH_FORCE = 1e30
#: Bead forces at or above this (kJ/mol/nm) carry an atom given CLASH_FORCE: they count as
#: non-finite. A bead of up to 10^4 atoms with one such atom stays above it, mean or net, and no
#: physical force comes near it.
MARKED_FORCE = 1e-4 * CLASH_FORCE
#: Re-projection RMSD (nm) above which a backmap is flagged as inconsistent, M(BM(R)) != R, which
#: Eq. 8 assumes: a few per cent of a CG bond length (0.3-0.5 nm for TMBT).
REPROJECTION_TOL_NM = 0.01
#: A frame clashes, for chi^2_BM, when a net bead force reaches this multiple of the reference's
#: force_quantile quantile (the top of the clash spectrum).
CLASH_MULTIPLE_CHI2 = 100.0
#: Block lengths of the stability check of the rankings, as multiples of the default.
BLOCK_FACTORS = (0.5, 1.0, 2.0)


def _elements(topology, n_molecules):
    """Atomic numbers of every atom of the system."""
    return np.tile(np.asarray(topology.elements, dtype=int), n_molecules)


def reduce_aa(x, box, topology, mapping, n_molecules, mdp, top, workdir, settings, threads=1, executable="gmx",
              cg_input=None):
    """Forces (rerun), bead forces, RDFs, clashes and (with ``cg_input``) re-projection RMSD of AA frames.

    Returns
    -------
    dict of str -> ndarray
        ``forces_mean``, ``forces_net`` (n_frames, n_beads_total, 3) kJ/mol/nm; ``potential``
        (n_frames,) kJ/mol; ``rdf_r`` and ``rdf_<pair>`` for each element pair; ``clash_fraction``
        (n_frames,); ``rmsd_nm`` (n_frames,) when ``cg_input`` is given.
    """
    res = rerun_forces(x, box, mdp, top, topology.atom_names, topology.resname, workdir, threads=threads,
                       executable=executable)
    member = mapping.membership()
    forces = np.asarray(res.forces, dtype=float)
    # atoms on top of each other give non-finite forces: a clash. A huge finite value (not inf,
    # whose sums inside a bead could turn into NaN) puts the bead beyond every force bin.
    bad = ~np.isfinite(forces)
    if bad.any():
        log.warning("%d non-finite atom force components (overlapping atoms); set to %g", bad.sum(), CLASH_FORCE)
        forces = np.where(bad, CLASH_FORCE, forces)
    out = {
        "forces_mean": ev.project_forces(forces, member, kind="mean"),
        "forces_net": ev.project_forces(forces, member, kind="net"),
        "potential": np.asarray(res.potential),
        "nonfinite_atom_forces": np.count_nonzero(bad.any(axis=-1), axis=-1),
    }
    from ..geometry.pbc import make_whole

    whole = make_whole(x, box, topology.bonds, topology.n_atoms)
    molecule = ev.molecule_index(n_molecules, topology.n_atoms)
    elements = _elements(topology, n_molecules)
    pairs = settings.get("rdf_pairs") or _heavy_pairs(elements)
    rdfs = ev.element_rdfs(whole, box, elements, molecule, pairs,
                           r_max=settings["rdf_max_nm"], bins=settings["rdf_bins"])
    for pair, (r, g) in rdfs.items():
        out["rdf_r"] = r
        out[f"rdf_{pair}"] = g
    out["clash_fraction"] = ev.close_contacts(whole, box, molecule, threshold=settings["clash_nm"]).fraction_per_frame
    if cg_input is not None:
        out["rmsd_nm"] = ev.reprojection_rmsd(x, cg_input, box, mapping.com_weights(), topology.bonds, per_frame=True)
    return out


def _heavy_pairs(elements):
    """Every pair of the heavy elements present (the default of ``evaluate.rdf_pairs``)."""
    from ..core.elements import SYMBOLS
    from ..planning.plan import element_pairs

    return element_pairs([SYMBOLS[z] for z in sorted(set(np.asarray(elements).tolist())) if z > 1])


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


def join_reductions(parts):
    """One :func:`reduce_aa` result from those of consecutive chunks of frames.

    RDFs (``rdf_<pair>``) are averages over frames, each frame normalised by its own volume, so
    the whole trajectory's is the frame-weighted mean of the chunks'; ``rdf_r`` is the same in
    every chunk. Every other entry is per frame and is concatenated along its first axis (per-bead
    forces and per-frame scalars: small beside the atoms, which are never kept).

    Parameters
    ----------
    parts : sequence of dict of str -> ndarray
        :func:`reduce_aa` of each chunk, in trajectory order.

    Returns
    -------
    dict of str -> ndarray
    """
    if not parts:
        raise InputError("no frames to reduce")
    frames = np.array([len(p["clash_fraction"]) for p in parts], dtype=float)
    out = {}
    for key in parts[0]:
        values = [p[key] for p in parts]
        if key == "rdf_r":
            out[key] = values[0]
        elif key.startswith("rdf_"):
            out[key] = sum(v * n for v, n in zip(values, frames)) / frames.sum()
        else:
            out[key] = np.concatenate(values)
    return out


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


def _bead_groups(mapped, n_beads_total):
    """Columns of the bead forces to pool: every bead, then each bead type (when the data allow)."""
    groups = {"all": np.ones(n_beads_total, dtype=bool)}
    if "bead_types" in mapped and "n_molecules" in mapped:
        types = np.tile(np.asarray(mapped["bead_types"]).astype(str), int(mapped["n_molecules"]))
        if types.size == n_beads_total:
            groups.update({t: types == t for t in dict.fromkeys(types)})
        else:
            log.warning("bead types (%d beads) do not match the forces (%d beads): distances pooled only",
                        types.size, n_beads_total)
    return groups


def _distance_rows(method, group, dist, control, level):
    rows = []
    for s, d in dist.items():
        row = {"method": method, "test set": s, "beads": group, "frames": d.n_frames, "block": d.block,
               "nonfinite": d.n_nonfinite}
        for m in ev.transport.MEASURES:
            lo, hi = ev.percentile_interval(d.replicates[m], level, d.n_blocks)
            row.update({m: d.point(m), f"{m}_lo": lo, f"{m}_hi": hi})
        for m in ev.transport.MEASURES:
            diff = (np.nan, np.nan, np.nan)
            if control is not None and d is not control:
                n = min(d.n_blocks, control.n_blocks)
                diff = (d.point(m) - control.point(m),
                        *ev.percentile_interval(d.replicates[m] - control.replicates[m], level, n))
            row.update(dict(zip((f"{m}_vs_indist", f"{m}_vs_indist_lo", f"{m}_vs_indist_hi"), diff)))
        row.update({f"dq{round(100 * q)}": v for q, v in zip(ev.transport.QUANTILES, d.quantile_shift)})
        row.update({f">{k:g}x": v for k, v in zip(ev.transport.CLASH_MULTIPLES, d.clash)})
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
        Bead columns to pool (``"all"`` ranks; the rest are reported).
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
            dist = ev.bootstrap_distances(ref_log[:, cols], {s: v[:, cols] for s, v in sets.items()}, upper,
                                          n_boot=settings["bootstrap"], seed=seed)
            rows += _distance_rows(m, g, dist, dist.get("indist"), settings["level"])
            if g != "all":
                continue
            models = {s: d for s, d in dist.items() if s != "indist"}
            if not models:
                continue
            rankings[m] = ev.rank_models(models, dist.get("indist"), settings["level"])
            check = ev.block_sensitivity(dist, ref_log, sets, "indist" if "indist" in dist else None,
                                         settings["level"], seed, factors=BLOCK_FACTORS)
            check.insert(0, "method", m)
            checks.append(check)
            log.info("%s: %s (block length stable: %s)", m, rankings[m].verdict(), bool(check["stable"].all()))
    return pd.DataFrame(rows), rankings, pd.concat(checks, ignore_index=True) if checks else pd.DataFrame()


def _bond_geometry(positions, box, bonds, n_beads):
    return None if bonds is None else ev.BondGeometry(positions, box, bonds, n_beads)


def force_matching_table(cgforce_npz, mapped, data, methods, ref_net, settings, bonds=None, testset_frames=None,
                         cg_models=None):
    """chi^2 (Eq. 7) and chi^2_BM (Eq. 8) per CG model and backmapping method, on net bead forces.

    The backmapping term averages over the frames without clashes (no bead force at or above
    :data:`CLASH_MULTIPLE_CHI2` times the reference's ``force_quantile`` quantile of net forces,
    none non-finite); their number stands beside it, and the swamped all-frame value is kept for
    comparison. ``chi2_perp`` and ``chi2_BM_perp`` use only the components perpendicular to every
    bond of a bead (needs ``bonds`` and ``testset_frames``). ``reprojection_ok`` is False where
    the backmap's re-projection RMSD exceeds :data:`REPROJECTION_TOL_NM`: M(BM(R)) != R, which
    Eq. 8 assumes.

    Parameters
    ----------
    cgforce_npz : dict of str -> path
        :func:`cg_model_forces` output of each model.
    mapped : mapping
        The mapping stage's ``cg.npz``: ``forces_net``, ``positions``, ``box``, ``bead_types``.
    data : dict of (method, test set) -> mapping
        Evaluations of the backmapped sets.
    methods : list of str
    ref_net : ndarray, shape (n_frames, n_beads, 3), kJ/mol/nm
        Net bead forces of the AA reference.
    settings : dict
        ``force_quantile``.
    bonds : ndarray of int, shape (n_bonds, 2), optional
        CG bonds of one molecule.
    testset_frames : dict of str -> (gro, trr), optional
        Each model's test-set frames (the configurations R of Eq. 8).
    cg_models : dict of str -> dict, optional
        Model specifications (``bonds: constrained`` marks models without a bond term).

    Returns
    -------
    pandas.DataFrame
    """
    mag = ev.force_magnitudes(ref_net)
    limit = CLASH_MULTIPLE_CHI2 * float(np.quantile(mag[np.isfinite(mag) & (mag < MARKED_FORCE)],
                                                    settings["force_quantile"]))
    n_beads = len(mapped["bead_types"]) if "bead_types" in mapped else None
    geom_aa = _bond_geometry(mapped["positions"], mapped["box"], bonds, n_beads) if n_beads else None
    rows = []
    for model, path in cgforce_npz.items():
        f = np.load(path)
        chi = ev.chi2(f["mapped"], mapped["forces_net"])
        chi_perp = ev.chi2(f["mapped"], mapped["forces_net"], geom_aa) if geom_aa is not None else np.nan
        geom_cg = None
        if geom_aa is not None and testset_frames and model in testset_frames:
            frames = read_frames(*testset_frames[model], forces=False)
            if frames.n_frames == len(f["test"]):
                geom_cg = _bond_geometry(frames.positions, frames.box, bonds, n_beads)
        constrained = bool(cg_models) and cg_models.get(model, {}).get("bonds") == "constrained"
        for m in methods:
            if (m, model) not in data:
                continue
            f_bm = data[m, model]["forces_net"]
            clash = ev.clash_frames(f_bm, limit)
            kept = ev.chi2_bm(f["mapped"], mapped["forces_net"], f["test"], f_bm, keep=~clash)
            every = ev.chi2_bm(f["mapped"], mapped["forces_net"], f["test"], f_bm).chi2_bm \
                if np.isfinite(f_bm).all() else np.inf
            perp = ev.chi2_bm(f["mapped"], mapped["forces_net"], f["test"], f_bm, keep=~clash,
                              perpendicular_to=(geom_aa, geom_cg)).chi2_bm if geom_cg is not None else np.nan
            rmsd = float(np.mean(data[m, model]["rmsd_nm"]))
            rows.append({"model": model, "method": m, "forces": "net",
                         "bonds": "constrained" if constrained else "potential",
                         "chi2": chi, "chi2_perp": chi_perp, "frames": kept.n_frames, "clash_frames": int(clash.sum()),
                         "chi2_BM": kept.chi2_bm, "chi2_BM_perp": perp, "chi2_BM_all_frames": every,
                         "rmsd_nm": rmsd, "reprojection_ok": rmsd <= REPROJECTION_TOL_NM})
    return pd.DataFrame(rows)


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
    ref_counts = ev.force_histograms(ref_mag, edges)
    methods = sorted({m for m, _ in data})
    testsets = list(dict.fromkeys(s for _, s in data))

    # Table 1: re-projection RMSD (nm)
    t1 = pd.DataFrame({m: {s: float(np.mean(data[m, s]["rmsd_nm"])) for s in testsets if (m, s) in data}
                       for m in methods})
    t1.index.name = "test set"
    _write_table(t1, out["table1"], out["table1_tex"], index=True)

    # Table 2: JS divergence, kept to compare with the study: flagged where it saturates, never ranked by
    rows = []
    for m in methods:
        counts = {s: ev.force_histograms(ev.force_magnitudes(data[m, s][key]), edges) for s in testsets if (m, s) in data}
        boot = ev.bootstrap_js_many(ref_counts, counts, n_boot=settings["bootstrap"], level=settings["level"], seed=seed)
        for s, b in boot.items():
            rows.append({"method": m, "test set": s, "js": b.js, "lo": b.lo, "hi": b.hi,
                         "saturated": ev.js_saturated(b.js),
                         "clash_fraction": float(np.mean(data[m, s]["clash_fraction"]))})
    t2 = pd.DataFrame(rows)
    _write_table(t2, out["table2"], out["table2_tex"])

    # distances of log10|F|, the rankings they support, and their dependence on the block length
    upper = float(edges[-2])
    ref_log = ev.log_magnitudes(ref_mag, MARKED_FORCE)
    logs = {k: ev.log_magnitudes(ev.force_magnitudes(d[key]), MARKED_FORCE) for k, d in data.items()}
    groups = _bead_groups(mapped, ref_log.shape[1])
    distances, rankings, sensitivity = rank_by_distances(ref_log, logs, groups, methods, upper, settings, seed)
    _write_table(distances, out["distances"], out["distances_tex"])
    ranking = pd.concat([r.models.assign(method=m) for m, r in rankings.items()], ignore_index=True) \
        if rankings else pd.DataFrame(columns=["method", "model", "rank"])
    pairs = pd.concat([r.pairs.assign(method=m) for m, r in rankings.items()], ignore_index=True) \
        if rankings else pd.DataFrame(columns=["method", "better", "worse", "resolved"])
    ranking = ranking[["method", *[c for c in ranking.columns if c != "method"]]]
    pairs = pairs[["method", *[c for c in pairs.columns if c != "method"]]]
    _write_table(ranking, out["ranking"], out["ranking_tex"])
    _write_table(pairs, out["pairs"], out["pairs_tex"])
    _write_table(sensitivity, out["block_sensitivity"], out["block_sensitivity_tex"])

    # chi^2 (Eq. 7) on the AA ensemble and chi^2_BM (Eq. 8) per model and method: net forces
    bonds = None
    if cg_topology is not None:
        from ..molecule.cgtopology import CGTopology

        bonds = CGTopology.from_dict(json.loads(Path(cg_topology).read_text())).indices("bonds")
    chi = force_matching_table(cgforce_npz, mapped, data, methods, ref["forces_net"], settings, bonds, testset_frames,
                               cg_models)
    _write_table(chi, out["chi2"], out["chi2_tex"])

    models = sorted({s for _m, s in data if s != "indist"})
    figure3(ref, data, methods, out["figure3"], sets=("indist", *models[:1]), svg=out.get("figure3_svg"))
    figure5(ref_log, logs, methods, upper, out["figure5"], svg=out.get("figure5_svg"))
    notes = [dbm_provenance(json.loads(Path(dbm_training).read_text()))] if dbm_training else []
    verdicts = {m: r.verdict() for m, r in rankings.items()}
    findings = readings(t1, t2, chi, sensitivity, bonds is not None and bool(testset_frames))
    tables = [("Table 1: re-projection RMSD (nm)", t1.reset_index()),
              ("Table 2: JS divergence of force-magnitude histograms (nats; kept to compare with the study)", t2),
              ("Table 3: distances of log10|F| to the AA reference", distances),
              ("Ranking: distances and control per model", ranking),
              ("Ranking: adjacent pairs", pairs),
              ("Force matching: chi^2 (Eq. 7) and chi^2_BM (Eq. 8), net bead forces, (kJ/mol/nm)^2", chi),
              ("Block-length check", sensitivity)]
    figures = [("Figure 3: intermolecular RDFs", out["figure3"]), ("Figure 5: bead force magnitudes", out["figure5"])]
    ibi_line = None
    if ibi_state is not None:
        from ..ibi.criterion import verdict as ibi_verdict

        ibi_line = ibi_verdict(json.loads(Path(ibi_state).read_text()))
    Path(out["html"]).write_text(summary_html(verdicts, tables, settings, notes, findings, figures, ibi_line))
    log.info("Table 1 (RMSD, nm):\n%s\nTable 2 (JS, nats):\n%s\nVerdicts: %s", t1.round(4), t2.round(4), verdicts)


def readings(t1, t2, chi, sensitivity, perpendicular=True):
    """Sentences on what the tables show beyond the verdict (RMSD, JS saturation, chi^2, block length)."""
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
    sat = t2[t2["saturated"]] if "saturated" in t2 else t2.iloc[:0]
    if not sat.empty:
        which = ", ".join(f"{r['method']}/{r['test set']}" for _, r in sat.iterrows())
        out.append(f"JS divergence is saturated (at least {ev.divergence.SATURATION:.0%} of ln 2) for {which}: "
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


def dbm_provenance(training):
    """One sentence on where the DBM model of this run came from, from its training summary."""
    updates = training.get("generator_updates")
    wall = training.get("wall_s")
    done = (f"{updates} generator updates" if updates is not None else f"{training.get('steps')} optimiser steps") + (
        f" in {wall / 60:.1f} min" if wall else "")
    if training.get("init_from"):
        return (f"DBM: initialised from the shipped model {training['init_from']} and fine-tuned on this run's "
                f"training frames ({done}).")
    return f"DBM: trained from scratch on this run's training frames ({done})."


def _inline_png(path):
    import base64

    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


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
    figures : list of (str, path)
        Title and PNG, inlined so the summary is one self-contained file.
    ibi : str, optional
        Whether IBI met its convergence criterion (:func:`cgbench.ibi.criterion.verdict`), shown
        first: models whose pair potentials missed their targets are not presented as converged.
    """
    import html

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
        lines.append(ev.html_table(df))
    for title, path in figures:
        lines.append(f"<h3>{html.escape(title)}</h3>")
        lines.append(f'<img src="{_inline_png(path)}" alt="{html.escape(title)}" style="max-width:100%">')
    return "\n".join(lines) + "\n"
