"""The PyTorch OPLS-AA energy of DBM: functional forms, locality, and safe gradients.

The comparison with GROMACS itself is tests/integration/test_dbm_energy_gromacs.py.
"""

import math

import numpy as np
import pytest
import torch

from cgbench.backmap.dbm.energy import ForceField, dihedral, lj_energy, rb_energy
from cgbench.backmap.dbm.frames import EnvironmentBuilder
from cgbench.geometry.pbc import minimum_image
from dbm_testdata import one_torch_thread, synthetic_frames, tmbt_spec


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from one_torch_thread()


D = dict(dtype=torch.float64)


def test_dihedral_convention_and_rb_at_trans():
    p = lambda *v: torch.tensor(v, **D)
    cis = dihedral(p(1, 1, 0), p(0, 0, 0), p(0, 0, 1), p(1, 1, 1))
    trans = dihedral(p(1, 1, 0), p(0, 0, 0), p(0, 0, 1), p(-1, -1, 1))
    gauche = dihedral(p(1, 0, 0), p(0, 0, 0), p(0, 0, 1), p(0, 1, 1))
    assert cis.item() == pytest.approx(0.0) and abs(trans.item()) == pytest.approx(math.pi)
    assert gauche.item() == pytest.approx(math.pi / 2)  # IUPAC sign: clockwise seen along j->k is positive
    c = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], **D)
    assert rb_energy(trans, c).item() == pytest.approx(21.0)  # psi = 0: sum of C_n
    assert rb_energy(cis, c).item() == pytest.approx(1 - 2 + 3 - 4 + 5 - 6)


def test_lj_continues_linearly_below_r_min():
    sig, eps, rmin = 0.35, 0.3, 0.2
    r = torch.tensor([0.0, 0.1, 0.2 - 1e-7, 0.2, 0.3, 0.5], **D, requires_grad=True)
    e = lj_energy(r, sig, eps, rmin)
    exact = lj_energy(r.detach(), sig, eps)
    assert torch.allclose(e[3:], exact[3:])  # unchanged at and above r_min
    assert e[2].item() == pytest.approx(exact[3].item(), rel=1e-5)  # continuous
    (g,) = torch.autograd.grad(e.sum(), r)
    assert torch.isfinite(g).all() and g[0] == g[1] == pytest.approx(g[2].item(), rel=1e-5) and g[0] < 0


@pytest.fixture(scope="module")
def system(tmbt):
    spec = tmbt_spec(tmbt)
    fr = synthetic_frames(spec, n_frames=1, lattice=(2, 2, 2), spacing=2.2, seed=4)
    return spec, fr


def test_local_energy_changes_like_the_total_energy(system):
    """Moving one bead's atoms changes the bead's local energy exactly as much as the system's."""
    spec, fr = system
    ff = ForceField(spec, cutoff=1.0, r_min=0.0, coulomb=True).double()
    R, X, box = (torch.as_tensor(a, **D) for a in (fr.r, fr.x, fr.box))
    # environments wide enough to hold every atom within the pair cut-off of the bead's atoms
    builder = EnvironmentBuilder(spec, 1.9, 64)
    K = spec.max_atoms
    rng = np.random.default_rng(5)
    for centre in (0, 10, 33):
        env = builder(R, X, box, torch.tensor([0]), torch.tensor([centre]))
        assert env.bead_mask.sum() < 64
        kick = torch.as_tensor(rng.normal(0, 0.02, (1, K, 3)), **D) * env.atom_mask[:, :K, None]
        moved = torch.cat([env.atom_pos[:, :K] + kick, env.atom_pos[:, K:]], 1)
        e0 = ff.local(env.atom_pos, env, K)
        e1 = ff.local(moved, env, K)
        x1 = X.clone()
        ok = env.atom_mask[0, :K]
        x1[0, env.atom_global[0, :K][ok]] += kick[0][ok] @ env.rot[0]  # back to global axes
        s0 = ff.system(X[0].reshape(-1, spec.n_atoms, 3), box[0])
        s1 = ff.system(x1[0].reshape(-1, spec.n_atoms, 3), box[0])
        for term in s0:
            assert (e1[term] - e0[term]).item() == pytest.approx((s1[term] - s0[term]).item(), rel=1e-8, abs=1e-8), term


def test_energy_gradient_is_finite_for_collapsed_atoms(system):
    spec, fr = system
    ff = ForceField(spec, cutoff=1.0, r_min=0.2).double()
    R, X, box = (torch.as_tensor(a, **D) for a in (fr.r, fr.x, fr.box))
    env = EnvironmentBuilder(spec, 0.7, 32)(R, X, box, torch.tensor([0]), torch.tensor([1]))
    K = spec.max_atoms
    collapsed = torch.zeros(1, K, 3, **D, requires_grad=True)  # what an untrained generator does
    e = sum(ff.local(torch.cat([collapsed, env.atom_pos[:, K:]], 1), env, K).values())
    (g,) = torch.autograd.grad(e.sum(), collapsed)
    assert torch.isfinite(e).all() and torch.isfinite(g).all()


def test_worst_contact_is_each_atoms_largest_lennard_jones_pair_energy(system):
    """Against the same pairs found in the whole periodic system, by global atom index."""
    spec, fr = system
    ff = ForceField(spec, cutoff=1.0, r_min=0.2).double()  # the prior's soft core must not apply here
    X = fr.x[0].astype(float).copy()
    box = fr.box[0].astype(float)
    n = spec.n_atoms
    # pull the nearest atom of another molecule to 0.12 nm of bead 0's first atom: a hard overlap
    gi = int(spec.bead_atoms[0, 0])
    d = minimum_image(torch.as_tensor(X - X[gi]), torch.as_tensor(box)).numpy()
    r = np.linalg.norm(d, axis=-1)
    r[:n] = np.inf
    gj = int(np.argmin(r))
    X[gj] = X[gi] + d[gj] * 0.12 / r[gj]
    R = torch.as_tensor(fr.r, **D)
    Xt = torch.as_tensor(X[None], **D)
    bt = torch.as_tensor(fr.box, **D)
    env = EnvironmentBuilder(spec, 1.9, 64)(R, Xt, bt, torch.tensor([0, 0]), torch.tensor([0, spec.n_beads + 1]))
    K = spec.max_atoms
    got = ff.worst_contact(env.atom_pos, env, K).numpy()
    dist = spec.graph_distance()
    pair14 = {tuple(p) for p in spec.pairs} | {tuple(p[::-1]) for p in spec.pairs}
    for b in range(2):
        for s in range(K):
            if not env.atom_mask[b, s]:
                continue
            gi = int(env.atom_global[b, s])
            d = minimum_image(torch.as_tensor(X - X[gi]), torch.as_tensor(box)).norm(dim=-1).numpy()
            best = -np.inf
            for gj in range(len(X)):
                ai, aj, same = gi % n, gj % n, gi // n == gj // n
                if gj == gi or (same and dist[ai, aj] <= 3 and (ai, aj) not in pair14):
                    continue
                is14 = same and (ai, aj) in pair14
                if not is14 and d[gj] >= 1.0:
                    continue
                sig = np.sqrt(spec.sigma[ai] * spec.sigma[aj])
                eps = np.sqrt(spec.epsilon[ai] * spec.epsilon[aj])
                e = 4 * eps * ((sig / d[gj]) ** 12 - (sig / d[gj]) ** 6) * (spec.fudge_lj if is14 else 1.0)
                best = max(best, e)
            assert got[b, s] == pytest.approx(best, rel=1e-5, abs=1e-5), (b, s)
    assert got.max() > 1e4  # the overlap shows its full repulsion
