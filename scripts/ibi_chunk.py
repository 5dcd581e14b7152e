"""Run one chunk of IBI iterations; the loop resumes where the last chunk stopped."""

from cgbench.stages.ibi import ibi_chunk
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    ibi_chunk(
        workdir=snakemake.params.workdir,
        n_iterations=snakemake.params.n_iterations,
        sentinel=snakemake.output.sentinel,
        convergence_csv=snakemake.output.convergence,
        pressure_bound_bar=snakemake.params.pressure_bound_bar,
    )
