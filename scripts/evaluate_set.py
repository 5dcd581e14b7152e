"""Evaluate one backmapped test set (forces by rerun, RDFs, clashes, re-projection RMSD)."""

from cgbench.evaluate_stage import evaluate_set
from cgbench.logs import to_log

with to_log(snakemake.log[0]):
    i = snakemake.input
    evaluate_set(i.bm_gro, i.bm_traj, i.cg_gro, i.cg_traj, i.topology, i.mapping, snakemake.params.n_molecules,
                 i.mdp, i.top, snakemake.params.settings, snakemake.params.workdir, dict(snakemake.output),
                 threads=snakemake.threads, executable=snakemake.params.gmx)
