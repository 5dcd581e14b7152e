"""The demo's IBI loop, rerun on a finished run's inputs with settings changed: what the README's IBI
tables were measured with.

Sets up and runs the loop (``cgbench.stages.ibi``: set-up, chunks, finish) in a scratch folder from
``results/mapping``, ``results/bonded`` and ``results/molecule``, with ``ibi.<key>=<value>``
overrides of ``config/config.yaml`` (values in YAML; ``seed=N`` sets the run's seed, which seeds
the CG runs). Prints one JSON line: wall time, the final RDF distances and their sampling noise,
the T-T series, the pressures, whether and where the criterion held, and LAMMPS' and VOTCA's mean
time per iteration. Run it on an idle machine, one loop at a time.

    python benchmarks/ibi_loop.py --results results replicas=2 sparse_alpha=0.5
    python benchmarks/ibi_loop.py --results results replicas=1 sparse_alpha=null seed=1
"""

import argparse
import json
from pathlib import Path
import shutil
import tempfile
import time

import yaml

from cgbench.core.config import load
from cgbench.core.logs import to_log
from cgbench.stages import ibi as stage

ROOT = Path(__file__).resolve().parents[1]


def run(results, config, overrides, workdir):
    """Run the loop; returns (wall s, convergence table, state)."""
    import pandas as pd

    cfg = load(config)
    for key, value in overrides.items():
        if key == "seed":
            cfg["seed"] = int(value)
        else:
            cfg["ibi"][key] = value
    ibi = cfg["ibi"]
    r = Path(results)
    out = Path(workdir)
    t0 = time.perf_counter()
    with to_log(str(out / "ibi.log")):
        stage.ibi_setup(r / "mapping/cg.npz", r / "mapping/reference.csv", r / "bonded/dbi_tables.csv",
                        r / "bonded/dbi_params.json", r / "molecule/cg_topology.json", ibi, cfg["cg"]["cutoff_nm"],
                        cfg["aa"]["temperature_K"], cfg["seed"], out / "work", out / "setup.json",
                        threads=cfg["threads"]["cg"], cg_gro=r / "mapping/cg.gro", cg_traj=r / "mapping/cg.trr")
        n, size = ibi["iterations"], ibi["chunk_iterations"]
        for k in range(1, -(-n // size) + 1):
            stage.ibi_chunk(out / "work", min(size, n - (k - 1) * size), out / f"chunk_{k:03d}.json",
                            out / f"chunk_{k:03d}.csv", ibi["pressure_bound_bar"])
        files = {"convergence": out / "convergence.csv", "state": out / "convergence.json",
                 "potentials": out / "potentials.csv", "png": out / "convergence.png"}
        stage.ibi_finish(out / "work", files)
    wall = time.perf_counter() - t0
    return wall, pd.read_csv(files["convergence"]), json.loads(files["state"].read_text())


def summary(wall, conv, state):
    last = conv[conv.iteration == conv.iteration.max()]
    per = conv.groupby("iteration").first()
    tt = conv[conv.pair == conv.pair.iloc[0]]
    return {
        "wall_s": round(wall, 1),
        "iterations": int(state["iterations"]),
        "converged": bool(state["converged"]),
        "first_met": state["first_met"],
        "final_rdf_l2_nm": {p: round(float(v), 5) for p, v in zip(last.pair, last.rdf_l2)},
        "final_rdf_noise_nm": {p: round(float(v), 5) for p, v in zip(last.pair, last.rdf_noise)},
        f"{tt.pair.iloc[0]}_series_nm": [round(float(v), 4) for v in tt.rdf_l2],
        f"{tt.pair.iloc[0]}_last4_nm": round(float(tt.rdf_l2.tail(4).mean()), 5),
        "pressure_bar": [round(float(v)) for v in per.pressure_bar],
        "pressure_noise_bar": [round(float(v)) for v in per.pressure_noise_bar],
        "md_s_per_iteration": round(float(per.md_loop_s.mean()), 2),
        "votca_s_per_iteration": round(float(per.votca_s.mean()), 2),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="ibi.KEY (YAML value), or seed=N")
    ap.add_argument("--results", type=Path, default=ROOT / "results", help="a finished run's results folder")
    ap.add_argument("--config", type=Path, default=ROOT / "config" / "config.yaml")
    ap.add_argument("--workdir", type=Path, help="keep the loop here (default: a temporary folder)")
    args = ap.parse_args()
    overrides = {}
    for item in args.overrides:
        key, sep, value = item.partition("=")
        if not sep:
            ap.error(f"{item!r} is not KEY=VALUE")
        overrides[key] = yaml.safe_load(value)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="cgbench_ibi_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        wall, conv, state = run(args.results, args.config, overrides, work)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"benchmark": "ibi_loop", "overrides": overrides, **summary(wall, conv, state)}))


if __name__ == "__main__":
    main()
