rule testset:
    input:
        unpack(testset_source),
    output:
        gro="results/testsets/{testset}.gro",
        trr="results/testsets/{testset}.trr",
        json="results/testsets/{testset}.json",
    log:
        "results/logs/testsets/{testset}.log",
    benchmark:
        "results/benchmarks/backmap/testset_{testset}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    # reads only its frames: 209 MB measured at the study's size
    resources:
        mem_mb=STREAMED_MEM_MB,
        runtime=10,
    params:
        n_frames=config["testsets"]["n_frames"],
        train_fraction=config["testsets"]["train_fraction"],
    script:
        "../../scripts/testset.py"


rule backmap_em:
    input:
        cg_gro="results/testsets/{testset}.gro",
        cg_traj="results/testsets/{testset}.trr",
        topology="results/molecule/topology.npz",
        mapping="results/molecule/mapping.json",
        cg_topology="results/molecule/cg_topology.json",
        itp="results/molecule/molecule.itp",
        aa_tpr="results/aa/nvt.tpr",
        aa_trr="results/aa/nvt.trr",
    output:
        gro="results/backmap/em/{testset}.gro",
        trajectory="results/backmap/em/{testset}.trr",
        csv="results/backmap/em/{testset}.csv",
    log:
        "results/logs/backmap/em_{testset}.log",
    benchmark:
        "results/benchmarks/backmap/backmap_em_{testset}.tsv"
    conda:
        "../../envs/gromacs.yaml"
    envmodules:
        config["gromacs"]["module"],
    threads: config["threads"]["md"]
    resources:
        mem_mb=4000,
        runtime=240,
    params:
        settings=em_settings,
        workdir=lambda wildcards: f"results/backmap/work/em_{wildcards.testset}",
    script:
        "../../scripts/backmap_em.py"
