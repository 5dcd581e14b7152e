"""File-level steps of backmapping evaluation: test sets, per-set evaluation, tables and figures.

A test set is a CG trajectory in GROMACS format (``.gro`` + ``.trr``): ``indist`` holds held-out
mapped AA frames, and each CG model's set holds frames of its production run. Every backmapping
method turns a test set into an AA trajectory; :func:`evaluate_aa` and :func:`evaluate_set`
recompute the AA forces with the AA force field and reduce each trajectory to arrays; the
summary turns those into the study's Tables 1 and 2, Figures 3 and 5 and the chi^2 table.
"""

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from . import evaluate as ev
from .evaluate.rerun import rerun_forces
from .mapping import Mapping
from .topology import Topology
from .trajectory import Frames, read_frames, write_frames

log = logging.getLogger("cgbench")

ELEMENT_PAIRS = ("C-C", "C-N", "N-N")
#: Force (kJ/mol/nm) given to atom force components that came out non-finite.
CLASH_FORCE = 1e30


def spread(n_total, n_wanted, start=0):
    """``n_wanted`` frame indices spread evenly over ``range(start, n_total)``."""
    n = n_total - start
    if n < 1:
        raise ValueError(f"no frames between {start} and {n_total}")
    return np.unique(np.linspace(start, n_total - 1, min(n_wanted, n)).round().astype(int))


def held_out_start(n_frames, train_fraction):
    """First frame index of the held-out part of an AA run of ``n_frames`` frames."""
    return min(n_frames - 1, int(np.ceil(train_fraction * n_frames)))


def make_testset(name, source_gro, source_traj, n_frames, train_fraction, out):
    """Write a test set: evenly spread frames of a CG trajectory.

    For ``indist`` the frames come from the held-out part of the mapped AA trajectory (the part
    after ``train_fraction``); for a CG model from its whole production run.
    """
    frames = read_frames(source_gro, source_traj)
    start = held_out_start(frames.n_frames, train_fraction) if name == "indist" else 0
    idx = spread(frames.n_frames, n_frames, start)
    sub = Frames(frames.positions[idx], frames.box[idx], frames.time[idx],
                 None if frames.forces is None else frames.forces[idx])
    import MDAnalysis as mda

    u = mda.Universe(str(source_gro), to_guess=())
    write_frames(out["gro"], out["trr"], sub, list(u.atoms.names), list(u.atoms.resnames), list(u.atoms.resids))
    Path(out["json"]).write_text(json.dumps({"name": name, "source": str(source_traj), "frames": idx.tolist(),
                                             "time_ps": sub.time.tolist()}))
    log.info("test set %s: frames %s of %d", name, idx.tolist(), frames.n_frames)


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
    from .pbc import make_whole

    whole = make_whole(x, box, topology.bonds, topology.n_atoms)
    molecule = ev.molecule_index(n_molecules, topology.n_atoms)
    rdfs = ev.element_rdfs(whole, box, _elements(topology, n_molecules), molecule, ELEMENT_PAIRS,
                           r_max=settings["rdf_max_nm"], bins=settings["rdf_bins"])
    for pair, (r, g) in rdfs.items():
        out["rdf_r"] = r
        out[f"rdf_{pair}"] = g
    out["clash_fraction"] = ev.close_contacts(whole, box, molecule, threshold=settings["clash_nm"]).fraction_per_frame
    if cg_input is not None:
        out["rmsd_nm"] = ev.reprojection_rmsd(x, cg_input, box, mapping.com_weights(), topology.bonds, per_frame=True)
    return out


def _load_molecule(topology, mapping):
    return Topology.load_npz(topology), Mapping.from_dict(json.loads(Path(mapping).read_text()))


def evaluate_aa(tpr, trr, topology, mapping, n_molecules, mdp, top, settings, workdir, out, threads=1,
                executable="gmx"):
    """The AA reference: every NVT frame, forces recomputed exactly as for the backmapped sets."""
    top_, mp = _load_molecule(topology, mapping)
    aa = read_frames(tpr, trr, forces=False)
    data = reduce_aa(aa.positions, aa.box, top_, mp, n_molecules, mdp, top, workdir, settings, threads, executable)
    np.savez_compressed(out["npz"], **data)
    log.info("AA reference: %d frames, clash fraction %.2e", aa.n_frames, data["clash_fraction"].mean())


