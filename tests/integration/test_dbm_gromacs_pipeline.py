"""DBM end to end on real GROMACS output: train on a tiny NVT run, resume, backmap the test set.

Four TMBT molecules, 200 steps of minimisation and 100 NVT steps written every 20 (6 frames with
positions and forces, molecules split across the box as mdrun leaves them).
"""

import os
import signal

from lightning.pytorch.callbacks import Callback
import numpy as np
import pytest

from cgbench.backmap import dbm
from cgbench.core.errors import CgbenchError
from conftest import needs_gmx, tiny_aa_run
from dbm_testdata import one_torch_thread


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from one_torch_thread()


pytestmark = [pytest.mark.integration, needs_gmx]

TRAIN = dict(n_filters=8, z_dim=16, batch_size=8, samples_per_epoch=16, val_samples=8, n_critic=2,
             train_fraction=0.66, progress_bar=False, log_every_n_steps=1, accelerator="cpu")


@pytest.fixture(scope="module")
def nvt(tmp_path_factory, tmbt_files):
    return tiny_aa_run(tmp_path_factory.mktemp("dbm_aa"), tmbt_files, density_g_cm3=0.3, pack_seed=3, em_steps=200,
                       nvt_ps=0.1, output_ps=0.02, mdp_seed=5)


def test_train_resume_and_backmap_the_in_distribution_set(nvt, tmbt_files, tmp_path):
    import MDAnalysis as mda

    mol = (tmbt_files["topology"], tmbt_files["mapping"], tmbt_files["cg_topology"])
    work, model = tmp_path / "work", tmp_path / "model.ckpt"
    first = dbm.train(nvt / "nvt.tpr", nvt / "nvt.trr", *mol, work, model, dict(TRAIN, epochs=1))
    assert first["epochs"] == 1 and model.exists() and (work / "checkpoints" / "last.ckpt").exists()
    assert first["mean_samples_per_s"] > 0 and np.isfinite(first["last_loss_critic"])
    # a second call with a larger budget continues from last.ckpt instead of starting again
    second = dbm.train(nvt / "nvt.tpr", nvt / "nvt.trr", *mol, work, model, dict(TRAIN, epochs=2))
    assert second["epochs"] == 2 and second["steps"] == 2 * (2 + 1)  # 2 critic + 1 generator step per epoch
    # other settings start over: the 2-epoch checkpoint is not resumed into a 1-epoch training
    third = dbm.train(nvt / "nvt.tpr", nvt / "nvt.trr", *mol, work, model, dict(TRAIN, epochs=1, lambda_com=1.0))
    assert third["epochs"] == 1 and third["steps"] == 2 + 1

    # fine-tuning from a shipped model: its weights and architecture, this call's training settings
    from cgbench.backmap.dbm import shipped

    shipped.export(dbm.load_model(model, "cpu"), tmp_path / "shipped.pt")
    tuned = dbm.train(nvt / "nvt.tpr", nvt / "nvt.trr", *mol, tmp_path / "work2", tmp_path / "tuned.ckpt",
                      dict(TRAIN, epochs=1, n_filters=32, warmup_steps=1, init_from=str(tmp_path / "shipped.pt"),
                           self_frames=2, lambda_overlap=10.0), backmap={"n_gibbs": 0, "n_candidates": 1})
    # one warm-up update, then a critic step and (n_critic = 2) a generator step
    assert tuned["init_from"] == str(tmp_path / "shipped.pt") and tuned["generator_updates"] == 2
    # the shipped model's own backmaps of the first and the last training frame served as neighbours
    generated = np.load(tmp_path / "work2" / "self_frames.npz")
    assert list(generated["frames"]) == [0, 3] and generated["x"].shape == (2, 4 * 69, 3)
    assert dbm.load_model(tmp_path / "tuned.ckpt", "cpu").hparams.n_filters == 8
    # epochs 0: the shipped model is the run's model, unchanged; without one there is nothing to take
    as_is = dbm.train(nvt / "nvt.tpr", nvt / "nvt.trr", *mol, tmp_path / "work3", tmp_path / "as_is.ckpt",
                      dict(TRAIN, epochs=0, init_from=str(tmp_path / "shipped.pt")))
    assert as_is["epochs"] == 0 and as_is["generator_updates"] == 0
    assert (tmp_path / "as_is.ckpt").read_bytes() == (tmp_path / "shipped.pt").read_bytes()
    with pytest.raises(CgbenchError, match="epochs 0 takes the starting model as it is"):
        dbm.train(nvt / "nvt.tpr", nvt / "nvt.trr", *mol, tmp_path / "work4", tmp_path / "none.ckpt",
                  dict(TRAIN, epochs=0))

    out = {k: tmp_path / f"{k.replace('_', '.')}" for k in ("cg_gro", "cg_xtc", "aa_gro", "aa_xtc")}
    test = dbm.write_test_set(nvt / "nvt.tpr", nvt / "nvt.trr", *mol, out, train_fraction=0.66)
    assert test == {"n_frames": 2, "first_frame": 4}
    for consistency in ("none", "project"):
        gro, xtc = tmp_path / f"bm_{consistency}.gro", tmp_path / f"bm_{consistency}.xtc"
        info = dbm.backmap(model, out["cg_gro"], out["cg_xtc"], gro, xtc,
                           {"n_gibbs": 1, "n_candidates": 2, "consistency": consistency, "accelerator": "cpu"})
        assert info["n_frames"] == 2 and info["n_molecules"] == 4
        # the AA run's own topology reads the backmapped trajectory: same atoms in the same order
        u = mda.Universe(str(nvt / "nvt.tpr"), str(xtc))
        ref = mda.Universe(str(nvt / "nvt.tpr"), str(nvt / "nvt.trr"))
        assert len(u.trajectory) == 2 and list(u.atoms.names) == list(ref.atoms.names)
        # molecules come out whole: no bond spans the box (2.3 nm). An untrained generator puts atoms
        # near their bead centres, so bonds between beads are as long as bead distances (~0.45 nm)
        b = u.atoms.bonds.indices
        for ts in u.trajectory:
            assert np.linalg.norm(ts.positions[b[:, 0]] - ts.positions[b[:, 1]], axis=1).max() < 8.0  # Angstrom
        if consistency == "project":
            assert info["reprojection_rmsd_nm"] < 1e-5


