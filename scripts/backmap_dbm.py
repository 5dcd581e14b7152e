"""Backmap a test set with the trained DBM model (raw: the projected variant is made from it)."""

from cgbench.dbm_stage import backmap_files
from cgbench.logs import to_log

with to_log(snakemake.log[0]):
    backmap_files(snakemake.input.model, snakemake.input.cg_gro, snakemake.input.cg_traj, snakemake.params.dbm,
                  "none", snakemake.threads, dict(snakemake.output))
