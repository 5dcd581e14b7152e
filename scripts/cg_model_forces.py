"""CG forces of one model (LAMMPS) on the mapped AA frames and on its test set, for chi^2."""

from cgbench.evaluate_stage import cg_model_forces
from cgbench.logs import to_log

with to_log(snakemake.log[0]):
    i = snakemake.input
    cg_model_forces(snakemake.wildcards.model, snakemake.params.model, i.cg_npz, i.testset_gro, i.testset_trr,
                    i.potentials, i.dbi_tables, i.dbi_params, i.scales, i.cg_topology, snakemake.params.cutoff_nm,
                    snakemake.params.workdir, dict(snakemake.output), threads=snakemake.threads)
