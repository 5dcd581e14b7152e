"""Paper-scale rehearsal: each stage's real code on a study-size TMBT box, timed and its peak memory read.

What it builds (once, into ``--workdir``, reused by later runs):

- a large AA system made by replicating the demo's equilibrated 64-molecule NVT box
  (``results/aa/nvt.tpr``/``.trr``) ``--replicate NX NY NZ`` times: 4 4 3 gives 3072 molecules
  (211,968 atoms), about the study's 3000. Its ``--frames`` frames are the last frames of the small run,
  each tiled over the large box, with their forces tiled too: the frames are periodic images of a
  liquid, not independent configurations, which is fine for timing and memory, not for physics.
- ``aa.gro``/``aa.trr`` (positions, box, forces) and ``aa_1.trr`` (the first frame alone), a
  ``system.top`` written by :func:`cgbench.engines.gromacs.system_top` with the molecule count changed, and
  ``aa.tpr`` from ``gmx grompp`` of the demo's NVT mdp (``results/aa/mdp/nvt.mdp``).

What it measures: each step below runs in a fresh Python process (so its peak resident memory,
``VmHWM``, is its own), twice: on 1 frame and on ``--frames`` frames (``dbm_backmap`` and
``em_backmap``, minutes per frame at full size on a CPU, on 1 frame only unless ``--all-frames``).
Engines a step starts (``gmx``, ``lmp``, ``csg_stat``) are measured apart: the largest ``VmHWM``
of the step's descendant processes, read from ``/proc`` every 20 ms (``csg_stat`` through GNU
``time``). The children's ``ru_maxrss`` cannot be used: it counts the Python process's pages that a
child holds between ``fork`` and ``exec``. The steps call the library functions the workflow's rules
call:

=============  =====================================================  ===========================
step           library call                                           rule(s) extrapolated to
=============  =====================================================  ===========================
mapping        ``stages.mapping.map_files`` (map, write, reference      map_aa
               distributions; streams in chunks)
testset        ``stages.backmap.make_testset`` (every frame of the    testset
               mapped run, read only where chosen)
csg_stat       ``stages.ibi.ibi_setup`` (not timed), then ``csg_stat``  ibi_chunk (one iteration's
               as ``csg_inverse`` calls it, on the mapped frames      analysis)
               written as a LAMMPS dump
cg_forces      ``stages.evaluate.cg_model_forces`` of model B (LAMMPS  cg_model_forces
               rerun on the mapped frames and the test set)
dbm_data       ``dbm.load_frames`` + ``DBMDataModule`` setup and      dbm_train (data only; the
               ``--batches`` training batches' environments           networks are not timed)
dbm_backmap    ``stages.dbm.backmap_files`` (``Backmapper``) of the    backmap_dbm
               test set, with the colouring and the environment
               building timed inside it
em_backmap     ``stages.backmap.backmap_files`` of the test set           backmap_em
evaluate       ``stages.evaluate.evaluate_set`` (gmx rerun forces,     evaluate_set, evaluate_aa
               element RDFs, clashes, re-projection RMSD) of the
               replicated AA frames against their mapping
=============  =====================================================  ===========================

How it extrapolates: time per frame is the difference of the two runs over the difference of
their frames, and the rest of the 1-frame run is the fixed cost; memory per frame likewise (noisy
at small sizes, where a frame is a fraction of a MB; a step measured on one frame counts its whole
time per frame and its measured peak as the job's memory, which the output says). Each
step is scaled to the frame counts of ``--config`` (merged over ``config/config.yaml`` as
Snakemake merges ``--configfile``): AA NVT frames, test-set frames, IBI iterations and frames per
iteration, DBM epochs and batches. Memory grows with the frames a step holds at once: a streaming
step holds at most one chunk (:func:`cgbench.engines.trajectory.default_chunk` at the measured size), a
whole-run step every frame. Every extrapolated figure carries its factor. A job estimated above
``--node-mem-gb`` (64) is flagged, and so is one longer than ``cluster.max_runtime_min`` that
cannot resume. Times are at the measured thread count (``--threads``), not scaled to other counts.

Prints one JSON line ({"benchmark": "paper_scale", ..., "steps": [...]}); ``--table`` adds a
Markdown table. Run it small first, then at full size on a node with the memory::

    python benchmarks/paper_scale.py --replicate 1 1 1 --frames 2 --table     # seconds
    python benchmarks/paper_scale.py --replicate 2 2 1 --frames 2 --table     # a few minutes
    python benchmarks/paper_scale.py --replicate 4 4 3 --frames 4 --threads 16 --table   # the study's size

It needs the demo's results (``results/aa``, ``results/molecule``, ``results/bonded``,
``results/ibi/potentials.csv``; ``make demo``) and, for ``dbm_backmap``, the shipped model
``resources/tmbt/dbm/model.pt`` (or ``--dbm-model``). ``--steps`` picks steps; ``--rebuild``
rewrites the system.
"""

import argparse
import copy
import itertools
import json
import math
import os
from pathlib import Path
import re
import subprocess
import sys
import time

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("mapping", "testset", "csg_stat", "cg_forces", "dbm_data", "dbm_backmap", "em_backmap", "evaluate")
#: Steps whose inputs come from another step's output of the same variant.
NEEDS = {"testset": ["mapping"], "csg_stat": ["mapping"], "cg_forces": ["mapping", "testset"],
         "dbm_backmap": ["mapping", "testset"], "em_backmap": ["mapping", "testset"], "evaluate": ["mapping"]}
