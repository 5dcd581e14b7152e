"""Collect density, temperature and pressure of every all-atom stage into a table and a plot."""

from cgbench.stages.aa import thermo_outputs
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    thermo_outputs(
        stages=snakemake.params.stages,
        edr=snakemake.input.edr,
        perf=snakemake.input.perf,
        nvt_gro=snakemake.input.nvt_gro,
        topology=snakemake.input.topology,
        n_molecules=snakemake.params.n_molecules,
        out=dict(snakemake.output),
    )
