"""LAMMPS adapter: the one place that knows LAMMPS ``units real``.

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

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cgbench.errors import CgbenchError
from cgbench.units import BAR_TO_ATM, KJ_TO_KCAL, NM_TO_ANGSTROM, PS_TO_FS

__all__ = [
    "nm_to_angstrom",
    "angstrom_to_nm",
    "kj_to_kcal",
    "kcal_to_kj",
    "force_gmx_to_real",
    "force_real_to_gmx",
    "bar_to_atm",
    "atm_to_bar",
    "ps_to_fs",
    "fs_to_ps",
    "write_pair_table",
    "write_bond_table",
    "write_angle_table",
    "read_table",
    "write_data_file",
    "Dump",
    "read_dump",
    "rb_to_multiharmonic",
    "rb_to_nharmonic",
    "improper_harmonic_to_lammps",
]

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


# --------------------------------------------------------------------------- data file
def _topology_block(name, block, width, n_atoms):
    if block is None:
        return None
    types, idx = block
    types = np.asarray(types, dtype=int).ravel()
    idx = np.asarray(idx, dtype=int)
    if idx.ndim != 2 or idx.shape != (types.size, width):
        raise CgbenchError(
            f"{name}: expected types (n,) and indices (n, {width}), got {types.shape} and {idx.shape}"
        )
    if types.size == 0:
        return None
    if types.min() < 1:
        raise CgbenchError(f"{name}: LAMMPS types start at 1")
    if idx.min() < 0 or idx.max() >= n_atoms:
        raise CgbenchError(f"{name}: atom index out of range 0..{n_atoms - 1}")
    return types, idx


def write_data_file(
    path,
    positions_nm,
    box_nm,
    types,
    masses,
    molecule_ids,
    bonds=None,
    angles=None,
    dihedrals=None,
    impropers=None,
    title="cgbench CG system",
):
    """Write a LAMMPS data file for ``atom_style molecular`` (orthorhombic box from the origin).

    Positions are wrapped into the box and their image flags written, so molecules stay whole in
    unwrapped dumps (``xu yu zu``).

    Parameters
    ----------
    path : str or Path
    positions_nm : ndarray, shape (n_atoms, 3), nm
    box_nm : ndarray, shape (3,), nm
        Box lengths; the box spans [0, L) in each direction.
    types : ndarray of int, shape (n_atoms,)
        LAMMPS atom types, 1..n_types.
    masses : ndarray, shape (n_types,), amu
        Mass of type t at ``masses[t - 1]``; its length sets the number of atom types.
    molecule_ids : ndarray of int, shape (n_atoms,)
        Molecule of each atom, >= 1.
    bonds, angles, dihedrals, impropers : (types, indices), optional
        ``types`` (n,) LAMMPS interaction types (>= 1; the largest sets the number of types) and
        ``indices`` (n, 2|3|4) **0-based** rows of ``positions_nm`` (written as ids = index + 1).

    Returns
    -------
    Path
    """
    x = np.asarray(positions_nm, dtype=float)
    n = x.shape[0]
    if x.shape != (n, 3):
        raise CgbenchError(f"positions must have shape (n_atoms, 3), got {x.shape}")
    box = np.asarray(box_nm, dtype=float).ravel()
    if box.shape != (3,) or np.any(box <= 0):
        raise CgbenchError(f"box must be three positive lengths, got {box_nm}")
    types = np.asarray(types, dtype=int).ravel()
    mol = np.asarray(molecule_ids, dtype=int).ravel()
    masses = np.asarray(masses, dtype=float).ravel()
    if types.shape != (n,) or mol.shape != (n,):
        raise CgbenchError("types and molecule_ids need one entry per atom")
    if types.min() < 1 or types.max() > masses.size:
        raise CgbenchError(f"atom types must lie in 1..{masses.size} (one mass per type)")
    blocks = {
        "Bonds": _topology_block("bonds", bonds, 2, n),
        "Angles": _topology_block("angles", angles, 3, n),
        "Dihedrals": _topology_block("dihedrals", dihedrals, 4, n),
        "Impropers": _topology_block("impropers", impropers, 4, n),
    }
    xa = nm_to_angstrom(x)
    La = nm_to_angstrom(box)
    image = np.floor(xa / La).astype(int)
    wrapped = xa - image * La

    out = [f"{title}\n", f"{n} atoms"]
    for name, blk in blocks.items():
        if blk is not None:
            out.append(f"{blk[0].size} {name.lower()}")
    out.append(f"{masses.size} atom types")
    for name, blk in blocks.items():
        if blk is not None:
            out.append(f"{blk[0].max()} {name.lower()[:-1]} types")
    out.append("")
    for k, axis in enumerate("xyz"):
        out.append(f"0.0 {La[k]:.10f} {axis}lo {axis}hi")
    out.append("\nMasses\n")
    out.extend(f"{t} {m:.6f}" for t, m in enumerate(masses, start=1))
    out.append("\nAtoms # molecular\n")
    ids = np.arange(1, n + 1)
    out.extend(
        f"{i} {m} {t} {p[0]:.8f} {p[1]:.8f} {p[2]:.8f} {im[0]} {im[1]} {im[2]}"
        for i, m, t, p, im in zip(ids, mol, types, wrapped, image)
    )
    for name, blk in blocks.items():
        if blk is None:
            continue
        out.append(f"\n{name}\n")
        t, idx = blk
        out.extend(
            f"{k} {tt} " + " ".join(map(str, row + 1)) for k, tt, row in zip(range(1, t.size + 1), t, idx)
        )
    path = Path(path)
    path.write_text("\n".join(out) + "\n")
    return path


# --------------------------------------------------------------------------- dump file
@dataclass
class Dump:
    """Frames of a LAMMPS custom dump in GROMACS units, atoms sorted by id.

    Attributes
    ----------
    timesteps : ndarray of int, shape (n_frames,)
    box : ndarray, shape (n_frames, 3), nm
        Box lengths.
    ids, types, molecule_ids : ndarray of int, shape (n_atoms,)
        ``molecule_ids`` is None when the dump has no ``mol`` column.
    positions : ndarray, shape (n_frames, n_atoms, 3), nm
        From ``x y z``, ``xu yu zu`` or ``xs ys zs`` (first found, in that order).
    forces : ndarray, shape (n_frames, n_atoms, 3), kJ/mol/nm, or None
    """

    timesteps: np.ndarray
    box: np.ndarray
    ids: np.ndarray
    types: np.ndarray
    molecule_ids: np.ndarray | None
    positions: np.ndarray
    forces: np.ndarray | None


def _dump_frames(path):
    """Frames of a LAMMPS dump one at a time: (timestep, box bounds line, bounds (3, 2), columns,
    data (n, n_columns)), reading one frame's lines at a time."""
    with open(path) as fh:
        line = fh.readline()
        while line:
            if not line.startswith("ITEM: TIMESTEP"):
                line = fh.readline()
                continue
            step, n, head, bounds = int(fh.readline()), None, None, None
            while True:
                item = fh.readline()
                if not item:
                    raise CgbenchError(f"{path}: the frame at step {step} ends early")
                if item.startswith("ITEM: NUMBER OF ATOMS"):
                    n = int(fh.readline())
                elif item.startswith("ITEM: BOX BOUNDS"):
                    head = item
                    rows = [fh.readline() for _ in range(3)]
                    if len(item.split()) > 6 or any(len(r.split()) != 2 for r in rows):
                        raise CgbenchError(f"{path}: only orthorhombic boxes are supported")
                    bounds = np.array(" ".join(rows).split(), dtype=float).reshape(3, 2)
                elif item.startswith("ITEM: ATOMS"):
                    if n is None or bounds is None:
                        raise CgbenchError(f"{path}: the frame at step {step} has no atom count or box")
                    cols = item.split()[2:]
                    lines = [fh.readline() for _ in range(n)]
                    data = np.array(" ".join(lines).split(), dtype=float)
                    if data.size != n * len(cols):
                        raise CgbenchError(f"{path}: the frame at step {step} ends early")
                    yield step, head, bounds, cols, data.reshape(n, len(cols))
                    break
            line = fh.readline()


