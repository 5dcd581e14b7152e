rule rescale_bonded:
    input:
        cg_npz="results/mapping/cg.npz",
        reference="results/mapping/reference.csv",
        potentials="results/ibi/potentials.csv",
        dbi_tables="results/bonded/dbi_tables.csv",
        dbi_params="results/bonded/dbi_params.json",
        cg_topology="results/molecule/cg_topology.json",
    output:
        scales="results/bonded/scales.json",
        log_csv="results/bonded/rescale.csv",
    log:
        "results/logs/bonded/rescale.log",
    benchmark:
        "results/benchmarks/cg/rescale_bonded.tsv"
    conda:
        "../../envs/lammps.yaml"
    threads: config["threads"]["cg"]
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        workdir="results/bonded/work",
        rescale=config["rescale"],
        ibi=IBI,
        cutoff_nm=config["cg"]["cutoff_nm"],
        temperature_K=AA["temperature_K"],
        seed=config["seed"],
        bins=config["cg"],
    script:
        "../../scripts/rescale_bonded.py"


rule cg_production:
    input:
        cg_npz="results/mapping/cg.npz",
        potentials="results/ibi/potentials.csv",
        dbi_tables="results/bonded/dbi_tables.csv",
        dbi_params="results/bonded/dbi_params.json",
        scales="results/bonded/scales.json",
        cg_topology="results/molecule/cg_topology.json",
    output:
        gro="results/cg/{model}/traj.gro",
        xtc="results/cg/{model}/traj.xtc",
        distributions="results/cg/{model}/distributions.csv",
        summary="results/cg/{model}/summary.json",
    log:
        "results/logs/cg/{model}.log",
    benchmark:
        "results/benchmarks/cg/cg_production_{model}.tsv"
    conda:
        "../../envs/lammps.yaml"
    threads: config["threads"]["cg"]
    resources:
        mem_mb=4000,
        runtime=cg_runtime_min,
    params:
        model=cg_model,
        workdir=lambda wildcards: f"results/cg/work/{wildcards.model}",
        production=config["cg_production"],
        ibi=IBI,
        cutoff_nm=config["cg"]["cutoff_nm"],
        temperature_K=AA["temperature_K"],
        seed=config["seed"],
        bins=config["cg"],
    script:
        "../../scripts/cg_production.py"


rule figure2:
    input:
        reference="results/mapping/reference.csv",
        distributions=figure2_inputs,
    output:
        png=report(
            "results/cg/figure2.png",
            caption="../report/figure2.rst",
            category="4. CG models",
        ),
        distances="results/cg/distances.csv",
    log:
        "results/logs/cg/figure2.log",
    benchmark:
        "results/benchmarks/cg/figure2.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        models=MODELS,
    script:
        "../../scripts/figure2.py"
