"""Production run of one CG model (LAMMPS), written as a GROMACS-format trajectory."""

from cgbench.stages.cg import produce
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    produce(
        model_name=snakemake.wildcards.model,
        model=snakemake.params.model,
        cg_npz=snakemake.input.cg_npz,
        potentials=snakemake.input.potentials,
        dbi_tables=snakemake.input.dbi_tables,
        dbi_params=snakemake.input.dbi_params,
        scales=snakemake.input.scales,
        cg_topology=snakemake.input.cg_topology,
        cfg_prod=snakemake.params.production,
        cfg_ibi=snakemake.params.ibi,
        cutoff_nm=snakemake.params.cutoff_nm,
        temperature_K=snakemake.params.temperature_K,
        seed=snakemake.params.seed,
        bins=snakemake.params.bins,
        workdir=snakemake.params.workdir,
        out=dict(snakemake.output),
        threads=snakemake.threads,
    )
