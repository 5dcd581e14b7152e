"""File-level steps of deep backmapping: training with its curves, and backmapping a test set."""

import json
import logging
from pathlib import Path

import pandas as pd

from ..backmap import dbm

log = logging.getLogger("cgbench")


def train_files(tpr, trr, topology, mapping, cg_topology, params, train_fraction, threads, workdir, out, backmap=None):
    """Train (resuming from ``workdir``'s last checkpoint), then write the model, the training log and
    its curves. ``backmap`` (the run's backmapping settings) generates the neighbours of
    ``self_frames``."""
    p = dict(params)
    p.update(train_fraction=train_fraction, threads=threads, progress_bar=True)
    summary = dbm.train(tpr, trr, topology, mapping, cg_topology, workdir, out["model"], p, backmap=backmap)
    untrained = summary.get("epochs") == 0
    # with epochs 0 nothing trained here: logs left in the work folder by an earlier training are not this run's
    logs = [] if untrained else sorted(Path(workdir).glob("logs/version_*/metrics.csv"), key=lambda q: q.stat().st_mtime)
    metrics = pd.concat([pd.read_csv(q) for q in logs], ignore_index=True) if logs else pd.DataFrame()
    metrics.to_csv(out["metrics"], index=False)
    note = None
    if untrained:
        model = Path(summary["init_from"])
        note = f"No training in this run: {model} is taken as it is."
        if (model.parent / "MODEL.md").exists():
            note += f"\nHow it was made, and its curves: {model.parent}/MODEL.md and training.png"
    plot_training(metrics, out["png"], note=note)
    Path(out["summary"]).write_text(json.dumps(summary, indent=1))
    log.info("DBM training: %s", json.dumps(summary))


