"""Draw a backmapping test set from a CG trajectory."""

from cgbench.evaluate_stage import make_testset
from cgbench.logs import to_log

with to_log(snakemake.log[0]):
    make_testset(snakemake.wildcards.testset, snakemake.input.gro, snakemake.input.traj, snakemake.params.n_frames,
                 snakemake.params.train_fraction, dict(snakemake.output))
