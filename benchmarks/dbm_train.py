"""Benchmark: DBM training throughput and the share of step time spent building inputs.

Prints one JSON line: training samples (beads) per second, and the fraction of the training time
spent on environments (neighbour search, local frames) and on voxelisation + feature channels.
The model and the DataModule time those parts with device synchronisation, so the fractions are
honest on a GPU too.

    python benchmarks/dbm_train.py                          # CPU-friendly defaults, ~20 s
    python benchmarks/dbm_train.py --batch-size 64 --filters 32 --batches 50 --device cuda
"""

import argparse
import json
import time

import torch

from dbm_common import liquid_frames, tmbt_spec


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--molecules", type=int, default=27)
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=16, help="beads per batch (study: 64)")
    ap.add_argument("--batches", type=int, default=6, help="timed batches (after one warm-up epoch of 2)")
    ap.add_argument("--n-critic", type=int, default=5)
    ap.add_argument("--filters", type=int, default=16, help="network width (DBM default 32)")
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (default 1: on a shared machine more threads can be far slower)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    accel = "gpu" if a.device == "cuda" or (a.device == "auto" and torch.cuda.is_available()) else "cpu"

    import lightning as L

    from cgbench.backmap.dbm.data import DBMDataModule
    from cgbench.backmap.dbm.module import DBM

    spec = tmbt_spec()
    frames, n_mol = liquid_frames(spec, a.molecules, a.frames)
    L.seed_everything(0, verbose=False)
    dm = DBMDataModule(spec, frames, train_fraction=1.0, batch_size=a.batch_size,
                       samples_per_epoch=a.batch_size * a.batches, val_samples=0)
    model = DBM(spec.to_dict(), n_filters=a.filters, n_critic=a.n_critic)
    kw = dict(accelerator=accel, devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False, num_sanity_val_steps=0)
    L.Trainer(max_epochs=1, limit_train_batches=2, **kw).fit(model, datamodule=dm)  # warm-up
    model.profile = dm.profile = True
    model.timing = {"featurise_s": 0.0, "step_s": 0.0}
    dm.environment_s = 0.0
    trainer = L.Trainer(max_epochs=1, **kw)
    t0 = time.perf_counter()
    trainer.fit(model, datamodule=dm)
    wall = time.perf_counter() - t0
    steps = model.timing["step_s"] + dm.environment_s
    n = a.batch_size * a.batches
    print(json.dumps({
        "benchmark": "dbm_train", "device": str(model.device), "threads": torch.get_num_threads(),
        "batch_size": a.batch_size, "batches": a.batches, "n_critic": a.n_critic, "filters": a.filters,
        "samples_per_s": round(n / steps, 2), "samples_per_s_wall": round(n / wall, 2),
        "featurise_fraction": round(model.timing["featurise_s"] / steps, 3),
        "environment_fraction": round(dm.environment_s / steps, 3),
        "step_s_mean": round(steps / a.batches, 4),
    }))


if __name__ == "__main__":
    main()
