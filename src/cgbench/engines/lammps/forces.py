"""CG forces of a CG model on given bead configurations, evaluated by LAMMPS (for Eqs. 7-8).

One LAMMPS process per call: the frames are written as a LAMMPS dump, and the ``rerun`` command
reads them one at a time, rebuilds the neighbour list and computes the forces of the model on
each (no time integration), which a second dump writes out. The model is described exactly as
for a CG run by :mod:`cgbench.engines.lammps`:

* ``top`` (:class:`cgbench.molecule.cgtopology.CGTopology`) and ``terms``
  (:class:`cgbench.bonded.terms.BondedTerms`) give the data file
  (:func:`cgbench.engines.lammps.write_system`), the bonded tables
  (:func:`cgbench.engines.lammps.write_bonded_tables`), the bonded styles
  (:func:`cgbench.engines.lammps.bonded_commands`) and the non-bonded exclusions
  (:func:`cgbench.engines.lammps.special_bonds_weights`);
* ``pair_tables`` maps each pair of bead types to ``(table file, keyword)``, the argument
  :func:`cgbench.engines.lammps.nvt_input` takes (e.g. the IBI result), with ``cutoff_nm`` and
  ``table_n`` as there.

A model with constrained bonds (``terms.constrain_bonds``, model A) has no bond potential: SHAKE
holds the bonds in its runs and LAMMPS switches the bond interaction off for them. Here the bonds
are kept for the topology (and so for the non-bonded exclusions) with ``bond_style zero``: the
forces are those of the model's potential, without constraint forces, which depend on the
dynamics and not on the configuration alone.

All inputs and outputs are GROMACS units; conversion happens in :mod:`cgbench.engines.lammps.units`.
"""

from pathlib import Path

import numpy as np

from ...core.errors import CgbenchError, EngineError
from ...core.logs import tail
from .data import read_dump, special_bonds_weights, system_arrays, write_system
from .inputs import bonded_commands, pair_coeff_commands, write_bonded_tables
from .runner import run_lammps
from .units import nm_to_angstrom

__all__ = ["write_frames_dump", "force_input", "cg_forces"]

DATA_FILE = "system.data"
FRAMES_DUMP = "frames.dump"
FORCES_DUMP = "forces.dump"
INPUT_FILE = "forces.in"
LOG_FILE = "forces.log"


def write_frames_dump(path, positions, box, types):
    """Write bead frames as a LAMMPS custom dump (``id type x y z``, timesteps 0, 1, ...).

    Positions are wrapped into [0, L) (LAMMPS reads them as wrapped coordinates; bonded terms
    use the closest image, so molecules need not be whole).

    Parameters
    ----------
    path : str or Path
    positions : ndarray, shape (n_frames, n_beads, 3), nm
    box : ndarray, shape (n_frames, 3) or (3,), nm
        Orthorhombic box lengths; the box spans [0, L).
    types : ndarray of int, shape (n_beads,)
        LAMMPS atom types.

    Returns
    -------
    Path
    """
    x = np.asarray(positions, dtype=float)
    if x.ndim == 2:
        x = x[None]
    b = np.asarray(box, dtype=float)
    b = np.broadcast_to(b, (x.shape[0], 3)) if b.ndim == 1 else b
    types = np.asarray(types, dtype=int)
    if x.ndim != 3 or x.shape[-1] != 3 or b.shape != (x.shape[0], 3) or types.shape != (x.shape[1],):
        raise CgbenchError(f"inconsistent shapes: positions {x.shape}, box {b.shape}, types {types.shape}")
    if np.any(b <= 0):
        raise CgbenchError("box lengths must be positive")
    xa = nm_to_angstrom(x)
    La = nm_to_angstrom(b)
    ids = np.arange(1, x.shape[1] + 1)
    path = Path(path)
    with open(path, "w") as fh:
        for k in range(x.shape[0]):
            w = np.mod(xa[k], La[k])
            w[w >= La[k]] = 0.0
            fh.write(f"ITEM: TIMESTEP\n{k}\nITEM: NUMBER OF ATOMS\n{x.shape[1]}\nITEM: BOX BOUNDS pp pp pp\n")
            fh.write("".join(f"0.0 {L:.10f}\n" for L in La[k]))
            fh.write("ITEM: ATOMS id type x y z\n")
            np.savetxt(fh, np.column_stack([ids, types, w]), fmt=["%d", "%d", "%.10f", "%.10f", "%.10f"])
    return path


def _bonded(top, terms):
    text = bonded_commands(top, terms)
    if not terms.constrain_bonds:
        return text
    # constrained bonds carry no potential (see the module docstring); keep them as topology
    kept = [ln for ln in text.splitlines() if not ln.startswith(("bond_style", "bond_coeff"))]
    return "\n".join(["bond_style      zero", "bond_coeff      *", *kept])


