"""Train DBM on the AA/CG pairs of the first part of the AA NVT run (resumes from its last checkpoint)."""

from cgbench.stages.dbm import train_files
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    i = snakemake.input
    train_files(
        tpr=i.tpr,
        trr=i.trr,
        topology=i.topology,
        mapping=i.mapping,
        cg_topology=i.cg_topology,
        params=snakemake.params.dbm,
        train_fraction=snakemake.params.train_fraction,
        threads=snakemake.threads,
        workdir=snakemake.params.workdir,
        out=dict(snakemake.output),
        backmap=snakemake.params.backmap,
    )
