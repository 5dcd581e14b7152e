"""Steepest-descent relaxation of backmapped frames with GROMACS and the full AA force field.

One frame is one GROMACS system: the whole periodic box of the CG frame, minimised with the same
non-bonded settings as the AA runs (``common.mdp``: PME, cut-offs, dispersion correction).
Energy minimisation cannot be batched over frames the way ``mdrun -rerun`` batches force
evaluations: every frame needs its own run input, so each frame costs one ``grompp`` (about
0.25 s here) and one ``mdrun``. Frames run one after another; each ``mdrun`` uses the threads given.

Optional centre-of-mass restraints
----------------------------------
GROMACS position restraints act on single atoms; restraining every atom of a bead to its placed
position would also hold the fragment's orientation and shape, which the minimisation is meant to
relax. Instead each bead's *centre of mass* is restrained with the pull code: one pull group per
bead (its atoms, from an index file) and one umbrella pull coordinate with an absolute reference
(``pull-coordN-groups = 0 N``, ``geometry = distance``, ``origin`` = the CG bead position,
``init = 0``), i.e. :math:`V = \\tfrac{k}{2} |R_I - r_I|^2` with :math:`R_I` the bead's centre of
mass taken at the minimum image of the origin. Atoms stay free to rotate and deform around it.
grompp warns that an absolute reference is used; that warning is allowed by name
(:data:`ALLOWED_WARNINGS`), since fixing the beads in space is the point. The pull energy is left
out of the reported final energy; the reported maximum force includes the restraint forces (it is
GROMACS' own convergence measure).
"""

from dataclasses import dataclass
import re
from pathlib import Path
import shutil

import numpy as np

from ...engines import mdp as mdp_mod
from ...core.errors import CgbenchError, EngineError
from ...engines.gromacs import Gromacs, read_edr, system_top, tail
from ...core.paths import RESOURCES

__all__ = [
    "ALLOWED_WARNINGS", "TEMPLATE", "mdp_values", "pull_section", "central_atoms", "bead_index", "write_g96",
    "read_g96",
    "parse_em_log", "Minimiser",
]

_MDP_DIR = RESOURCES / "mdp"
#: The mdp template of the minimisation, rendered after ``common.mdp``.
TEMPLATE = _MDP_DIR / "em_backmap.mdp"
COMMON = _MDP_DIR / "common.mdp"

#: grompp warnings accepted by name: COM restraints use the pull code's absolute reference.
ALLOWED_WARNINGS = ("You are using an absolute reference for pulling",)


def mdp_values(settings, pull="pull = no"):
    """Placeholder values of :data:`TEMPLATE` and ``common.mdp``.

    Parameters
    ----------
    settings : dict
        ``cutoff_nm``, ``fourier_spacing_nm``, ``ewald_rtol`` (the AA runs' values), ``nsteps``,
        ``emtol`` (kJ/mol/nm), ``emstep`` (nm).
    pull : str
        The pull section (:func:`pull_section`), or ``"pull = no"``.
    """
    keys = ("cutoff_nm", "fourier_spacing_nm", "ewald_rtol", "nsteps", "emtol", "emstep")
    missing = [k for k in keys if k not in settings]
    if missing:
        raise CgbenchError(f"EM backmapping settings lack {', '.join(missing)}")
    return {**{k: settings[k] for k in keys}, "pull": pull}


def pull_section(origins, k, pbcatoms):
    """mdp lines restraining bead ``g``'s centre of mass (index group ``B<g+1>``) to ``origins[g]``.

    Parameters
    ----------
    origins : ndarray, shape (n_beads_total, 3)
        CG bead positions, nm (any periodic image).
    k : float
        Force constant, kJ/mol/nm^2.
    pbcatoms : ndarray of int, shape (n_beads_total,)
        1-based atom of each bead near its centre; GROMACS takes each group's centre of mass at
        the periodic images nearest this atom, and refuses the default (the middle atom by
        number) when that may be off-centre in a small box.
    """
    origins = np.asarray(origins, dtype=float)
    n = len(origins)
    head = [
        "pull                     = yes",
        f"pull-ngroups             = {n}",
        f"pull-ncoords             = {n}",
        "pull-nstxout             = 0",
        "pull-nstfout             = 0",
    ]
    body = []
    for g, (x, y, z) in enumerate(origins, start=1):
        body += [
            f"pull-group{g}-name = B{g}",
            f"pull-group{g}-pbcatom = {int(pbcatoms[g - 1])}",
            f"pull-coord{g}-groups = 0 {g}",
            f"pull-coord{g}-type = umbrella",
            f"pull-coord{g}-geometry = distance",
            f"pull-coord{g}-dim = Y Y Y",
            f"pull-coord{g}-origin = {x:.6f} {y:.6f} {z:.6f}",
            f"pull-coord{g}-init = 0",
            f"pull-coord{g}-rate = 0",
            f"pull-coord{g}-k = {float(k)!r}",
        ]
    return "\n".join(head + body)


