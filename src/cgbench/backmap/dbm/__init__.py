"""DBM: deep backmapping of CG trajectories to all-atom ones (Stieffenhofer et al.; study Sec. 2.4).

Public API, file paths in and out, for thin Snakemake scripts:

- :func:`load_spec` -- the molecule (topology, mapping, CG topology) as a :class:`MoleculeSpec`
- :func:`write_test_set` -- the in-distribution test set: held-out AA frames mapped to CG
- :func:`train` -- train a :class:`DBM` with Lightning, resumable, CSV logs, ``last.ckpt``
- :func:`backmap` -- reconstruct every frame of a CG trajectory, write ``.gro`` + ``.xtc``
- :func:`evaluate` -- bonded JS, C-C RDF difference, re-projection RMSD and close contacts of a backmap

Parameters come as one flat dict; :data:`DATA_DEFAULTS`, :data:`TRAINER_DEFAULTS`,
:data:`BACKMAP_DEFAULTS` and the keyword arguments of :class:`DBM` list every key.
"""

import inspect
import json
import logging
from pathlib import Path
import shutil


from ...core.errors import CgbenchError
from ...mapping.projection import reprojection_rmsd
from .backmap import Backmapper, colour_beads, template_start
from .data import DBMDataModule, Frames, map_frames, split
from .molecule import MoleculeSpec, molecule_spec

log = logging.getLogger("cgbench")

__all__ = ["load_spec", "load_frames", "write_test_set", "train", "backmap", "evaluate", "load_model", "DBM",
           "DBMDataModule", "Backmapper", "MoleculeSpec", "Frames", "colour_beads", "reprojection_rmsd", "template_start",
           "DATA_DEFAULTS", "TRAINER_DEFAULTS", "BACKMAP_DEFAULTS"]

#: DataModule keys (see :class:`DBMDataModule`); ``frame_stride`` thins the AA frames on reading.
DATA_DEFAULTS = dict(train_fraction=0.8, batch_size=64, env_cutoff_nm=0.7, max_env_beads=None,
                     samples_per_epoch=None, val_samples=256, augment=True, seed=0, frame_stride=1, self_frames=0,
                     self_fraction=0.5)
#: Trainer keys. ``threads`` caps torch's CPU threads (None: torch's default); ``checkpoint_minutes``
#: is the interval of mid-epoch checkpoints (None: at epoch ends, SIGTERM and job deadlines only).
#: ``init_from`` is a shipped model (:mod:`cgbench.backmap.dbm.shipped`) whose weights start the training.
TRAINER_DEFAULTS = dict(epochs=40, accelerator="auto", devices=1, progress_bar=True, log_every_n_steps=10,
                        threads=None, checkpoint_minutes=15, init_from=None)
#: Backmapping keys (see :class:`Backmapper`); ``accelerator`` is "auto", "cpu" or "cuda".
BACKMAP_DEFAULTS = dict(n_gibbs=2, n_candidates=4, consistency="none", batch_size=512, conflict_cutoff_nm=None,
                        seed=0, accelerator="auto", threads=None, selection="min", temperature_K=450.0,
                        n_repair=0, repair_candidates=8, clash_kT=10.0)


def __getattr__(name):
    # Lightning is imported only when the model is used, so reading files stays light
    if name == "DBM":
        from .module import DBM

        return DBM
    raise AttributeError(name)


def _split_params(params):
    from .module import DBM

    params = dict(params or {})
    model_keys = set(inspect.signature(DBM.__init__).parameters) - {"self", "molecule"}
    groups = {"model": {}, "data": dict(DATA_DEFAULTS), "trainer": dict(TRAINER_DEFAULTS)}
    for k, v in params.items():
        if k in model_keys:
            groups["model"][k] = v
        elif k in DATA_DEFAULTS:
            groups["data"][k] = v
        elif k in TRAINER_DEFAULTS:
            groups["trainer"][k] = v
        else:
            raise CgbenchError(f"dbm: unknown training parameter {k!r}")
    # one cut-off for the data and the model, so inference builds the environments it was trained on
    groups["model"]["env_cutoff_nm"] = groups["data"]["env_cutoff_nm"]
    return groups


def load_spec(topology_npz, mapping_json, cg_topology_json):
    """The molecule from the molecule stage's files."""
    from ...molecule.cgtopology import CGTopology
    from ...molecule.mapping import Mapping
    from ...molecule.topology import Topology

    top = Topology.load_npz(topology_npz)
    mp = Mapping.from_dict(json.loads(Path(mapping_json).read_text()))
    cg = CGTopology.from_dict(json.loads(Path(cg_topology_json).read_text()))
    return molecule_spec(top, mp, cg)


