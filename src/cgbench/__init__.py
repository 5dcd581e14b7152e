"""cgbench: coarse-grained models of organic molecules, judged at atomistic resolution.

Units inside the package are GROMACS units: nm, ps, kJ/mol, K, bar, amu, e.
Engine adapters convert at their edges.
"""

__version__ = "0.1.0"
