"""File-level steps of deep backmapping: training with its curves, and backmapping a test set."""

import json
import logging
from pathlib import Path
import shutil

import pandas as pd

from . import dbm

log = logging.getLogger("cgbench")


def train_files(tpr, trr, topology, mapping, cg_topology, params, train_fraction, threads, workdir, out):
    """Train (resuming from ``workdir``'s last checkpoint), then write the model, the training log and
    its curves."""
    p = dict(params)
    p.update(train_fraction=train_fraction, threads=threads, progress_bar=True)
    summary = dbm.train(tpr, trr, topology, mapping, cg_topology, workdir, out["model"], p)
    logs = sorted(Path(workdir).glob("logs/version_*/metrics.csv"), key=lambda q: q.stat().st_mtime)
    metrics = pd.concat([pd.read_csv(q) for q in logs], ignore_index=True) if logs else pd.DataFrame()
    metrics.to_csv(out["metrics"], index=False)
    plot_training(metrics, out["png"])
    Path(out["summary"]).write_text(json.dumps(summary, indent=1))
    log.info("DBM training: %s", json.dumps(summary))


def plot_training(metrics, path):
    """Critic and generator losses, the energy prior, and the bond error over training steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [
        ("losses", [c for c in metrics.columns if "loss" in c]),
        ("energy (kJ/mol)", [c for c in metrics.columns if "energy" in c]),
        ("validation", [c for c in metrics.columns if c.startswith("val")]),
        ("samples/s", [c for c in metrics.columns if "samples_per_s" in c]),
    ]
    groups = [(t, cols) for t, cols in groups if cols]
    fig, axes = plt.subplots(1, max(1, len(groups)), figsize=(4.5 * max(1, len(groups)), 3.6), squeeze=False)
    for ax, (title, cols) in zip(axes[0], groups):
        for c in cols:
            d = metrics[["step", c]].dropna()
            ax.plot(d["step"], d[c], lw=1, label=c)
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
