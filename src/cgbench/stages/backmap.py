"""File-level steps of ``backmap.smk``: test sets, and the EM baseline backmapping of a test set.

A test set is a CG trajectory in GROMACS format (``.gro`` + ``.trr``): ``indist`` holds held-out
mapped AA frames, and each CG model's set holds frames of its production run. DBM's backmapping
of a test set is in :mod:`cgbench.stages.dbm` (``dbm.smk``).
"""

import json
import logging
from pathlib import Path
import time

import numpy as np

from ..molecule.cgtopology import CGTopology
from ..backmap.em.backmap import COLUMNS, backmap_frames, reference_frames, resolve_settings
from ..backmap.em.fragments import build_library
from ..backmap.em.minimise import Minimiser
from ..core.errors import CgbenchError
from ..molecule.mapping import Mapping
from ..backmap.testsets import held_out_start, spread
from ..molecule.topology import Topology
from ..engines.trajectory import Frames, FrameWriter, count_frames, iter_frames, read_frames, write_frames

log = logging.getLogger("cgbench")


def make_testset(name, source_gro, source_traj, n_frames, train_fraction, out, chunk=None):
    """Write a test set: evenly spread frames of a CG trajectory.

    For ``indist`` the frames come from the held-out part of the mapped AA trajectory (the part
    after ``train_fraction``); for a CG model from its whole production run. ``chunk`` (frames
    read at a time, :func:`cgbench.engines.trajectory.default_chunk` by default) bounds the memory; the
    output does not depend on it.
    """
    # only the chosen frames are read, a chunk at a time: the source run may be long
    total = count_frames(source_gro, source_traj)
    start = held_out_start(total, train_fraction) if name == "indist" else 0
    idx = spread(total, n_frames, start)
    import MDAnalysis as mda

    u = mda.Universe(str(source_gro), to_guess=())
    times = []
    with FrameWriter(out["gro"], out["trr"], list(u.atoms.names), list(u.atoms.resnames),
                     list(u.atoms.resids)) as w:
        for sub in iter_frames(source_gro, source_traj, chunk=chunk, frames=idx):
            w.write(sub)
            times += sub.time.tolist()
    Path(out["json"]).write_text(json.dumps({"name": name, "source": str(source_traj), "frames": idx.tolist(),
                                             "time_ps": times}))
    log.info("test set %s: frames %s of %d", name, idx.tolist(), total)


def reference_library(aa_tpr, aa_trr, topology, mapping, cg, settings):
    """Fragment library from frames of an AA run (``reference_frames``, ``reference_fraction``)."""
    total = count_frames(aa_tpr, aa_trr)
    sl = reference_frames(total, settings["reference_frames"], settings["reference_fraction"])
    ref = read_frames(aa_tpr, aa_trr, start=sl.start, stop=sl.stop, step=sl.step, forces=False)
    ref_pos, ref_box = ref.positions, ref.box
    n_mol, rest = divmod(ref_pos.shape[1], topology.n_atoms)
    if rest:
        raise CgbenchError(f"{aa_trr}: {ref_pos.shape[1]} atoms are not whole molecules of {topology.n_atoms} atoms")
    log.info("fragments from %d of the first %d of %d AA frames, %d molecules each", len(ref_pos), sl.stop, total,
             n_mol)
    lib = build_library(ref_pos, ref_box, topology.bonds, mapping, cg.indices("bonds"), n_mol,
                        settings["second_shell_weight"], settings["max_candidates"])
    lib.source[:, 0] = sl.start + sl.step * lib.source[:, 0]  # frame numbers of the AA trajectory
    return lib


def _resume_key(settings, itp, aa=None):
    """Fingerprint of what an EM frame depends on besides its CG positions."""
    import hashlib

    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    h.update(Path(itp).read_bytes())
    if aa is not None:
        st = Path(aa).stat()
        h.update(f"{Path(aa).resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def backmap_files(cg_gro, cg_traj, topology, mapping, cg_topology, itp, aa_tpr, aa_trr, settings, out, workdir,
                  log_path):
    """EM backmapping of a CG trajectory, file to file (same inputs and outputs as DBM's).

    Parameters
    ----------
    cg_gro, cg_traj : path
        CG trajectory (``.gro`` topology and ``.xtc``/``.trr``): beads molecule by molecule, in
        Mapping order.
    topology, mapping, cg_topology, itp : path
        The molecule stage's ``topology.npz``, ``mapping.json``, ``cg_topology.json``, ``molecule.itp``.
    aa_tpr, aa_trr : path
        The AA reference run (NVT) the fragments come from.
    settings : dict
        :data:`REQUIRED` keys plus any of :data:`DEFAULTS`.
    out : dict
        ``gro`` (first frame), ``trajectory`` (``.trr`` for full precision, or ``.xtc``), ``csv``
        (per-frame table, :data:`COLUMNS`); optional ``fragments`` (``.npz`` of the library).
    workdir : path
        Scratch directory for GROMACS (not a Snakemake output).
    log_path : path
        GROMACS output is appended here.

    Returns
    -------
    pandas.DataFrame
        The per-frame table.
    """
    s = resolve_settings(settings)
    top = Topology.load_npz(topology)
    mp = Mapping.from_dict(json.loads(Path(mapping).read_text()))
    cg = CGTopology.from_dict(json.loads(Path(cg_topology).read_text()))
    library = reference_library(aa_tpr, aa_trr, top, mp, cg, s)
    if out.get("fragments"):
        library.save_npz(out["fragments"])
    frames = read_frames(cg_gro, cg_traj, forces=False)
    n_mol, rest = divmod(frames.positions.shape[1], mp.n_beads)
    if rest:
        raise CgbenchError(f"{cg_traj}: {frames.positions.shape[1]} beads are not whole molecules of {mp.n_beads} beads")
    log.info("EM backmapping %d frames of %d molecules", frames.n_frames, n_mol)
    minimiser = Minimiser(itp, top.name, top.atom_names, top.resname, n_mol, s, workdir, log_path,
                          bead_of_atom=mp.bead_of_atom)
    t0 = time.perf_counter()
    x, table = backmap_frames(frames.positions, frames.box, library, mp, top.bonds, cg.indices("bonds"), minimiser,
                              restrain=s["com_restraints"], done=Path(workdir) / "done",
                              key=_resume_key(s, itp, aa_trr))
    wall = time.perf_counter() - t0
    log.info("EM backmapping took %.1f s (%.2f molecules/s); re-projection RMSD %.4f nm on average", wall,
             n_mol * frames.n_frames / wall, table["rmsd_nm"].mean())
    table.insert(1, "time_ps", frames.time)
    table = table[list(COLUMNS)]
    n = top.n_atoms
    write_frames(out["gro"], out["trajectory"], Frames(x, frames.box.copy(), frames.time.copy()),
                 list(top.atom_names) * n_mol, [top.resname] * (n * n_mol), np.repeat(np.arange(1, n_mol + 1), n))
    table.to_csv(out["csv"], index=False)
    return table
