"""Translate each bead's atoms of a DBM backmap onto its CG bead (the dbm_projected method)."""

from cgbench.dbm_stage import project_files
from cgbench.logs import to_log

with to_log(snakemake.log[0]):
    project_files(snakemake.input.bm_gro, snakemake.input.bm_traj, snakemake.input.cg_gro, snakemake.input.cg_traj,
                  snakemake.input.topology, snakemake.input.mapping, dict(snakemake.output))
