"""Collect IBI convergence and the final pair potentials."""

from cgbench.stages.ibi import ibi_finish
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    ibi_finish(
        workdir=snakemake.params.workdir,
        out=dict(snakemake.output),
    )
