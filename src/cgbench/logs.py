"""Send a workflow script's output to its Snakemake log, so tracebacks and progress land there."""

from contextlib import contextmanager
import logging
from pathlib import Path
import sys


@contextmanager
def to_log(path, resuming=False):
    """Redirect stdout, stderr and the ``cgbench`` logger to ``path`` for the block.

    The file is opened in append mode so that engine output appended by subprocesses between
    Python's own writes is never overwritten. Work that starts afresh starts the file afresh;
    work that ``resuming`` from a checkpoint of an earlier job appends to it, so the log of a
    stage that spans several jobs tells the whole story.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not resuming:
        path.write_text("")
    else:
        with open(path, "a") as fh:
            fh.write("\n=== resumed from a checkpoint ===\n")
    old = sys.stdout, sys.stderr
    with open(path, "a", buffering=1) as fh:
        sys.stdout = sys.stderr = fh
        handler = logging.StreamHandler(fh)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        logger = logging.getLogger("cgbench")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            yield fh
        except BaseException:
            logging.getLogger("cgbench").exception("failed")
            raise
        finally:
            logger.removeHandler(handler)
            sys.stdout, sys.stderr = old


def tail(path, n=25):
    """Last ``n`` lines of a text file ('' if it cannot be read): what an engine error quotes."""
    try:
        with open(path, errors="replace") as fh:
            return "".join(fh.readlines()[-n:])
    except OSError:
        return ""