#: Steps measured on one frame only unless ``--all-frames``: minutes per frame at the study's size on a CPU.
ONE_FRAME = ("dbm_backmap", "em_backmap")
MOLECULE = ("topology.npz", "mapping.json", "cg_topology.json", "molecule.itp", "summary.json")


# --------------------------------------------------------------------------- measuring
def peak_rss_mb():
    """Peak resident memory of this process, MB (VmHWM; ru_maxrss where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class EngineWatcher:
    """Largest peak resident memory (``VmHWM``, MB) of any process started below this one (the engines).

    ``ru_maxrss`` of the children cannot tell it: it counts the Python process's own pages that a child
    holds between ``fork`` and ``exec``. ``VmHWM`` of a running program counts only what that program
    touched, so ``/proc`` is read every ``interval`` seconds while the step runs; a program that lives
    shorter than that may be missed, and its last fraction of a second is not seen.
    """

    def __init__(self, interval=0.02):
        import threading

        self.interval, self.peak_mb, self.by_name = interval, 0.0, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _status(pid):
        out = {}
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in ("Name", "PPid", "VmHWM"):
                    out[key] = value.strip()
        except OSError:
            pass
        return out

    def _sample(self):
        me = os.getpid()
        table = {}
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                st = self._status(d.name)
                if "PPid" in st:
                    table[int(d.name)] = st
        below = {me}
        changed = True
        while changed:  # descendants of this process
            changed = False
            for pid, st in table.items():
                if pid not in below and int(st["PPid"]) in below:
                    below.add(pid)
                    changed = True
        for pid in below - {me}:
            st = table[pid]
            if "VmHWM" in st:
                mb = int(st["VmHWM"].split()[0]) / 1024
                self.peak_mb = max(self.peak_mb, mb)
                self.by_name[st["Name"]] = max(self.by_name.get(st["Name"], 0.0), mb)

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class Timer:
    """Wraps a function or method so that its calls and their seconds add up (for sub-timings)."""

    def __init__(self, owner, name):
        self.owner, self.name, self.orig = owner, name, getattr(owner, name)
        self.seconds, self.calls = 0.0, 0
        timer = self

        def wrapped(*a, **kw):
            t0 = time.perf_counter()
            try:
                return timer.orig(*a, **kw)
            finally:
                timer.seconds += time.perf_counter() - t0
                timer.calls += 1

        setattr(owner, name, wrapped)


# --------------------------------------------------------------------------- configuration
def merge(base, over):
    """``over`` merged into ``base`` recursively, as Snakemake merges a ``--configfile``."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def load_config(path):
    """The workflow's view of ``path``: merged over ``config/config.yaml`` and validated (defaults filled)."""
    import yaml

    from cgbench.core.config import validate

    base = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg = merge(base, yaml.safe_load(Path(path).read_text()) or {})
    cwd = os.getcwd()
    os.chdir(ROOT)  # the molecule path is relative to the repository
    try:
        return validate(cfg)
    finally:
        os.chdir(cwd)


