"""Training data: (AA, CG) frame pairs, the train/test split, and the DataModule.

The first ``train_fraction`` of the AA frames train the model; the remaining last frames, mapped to
CG, are the in-distribution test set (frames are not shuffled before the split: neighbouring frames
are correlated, so a random split would leak). The DataLoader yields only (frame, bead) indices;
environments, local frames and their random rotations are built on the device in
:meth:`DBMDataModule.on_after_batch_transfer`.
"""

from dataclasses import dataclass, replace
import time

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

from ...core.errors import CgbenchError
from ...geometry.pbc import make_whole
from ..testsets import held_out_start
from .frames import EnvironmentBuilder


@dataclass
class Frames:
    """Whole-molecule AA frames and their CG mapping (nm, float32)."""

    x: np.ndarray  #: (F, n_molecules * n_atoms, 3)
    r: np.ndarray  #: (F, n_molecules * n_beads, 3)
    box: np.ndarray  #: (F, 3)

    def __len__(self):
        return len(self.x)

    def subset(self, idx):
        return Frames(self.x[idx], self.r[idx], self.box[idx])


def map_frames(x, box, spec):
    """Make molecules whole and map them to beads (study Eqs. 1-2).

    Parameters
    ----------
    x : ndarray, shape (F, n_molecules * n_atoms, 3), nm
    box : ndarray, shape (F, 3), nm
    spec : cgbench.backmap.dbm.molecule.MoleculeSpec

    Returns
    -------
    Frames
    """
    if x.shape[1] % spec.n_atoms:
        raise CgbenchError(f"{x.shape[1]} atoms are not whole molecules of {spec.n_atoms} atoms")
    xt = make_whole(torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(box, dtype=torch.float64),
                    spec.bonds, spec.n_atoms, fragments=True)
    f = xt.shape[0]
    w = torch.as_tensor(spec.com_weights())
    r = torch.einsum("ba,fmak->fmbk", w, xt.reshape(f, -1, spec.n_atoms, 3)).reshape(f, -1, 3)
    return Frames(xt.numpy().astype(np.float32), r.numpy().astype(np.float32), np.asarray(box, dtype=np.float32))


def split(n_frames, train_fraction):
    """Indices of the training frames (the first part) and the held-out test frames (the rest).

    The boundary is :func:`cgbench.backmap.testsets.held_out_start`, the one the workflow's
    in-distribution test set is drawn after, so DBM never trains on a test frame.
    """
    if not 0.0 < train_fraction <= 1.0:
        raise CgbenchError(f"train_fraction must be in (0, 1], got {train_fraction}")
    n_train = max(1, held_out_start(n_frames, train_fraction))
    return np.arange(n_train), np.arange(n_train, n_frames)


