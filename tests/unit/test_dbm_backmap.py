"""DBM inference: colouring, template start, batched = serial, projection, written trajectories."""

import lightning as L
import numpy as np
import pytest
import torch

from cgbench.backmap import dbm
from cgbench.backmap.dbm.backmap import Backmapper, colour_beads, template_start
from cgbench.geometry.pbc import minimum_image
from cgbench.mapping.projection import reprojection_rmsd
from cgbench.backmap.dbm.io import read_trajectory, write_trajectory
from cgbench.backmap.dbm.metrics import clash_fraction
from cgbench.backmap.dbm.module import DBM
from dbm_testdata import one_torch_thread, synthetic_frames, tmbt_spec


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from one_torch_thread()


@pytest.fixture(scope="module")
def setup(tmbt):
    torch.manual_seed(0)
    spec = tmbt_spec(tmbt)
    frames = synthetic_frames(spec, n_frames=2, lattice=(2, 2, 1), spacing=1.7, seed=2)
    model = DBM(spec.to_dict(), n_filters=8, z_dim=16).eval()
    return spec, frames, model


def test_colours_never_join_conflicting_beads_and_follow_the_build_order(setup):
    spec, fr, _ = setup
    cutoff = 0.7
    col = colour_beads(fr.r, fr.box, spec, cutoff)
    nb = spec.n_beads
    partners = spec.bead_partners()
    for f in range(len(fr)):
        d = minimum_image(torch.as_tensor(fr.r[f][:, None] - fr.r[f][None]), torch.as_tensor(fr.box[f]))
        d = d.norm(dim=-1).numpy()
        i, j = np.nonzero(col[f][:, None] == col[f][None, :])
        off = i != j
        i, j = i[off], j[off]
        assert np.all(d[i, j] >= cutoff)
        same_mol = i // nb == j // nb
        assert not np.any(partners[i[same_mol] % nb, j[same_mol] % nb])
        # a bead is built after its depth-first parent, in every molecule
        for b in range(nb):
            p = spec.bead_parent[b]
            if p >= 0:
                assert np.all(col[f][b::nb] > col[f][p::nb])
    assert col.max() + 1 < fr.r.shape[1]  # some batching happened


def test_template_start_maps_exactly_onto_the_cg_beads(setup):
    spec, fr, _ = setup
    x = template_start(torch.as_tensor(fr.r, dtype=torch.float64), spec).numpy()
    assert x.shape == fr.x.shape
    assert reprojection_rmsd(x, fr.r, fr.box, spec.com_weights(), spec.bonds) < 1e-9
    # the template's bonds are kept: each bead is moved rigidly
    b = spec.bonds
    intra = spec.bead_of_atom[b[:, 0]] == spec.bead_of_atom[b[:, 1]]
    xm = x.reshape(2, -1, spec.n_atoms, 3)
    got = np.linalg.norm(xm[..., b[intra, 0], :] - xm[..., b[intra, 1], :], axis=-1)
    ref = np.linalg.norm(spec.template[b[intra, 0]] - spec.template[b[intra, 1]], axis=-1)
    assert np.allclose(got, ref, atol=1e-9)


def test_batched_inference_equals_one_bead_at_a_time(setup):
    spec, fr, model = setup
    bm = Backmapper(model, n_gibbs=1, n_candidates=2, batch_size=64, seed=3)
    xb, ib = bm.run(fr.r, fr.box)
    xs, is_ = bm.run(fr.r, fr.box, serial=True)
    assert ib["n_colours"] == is_["n_colours"]
    # same weights, same random numbers, same colour order: same atoms, to float32 round-off
    assert np.abs(xb - xs).max() < 1e-4
    # and a different seed gives a different structure (the comparison above is not vacuous)
    xo, _ = Backmapper(model, n_gibbs=1, n_candidates=2, seed=4).run(fr.r, fr.box)
    assert np.abs(xo - xb).max() > 1e-2