def study_counts(cfg):
    """Frame counts, jobs and batches of a study, from a validated config."""
    aa, ibi, dbm = cfg["aa"], cfg["ibi"], cfg["dbm"]["train"]
    nvt = aa["nvt"]
    aa_frames = int(round(nvt["time_ps"] / nvt["output_interval_ps"])) + 1
    ibi_frames = int(round((ibi["run_ps"] - ibi["equilibration_ps"]) / ibi["output_interval_ps"])) + 1
    n_sets = 1 + len(cfg["cg_models"])
    methods = cfg["evaluate"]["methods"]
    stride = int(dbm.get("frame_stride", 1) or 1)
    train_frames = math.ceil(aa_frames / stride)
    per_epoch = dbm.get("samples_per_epoch")
    if per_epoch is None:  # every bead of every training frame
        per_epoch = int(train_frames * cfg["testsets"]["train_fraction"]) * aa["n_molecules"] * 7
    return {
        "n_molecules": aa["n_molecules"],
        "aa_frames": aa_frames,
        "testset_frames": cfg["testsets"]["n_frames"],
        "testsets": n_sets,
        "ibi_iterations": ibi["iterations"],
        "ibi_frames_per_iteration": ibi_frames,
        "ibi_iterations_per_job": ibi["chunk_iterations"] * ibi["chunks_per_job"],
        "cg_models": len(cfg["cg_models"]),
        "dbm_methods": sum(m.startswith("dbm") for m in methods),
        "em": "em" in methods,
        "methods": len(methods),
        "dbm_train_frames": train_frames,
        "dbm_batches": int(dbm["epochs"]) * max(1, int(per_epoch) // int(dbm["batch_size"])),
        "max_runtime_min": cfg["cluster"]["max_runtime_min"],
        "threads": dict(cfg["threads"]),
    }


#: Config keys that set the study's frame counts, reported with where their value came from.
COUNT_KEYS = ("aa.n_molecules", "aa.nvt.time_ps", "aa.nvt.output_interval_ps", "testsets.n_frames",
              "ibi.iterations", "ibi.run_ps", "ibi.output_interval_ps", "ibi.equilibration_ps",
              "ibi.chunk_iterations", "ibi.chunks_per_job", "dbm.train.epochs", "dbm.train.batch_size",
              "dbm.train.samples_per_epoch", "dbm.train.frame_stride", "evaluate.methods", "cluster.max_runtime_min")


def provenance(path, cfg):
    """Each of :data:`COUNT_KEYS`: its value, and whether ``path`` sets it, ``config/config.yaml`` (merged
    under it) does, or the schema's default."""
    import yaml

    def get(d, key):
        for part in key.split("."):
            if not isinstance(d, dict) or part not in d:
                return None, False
            d = d[part]
        return d, True

    own = yaml.safe_load(Path(path).read_text()) or {}
    base = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    out = {}
    for key in COUNT_KEYS:
        value, _ = get(cfg, key)
        src = ("config" if get(own, key)[1] else "config/config.yaml (merged under it)" if get(base, key)[1]
               else "schema default")
        out[key] = {"value": value, "from": Path(path).name if src == "config" else src}
    return out


def rule_resources():
    """``mem_mb`` and ``runtime`` of every rule in ``workflow/rules``: literal values, and constants
    that ``common.smk`` sets to a literal; anything computed is given by its name."""
    rules = ROOT / "workflow" / "rules"
    constants = {m.group(1): int(m.group(2))
                 for m in re.finditer(r"^([A-Z_]+) = (\d+)\s*$", (rules / "common.smk").read_text(), flags=re.M)}
    value = lambda v: int(v) if v.isdigit() else constants.get(v, v)
    out = {}
    for smk in sorted(rules.glob("*.smk")):
        for block in re.split(r"^rule ", smk.read_text(), flags=re.M)[1:]:
            name = block.split(":", 1)[0].strip()
            mem = re.search(r"mem_mb\s*=\s*(\w+)", block)
            run = re.search(r"runtime\s*=\s*([\w\[\]\"'.]+)", block)
            out[name] = {"mem_mb": value(mem.group(1)) if mem else None,
                         "runtime": value(run.group(1)) if run else None}
    return out


# --------------------------------------------------------------------------- building the system
def build(args):
    """Replicate the demo's NVT box into ``args.workdir`` (skipped when already built with these settings)."""
    from cgbench.engines.mdrun import ALLOWED_WARNINGS
    from cgbench.engines.gromacs import Gromacs, system_top
    from cgbench.geometry.pbc import make_whole
    from cgbench.molecule.topology import Topology
    from cgbench.engines.trajectory import Frames, FrameWriter, count_frames, iter_frames

    w = Path(args.workdir)
    res = Path(args.results)
    stamp = {"replicate": list(args.replicate), "frames": args.frames, "source": str(res.resolve())}
    if (w / "built.json").exists() and json.loads((w / "built.json").read_text()) == stamp and not args.rebuild:
        return json.loads((w / "system.json").read_text())
    w.mkdir(parents=True, exist_ok=True)
    (w / "built.json").unlink(missing_ok=True)
    t0 = time.perf_counter()
    mol = w / "molecule"
    mol.mkdir(exist_ok=True)
    for name in MOLECULE:
        (mol / name).write_bytes((res / "molecule" / name).read_bytes())
    top = Topology.load_npz(mol / "topology.npz")
    info = json.loads((mol / "summary.json").read_text())
    tpr, trr = res / "aa" / "nvt.tpr", res / "aa" / "nvt.trr"
    total = count_frames(tpr, trr)
    if total < args.frames:
        raise SystemExit(f"{trr} has {total} frames, fewer than --frames {args.frames}")
    idx = np.arange(total - args.frames, total)
    nx, ny, nz = args.replicate
    shifts = np.array(list(itertools.product(range(nx), range(ny), range(nz))), dtype=float)
    n_small = None
    n_mol = None
    names = resids = None
    writers = {}
    try:
        for k, fr in enumerate(iter_frames(tpr, trr, frames=idx, chunk=1)):
            if fr.forces is None:
                raise SystemExit(f"{trr} holds no forces")
            if n_small is None:
                n_small = fr.positions.shape[1] // top.n_atoms
                n_mol = n_small * len(shifts)
                names = list(top.atom_names) * n_mol
                resids = np.repeat(np.arange(1, n_mol + 1), top.n_atoms)
                writers["all"] = FrameWriter(w / "aa.gro", w / "aa.trr", names, [top.resname] * len(names), resids)
                writers["one"] = FrameWriter(w / "aa_1.gro", w / "aa_1.trr", names, [top.resname] * len(names), resids)
            L = fr.box[0]
            # molecules whole first: a molecule split by the small box's boundary would stay split in the large one
            whole = make_whole(fr.positions, fr.box, top.bonds, top.n_atoms)[0]
            # replica after replica, each the small box's molecules in order: molecules stay contiguous
            x = (whole[None] + (shifts * L)[:, None, :]).reshape(1, -1, 3)
            f = np.tile(fr.forces[0], (len(shifts), 1))[None]
            big = Frames(x, (L * np.array([nx, ny, nz], dtype=float))[None], fr.time.copy(), f)
            writers["all"].write(big)
            if k == 0:
                writers["one"].write(big)
    finally:
        for wr in writers.values():
            wr.close()
    # the system topology as the aa stage writes it, with the molecule count changed
    (w / "molecule.itp").write_bytes((res / "aa" / "molecule.itp").read_bytes())
    (w / "system.top").write_text(system_top("molecule.itp", info["name"], n_mol))
    (w / "nvt.mdp").write_bytes((res / "aa" / "mdp" / "nvt.mdp").read_bytes())
    Gromacs(args.gmx).grompp(w / "nvt.mdp", w / "aa.gro", w / "system.top", "aa.tpr", w, w / "build.log",
                             allow=ALLOWED_WARNINGS)
    system = {"n_molecules": n_mol, "n_atoms": n_mol * top.n_atoms, "n_beads": n_mol * 7,
              "atoms_per_molecule": top.n_atoms, "replicated_from": n_small, "source_frames": idx.tolist(),
              "box_nm": (L * np.array([nx, ny, nz])).round(4).tolist(), "build_s": round(time.perf_counter() - t0, 1),
              "trr_mb": round((w / "aa.trr").stat().st_size / 2**20, 1)}
    from cgbench.molecule.mapping import Mapping

    system["n_beads"] = n_mol * Mapping.from_dict(json.loads((mol / "mapping.json").read_text())).n_beads
    (w / "system.json").write_text(json.dumps(system))
    (w / "built.json").write_text(json.dumps(stamp))
    return system


# --------------------------------------------------------------------------- the steps (child side)
def _paths(args, variant):
    w = Path(args.workdir)
    v = w / f"v{variant}"
    mol = w / "molecule"
    return {
        "w": w, "v": v, "tpr": w / "aa.tpr", "trr": w / ("aa.trr" if variant != 1 else "aa_1.trr"),
        "aa_gro": w / "aa.gro", "top": w / "system.top", "mdp": w / "nvt.mdp",
        "topology": mol / "topology.npz", "mapping": mol / "mapping.json", "cg_topology": mol / "cg_topology.json",
        "itp": mol / "molecule.itp",
        "cg": {k: v / "mapping" / f for k, f in (("gro", "cg.gro"), ("trr", "cg.trr"), ("npz", "cg.npz"),
                                                   ("distributions", "reference.csv"))},
        "testset": {k: v / "testset" / f"A.{k}" for k in ("gro", "trr", "json")},
    }


def child(args):
    """Run one step on one variant (1 frame, or all frames) in this process; prints a JSON line."""
    step, variant = args.child, args.variant
    cfg = load_config(args.config)
    p = _paths(args, variant)
    out_dir = p["v"] / step
    out_dir.mkdir(parents=True, exist_ok=True)
    system = json.loads((p["w"] / "system.json").read_text())
    n_mol = system["n_molecules"]
    extra = {}
    res = Path(args.results)
    import logging

    logging.basicConfig(filename=str(out_dir / "step.log"), level=logging.INFO, force=True)
    with EngineWatcher() as engines:
        wall = _run_step(step, variant, args, cfg, p, out_dir, n_mol, res, extra)
    frames = 2 * variant if step == "cg_forces" else variant  # cg_forces: the mapped run and the test set
    print(json.dumps({"step": step, "frames": frames, "wall_s": wall, "peak_rss_mb": peak_rss_mb(),
                      "engine_peak_rss_mb": max(engines.peak_mb, extra.get("csg_stat_peak_rss_mb", 0.0)),
                      "engines_mb": {k: round(v, 1) for k, v in engines.by_name.items()}, **extra}))


def _run_step(step, variant, args, cfg, p, out_dir, n_mol, res, extra):
    """The measured call of ``step``; returns its wall time (s) and adds sub-timings to ``extra``."""
    if step == "mapping":
        from cgbench.stages.mapping import map_files

        p["cg"]["gro"].parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        map_files(p["tpr"], p["trr"], p["topology"], p["mapping"], p["cg_topology"], n_mol, cfg["cg"], p["cg"])
        wall = time.perf_counter() - t0
    elif step == "testset":
        from cgbench.stages.backmap import make_testset

        p["testset"]["gro"].parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        # a CG model's test set takes frames from the whole run: every frame of the variant here
        make_testset("A", p["cg"]["gro"], p["cg"]["trr"], variant, cfg["testsets"]["train_fraction"], p["testset"])
        wall = time.perf_counter() - t0
    elif step == "csg_stat":
        from cgbench import ibi
        from cgbench.stages import common as cg_common, ibi as cg_ibi
        from cgbench.engines import lammps
        from cgbench.molecule.cgtopology import KINDS
        from cgbench.engines.lammps import write_frames_dump
        from cgbench.engines.trajectory import iter_frames

        work = out_dir / "ibi"
        t0 = time.perf_counter()
        cg_ibi.ibi_setup(p["cg"]["npz"], p["cg"]["distributions"], res / "bonded" / "dbi_tables.csv",
                           res / "bonded" / "dbi_params.json", p["cg_topology"], cfg["ibi"], cfg["cg"]["cutoff_nm"],
                           cfg["aa"]["temperature_K"], cfg["seed"], work, out_dir / "setup.json", threads=args.threads)
        extra["ibi_setup_s"] = round(time.perf_counter() - t0, 2)
        top = cg_common.load_cg(p["cg_topology"])
        types = lammps.system_arrays(top, n_mol, KINDS)["types"]
        xs, boxes = [], []
        for fr in iter_frames(p["cg"]["gro"], p["cg"]["trr"], forces=False):
            xs.append(fr.positions)
            boxes.append(fr.box)
        # what LAMMPS writes during an iteration's run (the bead frames csg_stat reads), not timed
        write_frames_dump(work / ibi.TRAJ, np.concatenate(xs), np.concatenate(boxes), types)
        del xs, boxes
        cmd = ["csg_stat", "--nt", str(args.threads), "--options", str((work / ibi.SETTINGS).resolve()),
               "--top", ibi.TOPOLOGY, "--trj", ibi.TRAJ, "--begin", "0", "--first-frame", "0", "--ext", "dist.new"]
        gnu_time = Path("/usr/bin/time")
        if gnu_time.exists():  # its own peak, however short it runs (GNU time reads wait4 of a small parent)
            cmd = [str(gnu_time), "-f", "%M", "-o", str((out_dir / "csg_stat.maxrss_kb").resolve()), *cmd]
        t0 = time.perf_counter()
        with open(out_dir / "csg_stat.log", "w") as fh:
            subprocess.run(cmd, cwd=work, stdout=fh, stderr=subprocess.STDOUT, check=True)
        wall = time.perf_counter() - t0
        if gnu_time.exists():
            extra["csg_stat_peak_rss_mb"] = int((out_dir / "csg_stat.maxrss_kb").read_text().split()[-1]) / 1024
        extra["dump_mb"] = round((work / ibi.TRAJ).stat().st_size / 2**20, 1)
    elif step == "cg_forces":
        from cgbench.stages.evaluate import cg_model_forces

        model = "B" if "B" in cfg["cg_models"] else next(iter(cfg["cg_models"]))
        t0 = time.perf_counter()
        cg_model_forces(model, cfg["cg_models"][model], p["cg"]["npz"], p["testset"]["gro"], p["testset"]["trr"],
                        res / "ibi" / "potentials.csv", res / "bonded" / "dbi_tables.csv",
                        res / "bonded" / "dbi_params.json", res / "bonded" / "scales.json", p["cg_topology"],
                        cfg["cg"]["cutoff_nm"], out_dir / "work", {"npz": out_dir / f"{model}.npz"},
                        threads=args.threads)
        wall = time.perf_counter() - t0
        extra["model"] = model
    elif step == "dbm_data":
        import torch

        from cgbench.backmap import dbm
        from cgbench.backmap.dbm.data import DBMDataModule, split

        torch.set_num_threads(args.threads)
        data = dict(dbm._split_params(dict(cfg["dbm"]["train"]))["data"])
        spec = dbm.load_spec(p["topology"], p["mapping"], p["cg_topology"])
        t0 = time.perf_counter()
        fr = dbm.load_frames(p["tpr"], p["trr"], spec, data.pop("frame_stride"))
        t_load = time.perf_counter() - t0
        spec.template = fr.x[split(len(fr), data["train_fraction"])[0][0], : spec.n_atoms]
        dm = DBMDataModule(spec, fr, **data)
        t1 = time.perf_counter()
        dm.setup("fit")
        t_setup = time.perf_counter() - t1
        loader = iter(dm.train_dataloader())
        t2 = time.perf_counter()
        n_batches = 0
        for _ in range(args.batches):
            batch = next(loader, None)
            if batch is None:
                break
            dm.on_after_batch_transfer(batch, 0)
            n_batches += 1
        t_batches = time.perf_counter() - t2
        wall = time.perf_counter() - t0
        extra.update(load_s=round(t_load, 3), setup_s=round(t_setup, 3), batches=n_batches,
                     batch_s=round(t_batches / max(1, n_batches), 4), max_env_beads=int(dm.max_env_beads),
                     frames_bytes_mb=round((fr.x.nbytes + fr.r.nbytes + fr.box.nbytes) / 2**20, 1))
    elif step == "dbm_backmap":
        import importlib

        from cgbench.stages import dbm as dbm_stage

        # the package's ``backmap`` is a function that hides the module of the same name
        bm_mod = importlib.import_module("cgbench.backmap.dbm.backmap")
        fr_mod = importlib.import_module("cgbench.backmap.dbm.frames")

        colour = Timer(bm_mod, "colour_beads")
        count = Timer(fr_mod.EnvironmentBuilder, "count")
        env = Timer(fr_mod.EnvironmentBuilder, "__call__")
        params = dict(cfg["dbm"]["backmap"])
        t0 = time.perf_counter()
        dbm_stage.backmap_files(args.dbm_model, p["testset"]["gro"], p["testset"]["trr"], params, "none",
                                args.threads, {"gro": out_dir / "bm.gro", "trajectory": out_dir / "bm.trr",
                                               "json": out_dir / "bm.json"})
        wall = time.perf_counter() - t0
        info = json.loads((out_dir / "bm.json").read_text())
        extra.update(colour_s=round(colour.seconds, 3), env_count_s=round(count.seconds, 3),
                     env_build_s=round(env.seconds, 3), env_build_calls=env.calls, n_colours=info.get("n_colours"),
                     device=info.get("device"), n_candidates=params.get("n_candidates"), n_gibbs=params.get("n_gibbs"))
    elif step == "em_backmap":
        from cgbench.stages.backmap import backmap_files

        aa = cfg["aa"]
        settings = {**cfg["em"], "cutoff_nm": aa["cutoff_nm"], "fourier_spacing_nm": aa["fourier_spacing_nm"],
                    "ewald_rtol": aa["ewald_rtol"], "reference_fraction": cfg["testsets"]["train_fraction"],
                    "threads": args.threads, "executable": args.gmx}
        t0 = time.perf_counter()
        backmap_files(p["testset"]["gro"], p["testset"]["trr"], p["topology"], p["mapping"], p["cg_topology"],
                      p["itp"], p["tpr"], p["trr"], settings,
                      {"gro": out_dir / "em.gro", "trajectory": out_dir / "em.trr", "csv": out_dir / "em.csv"},
                      out_dir / "work", out_dir / "gmx.log")
        wall = time.perf_counter() - t0
    elif step == "evaluate":
        from cgbench.stages.evaluate import evaluate_set

        t0 = time.perf_counter()
        # the replicated AA frames stand for a backmap of their own mapping (costs do not depend on which)
        evaluate_set(p["aa_gro"], p["trr"], p["cg"]["gro"], p["cg"]["trr"], p["topology"], p["mapping"], n_mol,
                     p["mdp"], p["top"], cfg["evaluate"] | {"temperature_K": cfg["aa"]["temperature_K"]}, out_dir / "work",
                     {"npz": out_dir / "eval.npz"},
                     threads=args.threads, executable=args.gmx)
        wall = time.perf_counter() - t0
    else:
        raise SystemExit(f"unknown step {step}")
    return wall


# --------------------------------------------------------------------------- the parent
def run_child(args, step, variant):
    cmd = [sys.executable, __file__, "--child", step, "--variant", str(variant), "--workdir", str(args.workdir),
           "--results", str(args.results), "--config", str(args.config), "--threads", str(args.threads),
           "--batches", str(args.batches), "--dbm-model", str(args.dbm_model), "--gmx", args.gmx]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"step": step, "frames": variant, "error": (proc.stderr or proc.stdout).strip().splitlines()[-3:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fit(one, many):
    """Fixed cost and cost per frame from a 1-frame and an n-frame run (per frame >= 0)."""
    if many is None or many["frames"] == one["frames"]:
        return None, None
    df = many["frames"] - one["frames"]
    per_t = max(0.0, (many["wall_s"] - one["wall_s"]) / df)
    per_m = max(0.0, (many["peak_rss_mb"] - one["peak_rss_mb"]) / df)
    per_e = max(0.0, (many["engine_peak_rss_mb"] - one["engine_peak_rss_mb"]) / df)
    return (max(0.0, one["wall_s"] - per_t * one["frames"]), per_t), (one["peak_rss_mb"] - per_m * one["frames"],
                                                                     per_m, one["engine_peak_rss_mb"] - per_e * one["frames"], per_e)


def extrapolate(step, one, many, system, counts, rules, node_mem_gb):
    """Per-step row: measurements and the study's job time and memory, each with its factor."""
    from cgbench.engines.trajectory import default_chunk

    t, m = fit(one, many)
    ref = many or one
    row = {"step": step, "n_molecules": system["n_molecules"], "n_atoms": system["n_atoms"],
           "n_beads": system["n_beads"], "frames": [one["frames"], *([many["frames"]] if many else [])],
           "wall_s": [round(one["wall_s"], 3), *([round(many["wall_s"], 3)] if many else [])],
           "peak_rss_mb": [round(one["peak_rss_mb"], 1), *([round(many["peak_rss_mb"], 1)] if many else [])],
           "engine_peak_rss_mb": [round(one["engine_peak_rss_mb"], 1),
                                  *([round(many["engine_peak_rss_mb"], 1)] if many else [])]}
    row.update({k: v for k, v in ref.items() if k not in ("step", "frames", "wall_s", "peak_rss_mb",
                                                          "engine_peak_rss_mb")})
    if t is None:
        t = (0.0, one["wall_s"] / one["frames"])
        m = (one["peak_rss_mb"], 0.0, one["engine_peak_rss_mb"], 0.0)
        row["note"] = ("one frame count measured: its whole time counts per frame (an upper bound), and memory "
                       "per frame is not separated (the job's memory is the measured peak; use --all-frames)")
    if step == "dbm_data" and ref.get("frames_bytes_mb"):
        # the frames DBM keeps are arrays of known size; a 1-or-2-frame difference of peaks is too noisy for them
        per = ref["frames_bytes_mb"] / ref["frames"]
        if per > m[1]:
            m = (ref["peak_rss_mb"] - per * ref["frames"], per, m[2], m[3])
            row["memory_note"] = "per-frame memory from the kept frames' array sizes (larger than the fitted slope)"
    row["fixed_s"], row["s_per_frame"] = round(t[0], 3), round(t[1], 4)
    row["mb_per_frame"], row["engine_mb_per_frame"] = round(m[1], 2), round(m[3], 2)
    c = counts
    size = c["n_molecules"] / system["n_molecules"]
    chunk_aa = default_chunk(system["n_atoms"], forces=True)
    chunk_cg = default_chunk(system["n_beads"], forces=True)
    # (rule, jobs, frames per job, frames held in memory at once, how memory grows, resumes?)
    plans = {
        "mapping": [("map_aa", 1, c["aa_frames"], min(c["aa_frames"], chunk_aa), "chunk", False)],
        "testset": [("testset", c["testsets"], c["testset_frames"], min(c["testset_frames"], chunk_cg), "chunk", False)],
        "csg_stat": [("ibi_chunk", math.ceil(c["ibi_iterations"] / c["ibi_iterations_per_job"]),
                      c["ibi_frames_per_iteration"], None, "engine", True)],
        "cg_forces": [("cg_model_forces", c["cg_models"], c["aa_frames"] + c["testset_frames"],
                       c["aa_frames"] + c["testset_frames"], "whole run", False)],
        "dbm_data": [("dbm_train", 1, c["dbm_train_frames"], c["dbm_train_frames"], "whole run", True)],
        "dbm_backmap": [("backmap_dbm", c["testsets"] * c["dbm_methods"], c["testset_frames"], c["testset_frames"],
                         "whole run", False)],
        "em_backmap": [("backmap_em", c["testsets"] if c["em"] else 0, c["testset_frames"], c["testset_frames"],
                        "whole run", False)],
        "evaluate": [("evaluate_aa", 1, c["aa_frames"], min(c["aa_frames"], chunk_aa), "chunk", False),
                     ("evaluate_set", c["testsets"] * c["methods"], c["testset_frames"],
                      min(c["testset_frames"], chunk_aa), "chunk", False)],
    }[step]
    jobs, flags = [], []
    for rule, n_jobs, n_frames, held, growth, resumes in plans:
        if step == "csg_stat":
            per_iter = t[0] + t[1] * n_frames
            job_s = per_iter * c["ibi_iterations_per_job"]
            total_s = per_iter * c["ibi_iterations"]
            held = n_frames
            how = (f"({row['fixed_s']} s + {row['s_per_frame']} s x {n_frames} frames) per iteration x "
                   f"{c['ibi_iterations_per_job']} iterations per job; csg_stat only, LAMMPS not included")
        elif step == "dbm_data":
            load = ref["load_s"] / ref["frames"]
            setup = ref["setup_s"] / min(10, ref["frames"])
            job_s = load * n_frames + setup * min(10, n_frames) + ref["batch_s"] * c["dbm_batches"]
            total_s = job_s
            how = (f"{load:.3g} s x {n_frames} frames read + {setup:.3g} s x {min(10, n_frames)} frames of environment "
                   f"counting + {ref['batch_s']} s x {c['dbm_batches']} batches of environments (networks not included)")
        else:
            job_s = t[0] + t[1] * n_frames
            total_s = job_s * n_jobs
            how = f"{row['fixed_s']} s + {row['s_per_frame']} s x {n_frames} frames"
        if step == "csg_stat":
            mem_mb = m[2] + m[3] * held
            mem_how = f"csg_stat: {m[2]:.0f} MB + {m[3]:.2f} MB x {held} frames"
        else:
            mem_py = m[0] + m[1] * held
            mem_eng = m[2] + m[3] * held
            mem_mb = mem_py + mem_eng
            mem_how = (f"python {m[0]:.0f} MB + {m[1]:.2f} MB x {held} frames held ({growth}) + engine "
                       f"{m[2]:.0f} MB + {m[3]:.2f} MB x {held}")
            if "note" in row and growth == "whole run":
                mem_how += " (memory per frame not measured: an underestimate)"
        job = {"rule": rule, "jobs": n_jobs, "frames_per_job": n_frames, "frames_held": held, "memory_grows": growth,
               "job_hours": round(job_s / 3600, 3), "all_jobs_hours": round(total_s / 3600, 3),
               "job_mem_gb": round(mem_mb / 1024, 2), "time_from": how, "memory_from": mem_how,
               "size_factor": round(size, 3), "rule_mem_mb": rules.get(rule, {}).get("mem_mb"),
               "rule_runtime": rules.get(rule, {}).get("runtime")}
        if mem_mb / 1024 > node_mem_gb:
            flags.append(f"{rule}: {mem_mb / 1024:.1f} GB per job exceeds a {node_mem_gb:g} GB node")
        elif job["rule_mem_mb"] and mem_mb > job["rule_mem_mb"]:
            flags.append(f"{rule}: {mem_mb / 1024:.1f} GB per job is above the rule's mem_mb={job['rule_mem_mb']}")
        runtime = job["rule_runtime"]
        if isinstance(runtime, int) and job_s / 60 > runtime:
            flags.append(f"{rule}: {job_s / 60:.0f} min per job is above the rule's runtime={runtime}")
        if not resumes and job_s / 60 > c["max_runtime_min"]:
            flags.append(f"{rule}: {job_s / 3600:.1f} h per job exceeds cluster.max_runtime_min "
                         f"({c['max_runtime_min']} min) and does not resume")
        jobs.append(job)
    row["study"] = jobs
    row["flags"] = flags
    return row


def markdown(rows):
    lines = ["| step | system | frames | time per frame (s) | peak RSS (MB): python / engine | study rule | jobs x frames "
             "| job time (h) | job memory (GB) | rule mem_mb | flags |",
             "|---|---|---|---:|---|---|---|---:|---:|---:|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['step']} | | | | | | | | | | failed: {' '.join(r['error'])[:200]} |")
            continue
        size = f"{r['n_molecules']} mol, {r['n_atoms']:,} atoms / {r['n_beads']:,} beads"
        for k, j in enumerate(r["study"]):
            first = k == 0
            lines.append(
                f"| {r['step'] if first else ''} | {size if first else ''} | "
                f"{'/'.join(map(str, r['frames'])) if first else ''} | {r['s_per_frame'] if first else ''} | "
                f"{(' / '.join(f'{a:.0f}+{b:.0f}' for a, b in zip(r['peak_rss_mb'], r['engine_peak_rss_mb']))) if first else ''} | "
                f"{j['rule']} | {j['jobs']} x {j['frames_per_job']} | {j['job_hours']:.3g} | {j['job_mem_gb']:.3g} | "
                f"{j['rule_mem_mb'] or ''} | {'; '.join(f for f in r['flags'] if f.startswith(j['rule'] + ':'))} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicate", type=int, nargs=3, default=[4, 4, 3], metavar=("NX", "NY", "NZ"),
                    help="copies of the demo's box along x, y, z (4 4 3: 3072 molecules)")
    ap.add_argument("--frames", type=int, default=4, help="frames of the replicated run (the last of the demo's)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/cgbench_paper_scale"))
    ap.add_argument("--results", type=Path, default=ROOT / "results", help="the demo's results folder")
    ap.add_argument("--config", type=Path, default=ROOT / "config" / "paper.yaml", help="the study to extrapolate to")
    ap.add_argument("--threads", type=int, default=1, help="threads of every engine and of torch")
    ap.add_argument("--batches", type=int, default=5, help="DBM training batches whose environments are built")
    ap.add_argument("--dbm-model", type=Path, default=ROOT / "resources" / "tmbt" / "dbm" / "model.pt")
    ap.add_argument("--gmx", default="gmx")
    ap.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS))
    ap.add_argument("--all-frames", action="store_true",
                    help=f"run {' and '.join(ONE_FRAME)} on all --frames frames too, not only on one (slow at full "
                         f"size on a CPU; separates their memory per frame)")
    ap.add_argument("--node-mem-gb", type=float, default=64.0, help="memory of the node a job must fit")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the replicated system")
    ap.add_argument("--table", action="store_true", help="also print a Markdown table")
    ap.add_argument("--child", choices=STEPS, help=argparse.SUPPRESS)
    ap.add_argument("--variant", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.workdir, args.results = args.workdir.resolve(), args.results.resolve()
    args.config, args.dbm_model = args.config.resolve(), args.dbm_model.resolve()
    if args.child:
        child(args)
        return
    if args.frames < 1:
        raise SystemExit("--frames must be at least 1")
    system = build(args)
    cfg = load_config(args.config)
    counts = study_counts(cfg)
    rules = rule_resources()
    variants = sorted({1, args.frames})
    wanted = list(dict.fromkeys(s for step in args.steps for s in (*NEEDS.get(step, []), step)))
    wanted = [s for s in STEPS if s in wanted]
    measured = {}
    for variant in variants:
        for step in wanted:
            if variant > 1 and step in ONE_FRAME and not args.all_frames:
                continue
            if any("error" in measured.get((d, variant), {}) for d in NEEDS.get(step, [])):
                measured[step, variant] = {"step": step, "frames": variant, "error": ["an input step failed"]}
                continue
            measured[step, variant] = run_child(args, step, variant)
    rows, flags = [], []
    for step in args.steps:
        one = measured[step, 1]
        many = measured.get((step, args.frames)) if args.frames > 1 else None
        bad = [r for r in (one, many) if r is not None and "error" in r]
        if bad:
            rows.append({"step": step, "error": bad[0]["error"]})
            flags.append(f"{step}: failed: {' '.join(bad[0]['error'])[-300:]}")
            continue
        row = extrapolate(step, one, many, system, counts, rules, args.node_mem_gb)
        rows.append(row)
        flags += row["flags"]
    done = [measured[k] for k in sorted(measured) if k[0] == "dbm_backmap" and "error" not in measured[k]]
    if "dbm_backmap" in args.steps and done:
        r = done[-1]
        if r["wall_s"] > 0 and r["env_build_s"] / r["wall_s"] > 0.3:
            flags.append(f"dbm_backmap: environment building (distances from each generated bead to every bead of its "
                         f"frame, no cell list) takes {r['env_build_s'] / r['wall_s']:.0%} of the backmap; its work per "
                         f"frame grows as the square of the beads")
    result = {"benchmark": "paper_scale", "replicate": args.replicate, "system": system, "threads": args.threads,
              "config": str(args.config), "study": counts, "study_keys": provenance(args.config, cfg),
              "node_mem_gb": args.node_mem_gb,
              "note": "frames are tiled copies of the demo's last frames (forces tiled too): right for time and memory, "
                      "not for physics; study figures are extrapolated from the measured size with the factors given",
              "steps": rows, "flags": flags}
    print(json.dumps(result))
    if args.table:
        print()
        print(markdown(rows))


if __name__ == "__main__":
    main()
