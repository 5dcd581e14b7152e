"""Compare CG distributions with the mapped AA reference: the study's Figure 2 and its distances.

Every table here has the layout of :func:`cgbench.mapping.reference.reference_table` (``kind``,
``name``, ``x``, ``y``), computed on the same bins for the reference and every model, so
distributions compare bin by bin.
"""

import numpy as np
import pandas as pd

from ..geometry.distributions import js_divergence
from ..core.errors import InputError

#: Panel order of the study's Figure 2: bonded kinds, then the RDFs.
PANEL_KINDS = ("bond", "angle", "improper", "proper", "rdf")


def figure2_panels(reference):
    """(kind, name) of every distribution in ``reference``, in the order of the study's Figure 2.

    For TMBT: bonds T-A, A-A; angles T-A-A, A-T-A; improper T-A-A-A; proper A-T-A-A; RDFs T-T,
    T-A, A-A (the study shows eight of these nine). A molecule without a kind has no panel of it.
    """
    found = list(dict.fromkeys(zip(reference["kind"], reference["name"])))
    return [p for kind in PANEL_KINDS for p in found if p[0] == kind]


def as_probabilities(kind, x, y):
    """Per-bin probabilities of one distribution.

    Bonded densities become bin probabilities (``y dx``). An RDF is turned into the distribution
    of pair distances within its range, :math:`p(r) \\propto r^2 g(r)`, so that its divergence is
    comparable with the others'.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    w = y * x**2 if kind == "rdf" else y
    w = np.clip(w, 0.0, None)
    s = w.sum()
    return w / s if s > 0 else w


def distances(reference, models):
    """JS divergence (nats) of every distribution of every model to the reference.

    Parameters
    ----------
    reference : pandas.DataFrame
    models : dict of str -> pandas.DataFrame
        Model name -> its distribution table.

    Returns
    -------
    pandas.DataFrame
        ``model``, ``kind``, ``name``, ``js`` (nats, in [0, ln 2]).
    """
    rows = []
    for model, table in models.items():
        for (kind, name), ref in reference.groupby(["kind", "name"], sort=False):
            got = table[(table["kind"] == kind) & (table["name"] == name)]
            if got.empty:
                continue
            if not np.allclose(got["x"].to_numpy(), ref["x"].to_numpy()):
                raise InputError(f"{model}: {kind} {name} is not on the reference bins")
            p = as_probabilities(kind, ref["x"], ref["y"])
            q = as_probabilities(kind, got["x"], got["y"])
            rows.append({"model": model, "kind": kind, "name": name, "js": float(js_divergence(p, q))})
    return pd.DataFrame(rows)


def figure2(reference, models, path, panels=None):
    """The study's Figure 2: each panel one distribution, the mapped AA reference and each model.

    ``panels`` (kind, name) default to every distribution of the reference (:func:`figure2_panels`).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = figure2_panels(reference) if panels is None else list(panels)
    ncols = min(4, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.5 * ncols, 3.25 * nrows), squeeze=False)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    labels = "abcdefghijklmnopqrstuvwxyz"
    for k, (ax, (kind, name)) in enumerate(zip(axes.ravel(), panels)):
        ref = reference[(reference["kind"] == kind) & (reference["name"] == name)]
        ax.plot(ref["x"], ref["y"], color="black", lw=2.2, label="AA (mapped)")
        for model, table in models.items():
            t = table[(table["kind"] == kind) & (table["name"] == name)]
            if not t.empty:
                ax.plot(t["x"], t["y"], lw=1.2, label=f"model {model}")
        sampled = ref[ref["y"] > 1e-3 * ref["y"].max()]
        if kind == "proper":
            ax.set_xlim(-180, 180)
        elif kind != "rdf" and not sampled.empty:
            span = sampled["x"].max() - sampled["x"].min()
            ax.set_xlim(sampled["x"].min() - 0.3 * span, sampled["x"].max() + 0.3 * span)
        unit = "r (nm)" if kind in ("bond", "rdf") else "angle (deg)"
        ax.set_xlabel(unit)
        ax.set_ylabel("g(r)" if kind == "rdf" else "P")
        ax.set_title(f"({labels[k % len(labels)]}) {kind} {name}", fontsize=10)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
