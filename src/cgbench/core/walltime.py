"""How long the current batch job may still run, so long work can stop cleanly before its limit.

On a cluster a job that reaches its time limit is killed. Long stages (GROMACS runs, DBM training)
ask :func:`deadline` once at the start and stop themselves, checkpoint written, a few minutes
before it; the job then fails with :class:`TimeLimitReached` and Snakemake's retry resumes from
the checkpoint. Outside a batch job there is no deadline.
"""

import os
import shutil
import subprocess
import time

from .errors import CgbenchError, InputError

#: Stop this long (s) before the job's end, or 5 % of the time left if that is more, so that the
#: checkpoint is written and the job step exits before SLURM's SIGTERM/SIGKILL. Jobs shorter than
#: 8 minutes keep a quarter of their time instead.
MARGIN_S = 120.0


class TimeLimitReached(CgbenchError):
    """Work stopped before the batch job's time limit; its checkpoint is kept for the next attempt."""


def parse_slurm_duration(text):
    """Seconds in a SLURM duration (``[days-]hours:minutes:seconds``, ``minutes:seconds`` or
    ``minutes``); ``None`` for ``UNLIMITED``, ``NOT_SET`` and ``INVALID``."""
    text = text.strip()
    if not text or text.upper() in ("UNLIMITED", "NOT_SET", "INVALID", "INFINITE"):
        return None
    days, _, clock = text.rpartition("-")
    parts = [float(p) for p in clock.split(":")]
    if len(parts) == 1:  # a bare number is minutes
        parts = [0.0, parts[0], 0.0]
    elif len(parts) == 2:
        parts = [0.0, *parts]
    if len(parts) != 3:
        raise InputError(f"not a SLURM duration: {text!r}")
    h, m, s = parts
    return (float(days) if days else 0.0) * 86400 + h * 3600 + m * 60 + s


def slurm_seconds_left(environ=None, squeue=None):
    """Seconds the current SLURM job has left, or ``None`` outside SLURM or without a limit.

    Uses ``SLURM_JOB_END_TIME`` (SLURM >= 23.02) when set, else asks ``squeue`` for the job's
    remaining time (``%L``).
    """
    env = os.environ if environ is None else environ
    job = env.get("SLURM_JOB_ID")
    if not job:
        return None
    end = env.get("SLURM_JOB_END_TIME")
    if end:
        return float(end) - time.time()
    squeue = squeue or shutil.which("squeue")
    if not squeue:
        return None
    try:
        res = subprocess.run([squeue, "-h", "-j", job, "-o", "%L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if res.returncode != 0 or not res.stdout.strip():
        return None
    return parse_slurm_duration(res.stdout.splitlines()[0])


def deadline(environ=None, margin_s=MARGIN_S):
    """``time.time()`` at which long work should stop, or ``None`` when there is no limit."""
    left = slurm_seconds_left(environ)
    if left is None:
        return None
    return time.time() + left - max(min(margin_s, 0.25 * left), 0.05 * left)


def hours_until(stop):
    """Hours from now until ``stop`` (a :func:`deadline`), at least 1.8 s; for ``mdrun -maxh``."""
    return max(0.0005, (stop - time.time()) / 3600)
