"""Backmap a test set with the trained DBM model (raw: the projected variant is made from it)."""

from cgbench.stages.dbm import backmap_files
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    backmap_files(
        model=snakemake.input.model,
        cg_gro=snakemake.input.cg_gro,
        cg_traj=snakemake.input.cg_traj,
        params=snakemake.params.dbm,
        consistency="none",
        threads=snakemake.threads,
        out=dict(snakemake.output),
    )
