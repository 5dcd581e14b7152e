rule molecule:
    input:
        unpack(molecule_inputs),
    output:
        itp="results/molecule/molecule.itp",
        gro="results/molecule/molecule.gro",
        top="results/molecule/molecule.top",
        topology="results/molecule/topology.npz",
        mapping="results/molecule/mapping.json",
        cg_topology="results/molecule/cg_topology.json",
        votca_mapping="results/molecule/votca_mapping.xml",
        summary="results/molecule/summary.json",
        image=report(
            "results/molecule/molecule.png",
            caption="../report/molecule.rst",
            category="1. Molecule",
        ),
    log:
        "results/logs/molecule.log",
    benchmark:
        "results/benchmarks/molecule/molecule.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        seed=config["seed"],
    script:
        "../../scripts/molecule.py"
