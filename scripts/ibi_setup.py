"""Set up the IBI loop (VOTCA csg_inverse + LAMMPS) in its working directory."""

from cgbench.cg_stage import ibi_setup
from cgbench.logs import to_log

with to_log(snakemake.log[0]):
    ibi_setup(
        snakemake.input.cg_npz, snakemake.input.reference, snakemake.input.dbi_tables, snakemake.input.dbi_params,
        snakemake.input.cg_topology, snakemake.params.ibi, snakemake.params.cutoff_nm,
        snakemake.params.temperature_K, snakemake.params.seed, snakemake.params.workdir,
        snakemake.output.sentinel, threads=snakemake.threads,
    )
