rule map_aa:
    input:
        tpr="results/aa/nvt.tpr",
        trr="results/aa/nvt.trr",
        topology="results/molecule/topology.npz",
        mapping="results/molecule/mapping.json",
        cg_topology="results/molecule/cg_topology.json",
    output:
        gro="results/mapping/cg.gro",
        trr="results/mapping/cg.trr",
        npz="results/mapping/cg.npz",
        distributions="results/mapping/reference.csv",
    log:
        "results/logs/mapping/map_aa.log",
    benchmark:
        "results/benchmarks/mapping/map_aa.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    # streams the run in chunks: 974 MB measured at the study's size (211,968 atoms)
    resources:
        mem_mb=STREAMED_MEM_MB,
        runtime=60,
    params:
        n_molecules=AA["n_molecules"],
        bins=config["cg"],
    script:
        "../../scripts/map_aa.py"
