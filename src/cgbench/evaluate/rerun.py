"""AA forces of given AA frames with the AA force field: ``gmx mdrun -rerun`` (study Section 3.2.2).

The frames (backmapped structures, or reference frames) are written to a ``.trr`` (single
precision, which is what mixed-precision GROMACS computes in; ``.xtc`` would round positions to
1e-3 nm and shift energies and forces), a run input is made with ``grompp`` from the *same mdp as
the AA production run* (PME, cut-offs, dispersion correction: the same physics) with only its
output settings changed so that every frame's forces are written, and ``mdrun -rerun`` computes
forces and energies frame by frame. The pair list is rebuilt for every rerun frame, so the forces
are exact for the force field, without the Verlet-buffer approximation of a dynamic run.

:func:`rerun_mdp` and :func:`write_rerun_frames` are the file edges; :func:`rerun_forces` ties
them together and returns arrays.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cgbench.core.errors import CgbenchError, EngineError
from cgbench.engines.gromacs import Gromacs, read_edr, tail, write_gro

__all__ = ["RERUN_OUTPUT", "rerun_mdp", "write_rerun_frames", "read_rerun_forces", "RerunForces", "rerun_forces"]

#: mdp settings replaced for a rerun: positions and forces of every frame to the .trr, energies of
#: every frame to the .edr, nothing else. Everything else (the physics) stays as in the AA run.
RERUN_OUTPUT = {
    "nstxout": 1,
    "nstvout": 0,
    "nstfout": 1,
    "nstxout-compressed": 0,
    "nstcalcenergy": 1,
    "nstenergy": 1,
    "nstlog": 0,
}


def _key(line):
    body = line.split(";", 1)[0]
    if "=" not in body:
        return None
    return body.split("=", 1)[0].strip().replace("_", "-").lower()


def rerun_mdp(mdp_text, overrides=None):
    """Text of an mdp for ``mdrun -rerun``: ``mdp_text`` with its output settings replaced.

    Lines that set a key of ``overrides`` (default :data:`RERUN_OUTPUT`; GROMACS' ``_``/``-``
    spellings are the same key) are dropped and the overrides appended, since grompp refuses a key
    given twice.

    Parameters
    ----------
    mdp_text : str
        The AA production run's mdp.
    overrides : dict of str -> value, optional

    Returns
    -------
    str
    """
    over = {k.replace("_", "-").lower(): v for k, v in (overrides or RERUN_OUTPUT).items()}
    kept = [ln for ln in mdp_text.splitlines() if _key(ln) not in over]
    added = [f"{k:<24s} = {v}" for k, v in over.items()]
    return "\n".join(kept + ["; cgbench rerun: write every frame's forces and energies", *added]) + "\n"


def write_rerun_frames(gro, trr, positions, box, atom_names, resname):
    """Write AA frames as ``.gro`` (first frame, for grompp) and ``.trr`` (all frames, for the rerun).

    The ``.trr`` is written in nm directly (MDAnalysis' low-level XDR writer, no unit
    conversion): float32 positions go to the file bit for bit, so frames read from a GROMACS
    ``.trr`` as float32 nm are rerun at exactly the positions the engine used. (A round trip
    through Angstrom in float32 moves about one coordinate in five by one unit in the last place,
    which shifts forces on stiff bonds by ~0.1 kJ/mol/nm.)

    Parameters
    ----------
    gro, trr : path
    positions : ndarray, shape (n_frames, n_molecules * n_atoms, 3), nm
    box : ndarray, shape (n_frames, 3) or (3,), nm
    atom_names : sequence of str, length n_atoms
        Names of one molecule's atoms, as in its ``.itp`` (grompp warns on a mismatch).
    resname : str

    Returns
    -------
    int
        Number of frames written.
    """
    from MDAnalysis.lib.formats.libmdaxdr import TRRFile

    x = np.asarray(positions)
    if x.ndim == 2:
        x = x[None]
    n_atoms = len(atom_names)
    if x.ndim != 3 or x.shape[-1] != 3 or x.shape[1] % n_atoms:
        raise CgbenchError(f"positions of shape {x.shape} are not (n_frames, n_molecules * {n_atoms}, 3)")
    b = np.asarray(box, dtype=float)
    b = np.broadcast_to(b, (x.shape[0], 3)) if b.ndim == 1 else b
    if b.shape != (x.shape[0], 3) or np.any(b <= 0):
        raise CgbenchError(f"box must hold positive lengths with shape ({x.shape[0]}, 3), got {b.shape}")
    write_gro(gro, x[0], list(atom_names), resname, b[0], title="cgbench rerun frames",
              nmol=x.shape[1] // n_atoms)
    with TRRFile(str(trr), "w") as fh:
        for k in range(x.shape[0]):
            # step = k: with nstfout = 1 in the rerun mdp every frame's forces are written
            fh.write(x[k].astype(np.float32), None, None, np.diag(b[k]).astype(np.float32), k, float(k), 0.0,
                     x.shape[1])
    return x.shape[0]


def read_rerun_forces(trr):
    """Forces of every frame of a rerun ``.trr``, kJ/mol/nm, (n_frames, n_atoms, 3), read without
    unit conversion (GROMACS writes nm-based units, which are cgbench's)."""
    from MDAnalysis.lib.formats.libmdaxdr import TRRFile

    frames = []
    with TRRFile(str(trr)) as fh:
        for fr in fh:
            if not fr.hasf:
                raise CgbenchError(f"{trr}: frame at step {fr.step} holds no forces")
            frames.append(np.array(fr.f, dtype=float))
    if not frames:
        raise CgbenchError(f"{trr} holds no frame")
    return np.stack(frames)


@dataclass
class RerunForces:
    """What ``mdrun -rerun`` computed for each frame.

    Attributes
    ----------
    forces : ndarray, shape (n_frames, n_atoms, 3), kJ/mol/nm
    potential : ndarray, shape (n_frames,), kJ/mol
    """

    forces: np.ndarray
    potential: np.ndarray


def rerun_forces(positions, box, mdp, top, atom_names, resname, workdir, log=None, threads=1,
                 executable="gmx", allow=()):
    """AA forces and potential energies of given frames with the AA force field (``mdrun -rerun``).

    Parameters
    ----------
    positions : ndarray, shape (n_frames, n_molecules * n_atoms, 3), nm
        AA frames, molecule after molecule, in the order of the system topology.
    box : ndarray, shape (n_frames, 3) or (3,), nm
        Orthorhombic box of each frame; the rerun uses each frame's own box (the PME grid size is
        set by grompp from the first frame's box).
    mdp : path
        The AA production run's mdp (its physics is used; output settings are replaced by
        :data:`RERUN_OUTPUT`).
    top : path
        System topology (``.top``) with ``n_molecules`` molecules.
    atom_names : sequence of str
        One molecule's atom names (:attr:`cgbench.molecule.topology.Topology.atom_names`).
    resname : str
    workdir : path
        Scratch directory (created); holds the rerun's inputs and outputs afterwards.
    log : path, optional
        Engine log (default ``workdir/rerun.log``).
    threads : int
    executable : str
        ``gmx`` or ``gmx_mpi``.
    allow : sequence of str
        grompp warnings to accept, by phrase (see :meth:`cgbench.engines.gromacs.Gromacs.grompp`).

    Returns
    -------
    RerunForces

    Raises
    ------
    EngineError
        When grompp or mdrun fail, or the rerun does not return one force frame per input frame.
    """
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    log = Path(log).resolve() if log is not None else work / "rerun.log"
    (work / "rerun.mdp").write_text(rerun_mdp(Path(mdp).read_text()))
    n_frames = write_rerun_frames(work / "frames.gro", work / "frames.trr", positions, box, atom_names, resname)
    gmx = Gromacs(executable)
    gmx.grompp(work / "rerun.mdp", work / "frames.gro", Path(top).resolve(), "rerun.tpr", work, log, allow=allow)
    gmx.mdrun("rerun.tpr", "rerun", work, log, threads=threads, rerun="frames.trr")
    forces = read_rerun_forces(work / "rerun.trr")
    potential = read_edr(work / "rerun.edr", ["Potential"]).get("Potential")
    if len(forces) != n_frames or potential is None or len(potential) != n_frames:
        raise EngineError([executable, "mdrun", "-rerun", "frames.trr"], work, tail(log),
                          reason=f"returned forces for {len(forces)} of {n_frames} frames")
    return RerunForces(forces, np.asarray(potential, dtype=float))
