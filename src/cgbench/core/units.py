"""Physical constants and unit conversions. cgbench works in GROMACS units (nm, ps, kJ/mol, K, bar)."""

#: Boltzmann constant in kJ/(mol K) (GROMACS' value).
KB_KJ_MOL_K = 0.0083144626
#: Avogadro's number, 1/mol.
AVOGADRO = 6.02214076e23
#: amu/nm^3 -> g/cm^3.
AMU_PER_NM3_TO_G_PER_CM3 = 1.66053906660e-24 / 1e-21

# LAMMPS `units real` <-> GROMACS. Only engine adapters use these.
NM_TO_ANGSTROM = 10.0
KJ_TO_KCAL = 1.0 / 4.184
BAR_TO_ATM = 1.0 / 1.01325
PS_TO_FS = 1000.0


def kT(temperature_K):
    """Thermal energy in kJ/mol at ``temperature_K``."""
    return KB_KJ_MOL_K * temperature_K
