"""All-atom MD speed of TMBT with the study's settings (PME, 1.3 nm cut-offs, 1 fs, no constraints).

Times an NVT run at liquid density: the workflow's equilibrated box (``results/aa`` of a finished
run: ``npt.gro``, ``system.top``, ``molecule.itp``) replicated n x n x n times with ``gmx genconf``,
briefly minimised. Without such a box, ``--pack N`` packs N molecules at the packing density
(0.3 g/cm3), a third of the liquid's, which overstates the speed about twofold. Prints one line:
{"benchmark": "aa_md", "n_molecules", "n_atoms", "density_g_cm3", "threads", "ps", "wall_s", "ns_per_day"}.

    python benchmarks/aa_md.py --replicate 3 --ps 1 --threads 2     # 1728 molecules from results/aa
    python benchmarks/aa_md.py --pack 64 --ps 5 --threads 2
"""

import argparse
import json
from pathlib import Path
import re
import shutil
import tempfile

import numpy as np

from cgbench.aa import protocol as aa
from cgbench.engines import mdp
from cgbench.engines.mdrun import run_stage
from cgbench.stages.aa import pack_system
from cgbench.core.config import validate
from cgbench.engines.gromacs import Gromacs, read_gro_box
from cgbench.stages.molecule import prepare, write_outputs

ROOT = Path(__file__).resolve().parents[1]
MOLAR_MASS_G = 537.7  # TMBT, C39H27N3


def replicate(liquid, n, d, log):
    """``n``^3 copies of the equilibrated box in ``liquid``; returns (structure, molecules)."""
    shutil.copyfile(liquid / "molecule.itp", d / "molecule.itp")
    top = (liquid / "system.top").read_text()
    count = int(re.search(r"^\S+\s+(\d+)\s*$", top.split("[ molecules ]")[1], re.M).group(1))
    (d / "system.top").write_text(re.sub(rf"(\S+\s+){count}\s*$", rf"\g<1>{count * n ** 3}\n", top.rstrip()))
    Gromacs().run(["genconf", "-f", liquid / "npt.gro", "-nbox", n, n, n, "-o", "start.gro"], d, log)
    return d / "start.gro", count * n ** 3


def pack(n_molecules, cutoff, d, log):
    names = ["itp", "gro", "top", "topology", "mapping", "cg_topology", "votca_mapping", "summary"]
    files = {k: d / f"mol_{k}" for k in names}
    files.update(itp=d / "molecule.itp", gro=d / "molecule.gro", summary=d / "summary.json")
    write_outputs(prepare(ROOT / "resources/tmbt/molecule.yaml"), files)
    pack_system(files["gro"], files["itp"], files["summary"], d / "start.gro", d / "system.top",
                d / "sys.itp", n_molecules, 0.3, cutoff, 1, "gmx", log)
    (d / "system.top").write_text((d / "system.top").read_text().replace("molecule.itp", "sys.itp"))
    return d / "start.gro", n_molecules


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--liquid", type=Path, default=ROOT / "results" / "aa",
                    help="folder with npt.gro, system.top and molecule.itp (default: results/aa)")
    ap.add_argument("--replicate", type=int, default=2, help="copies of the liquid box along each axis")
    ap.add_argument("--pack", type=int, metavar="N", help="pack N molecules instead (at 0.3 g/cm3)")
    ap.add_argument("--ps", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cutoff", type=float, default=1.3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        log = d / "log"
        if args.pack:
            start, n_mol = pack(args.pack, args.cutoff, d, log)
        else:
            if not (args.liquid / "npt.gro").exists():
                raise SystemExit(f"no equilibrated box in {args.liquid}: run the workflow first, or use --pack N")
            start, n_mol = replicate(args.liquid, args.replicate, d, log)
        cfg = validate({
            "molecule": str(ROOT / "resources/tmbt/molecule.yaml"),
            "aa": {"n_molecules": n_mol, "cutoff_nm": args.cutoff, "energy_interval_ps": 0.1,
                   "em": {"nsteps": 200}, "nvt": {"time_ps": args.ps, "output_interval_ps": args.ps}},
        })["aa"]
        res = ROOT / "resources" / "mdp"
        prev = start
        for stage in ("em", "nvt"):
            (d / f"{stage}.mdp").write_text(mdp.render(res / aa.template(stage), aa.mdp_values(stage, cfg, 1),
                                                       res / "common.mdp"))
            perf = run_stage(stage, d / f"{stage}.mdp", prev, d / "system.top", d / stage,
                             {"gro": d / f"{stage}.gro"}, log, threads=args.threads)
            prev = d / f"{stage}.gro"
        density = n_mol * MOLAR_MASS_G / 6.02214076e23 / (float(np.prod(read_gro_box(prev))) * 1e-21)
    print(json.dumps({
        "benchmark": "aa_md", "n_molecules": n_mol, "n_atoms": n_mol * 69, "density_g_cm3": round(density, 3),
        "threads": args.threads, "ps": args.ps, "wall_s": round(perf["wall_s"], 2), "ns_per_day": perf["ns_per_day"],
    }))


if __name__ == "__main__":
    main()