def test_projection_makes_backmaps_consistent_with_the_cg_input(setup):
    spec, fr, model = setup
    raw, _ = Backmapper(model, n_gibbs=0, n_candidates=2).run(fr.r, fr.box)
    proj, _ = Backmapper(model, n_gibbs=0, n_candidates=2, consistency="project").run(fr.r, fr.box)
    assert reprojection_rmsd(proj, fr.r, fr.box, spec.com_weights(), spec.bonds) < 1e-5
    assert reprojection_rmsd(raw, fr.r, fr.box, spec.com_weights(), spec.bonds) > 1e-3


def test_backmap_writes_a_trajectory_mdanalysis_reads_in_topology_order(setup, tmp_path):
    import MDAnalysis as mda

    spec, fr, model = setup
    ckpt = tmp_path / "model.ckpt"
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
                "pytorch-lightning_version": L.__version__}, ckpt)
    bead_names = [f"B{i}" for i in range(spec.n_beads)]
    write_trajectory(tmp_path / "cg.gro", tmp_path / "cg.xtc", fr.r, fr.box, bead_names, "CG")
    info = dbm.backmap(ckpt, tmp_path / "cg.gro", tmp_path / "cg.xtc", tmp_path / "aa.gro", tmp_path / "aa.xtc",
                       {"n_gibbs": 0, "n_candidates": 1, "consistency": "project", "accelerator": "cpu"})
    n_mol = fr.r.shape[1] // spec.n_beads
    assert info["n_frames"] == 2 and info["n_molecules"] == n_mol and info["molecules_per_s"] > 0
    u = mda.Universe(str(tmp_path / "aa.gro"), str(tmp_path / "aa.xtc"))
    assert len(u.atoms) == n_mol * spec.n_atoms and len(u.trajectory) == 2
    assert list(u.atoms.names) == list(spec.atom_names) * n_mol
    assert list(u.residues.resnames) == [spec.resname] * n_mol
    x, box = read_trajectory(tmp_path / "aa.gro", tmp_path / "aa.xtc")
    assert np.allclose(box, fr.box, atol=1e-4)
    # xtc keeps 0.001 nm: the projected backmap still maps onto the CG input
    assert reprojection_rmsd(x, fr.r, fr.box, spec.com_weights(), spec.bonds) < 2e-3


def _candidates(spec, fr, model, k=4, seed=0):
    """Candidate beads of every bead of the first frame, as Backmapper._build generates them."""
    from cgbench.backmap.dbm.frames import EnvironmentBuilder

    R, box = torch.as_tensor(fr.r), torch.as_tensor(fr.box)
    X = template_start(R, spec)
    n = R.shape[1]
    g = torch.Generator().manual_seed(seed)
    env = EnvironmentBuilder(spec, 0.7, 40)(R, X, box, torch.zeros(n, dtype=torch.long), torch.arange(n))
    env = env.repeat(k).rotated(torch.rand(n * k, generator=g) * 6.28)
    with torch.no_grad():
        pos, _ = model(env, torch.randn(n * k, spec.max_atoms, model.hparams.z_dim, generator=g))
    return env, pos, n


def test_candidates_are_projected_before_they_are_judged(setup):
    spec, fr, model = setup
    k = 4
    env, pos, n = _candidates(spec, fr, model, k)
    bm = Backmapper(model, n_candidates=k, consistency="project")
    with torch.no_grad():
        pick, kept, e = bm._judge(env, pos, n, torch.rand(n))
        # the kept bead sits on its CG bead ...
        assert model.com_offset(env.index(pick), kept).abs().max() < 1e-5
        # ... and the energy that chose it is the projected bead's, not the generated one's
        e_kept = sum(model.energy(env.index(pick), kept).values())
        e_raw = sum(model.energy(env.index(pick), pos[pick]).values())
        projected = pos - model.com_offset(env, pos)[:, None, :]
        e_all = sum(model.energy(env, projected).values()).reshape(n, k)
    assert torch.allclose(e, e_kept, rtol=1e-5, atol=1e-3)
    assert not torch.allclose(e, e_raw, rtol=1e-3)
    assert torch.equal(pick % k, e_all.argmin(1))


