"""Set up the IBI loop (VOTCA csg_inverse + LAMMPS) in its working directory."""

from cgbench.stages.ibi import ibi_setup
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    ibi_setup(
        cg_npz=snakemake.input.cg_npz,
        reference=snakemake.input.reference,
        dbi_tables=snakemake.input.dbi_tables,
        dbi_params=snakemake.input.dbi_params,
        cg_topology=snakemake.input.cg_topology,
        cfg_ibi=snakemake.params.ibi,
        cutoff_nm=snakemake.params.cutoff_nm,
        temperature_K=snakemake.params.temperature_K,
        seed=snakemake.params.seed,
        workdir=snakemake.params.workdir,
        sentinel=snakemake.output.sentinel,
        threads=snakemake.threads,
        cg_gro=snakemake.input.cg_gro,
        cg_traj=snakemake.input.cg_traj,
    )
