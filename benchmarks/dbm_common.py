"""Shared set-up of the DBM benchmarks: TMBT and a synthetic liquid-density frame.

Timing only: the molecules are rigid copies of the RDKit conformation on a cubic lattice at the
liquid's molecular density (so environments hold as many beads as in the melt), randomly
oriented, and may overlap.
"""

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def tmbt_spec():
    from cgbench.backmap.dbm.molecule import molecule_spec
    from cgbench.stages.molecule import prepare

    prep = prepare(ROOT / "resources" / "tmbt" / "molecule.yaml", seed=1)
    return molecule_spec(prep.topology, prep.mapping, prep.cg, template=prep.molecule.positions)


def liquid_frames(spec, n_molecules, n_frames=1, density_g_cm3=1.05, seed=0):
    """``Frames`` of about ``n_molecules`` (rounded to a cube) at ``density_g_cm3``."""
    from scipy.spatial.transform import Rotation

    from cgbench.backmap.dbm.data import map_frames
    from cgbench.core.units import AMU_PER_NM3_TO_G_PER_CM3

    side = max(1, int(round(n_molecules ** (1 / 3))))
    n = side**3
    volume = spec.masses.sum() / (density_g_cm3 / AMU_PER_NM3_TO_G_PER_CM3)  # nm^3 per molecule
    spacing = volume ** (1 / 3)
    rng = np.random.default_rng(seed)
    t = spec.template - spec.template.mean(0)
    sites = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), -1).reshape(-1, 3)
    box = np.full(3, side * spacing)
    x = np.stack([
        np.concatenate([Rotation.random(random_state=rng.integers(1 << 31)).apply(t) + (s + 0.5) * spacing
                        for s in sites]) for _ in range(n_frames)])
    return map_frames(x.astype(np.float32), np.tile(box, (n_frames, 1)).astype(np.float32), spec), n
