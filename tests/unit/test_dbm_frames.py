"""Local frames, periodic wholeness and local environments of DBM."""

import numpy as np
import pytest
import torch

from cgbench.geometry.pbc import make_whole, minimum_image
from cgbench.backmap.dbm.frames import EnvironmentBuilder, local_axes, rotation_z, to_global, to_local
from dbm_testdata import one_torch_thread, synthetic_frames, tmbt_spec


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from one_torch_thread()


@pytest.fixture(scope="module")
def spec(tmbt):
    return tmbt_spec(tmbt)


@pytest.fixture(scope="module")
def frames(spec):
    return synthetic_frames(spec, n_frames=2, lattice=(2, 2, 2), spacing=1.6)


def test_local_frame_round_trip_is_exact():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(20, 3, generator=g, dtype=torch.float64)
    z[0] = torch.tensor([0.0, 0.0, -2.0], dtype=torch.float64)  # antiparallel to the global z
    angle = torch.rand(20, generator=g, dtype=torch.float64) * 6.3
    rot = local_axes(z, angle)
    eye = torch.eye(3, dtype=torch.float64).expand(20, 3, 3)
    assert torch.allclose(rot @ rot.transpose(1, 2), eye, atol=1e-14)
    assert torch.allclose(torch.linalg.det(rot), torch.ones(20, dtype=torch.float64), atol=1e-14)
    centre = torch.randn(20, 3, generator=g, dtype=torch.float64)
    x = torch.randn(20, 11, 3, generator=g, dtype=torch.float64)
    back = to_global(to_local(x, centre, rot), centre, rot)
    assert torch.allclose(back, x, atol=1e-13)
    # the reference neighbour lies on +z at its distance
    ref = to_local((centre + z)[:, None], centre, rot)[:, 0]
    assert torch.allclose(ref[:, :2], torch.zeros(20, 2, dtype=torch.float64), atol=1e-13)
    assert torch.allclose(ref[:, 2], torch.linalg.norm(z, dim=1), atol=1e-13)


def test_rotation_about_z_keeps_z_and_distances():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(5, 9, 3, generator=g, dtype=torch.float64)
    r = rotation_z(torch.rand(5, generator=g, dtype=torch.float64) * 6.3)
    y = torch.einsum("bij,bnj->bni", r, x)
    assert torch.allclose(y[..., 2], x[..., 2])
    assert torch.allclose(torch.cdist(y, y), torch.cdist(x, x), atol=1e-12)


def test_make_whole_restores_split_molecules(spec):
    rng = np.random.default_rng(3)
    box = torch.tensor([[2.0, 2.5, 3.0]], dtype=torch.float64)
    whole = torch.as_tensor(spec.template - spec.template.mean(0) + rng.uniform(0, 2, 3), dtype=torch.float64)[None]
    split = torch.remainder(whole, box)  # atoms wrapped one by one: the molecule is torn apart
    assert (torch.linalg.norm(split[0, spec.bonds[:, 0]] - split[0, spec.bonds[:, 1]], dim=1) > 0.5).any()
    fixed = make_whole(split, box, spec.bonds, spec.n_atoms)
    shift = fixed[0, 0] - whole[0, 0]
    assert torch.allclose(fixed, whole + shift, atol=1e-12)