def evaluate_set(bm_gro, bm_traj, cg_gro, cg_traj, topology, mapping, n_molecules, mdp, top, settings, workdir, out,
                 threads=1, executable="gmx"):
    """One backmapped test set."""
    top_, mp = _load_molecule(topology, mapping)
    bm = read_frames(bm_gro, bm_traj, forces=False)
    cg = read_frames(cg_gro, cg_traj, forces=False)
    if bm.n_frames != cg.n_frames:
        raise ValueError(f"{bm_traj} has {bm.n_frames} frames but its CG input {cg_traj} has {cg.n_frames}")
    data = reduce_aa(bm.positions, bm.box, top_, mp, n_molecules, mdp, top, workdir, settings, threads, executable,
                     cg_input=cg.positions)
    np.savez_compressed(out["npz"], **data)
    log.info("%s: RMSD %.4f nm, clash fraction %.2e", bm_traj, data["rmsd_nm"].mean(), data["clash_fraction"].mean())


def cg_model_forces(model, model_spec, cg_npz, testset_gro, testset_trr, potentials, dbi_tables, dbi_params, scales,
                    cg_topology, cutoff_nm, workdir, out, threads=1):
    """CG forces of one model on the mapped AA frames and on its own test-set frames (for chi^2)."""
    from .cg_stage import dbi_terms, load_cg, read_potentials, read_scales
    from .evaluate.cg_forces import cg_forces
    from . import lammps

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


def summarise(aa_npz, sets, cgforce_npz, mapped_npz, settings, out, seed=0, dbm_training=None):
    """Tables 1 and 2, the ranking, chi^2, and Figures 3 and 5.

    Parameters
    ----------
    sets : dict of (method, testset) -> path of its evaluation ``.npz``
    cgforce_npz : dict of model -> path of :func:`cg_model_forces` output
    dbm_training : path, optional
        DBM's training summary (``training.json``): the summary says where the model came from.
    """
    ref = np.load(aa_npz)
    data = {k: np.load(p) for k, p in sets.items()}
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
    t1.to_csv(out["table1"])

    # Table 2: JS divergence of the force distributions, with bootstrap intervals over frames
    rows, rankings = [], []
    for m in methods:
        counts = {s: ev.force_histograms(ev.force_magnitudes(data[m, s][key]), edges) for s in testsets if (m, s) in data}
        boot = ev.bootstrap_js_many(ref_counts, counts, n_boot=settings["bootstrap"], level=settings["level"], seed=seed)
        for s, b in boot.items():
            rows.append({"method": m, "test set": s, "js": b.js, "lo": b.lo, "hi": b.hi,
                         "clash_fraction": float(np.mean(data[m, s]["clash_fraction"]))})
        models = {s: b for s, b in boot.items() if s != "indist"}
        if models:
            rank = ev.js_ranking(models)
            rank.insert(0, "method", m)
            rankings.append(rank)
    t2 = pd.DataFrame(rows)
    t2.to_csv(out["table2"], index=False)
    ranking = pd.concat(rankings, ignore_index=True) if rankings else pd.DataFrame()
    ranking.to_csv(out["ranking"], index=False)

    # chi^2 (Eq. 7) on the AA ensemble and chi^2_BM (Eq. 8) per model and method: net forces
    mapped = np.load(mapped_npz)
    chi = []
    for model, path in cgforce_npz.items():
        f = np.load(path)
        base = ev.chi2(f["mapped"], mapped["forces_net"])
        row = {"model": model, "chi2": base}
        for m in methods:
            if (m, model) in data:
                row[f"chi2_BM {m}"] = ev.chi2_bm(f["mapped"], mapped["forces_net"], f["test"],
                                                 data[m, model]["forces_net"]).chi2_bm
        chi.append(row)
    pd.DataFrame(chi).to_csv(out["chi2"], index=False)

    figure3(ref, data, methods, out["figure3"])
    figure5(ref_counts, edges, data, key, methods, out["figure5"])
    notes = [dbm_provenance(json.loads(Path(dbm_training).read_text()))] if dbm_training else []
    Path(out["html"]).write_text(summary_html(t1, t2, ranking, pd.DataFrame(chi), settings, notes))
    log.info("Table 1 (RMSD, nm):\n%s\nTable 2 (JS, nats):\n%s", t1.round(4), t2.round(4))


