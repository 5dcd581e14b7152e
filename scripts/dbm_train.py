"""Train DBM on the AA/CG pairs of the first part of the AA NVT run (resumes from its last checkpoint)."""

from cgbench.dbm_stage import train_files
from cgbench.logs import to_log

with to_log(snakemake.log[0]):
    i = snakemake.input
    train_files(i.tpr, i.trr, i.topology, i.mapping, i.cg_topology, snakemake.params.dbm,
                snakemake.params.train_fraction, snakemake.threads, snakemake.params.workdir, dict(snakemake.output))
