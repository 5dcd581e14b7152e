"""LAMMPS table files and bonded parameters, written and read in GROMACS units.

LAMMPS ``real``: Angstrom, fs, kcal/mol, kcal/mol/Angstrom, atm, and degrees wherever an angle is
written in an input (table files, ``improper_coeff``). Everything that enters or leaves this module
through its Python interface is in GROMACS units: nm, ps, kJ/mol, kJ/mol/nm, bar, radians.

Table files (``pair_style table``, ``bond_style table``, ``angle_style table``) follow the LAMMPS
manual and source:

* a section is a keyword line, a parameter line, a blank line and N lines ``index x energy force``;
* pair tables: ``N n R rlo rhi`` (r recomputed by LAMMPS from rlo, rhi on a uniform grid), force
  column :math:`-dE/dr` (not divided by r), rlo > 0, and every pair closer than rlo stops the run;
* bond tables: ``N n EQ r0`` (r0 is what ``fix shake`` holds a constrained bond at), force
  :math:`-dE/dr`, and a bond outside [rlo, rhi] stops the run;
* angle tables: ``N n EQ theta0``, angles in degrees from exactly 0 to exactly 180, force
  :math:`-dE/d\\theta` per **degree** (LAMMPS multiplies the column by 180/pi on reading, see
  ``AngleTable::coeff``).
"""

from pathlib import Path
import re
import warnings

import numpy as np

from ...core.errors import CgbenchError
from .units import angstrom_to_nm, force_gmx_to_real, force_real_to_gmx, kcal_to_kj, kj_to_kcal, nm_to_angstrom

__all__ = ["write_pair_table", "write_bond_table", "write_angle_table", "read_table", "rb_to_multiharmonic", "rb_to_nharmonic", "improper_harmonic_to_lammps"]

# --------------------------------------------------------------------------- table files
_KEYWORD = re.compile(r"^[A-Za-z_][\w.\-]*$")


def _check_section(name, x, U, F):
    if not _KEYWORD.match(name):
        raise CgbenchError(f"table keyword {name!r} must be one word of letters, digits, _ . -")
    x, U, F = (np.asarray(a, dtype=float) for a in (x, U, F))
    if not (x.ndim == 1 and x.shape == U.shape == F.shape and x.size >= 2):
        raise CgbenchError(
            f"table {name}: x, U, F must be 1-D of equal length >= 2, got {x.shape}, {U.shape}, {F.shape}"
        )
    if not (np.isfinite(x).all() and np.isfinite(U).all() and np.isfinite(F).all()):
        raise CgbenchError(f"table {name}: every value must be finite (extrapolate before writing)")
    if np.any(np.diff(x) <= 0):
        raise CgbenchError(f"table {name}: x must be strictly increasing")
    return x, U, F


def _is_uniform(x):
    d = np.diff(x)
    return np.allclose(d, d[0], rtol=1e-9, atol=0.0)


def _format_section(name, header, x, U, F):
    rows = np.column_stack([np.arange(1, x.size + 1), x, U, F])
    body = "\n".join(f"{int(i)} {a:.12e} {e:.12e} {f:.12e}" for i, a, e, f in rows)
    return f"{name}\n{header}\n\n{body}\n\n"


def _write(path, comment, chunks):
    path = Path(path)
    path.write_text(f"# {comment}\n\n" + "".join(chunks))
    return path


def write_pair_table(path, sections):
    """Write a ``pair_style table`` file from GROMACS-unit arrays.

    Parameters
    ----------
    path : str or Path
    sections : mapping of str -> (r, U, F)
        Keyword -> r (n,) nm, strictly increasing, r[0] > 0; U (n,) kJ/mol; F = -dU/dr (n,) kJ/mol/nm.
        A uniform r grid is written with ``R rlo rhi`` so LAMMPS recomputes r exactly.

    Returns
    -------
    Path
    """
    chunks = []
    for name, (r, U, F) in sections.items():
        r, U, F = _check_section(name, r, U, F)
        if r[0] <= 0:
            raise CgbenchError(f"pair table {name}: LAMMPS needs r > 0, first r is {r[0]} nm")
        ra = nm_to_angstrom(r)
        header = f"N {r.size}"
        if _is_uniform(r):
            header += f" R {ra[0]:.12e} {ra[-1]:.12e}"
        chunks.append(_format_section(name, header, ra, kj_to_kcal(U), force_gmx_to_real(F)))
    return _write(
        path, "pair_style table; cgbench; real units: Angstrom, kcal/mol, kcal/mol/Angstrom", chunks
    )


