"""Map the AA NVT trajectory (positions and forces) to beads and compute reference distributions."""

from cgbench.core.logs import to_log
from cgbench.stages.mapping import map_files

with to_log(snakemake.log[0]):
    map_files(
        tpr=snakemake.input.tpr,
        trr=snakemake.input.trr,
        topology=snakemake.input.topology,
        mapping=snakemake.input.mapping,
        cg_topology=snakemake.input.cg_topology,
        n_molecules=snakemake.params.n_molecules,
        bins=snakemake.params.bins,
        out=dict(snakemake.output),
    )