class DBMDataModule(L.LightningDataModule):
    """Bead samples of the training frames (and a fixed validation subset of the test frames).

    Parameters
    ----------
    spec : cgbench.backmap.dbm.molecule.MoleculeSpec
    frames : Frames
        All frames; they are split here.
    train_fraction : float
        Fraction of the frames, from the start, used for training.
    batch_size : int
        Beads per batch (study: 64).
    env_cutoff_nm : float
        Bead-centre cut-off of environments, nm.
    max_env_beads : int, optional
        Padded environment size; by default the largest environment in up to 10 training frames + 2.
    samples_per_epoch : int, optional
        Beads drawn (without replacement) per epoch; all training beads by default.
    val_samples : int
        Beads of the test frames used for validation (0: no validation).
    augment : bool
        Random rotations about the local z axis during training.
    seed : int
        Seeds the sampler, the validation subset and the rotations.
    generated : tuple of (ndarray of int, ndarray), optional
        Training frame indices (n,) and the model's own backmaps of them (n, atoms, 3), nm. Training
        then draws its beads from these frames only, and a ``self_fraction`` of them see the atoms
        of other molecules as the model generated them (their own molecule's stay the reference's):
        the conditions inference meets, where beads of two molecules, both generated, can overlap.
    self_fraction : float
        Fraction of training samples with generated neighbours (with ``generated``).
    """

    def __init__(self, spec, frames, train_fraction=0.8, batch_size=64, env_cutoff_nm=0.7, max_env_beads=None,
                 samples_per_epoch=None, val_samples=256, augment=True, seed=0, num_workers=0, generated=None,
                 self_fraction=0.5):
        super().__init__()
        self.spec, self.frames = spec, frames
        self.train_fraction, self.batch_size = train_fraction, int(batch_size)
        self.env_cutoff_nm, self.max_env_beads = float(env_cutoff_nm), max_env_beads
        self.samples_per_epoch, self.val_samples = samples_per_epoch, int(val_samples)
        self.augment, self.seed, self.num_workers = bool(augment), int(seed), int(num_workers)
        self.train_idx, self.test_idx = split(len(frames), train_fraction)
        self.generated, self.self_fraction = None, float(self_fraction)
        if generated is not None:
            idx, x = np.asarray(generated[0], dtype=int), np.asarray(generated[1], dtype=np.float32)
            if not np.isin(idx, self.train_idx).all() or x.shape != (len(idx), *frames.x.shape[1:]):
                raise CgbenchError("dbm: generated frames must be training frames, with every atom of each")
            self.train_idx = idx
            self.generated = (idx, x)
        self._device_data = {}
        self._rng = torch.Generator().manual_seed(self.seed + 1)
        self._train_loader = None
        self.builder = None
        self.profile = False  #: time environment building (synchronises the device; for benchmarks)
        self.environment_s = 0.0

    def setup(self, stage=None):
        if self.builder is not None:
            return
        if self.max_env_beads is None:
            probe = self.frames.subset(self.train_idx[:10])
            counter = EnvironmentBuilder(self.spec, self.env_cutoff_nm, 1)
            self.max_env_beads = counter.count(torch.as_tensor(probe.r), torch.as_tensor(probe.box)) + 2
        self.builder = EnvironmentBuilder(self.spec, self.env_cutoff_nm, self.max_env_beads)

    def _pairs(self, frame_idx):
        nb = self.frames.r.shape[1]
        f = np.repeat(frame_idx, nb)
        b = np.tile(np.arange(nb), len(frame_idx))
        return torch.as_tensor(f), torch.as_tensor(b)

    def train_dataloader(self):
        ds = TensorDataset(*self._pairs(self.train_idx))
        n = len(ds) if self.samples_per_epoch is None else min(len(ds), int(self.samples_per_epoch))
        # a seed per epoch (the trainer reloads this loader every epoch): training resumed from a
        # checkpoint draws the same samples in later epochs as an uninterrupted run would, and the
        # loader's state carries it through the rest of an interrupted epoch
        epoch = getattr(self.trainer, "current_epoch", 0)
        sampler = RandomSampler(ds, num_samples=n, generator=torch.Generator().manual_seed(self.seed + 1000 * epoch))
        self._train_loader = ResumableLoader(
            ds, epoch=epoch, augment_rng=self._rng, batch_size=self.batch_size, sampler=sampler,
            drop_last=n >= 2 * self.batch_size, num_workers=self.num_workers)
        return self._train_loader

    def val_dataloader(self):
        if self.val_samples <= 0 or len(self.test_idx) == 0:
            return []
        f, b = self._pairs(self.test_idx)
        pick = torch.randperm(len(f), generator=torch.Generator().manual_seed(self.seed + 2))[: self.val_samples]
        return DataLoader(TensorDataset(f[pick], b[pick]), batch_size=self.batch_size, shuffle=False)

    def device_frames(self, device):
        """The frames as tensors on ``device`` (moved once, then cached)."""
        key = str(device)
        if key not in self._device_data:
            fr = self.frames
            data = [torch.as_tensor(a, device=device) for a in (fr.r, fr.x, fr.box)]
            if self.generated is not None:
                # the generated atoms at their frames' places, the reference elsewhere (never used)
                xg = data[1].clone()
                xg[torch.as_tensor(self.generated[0], device=device)] = torch.as_tensor(self.generated[1], device=device)
                data.append(xg)
            self._device_data[key] = tuple(data)
        return self._device_data[key]

    def on_after_batch_transfer(self, batch, dataloader_idx):
        frame, bead = batch
        if self.profile:
            _sync(frame.device)
            t0 = time.perf_counter()
        R, X, box, *XG = self.device_frames(frame.device)
        training = self.trainer is not None and self.trainer.training
        if training and self._train_loader is not None:
            # counted here, where the batch is used, not where the loader hands it out: Lightning
            # fetches a batch ahead
            self._train_loader.batches_used += 1
        angle = None
        if self.augment and training:
            angle = (torch.rand(len(frame), generator=self._rng) * 2 * np.pi).to(frame.device)
        env = self.builder(R, X, box, frame, bead, angle)
        if XG and training:
            mine = torch.rand(len(frame), generator=self._rng).to(frame.device) < self.self_fraction
            if mine.any():
                gen = self.builder(R, XG[0], box, frame[mine], bead[mine], None if angle is None else angle[mine])
                pos = env.atom_pos.clone()
                # only other molecules' atoms: the molecule's own neighbour beads stay the reference's,
                # so that the junction bonds are still learnt against the atoms they join
                pos[mine] = torch.where(env.atom_same[mine][..., None], pos[mine], gen.atom_pos)
                env = replace(env, atom_pos=pos)
        if self.profile:
            _sync(frame.device)
            self.environment_s += time.perf_counter() - t0
        return env


class ResumableLoader(DataLoader):
    """The training DataLoader, resumable in the middle of an epoch.

    Lightning saves :meth:`state_dict` in its checkpoints and hands it back to
    :meth:`load_state_dict` when training resumes, before the epoch's batches are drawn. The state
    is the epoch, how many of its batches training has used, and the augmentation generator, so a
    training stopped mid-epoch continues with the batches and rotations an uninterrupted run would
    have drawn next, instead of starting the epoch's sequence again.

    Parameters
    ----------
    epoch : int
        The epoch this loader draws for (its sampler is seeded by it).
    augment_rng : torch.Generator
        The generator of the random rotations, saved and restored with the loader.
    """

    def __init__(self, dataset, *, epoch=0, augment_rng=None, **kwargs):
        super().__init__(dataset, **kwargs)
        self.epoch, self.augment_rng = int(epoch), augment_rng
        self.batches_used = 0

    def state_dict(self):
        state = {"epoch": self.epoch, "batches_used": self.batches_used}
        if self.augment_rng is not None:
            state["augment_rng"] = self.augment_rng.get_state()
        return state

    def load_state_dict(self, state):
        if self.augment_rng is not None and "augment_rng" in state:
            self.augment_rng.set_state(state["augment_rng"])
        # a checkpoint written at an epoch's end belongs to the epoch before this loader's
        self.batches_used = int(state["batches_used"]) if int(state["epoch"]) == self.epoch else 0

    def __iter__(self):
        if self.batches_used >= len(self):  # a finished pass: the next one starts afresh
            self.batches_used = 0
        it = super().__iter__()
        # the batches are (frame, bead) index pairs, so drawing and dropping the used ones is cheap
        for _ in range(self.batches_used):
            next(it)
        return it


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
