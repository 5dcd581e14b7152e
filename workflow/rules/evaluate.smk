rule evaluate_aa:
    input:
        tpr="results/aa/nvt.tpr",
        trr="results/aa/nvt.trr",
        mdp="results/aa/mdp/nvt.mdp",
        top="results/aa/system.top",
        itp="results/aa/molecule.itp",
        topology="results/molecule/topology.npz",
        mapping="results/molecule/mapping.json",
    output:
        npz="results/evaluate/aa.npz",
    log:
        "results/logs/evaluate/aa.log",
    conda:
        "../../envs/gromacs.yaml"
    envmodules:
        config["gromacs"]["module"],
    threads: config["threads"]["md"]
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        n_molecules=AA["n_molecules"],
        settings=config["evaluate"],
        workdir="results/evaluate/work/aa",
        gmx=config["gromacs"]["executable"],
    script:
        "../../scripts/evaluate_aa.py"


rule evaluate_set:
    input:
        bm_gro="results/backmap/{method}/{testset}.gro",
        bm_traj="results/backmap/{method}/{testset}.trr",
        cg_gro="results/testsets/{testset}.gro",
        cg_traj="results/testsets/{testset}.trr",
        mdp="results/aa/mdp/nvt.mdp",
        top="results/aa/system.top",
        itp="results/aa/molecule.itp",
        topology="results/molecule/topology.npz",
        mapping="results/molecule/mapping.json",
    output:
        npz="results/evaluate/{method}/{testset}.npz",
    log:
        "results/logs/evaluate/{method}_{testset}.log",
    conda:
        "../../envs/gromacs.yaml"
    envmodules:
        config["gromacs"]["module"],
    threads: config["threads"]["md"]
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        n_molecules=AA["n_molecules"],
        settings=config["evaluate"],
        workdir=lambda wildcards: f"results/evaluate/work/{wildcards.method}_{wildcards.testset}",
        gmx=config["gromacs"]["executable"],
    script:
        "../../scripts/evaluate_set.py"


rule cg_model_forces:
    input:
        cg_npz="results/mapping/cg.npz",
        testset_gro="results/testsets/{model}.gro",
        testset_trr="results/testsets/{model}.trr",
        potentials="results/ibi/potentials.csv",
        dbi_tables="results/bonded/dbi_tables.csv",
        dbi_params="results/bonded/dbi_params.json",
        scales="results/bonded/scales.json",
        cg_topology="results/molecule/cg_topology.json",
    output:
        npz="results/evaluate/cgforces/{model}.npz",
    log:
        "results/logs/evaluate/cgforces_{model}.log",
    conda:
        "../../envs/lammps.yaml"
    threads: config["threads"]["cg"]
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        model=lambda wildcards: config["cg_models"][wildcards.model],
        cutoff_nm=config["cg"]["cutoff_nm"],
        workdir=lambda wildcards: f"results/evaluate/work/cgforces_{wildcards.model}",
    script:
        "../../scripts/cg_model_forces.py"


rule summarise:
    input:
        unpack(evaluation_sets),
        unpack(dbm_training_input),
        unpack(cgforce_files),
        aa="results/evaluate/aa.npz",
        mapped="results/mapping/cg.npz",
    output:
        table1="results/evaluate/table1_rmsd.csv",
        table2="results/evaluate/table2_js.csv",
        ranking="results/evaluate/ranking.csv",
        chi2="results/evaluate/chi2.csv",
        figure3=report(
            "results/evaluate/figure3.png",
            caption="../report/figure3.rst",
            category="5. Atomistic evaluation",
        ),
        figure5=report(
            "results/evaluate/figure5.png",
            caption="../report/figure5.rst",
            category="5. Atomistic evaluation",
        ),
        html=report(
            "results/evaluate/summary.html",
            caption="../report/summary.rst",
            category="0. Summary",
        ),
    log:
        "results/logs/evaluate/summarise.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        sets=lambda wildcards: [(m, s) for m in METHODS for s in TESTSETS],
        models=MODELS,
        settings=config["evaluate"],
        seed=config["seed"],
    script:
        "../../scripts/summarise.py"
