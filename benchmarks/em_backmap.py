"""Speed of the EM baseline backmapping of TMBT: fragments, placement, GROMACS steepest descent.

CG frames are AA frames mapped to beads (the in-distribution case). Without ``--aa-dir`` a small
AA box is built first (pack, minimise, compress at 800 K and 1000 bar towards liquid density,
a short NVT run; not timed). Prints one JSON line:
{"benchmark": "em_backmap", "n_molecules", "n_atoms", "frames", "threads", "cutoff_nm", "density_g_cm3",
 "emtol", "library_s", "place_s", "em_s", "wall_s", "mean_steps", "ms_per_step", "molecules_per_s", "rmsd_nm"}
where molecules_per_s = n_molecules * frames / wall_s.

    python benchmarks/em_backmap.py --molecules 27 --frames 2 --threads 2
    python benchmarks/em_backmap.py --aa-dir results --frames 2   # results/aa/nvt.{tpr,trr}, results/molecule/*
"""

import argparse
import json
from pathlib import Path
import tempfile
import time

import numpy as np

from cgbench.aa import protocol as aa
from cgbench.engines import mdp
from cgbench.engines.mdrun import run_stage
from cgbench.stages.aa import pack_system
from cgbench.molecule.cgtopology import CGTopology
from cgbench.core.config import validate
from cgbench.backmap.em.assemble import place
from cgbench.backmap.em.backmap import backmap_frames, resolve_settings
from cgbench.backmap.em.fragments import build_library
from cgbench.backmap.em.minimise import Minimiser
from cgbench.molecule.mapping import Mapping
from cgbench.mapping.reference import map_trajectory
from cgbench.stages.molecule import prepare, write_outputs
from cgbench.molecule.topology import Topology
from cgbench.engines.trajectory import read_frames
from cgbench.core.units import AMU_PER_NM3_TO_G_PER_CM3

ROOT = Path(__file__).resolve().parents[1]


def build_aa(d, n_molecules, cutoff, threads, compress_ps):
    """A small AA run in ``d``; returns (molecule-stage files, nvt.tpr, nvt.trr)."""
    names = {"itp": "molecule.itp", "gro": "molecule.gro", "top": "molecule.top", "topology": "topology.npz",
             "mapping": "mapping.json", "cg_topology": "cg_topology.json", "votca_mapping": "votca.xml",
             "summary": "summary.json"}
    files = {k: d / v for k, v in names.items()}
    write_outputs(prepare(ROOT / "resources/tmbt/molecule.yaml"), files)
    cfg = validate({"molecule": str(ROOT / "resources/tmbt/molecule.yaml"), "aa": {
        "n_molecules": n_molecules, "cutoff_nm": cutoff, "energy_interval_ps": 0.1, "em": {"nsteps": 2000},
        "compress": {"time_ps": compress_ps, "temperature_K": 800, "pressure_bar": 1000},
        "nvt": {"time_ps": 0.2, "output_interval_ps": 0.05}}})["aa"]
    log = d / "aa.log"
    pack_system(files["gro"], files["itp"], files["summary"], d / "packed.gro", d / "system.top", d / "sys.itp",
                n_molecules, 0.3, cutoff, 1, "gmx", log)
    (d / "system.top").write_text((d / "system.top").read_text().replace("molecule.itp", "sys.itp"))
    res = ROOT / "resources" / "mdp"
    prev = d / "packed.gro"
    for stage in ("em", "compress", "nvt"):
        values = aa.mdp_values(stage, cfg, 1)
        (d / f"{stage}.mdp").write_text(mdp.render(res / aa.template(stage), values, res / "common.mdp"))
        outs = {"gro": d / f"{stage}.gro"}
        if stage == "nvt":
            outs.update(trr=d / "nvt.trr", tpr=d / "nvt.tpr")
        run_stage(stage, d / f"{stage}.mdp", prev, d / "system.top", d / stage, outs, log, threads=threads)
        prev = outs["gro"]
    return files, d / "nvt.tpr", d / "nvt.trr"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--molecules", type=int, default=27)
    ap.add_argument("--frames", type=int, default=2, help="CG frames to backmap (the last frames of the run)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cutoff", type=float, default=1.3)
    ap.add_argument("--emtol", type=float, default=None, help="default: cgbench.backmap.em.backmap.DEFAULTS")
    ap.add_argument("--compress-ps", type=float, default=15.0)
    ap.add_argument("--aa-dir", type=Path, default=None,
                    help="a results folder with aa/nvt.tpr, aa/nvt.trr and molecule/{topology.npz,...}")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        if args.aa_dir:
            mol = args.aa_dir / "molecule"
            files = {k: mol / v for k, v in {"itp": "molecule.itp", "topology": "topology.npz",
                                             "mapping": "mapping.json", "cg_topology": "cg_topology.json"}.items()}
            tpr, trr = args.aa_dir / "aa" / "nvt.tpr", args.aa_dir / "aa" / "nvt.trr"
        else:
            files, tpr, trr = build_aa(d, args.molecules, args.cutoff, args.threads, args.compress_ps)
        top = Topology.load_npz(files["topology"])
        mp = Mapping.from_dict(json.loads(Path(files["mapping"]).read_text()))
        bead_bonds = CGTopology.from_dict(json.loads(Path(files["cg_topology"]).read_text())).indices("bonds")
        ref = read_frames(tpr, trr, forces=False)
        n_mol = ref.positions.shape[1] // top.n_atoms
        settings = {"cutoff_nm": args.cutoff, "fourier_spacing_nm": 0.12, "ewald_rtol": 1e-5, "threads": args.threads}
        if args.emtol is not None:
            settings["emtol"] = args.emtol
        s = resolve_settings(settings)
        cg, _ = map_trajectory(ref, top, mp, n_mol)
        r, box = cg.positions[-args.frames:], cg.box[-args.frames:]

        t0 = time.perf_counter()
        lib = build_library(ref.positions, ref.box, top.bonds, mp, bead_bonds, n_mol, s["second_shell_weight"],
                            s["max_candidates"])
        t1 = time.perf_counter()
        place(r, box, lib, bead_bonds)
        t2 = time.perf_counter()
        minimiser = Minimiser(files["itp"], top.name, top.atom_names, top.resname, n_mol, s, d / "em", d / "em.log")
        _, table = backmap_frames(r, box, lib, mp, top.bonds, bead_bonds, minimiser)
        t3 = time.perf_counter()
    density = n_mol * top.masses.sum() / np.prod(box, axis=1).mean() * AMU_PER_NM3_TO_G_PER_CM3
    wall = t3 - t0
    print(json.dumps({
        "benchmark": "em_backmap", "n_molecules": n_mol, "n_atoms": n_mol * top.n_atoms, "frames": args.frames,
        "threads": args.threads, "cutoff_nm": args.cutoff, "density_g_cm3": round(float(density), 3),
        "emtol": s["emtol"], "library_s": round(t1 - t0, 3), "place_s": round(t2 - t1, 4),
        "em_s": round(t3 - t2, 2), "wall_s": round(wall, 2), "mean_steps": float(table["steps"].mean()),
        "ms_per_step": round(1000 * (t3 - t2) / table["steps"].sum(), 2),
        "molecules_per_s": round(n_mol * args.frames / wall, 3), "rmsd_nm": round(float(table["rmsd_nm"].mean()), 4),
    }))


if __name__ == "__main__":
    main()
