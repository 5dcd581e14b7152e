"""Adapters to the external engines: the only code that starts a subprocess or sees their units.

GROMACS (:mod:`~cgbench.engines.gromacs`), LAMMPS (:mod:`~cgbench.engines.lammps`), VOTCA
(:mod:`~cgbench.engines.votca`) and trajectory files through MDAnalysis
(:mod:`~cgbench.engines.trajectory`). Angstrom, kcal/mol and atm are converted here on read and
on write; everything else in cgbench works in nm, ps, kJ/mol and bar.
"""