def force_input(top, terms, pair_tables, cutoff_nm, table_n, skin_nm=0.2, data_file=DATA_FILE,
                frames_dump=FRAMES_DUMP, forces_dump=FORCES_DUMP):
    """Text of the LAMMPS input that computes the model's forces on every frame of ``frames_dump``.

    Parameters
    ----------
    top : cgbench.molecule.cgtopology.CGTopology
    terms : cgbench.bonded.terms.BondedTerms
    pair_tables : mapping of (str, str) -> (path, str)
        See :func:`pair_coeff_commands`.
    cutoff_nm : float
        Pair cut-off, nm.
    table_n : int
        Interpolation points of ``pair_style table linear``.
    skin_nm : float
        Neighbour-list skin, nm.
    data_file, frames_dump, forces_dump : str
        File names as the run sees them.

    Returns
    -------
    str
    """
    w = special_bonds_weights(top, terms.kinds())
    return "\n".join([
        "# cgbench.engines.lammps.forces: forces of a CG model on given frames (LAMMPS units real)",
        "units           real",
        "atom_style      molecular",
        "boundary        p p p",
        f"read_data       {data_file}",
        f"pair_style      table linear {int(table_n)}",
        pair_coeff_commands(top, pair_tables, cutoff_nm),
        _bonded(top, terms),
        "# the pairs VOTCA excludes from the RDFs, as in the model's runs",
        "special_bonds   lj " + " ".join(f"{x:.1f}" for x in w),
        f"neighbor        {float(nm_to_angstrom(skin_nm)):.6g} bin",
        "neigh_modify    delay 0 every 1 check yes",
        "thermo_style    custom step pe evdwl ebond eangle edihed eimp",
        "thermo_modify   norm no",
        "thermo          1",
        f"dump            forces all custom 1 {forces_dump} id type x y z fx fy fz",
        "dump_modify     forces sort id format float %.12g",
        "# one snapshot at a time: new box, new neighbour list, forces, dump; no integration",
        f"rerun           {frames_dump} dump x y z box yes",
        "",
    ])


def cg_forces(positions, box, top, terms, pair_tables, cutoff_nm, table_n, workdir, command=None, threads=1,
              skin_nm=0.2):
    """Forces of a CG model on given CG configurations, computed by LAMMPS.

    Use it on mapped AA frames, :math:`F^{CG}(M(r))` of Eq. 7, and on the model's own frames,
    :math:`F^{CG}(R)` of Eq. 8.

    Parameters
    ----------
    positions : ndarray, shape (n_frames, n_molecules * n_beads, 3), nm
        Bead positions, molecule after molecule, beads in ``top`` order (wrapped or not).
    box : ndarray, shape (n_frames, 3) or (3,), nm
    top : cgbench.molecule.cgtopology.CGTopology
    terms : cgbench.bonded.terms.BondedTerms
        The model's bonded terms; which kinds it has sets the exclusions.
    pair_tables : mapping of (str, str) -> (path, str)
        (bead type, bead type) -> (LAMMPS pair table file, keyword).
    cutoff_nm : float
    table_n : int
    workdir : str or Path
        Scratch directory (created); keeps the input, dumps and log afterwards.
    command : str, optional
        LAMMPS executable (default :func:`cgbench.engines.lammps.default_lammps_command`).
    threads : int
    skin_nm : float

    Returns
    -------
    ndarray, shape (n_frames, n_molecules * n_beads, 3), kJ/mol/nm
        Total force of the model (pairs and bonded terms) on every bead.
    """
    x = np.asarray(positions, dtype=float)
    if x.ndim == 2:
        x = x[None]
    nb = len(top.bead_names)
    if x.ndim != 3 or x.shape[-1] != 3 or x.shape[1] % nb:
        raise CgbenchError(f"positions of shape {x.shape} are not (n_frames, n_molecules * {nb}, 3)")
    b = np.asarray(box, dtype=float)
    b = np.array(np.broadcast_to(b, (x.shape[0], 3)) if b.ndim == 1 else b)
    n_mol = x.shape[1] // nb
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    kinds = terms.kinds()
    write_system(work / DATA_FILE, top, n_mol, x[0], b[0], kinds)
    write_bonded_tables(work, top, terms)
    write_frames_dump(work / FRAMES_DUMP, x, b, system_arrays(top, n_mol, kinds)["types"])
    (work / INPUT_FILE).write_text(force_input(top, terms, pair_tables, cutoff_nm, table_n, skin_nm))
    (work / FORCES_DUMP).unlink(missing_ok=True)
    run_lammps(INPUT_FILE, work, command=command, threads=threads, log=LOG_FILE)
    dump = read_dump(work / FORCES_DUMP)
    if dump.forces is None or len(dump.timesteps) != x.shape[0] or not np.array_equal(
        dump.timesteps, np.arange(x.shape[0])
    ):
        raise EngineError([command or "lmp", "-in", INPUT_FILE], work, tail(work / LOG_FILE),
                          reason=f"wrote forces for {len(dump.timesteps)} of {x.shape[0]} frames")
    return dump.forces
