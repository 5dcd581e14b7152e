"""DBM training data: the split, the mapping of split molecules, and the DataModule's batches."""

import numpy as np
import pytest
import torch

from cgbench.backmap.dbm.data import DBMDataModule, map_frames, split
from cgbench.backmap.testsets import held_out_start
from dbm_testdata import synthetic_frames, tmbt_spec


def test_split_keeps_the_test_frames_of_the_workflow_out_of_training():
    for n, f in ((101, 0.8), (100, 0.8), (6, 0.66), (7, 0.5), (10, 0.99)):
        train, test = split(n, f)
        assert train[-1] + 1 == test[0] == held_out_start(n, f)
        assert len(train) + len(test) == n
    with pytest.raises(Exception, match="train_fraction"):
        split(10, 0.0)


def test_mapping_of_periodically_split_molecules_is_their_centre_of_mass(tmbt):
    spec = tmbt_spec(tmbt)
    fr = synthetic_frames(spec, n_frames=1, lattice=(2, 1, 1), spacing=1.6)  # atoms wrapped into the box
    assert fr.x.shape == (1, 2 * spec.n_atoms, 3)
    bonds = fr.x[0, spec.bonds[:, 0]] - fr.x[0, spec.bonds[:, 1]]
    assert np.linalg.norm(bonds, axis=1).max() < 0.2  # made whole
    w = spec.com_weights()
    expect = np.concatenate([w @ fr.x[0, m * spec.n_atoms:(m + 1) * spec.n_atoms] for m in range(2)])
    assert np.allclose(fr.r[0], expect, atol=1e-5)
    # mapping again from the already whole frames changes nothing
    again = map_frames(fr.x, fr.box, spec)
    assert np.allclose(again.r, fr.r, atol=1e-5)


def test_datamodule_rotates_training_environments_only(tmbt):
    spec = tmbt_spec(tmbt)
    fr = synthetic_frames(spec, n_frames=3, seed=5)
    dm = DBMDataModule(spec, fr, train_fraction=0.66, batch_size=8, val_samples=8, seed=1)
    dm.setup()

    class Trainer:
        training = True

    dm.trainer = Trainer()
    batch = next(iter(dm.train_dataloader()))
    assert set(batch[0].tolist()) <= {0, 1}  # training frames only
    a = dm.on_after_batch_transfer(batch, 0)
    b = dm.on_after_batch_transfer(batch, 0)
    # the same beads in differently turned frames: same distances, different coordinates
    assert torch.allclose(a.atom_pos.norm(dim=-1), b.atom_pos.norm(dim=-1), atol=1e-5)
    assert not torch.allclose(a.atom_pos, b.atom_pos, atol=1e-3)
    assert torch.allclose(a.atom_pos[..., 2], b.atom_pos[..., 2], atol=1e-5)  # only about local z
    Trainer.training = False
    val = next(iter(dm.val_dataloader()))
    assert set(val[0].tolist()) == {2}
    v1, v2 = dm.on_after_batch_transfer(val, 0), dm.on_after_batch_transfer(val, 0)
    assert torch.equal(v1.atom_pos, v2.atom_pos)


def test_generated_neighbours_replace_the_environment_but_never_the_beads_own_atoms(tmbt):
    spec = tmbt_spec(tmbt)
    fr = synthetic_frames(spec, n_frames=4, lattice=(2, 1, 1), spacing=1.2, seed=5)  # molecules in contact
    # the "model's backmap" of training frame 1: every atom 0.05 nm off along x
    generated = (np.array([1]), fr.x[[1]] + np.float32([0.05, 0.0, 0.0]))
    K = spec.max_atoms

    class Trainer:
        training = True

    envs = {}
    for frac in (0.0, 1.0):
        dm = DBMDataModule(spec, fr, train_fraction=0.75, batch_size=16, val_samples=0, augment=False, seed=1,
                           generated=generated, self_fraction=frac)
        dm.setup()
        dm.trainer = Trainer()
        batch = next(iter(dm.train_dataloader()))
        assert set(batch[0].tolist()) == {1}  # only the frames with generated neighbours are drawn
        envs[frac] = dm.on_after_batch_transfer(batch, 0)
    ref, gen = envs[0.0], envs[1.0]
    assert torch.equal(ref.atom_mask, gen.atom_mask)
    # the bead's own atoms (the targets) and its molecule's stay the reference's; other molecules'
    # atoms move with the backmap
    assert torch.allclose(gen.atom_pos[:, :K], ref.atom_pos[:, :K])
    shift = (gen.atom_pos - ref.atom_pos).norm(dim=-1)
    other = ref.atom_mask & ~ref.atom_same
    assert other.any() and (ref.atom_mask & ref.atom_same)[:, K:].any()
    assert torch.allclose(shift[other], torch.full((int(other.sum()),), 0.05), atol=1e-4)
    assert shift[ref.atom_mask & ref.atom_same].max() < 1e-5
    with pytest.raises(Exception, match="training frames"):
        DBMDataModule(spec, fr, train_fraction=0.75, generated=(np.array([3]), fr.x[[3]]))


def epoch_loader(spec, frames, epoch, samples_per_epoch):
    """The training loader of a fresh DataModule (as after a restart) for ``epoch``."""
    dm = DBMDataModule(spec, frames, train_fraction=0.66, batch_size=4, samples_per_epoch=samples_per_epoch, seed=1)

    class Trainer:
        current_epoch = epoch

    dm.trainer = Trainer()
    return dm.train_dataloader()


def drawn(loader):
    return [tuple(t.tolist()) for b in loader for t in b]


def test_each_epoch_draws_its_own_samples_whatever_came_before(tmbt):
    spec = tmbt_spec(tmbt)
    fr = synthetic_frames(spec, n_frames=3, seed=5)

    def draws(epoch):
        return drawn(epoch_loader(spec, fr, epoch, 8))

    # a training resumed at epoch 2 (a fresh DataModule) draws what the uninterrupted run draws
    assert draws(2) == draws(2) and draws(2) != draws(1)


def test_loader_state_resumes_an_epoch_after_the_batches_used(tmbt):
    spec = tmbt_spec(tmbt)
    fr = synthetic_frames(spec, n_frames=3, seed=5)
    first = epoch_loader(spec, fr, 0, 16)
    full = drawn(first)
    first.batches_used = 2  # what training had used when the checkpoint was written
    state = first.state_dict()
    # the same epoch, resumed: the rest of its batches; the next epoch: all of its own
    resumed = epoch_loader(spec, fr, 0, 16)
    resumed.load_state_dict(state)
    assert drawn(resumed) == full[2 * 2:]
    nxt = epoch_loader(spec, fr, 1, 16)
    nxt.load_state_dict(state)
    assert len(drawn(nxt)) == len(full) and drawn(nxt) != full
