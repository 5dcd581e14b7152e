"""Mid-epoch checkpoints, so DBM training survives a batch job's time limit.

Lightning's own ``ModelCheckpoint`` writes ``last.ckpt`` once an epoch, and an epoch of the study's
training set is long. :class:`ResumableCheckpoint` also writes it every few minutes, when SLURM
sends SIGTERM (Lightning notes the signal; the write happens at the end of the current batch,
before Lightning stops the fit) and just before the job's time limit, which it then reports with
:class:`~cgbench.core.walltime.TimeLimitReached`. Snakemake retries the failed job and training resumes
from ``last.ckpt``; Lightning's SLURM auto-requeue stays off (see :func:`cluster_plugins`) because
it would requeue the job behind Snakemake's back.
"""

from contextlib import contextmanager
import logging
import os
from pathlib import Path
import time
import warnings

from lightning.pytorch.callbacks import Callback

from ...core.walltime import TimeLimitReached

log = logging.getLogger("cgbench")


def save_atomically(trainer, path):
    """``trainer.save_checkpoint`` through a temporary file: a job killed while writing leaves the
    previous checkpoint intact."""
    path = Path(path)
    part = path.with_name(path.name + ".part")
    trainer.save_checkpoint(str(part))
    os.replace(part, path)


class ResumableCheckpoint(Callback):
    """Write ``path`` at every epoch's end, every ``every_s`` seconds, on SIGTERM, and before ``stop_at``.

    Parameters
    ----------
    path : path
        The checkpoint training resumes from (``last.ckpt``).
    every_s : float or None
        Seconds between periodic writes; None writes only on SIGTERM and at the deadline.
    stop_at : float or None
        ``time.time()`` at which training stops, checkpoint written, raising
        :class:`~cgbench.core.walltime.TimeLimitReached` (see :func:`cgbench.core.walltime.deadline`).
    """

    def __init__(self, path, every_s=None, stop_at=None):
        self.path = Path(path)
        self.every_s = every_s
        self.stop_at = stop_at
        self._last = time.time()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        now = time.time()
        if trainer.received_sigterm:
            self._save(trainer, "SIGTERM")
        elif self.stop_at is not None and now >= self.stop_at:
            self._save(trainer, "the job's time limit")
            raise TimeLimitReached(
                f"dbm: training stopped before the job's time limit at step {trainer.global_step}; "
                f"{self.path} is kept and the next attempt resumes from it")
        elif self.every_s and now - self._last >= self.every_s:
            self._save(trainer, f"{self.every_s / 60:g} min since the last one")

    def on_train_epoch_end(self, trainer, pl_module):
        # Lightning's ModelCheckpoint with save_top_k=0 writes last.ckpt only when training ends
        self._save(trainer, "end of epoch")

    def _save(self, trainer, why):
        save_atomically(trainer, self.path)
        self._last = time.time()
        log.info("dbm: checkpoint at step %d (%s): %s", trainer.global_step, why, self.path)


def in_slurm_step(environ=None):
    """Whether this process runs in a SLURM job step, as Lightning's ``SLURMEnvironment.detect()``
    decides it: ``srun`` sets ``SLURM_NTASKS``, and jobs named ``bash`` or ``interactive`` are
    allocations the user works in by hand."""
    env = os.environ if environ is None else environ
    return "SLURM_NTASKS" in env and env.get("SLURM_JOB_NAME") not in ("bash", "interactive")


def cluster_plugins(environ=None):
    """Lightning's cluster environment for this process: SLURM's without auto-requeue inside a SLURM
    job step, else the plain single-machine one."""
    from lightning.fabric.plugins.environments import LightningEnvironment, SLURMEnvironment

    if in_slurm_step(environ):
        return [SLURMEnvironment(auto_requeue=False)]
    return [LightningEnvironment()]


@contextmanager
def no_srun_hint():
    """Outside a SLURM job step, silence Lightning's hint to prepend ``srun``.

    A fresh fit probes ``SLURMEnvironment.detect()`` whatever the plugins say, and the probe warns
    whenever an ``srun`` is on ``PATH`` (a login node, a workstation with SLURM's client). The hint
    is wrong here: Snakemake's SLURM executor starts the job step itself."""
    with warnings.catch_warnings():
        if not in_slurm_step():
            warnings.filterwarnings("ignore", message="The `srun` command is available on your system")
        yield
