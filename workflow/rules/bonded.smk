rule dbi:
    input:
        reference="results/mapping/reference.csv",
    output:
        tables="results/bonded/dbi_tables.csv",
        params="results/bonded/dbi_params.json",
        png=report(
            "results/bonded/dbi.png",
            caption="../report/dbi.rst",
            category="3. Coarse-grained parameterisation",
        ),
    log:
        "results/logs/bonded/dbi.log",
    benchmark:
        "results/benchmarks/bonded/dbi.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        temperature_K=AA["temperature_K"],
    script:
        "../../scripts/dbi.py"
