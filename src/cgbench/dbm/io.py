"""Reading and writing trajectories for DBM (the only module that touches trajectory files).

MDAnalysis works in Angstrom; everything returned here is in nm, and everything written is
converted back. Boxes must be orthorhombic.
"""

from pathlib import Path

import numpy as np

from ..errors import CgbenchError

A_PER_NM = 10.0


def _open(topology, trajectory=None):
    import MDAnalysis as mda

    return mda.Universe(str(topology), str(trajectory)) if trajectory else mda.Universe(str(topology))


def _indices(u, start=0, stop=None, step=1, frames=None):
    """Frame indices to read: ``frames`` if given, else the slice."""
    n = len(u.trajectory)
    if frames is None:
        return np.arange(n)[slice(start, stop, step)]
    idx = np.asarray(frames, dtype=int).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise CgbenchError(f"{u.trajectory.filename}: frame indices must lie in 0..{n - 1}")
    return idx


def _frames(u, idx):
    n = len(u.atoms)
    x = np.empty((len(idx), n, 3), dtype=np.float32)
    box = np.empty((len(idx), 3), dtype=np.float32)
    for k, ts in enumerate(u.trajectory[np.asarray(idx, dtype=int)]):
        # copy: the reader reuses one buffer for every frame
        x[k] = ts.positions / A_PER_NM
        dims = ts.dimensions
        if dims is None or np.any(np.abs(np.asarray(dims[3:]) - 90.0) > 1e-3):
            raise CgbenchError(f"{u.trajectory.filename}: frame {ts.frame} has no orthorhombic box ({dims})")
        box[k] = dims[:3] / A_PER_NM
    return x, box


def count_frames(topology, trajectory=None, start=0, stop=None, step=1):
    """Number of frames :func:`read_trajectory` would read with the same ``start``, ``stop``, ``step``."""
    return len(_indices(_open(topology, trajectory), start, stop, step))


def iter_trajectory(topology, trajectory=None, chunk=None, start=0, stop=None, step=1, frames=None):
    """Positions and boxes of a GROMACS trajectory, a chunk of frames at a time.

    Parameters
    ----------
    topology, trajectory : path
        As for :func:`read_trajectory`.
    chunk : int, optional
        Frames per chunk; by default :func:`cgbench.trajectory.default_chunk` of the system
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
    from ..trajectory import default_chunk

    u = _open(topology, trajectory)
    idx = _indices(u, start, stop, step, frames)
    chunk = max(1, int(chunk or default_chunk(len(u.atoms))))
    for lo in range(0, len(idx), chunk):
        yield _frames(u, idx[lo:lo + chunk])


def read_trajectory(topology, trajectory=None, start=0, stop=None, step=1):
    """Positions and boxes of a GROMACS trajectory, every frame at once.

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
    u = _open(topology, trajectory)
    return _frames(u, _indices(u, start, stop, step))


def _universe(names, resname, n_mol):
    import MDAnalysis as mda

    n = len(names)
    u = mda.Universe.empty(n * n_mol, n_residues=n_mol, atom_resindex=np.repeat(np.arange(n_mol), n),
                           trajectory=True)
    u.add_TopologyAttr("name", list(names) * n_mol)
    u.add_TopologyAttr("resname", [resname] * n_mol)
    u.add_TopologyAttr("resid", np.arange(1, n_mol + 1))
    return u


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
    import MDAnalysis as mda

    x = np.asarray(x, dtype=np.float32)
    box = np.asarray(box, dtype=np.float32)
    if x.ndim != 3 or x.shape[1] % len(names):
        raise CgbenchError(f"positions of shape {x.shape} are not whole molecules of {len(names)} particles")
    if not np.all(np.isfinite(x)):
        raise CgbenchError("refusing to write non-finite positions")
    u = _universe(names, resname, x.shape[1] // len(names))
    dims = lambda f: np.concatenate([box[f] * A_PER_NM, [90.0, 90.0, 90.0]]).astype(np.float32)
    u.atoms.positions = x[0] * A_PER_NM
    u.dimensions = dims(0)
    Path(gro).parent.mkdir(parents=True, exist_ok=True)
    u.atoms.write(str(gro))
    with mda.Writer(str(xtc), n_atoms=x.shape[1]) as w:
        for f in range(x.shape[0]):
            u.atoms.positions = x[f] * A_PER_NM
            u.dimensions = dims(f)
            u.trajectory.ts.time = f * dt_ps
            w.write(u.atoms)


class TrajectoryWriter:
    """Writes frames as they come: the first as ``.gro``, all of them to ``trajectory`` (any format
    MDAnalysis writes, by its extension), converting nm to Angstrom.

    Parameters
    ----------
    gro, trajectory : path
        ``trajectory`` may be None to write the ``.gro`` alone.
    names : list of str
        Particle names of one molecule.
    resname : str
    n_particles : int
    """

    def __init__(self, gro, trajectory, names, resname, n_particles, dt_ps=1.0):
        import MDAnalysis as mda

        if n_particles % len(names):
            raise CgbenchError(f"{n_particles} particles are not whole molecules of {len(names)} particles")
        self.gro, self.dt_ps, self.n = Path(gro), float(dt_ps), 0
        self.u = _universe(names, resname, n_particles // len(names))
        self.gro.parent.mkdir(parents=True, exist_ok=True)
        self.w = mda.Writer(str(trajectory), n_atoms=n_particles) if trajectory else None

    def write(self, x, box):
        """Append frames ``x`` (F, n_particles, 3) nm with boxes (F, 3) nm."""
        x, box = np.asarray(x, dtype=np.float32), np.asarray(box, dtype=np.float32)
        if not np.all(np.isfinite(x)):
            raise CgbenchError("refusing to write non-finite positions")
        for f in range(x.shape[0]):
            self.u.atoms.positions = x[f] * A_PER_NM
            self.u.dimensions = np.concatenate([box[f] * A_PER_NM, [90.0, 90.0, 90.0]]).astype(np.float32)
            self.u.trajectory.ts.time = self.n * self.dt_ps
            if self.n == 0:
                self.u.atoms.write(str(self.gro))
            if self.w is not None:
                self.w.write(self.u.atoms)
            self.n += 1

    def close(self):
        if self.w is not None:
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
