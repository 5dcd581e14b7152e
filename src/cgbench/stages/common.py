"""Readers of stage outputs that several stages share (the CG topology, DBI tables, IBI potentials, scales).

Like ``workflow/rules/common.smk`` for the rules: what more than one stage needs, in one place.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..cg import models as cg_models
from ..molecule.cgtopology import KINDS, MODEL_KEY, CGTopology
from ..engines import lammps
from ..engines.trajectory import count_frames, read_frames
from ..core.errors import InputError
from ..geometry.pbc import make_whole


def load_cg(cg_topology):
    return CGTopology.from_dict(json.loads(Path(cg_topology).read_text()))


def start_configuration(cg_npz, top):
    """Last mapped AA frame: bead positions with molecules whole, and its box (nm)."""
    data = np.load(cg_npz)
    x, box = data["last_positions"][None], data["last_box"][None]
    nb = len(top.bead_names)
    bonds = top.indices("bonds")
    return make_whole(x, box, bonds, nb)[0], box[0], int(data["n_molecules"])


def replica_starts(cg_gro, cg_traj, top, n, box_nm):
    """Starting configurations of IBI replicas 1 .. n-1: frames of the mapped AA trajectory spread
    back from its end (replica 0 takes the last), molecules whole.

    Replicas run in one box (``box_nm``, the last frame's); a frame of another box is refused, since
    the replicas of an iteration must share its density.
    """
    if n <= 1:
        return []
    total = count_frames(cg_gro, cg_traj)
    if total < n:
        raise InputError(f"{cg_traj}: {total} frames, too few for {n} IBI replicas")
    stride = total // n
    frames = read_frames(cg_gro, cg_traj, forces=False, frames=[total - 1 - k * stride for k in range(1, n)])
    if not np.allclose(frames.box, np.asarray(box_nm)[None], rtol=0, atol=1e-4):
        raise InputError(f"{cg_traj}: the frames' boxes differ from the last one's; IBI replicas need one volume")
    whole = make_whole(frames.positions, frames.box, top.indices("bonds"), len(top.bead_names))
    return list(whole)


def targets_from(reference):
    """RDF targets ``{"T-T": (r, g), ...}`` from the reference table."""
    rdf = reference[reference["kind"] == "rdf"]
    return {name: (g["x"].to_numpy(), g["y"].to_numpy()) for name, g in rdf.groupby("name", sort=False)}


def dbi_terms(dbi_tables, dbi_params, model, scales=None):
    tables = pd.read_csv(dbi_tables)
    params = json.loads(Path(dbi_params).read_text())
    return cg_models.bonded_terms(tables, params, model, scales)


#: The IBI runs hold every bonded term of the DBI (the study keeps them fixed during IBI).
FULL_MODEL = {MODEL_KEY[k]: True for k in KINDS}


def md_settings(run_ps, timestep_fs, output_interval_ps, temperature_K, tau_t_ps, seed, equilibration_ps=0.0):
    return lammps.MDSettings.from_times(
        run_ps, timestep_fs / 1000.0, output_interval_ps, equilibration_ps,
        temperature_K=temperature_K, tau_t_ps=tau_t_ps, seed=seed,
    )


def read_potentials(path):
    df = pd.read_csv(path)
    return {k: (g["r"].to_numpy(), g["U"].to_numpy(), g["F"].to_numpy()) for k, g in df.groupby("pair", sort=False)}


def read_scales(path):
    data = json.loads(Path(path).read_text())
    return {(e["kind"], e["name"]): e["scale"] for e in data["scales"]}
