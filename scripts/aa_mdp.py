"""Write one stage's mdp file from its template."""

from cgbench.core.logs import to_log
from cgbench.stages.aa import mdp_file

with to_log(snakemake.log[0]):
    mdp_file(
        template=snakemake.input.template,
        values=snakemake.params.values,
        common=snakemake.input.common,
        out=snakemake.output[0],
    )
