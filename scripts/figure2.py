"""Figure 2: CG distributions of every model against the mapped AA reference, and their distances."""

from cgbench.cg_stage import figure2_outputs
from cgbench.logs import to_log

with to_log(snakemake.log[0]):
    figure2_outputs(snakemake.input.reference, snakemake.input.distributions, snakemake.params.models,
                    dict(snakemake.output))
