"""Translate each bead's atoms of a DBM backmap onto its CG bead (the dbm_projected method)."""

from cgbench.stages.dbm import project_files
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    project_files(
        bm_gro=snakemake.input.bm_gro,
        bm_traj=snakemake.input.bm_traj,
        cg_gro=snakemake.input.cg_gro,
        cg_traj=snakemake.input.cg_traj,
        topology=snakemake.input.topology,
        mapping=snakemake.input.mapping,
        out=dict(snakemake.output),
    )
