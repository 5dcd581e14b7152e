"""Rescale the bonded potentials until the CG bonded distributions match the mapped AA ones."""

from cgbench.stages.cg import rescale_bonded
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    rescale_bonded(
        cg_npz=snakemake.input.cg_npz,
        reference=snakemake.input.reference,
        potentials=snakemake.input.potentials,
        dbi_tables=snakemake.input.dbi_tables,
        dbi_params=snakemake.input.dbi_params,
        cg_topology=snakemake.input.cg_topology,
        cfg_rescale=snakemake.params.rescale,
        cfg_ibi=snakemake.params.ibi,
        cutoff_nm=snakemake.params.cutoff_nm,
        temperature_K=snakemake.params.temperature_K,
        seed=snakemake.params.seed,
        bins=snakemake.params.bins,
        workdir=snakemake.params.workdir,
        out=dict(snakemake.output),
        threads=snakemake.threads,
    )