def central_atoms(x, box, origins, bead_of_atom):
    """1-based index of the atom nearest each bead's origin (minimum image).

    Parameters
    ----------
    x : ndarray, shape (n_molecules * n_atoms, 3)
        nm.
    box : ndarray, shape (3,)
        nm.
    origins : ndarray, shape (n_molecules * n_beads, 3)
        nm.
    bead_of_atom : ndarray, shape (n_atoms,)

    Returns
    -------
    ndarray of int, shape (n_molecules * n_beads,)
    """
    bead_of_atom = np.asarray(bead_of_atom, dtype=int)
    n_atoms, n_beads = len(bead_of_atom), int(bead_of_atom.max()) + 1
    n_mol = len(x) // n_atoms
    owner = (np.arange(n_mol)[:, None] * n_beads + bead_of_atom).ravel()  # system bead of each atom
    d = x - origins[owner]
    d -= box * np.round(d / box)
    dist = np.sum(d * d, axis=-1)
    # sort by (bead, distance): the first atom of each bead's run is its nearest
    order = np.lexsort((dist, owner))
    first = np.flatnonzero(np.r_[True, np.diff(owner[order]) != 0])
    return order[first] + 1


def bead_index(bead_of_atom, n_molecules):
    """GROMACS index file text with one group ``B<g>`` per bead of the system (1-based atoms)."""
    bead_of_atom = np.asarray(bead_of_atom, dtype=int)
    n_atoms, n_beads = len(bead_of_atom), int(bead_of_atom.max()) + 1
    atoms_of = [np.flatnonzero(bead_of_atom == b) + 1 for b in range(n_beads)]
    out = []
    for m in range(n_molecules):
        for b in range(n_beads):
            out.append(f"[ B{m * n_beads + b + 1} ]\n" + " ".join(map(str, atoms_of[b] + m * n_atoms)))
    return "\n".join(out) + "\n"


def write_g96(path, x, box, atom_names, resname, title="cgbench EM backmapping"):
    """Write a GROMOS-96 structure (9 decimals of nm: full precision, unlike ``.gro``).

    Parameters
    ----------
    x : ndarray, shape (n_molecules * n_atoms, 3)
        nm.
    box : sequence of 3 floats
        Orthorhombic box edges, nm.
    atom_names : list of str, length n_atoms
        Names of one molecule's atoms.
    """
    x = np.asarray(x, dtype=float)
    n = len(atom_names)
    k = np.arange(len(x))
    # GROMACS reads the coordinates from column 24 on: "%5d %-5s %-5s%7d" before them
    lines = [
        f"{(i // n + 1) % 100000:5d} {resname[:5]:<5s} {atom_names[i % n][:5]:<5s}{(i + 1) % 10000000:7d}"
        f"{a:15.9f}{b:15.9f}{c:15.9f}"
        for i, (a, b, c) in zip(k, x)
    ]
    text = ["TITLE", title, "END", "POSITION", *lines, "END", "BOX",
            "".join(f"{v:15.9f}" for v in box), "END"]
    Path(path).write_text("\n".join(text) + "\n")


def read_g96(path):
    """Positions (n, 3) and box (3,) in nm from a GROMOS-96 file written by GROMACS."""
    block, pos, box = None, [], None
    for line in Path(path).read_text().splitlines():
        if line in ("POSITION", "POSITIONRED", "BOX"):
            block = line
        elif line == "END":
            block = None
        elif block == "POSITION":
            pos.append(line[24:].split()[:3])
        elif block == "POSITIONRED":
            pos.append(line.split()[:3])
        elif block == "BOX":
            box = np.array(line.split()[:3], dtype=float)
    return np.array(pos, dtype=float), box


_SUMMARY = re.compile(
    r"Steepest Descents (converged to Fmax|converged to machine precision|did not converge)"
    r".*? in (\d+) steps", re.DOTALL,
)
_FMAX = re.compile(r"Maximum force\s*=\s*(\S+)")
_EPOT = re.compile(r"Potential Energy\s*=\s*(\S+)")


def parse_em_log(text):
    """Steps, convergence, maximum force (kJ/mol/nm) and potential energy (kJ/mol) of a steep run.

    Raises
    ------
    CgbenchError
        If the log has no steepest-descent summary.
    """
    m = _SUMMARY.search(text)
    f, e = _FMAX.search(text), _EPOT.search(text)
    if m is None or f is None or e is None:
        raise CgbenchError("no steepest-descent summary in the mdrun log")
    return {"steps": int(m.group(2)), "converged": m.group(1) == "converged to Fmax",
            "max_force": float(f.group(1)), "potential": float(e.group(1))}


@dataclass
class EMResult:
    """One minimised frame."""

    positions: np.ndarray  #: (n, 3) nm, as GROMACS wrote them (molecules not necessarily whole)
    energy_initial: float  #: kJ/mol, force-field potential energy of the input structure
    energy_final: float  #: kJ/mol, force-field potential energy of the minimum (restraints left out)
    max_force: float  #: kJ/mol/nm, largest atom force at the end (restraint forces included)
    steps: int  #: steepest-descent steps
    converged: bool  #: whether the largest force fell below emtol


