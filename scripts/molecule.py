"""Build the molecule: 3-D structure, OPLS-AA topology, mapping, CG topology."""

from cgbench.core.logs import to_log
from cgbench.stages.molecule import prepare, write_outputs

with to_log(snakemake.log[0]):
    prep = prepare(
        spec_path=snakemake.input.spec,
        seed=snakemake.params.seed,
    )
    write_outputs(
        prep=prep,
        out=dict(snakemake.output),
    )
