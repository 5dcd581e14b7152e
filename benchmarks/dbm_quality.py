"""Quality of DBM backmapping on the in-distribution test set of a finished run.

Compares the raw and the projected DBM backmaps of ``results/testsets/indist`` with the AA frames
they came from: bond and angle JS divergences, junction-bond errors, intermolecular C-C RDF
difference, re-projection RMSD (the study: 0.0056 nm) and the fraction of intermolecular atom pairs
closer than 0.1 nm; and, from the run's evaluation, per test set and method, the fraction of
backmapped bead forces beyond the reference's 99.9 % quantile and the force-magnitude JS divergence.
Prints one JSON line.

    python benchmarks/dbm_quality.py --results results
"""

import argparse
import json
from pathlib import Path
import tempfile

import MDAnalysis as mda

from cgbench.backmap import dbm


def held_out_reference(results, out_gro, out_xtc):
    """The AA NVT frames the in-distribution test set was drawn from, as .gro + .xtc."""
    frames = json.loads((results / "testsets" / "indist.json").read_text())["frames"]
    u = mda.Universe(str(results / "aa" / "nvt.tpr"), str(results / "aa" / "nvt.trr"))
    u.atoms.write(str(out_gro))
    with mda.Writer(str(out_xtc), u.atoms.n_atoms) as w:
        for i in frames:
            u.trajectory[i]
            w.write(u.atoms)


def force_figures(results, quantile=0.999):
    """Per method and test set: bead forces beyond the reference's quantile, and Table 2's JS."""
    import numpy as np
    import pandas as pd

    from cgbench.evaluate import force_magnitudes

    ref = np.load(results / "evaluate" / "aa.npz")
    t2 = pd.read_csv(results / "evaluate" / "table2_js.csv")
    out = {}
    for key in ("forces_mean", "forces_net"):
        if key not in ref:
            continue
        cut = np.quantile(force_magnitudes(ref[key]), quantile)
        for path in sorted((results / "evaluate").glob("*/*.npz")):
            method, testset = path.parent.name, path.stem
            if method == "cgforces":
                continue
            mag = force_magnitudes(np.load(path)[key])
            row = out.setdefault(f"{method}/{testset}", {})
            row[f"beyond_q{quantile}_{key}"] = float(np.mean(~(mag <= cut)))
    for _, row in t2.iterrows():
        out.setdefault(f"{row['method']}/{row['test set']}", {})["js_nats"] = float(row["js"])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=Path("results"))
    args = ap.parse_args()
    r = args.results
    mol = [r / "molecule" / f for f in ("topology.npz", "mapping.json", "cg_topology.json")]
    out = {"benchmark": "dbm_quality", "frames": len(json.loads((r / "testsets" / "indist.json").read_text())["frames"])}
    with tempfile.TemporaryDirectory() as tmp:
        ref = (Path(tmp) / "ref.gro", Path(tmp) / "ref.xtc")
        held_out_reference(r, *ref)
        cg = (r / "testsets" / "indist.gro", r / "testsets" / "indist.trr")
        for method in ("dbm", "dbm_projected"):
            bm = (r / "backmap" / method / "indist.gro", r / "backmap" / method / "indist.trr")
            out[method] = dbm.evaluate(ref, bm, cg, *mol)
    training = json.loads((r / "dbm" / "training.json").read_text())
    out["training_samples_per_s"] = training.get("mean_samples_per_s")
    out["training"] = {k: training.get(k) for k in ("init_from", "generator_updates", "wall_s",
                                                    "last_val_bond_rmse_nm", "last_val_junction_mae_nm")}
    out["forces"] = force_figures(r)
    print(json.dumps(out, default=float))


if __name__ == "__main__":
    main()
