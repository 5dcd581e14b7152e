rule ibi_setup:
    input:
        cg_npz="results/mapping/cg.npz",
        # replicas beyond the first start from earlier frames of the mapped AA run
        cg_gro="results/mapping/cg.gro",
        cg_traj="results/mapping/cg.trr",
        reference="results/mapping/reference.csv",
        dbi_tables="results/bonded/dbi_tables.csv",
        dbi_params="results/bonded/dbi_params.json",
        cg_topology="results/molecule/cg_topology.json",
    output:
        sentinel="results/ibi/setup.json",
    log:
        "results/logs/ibi/setup.log",
    benchmark:
        "results/benchmarks/ibi/ibi_setup.tsv"
    conda:
        "../../envs/votca.yaml"
    threads: config["threads"]["cg"]
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        workdir="results/ibi/work",
        ibi=IBI,
        cutoff_nm=config["cg"]["cutoff_nm"],
        temperature_K=AA["temperature_K"],
        seed=config["seed"],
    script:
        "../../scripts/ibi_setup.py"


rule ibi_chunk:
    input:
        previous=ibi_previous,
    output:
        sentinel="results/ibi/chunk_{chunk}.json",
        convergence="results/ibi/chunk_{chunk}.csv",
    log:
        "results/logs/ibi/chunk_{chunk}.log",
    benchmark:
        "results/benchmarks/ibi/ibi_chunk_{chunk}.tsv"
    wildcard_constraints:
        chunk=r"\d{3}",
    retries: RETRIES
    group:
        ibi_group
    conda:
        "../../envs/votca.yaml"
    threads: config["threads"]["cg"] * IBI["replicas"]
    # 213 MB (python) + 107 MB (csg_stat) measured for the study's 21,504 beads
    resources:
        mem_mb=STREAMED_MEM_MB,
        runtime=ibi_runtime_min,
    params:
        workdir="results/ibi/work",
        n_iterations=ibi_chunk_size,
        pressure_bound_bar=IBI["pressure_bound_bar"],
    script:
        "../../scripts/ibi_chunk.py"


rule ibi_finish:
    input:
        last=f"results/ibi/chunk_{N_CHUNKS:03d}.json",
    output:
        convergence="results/ibi/convergence.csv",
        state="results/ibi/convergence.json",
        potentials="results/ibi/potentials.csv",
        png=report(
            "results/ibi/convergence.png",
            caption="../report/ibi.rst",
            category="3. Coarse-grained parameterisation",
        ),
    log:
        "results/logs/ibi/finish.log",
    benchmark:
        "results/benchmarks/ibi/ibi_finish.tsv"
    conda:
        "../../envs/votca.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        workdir="results/ibi/work",
    script:
        "../../scripts/ibi_finish.py"
