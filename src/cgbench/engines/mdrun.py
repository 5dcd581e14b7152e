"""Run one all-atom stage with GROMACS so that a killed run resumes where it stopped.

Each stage works in its own directory (never a Snakemake output, so Snakemake does not delete it
when a job fails). mdrun continues from that directory's checkpoint when the run inputs are the
same as last time; changed inputs start the stage afresh. Finished files are copied to the
declared outputs at the end.
"""

import hashlib
import logging
from pathlib import Path
import shutil
import time

import numpy as np

from ..core.errors import EngineError
from .gromacs import Gromacs, read_gro_box, stopped_at_maxh, tail
from ..core.walltime import TimeLimitReached, deadline, hours_until

log = logging.getLogger("cgbench")

#: grompp warnings that are accepted by name: the study prescribes the Berendsen barostat for
#: its anneal and cooling stages, which GROMACS 2022 warns about.
ALLOWED_WARNINGS = ("The Berendsen barostat does not generate any strictly correct ensemble",)


def _fingerprint(paths):
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()


def run_stage(stage, mdp, gro, top, workdir, outputs, log_path, threads=1, executable="gmx", extra_inputs=(),
              stop_at=None):
    """grompp + mdrun of ``stage`` in ``workdir``, then copy results to ``outputs``.

    Inside a batch job mdrun stops itself shortly before the job's time limit (``stop_at``, a
    ``time.time()``; by default :func:`cgbench.core.walltime.deadline`), and :class:`TimeLimitReached`
    is raised: the next attempt resumes from the checkpoint, so a stage may span several jobs.

    Parameters
    ----------
    outputs : dict
        Suffix (``gro``, ``edr``, ``trr``, ``tpr``, ``log``) -> destination path.

    Returns
    -------
    dict
        ``wall_s`` and GROMACS' own ``ns_per_day`` (``None`` for minimisation).
    """
    gmx = Gromacs(executable)
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    mdp, gro, top = (Path(p).resolve() for p in (mdp, gro, top))
    stamp = work / "inputs.sha256"
    fp = _fingerprint([mdp, gro, top, *extra_inputs])
    if stamp.exists() and stamp.read_text() != fp:
        log.info("%s: run inputs changed since the last attempt; starting afresh", stage)
        shutil.rmtree(work)
        work.mkdir(parents=True)
    stamp.write_text(fp)
    resumed = (work / f"{stage}.cpt").exists()
    log.info("%s: %s in %s with %d thread(s)", stage, "resuming from checkpoint" if resumed else "starting", work, threads)
    t0 = time.perf_counter()
    gmx.grompp(mdp, gro, top, f"{stage}.tpr", work, log_path, allow=ALLOWED_WARNINGS)
    stop_at = deadline() if stop_at is None else stop_at
    maxh = None if stop_at is None else hours_until(stop_at)
    gmx.mdrun(f"{stage}.tpr", stage, work, log_path, threads=threads, maxh=maxh)
    wall = time.perf_counter() - t0
    if maxh is not None and stopped_at_maxh(log_path):
        raise TimeLimitReached(
            f"{stage}: mdrun stopped at the job's time limit ({maxh:.2f} h) after {wall:.0f} s; its checkpoint "
            f"in {work} is kept and the next attempt resumes from it"
        )
    check_box(stage, gro, work / f"{stage}.gro", log_path)
    for suffix, dest in outputs.items():
        shutil.copyfile(work / f"{stage}.{suffix}", dest)
    perf = ns_per_day(work / f"{stage}.log")
    log.info("%s: done in %.1f s%s", stage, wall, f" ({perf:.1f} ns/day)" if perf else "")
    return {"wall_s": wall, "ns_per_day": perf, "resumed": resumed}


#: A stage whose box volume grows by more than this factor has blown up.
MAX_VOLUME_GROWTH = 1.5


def check_box(stage, start_gro, end_gro, log_path):
    """Raise if the box grew beyond :data:`MAX_VOLUME_GROWTH` during ``stage`` (mdrun can finish
    a run whose barostat blew the box up without any error)."""
    v0, v1 = (float(np.prod(read_gro_box(p))) for p in (start_gro, end_gro))
    if v1 > MAX_VOLUME_GROWTH * v0:
        raise EngineError(
            ["gmx", "mdrun", "-deffnm", stage], Path(end_gro).parent, tail(log_path),
            reason=(f"blew up: the box volume grew from {v0:.1f} to {v1:.1f} nm^3 "
                    f"(more than {MAX_VOLUME_GROWTH}x) during stage '{stage}'"),
        )


def ns_per_day(md_log):
    """GROMACS' reported performance (ns/day) from an md.log, or ``None``."""
    try:
        for line in Path(md_log).read_text(errors="replace").splitlines():
            if line.startswith("Performance:"):
                return float(line.split()[1])
    except OSError:
        pass
    return None
