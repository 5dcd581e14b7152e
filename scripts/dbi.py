"""Direct Boltzmann inversion of the bonded CG interactions."""

from cgbench.core.logs import to_log
from cgbench.stages.bonded import dbi_files

with to_log(snakemake.log[0]):
    dbi_files(
        reference=snakemake.input.reference,
        temperature_K=snakemake.params.temperature_K,
        out=dict(snakemake.output),
    )
