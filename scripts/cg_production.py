"""Production run of one CG model (LAMMPS), written as a GROMACS-format trajectory."""

from cgbench.cg_stage import produce
from cgbench.logs import to_log

with to_log(snakemake.log[0]):
    produce(
        snakemake.wildcards.model, snakemake.params.model, snakemake.input.cg_npz, snakemake.input.potentials,
        snakemake.input.dbi_tables, snakemake.input.dbi_params, snakemake.input.scales, snakemake.input.cg_topology,
        snakemake.params.production, snakemake.params.ibi, snakemake.params.cutoff_nm, snakemake.params.temperature_K,
        snakemake.params.seed, snakemake.params.bins, snakemake.params.workdir, dict(snakemake.output),
        threads=snakemake.threads,
    )
