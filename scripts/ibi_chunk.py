"""Run one chunk of IBI iterations; the loop resumes where the last chunk stopped."""

from cgbench.cg_stage import ibi_chunk
from cgbench.logs import to_log

with to_log(snakemake.log[0]):
    ibi_chunk(snakemake.params.workdir, snakemake.params.n_iterations, snakemake.output.sentinel,
              snakemake.output.convergence, snakemake.params.pressure_bound_bar)
