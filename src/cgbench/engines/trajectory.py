"""Trajectory I/O at the edges: GROMACS files in, arrays in GROMACS units out, and back.

MDAnalysis reads and writes in Angstrom and kJ/(mol Angstrom); every conversion to and from nm
happens here, once.

Analyses that run over a whole trajectory read it with :func:`iter_frames`, a chunk of frames at a
time, and write with :class:`FrameWriter` and :class:`NpzWriter` as the chunks come, so that their
peak memory is set by the system size and the chunk, not by the number of frames.
:func:`read_frames` reads everything at once; it is meant for trajectories that are short by design
(test sets, a few reference frames).
"""

from dataclasses import dataclass
from pathlib import Path
import shutil
import tempfile
import zipfile

import numpy as np

from ..core.errors import InputError

#: MDAnalysis length unit (Angstrom) -> nm.
_A_TO_NM = 0.1

#: Bytes of positions and forces (float64) one chunk of :func:`iter_frames` may hold. A few hundred
#: MB keeps a chunk of the study's 207,000-atom box at 40 frames (25 with forces), so a stage's
#: peak stays at a few times this whatever the run length, while a small system still comes in one
#: or a few chunks and per-chunk costs (one GROMACS rerun per chunk in evaluation) stay negligible.
CHUNK_BYTES = 256 * 2**20


@dataclass
class Frames:
    """A trajectory as arrays (GROMACS units)."""

    positions: np.ndarray  #: (n_frames, n, 3) nm
    box: np.ndarray  #: (n_frames, 3) nm, orthorhombic edges
    time: np.ndarray  #: (n_frames,) ps
    forces: np.ndarray | None = None  #: (n_frames, n, 3) kJ/mol/nm

    @property
    def n_frames(self):
        return len(self.time)


