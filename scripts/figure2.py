"""Figure 2: CG distributions of every model against the mapped AA reference, and their distances."""

from cgbench.stages.cg import figure2_outputs
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    figure2_outputs(
        reference=snakemake.input.reference,
        distributions=snakemake.input.distributions,
        models=snakemake.params.models,
        out=dict(snakemake.output),
    )
