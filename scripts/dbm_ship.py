"""Export a finished DBM training as a shipped model with its measured quality and model card."""

from cgbench.dbm_stage import ship_files
from cgbench.logs import to_log

with to_log(snakemake.log[0]):
    i = snakemake.input
    ship_files(i.model, i.tpr, i.trr, i.topology, i.mapping, i.cg_topology, i.training, i.metrics,
               snakemake.params.backmap, snakemake.params.train_fraction, snakemake.params.n_frames,
               snakemake.threads, snakemake.params.recipe, dict(snakemake.output))