def write_bond_table(path, sections):
    """Write a ``bond_style table`` file from GROMACS-unit arrays.

    Parameters
    ----------
    path : str or Path
    sections : mapping of str -> (r, U, F)
        Keyword -> r (n,) nm, strictly increasing, covering every bond length the run can reach;
        U (n,) kJ/mol; F = -dU/dr (n,) kJ/mol/nm. ``EQ`` is set to the r of lowest U.

    Returns
    -------
    Path
    """
    chunks = []
    for name, (r, U, F) in sections.items():
        r, U, F = _check_section(name, r, U, F)
        if r[0] < 0:
            raise CgbenchError(f"bond table {name}: bond lengths cannot be negative")
        ra = nm_to_angstrom(r)
        header = f"N {r.size} EQ {ra[np.argmin(U)]:.12e}"
        chunks.append(_format_section(name, header, ra, kj_to_kcal(U), force_gmx_to_real(F)))
    return _write(
        path, "bond_style table; cgbench; real units: Angstrom, kcal/mol, kcal/mol/Angstrom", chunks
    )


def write_angle_table(path, sections):
    """Write an ``angle_style table`` file from GROMACS-unit arrays.

    Parameters
    ----------
    path : str or Path
    sections : mapping of str -> (theta, U, F)
        Keyword -> theta (n,) radians from exactly 0 to exactly pi (LAMMPS refuses anything else);
        U (n,) kJ/mol; F = -dU/dtheta (n,) kJ/mol/rad. Written as degrees and kcal/mol/degree.
        ``EQ`` is set to the angle of lowest U.

    Returns
    -------
    Path
    """
    chunks = []
    for name, (theta, U, F) in sections.items():
        theta, U, F = _check_section(name, theta, U, F)
        if abs(theta[0]) > 1e-9 or abs(theta[-1] - np.pi) > 1e-9:
            raise CgbenchError(
                f"angle table {name}: LAMMPS needs angles from 0 to 180 degrees, got "
                f"{np.degrees(theta[0]):.6g} to {np.degrees(theta[-1]):.6g}"
            )
        deg = np.degrees(theta)
        deg[0], deg[-1] = 0.0, 180.0  # LAMMPS checks the ends to 1e-10 degrees
        f_deg = kj_to_kcal(F) * (np.pi / 180.0)
        header = f"N {theta.size} EQ {deg[np.argmin(U)]:.12e}"
        chunks.append(_format_section(name, header, deg, kj_to_kcal(U), f_deg))
    return _write(path, "angle_style table; cgbench; real units: degrees, kcal/mol, kcal/mol/degree", chunks)


def read_table(path, keyword, kind):
    """Read one section of a LAMMPS pair, bond or angle table back into GROMACS units.

    Parameters
    ----------
    path : str or Path
    keyword : str
        Section name.
    kind : {"pair", "bond", "angle"}

    Returns
    -------
    x : ndarray, shape (n,)
        r in nm (pair, bond) or theta in radians (angle). For a pair section with ``R``/``RSQ``
        the values LAMMPS computes from rlo, rhi, not the printed column.
    U : ndarray, shape (n,), kJ/mol
    F : ndarray, shape (n,), kJ/mol/nm or kJ/mol/rad
    """
    if kind not in ("pair", "bond", "angle"):
        raise CgbenchError(f"kind must be 'pair', 'bond' or 'angle', got {kind!r}")
    lines = Path(path).read_text().splitlines()
    i = 0
    while i < len(lines):
        words = lines[i].split()
        if not words or words[0].startswith("#"):
            i += 1
            continue
        try:
            params = lines[i + 1].split()
            n = int(params[params.index("N") + 1])
        except (IndexError, ValueError):
            raise CgbenchError(f"{path}, line {i + 2}: expected a table parameter line 'N n ...'") from None
        if words[0] == keyword:
            break
        i += 3 + n  # skip keyword, parameter, blank line and the n rows of another section
    else:
        raise CgbenchError(f"no section {keyword!r} in {path}")
    rows = [ln for ln in lines[i + 2 :] if ln.strip() and not ln.lstrip().startswith("#")][:n]
    try:
        data = np.array(" ".join(rows).split(), dtype=float).reshape(n, 4)
    except ValueError:
        raise CgbenchError(f"{path}: section {keyword!r} does not hold {n} rows of 4 numbers") from None
    x, U, F = data[:, 1], data[:, 2], data[:, 3]
    if kind == "angle":
        return np.radians(x), kcal_to_kj(U), kcal_to_kj(F) * (180.0 / np.pi)
    if kind == "pair":
        for flag, grid in (
            ("R", lambda lo, hi: np.linspace(lo, hi, n)),
            ("RSQ", lambda lo, hi: np.sqrt(np.linspace(lo * lo, hi * hi, n))),
        ):
            if flag in params:
                k = params.index(flag)
                x = grid(float(params[k + 1]), float(params[k + 2]))
    return angstrom_to_nm(x), kcal_to_kj(U), force_real_to_gmx(F)