def load_frames(aa_topology, aa_trajectory, spec, frame_stride=1, frames=None, chunk=None):
    """AA frames (whole molecules) and their CG mapping, :class:`Frames` in nm.

    The result holds every frame asked for: DBM's training set is by design all frames of the
    run thinned by ``frame_stride`` (the sampler draws beads of any training frame, and their
    environments need the atoms), 12 bytes per atom and per bead of each kept frame, so
    ``frame_stride`` is what bounds it for a long run. The file is read and mapped a chunk at a
    time (:func:`cgbench.backmap.dbm.io.iter_trajectory`), so the float64 unwrapping and mapping never
    touch more than one chunk, and no array of the unthinned run is ever built.

    Parameters
    ----------
    frame_stride : int
        Keep every ``frame_stride``-th frame of the file.
    frames : sequence of int, optional
        Indices into the thinned frames: read only these (e.g. a few held-out frames).
    chunk : int, optional
        Frames read and mapped at a time; the result does not depend on it.
    """
    import numpy as np

    from .io import count_frames, iter_trajectory

    thinned = np.arange(count_frames(aa_topology, aa_trajectory, step=frame_stride)) * frame_stride
    idx = thinned if frames is None else thinned[np.asarray(frames, dtype=int)]
    out = None
    at = 0
    for x, box in iter_trajectory(aa_topology, aa_trajectory, chunk=chunk, frames=idx):
        part = map_frames(x, box, spec)
        if out is None:
            out = Frames(np.empty((len(idx), *part.x.shape[1:]), np.float32),
                         np.empty((len(idx), *part.r.shape[1:]), np.float32), np.empty((len(idx), 3), np.float32))
        out.x[at:at + len(part)], out.r[at:at + len(part)], out.box[at:at + len(part)] = part.x, part.r, part.box
        at += len(part)
    if out is None:
        raise CgbenchError(f"{aa_trajectory}: no frames to read")
    return out


def write_test_set(aa_topology, aa_trajectory, topology_npz, mapping_json, cg_topology_json, out, train_fraction=0.8,
                   frame_stride=1):
    """Write the in-distribution test set: the held-out last AA frames, mapped to CG.

    Parameters
    ----------
    out : dict of str -> path
        ``cg_gro``, ``cg_xtc`` (the CG test set, one bead per particle) and optionally ``aa_gro``,
        ``aa_xtc`` (the AA reference of the same frames, molecules whole).

    Returns
    -------
    dict
        ``n_frames`` in the test set and ``first_frame`` (index in the thinned AA trajectory).
    """
    from contextlib import ExitStack

    from ...molecule.mapping import Mapping
    from .io import TrajectoryWriter, count_frames, iter_trajectory

    spec = load_spec(topology_npz, mapping_json, cg_topology_json)
    # only the held-out frames are read, and written a chunk at a time as they are mapped
    n_frames = count_frames(aa_topology, aa_trajectory, step=frame_stride)
    _, test = split(n_frames, train_fraction)
    if len(test) == 0:
        raise CgbenchError(f"train_fraction = {train_fraction} leaves no frame of {n_frames} for testing")
    names = Mapping.from_dict(json.loads(Path(mapping_json).read_text())).bead_names
    with ExitStack() as stack:
        cg_w = aa_w = None
        for x, box in iter_trajectory(aa_topology, aa_trajectory, frames=test * frame_stride):
            t = map_frames(x, box, spec)
            if cg_w is None:
                n_mol = t.x.shape[1] // spec.n_atoms
                cg_w = stack.enter_context(
                    TrajectoryWriter(out["cg_gro"], out["cg_xtc"], names, spec.resname, n_mol * len(names)))
                if out.get("aa_gro"):
                    aa_w = stack.enter_context(TrajectoryWriter(out["aa_gro"], out["aa_xtc"], spec.atom_names,
                                                                spec.resname, n_mol * spec.n_atoms))
            cg_w.write(t.r, t.box)
            if aa_w is not None:
                aa_w.write(t.x, t.box)
    return {"n_frames": int(len(test)), "first_frame": int(test[0])}


