"""Write one stage's mdp file from its template."""

from pathlib import Path

from cgbench.logs import to_log
from cgbench.mdp import render

with to_log(snakemake.log[0]):
    text = render(snakemake.input.template, snakemake.params.values, common=snakemake.input.common)
    Path(snakemake.output[0]).write_text(text)
