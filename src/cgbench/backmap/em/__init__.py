"""EM baseline backmapping (the study's "EM" scheme): fragments from AA data, placed on CG beads,
relaxed by GROMACS steepest descent with the full AA force field.

Modules, in the order the data flows:

- :mod:`~cgbench.backmap.em.fragments`: one reference conformation per bead, from AA frames (the library);
- :mod:`~cgbench.backmap.em.align`: batched weighted Kabsch rotations;
- :mod:`~cgbench.backmap.em.assemble`: fragments placed on every bead of every frame, whole molecules in AA
  topology order;
- :mod:`~cgbench.backmap.em.minimise`: one GROMACS steepest-descent run per frame (optional COM restraints);
- :mod:`~cgbench.backmap.em.backmap`: the pipeline on arrays; its file edge is
  :func:`cgbench.stages.backmap.backmap_files`.
"""

from .align import kabsch
from .assemble import place
from .backmap import backmap_frames
from .fragments import FragmentLibrary, build_library
from .minimise import Minimiser

__all__ = ["kabsch", "place", "backmap_frames", "FragmentLibrary",
           "build_library", "Minimiser"]