def _positions(path, col, lo, L):
    for names, scaled in ((("x", "y", "z"), False), (("xu", "yu", "zu"), False), (("xs", "ys", "zs"), True)):
        if all(c in col for c in names):
            p = np.stack([col[c] for c in names], axis=1)
            return lo + p * L if scaled else p
    raise CgbenchError(f"{path}: no position columns (x y z, xu yu zu or xs ys zs) in {list(col)}")


def read_dump(path):
    """Read a LAMMPS custom dump (``id type [mol] x y z [fx fy fz]``) into GROMACS units.

    Every frame must hold the same atoms. Rows are sorted by atom id, whatever ``dump_modify sort``.
    The file is read a frame at a time into arrays sized by a first pass that counts the frames,
    so memory holds the result and one frame's text (a whole-file read of the study's force dumps
    would be several GB of text on top).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Dump
    """
    with open(path) as fh:
        n_frames = sum(1 for line in fh if line.startswith("ITEM: TIMESTEP"))
    if not n_frames:
        raise CgbenchError(f"{path} holds no dump frame")
    steps = np.empty(n_frames, dtype=np.int64)
    boxes = np.empty((n_frames, 3))
    pos = frc = ids = types = mol = None
    k = -1
    for k, (step, _head, bounds, cols, data) in enumerate(_dump_frames(path)):
        data = data[np.argsort(data[:, cols.index("id")], kind="stable")]
        col = {c: data[:, j] for j, c in enumerate(cols)}
        lo, L = bounds[:, 0], bounds[:, 1] - bounds[:, 0]
        p = _positions(path, col, lo, L)
        has_f = all(c in col for c in ("fx", "fy", "fz"))
        frame_ids = col["id"].astype(int)
        if k == 0:
            ids = frame_ids
            types = col["type"].astype(int) if "type" in col else None
            mol = col["mol"].astype(int) if "mol" in col else None
            pos = np.empty((n_frames, len(ids), 3))
            frc = np.empty_like(pos) if has_f else None
        elif not np.array_equal(ids, frame_ids):
            raise CgbenchError(f"{path}: frame at step {step} holds different atoms")
        if (frc is not None) != has_f:
            raise CgbenchError(f"{path}: forces are missing from some frames")
        steps[k], boxes[k], pos[k] = step, L, p
        if has_f:
            frc[k] = np.stack([col["fx"], col["fy"], col["fz"]], axis=1)
    if k + 1 != n_frames:
        raise CgbenchError(f"{path}: {n_frames} frames begin but {k + 1} could be read")
    # in place: GROMACS units without a second copy of the arrays
    pos *= angstrom_to_nm(1.0)
    if frc is not None:
        frc *= force_real_to_gmx(1.0)
    return Dump(timesteps=steps, box=angstrom_to_nm(boxes), ids=ids, types=types, molecule_ids=mol,
                positions=pos, forces=frc)


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
