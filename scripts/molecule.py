"""Build the molecule: 3-D structure, OPLS-AA topology, mapping, CG topology."""

from cgbench.logs import to_log
from cgbench.molecule_stage import prepare, write_outputs

with to_log(snakemake.log[0]):
    prep = prepare(snakemake.input.spec, seed=snakemake.params.seed)
    write_outputs(prep, dict(snakemake.output))