def default_chunk(n_atoms, forces=True):
    """Frames per chunk so that one chunk's float64 positions (and forces) take about :data:`CHUNK_BYTES`.

    Parameters
    ----------
    n_atoms : int
        Particles per frame.
    forces : bool
        Whether forces are read too (they double the bytes per frame).

    Returns
    -------
    int
        At least 1.
    """
    per_frame = max(1, int(n_atoms)) * 3 * 8 * (2 if forces else 1)
    return max(1, CHUNK_BYTES // per_frame)


def _universe(topology, trajectory=None):
    import MDAnalysis as mda

    # no guessing: bead names are not elements, and nothing here needs masses
    if trajectory is None:
        return mda.Universe(str(topology), to_guess=())
    return mda.Universe(str(topology), str(trajectory), to_guess=())


def _selection(u, start, stop, step, frames):
    """Frame indices of ``u.trajectory`` to read: ``frames`` if given, else the slice."""
    n = len(u.trajectory)
    if frames is None:
        return np.arange(n)[slice(start, stop, step)]
    idx = np.asarray(frames, dtype=int).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise InputError(f"frame indices must lie in 0..{n - 1}, got {idx.min()}..{idx.max()}")
    return idx


def count_frames(topology, trajectory=None, start=0, stop=None, step=1):
    """Number of frames :func:`iter_frames` would read with the same ``start``, ``stop``, ``step``."""
    return len(_selection(_universe(topology, trajectory), start, stop, step, None))


def iter_frames(topology, trajectory=None, chunk=None, start=0, stop=None, step=1, forces=True, frames=None):
    """Read a GROMACS trajectory a chunk of frames at a time.

    Each chunk is a fresh :class:`Frames` (the reader's frame buffer is copied), so a caller may
    keep chunks; peak memory is one chunk when it does not.

    Parameters
    ----------
    topology : path
        Anything MDAnalysis reads as a topology (.tpr, .gro).
    trajectory : path, optional
        .trr, .xtc or .gro; without it the topology file's own coordinates are read.
    chunk : int, optional
        Frames per chunk; :func:`default_chunk` of the system by default. The last chunk may be shorter.
    start, stop, step : int
        Which frames, as a slice of the trajectory.
    forces : bool
        Read forces where the file has them (kJ/mol/nm); otherwise ``Frames.forces`` is None.
    frames : sequence of int, optional
        Frame indices to read, in this order, instead of the slice.

    Yields
    ------
    Frames
        Positions (n_chunk, n, 3) nm, boxes (n_chunk, 3) nm, times (n_chunk,) ps, forces or None.

    Raises
    ------
    InputError
        A frame has a non-orthorhombic box.
    """
    u = _universe(topology, trajectory)
    idx = _selection(u, start, stop, step, frames)
    n_atoms = u.atoms.n_atoms
    if chunk is None:
        chunk = default_chunk(n_atoms, forces)
    chunk = max(1, int(chunk))
    for lo in range(0, len(idx), chunk):
        sel = idx[lo:lo + chunk]
        n = len(sel)
        pos = np.empty((n, n_atoms, 3))
        box = np.empty((n, 3))
        time = np.empty(n)
        frc = None
        for k, ts in enumerate(u.trajectory[sel]):
            if k == 0 and forces and ts.has_forces:
                frc = np.empty_like(pos)
            if ts.dimensions is None or not np.allclose(ts.dimensions[3:], 90.0):
                raise InputError(f"{trajectory or topology}: frame {ts.frame} has a non-orthorhombic box")
            pos[k] = ts.positions * _A_TO_NM  # copies: MDAnalysis reuses the frame buffer
            box[k] = ts.dimensions[:3] * _A_TO_NM
            time[k] = ts.time
            if frc is not None:
                frc[k] = ts.forces / _A_TO_NM  # kJ/(mol A) -> kJ/(mol nm)
        yield Frames(pos, box, time, frc)


def read_frames(topology, trajectory=None, start=0, stop=None, step=1, forces=True, frames=None):
    """Read positions, boxes, times and (when present) forces of a GROMACS trajectory, all at once.

    Memory grows with the number of frames read: use it for trajectories that are short by design
    and :func:`iter_frames` for whole runs. Parameters as for :func:`iter_frames`.

    Returns
    -------
    Frames
    """
    u = _universe(topology, trajectory)
    n = len(_selection(u, start, stop, step, frames))
    parts = list(iter_frames(topology, trajectory, chunk=max(1, n), start=start, stop=stop, step=step,
                             forces=forces, frames=frames))
    if parts:
        return parts[0]
    return Frames(np.empty((0, u.atoms.n_atoms, 3)), np.empty((0, 3)), np.empty(0))


class FrameWriter:
    """Writes frames as they come: the first as ``.gro``, all to ``.trr``/``.xtc`` (by suffix).

    ``path_traj`` may be None to write the ``.gro`` alone.

    The MDAnalysis writer stays open between :meth:`write` calls, so a trajectory can be written a
    chunk at a time. Use as a context manager.

    Parameters
    ----------
    path_gro, path_traj : path
    names, resnames : sequence of str, length n
        Per-particle names and residue names.
    resids : sequence of int, length n
        Residue (molecule) number of each particle, starting at 1.
    """

    def __init__(self, path_gro, path_traj, names, resnames, resids):
        self.path_gro, self.path_traj = str(path_gro), (None if path_traj is None else str(path_traj))
        self.names, self.resnames, self.resids = list(names), list(resnames), np.asarray(resids)
        self.u = self.w = None
        self.n_written = 0

    def _open(self, with_forces):
        import MDAnalysis as mda

        n = len(self.names)
        _, res_index = np.unique(self.resids, return_inverse=True)
        n_res = int(res_index.max()) + 1
        # the Timestep gets a forces array only if the first chunk has forces; .trr then writes them
        u = mda.Universe.empty(n, n_residues=n_res, atom_resindex=res_index, trajectory=True, forces=with_forces)
        u.add_TopologyAttr("names", self.names)
        first_res = np.unique(res_index, return_index=True)[1]
        u.add_TopologyAttr("resnames", [self.resnames[i] for i in first_res])
        u.add_TopologyAttr("resids", self.resids[first_res])
        u.add_TopologyAttr("types", self.names)
        self.u = u
        self.forces = with_forces

    def write(self, frames):
        """Append the frames of a :class:`Frames` (GROMACS units)."""
        import MDAnalysis as mda

        if self.u is None:
            self._open(frames.forces is not None)
        n = len(self.names)
        if frames.positions.shape[1] != n:
            raise InputError(f"frames have {frames.positions.shape[1]} particles, the writer {n}")
        for k in range(frames.n_frames):
            ts = self.u.trajectory.ts
            ts.positions = frames.positions[k] / _A_TO_NM
            ts.dimensions = [*(frames.box[k] / _A_TO_NM), 90.0, 90.0, 90.0]
            ts.time = float(frames.time[k])
            ts.frame = self.n_written
            if self.forces:
                ts.forces = frames.forces[k] * _A_TO_NM
            if self.n_written == 0:
                self.u.atoms.write(self.path_gro)
                if self.path_traj is not None:
                    self.w = mda.Writer(self.path_traj, n)
            if self.w is not None:
                self.w.write(self.u.atoms)
            self.n_written += 1

    def close(self):
        if self.w is not None:
            self.w.close()
            self.w = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_frames(path_gro, path_traj, frames, names, resnames, resids):
    """Write the first frame as ``.gro`` and all frames to ``.trr``/``.xtc`` (by suffix).

    Parameters
    ----------
    names, resnames : sequence of str, length n
        Per-particle names and residue names.
    resids : sequence of int, length n
        Residue (molecule) number of each particle, starting at 1.
    """
    with FrameWriter(path_gro, path_traj, names, resnames, resids) as w:
        w.write(frames)


class NpzWriter:
    """A compressed ``.npz`` whose per-frame arrays are written a chunk of frames at a time.

    :func:`numpy.savez_compressed` needs every array in memory. Here each per-frame array grows in
    a temporary ``.npy`` file beside the target (a zip archive holds one entry after another, so
    arrays cannot grow side by side inside it), and :meth:`close` deflates the files into the
    archive, reading them back in pieces. :func:`numpy.load` reads the result like any ``.npz``.

    Parameters
    ----------
    path : path
        The ``.npz`` to write.
    n_frames : int
        Frames that :meth:`append` will receive in all (the ``.npy`` headers hold the shape).
    """

    def __init__(self, path, n_frames):
        self.path = Path(path)
        self.n_frames = int(n_frames)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        self.files, self.rows, self.dtypes, self.shapes, self.whole = {}, {}, {}, {}, {}

    def append(self, **arrays):
        """Append frames to per-frame arrays: each (n_chunk, ...) with the same trailing shape every time."""
        for name, a in arrays.items():
            a = np.asarray(a)
            if name not in self.files:
                fh = open(self.tmp / f"{name}.npy", "wb")
                self.files[name], self.rows[name], self.dtypes[name] = fh, 0, a.dtype
                np.lib.format.write_array_header_1_0(
                    fh, {"descr": np.lib.format.dtype_to_descr(a.dtype), "fortran_order": False,
                         "shape": (self.n_frames, *a.shape[1:])})
                self.shapes[name] = a.shape[1:]
            if a.shape[1:] != self.shapes[name]:
                raise InputError(f"{name}: chunk of shape {a.shape} after chunks of (n, *{self.shapes[name]})")
            self.files[name].write(np.ascontiguousarray(a, dtype=self.dtypes[name]).tobytes())
            self.rows[name] += len(a)

    def add(self, **arrays):
        """Arrays stored whole (small ones: per-frame scalars, the last frame, metadata)."""
        self.whole.update({k: np.asarray(v) for k, v in arrays.items()})

    def close(self):
        """Write the archive and remove the temporary files."""
        try:
            for name, fh in self.files.items():
                fh.close()
                if self.rows[name] != self.n_frames:
                    raise InputError(f"{self.path}: {name} got {self.rows[name]} frames, expected {self.n_frames}")
            with zipfile.ZipFile(self.path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
                for name in self.files:
                    zf.write(self.tmp / f"{name}.npy", arcname=f"{name}.npy")
                for name, a in self.whole.items():
                    with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
                        np.lib.format.write_array(fh, a, allow_pickle=False)
        finally:
            for fh in self.files.values():
                fh.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.close()
        else:
            for fh in self.files.values():
                fh.close()
            shutil.rmtree(self.tmp, ignore_errors=True)
