"""The LAMMPS adapter: the one place that knows LAMMPS ``units real`` and starts ``lmp``.

Everything that enters or leaves through its Python interface is in GROMACS units (nm, ps,
kJ/mol, kJ/mol/nm, K, bar, radians).

- :mod:`~cgbench.engines.lammps.units`: the conversions to and from ``units real``;
- :mod:`~cgbench.engines.lammps.tables`: pair, bond and angle table files; bonded parameters;
- :mod:`~cgbench.engines.lammps.data`: data files, dumps, atom types and exclusions of a CG system;
- :mod:`~cgbench.engines.lammps.inputs`: run settings and the input scripts of CG runs;
- :mod:`~cgbench.engines.lammps.runner`: running ``lmp``; starting configurations;
- :mod:`~cgbench.engines.lammps.forces`: forces of a CG model on given frames (``rerun``).
"""

from .data import *  # noqa: F401,F403
from .data import __all__ as _data
from .forces import *  # noqa: F401,F403
from .forces import __all__ as _forces
from .inputs import *  # noqa: F401,F403
from .inputs import __all__ as _inputs
from .runner import *  # noqa: F401,F403
from .runner import __all__ as _runner
from .tables import *  # noqa: F401,F403
from .tables import __all__ as _tables
from .units import *  # noqa: F401,F403
from .units import __all__ as _units

__all__ = [*_units, *_tables, *_data, *_inputs, *_runner, *_forces]
