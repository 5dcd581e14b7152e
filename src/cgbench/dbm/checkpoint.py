"""Mid-epoch checkpoints, so DBM training survives a batch job's time limit.

Lightning's own ``ModelCheckpoint`` writes ``last.ckpt`` once an epoch, and an epoch of the study's
training set is long. :class:`ResumableCheckpoint` also writes it every few minutes, when SLURM
sends SIGTERM (Lightning notes the signal; the write happens at the end of the current batch,
before Lightning stops the fit) and just before the job's time limit, which it then reports with
:class:`~cgbench.walltime.TimeLimitReached`. Snakemake retries the failed job and training resumes
from ``last.ckpt``; Lightning's SLURM auto-requeue stays off (see :func:`cluster_plugins`) because
it would requeue the job behind Snakemake's back.
"""

import logging
import os
from pathlib import Path
import time

from lightning.pytorch.callbacks import Callback

from ..walltime import TimeLimitReached

log = logging.getLogger("cgbench")


def save_atomically(trainer, path):
    """``trainer.save_checkpoint`` through a temporary file: a job killed while writing leaves the
    previous checkpoint intact."""
    path = Path(path)
    part = path.with_name(path.name + ".part")
    trainer.save_checkpoint(str(part))
    os.replace(part, path)


class ResumableCheckpoint(Callback):
    """Write ``path`` every ``every_s`` seconds, on SIGTERM, and before ``stop_at``.

    Parameters
    ----------
    path : path
        The checkpoint training resumes from (``last.ckpt``).
    every_s : float or None
        Seconds between periodic writes; None writes only on SIGTERM and at the deadline.
    stop_at : float or None
        ``time.time()`` at which training stops, checkpoint written, raising
        :class:`~cgbench.walltime.TimeLimitReached` (see :func:`cgbench.walltime.deadline`).
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

    def _save(self, trainer, why):
        save_atomically(trainer, self.path)
        self._last = time.time()
        log.info("dbm: checkpoint at step %d (%s): %s", trainer.global_step, why, self.path)


def cluster_plugins(environ=None):
    """Lightning's cluster environment for this process: SLURM's without auto-requeue inside a SLURM
    job step, else the plain single-machine one (which also keeps Lightning from probing for SLURM
    and warning that ``srun`` is not used)."""
    from lightning.fabric.plugins.environments import LightningEnvironment, SLURMEnvironment

    env = os.environ if environ is None else environ
    # SLURMEnvironment.detect() looks at SLURM_NTASKS, which srun sets for a job step
    if "SLURM_NTASKS" in env and env.get("SLURM_JOB_NAME") not in ("bash", "interactive"):
        return [SLURMEnvironment(auto_requeue=False)]
    return [LightningEnvironment()]
