"""All-atom MD speed of TMBT with the study's settings (PME, 1.3 nm cut-offs, 1 fs, no constraints).

Packs N molecules, minimises, and times an NVT run. Prints one JSON line:
{"benchmark": "aa_md", "n_molecules", "n_atoms", "threads", "ps", "wall_s", "ns_per_day"}.

    python benchmarks/aa_md.py --molecules 64 --ps 5 --threads 2
"""

import argparse
import json
from pathlib import Path
import tempfile

from cgbench import aa, mdp
from cgbench.aa_run import run_stage
from cgbench.aa_stage import pack_system
from cgbench.config import validate
from cgbench.molecule_stage import prepare, write_outputs

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--molecules", type=int, default=64)
    ap.add_argument("--ps", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cutoff", type=float, default=1.3)
    args = ap.parse_args()
    cfg = validate({
        "molecule": str(ROOT / "resources/tmbt/molecule.yaml"),
        "aa": {"n_molecules": args.molecules, "cutoff_nm": args.cutoff, "energy_interval_ps": 0.1,
               "em": {"nsteps": 2000}, "nvt": {"time_ps": args.ps, "output_interval_ps": args.ps}},
    })["aa"]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        names = ["itp", "gro", "top", "topology", "mapping", "cg_topology", "votca_mapping", "summary"]
        files = {k: d / f"mol_{k}" for k in names}
        files.update(itp=d / "molecule.itp", gro=d / "molecule.gro", summary=d / "summary.json")
        write_outputs(prepare(ROOT / "resources/tmbt/molecule.yaml"), files)
        log = d / "log"
        # dense packing so that the timed run is at liquid-like density
        pack_system(files["gro"], files["itp"], files["summary"], d / "packed.gro", d / "system.top",
                    d / "sys.itp", args.molecules, 0.3, args.cutoff, 1, "gmx", log)
        (d / "system.top").write_text((d / "system.top").read_text().replace("molecule.itp", "sys.itp"))
        res = ROOT / "resources" / "mdp"
        prev = d / "packed.gro"
        for stage in ("em", "nvt"):
            (d / f"{stage}.mdp").write_text(mdp.render(res / aa.template(stage), aa.mdp_values(stage, cfg, 1), res / "common.mdp"))
            perf = run_stage(stage, d / f"{stage}.mdp", prev, d / "system.top", d / stage, {"gro": d / f"{stage}.gro"}, log, threads=args.threads)
            prev = d / f"{stage}.gro"
    print(json.dumps({
        "benchmark": "aa_md", "n_molecules": args.molecules, "n_atoms": args.molecules * 69,
        "threads": args.threads, "ps": args.ps, "wall_s": round(perf["wall_s"], 2), "ns_per_day": perf["ns_per_day"],
    }))


if __name__ == "__main__":
    main()
