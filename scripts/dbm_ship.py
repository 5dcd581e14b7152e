"""Export a finished DBM training as a shipped model with its measured quality and model card."""

from cgbench.stages.dbm import ship_files
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    i = snakemake.input
    ship_files(
        model=i.model,
        tpr=i.tpr,
        trr=i.trr,
        topology=i.topology,
        mapping=i.mapping,
        cg_topology=i.cg_topology,
        training=i.training,
        metrics=i.metrics,
        backmap_params=snakemake.params.backmap,
        train_fraction=snakemake.params.train_fraction,
        n_frames=snakemake.params.n_frames,
        threads=snakemake.threads,
        recipe=snakemake.params.recipe,
        out=dict(snakemake.output),
    )
