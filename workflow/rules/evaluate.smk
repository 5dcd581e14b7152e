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
    benchmark:
        "results/benchmarks/evaluate/evaluate_aa.tsv"
    conda:
        "../../envs/gromacs.yaml"
    envmodules:
        config["gromacs"]["module"],
    threads: config["threads"]["md"]
    resources:
        mem_mb=8000,
        runtime=evaluate_aa_runtime_min,
    params:
        n_molecules=AA["n_molecules"],
        settings=config["evaluate"] | {"temperature_K": AA["temperature_K"]},
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
    benchmark:
        "results/benchmarks/evaluate/evaluate_set_{method}_{testset}.tsv"
    conda:
        "../../envs/gromacs.yaml"
    envmodules:
        config["gromacs"]["module"],
    threads: config["threads"]["md"]
    resources:
        mem_mb=8000,
        runtime=evaluate_set_runtime_min,
    params:
        n_molecules=AA["n_molecules"],
        settings=config["evaluate"] | {"temperature_K": AA["temperature_K"]},
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
    benchmark:
        "results/benchmarks/evaluate/cg_model_forces_{model}.tsv"
    conda:
        "../../envs/lammps.yaml"
    threads: config["threads"]["cg"]
    resources:
        mem_mb=CG_FORCES_MEM_MB,
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
        unpack(testset_frames),
        aa="results/evaluate/aa.npz",
        mapped="results/mapping/cg.npz",
        cg_topology="results/molecule/cg_topology.json",
        ibi_state="results/ibi/convergence.json",
    output:
        table1=report(
            "results/evaluate/table1_rmsd.csv",
            caption="../report/table1.rst",
            category="5. Atomistic evaluation",
        ),
        table1_tex="results/evaluate/table1_rmsd.tex",
        table2=report(
            "results/evaluate/table2_js.csv",
            caption="../report/table2.rst",
            category="5. Atomistic evaluation",
        ),
        table2_tex="results/evaluate/table2_js.tex",
        distances=report(
            "results/evaluate/distances.csv",
            caption="../report/distances.rst",
            category="5. Atomistic evaluation",
        ),
        distances_tex="results/evaluate/distances.tex",
        ranking=report(
            "results/evaluate/ranking.csv",
            caption="../report/ranking.rst",
            category="0. Summary",
        ),
        ranking_tex="results/evaluate/ranking.tex",
        pairs=report(
            "results/evaluate/ranking_pairs.csv",
            caption="../report/ranking_pairs.rst",
            category="0. Summary",
        ),
        pairs_tex="results/evaluate/ranking_pairs.tex",
        block_sensitivity=report(
            "results/evaluate/block_sensitivity.csv",
            caption="../report/block_sensitivity.rst",
            category="5. Atomistic evaluation",
        ),
        block_sensitivity_tex="results/evaluate/block_sensitivity.tex",
        chi2=report(
            "results/evaluate/chi2.csv",
            caption="../report/chi2.rst",
            category="5. Atomistic evaluation",
        ),
        chi2_tex="results/evaluate/chi2.tex",
        figure3=report(
            "results/evaluate/figure3.png",
            caption="../report/figure3.rst",
            category="5. Atomistic evaluation",
        ),
        figure3_svg="results/evaluate/figure3.svg",
        figure5=report(
            "results/evaluate/figure5.png",
            caption="../report/figure5.rst",
            category="5. Atomistic evaluation",
        ),
        figure5_svg="results/evaluate/figure5.svg",
        html=report(
            "results/evaluate/summary.html",
            caption="../report/summary.rst",
            category="0. Summary",
        ),
    log:
        "results/logs/evaluate/summarise.log",
    benchmark:
        "results/benchmarks/evaluate/summarise.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        sets=lambda wildcards: [(m, s) for m in METHODS for s in TESTSETS],
        models=MODELS,
        cg_models=config["cg_models"],
        settings=config["evaluate"] | {"temperature_K": AA["temperature_K"]},
        seed=config["seed"],
    script:
        "../../scripts/summarise.py"