def figure3(ref, data, methods, path, sets=("indist", "A")):
    """The study's Figure 3: AA RDFs C-C, C-N, N-N of the reference, in-distribution and model A sets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(ELEMENT_PAIRS), len(methods), figsize=(5 * len(methods), 8), squeeze=False)
    for j, m in enumerate(methods):
        for i, pair in enumerate(ELEMENT_PAIRS):
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
    fig.savefig(path, dpi=120)
    plt.close(fig)


def figure5(ref_counts, edges, data, key, methods, path):
    """The study's Figure 5: distributions of projected force magnitudes, reference and test sets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(methods), figsize=(6 * len(methods), 4), squeeze=False)
    for j, m in enumerate(methods):
        ax = axes[0, j]
        c, dens, over = ev.force_density(ref_counts, edges)
        ax.plot(c, dens, color="black", lw=2, label="AA reference")
        for (mm, s), d in data.items():
            if mm != m:
                continue
            c, dens, over = ev.force_density(ev.force_histograms(ev.force_magnitudes(d[key]), edges), edges)
            label = "in-distribution" if s == "indist" else f"model {s}"
            ax.plot(c, dens, lw=1.2, label=f"{label} ({over:.1%} beyond)")
        ax.set_yscale("log")
        ax.set_title(f"{m.upper()}: bead force magnitudes")
        ax.set_xlabel("|F| (kJ/mol/nm)")
        ax.set_ylabel("density")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
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


def summary_html(t1, t2, ranking, chi, settings, notes=()):
    """The report's tables and a short reading of them, as one HTML fragment."""
    lines = ["<h2>What this run says</h2>", "<ul>"]
    lines += [f"<li>{n}</li>" for n in notes]
    for m in sorted(t2["method"].unique()):
        sub = t2[(t2["method"] == m) & (t2["test set"] != "indist")].sort_values("js")
        indist = t2[(t2["method"] == m) & (t2["test set"] == "indist")]
        if not sub.empty:
            order = " &lt; ".join(f"{r['test set']} ({r['js']:.3f})" for _, r in sub.iterrows())
            lines.append(f"<li>{m.upper()}: JS divergence of the force distributions to the AA reference, best first: "
                         f"{order} nats" + (f"; in-distribution {indist['js'].iloc[0]:.3f}" if not indist.empty else "")
                         + ".</li>")
    for m in t1.columns:
        lines.append(f"<li>{m.upper()}: re-projection RMSD {t1[m].min():.4f}-{t1[m].max():.4f} nm.</li>")
    lines.append("</ul>")
    lines.append(f"<p>JS divergence in nats (bounded by ln 2), on {settings['force_bins']} equal bins up to the "
                 f"reference's {settings['force_quantile']} quantile plus one overflow bin, of "
                 f"{'Eq. 6 mean' if settings['force_projection'] == 'mean' else 'net'} bead forces; "
                 f"{settings['level']:.0%} intervals from {settings['bootstrap']} bootstrap resamples over frames.</p>")
    for title, df in (("Table 1: re-projection RMSD (nm)", t1), ("Table 2: JS divergence of force distributions", t2),
                      ("Ranking of the CG models", ranking), ("Force matching: chi^2 (Eq. 7) and chi^2_BM (Eq. 8)", chi)):
        lines.append(f"<h3>{title}</h3>")
        lines.append(df.to_html(float_format=lambda v: f"{v:.4g}", border=0))
    return "\n".join(lines) + "\n"
