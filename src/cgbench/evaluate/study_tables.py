"""The study's Tables 1 and 2 from the evaluations of the backmapped test sets."""

import numpy as np
import pandas as pd

from .divergence import bootstrap_js_many, js_saturated
from .forces import force_histograms, force_magnitudes

__all__ = ["table1_rmsd", "table2_js"]


def table1_rmsd(data, methods, testsets):
    """Table 1: mean re-projection RMSD (nm) of each method (columns) on each test set (rows).

    Parameters
    ----------
    data : dict of (method, test set) -> mapping
        Evaluations with ``rmsd_nm`` (n_frames,).
    methods, testsets : sequence of str
        Column and row order; a missing pair is left empty.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``test set``.
    """
    t1 = pd.DataFrame({m: {s: float(np.mean(data[m, s]["rmsd_nm"])) for s in testsets if (m, s) in data}
                       for m in methods})
    t1.index.name = "test set"
    return t1


def table2_js(ref_counts, edges, data, key, methods, testsets, settings, seed=0):
    """Table 2: JS divergence (nats) of bead force-magnitude histograms to the reference's.

    Kept to compare with the study: each row says whether the divergence saturates
    (:func:`cgbench.evaluate.divergence.js_saturated`), and no ranking uses it.

    Parameters
    ----------
    ref_counts : ndarray, shape (n_bins,)
        The reference's histogram on ``edges``.
    edges : ndarray, shape (n_bins + 1,), kJ/mol/nm
    data : dict of (method, test set) -> mapping
        Evaluations with the bead forces ``key`` and ``clash_fraction``.
    key : str
        ``forces_mean`` or ``forces_net``.
    methods, testsets : sequence of str
    settings : dict
        ``bootstrap`` (replicates) and ``level``.
    seed : int

    Returns
    -------
    pandas.DataFrame
        ``method``, ``test set``, ``js``, ``lo``, ``hi``, ``saturated``, ``clash_fraction``
        (intermolecular pairs closer than ``clash_nm``, per pair) and ``atoms_in_clash`` (atoms
        with a Lennard-Jones pair energy above ``clash_kT`` k_BT), both frame means.
    """
    rows = []
    for m in methods:
        counts = {s: force_histograms(force_magnitudes(data[m, s][key]), edges) for s in testsets if (m, s) in data}
        boot = bootstrap_js_many(ref_counts, counts, n_boot=settings["bootstrap"], level=settings["level"], seed=seed)
        for s, b in boot.items():
            rows.append({"method": m, "test set": s, "js": b.js, "lo": b.lo, "hi": b.hi,
                         "saturated": js_saturated(b.js),
                         "clash_fraction": float(np.mean(data[m, s]["clash_fraction"])),
                         "atoms_in_clash": float(np.mean(data[m, s]["lj_clash_fraction"]))})
    return pd.DataFrame(rows)
