"""Benchmark: DBM backmapping speed, batched (graph colouring) against one bead at a time.

Prints one JSON line: molecules/s of both paths on the same frames with the same weights (a
shipped model with ``--model``, else untrained ones of ``--filters``), and their ratio. Both paths
give the same atoms (tests/unit/test_dbm_backmap.py).

    python benchmarks/dbm_backmap.py                       # CPU-friendly defaults, ~20 s
    python benchmarks/dbm_backmap.py --model resources/tmbt/dbm/model.pt --molecules 64 --gibbs 1 \
        --candidates 4 --no-serial                       # the demo's settings with the shipped model
    python benchmarks/dbm_backmap.py --molecules 64 --device cuda --filters 32
"""

import argparse
import json
import time

import torch

from dbm_common import liquid_frames, tmbt_spec


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--molecules", type=int, default=8, help="molecules per frame (rounded to a cube; demo: 64)")
    ap.add_argument("--frames", type=int, default=1)
    ap.add_argument("--candidates", type=int, default=4)
    ap.add_argument("--gibbs", type=int, default=0)
    ap.add_argument("--repair", type=int, default=0, help="repair sweeps of beads in a clash (the demo: 1)")
    ap.add_argument("--filters", type=int, default=16, help="network width of an untrained model (DBM default 32)")
    ap.add_argument("--model", help="a shipped model or checkpoint to time instead of an untrained one")
    ap.add_argument("--project", action="store_true", help="consistency projection before selection")
    ap.add_argument("--batch-size", type=int, default=1024, help="samples per network call, batched path")
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (default 1: on a shared machine more threads can be far slower)")
    ap.add_argument("--no-serial", action="store_true", help="skip the serial path (large systems)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device("cuda" if a.device == "cuda" or (a.device == "auto" and torch.cuda.is_available()) else "cpu")

    from cgbench.backmap.dbm import load_model
    from cgbench.backmap.dbm.backmap import Backmapper
    from cgbench.backmap.dbm.module import DBM

    spec = tmbt_spec()
    frames, n_mol = liquid_frames(spec, a.molecules, a.frames)
    torch.manual_seed(0)
    if a.model:
        model = load_model(a.model, device.type, molecule=spec)
        a.filters = model.hparams.n_filters
    else:
        model = DBM(spec.to_dict(), n_filters=a.filters).to(device).eval()
    bm = Backmapper(model, n_gibbs=a.gibbs, n_candidates=a.candidates, n_repair=a.repair, batch_size=a.batch_size,
                    consistency="project" if a.project else "none")
    bm.run(frames.r[:1], frames.box[:1])  # warm-up: allocator, kernels
    t0 = time.perf_counter()
    _, info = bm.run(frames.r, frames.box)
    batched = time.perf_counter() - t0
    out = {
        "benchmark": "dbm_backmap", "device": str(device), "device_name": torch.cuda.get_device_name(device)
        if device.type == "cuda" else "cpu", "threads": torch.get_num_threads(), "molecules": n_mol,
        "frames": a.frames, "beads_per_frame": n_mol * spec.n_beads, "atoms_per_frame": n_mol * spec.n_atoms,
        "colours": info["n_colours"], "candidates": a.candidates, "gibbs_sweeps": a.gibbs, "repair_sweeps": a.repair,
        "filters": a.filters, "clash_atom_fraction": round(info["clash_atom_fraction"], 4),
        "model": a.model or "untrained", "projection": a.project,
        "batched_s": round(batched, 3), "molecules_per_s_batched": round(n_mol * a.frames / batched, 2),
    }
    if not a.no_serial:
        t0 = time.perf_counter()
        bm.run(frames.r, frames.box, serial=True)
        serial = time.perf_counter() - t0
        out.update(serial_s=round(serial, 3), molecules_per_s_serial=round(n_mol * a.frames / serial, 2),
                   speedup=round(serial / batched, 2))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
