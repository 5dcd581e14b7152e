"""The bonded part of a CG model as data: tabulated bonds and angles, dihedrals, impropers (GROMACS units).

What a model is, independent of the engine that runs it: :mod:`cgbench.engines.lammps` writes these
terms as LAMMPS styles and tables, :mod:`cgbench.cg.models` builds them from DBI and a config.
"""

from dataclasses import dataclass, field

import numpy as np

from ..molecule.cgtopology import KINDS
from ..core.errors import CgbenchError

__all__ = ["Table", "RyckaertBellemans", "HarmonicImproper", "BondedTerms"]


@dataclass(frozen=True)
class Table:
    """A tabulated bond (x in nm, F in kJ/mol/nm) or angle (x in radians from 0 to pi, F in kJ/mol/rad).

    Attributes
    ----------
    x : ndarray, shape (n,)
    U : ndarray, shape (n,), kJ/mol
    F : ndarray, shape (n,)
        :math:`-dU/dx`.
    """

    x: np.ndarray
    U: np.ndarray
    F: np.ndarray


@dataclass(frozen=True)
class RyckaertBellemans:
    """A proper dihedral, GROMACS type 3, C0..C5 in kJ/mol (written as ``dihedral_style nharmonic``)."""

    C: tuple


@dataclass(frozen=True)
class HarmonicImproper:
    """An improper dihedral, GROMACS type 2: :math:`\\tfrac{k}{2}(\\xi - \\xi_0)^2`.

    Attributes
    ----------
    xi0_deg : float, degrees
    k : float, kJ/mol/rad^2
    """

    xi0_deg: float
    k: float


@dataclass
class BondedTerms:
    """The bonded part of a CG model, per interaction type name (e.g. ``"T-A"``), GROMACS units.

    A kind that is empty is left out of the model altogether (no LAMMPS style, no data-file
    section, no VOTCA exclusions from it): model C is ``BondedTerms(bonds, angles)``.

    Attributes
    ----------
    bonds : dict of str -> Table
    angles : dict of str -> Table
    propers : dict of str -> RyckaertBellemans
        Written as ``dihedral_style nharmonic`` (all six terms).
    impropers : dict of str -> HarmonicImproper
        Written as ``improper_style harmonic``.
    constrain_bonds : bool
        Hold every bond at its table's minimum with SHAKE (model A) instead of the bond potential.
    """

    bonds: dict = field(default_factory=dict)
    angles: dict = field(default_factory=dict)
    propers: dict = field(default_factory=dict)
    impropers: dict = field(default_factory=dict)
    constrain_bonds: bool = False

    def kinds(self):
        """The kinds (of :data:`cgbench.molecule.cgtopology.KINDS`) this model has, in that order."""
        return tuple(k for k in KINDS if getattr(self, k))

    def check(self, top):
        """Raise unless every interaction type of each present kind of ``top`` has a term."""
        expected = {"bonds": Table, "angles": Table, "propers": RyckaertBellemans, "impropers": HarmonicImproper}
        for kind in self.kinds():
            have, need = set(getattr(self, kind)), set(top.interaction_types(kind))
            if have != need:
                raise CgbenchError(
                    f"bonded {kind}: the model has terms for {sorted(have)} but the CG topology "
                    f"{top.name} has types {sorted(need)}"
                )
            for name, term in getattr(self, kind).items():
                if not isinstance(term, expected[kind]):
                    raise CgbenchError(
                        f"bonded {kind} {name}: expected a {expected[kind].__name__}, got {type(term).__name__}"
                    )
        if self.constrain_bonds and not self.bonds:
            raise CgbenchError("constrain_bonds needs bond terms (their table minima are the constraint lengths)")