def train(aa_topology, aa_trajectory, topology_npz, mapping_json, cg_topology_json, workdir, model_out,
          params=None, callbacks=(), backmap=None):
    """Train DBM on the first part of an AA trajectory.

    Checkpoints go to ``<workdir>/checkpoints`` (``last.ckpt`` after every epoch, every
    ``checkpoint_minutes``, on SIGTERM and before a batch job's time limit; a rerun resumes from it;
    see :mod:`cgbench.backmap.dbm.checkpoint`) and CSV logs to ``<workdir>/logs/version_*/metrics.csv``; ``workdir`` must not be a
    Snakemake output. The final checkpoint is copied to ``model_out``.

    Parameters
    ----------
    aa_topology, aa_trajectory : path
        ``nvt.tpr`` and ``nvt.trr`` (or ``.xtc``).
    topology_npz, mapping_json, cg_topology_json : path
        The molecule stage's files.
    workdir, model_out : path
    params : dict
        Flat dict of model, data and trainer keys.
    callbacks : sequence of lightning.pytorch.Callback
        Added to cgbench's own.
    backmap : dict, optional
        :data:`BACKMAP_DEFAULTS` keys with which the starting model backmaps ``self_frames``
        training frames (evenly spaced) before training; the samples of those frames then see
        generated neighbours (:class:`DBMDataModule`'s ``generated``). The backmaps are kept in
        ``<workdir>/self_frames.npz`` so that a resumed training uses the same ones.

    Raises
    ------
    cgbench.core.walltime.TimeLimitReached
        Training stopped early (SIGTERM, or a batch job's time limit) with ``last.ckpt`` written.

    Returns
    -------
    dict
        Training summary: epochs, steps, mean samples/s, last logged losses.
    """
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from ...core.walltime import TimeLimitReached, deadline
    from .checkpoint import ResumableCheckpoint, cluster_plugins, no_srun_hint
    from .module import DBM

    p = _split_params(params)
    if p["trainer"]["threads"]:
        torch.set_num_threads(int(p["trainer"]["threads"]))
    spec = load_spec(topology_npz, mapping_json, cg_topology_json)
    if int(p["trainer"]["epochs"]) == 0:
        return _as_it_is(p["trainer"]["init_from"], spec, model_out)
    data = dict(p["data"])
    frames = load_frames(aa_topology, aa_trajectory, spec, data.pop("frame_stride"))
    train_idx, _ = split(len(frames), data["train_fraction"])
    spec.template = frames.x[train_idx[0], : spec.n_atoms]
    L.seed_everything(data["seed"], workers=True)
    n_self = int(data.pop("self_frames"))
    init = p["trainer"]["init_from"]
    if n_self and not init:
        # an untrained model's backmaps are noise, and they would confine training to a few frames
        log.warning("dbm: self_frames=%d ignored: training starts from scratch (no init_from), so there is no "
                    "model whose backmaps could serve as neighbours", n_self)
        n_self = 0
    workdir = Path(workdir)
    _forget_other_training(workdir, _training_identity(params, backmap if n_self else None, aa_trajectory))
    resuming = (workdir / "checkpoints" / "last.ckpt").exists()
    if init:
        from . import shipped

        payload = shipped.read(init)
        if payload is None:
            raise CgbenchError(f"dbm: init_from {init} is not a cgbench DBM model file")
        if resuming:
            model = DBM(spec.to_dict(), **shipped.hparams(payload, p["model"]))
        else:
            model = shipped.build(payload, spec, p["model"])
            log.info("dbm: starting from the weights of %s (molecule %s)", init, payload["molecule_sha256"][:12])
    else:
        model = DBM(spec.to_dict(), **p["model"])
    generated = _self_frames(model, frames, train_idx, n_self, backmap, workdir / "self_frames.npz") if n_self else None
    dm = DBMDataModule(spec, frames, generated=generated, **data)
    ckpt_dir = workdir / "checkpoints"
    last = ckpt_dir / "last.ckpt"
    tr = p["trainer"]
    every = tr["checkpoint_minutes"]
    trainer = L.Trainer(
        max_epochs=int(tr["epochs"]), accelerator=tr["accelerator"], devices=tr["devices"],
        logger=CSVLogger(str(workdir), name="logs"), enable_progress_bar=bool(tr["progress_bar"]),
        log_every_n_steps=int(tr["log_every_n_steps"]), default_root_dir=str(workdir),
        callbacks=[ModelCheckpoint(dirpath=str(ckpt_dir), save_last=True, save_top_k=0, every_n_epochs=1),
                   ResumableCheckpoint(last, every_s=None if every is None else 60 * float(every),
                                       stop_at=deadline()), *callbacks],
        plugins=cluster_plugins(), num_sanity_val_steps=0, reload_dataloaders_every_n_epochs=1,
    )
    if last.exists():
        log.info("dbm: resuming from %s", last)
    try:
        with no_srun_hint():
            trainer.fit(model, datamodule=dm, ckpt_path=str(last) if last.exists() else None)
    except SIGTERMException:
        # Lightning ends the fit with SystemExit(None), which would exit 0 without a model
        raise TimeLimitReached(
            f"dbm: training stopped by SIGTERM at step {trainer.global_step}; the next attempt resumes from "
            f"{last}") from None
    Path(model_out).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(last, model_out)
    metrics = Path(trainer.logger.log_dir) / "metrics.csv"
    return summarise_log(metrics) | {"epochs": trainer.current_epoch, "steps": trainer.global_step,
                                     "generator_updates": int(model.generator_updates),
                                     "wall_s": float(model.train_seconds),
                                     "init_from": str(init) if init else None,
                                     "self_frames": len(generated[0]) if generated is not None else 0,
                                     "self_fraction": float(data["self_fraction"]) if generated is not None else 0.0}


