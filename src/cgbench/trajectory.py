"""Trajectory I/O at the edges: GROMACS files in, arrays in GROMACS units out, and back.

MDAnalysis reads and writes in Angstrom and kJ/(mol Angstrom); every conversion to and from nm
happens here, once.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: MDAnalysis length unit (Angstrom) -> nm.
_A_TO_NM = 0.1


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


def read_frames(topology, trajectory, start=0, stop=None, step=1, forces=True):
    """Read positions, boxes, times and (when present) forces of a GROMACS trajectory.

    Parameters
    ----------
    topology : path
        Anything MDAnalysis reads as a topology (.tpr, .gro).
    trajectory : path
        .trr, .xtc or .gro.
    """
    import MDAnalysis as mda

    # no guessing: bead names are not elements, and nothing here needs masses
    u = mda.Universe(str(topology), str(trajectory), to_guess=())
    sl = u.trajectory[start:stop:step]
    n = len(sl)
    pos = np.empty((n, u.atoms.n_atoms, 3))
    box = np.empty((n, 3))
    time = np.empty(n)
    frc = None
    for k, ts in enumerate(sl):
        if k == 0 and forces and ts.has_forces:
            frc = np.empty_like(pos)
        if not np.allclose(ts.dimensions[3:], 90.0):
            raise ValueError(f"{trajectory}: frame {ts.frame} has a non-orthorhombic box")
        pos[k] = ts.positions * _A_TO_NM  # copies: MDAnalysis reuses the frame buffer
        box[k] = ts.dimensions[:3] * _A_TO_NM
        time[k] = ts.time
        if frc is not None:
            frc[k] = ts.forces / _A_TO_NM  # kJ/(mol A) -> kJ/(mol nm)
    return Frames(pos, box, time, frc)


def write_frames(path_gro, path_traj, frames, names, resnames, resids):
    """Write the first frame as ``.gro`` and all frames to ``.trr``/``.xtc`` (by suffix).

    Parameters
    ----------
    names, resnames : sequence of str, length n
        Per-particle names and residue names.
    resids : sequence of int, length n
        Residue (molecule) number of each particle, starting at 1.
    """
    import MDAnalysis as mda

    n = frames.positions.shape[1]
    resids = np.asarray(resids)
    _, res_index = np.unique(resids, return_inverse=True)
    n_res = int(res_index.max()) + 1
    u = mda.Universe.empty(n, n_residues=n_res, atom_resindex=res_index, trajectory=True,
                           forces=frames.forces is not None)
    u.add_TopologyAttr("names", list(names))
    first_res = np.unique(res_index, return_index=True)[1]
    u.add_TopologyAttr("resnames", [resnames[i] for i in first_res])
    u.add_TopologyAttr("resids", resids[first_res])
    u.add_TopologyAttr("types", list(names))

    def load(k):
        ts = u.trajectory.ts
        ts.positions = frames.positions[k] / _A_TO_NM
        ts.dimensions = [*(frames.box[k] / _A_TO_NM), 90.0, 90.0, 90.0]
        ts.time = float(frames.time[k])
        ts.frame = k
        if frames.forces is not None:
            ts.forces = frames.forces[k] * _A_TO_NM

    load(0)
    u.atoms.write(str(path_gro))
    with mda.Writer(str(path_traj), n) as w:
        for k in range(frames.n_frames):
            load(k)
            w.write(u.atoms)
