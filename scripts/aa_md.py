"""Run one all-atom stage (grompp + mdrun, resumable from its checkpoint)."""

import json
from pathlib import Path

from cgbench.stages.aa import run_stage
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    out = dict(snakemake.output)
    perf_path = out.pop("perf")
    perf = run_stage(
        stage=snakemake.wildcards.stage,
        mdp=snakemake.input.mdp,
        gro=snakemake.input.gro,
        top=snakemake.input.top,
        workdir=snakemake.params.workdir,
        outputs=out,
        log_path=snakemake.log[0],
        threads=snakemake.threads,
        executable=snakemake.params.gmx,
        extra_inputs=[snakemake.input.itp],
    )
    perf["threads"] = snakemake.threads
    Path(perf_path).write_text(json.dumps(perf, indent=1))
