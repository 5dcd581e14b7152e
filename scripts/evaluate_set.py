"""Evaluate one backmapped test set (forces by rerun, RDFs, clashes, re-projection RMSD)."""

from cgbench.stages.evaluate import evaluate_set
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    i = snakemake.input
    evaluate_set(
        bm_gro=i.bm_gro,
        bm_traj=i.bm_traj,
        cg_gro=i.cg_gro,
        cg_traj=i.cg_traj,
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
