"""Small synthetic data for the DBM tests (a plain module, imported by tests/*/test_dbm_*.py).

Frames are rigid copies of the RDKit conformation of TMBT, randomly rotated on a lattice and
jittered, so the maths can be tested without running GROMACS.
"""

import numpy as np
from scipy.spatial.transform import Rotation


def tmbt_spec(prep):
    """MoleculeSpec of TMBT from the ``tmbt`` fixture, with the RDKit conformation as template."""
    from cgbench.backmap.dbm.molecule import molecule_spec

    return molecule_spec(prep.topology, prep.mapping, prep.cg, template=prep.molecule.positions)


def synthetic_frames(spec, n_frames=4, lattice=(2, 2, 1), spacing=1.9, jitter=0.004, seed=0):
    """Whole-molecule frames of ``prod(lattice)`` molecules and their CG mapping.

    Molecules sit on a cubic lattice (nm) in a periodic box of ``lattice * spacing``, each with
    its own random orientation per frame, atoms jittered by ``jitter`` nm (Gaussian).
    """
    from cgbench.backmap.dbm.data import map_frames

    rng = np.random.default_rng(seed)
    t = spec.template - spec.template.mean(0)
    sites = np.stack(np.meshgrid(*[np.arange(n) for n in lattice], indexing="ij"), -1).reshape(-1, 3)
    box = np.asarray(lattice, float) * spacing
    xs = []
    for _ in range(n_frames):
        mols = [Rotation.random(random_state=rng.integers(1 << 31)).apply(t) + (s + 0.5) * spacing for s in sites]
        xs.append(np.concatenate(mols) + rng.normal(0, jitter, (len(sites) * spec.n_atoms, 3)))
    x = np.asarray(xs, dtype=np.float32)
    # wrap atoms into the box, so that making molecules whole is part of what is tested
    x = np.mod(x, box).astype(np.float32)
    return map_frames(x, np.tile(box, (n_frames, 1)).astype(np.float32), spec)


def one_torch_thread():
    """Run torch on one thread for the duration of a test module (a generator for a fixture).

    The test machine's cores are shared with MD runs; a two-thread torch op that loses a core
    busy-waits at every barrier and runs up to 50 times slower than on one thread.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
