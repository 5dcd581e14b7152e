"""CG forces of one model (LAMMPS) on the mapped AA frames and on its test set, for chi^2."""

from cgbench.stages.evaluate import cg_model_forces
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    i = snakemake.input
    cg_model_forces(
        model=snakemake.wildcards.model,
        model_spec=snakemake.params.model,
        cg_npz=i.cg_npz,
        testset_gro=i.testset_gro,
        testset_trr=i.testset_trr,
        potentials=i.potentials,
        dbi_tables=i.dbi_tables,
        dbi_params=i.dbi_params,
        scales=i.scales,
        cg_topology=i.cg_topology,
        cutoff_nm=snakemake.params.cutoff_nm,
        workdir=snakemake.params.workdir,
        out=dict(snakemake.output),
        threads=snakemake.threads,
    )
