"""Direct Boltzmann inversion of the bonded CG interactions."""

import json
import logging
from pathlib import Path

import pandas as pd

from cgbench import dbi
from cgbench.logs import to_log

with to_log(snakemake.log[0]):
    reference = pd.read_csv(snakemake.input.reference)
    tables, params = dbi.invert_all(reference, snakemake.params.temperature_K)
    tables.to_csv(snakemake.output.tables, index=False)
    Path(snakemake.output.params).write_text(json.dumps(params, indent=1))
    dbi.plot(reference, tables, params, snakemake.output.png)
    logging.getLogger("cgbench").info("fits: %s", json.dumps({k: params[k] for k in ("propers", "impropers")}))
