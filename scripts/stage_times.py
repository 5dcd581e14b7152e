"""The time, CPU time and peak memory of every job of the run, by stage, from the benchmark files."""

from cgbench.core.logs import to_log
from cgbench.stages.stage_times import write_stage_times

with to_log(snakemake.log[0]):
    write_stage_times(
        jobs=snakemake.params.jobs,
        out=dict(snakemake.output),
        directory=snakemake.params.directory,
    )