def plot_training(metrics, path, note=None):
    """Training curves over optimisation steps: the warm-up's supervised error (by conditioning
    mode), the adversarial losses, the validation bond errors (junction bonds apart), energies and
    speed. Panels whose columns were never logged are left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = lambda pred: [c for c in metrics.columns if pred(c)]
    groups = [
        ("supervised error (nm$^2$)", cols(lambda c: c in ("loss_sup", "sup_gibbs_nm2", "sup_sequential_nm2")), True),
        ("adversarial losses", cols(lambda c: c in ("loss_critic", "loss_gen", "loss_adv", "wasserstein")), False),
        ("validation bond error (nm)", cols(lambda c: c.startswith("val_") and c.endswith("_nm")), True),
        ("energy (kJ/mol)", cols(lambda c: "energy" in c and "/" not in c), False),
        ("samples/s", cols(lambda c: "samples_per_s" in c), False),
    ]
    groups = [(t, c, log) for t, c, log in groups if c and metrics[c].notna().any().any()]
    if note is not None or not groups:
        fig, ax = plt.subplots(figsize=(7, 1.6))
        ax.axis("off")
        ax.text(0.0, 0.5, note or "No training steps were logged.", va="center", fontsize=9, wrap=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.5), squeeze=False)
    for ax, (title, names, log) in zip(axes[0], groups):
        for c in names:
            d = metrics[["step", c]].dropna()
            ax.plot(d["step"], d[c], lw=1, marker="o" if len(d) < 40 else None, ms=3, label=c)
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_title(title)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def backmap_files(model, cg_gro, cg_traj, params, consistency, threads, out):
    """Backmap a test set with a trained model; writes ``gro``, ``trajectory`` and a JSON summary."""
    p = dict(params)
    p.update(consistency=consistency, threads=threads)
    info = dbm.backmap(model, cg_gro, cg_traj, out["gro"], out["trajectory"], p)
    Path(out["json"]).write_text(json.dumps(info, indent=1, default=str))
    log.info("DBM backmapping (%s): %s", consistency, json.dumps(info, default=str))


def project_files(bm_gro, bm_traj, cg_gro, cg_traj, topology, mapping, out):
    """The projected variant of a backmapped test set (:func:`cgbench.mapping.projection.project_onto_beads`).

    Writes ``gro``, ``trajectory`` and a JSON summary of the translations (the raw backmap's
    per-bead re-projection errors).
    """
    import numpy as np

    from ..molecule.mapping import Mapping
    from ..mapping.projection import project_onto_beads
    from ..molecule.topology import Topology
    from ..engines.trajectory import Frames, read_frames, write_frames

    top = Topology.load_npz(topology)
    mp = Mapping.from_dict(json.loads(Path(mapping).read_text()))
    # test sets are a bounded number of frames (testsets.n_frames), read whole
    bm = read_frames(bm_gro, bm_traj, forces=False)
    cg = read_frames(cg_gro, cg_traj, forces=False)
    x, shift = project_onto_beads(bm.positions, cg.positions, bm.box, mp.com_weights(), top.bonds)
    n_mol = x.shape[1] // top.n_atoms
    write_frames(out["gro"], out["trajectory"], Frames(x, bm.box, bm.time), list(top.atom_names) * n_mol,
                 [top.resname] * x.shape[1], np.repeat(np.arange(1, n_mol + 1), top.n_atoms))
    info = {"frames": int(bm.n_frames), "consistency": "project (after generation)",
            "shift_mean_nm": float(shift.mean()), "shift_max_nm": float(shift.max()),
            "shift_rms_nm": float(np.sqrt((shift**2).mean()))}
    Path(out["json"]).write_text(json.dumps(info, indent=1))
    log.info("projected %d frames onto their CG beads: %s", bm.n_frames, json.dumps(info))


def ship_files(model, tpr, trr, topology, mapping, cg_topology, training, metrics, backmap_params, train_fraction,
               n_frames, threads, recipe, out):
    """Turn a finished training into a shipped model: weights file, measured quality, model card.

    Quality is measured on ``n_frames`` evenly spread held-out frames of the same AA run (never
    trained on), backmapped raw (no projection) with ``backmap_params``.
    """
    import numpy as np
    import torch

    from ..backmap.dbm import shipped
    from ..backmap.dbm.backmap import Backmapper
    from ..backmap.dbm.io import count_frames
    from ..backmap.dbm.metrics import evaluate
    from ..backmap.testsets import held_out_start, spread

    if threads:
        torch.set_num_threads(int(threads))
    spec = dbm.load_spec(topology, mapping, cg_topology)
    # only the chosen held-out frames are read, not the run
    total = count_frames(tpr, trr)
    start = held_out_start(total, train_fraction)
    idx = spread(total, n_frames, start)
    test = dbm.load_frames(tpr, trr, spec, frames=idx)
    net = dbm.load_model(model, "cpu", molecule=spec)
    p = {k: v for k, v in dict(backmap_params).items() if k not in ("accelerator", "threads", "batch_size")}
    bm = Backmapper(net, **p)
    x, info = bm.run(test.r, test.box)
    q = evaluate(test.x, test.box, x, test.box, test.r, spec)
    summary = json.loads(Path(training).read_text())
    quality = {"frames": [int(i) for i in idx], "n_molecules": int(test.r.shape[1] // spec.n_beads),
               "backmap": p | {"consistency": "none"}, "molecules_per_s_cpu": info["molecules_per_s"],
               "reprojection_rmsd_nm": q["reprojection_rmsd_nm"], "junction_bonds": q["junction_bonds"],
               "js_bond_mean_nats": q["js_bond_mean_nats"], "js_angle_mean_nats": q["js_angle_mean_nats"],
               "rdf_cc_intermolecular_mean_abs_diff": q["rdf_cc_intermolecular_mean_abs_diff"],
               "close_contacts": q["close_contacts"], "close_contacts_reference": q["close_contacts_reference"],
               "clash_atom_fraction": q["clash_atom_fraction"],
               "clash_atom_fraction_reference": q["clash_atom_fraction_reference"]}
    training_record = {k: summary.get(k) for k in ("epochs", "steps", "generator_updates", "mean_samples_per_s",
                                                     "last_val_bond_rmse_nm", "last_val_junction_mae_nm",
                                                     "last_val_intra_mae_nm", "wall_s", "init_from",
                                                     "self_frames", "self_fraction")}
    written = shipped.export(net, out["model"], recipe=dict(recipe) | {"training": training_record},
                             quality=quality)
    Path(out["quality"]).write_text(json.dumps(quality | {"model": written}, indent=1, default=float))
    curves = pd.read_csv(metrics)
    plot_training(curves, out["png"])
    Path(out["card"]).write_text(model_card(net, recipe, training_record, quality, written))
    log.info("shipped DBM model: %s", json.dumps(written))


def model_card(net, recipe, training, quality, written):
    """A short Markdown card: what the model is, how it was made, what it measured."""
    hp = {k: v for k, v in dict(net.hparams).items() if k != "molecule"}
    jb = quality["junction_bonds"]
    rows = [
        ("raw re-projection RMSD (nm)", quality["reprojection_rmsd_nm"]),
        ("junction-bond mean error: mean b minus mean b_ref, in absolute value (nm)", jb["mean_error_nm"]),
        ("junction-bond error bond by bond, mean absolute (nm)", jb["mae_nm"]),
        ("junction-bond thermal spread of the reference (nm)", jb["spread_ref_nm"]),
        ("bond JS, mean over bond types (nats)", quality["js_bond_mean_nats"]),
        ("angle JS, mean over angle types (nats)", quality["js_angle_mean_nats"]),
        ("intermolecular C-C RDF, mean absolute difference", quality["rdf_cc_intermolecular_mean_abs_diff"]),
        ("atoms in an intermolecular pair closer than 0.1 nm (backmap / reference)",
         f"{quality['close_contacts']['atom_fraction']:.4f} / {quality['close_contacts_reference']['atom_fraction']:.4f}"),
        ("atoms in a clash: a Lennard-Jones pair energy above 10 kT (backmap / reference)",
         f"{quality['clash_atom_fraction']:.4f} / {quality['clash_atom_fraction_reference']:.4f}"),
        ("backmapping speed on the CPU (molecules/s)", quality["molecules_per_s_cpu"]),
    ]
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)
    lines = [
        f"# DBM model of {net.spec.name}",
        "",
        f"- file: `{Path(written['path']).name}` ({written['bytes'] / 1e6:.2f} MB: generator and critic weights, "
        "no optimiser state)",
        f"- molecule SHA-256: `{written['molecule_sha256']}` (checked on load; another molecule is refused)",
        f"- made by: `{recipe.get('command', '')}`",
        f"- data: {recipe.get('data', '')}",
        f"- seeds: {recipe.get('seeds', '')}",
        "",
        "## Training",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {fmt(v)} |" for k, v in training.items() if v is not None),
        "",
        "Curves: `training.png` (supervised loss, critic and generator losses, validation bond errors).",
        "",
        "## Quality on held-out frames of the same AA run",
        "",
        f"{len(quality['frames'])} frames, {quality['n_molecules']} molecules each, backmapped without projection "
        f"({', '.join(f'{k}={v}' for k, v in quality['backmap'].items())}).",
        "",
        "| measure | value |",
        "|---|---|",
        *(f"| {k} | {fmt(v)} |" for k, v in rows),
        "",
        "## Hyperparameters",
        "",
        "```",
        *(f"{k}: {v}" for k, v in sorted(hp.items())),
        "```",
        "",
    ]
    return "\n".join(lines)
