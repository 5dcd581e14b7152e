"""File-level step of the mapping stage (``mapping.smk``): AA trajectory -> CG trajectory, forces, reference."""

import json
import logging
from pathlib import Path

import numpy as np

from ..molecule.cgtopology import CGTopology
from ..core.errors import CgbenchError
from ..molecule.mapping import Mapping
from ..mapping.reference import ReferenceDistributions, map_trajectory
from ..molecule.topology import Topology
from ..engines.trajectory import FrameWriter, NpzWriter, count_frames, iter_frames

log = logging.getLogger("cgbench")


def map_files(tpr, trr, topology, mapping, cg_topology, n_molecules, bins, out, chunk=None):
    """File edge of the mapping stage: read, map, write ``gro``/``trr``/``npz``/``distributions``.

    The AA trajectory is read, mapped and written a chunk of frames at a time, and the reference
    distributions accumulate over the chunks, so peak memory is one chunk of AA frames plus the
    system's bead arrays being written, whatever the number of frames.

    Parameters
    ----------
    chunk : int, optional
        AA frames per chunk; :func:`cgbench.engines.trajectory.default_chunk` by default. The outputs do
        not depend on it.
    """
    top = Topology.load_npz(topology)
    mp = Mapping.from_dict(json.loads(Path(mapping).read_text()))
    cg = CGTopology.from_dict(json.loads(Path(cg_topology).read_text()))
    n_frames = count_frames(tpr, trr)
    if n_frames == 0:
        raise CgbenchError(f"{trr} has no frames to map")
    nb = len(cg.bead_names)
    names = list(cg.bead_names) * n_molecules
    resids = np.repeat(np.arange(1, n_molecules + 1), nb)
    reference = ReferenceDistributions(cg, n_molecules, bins)
    first = last = None
    with FrameWriter(out["gro"], out["trr"], names, [top.resname] * len(names), resids) as traj, \
            NpzWriter(out["npz"], n_frames) as npz:
        for aa in iter_frames(tpr, trr, chunk=chunk):
            frames, mean = map_trajectory(aa, top, mp, n_molecules)
            traj.write(frames)
            npz.append(positions=frames.positions, box=frames.box, time=frames.time)
            if frames.forces is not None:
                npz.append(forces_net=frames.forces, forces_mean=mean)
            reference.update(frames.positions, frames.box)
            first = aa.time[0] if first is None else first
            last = frames
        npz.add(bead_types=np.asarray(cg.bead_types), n_molecules=n_molecules,
                # the CG runs start from the last frame: a key of its own spares them decompressing all frames
                last_positions=last.positions[-1], last_box=last.box[-1])
    log.info("mapped %d AA frames (%.1f-%.1f ps) of %d atoms", n_frames, first, last.time[-1],
             n_molecules * top.n_atoms)
    table = reference.table()
    table.to_csv(out["distributions"], index=False)
    log.info("reference distributions: %s", sorted(set(zip(table["kind"], table["name"]))))
