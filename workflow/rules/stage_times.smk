# Where the run's time goes: each job's benchmark file, gathered per stage for the report.
# Its input functions are in benchmarks.smk.


rule stage_times:
    input:
        stage_times_inputs,
    output:
        csv="results/stage_times.csv",
        html=report(
            "results/stage_times.html",
            caption="../report/stage_times.rst",
            category="0. Summary",
        ),
    log:
        "results/logs/stage_times.log",
    benchmark:
        "results/benchmarks/stage_times.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        jobs=benchmark_jobs(),
        directory="results/benchmarks",
    script:
        "../../scripts/stage_times.py"
