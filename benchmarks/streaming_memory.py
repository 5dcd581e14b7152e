"""Peak memory of the mapping stage (``map_aa``) against the number of frames.

A synthetic AA trajectory of TMBT with forces (rigid copies of one conformer, randomly placed and
oriented at the liquid's atom density; they may overlap, which mapping does not mind) is written
for a short and a long run. Each run is mapped in a fresh Python process, whose peak resident
memory (``VmHWM``) is read at its end:

- ``streaming``: :func:`cgbench.stages.mapping.map_files`, a chunk of ``--chunk`` frames at a time;
- ``in_memory``: the same stage done the whole-trajectory way (``read_frames``, ``map_trajectory``,
  ``write_frames``, ``numpy.savez_compressed``, ``reference_table``), for contrast;
- ``baseline``: a process that only imports what the stage imports.

Streaming's peak should not grow with the frames; the whole-trajectory peak grows by about 48
bytes per atom and frame (float64 positions and forces) and more. Prints one JSON line:
{"benchmark": "streaming_memory", "n_molecules", "n_atoms", "chunk", "frames", "baseline_peak_mb",
"streaming_peak_mb", "in_memory_peak_mb", "streaming_s", "in_memory_s", "trr_mb"}; list entries
follow ``frames``.

    python benchmarks/streaming_memory.py --molecules 200 --frames 20 200 --chunk 10
"""

import argparse
import json
from pathlib import Path
import subprocess
import sys
import tempfile
import time

import numpy as np

# run as a script, so its folder is on the path
from paper_scale import peak_rss_mb

ROOT = Path(__file__).resolve().parents[1]
#: Atoms per nm^3 in liquid TMBT (about 1.15 g/cm^3 at 537 g/mol, 69 atoms a molecule).
ATOM_DENSITY = 85.0
#: The demo's ``cg`` histogram settings.
BINS = {"bond_bin_nm": 0.002, "bond_max_nm": 1.0, "angle_bin_deg": 1.0, "dihedral_bin_deg": 2.0,
        "rdf_bin_nm": 0.01, "cutoff_nm": 1.2}


def write_inputs(d, n_molecules, n_frames, seed):
    """Molecule-stage files and an AA ``.gro``/``.trr`` (with forces) of ``n_frames`` frames in ``d``."""
    from cgbench.stages.molecule import prepare, write_outputs
    from cgbench.geometry.pbc import wrap
    from cgbench.engines.trajectory import Frames, FrameWriter

    prep = prepare(ROOT / "resources" / "tmbt" / "molecule.yaml", seed=1)
    names = {"itp": "molecule.itp", "gro": "molecule.gro", "top": "molecule.top", "topology": "topology.npz",
             "mapping": "mapping.json", "cg_topology": "cg_topology.json", "votca_mapping": "votca_mapping.xml",
             "summary": "summary.json"}
    write_outputs(prep, {k: d / v for k, v in names.items()})
    top = prep.topology
    n = top.n_atoms
    L = (n_molecules * n / ATOM_DENSITY) ** (1.0 / 3.0)
    x0 = prep.molecule.positions - prep.molecule.positions.mean(0)
    rng = np.random.default_rng(seed)
    box = np.full((1, 3), L)
    with FrameWriter(d / "aa.gro", d / "aa.trr", list(top.atom_names) * n_molecules, [top.resname] * (n * n_molecules),
                     np.repeat(np.arange(1, n_molecules + 1), n)) as w:
        for k in range(n_frames):  # one frame at a time: the parent's memory does not matter, but keep it small
            q = np.linalg.qr(rng.normal(size=(n_molecules, 3, 3)))[0]
            x = np.einsum("ak,mjk->maj", x0, q) + rng.uniform(0, L, (n_molecules, 1, 3))
            f = rng.normal(scale=300.0, size=(1, n_molecules * n, 3))
            w.write(Frames(wrap(x.reshape(1, -1, 3), box), box, np.array([float(k)]), f))
    return top.n_atoms * n_molecules


