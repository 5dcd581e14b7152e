"""Draw a backmapping test set from a CG trajectory."""

from cgbench.stages.backmap import make_testset
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    make_testset(
        name=snakemake.wildcards.testset,
        source_gro=snakemake.input.gro,
        source_traj=snakemake.input.traj,
        n_frames=snakemake.params.n_frames,
        train_fraction=snakemake.params.train_fraction,
        out=dict(snakemake.output),
    )
