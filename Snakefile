# cgbench: coarse-grained models of organic molecules, judged at atomistic resolution.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/molecule.smk"
include: "workflow/rules/aa.smk"
include: "workflow/rules/mapping.smk"
include: "workflow/rules/bonded.smk"
include: "workflow/rules/ibi.smk"
include: "workflow/rules/cg.smk"
include: "workflow/rules/backmap.smk"
include: "workflow/rules/dbm.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/benchmarks.smk"
include: "workflow/rules/stage_times.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
        # the time table reads every other job's benchmark file, so it comes last
        rules.stage_times.output,