def child(mode, d, n_molecules, chunk):
    """One measured run in this process; prints {"peak_mb", "wall_s"}."""
    import json as _json

    import numpy as _np
    import pandas  # noqa: F401  (imported by the stage; counted in every mode alike)

    from cgbench.molecule.cgtopology import CGTopology
    from cgbench.molecule.mapping import Mapping
    from cgbench.mapping.reference import map_trajectory, reference_table
    from cgbench.stages.mapping import map_files
    from cgbench.molecule.topology import Topology
    from cgbench.engines.trajectory import read_frames, write_frames

    d = Path(d)
    files = (d / "topology.npz", d / "mapping.json", d / "cg_topology.json")
    out = {k: d / f"{mode}_{v}" for k, v in {"gro": "cg.gro", "trr": "cg.trr", "npz": "cg.npz",
                                             "distributions": "distributions.csv"}.items()}
    t0 = time.perf_counter()
    if mode == "streaming":
        map_files(d / "aa.gro", d / "aa.trr", *files, n_molecules, BINS, out, chunk=chunk)
    elif mode == "in_memory":
        top = Topology.load_npz(files[0])
        mp = Mapping.from_dict(_json.loads(files[1].read_text()))
        cg = CGTopology.from_dict(_json.loads(files[2].read_text()))
        frames, mean = map_trajectory(read_frames(d / "aa.gro", d / "aa.trr"), top, mp, n_molecules)
        nb = len(cg.bead_names)
        write_frames(out["gro"], out["trr"], frames, list(cg.bead_names) * n_molecules,
                     [top.resname] * (nb * n_molecules), _np.repeat(_np.arange(1, n_molecules + 1), nb))
        _np.savez_compressed(out["npz"], positions=frames.positions, box=frames.box, time=frames.time,
                             forces_net=frames.forces, forces_mean=mean, bead_types=_np.asarray(cg.bead_types),
                             n_molecules=n_molecules, last_positions=frames.positions[-1], last_box=frames.box[-1])
        reference_table(frames.positions, frames.box, cg, n_molecules, BINS).to_csv(out["distributions"], index=False)
    print(_json.dumps({"peak_mb": peak_rss_mb(), "wall_s": time.perf_counter() - t0}))


def measure(mode, d, n_molecules, chunk):
    res = subprocess.run([sys.executable, __file__, "--child", mode, str(d), "--molecules", str(n_molecules),
                          "--chunk", str(chunk)], capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--molecules", type=int, default=200, help="molecules in the box (study: 3000)")
    ap.add_argument("--frames", type=int, nargs="+", default=[20, 200], help="run lengths to compare")
    ap.add_argument("--chunk", type=int, default=10, help="frames per chunk of the streaming run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", nargs=2, metavar=("MODE", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.molecules, args.chunk)
        return
    result = {"benchmark": "streaming_memory", "n_molecules": args.molecules, "chunk": args.chunk,
              "frames": args.frames, "baseline_peak_mb": [], "streaming_peak_mb": [], "in_memory_peak_mb": [],
              "streaming_s": [], "in_memory_s": [], "trr_mb": []}
    for n_frames in args.frames:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            result["n_atoms"] = write_inputs(d, args.molecules, n_frames, args.seed)
            result["trr_mb"].append(round((d / "aa.trr").stat().st_size / 2**20, 1))
            result["baseline_peak_mb"].append(round(measure("baseline", d, args.molecules, args.chunk)["peak_mb"], 1))
            for mode in ("streaming", "in_memory"):
                r = measure(mode, d, args.molecules, args.chunk)
                result[f"{mode}_peak_mb"].append(round(r["peak_mb"], 1))
                result[f"{mode}_s"].append(round(r["wall_s"], 2))
            a = np.load(d / "streaming_cg.npz")
            b = np.load(d / "in_memory_cg.npz")
            if not all(np.array_equal(a[k], b[k]) for k in ("positions", "forces_net", "forces_mean")):
                raise SystemExit("streaming and in-memory mapping differ")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
