"""Backmap a test set with the energy-minimisation baseline."""

from cgbench.em.backmap import backmap_files
from cgbench.logs import to_log

with to_log(snakemake.log[0]):
    i = snakemake.input
    backmap_files(i.cg_gro, i.cg_traj, i.topology, i.mapping, i.cg_topology, i.itp, i.aa_tpr, i.aa_trr,
                  snakemake.params.settings, dict(snakemake.output), snakemake.params.workdir, snakemake.log[0])
