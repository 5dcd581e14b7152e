"""Collect IBI convergence and the final pair potentials."""

from cgbench.cg_stage import ibi_finish
from cgbench.logs import to_log

with to_log(snakemake.log[0]):
    ibi_finish(snakemake.params.workdir, dict(snakemake.output))