def _as_it_is(init, spec, model_out):
    """No training (``epochs`` 0): the starting model, checked against the molecule, is the model."""
    if not init:
        raise CgbenchError("dbm: epochs 0 takes the starting model as it is, but init_from names none")
    load_model(init, "cpu", molecule=spec)
    Path(model_out).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(init, model_out)
    log.info("dbm: epochs 0: %s is this run's model, not trained further", init)
    return {"epochs": 0, "steps": 0, "generator_updates": 0, "wall_s": 0.0, "init_from": str(init),
            "self_frames": 0, "self_fraction": 0.0}


#: Settings that a training can change and still resume: its length and how it runs.
RESUMABLE_CHANGES = ("epochs", "progress_bar", "threads", "checkpoint_minutes", "log_every_n_steps", "accelerator",
                     "devices")


def _training_identity(params, backmap, aa_trajectory):
    """What a checkpoint in the work folder must have been trained with to be resumed (JSON-able)."""
    aa = Path(aa_trajectory)
    return {"params": {k: v for k, v in sorted((params or {}).items()) if k not in RESUMABLE_CHANGES},
            "self_backmap": backmap, "aa_trajectory": [str(aa.resolve()), aa.stat().st_size]}


def _forget_other_training(workdir, identity):
    """Remove checkpoints and generated frames of a training with other settings or data.

    A rerun resumes from ``last.ckpt`` (after a time limit, or with more epochs); a checkpoint of
    other settings or another AA run would silently continue the wrong training instead.
    """
    stamp = workdir / "training_identity.json"
    here = json.loads(json.dumps(identity, default=str))
    old = json.loads(stamp.read_text()) if stamp.exists() else None
    if old != here and (workdir / "checkpoints").exists():
        before = (old or {}).get("params", {})
        changed = sorted(k for k in set(before) | set(here["params"]) if before.get(k) != here["params"].get(k))
        what = ("no record of its settings" if old is None else
                "changed: " + ", ".join(changed) if changed else "another AA run or self-frame backmapping")
        log.warning("dbm: %s holds a training with other settings or data (%s); starting over", workdir, what)
        shutil.rmtree(workdir / "checkpoints")
        (workdir / "self_frames.npz").unlink(missing_ok=True)
    workdir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(here, indent=1))


def _self_frames(model, frames, train_idx, n, backmap, cache):
    """``n`` evenly spaced training frames and the starting model's backmaps of them (cached in ``cache``)."""
    import numpy as np

    from .backmap import Backmapper

    if cache.exists():
        z = np.load(cache)
        log.info("dbm: generated neighbours of %d training frames from %s", len(z["frames"]), cache)
        return z["frames"], z["x"]
    idx = train_idx[np.unique(np.linspace(0, len(train_idx) - 1, n).round().astype(int))]
    kw = {k: v for k, v in (backmap or {}).items() if k in BACKMAP_DEFAULTS and k not in ("accelerator", "threads")}
    x, info = Backmapper(model, **kw).run(frames.r[idx], frames.box[idx])
    log.info("dbm: backmapped %d training frames to serve as generated neighbours (%.0f s, %.2f %% of atoms in a "
             "clash)", len(idx), info["wall_s"], 100 * info["clash_atom_fraction"])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, frames=idx, x=x)
    return idx, x


