"""Evaluate the AA reference ensemble (forces recomputed by rerun, RDFs, clashes)."""

from cgbench.evaluate_stage import evaluate_aa
from cgbench.logs import to_log

with to_log(snakemake.log[0]):
    i = snakemake.input
    evaluate_aa(i.tpr, i.trr, i.topology, i.mapping, snakemake.params.n_molecules, i.mdp, i.top,
                snakemake.params.settings, snakemake.params.workdir, dict(snakemake.output),
                threads=snakemake.threads, executable=snakemake.params.gmx)
