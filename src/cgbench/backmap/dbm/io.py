"""DBM's view of trajectories: float32 positions and boxes of whole molecules.

A thin layer on :mod:`cgbench.engines.trajectory`, the one MDAnalysis adapter (it converts Angstrom to nm
on read and back on write). Boxes must be orthorhombic.
"""

from pathlib import Path

import numpy as np

from ...core.errors import CgbenchError
from ...engines.trajectory import Frames, FrameWriter, count_frames, iter_frames, read_frames

__all__ = ["count_frames", "iter_trajectory", "read_trajectory", "write_trajectory", "TrajectoryWriter",
           "frame_chunks"]


def iter_trajectory(topology, trajectory=None, chunk=None, start=0, stop=None, step=1, frames=None):
    """Positions and boxes of a GROMACS trajectory, a chunk of frames at a time, in float32.

    Parameters
    ----------
    topology, trajectory : path
        As for :func:`read_trajectory`.
    chunk : int, optional
        Frames per chunk; by default :func:`cgbench.engines.trajectory.default_chunk` of the system
        (sized for float64 work on each chunk, twice the float32 arrays read).
    start, stop, step : int
        Which frames, as a slice.
    frames : sequence of int, optional
        Frame indices to read, in this order, instead of the slice.

    Yields
    ------
    x : ndarray, shape (n_chunk, n_particles, 3), float32, nm
    box : ndarray, shape (n_chunk, 3), float32, nm
    """
    for fr in iter_frames(topology, trajectory, chunk=chunk, start=start, stop=stop, step=step, forces=False,
                          frames=frames):
        yield fr.positions.astype(np.float32), fr.box.astype(np.float32)


def read_trajectory(topology, trajectory=None, start=0, stop=None, step=1):
    """Positions and boxes of a GROMACS trajectory, every frame at once, in float32.

    Memory grows with the frames read: for whole runs use :func:`iter_trajectory`.

    Parameters
    ----------
    topology : path
        ``.tpr`` or ``.gro`` (anything MDAnalysis reads as a topology).
    trajectory : path, optional
        ``.trr``/``.xtc``; without it the topology file's own coordinates are read.

    Returns
    -------
    x : ndarray, shape (n_frames, n_particles, 3), float32, nm
    box : ndarray, shape (n_frames, 3), float32, nm
    """
    fr = read_frames(topology, trajectory, start=start, stop=stop, step=step, forces=False)
    return fr.positions.astype(np.float32), fr.box.astype(np.float32)


def write_trajectory(gro, xtc, x, box, names, resname, dt_ps=1.0):
    """Write the first frame as ``.gro`` and all frames as ``.xtc``.

    Parameters
    ----------
    gro, xtc : path
    x : ndarray, shape (n_frames, n_molecules * len(names), 3), nm
    box : ndarray, shape (n_frames, 3), nm
    names : list of str
        Particle names of one molecule (atoms, or beads for CG trajectories).
    resname : str
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3 or x.shape[1] % len(names):
        raise CgbenchError(f"positions of shape {x.shape} are not whole molecules of {len(names)} particles")
    with TrajectoryWriter(gro, xtc, names, resname, x.shape[1], dt_ps=dt_ps) as w:
        w.write(x, box)


class TrajectoryWriter:
    """Writes frames of whole molecules as they come: the first as ``.gro``, all of them to
    ``trajectory`` (any format MDAnalysis writes, by its extension), through
    :class:`cgbench.engines.trajectory.FrameWriter` (which converts nm to Angstrom).

    Parameters
    ----------
    gro, trajectory : path
        ``trajectory`` may be None to write the ``.gro`` alone.
    names : list of str
        Particle names of one molecule.
    resname : str
    n_particles : int
    dt_ps : float
        Time between frames written.
    """

    def __init__(self, gro, trajectory, names, resname, n_particles, dt_ps=1.0):
        if n_particles % len(names):
            raise CgbenchError(f"{n_particles} particles are not whole molecules of {len(names)} particles")
        n_mol = n_particles // len(names)
        self.dt_ps = float(dt_ps)
        Path(gro).parent.mkdir(parents=True, exist_ok=True)
        self.w = FrameWriter(gro, trajectory, list(names) * n_mol, [resname] * n_particles,
                             np.repeat(np.arange(1, n_mol + 1), len(names)))

    @property
    def n(self):
        """Frames written so far."""
        return self.w.n_written

    def write(self, x, box):
        """Append frames ``x`` (F, n_particles, 3) nm with boxes (F, 3) nm."""
        x, box = np.asarray(x, dtype=np.float32), np.asarray(box, dtype=np.float32)
        if not np.all(np.isfinite(x)):
            raise CgbenchError("refusing to write non-finite positions")
        self.w.write(Frames(x, box, (self.n + np.arange(x.shape[0])) * self.dt_ps))

    def close(self):
        self.w.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def frame_chunks(topology, trajectory=None, chunk=1):
    """Frames of a trajectory ``chunk`` at a time, as (x (f, n, 3) nm, box (f, 3) nm) pairs, with
    the total number of frames as the first item yielded."""
    yield count_frames(topology, trajectory)
    yield from iter_trajectory(topology, trajectory, chunk=chunk)
