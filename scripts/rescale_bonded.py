"""Rescale the bonded potentials until the CG bonded distributions match the mapped AA ones."""

from cgbench.cg_stage import rescale_bonded
from cgbench.logs import to_log

with to_log(snakemake.log[0]):
    rescale_bonded(
        snakemake.input.cg_npz, snakemake.input.reference, snakemake.input.potentials, snakemake.input.dbi_tables,
        snakemake.input.dbi_params, snakemake.input.cg_topology, snakemake.params.rescale, snakemake.params.ibi,
        snakemake.params.cutoff_nm, snakemake.params.temperature_K, snakemake.params.seed, snakemake.params.bins,
        snakemake.params.workdir, dict(snakemake.output), threads=snakemake.threads,
    )
