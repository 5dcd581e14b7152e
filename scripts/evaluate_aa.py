"""Evaluate the AA reference ensemble (forces recomputed by rerun, RDFs, clashes)."""

from cgbench.stages.evaluate import evaluate_aa
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    i = snakemake.input
    evaluate_aa(
        tpr=i.tpr,
        trr=i.trr,
        topology=i.topology,
        mapping=i.mapping,
        n_molecules=snakemake.params.n_molecules,
        mdp=i.mdp,
        top=i.top,
        settings=snakemake.params.settings,
        workdir=snakemake.params.workdir,
        out=dict(snakemake.output),
        threads=snakemake.threads,
        executable=snakemake.params.gmx,
    )