def summarise_log(metrics_csv):
    """Mean samples/s and the last value of every logged quantity in a Lightning CSV log."""
    import pandas as pd

    path = Path(metrics_csv)
    if not path.exists():
        return {}
    df = pd.read_csv(path)
    out = {f"last_{c}": float(df[c].dropna().iloc[-1]) for c in df.columns if c not in ("step", "epoch")
           and df[c].notna().any()}
    if "samples_per_s" in df:
        out["mean_samples_per_s"] = float(df["samples_per_s"].dropna().mean())
    return out


def load_model(path, accelerator="auto", molecule=None):
    """A trained :class:`DBM`, on ``cuda`` when asked or available, else CPU.

    Parameters
    ----------
    path : path
        A Lightning checkpoint written by :func:`train`, or a shipped model (:mod:`.shipped`).
    molecule : MoleculeSpec, optional
        Refuse the model unless it was trained for this molecule.
    """
    import torch

    from . import shipped
    from .module import DBM

    if accelerator == "cuda" or (accelerator == "auto" and torch.cuda.is_available()):
        device = torch.device("cuda")
    else:
        device = torch.device("cpu")
    payload = shipped.read(path)
    if payload is not None:
        model = shipped.build(payload)
    else:
        model = DBM.load_from_checkpoint(str(path), map_location="cpu")
    if molecule is not None:
        shipped.check_molecule(model.spec, molecule, str(path))
    return model.to(device).eval()


def backmap(model, cg_structure, cg_trajectory, out_gro, out_xtc, params=None):
    """Backmap every frame of a CG trajectory to atoms.

    Parameters
    ----------
    model : path
        A checkpoint written by :func:`train`.
    cg_structure, cg_trajectory : path
        CG ``.gro`` and ``.xtc``/``.trr``: one particle per bead, molecule after molecule, beads in
        the mapping's order. ``cg_trajectory`` may be None to backmap the structure alone.
    out_gro, out_xtc : path
        The AA result, atoms in the AA topology's order (first frame as ``.gro``, all in ``.xtc``).
    params : dict
        :data:`BACKMAP_DEFAULTS` keys.

    Returns
    -------
    dict
        Frames, molecules, colours, wall time, molecules/s, device, mean bead energy of the kept
        candidates (kJ/mol) and the re-projection RMSD (nm) of the result against the CG input.
    """
    import torch

    from .io import read_trajectory, write_trajectory

    p = dict(BACKMAP_DEFAULTS)
    for k, v in (params or {}).items():
        if k not in p:
            raise CgbenchError(f"dbm: unknown backmapping parameter {k!r}")
        p[k] = v
    if p["threads"]:
        torch.set_num_threads(int(p["threads"]))
    net = load_model(model, p["accelerator"])
    r, box = read_trajectory(cg_structure, cg_trajectory)
    bm = Backmapper(net, p["n_gibbs"], p["n_candidates"], p["consistency"], p["batch_size"], p["conflict_cutoff_nm"],
                    p["seed"], p["selection"], p["temperature_K"], p["n_repair"], p["repair_candidates"],
                    p["clash_kT"])
    x, info = bm.run(r, box)
    spec = net.spec
    write_trajectory(out_gro, out_xtc, x, box, spec.atom_names, spec.resname)
    info.update(n_frames=int(r.shape[0]), n_molecules=int(r.shape[1] // spec.n_beads), device=str(net.device),
                consistency=p["consistency"], reprojection_rmsd_nm=reprojection_rmsd(x, r, box, spec.com_weights(), spec.bonds))
    return info


def evaluate(reference, backmapped, cg, topology_npz, mapping_json, cg_topology_json):
    """Compare a backmapped trajectory with the AA reference of the same frames.

    Parameters
    ----------
    reference, backmapped, cg : (path, path)
        (``.gro``, ``.xtc``) of the AA reference (e.g. :func:`write_test_set`'s ``aa_*``), of the
        backmap, and of the CG input it was made from.

    Returns
    -------
    dict
        See :func:`cgbench.backmap.dbm.metrics.evaluate`.
    """
    from .io import read_trajectory
    from .metrics import evaluate as _evaluate

    spec = load_spec(topology_npz, mapping_json, cg_topology_json)
    x_ref, box_ref = read_trajectory(*reference)
    x, box = read_trajectory(*backmapped)
    r, _ = read_trajectory(*cg)
    if x.shape != x_ref.shape or r.shape[0] != x.shape[0]:
        raise CgbenchError(f"frames do not correspond: reference {x_ref.shape}, backmap {x.shape}, CG {r.shape}")
    return _evaluate(x_ref, box_ref, x, box, r, spec)
