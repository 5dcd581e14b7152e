"""The ``cgbench`` command: tools that work outside the workflow.

    cgbench backmap --model resources/tmbt/dbm/model.pt cg.gro cg.xtc -o aa.gro aa.xtc

``backmap`` reconstructs atoms from any CG trajectory MDAnalysis reads (one particle per bead,
molecule after molecule, beads in the mapping's order) with a trained DBM model, frame by frame,
with a progress bar.
"""

import argparse
import logging
from pathlib import Path
import sys

from .core.errors import CgbenchError


def _molecule(top):
    """The molecule a ``--top`` names: a molecule YAML, or a molecule stage's output folder."""
    from .backmap import dbm

    top = Path(top)
    if top.is_dir():
        files = [top / f for f in ("topology.npz", "mapping.json", "cg_topology.json")]
        missing = [str(f) for f in files if not f.exists()]
        if missing:
            raise CgbenchError(f"--top {top}: a molecule folder needs {', '.join(missing)}")
        return dbm.load_spec(*files)
    if top.suffix in (".yaml", ".yml"):
        from .backmap.dbm.molecule import molecule_spec
        from .stages.molecule import prepare

        prep = prepare(top, seed=1)
        return molecule_spec(prep.topology, prep.mapping, prep.cg)
    raise CgbenchError(f"--top {top}: expected a molecule .yaml or the molecule stage's folder")


def backmap(args):
    import torch
    from tqdm import tqdm

    from .backmap import dbm
    from .backmap.dbm.backmap import Backmapper
    from .backmap.dbm.io import TrajectoryWriter, frame_chunks

    if args.threads:
        torch.set_num_threads(args.threads)
    molecule = _molecule(args.top) if args.top else None
    model = dbm.load_model(args.model, args.device, molecule=molecule)
    spec = model.spec
    if spec.template is None:
        raise CgbenchError(f"{args.model} has no start conformation (template); it cannot backmap")
    if len(args.output) > len(args.input):
        raise CgbenchError("an output trajectory needs an input trajectory")
    bm = Backmapper(model, args.n_gibbs, args.candidates, "project" if args.project else "none",
                    args.batch_size, None, args.seed, args.selection, args.temperature, args.repair,
                    args.repair_candidates, args.clash_kt)
    chunks = frame_chunks(*args.input, chunk=args.chunk)
    n_frames = next(chunks)
    out_traj = args.output[1] if len(args.output) > 1 else None
    writer = None
    with tqdm(total=n_frames, unit="frame", disable=args.quiet) as bar:
        for k, (r, box) in enumerate(chunks):
            if r.shape[1] % spec.n_beads:
                raise CgbenchError(f"{args.input[0]}: {r.shape[1]} particles are not whole molecules of "
                                   f"{spec.n_beads} beads ({spec.name})")
            bm.seed = args.seed + k
            x, info = bm.run(r, box)
            if writer is None:
                writer = TrajectoryWriter(args.output[0], out_traj, spec.atom_names, spec.resname, x.shape[1])
            writer.write(x, box)
            bar.set_postfix(mol_per_s=f"{info['molecules_per_s']:.1f}")
            bar.update(len(r))
    if writer is not None:
        writer.close()
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="cgbench", description="cgbench tools that work outside the workflow.")
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("backmap", help="Backmap a CG trajectory to atoms with a trained DBM model.",
                       description="Backmap a CG trajectory (one particle per bead, molecule after molecule) "
                                   "to atoms with a trained DBM model.")
    b.add_argument("--model", required=True, help="a shipped model (.pt) or a training checkpoint (.ckpt)")
    b.add_argument("--top", help="the molecule (its .yaml, or the molecule stage's folder); the model must "
                                 "belong to it")
    b.add_argument("input", nargs="+", metavar="CG", help="CG structure (.gro, ...) and optionally a trajectory")
    b.add_argument("-o", "--output", nargs="+", required=True, metavar="AA",
                   help="AA structure (.gro: the first frame) and optionally a trajectory (.xtc, .trr)")
    b.add_argument("--n-gibbs", type=int, default=2, help="per-atom Gibbs sweeps after the first (default 2)")
    b.add_argument("--candidates", type=int, default=4, help="candidates per generation (default 4)")
    b.add_argument("--project", action="store_true", help="translate each bead's atoms onto its CG bead")
    b.add_argument("--selection", choices=["min", "boltzmann"], default="min",
                   help="keep the lowest-energy candidate, or draw one at --temperature")
    b.add_argument("--temperature", type=float, default=450.0, help="K, for --selection boltzmann and --clash-kT")
    b.add_argument("--repair", type=int, default=0,
                   help="sweeps that regenerate only the beads with an atom in a clash (default 0)")
    b.add_argument("--repair-candidates", type=int, default=8, help="candidates per repaired bead (default 8)")
    b.add_argument("--clash-kT", dest="clash_kt", type=float, default=10.0,
                   help="LJ pair energy, in kT, above which an atom is in a clash (default 10)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--chunk", type=int, default=1, help="frames backmapped together (default 1)")
    b.add_argument("--batch-size", type=int, default=512, help="samples per network call")
    b.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    b.add_argument("--threads", type=int, default=None, help="CPU threads of torch")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if len(args.input) > 2 or len(args.output) > 2:
        ap.error("give a structure and at most one trajectory, for input and for output")
    try:
        return backmap(args)
    except CgbenchError as exc:
        print(f"cgbench backmap: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
