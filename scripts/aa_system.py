"""Pack the molecules into a box and write the system topology."""

from cgbench.stages.aa import pack_system
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    pack_system(
        molecule_gro=snakemake.input.gro,
        itp=snakemake.input.itp,
        summary=snakemake.input.summary,
        out_gro=snakemake.output.gro,
        out_top=snakemake.output.top,
        out_itp=snakemake.output.itp,
        n_molecules=snakemake.params.n_molecules,
        density_g_cm3=snakemake.params.density,
        cutoff_nm=snakemake.params.cutoff_nm,
        seed=snakemake.params.seed,
        executable=snakemake.params.gmx,
        log_path=snakemake.log[0],
    )
