"""Speed of the intermolecular AA RDFs (C-C, C-N, N-N; study Fig. 3) on a large synthetic box.

Molecules of TMBT's composition (39 C, 3 N, 27 H: 69 atoms) are random clusters of atoms around
random centres, at TMBT's liquid atom density (about 85 atoms/nm^3), so neighbour counts within
the cut-off are those of the real system. The study's box is 3000 molecules (207,000 atoms per
frame): ``--molecules 3000``. Also times the close-contact count. Prints one JSON line:
{"benchmark": "evaluate_rdf", "n_molecules", "n_atoms", "frames", "r_max_nm", "bins",
"rdf_s_per_frame", "contacts_s_per_frame", "pairs"}.

    python benchmarks/evaluate_rdf.py --molecules 300 --frames 2
"""

import argparse
import json
import time

import numpy as np

from cgbench.geometry.rdf import close_contacts, element_rdfs, molecule_index

#: TMBT, C39H27N3, as atomic numbers.
COMPOSITION = np.array([6] * 39 + [7] * 3 + [1] * 27)
#: Atoms per nm^3 in liquid TMBT (about 1.15 g/cm^3 at 537 g/mol, 69 atoms a molecule).
ATOM_DENSITY = 85.0


def synthetic_box(n_molecules, n_frames, seed):
    """(n_frames, n_molecules * 69, 3) positions (nm) and the cubic box edge (nm)."""
    n_atoms = COMPOSITION.size
    L = (n_molecules * n_atoms / ATOM_DENSITY) ** (1.0 / 3.0)
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, L, (n_frames, n_molecules, 1, 3))
    x = centres + rng.normal(0.0, 0.35, (n_frames, n_molecules, n_atoms, 3))
    return x.reshape(n_frames, -1, 3), L


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--molecules", type=int, default=300, help="molecules in the box (study: 3000)")
    ap.add_argument("--frames", type=int, default=2)
    ap.add_argument("--r-max", type=float, default=1.0, help="nm")
    ap.add_argument("--bins", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    x, L = synthetic_box(args.molecules, args.frames, args.seed)
    box = np.full((args.frames, 3), L)
    elements = np.tile(COMPOSITION, args.molecules)
    mol = molecule_index(args.molecules, COMPOSITION.size)
    t0 = time.perf_counter()
    element_rdfs(x, box, elements, mol, r_max=args.r_max, bins=args.bins)
    t1 = time.perf_counter()
    close_contacts(x, box, mol, threshold=0.1)
    t2 = time.perf_counter()
    print(json.dumps({
        "benchmark": "evaluate_rdf", "n_molecules": args.molecules, "n_atoms": int(x.shape[1]),
        "frames": args.frames, "r_max_nm": args.r_max, "bins": args.bins,
        "rdf_s_per_frame": round((t1 - t0) / args.frames, 4),
        "contacts_s_per_frame": round((t2 - t1) / args.frames, 4),
        "pairs": ["C-C", "C-N", "N-N"],
    }))


if __name__ == "__main__":
    main()
