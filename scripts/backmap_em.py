"""Backmap a test set with the energy-minimisation baseline."""

from cgbench.stages.backmap import backmap_files
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    i = snakemake.input
    backmap_files(
        cg_gro=i.cg_gro,
        cg_traj=i.cg_traj,
        topology=i.topology,
        mapping=i.mapping,
        cg_topology=i.cg_topology,
        itp=i.itp,
        aa_tpr=i.aa_tpr,
        aa_trr=i.aa_trr,
        settings=snakemake.params.settings,
        out=dict(snakemake.output),
        workdir=snakemake.params.workdir,
        log_path=snakemake.log[0],
    )
