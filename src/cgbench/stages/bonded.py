"""File-level step of ``bonded.smk``: direct Boltzmann inversion of the bonded CG interactions."""

import json
import logging
from pathlib import Path

import pandas as pd

from ..bonded import dbi

log = logging.getLogger("cgbench")


def dbi_files(reference, temperature_K, out):
    """Invert the reference's bonded distributions; write ``tables`` (csv), ``params`` (json) and ``png``."""
    reference = pd.read_csv(reference)
    tables, params = dbi.invert_all(reference, temperature_K)
    tables.to_csv(out["tables"], index=False)
    Path(out["params"]).write_text(json.dumps(params, indent=1))
    dbi.plot(reference, tables, params, out["png"])
    log.info("fits: %s", json.dumps({k: params[k] for k in ("propers", "impropers")}))