def test_environments_hold_every_bead_in_range_and_the_centre_first(spec, frames):
    R, X, box = (torch.as_tensor(a, dtype=torch.float64) for a in (frames.r, frames.x, frames.box))
    cutoff = 0.7
    n_env = EnvironmentBuilder(spec, cutoff, 1).count(R, box)
    builder = EnvironmentBuilder(spec, cutoff, n_env)
    frame = torch.tensor([0, 1, 1, 0])
    centre = torch.tensor([0, 9, 20, 55])
    env = builder(R, X, box, frame, centre)
    partners = spec.bead_partners()
    nb, K = spec.n_beads, spec.max_atoms
    for b in range(4):
        f, c = int(frame[b]), int(centre[b])
        d = minimum_image(R[f] - R[f, c], box[f]).norm(dim=-1).numpy()
        same = np.arange(R.shape[1]) // nb == c // nb
        expected = set(np.flatnonzero((d < cutoff) | (same & partners[c % nb][np.arange(R.shape[1]) % nb])))
        kept = env.bead_mask[b].numpy()
        assert kept.sum() == len(expected)
        got = np.sort(env.bead_pos[b][env.bead_mask[b]].norm(dim=-1).numpy())
        assert np.allclose(got, np.sort(d[sorted(expected)]), atol=1e-12)
        assert env.bead_pos[b, 0].norm() < 1e-12  # the central bead is environment bead 0
        # the central bead's atoms come first, in build order, at their minimum-image local positions
        atoms = (c // nb) * spec.n_atoms + spec.bead_atoms[c % nb]
        valid = spec.bead_atoms[c % nb] >= 0
        assert env.atom_mask[b, :K].numpy().tolist() == valid.tolist()
        assert env.atom_global[b, :K][valid].numpy().tolist() == atoms[valid].tolist()
        rel = minimum_image(X[f, atoms[valid]] - R[f, c], box[f])
        assert torch.allclose(env.atom_pos[b, :K][valid], rel @ env.rot[b].T, atol=1e-12)
        # every environment atom sits where its global atom is, seen from the centre
        m = env.atom_mask[b]
        rel_all = minimum_image(X[f, env.atom_global[b][m]] - R[f, c], box[f])
        assert torch.allclose(env.atom_pos[b][m], rel_all @ env.rot[b].T, atol=1e-12)
        # the local +z axis points at the reference neighbour
        ref = (c // nb) * nb + spec.bead_reference[c % nb]
        zref = minimum_image(R[f, ref] - R[f, c], box[f]) @ env.rot[b].T
        assert abs(zref[0]) < 1e-12 and abs(zref[1]) < 1e-12 and zref[2] > 0


@pytest.mark.parametrize("cutoff", [0.4, 0.7, 1.1])
def test_count_by_kd_tree_is_the_all_pairs_count(spec, frames, cutoff):
    R, box = (torch.as_tensor(a, dtype=torch.float64) for a in (frames.r, frames.box))
    builder = EnvironmentBuilder(spec, cutoff, 1)
    assert builder.count(R, box) == builder.count_reference(R, box)
    # molecules need not be whole, nor beads inside the box
    shifted = R + torch.as_tensor([1.3, -2.2, 0.4], dtype=torch.float64) * box[:, None, :]
    assert builder.count(shifted, box) == builder.count_reference(R, box)


def test_indexed_environments_are_the_all_pairs_ones(spec, frames):
    R, X, box = (torch.as_tensor(a, dtype=torch.float64) for a in (frames.r, frames.x, frames.box))
    cutoff = 0.7
    n_env = EnvironmentBuilder(spec, cutoff, 1).count(R, box)
    plain = EnvironmentBuilder(spec, cutoff, n_env)
    indexed = EnvironmentBuilder(spec, cutoff, n_env)
    indexed.index(R, box)
    n = R.shape[1]
    frame = torch.arange(R.shape[0]).repeat_interleave(n)
    centre = torch.arange(n).repeat(R.shape[0])
    a, b = plain(R, X, box, frame, centre), indexed(R, X, box, frame, centre)
    assert torch.equal(a.bead_mask.sum(1), b.bead_mask.sum(1))
    for t in ("origin", "rot"):
        assert torch.allclose(getattr(a, t), getattr(b, t), atol=1e-12)
    for row in range(len(centre)):
        ma, mb = a.bead_mask[row], b.bead_mask[row]
        # the same beads (centre first), each at the same local position and with the same atoms
        assert torch.allclose(a.bead_pos[row, 0], b.bead_pos[row, 0])
        pa = {tuple(np.round(p, 9)) for p in a.bead_pos[row][ma].numpy()}
        pb = {tuple(np.round(p, 9)) for p in b.bead_pos[row][mb].numpy()}
        assert pa == pb
        ga = sorted(a.atom_global[row][a.atom_mask[row]].tolist())
        assert ga == sorted(b.atom_global[row][b.atom_mask[row]].tolist())
    assert torch.equal(a.bead_same[a.bead_mask].sum(), b.bead_same[b.bead_mask].sum())