class Minimiser:
    """Minimises frames of ``n_molecules`` copies of one molecule in a working directory.

    Parameters
    ----------
    itp : path
        The molecule's ``.itp`` (the molecule stage's); copied into ``workdir``.
    molecule_name : str
        Its ``[ moleculetype ]`` name.
    atom_names : list of str
        Atom names of one molecule.
    resname : str
    n_molecules : int
    settings : dict
        See :func:`mdp_values`; also ``forcefield`` (include directory, default ``oplsaa.ff``),
        ``executable`` (default ``gmx``), ``threads`` (default 1), ``com_restraints`` (bool) and
        ``com_restraint_k`` (kJ/mol/nm^2).
    workdir : path
        Scratch directory; each frame overwrites the previous frame's files.
    log : path
        Engine output is appended here.
    bead_of_atom : ndarray, shape (n_atoms,), optional
        Needed for COM restraints.
    """

    def __init__(self, itp, molecule_name, atom_names, resname, n_molecules, settings, workdir, log,
                 bead_of_atom=None):
        self.settings = dict(settings)
        self.atom_names, self.resname, self.n_molecules = list(atom_names), resname, int(n_molecules)
        self.work = Path(workdir).resolve()
        self.work.mkdir(parents=True, exist_ok=True)
        self.log = Path(log).resolve()
        shutil.copyfile(itp, self.work / "molecule.itp")
        (self.work / "system.top").write_text(
            system_top("molecule.itp", molecule_name, self.n_molecules, self.settings.get("forcefield", "oplsaa.ff"))
        )
        self.restrain = bool(self.settings.get("com_restraints", False))
        exe = self.settings.get("executable", "gmx")
        if self.restrain:
            if bead_of_atom is None:
                raise CgbenchError("COM restraints need bead_of_atom")
            self.bead_of_atom = np.asarray(bead_of_atom, dtype=int)
            (self.work / "beads.ndx").write_text(bead_index(bead_of_atom, self.n_molecules))
        else:
            self._write_mdp()
        self.gmx = Gromacs(exe)

    def _write_mdp(self, origins=None, pbcatoms=None):
        pull = "pull = no" if origins is None else pull_section(origins, self.settings["com_restraint_k"], pbcatoms)
        text = mdp_mod.render(TEMPLATE, mdp_values(self.settings, pull), COMMON)
        (self.work / "frame.mdp").write_text(text)

    def __call__(self, x, box, origins=None):
        """Minimise one frame.

        Parameters
        ----------
        x : ndarray, shape (n_molecules * n_atoms, 3)
            Start positions, nm.
        box : ndarray, shape (3,)
            nm.
        origins : ndarray, shape (n_molecules * n_beads, 3), optional
            CG bead positions (nm) the bead COMs are restrained to; required with COM restraints.

        Returns
        -------
        EMResult

        Raises
        ------
        EngineError
            grompp or mdrun failed; the message names the command, directory and log tail.
        """
        n_expected = self.n_molecules * len(self.atom_names)
        if len(x) != n_expected:
            raise CgbenchError(f"frame has {len(x)} atoms, expected {n_expected}")
        if self.restrain:
            if origins is None:
                raise CgbenchError("COM restraints are on: give the CG bead positions as origins")
            origins = np.asarray(origins, dtype=float)
            self._write_mdp(origins, central_atoms(x, np.asarray(box, dtype=float), origins, self.bead_of_atom))
        for stale in ("frame.edr", "frame.log", "frame_min.g96"):
            (self.work / stale).unlink(missing_ok=True)
        write_g96(self.work / "frame.g96", x, box, self.atom_names, self.resname)
        self.gmx.grompp("frame.mdp", "frame.g96", "system.top", "frame.tpr", self.work, self.log,
                        allow=ALLOWED_WARNINGS if self.restrain else (),
                        index="beads.ndx" if self.restrain else None)
        self.gmx.mdrun("frame.tpr", "frame", self.work, self.log, threads=self.settings.get("threads", 1),
                       resume=False, extra=["-c", "frame_min.g96"])
        try:
            summary = parse_em_log((self.work / "frame.log").read_text(errors="replace"))
        except CgbenchError as exc:
            raise EngineError([self.gmx.executable, "mdrun", "-deffnm", "frame"], self.work, tail(self.log),
                              reason=str(exc)) from None
        edr = read_edr(self.work / "frame.edr", ["Potential", "COM Pull En."])
        pot = edr["Potential"] - edr.get("COM Pull En.", 0.0)
        pos, _ = read_g96(self.work / "frame_min.g96")
        return EMResult(pos, float(pot[0]), float(pot[-1]), summary["max_force"], summary["steps"],
                        summary["converged"])
