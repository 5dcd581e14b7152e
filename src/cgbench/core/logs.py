"""Send a workflow script's output to its Snakemake log, so tracebacks and progress land there."""

from contextlib import contextmanager
import logging
from pathlib import Path
import sys


@contextmanager
def to_log(path):
    """Redirect stdout, stderr and the ``cgbench`` logger to ``path`` for the block.

    The file is opened in append mode so that engine output appended by subprocesses between
    Python's own writes is never overwritten.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
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