def test_boltzmann_pick_follows_the_energies(setup):
    spec, fr, model = setup
    k = 4
    env, pos, n = _candidates(spec, fr, model, k)
    with torch.no_grad():
        e = sum(model.energy(env, pos).values()).reshape(n, k)
        cold = Backmapper(model, n_candidates=k, selection="boltzmann", temperature_K=1e-6)
        hot = Backmapper(model, n_candidates=k, selection="boltzmann", temperature_K=1e12)
        u = torch.linspace(0.01, 0.99, n)
        # a Boltzmann draw at T -> 0 is the argmin; at T -> infinity every candidate is as likely
        assert torch.equal(cold._judge(env, pos, n, u)[0] % k, e.argmin(1))
        picks = hot._judge(env, pos, n, u)[0] % k
    expected = torch.clamp((u * k).long(), max=k - 1)
    assert torch.equal(picks, expected)


def test_gibbs_sweeps_move_atoms_and_keep_the_batched_result(setup):
    spec, fr, model = setup
    x0, _ = Backmapper(model, n_gibbs=0, n_candidates=2, seed=5).run(fr.r, fr.box)
    x1, _ = Backmapper(model, n_gibbs=1, n_candidates=2, seed=5).run(fr.r, fr.box)
    assert np.abs(x1 - x0).max() > 1e-3 and np.isfinite(x1).all()


def test_repair_regenerates_only_beads_in_a_clash_and_removes_clashes(setup, root, tmbt):
    spec, fr, _ = setup
    model = dbm.load_model(root / "resources" / "tmbt" / "dbm" / "model.pt", "cpu", molecule=spec)
    kw = dict(n_gibbs=0, n_candidates=1, seed=6, clash_kT=10.0, repair_candidates=8)
    x0, i0 = Backmapper(model, n_repair=0, **kw).run(fr.r, fr.box)
    x1, i1 = Backmapper(model, n_repair=1, **kw).run(fr.r, fr.box)
    x3, i3 = Backmapper(model, n_repair=3, **kw).run(fr.r, fr.box)
    # the shipped model on these lattice frames: 33 % of atoms in a clash, 17 % after one repair
    assert i1["repaired_atoms"][0] > 0
    # the backmapper's count (local environments, torch) and the metric's (whole frames, k-d tree) agree
    for x, info in ((x0, i0), (x1, i1), (x3, i3)):
        assert info["clash_atom_fraction"] == pytest.approx(clash_fraction(x, fr.box, spec), abs=2 / x.size)
    assert i1["clash_atom_fraction"] < 0.75 * i0["clash_atom_fraction"]
    # a bead's current atoms compete with its new candidates, so further sweeps keep descending
    assert i3["clash_atom_fraction"] <= i1["clash_atom_fraction"]
    assert np.all(np.diff(i3["repaired_atoms"]) <= 0)
    # a bead is regenerated whole or not at all, and some beads are left as they were
    moved = np.abs(x1 - x0).max(-1) > 1e-6  # (F, atoms)
    bead = (np.arange(x0.shape[1]) // spec.n_atoms) * spec.n_beads + np.tile(spec.bead_of_atom, x0.shape[1] // spec.n_atoms)
    for f in range(x0.shape[0]):
        per_bead = np.bincount(bead, moved[f], minlength=bead.max() + 1)
        size = np.bincount(bead, minlength=bead.max() + 1)
        assert np.all((per_bead == 0) | (per_bead == size))
    assert 0 < moved.mean() < 1
    # batched and serial repair agree, as the sweeps do
    xs, _ = Backmapper(model, n_repair=1, **kw).run(fr.r, fr.box, serial=True)
    assert np.abs(xs - x1).max() < 1e-4
