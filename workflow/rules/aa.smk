rule aa_system:
    input:
        gro="results/molecule/molecule.gro",
        itp="results/molecule/molecule.itp",
        summary="results/molecule/summary.json",
    output:
        gro="results/aa/packed.gro",
        top="results/aa/system.top",
        itp="results/aa/molecule.itp",
    log:
        "results/logs/aa/system.log",
    benchmark:
        "results/benchmarks/aa/aa_system.tsv"
    conda:
        "../../envs/gromacs.yaml"
    envmodules:
        config["gromacs"]["module"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        n_molecules=AA["n_molecules"],
        density=AA["pack_density_g_cm3"],
        cutoff_nm=max(AA["cutoff_nm"], config["cg"]["cutoff_nm"]),
        seed=config["seed"],
        gmx=config["gromacs"]["executable"],
    script:
        "../../scripts/aa_system.py"


rule aa_mdp:
    input:
        template=aa_template,
        common="resources/mdp/common.mdp",
    output:
        "results/aa/mdp/{stage}.mdp",
    log:
        "results/logs/aa/mdp_{stage}.log",
    benchmark:
        "results/benchmarks/aa/aa_mdp_{stage}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        values=aa_mdp_values,
    script:
        "../../scripts/aa_mdp.py"


rule aa_equilibrate:
    input:
        mdp="results/aa/mdp/{stage}.mdp",
        gro=aa_start,
        top="results/aa/system.top",
        itp="results/aa/molecule.itp",
    output:
        gro="results/aa/{stage}.gro",
        edr="results/aa/{stage}.edr",
        perf="results/aa/{stage}.perf.json",
    log:
        "results/logs/aa/{stage}.log",
    benchmark:
        "results/benchmarks/aa/aa_equilibrate_{stage}.tsv"
    wildcard_constraints:
        stage="em|compress|anneal|cool|npt",
    retries: aa_retries()
    conda:
        "../../envs/gromacs.yaml"
    envmodules:
        config["gromacs"]["module"],
    threads: config["threads"]["md"]
    resources:
        mem_mb=8000,
        runtime=aa_runtime_min,
    params:
        workdir=lambda wildcards: f"results/aa/work/{wildcards.stage}",
        gmx=config["gromacs"]["executable"],
    script:
        "../../scripts/aa_md.py"


rule aa_nvt:
    input:
        mdp="results/aa/mdp/{stage}.mdp",
        gro=aa_start,
        top="results/aa/system.top",
        itp="results/aa/molecule.itp",
    output:
        gro="results/aa/{stage}.gro",
        edr="results/aa/{stage}.edr",
        trr="results/aa/{stage}.trr",
        tpr="results/aa/{stage}.tpr",
        perf="results/aa/{stage}.perf.json",
    log:
        "results/logs/aa/{stage}.log",
    benchmark:
        "results/benchmarks/aa/aa_nvt_{stage}.tsv"
    wildcard_constraints:
        stage="nvt",
    retries: aa_retries()
    conda:
        "../../envs/gromacs.yaml"
    envmodules:
        config["gromacs"]["module"],
    threads: config["threads"]["md"]
    resources:
        mem_mb=8000,
        runtime=aa_runtime_min,
    params:
        workdir=lambda wildcards: f"results/aa/work/{wildcards.stage}",
        gmx=config["gromacs"]["executable"],
    script:
        "../../scripts/aa_md.py"


rule aa_thermo:
    input:
        edr=expand("results/aa/{stage}.edr", stage=AA_STAGES),
        perf=expand("results/aa/{stage}.perf.json", stage=AA_STAGES),
        nvt_gro="results/aa/nvt.gro",
        topology="results/molecule/topology.npz",
    output:
        csv="results/aa/thermo.csv",
        summary="results/aa/summary.csv",
        png=report(
            "results/aa/thermo.png",
            caption="../report/thermo.rst",
            category="2. All-atom reference",
        ),
    log:
        "results/logs/aa/thermo.log",
    benchmark:
        "results/benchmarks/aa/aa_thermo.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        stages=AA_STAGES,
        n_molecules=AA["n_molecules"],
    script:
        "../../scripts/aa_thermo.py"