# --------------------------------------------------------------------------- bonded parameters
def rb_to_multiharmonic(C, atol=1e-10):
    """GROMACS Ryckaert-Bellemans (dihedral type 3) -> LAMMPS ``dihedral_style multi/harmonic``.

    GROMACS: :math:`\\sum_{n=0}^{5} C_n \\cos^n\\psi`, :math:`\\psi = \\phi - 180^\\circ`.
    LAMMPS: :math:`\\sum_{n=1}^{5} A_n \\cos^{n-1}\\phi`. Both measure phi with trans = 180 degrees,
    and :math:`\\cos\\psi = -\\cos\\phi`, so :math:`A_{n+1} = (-1)^n C_n`. multi/harmonic stops at
    :math:`\\cos^4`: a non-zero C5 needs a dihedral table instead.

    Parameters
    ----------
    C : array_like, shape (5,) or (6,), kJ/mol
        C0..C4 (or C0..C5 with C5 = 0).
    atol : float, kJ/mol
        Largest |C5| taken as zero.

    Returns
    -------
    ndarray, shape (5,), kcal/mol
        A1..A5 for ``dihedral_coeff``.
    """
    C = np.asarray(C, dtype=float).ravel()
    if C.size not in (5, 6):
        raise CgbenchError(f"expected Ryckaert-Bellemans C0..C4 or C0..C5, got {C.size} values")
    if C.size == 6:
        if abs(C[5]) > atol:
            raise CgbenchError(
                f"C5 = {C[5]:.6g} kJ/mol cannot be expressed with dihedral_style multi/harmonic "
                "(it stops at cos^4); refit with C5 = 0 or use dihedral_style table"
            )
        C = C[:5]
    return kj_to_kcal(C * (-1.0) ** np.arange(5))


def rb_to_nharmonic(C):
    """GROMACS Ryckaert-Bellemans (dihedral type 3) -> LAMMPS ``dihedral_style nharmonic``.

    LAMMPS: :math:`\\sum_{n=1}^{N} A_n \\cos^{n-1}\\phi` with any N, so all six RB terms carry over:
    :math:`A_{n+1} = (-1)^n C_n` as for :func:`rb_to_multiharmonic`.

    Parameters
    ----------
    C : array_like, shape (6,), kJ/mol
        C0..C5.

    Returns
    -------
    ndarray, shape (6,), kcal/mol
        A1..A6; ``dihedral_coeff`` takes ``6`` followed by these.
    """
    C = np.asarray(C, dtype=float).ravel()
    if C.size != 6:
        raise CgbenchError(f"expected Ryckaert-Bellemans C0..C5, got {C.size} values")
    return kj_to_kcal(C * (-1.0) ** np.arange(6))


def improper_harmonic_to_lammps(xi0_deg, k, tolerance_deg=1.0):
    """GROMACS improper type 2 -> LAMMPS ``improper_style harmonic`` coefficients.

    GROMACS: :math:`\\tfrac{k}{2}(\\xi - \\xi_0)^2`; LAMMPS: :math:`K(\\chi - \\chi_0)^2`, so
    :math:`K = k/2`, converted to kcal/mol/rad^2 (LAMMPS keeps radians in K but takes chi0 in degrees).

    LAMMPS measures chi = arccos(...) in [0, 180] degrees, the *unsigned* i-j-k-l dihedral, whereas
    GROMACS' xi is signed. The two potentials agree for xi0 = 0 or 180 degrees (planar impropers,
    the usual case); for any other xi0 LAMMPS has a mirror well at -xi0. A warning is issued when
    xi0 is further than ``tolerance_deg`` from 0 and 180.

    Parameters
    ----------
    xi0_deg : float, degrees
    k : float, kJ/mol/rad^2
    tolerance_deg : float, degrees

    Returns
    -------
    K : float, kcal/mol/rad^2
    chi0 : float, degrees in [0, 180]
    """
    if k < 0:
        raise CgbenchError(f"improper force constant must be non-negative, got {k}")
    chi0 = abs((xi0_deg + 180.0) % 360.0 - 180.0)
    if min(chi0, 180.0 - chi0) > tolerance_deg:
        warnings.warn(
            f"improper xi0 = {xi0_deg:.3g} deg: LAMMPS improper_style harmonic uses the unsigned angle, "
            f"so the potential gains a mirror well at {-xi0_deg:.3g} deg",
            stacklevel=2,
        )
    return float(kj_to_kcal(k / 2.0)), float(chi0)
