"""Reading and writing trajectories for DBM (the only module that touches trajectory files).

MDAnalysis works in Angstrom; everything returned here is in nm, and everything written is
converted back. Boxes must be orthorhombic.
"""

from pathlib import Path

import numpy as np

from ..errors import CgbenchError

A_PER_NM = 10.0


def _frames(u, start=0, stop=None, step=1):
    n = len(u.atoms)
    idx = range(len(u.trajectory))[slice(start, stop, step)]
    x = np.empty((len(idx), n, 3), dtype=np.float32)
    box = np.empty((len(idx), 3), dtype=np.float32)
    for k, ts in enumerate(u.trajectory[start:stop:step]):
        # copy: the reader reuses one buffer for every frame
        x[k] = ts.positions / A_PER_NM
        dims = ts.dimensions
        if dims is None or np.any(np.abs(np.asarray(dims[3:]) - 90.0) > 1e-3):
            raise CgbenchError(f"{u.trajectory.filename}: frame {ts.frame} has no orthorhombic box ({dims})")
        box[k] = dims[:3] / A_PER_NM
    return x, box


def read_trajectory(topology, trajectory=None, start=0, stop=None, step=1):
    """Positions and boxes of a GROMACS trajectory.

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
    import MDAnalysis as mda

    u = mda.Universe(str(topology), str(trajectory)) if trajectory else mda.Universe(str(topology))
    return _frames(u, start, stop, step)


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
    import MDAnalysis as mda

    u = mda.Universe(str(topology), str(trajectory)) if trajectory else mda.Universe(str(topology))
    n = len(u.trajectory)
    yield n
    for start in range(0, n, chunk):
        yield _frames(u, start, min(n, start + chunk))
