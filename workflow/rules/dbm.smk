rule dbm_train:
    input:
        unpack(dbm_init_inputs),
        tpr="results/aa/nvt.tpr",
        trr="results/aa/nvt.trr",
        topology="results/molecule/topology.npz",
        mapping="results/molecule/mapping.json",
        cg_topology="results/molecule/cg_topology.json",
    output:
        model="results/dbm/model.ckpt",
        metrics="results/dbm/metrics.csv",
        summary="results/dbm/training.json",
        png=report(
            "results/dbm/training.png",
            caption="../report/dbm_training.rst",
            category="5. Atomistic evaluation",
        ),
    log:
        "results/logs/dbm/train.log",
    benchmark:
        "results/benchmarks/dbm/dbm_train.tsv"
    # resumes from its last checkpoint; each attempt stops before the job's time limit
    retries: RETRIES
    conda:
        "../../envs/torch.yaml"
    threads: config["threads"]["dbm"]
    resources:
        mem_mb=16000,
        runtime=MAX_RUNTIME,
        gpu=1,
    params:
        dbm=config["dbm"]["train"],
        backmap=config["dbm"]["backmap"],
        train_fraction=config["testsets"]["train_fraction"],
        workdir="results/dbm/work",
    script:
        "../../scripts/dbm_train.py"


rule backmap_dbm:
    input:
        model="results/dbm/model.ckpt",
        cg_gro="results/testsets/{testset}.gro",
        cg_traj="results/testsets/{testset}.trr",
    output:
        gro="results/backmap/dbm/{testset}.gro",
        trajectory="results/backmap/dbm/{testset}.trr",
        json="results/backmap/dbm/{testset}.json",
    log:
        "results/logs/backmap/dbm_{testset}.log",
    benchmark:
        "results/benchmarks/dbm/backmap_dbm_{testset}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["threads"]["dbm"]
    resources:
        mem_mb=16000,
        runtime=dbm_backmap_runtime_min,
        gpu=1,
    params:
        dbm=config["dbm"]["backmap"],
    script:
        "../../scripts/backmap_dbm.py"


# dbm_projected: the raw DBM backmap with each bead's atoms translated onto their CG bead. It
# reuses the raw backmap instead of generating a second one (half the DBM backmapping time).
rule project_backmap:
    input:
        bm_gro="results/backmap/dbm/{testset}.gro",
        bm_traj="results/backmap/dbm/{testset}.trr",
        cg_gro="results/testsets/{testset}.gro",
        cg_traj="results/testsets/{testset}.trr",
        topology="results/molecule/topology.npz",
        mapping="results/molecule/mapping.json",
    output:
        gro="results/backmap/dbm_projected/{testset}.gro",
        trajectory="results/backmap/dbm_projected/{testset}.trr",
        json="results/backmap/dbm_projected/{testset}.json",
    log:
        "results/logs/backmap/dbm_projected_{testset}.log",
    benchmark:
        "results/benchmarks/dbm/project_backmap_{testset}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    script:
        "../../scripts/project_backmap.py"


rule dbm_ship:
    input:
        model="results/dbm/model.ckpt",
        training="results/dbm/training.json",
        metrics="results/dbm/metrics.csv",
        tpr="results/aa/nvt.tpr",
        trr="results/aa/nvt.trr",
        topology="results/molecule/topology.npz",
        mapping="results/molecule/mapping.json",
        cg_topology="results/molecule/cg_topology.json",
    output:
        model="results/dbm/shipped/model.pt",
        identity="results/dbm/shipped/model.json",
        quality="results/dbm/shipped/quality.json",
        card="results/dbm/shipped/MODEL.md",
        png="results/dbm/shipped/training.png",
    log:
        "results/logs/dbm/ship.log",
    benchmark:
        "results/benchmarks/dbm/dbm_ship.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["threads"]["dbm"]
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        backmap=config["dbm"]["backmap"],
        train_fraction=config["testsets"]["train_fraction"],
        n_frames=config["testsets"]["n_frames"],
        recipe=dbm_recipe,
    script:
        "../../scripts/dbm_ship.py"