class _SigtermAt(Callback):
    """Sends this process SIGTERM after training batch ``k``, as SLURM does at a job's time limit."""

    def __init__(self, k):
        self.k = k

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.fit_loop.total_batch_idx == self.k:
            os.kill(os.getpid(), signal.SIGTERM)


class _Batches(Callback):
    """Records the (frame, bead) pairs and the augmentation rotations of every training batch."""

    def __init__(self):
        self.pairs, self.rotations = [], []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.pairs.append(list(zip(batch.frame.tolist(), batch.centre.tolist())))
        self.rotations.append(batch.rot.detach().cpu().clone())


def test_training_interrupted_by_sigterm_or_a_deadline_resumes_where_it_stopped(nvt, tmbt_files, tmp_path,
                                                                               monkeypatch):
    import time

    import torch

    from cgbench.core.walltime import TimeLimitReached

    mol = (tmbt_files["topology"], tmbt_files["mapping"], tmbt_files["cg_topology"])
    params = dict(TRAIN, epochs=2, samples_per_epoch=32)  # 4 batches an epoch
    seen_ref, seen = _Batches(), [_Batches() for _ in range(3)]
    ref = dbm.train(nvt / "nvt.tpr", nvt / "nvt.trr", *mol, tmp_path / "ref", tmp_path / "ref.ckpt", params,
                    callbacks=[seen_ref])
    work, model = tmp_path / "work", tmp_path / "model.ckpt"
    last = work / "checkpoints" / "last.ckpt"
    # SIGTERM in the middle of the first epoch: last.ckpt is written before Lightning stops the fit
    with pytest.raises(TimeLimitReached, match="SIGTERM"):
        dbm.train(nvt / "nvt.tpr", nvt / "nvt.trr", *mol, work, model, params, callbacks=[_SigtermAt(1), seen[0]])
    assert 0 < torch.load(last, weights_only=False)["global_step"] < ref["steps"] and not model.exists()
    # a batch job whose time limit is reached at once: training stops at the first batch end
    monkeypatch.setenv("SLURM_JOB_ID", "1")
    monkeypatch.setenv("SLURM_JOB_END_TIME", str(time.time() + 0.5))
    before = torch.load(last, weights_only=False)["global_step"]
    with pytest.raises(TimeLimitReached, match="time limit"):
        dbm.train(nvt / "nvt.tpr", nvt / "nvt.trr", *mol, work, model, params, callbacks=[seen[1]])
    assert torch.load(last, weights_only=False)["global_step"] > before
    monkeypatch.delenv("SLURM_JOB_ID")
    monkeypatch.delenv("SLURM_JOB_END_TIME")
    # the next attempt resumes and ends where an uninterrupted run ends
    done = dbm.train(nvt / "nvt.tpr", nvt / "nvt.trr", *mol, work, model, params, callbacks=[seen[2]])
    assert done["steps"] == ref["steps"] and done["epochs"] == ref["epochs"] and model.exists()
    # across the three attempts, training used the batches and rotations of the uninterrupted run,
    # each once, in the same order (the first two attempts stopped in the middle of the first epoch)
    assert [len(s.pairs) for s in seen[:2]] == [2, 1]
    assert sum((s.pairs for s in seen), []) == seen_ref.pairs
    rotations = sum((s.rotations for s in seen), [])
    assert all(torch.allclose(a, b) for a, b in zip(rotations, seen_ref.rotations, strict=True))
