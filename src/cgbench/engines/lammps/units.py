"""LAMMPS ``units real`` and GROMACS units: every conversion between the two, in one place.

LAMMPS ``real``: Angstrom, fs, kcal/mol, kcal/mol/Angstrom, atm, and degrees wherever an angle is
written in an input (table files, ``improper_coeff``). Everything that enters or leaves the
LAMMPS adapter (:mod:`cgbench.engines.lammps`) through its Python interface is in GROMACS units:
nm, ps, kJ/mol, kJ/mol/nm, bar, radians.
"""

import numpy as np

from ...core.units import BAR_TO_ATM, KJ_TO_KCAL, NM_TO_ANGSTROM, PS_TO_FS

__all__ = ["nm_to_angstrom", "angstrom_to_nm", "kj_to_kcal", "kcal_to_kj", "force_gmx_to_real", "force_real_to_gmx", "bar_to_atm", "atm_to_bar", "ps_to_fs", "fs_to_ps"]

# --------------------------------------------------------------------------- unit conversions
_FORCE = KJ_TO_KCAL / NM_TO_ANGSTROM  # (kJ/mol/nm) -> (kcal/mol/Angstrom)


def nm_to_angstrom(x):
    """Length, nm -> Angstrom."""
    return np.asarray(x, dtype=float) * NM_TO_ANGSTROM


def angstrom_to_nm(x):
    """Length, Angstrom -> nm."""
    return np.asarray(x, dtype=float) / NM_TO_ANGSTROM


def kj_to_kcal(e):
    """Energy, kJ/mol -> kcal/mol."""
    return np.asarray(e, dtype=float) * KJ_TO_KCAL


def kcal_to_kj(e):
    """Energy, kcal/mol -> kJ/mol."""
    return np.asarray(e, dtype=float) / KJ_TO_KCAL


def force_gmx_to_real(f):
    """Force, kJ/mol/nm -> kcal/mol/Angstrom."""
    return np.asarray(f, dtype=float) * _FORCE


def force_real_to_gmx(f):
    """Force, kcal/mol/Angstrom -> kJ/mol/nm."""
    return np.asarray(f, dtype=float) / _FORCE


def bar_to_atm(p):
    """Pressure, bar -> atm."""
    return np.asarray(p, dtype=float) * BAR_TO_ATM


def atm_to_bar(p):
    """Pressure, atm -> bar."""
    return np.asarray(p, dtype=float) / BAR_TO_ATM


def ps_to_fs(t):
    """Time, ps -> fs."""
    return np.asarray(t, dtype=float) * PS_TO_FS


def fs_to_ps(t):
    """Time, fs -> ps."""
    return np.asarray(t, dtype=float) / PS_TO_FS
