"""Read GROMACS' OPLS-AA force field (``oplsaa.ff``) into plain tables.

cgbench writes every bonded parameter explicitly into the molecule's ``.itp`` so that the
topology is self-contained and the same numbers feed the DBM energy prior. This module only
reads: atom types (``ffnonbonded.itp``), bond, angle and dihedral types and ``#define`` macros
(``ffbonded.itp``). Units are the file's own (GROMACS units).
"""

from dataclasses import dataclass, field
from pathlib import Path
import os
import shutil

from ..core.errors import MoleculeError


@dataclass(frozen=True)
class AtomType:
    """One ``[ atomtypes ]`` line of ``ffnonbonded.itp``."""

    name: str  #: e.g. ``opls_145``
    bond_type: str  #: the name bonded types are keyed on, e.g. ``CA``
    element: int  #: atomic number
    mass: float  #: amu
    charge: float  #: e
    sigma: float  #: nm
    epsilon: float  #: kJ/mol


@dataclass
class ForceField:
    """Atom types and bonded types of one GROMACS force field directory."""

    path: Path
    atomtypes: dict = field(default_factory=dict)
    bondtypes: dict = field(default_factory=dict)  #: (bt_i, bt_j) -> (b0 nm, kb kJ/mol/nm^2)
    angletypes: dict = field(default_factory=dict)  #: (i, j, k) -> (theta0 deg, k kJ/mol/rad^2)
    dihedraltypes: dict = field(default_factory=dict)  #: (i, j, k, l) -> (funct, params)
    defines: dict = field(default_factory=dict)  #: macro name -> tuple of floats
    fudge_lj: float = 0.5
    fudge_qq: float = 0.5

    def bond(self, a, b):
        """(b0, kb) for bonded types ``a-b`` or ``None``."""
        return self.bondtypes.get((a, b)) or self.bondtypes.get((b, a))

    def angle(self, a, b, c):
        """(theta0, k) for ``a-b-c`` or ``None``."""
        return self.angletypes.get((a, b, c)) or self.angletypes.get((c, b, a))

    def dihedral(self, a, b, c, d):
        """(funct, params) for a proper dihedral ``a-b-c-d`` or ``None``.

        GROMACS' rule: an exact match wins over any match with wildcards ``X``; among wildcard
        matches, the one with the fewest wildcards wins.
        """
        best, best_wild = None, 5
        for key in ((a, b, c, d), (d, c, b, a)):
            for cand in _wildcard_variants(key):
                hit = self.dihedraltypes.get(cand)
                if hit is not None:
                    nwild = cand.count("X")
                    if nwild < best_wild:
                        best, best_wild = hit, nwild
        return best


def _wildcard_variants(key):
    a, b, c, d = key
    return [(a, b, c, d), ("X", b, c, d), (a, b, c, "X"), ("X", b, c, "X")]


def gromacs_top_dir():
    """The directory GROMACS searches for force fields (``$GMXLIB`` or ``$GMXDATA/top``)."""
    for var in ("GMXLIB", "GMXDATA"):
        val = os.environ.get(var)
        if val:
            cand = Path(val) if var == "GMXLIB" else Path(val) / "top"
            if cand.is_dir():
                return cand
    gmx = shutil.which("gmx") or shutil.which("gmx_mpi")
    candidates = []
    if gmx:
        candidates.append(Path(gmx).resolve().parent.parent / "share" / "gromacs" / "top")
    candidates.append(Path("/usr/share/gromacs/top"))
    for cand in candidates:
        if cand.is_dir():
            return cand
    raise MoleculeError(
        "cannot find GROMACS' force field directory: set GMXLIB or GMXDATA, or install GROMACS"
    )


def resolve_forcefield(name_or_path):
    """Path of a force field directory given as a path or as a name under GROMACS' top dir."""
    path = Path(name_or_path)
    if path.is_dir():
        return path
    cand = gromacs_top_dir() / str(name_or_path)
    if cand.is_dir():
        return cand
    raise MoleculeError(f"force field '{name_or_path}' not found (looked in {cand.parent})")


def read_forcefield(name_or_path="oplsaa.ff"):
    """Parse ``forcefield.itp``, ``ffnonbonded.itp`` and ``ffbonded.itp`` of a force field."""
    path = resolve_forcefield(name_or_path)
    ff = ForceField(path=path)
    for section, fields in _sections(path / "forcefield.itp"):
        if section == "defaults" and fields:
            row = fields[0]
            ff.fudge_lj, ff.fudge_qq = float(row[3]), float(row[4])
    for section, rows in _sections(path / "ffnonbonded.itp"):
        if section != "atomtypes":
            continue
        for row in rows:
            # name [bond_type] at.num mass charge ptype sigma epsilon
            if len(row) == 7:  # no bond_type column: the name is its own bond type
                row = [row[0], row[0], *row[1:]]
            name, btype, elem, mass, charge, _ptype, sigma, eps = row[:8]
            ff.atomtypes[name] = AtomType(
                name, btype, int(elem), float(mass), float(charge), float(sigma), float(eps)
            )
    for section, rows in _sections(path / "ffbonded.itp", ff.defines):
        for row in rows:
            if section == "bondtypes" and row[2] == "1":
                ff.bondtypes[(row[0], row[1])] = (float(row[3]), float(row[4]))
            elif section == "angletypes" and row[3] == "1":
                ff.angletypes[(row[0], row[1], row[2])] = (float(row[4]), float(row[5]))
            elif section == "dihedraltypes" and len(row) >= 6:
                funct = int(row[4])
                ff.dihedraltypes[tuple(row[:4])] = (funct, tuple(float(v) for v in row[5:]))
    return ff


def _sections(path, defines=None):
    """Yield (section, rows) of an .itp file; rows are whitespace-split, comments dropped.

    ``#define NAME values`` lines are collected into ``defines`` when given. No preprocessor
    symbol is set, as in a plain grompp run: ``#ifdef`` branches are skipped, ``#else`` taken.
    """
    section, rows = None, []
    active = [True]  # one entry per open #if block: is this branch read?
    with open(path) as fh:
        for raw in fh:
            line = raw.split(";", 1)[0].strip()
            if not line:
                continue
            if line.startswith("#"):
                parts = line.split()
                if parts[0] in ("#ifdef", "#ifndef"):
                    active.append(active[-1] and parts[0] == "#ifndef")
                    continue
                if parts[0] == "#else":
                    active[-1] = not active[-1] and all(active[:-1])
                    continue
                if parts[0] == "#endif":
                    active.pop()
                    continue
                if not active[-1]:
                    continue
                if parts[0] == "#define" and defines is not None and len(parts) > 2:
                    try:
                        defines[parts[1]] = tuple(float(v) for v in parts[2:])
                    except ValueError:
                        pass
                continue
            if not active[-1]:
                continue
            if line.startswith("["):
                if section is not None:
                    yield section, rows
                section, rows = line.strip("[] ").lower(), []
                continue
            rows.append(line.split())
    if section is not None:
        yield section, rows
