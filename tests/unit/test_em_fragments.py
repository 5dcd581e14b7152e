"""Fragment library and fragment placement of the EM backmapping (TMBT, pure NumPy, no engine)."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from cgbench.backmap.em.align import aligned_msd, kabsch_reference
from cgbench.backmap.em.assemble import place
from cgbench.mapping.projection import reprojection_rmsd
from cgbench.backmap.em.fragments import FragmentLibrary, anchor_table, build_library, medoid
from cgbench.molecule.mapping import map_positions
from cgbench.geometry.pbc import wrap

BOX = np.array([3.0, 3.2, 3.4])


def copies(tmbt, n_mol, seed, noise=0.0, n_frames=1):
    """``n_mol`` randomly rotated and placed copies of the RDKit conformer, wrapped into BOX.

    Returns whole positions (n_frames, n_mol * n_atoms, 3) and their wrapped version.
    """
    rng = np.random.default_rng(seed)
    x0 = tmbt.molecule.positions - tmbt.molecule.positions.mean(axis=0)
    rot = Rotation.random(n_frames * n_mol, random_state=seed).as_matrix().reshape(n_frames, n_mol, 3, 3)
    x = np.einsum("fmij,aj->fmai", rot, x0) + rng.uniform(0, BOX, size=(n_frames, n_mol, 1, 3))
    x = x + rng.normal(scale=noise, size=x.shape)
    x = x.reshape(n_frames, -1, 3)
    box = np.tile(BOX, (n_frames, 1))
    return x, wrap(x, box), box


def beads_of(tmbt, x, box):
    """Wrapped bead positions of whole molecules ``x``."""
    return wrap(map_positions(x, tmbt.mapping.com_weights()), box)


def same_up_to_lattice(a, b, box, n_atoms, atol):
    """Each molecule of ``a`` equals that of ``b`` up to one lattice translation."""
    d = (a - b).reshape(a.shape[0], -1, n_atoms, 3)
    bx = box[:, None, None, :]
    d -= bx * np.round(d[:, :, :1] / bx)
    np.testing.assert_allclose(d, 0.0, atol=atol)


def library(tmbt, x, box, n_mol, **kw):
    return build_library(x, box, tmbt.topology.bonds, tmbt.mapping, tmbt.cg.indices("bonds"), n_mol, **kw)


def test_anchor_table_of_tmbt(tmbt):
    idx, w = anchor_table(7, tmbt.cg.indices("bonds"), second_shell_weight=0.1)
    anchors = {b: {int(j): float(v) for j, v in zip(idx[b], w[b]) if j >= 0} for b in range(7)}
    assert anchors[0] == {1: 1.0, 3: 1.0, 5: 1.0}  # triazine: its three phenyls
    inner = [b for b in range(1, 7) if 0 in anchors[b] and anchors[b][0] == 1.0]
    outer = sorted(set(range(1, 7)) - set(inner))
    assert len(inner) == 3 and len(outer) == 3
    for b in outer:
        (nbr,) = [j for j, v in anchors[b].items() if v == 1.0]
        # the single neighbour, then the neighbour's other neighbour (the triazine) with the small weight
        assert nbr in inner and anchors[b] == {nbr: 1.0, 0: 0.1}
    assert np.all(w[idx < 0] == 0)


def test_single_molecule_round_trip_is_exact(tmbt):
    x, xw, box = copies(tmbt, 1, seed=1, noise=0.01)
    lib = library(tmbt, xw, box, 1)
    placed = place(beads_of(tmbt, x, box), box, lib, tmbt.cg.indices("bonds"))
    same_up_to_lattice(placed, x, box, tmbt.topology.n_atoms, atol=1e-10)


def test_rigid_copies_are_reproduced_exactly_across_boundaries(tmbt):
    # every molecule is a rotated copy of one conformer, so a fragment from any of them, oriented by
    # its anchors, must reproduce every molecule: this needs the second-shell anchor of the outer
    # phenyls (a single neighbour leaves their roll free)
    n_mol = 6
    x, xw, box = copies(tmbt, n_mol, seed=2, n_frames=2)
    assert not np.allclose(x, xw)  # some molecules are split by the boundaries
    lib = library(tmbt, xw, box, n_mol)
    placed = place(beads_of(tmbt, x, box), box, lib, tmbt.cg.indices("bonds"))
    assert placed.shape == x.shape
    same_up_to_lattice(placed, x, box, tmbt.topology.n_atoms, atol=1e-9)


def test_without_second_shell_the_outer_rings_are_not_oriented(tmbt):
    n_mol = 6
    x, xw, box = copies(tmbt, n_mol, seed=2)
    lib = library(tmbt, xw, box, n_mol, second_shell_weight=0.0)
    placed = place(beads_of(tmbt, x, box), box, lib, tmbt.cg.indices("bonds"))
    d = (placed - x).reshape(n_mol, -1, 3)
    d -= BOX * np.round(d[:, :1] / BOX)
    err = np.linalg.norm(d, axis=-1).max(axis=0)  # per atom, worst molecule
    degree = np.bincount(tmbt.cg.indices("bonds").ravel(), minlength=7)
    outer = np.isin(tmbt.mapping.bead_of_atom, np.flatnonzero(degree == 1))
    assert err[outer].max() > 0.05  # nm: the roll about the bond is arbitrary
    assert err[tmbt.mapping.bead_of_atom == 0].max() < 1e-9  # the triazine has three anchors


def test_flexible_molecules_keep_centres_exact_and_atoms_close(tmbt):
    n_mol = 5
    x, xw, box = copies(tmbt, n_mol, seed=3, noise=0.004)
    lib = library(tmbt, xw, box, n_mol)
    r = beads_of(tmbt, x, box)
    placed = place(r, box, lib, tmbt.cg.indices("bonds"))
    # centres of mass of the placed fragments are the CG beads, exactly
    np.testing.assert_allclose(reprojection_rmsd(placed, r, box, tmbt.mapping.com_weights(), per_frame=True), 0.0, atol=1e-12)
    d = (placed - x).reshape(n_mol, -1, 3)
    d -= BOX * np.round(d[:, :1] / BOX)
    rmsd = np.sqrt(np.mean(np.sum(d**2, axis=-1)))
    assert 1e-4 < rmsd < 0.02  # nm: only the noise of other molecules' fragments remains


def test_bead_at_the_box_corner(tmbt):
    # the triazine sits just inside a corner: its phenyls' beads wrap to the far sides in x, y and z
    x0 = tmbt.molecule.positions
    w = tmbt.mapping.com_weights()
    x = (x0 - (w @ x0)[0] + BOX - 0.01)[None]
    box = BOX[None]
    r = beads_of(tmbt, x, box)
    assert np.ptp(r[0], axis=0).min() > BOX.min() / 2  # split across every boundary
    lib = library(tmbt, x, box, 1)
    placed = place(r, box, lib, tmbt.cg.indices("bonds"))
    same_up_to_lattice(placed, x, box, tmbt.topology.n_atoms, atol=1e-9)
    # molecules come out whole: every bond shorter than 0.2 nm
    b = tmbt.topology.bonds
    assert np.linalg.norm(placed[0, b[:, 0]] - placed[0, b[:, 1]], axis=-1).max() < 0.2


def test_reprojection_rmsd_uses_minimum_image(tmbt):
    x, _, box = copies(tmbt, 3, seed=4)
    w = tmbt.mapping.com_weights()
    r = map_positions(x, w)
    shifted = r + BOX * np.array([1, -2, 1])  # other periodic images
    np.testing.assert_allclose(reprojection_rmsd(x, shifted, box, w, per_frame=True), 0.0, atol=1e-12)
    np.testing.assert_allclose(reprojection_rmsd(x + [0.06, 0.0, 0.08], r, box, w, per_frame=True), 0.1, rtol=1e-12)


def test_medoid_matches_brute_force():
    rng = np.random.default_rng(5)
    pts = rng.normal(size=(9, 5, 3))
    w = rng.uniform(0.5, 1.0, size=5)
    k, mean = medoid(pts, w)
    total = np.zeros(9)
    for s in range(9):
        for t in range(9):
            rot = kabsch_reference(pts[s], pts[t], w)
            dev = np.einsum("ij,kj->ki", rot, pts[s]) - pts[t]
            total[s] += np.sqrt(np.sum(w * np.sum(dev**2, axis=-1)) / w.sum())
    assert k == int(np.argmin(total))
    assert mean == pytest.approx(total[k] / 8)


def test_medoid_ignores_rotations_and_avoids_an_outlier():
    rng = np.random.default_rng(6)
    base = rng.normal(size=(6, 3))
    rot = Rotation.random(8, random_state=7).as_matrix()
    pts = np.einsum("nij,kj->nki", rot, base) + rng.normal(scale=0.01, size=(8, 6, 3))
    pts[3] += rng.normal(scale=0.5, size=(6, 3))
    k, mean = medoid(pts, np.ones(6))
    assert k != 3
    assert np.sqrt(aligned_msd(pts[k], pts[0], np.ones(6))) < 0.05


def test_library_stores_centred_fragments_and_round_trips(tmbt, tmp_path):
    x, xw, box = copies(tmbt, 4, seed=8, noise=0.003, n_frames=3)
    lib = library(tmbt, xw, box, 4)
    mp = tmbt.mapping
    # each fragment's offsets have a zero mass-weighted mean: placement keeps centres exact
    np.testing.assert_allclose(mp.com_weights() @ lib.offsets, 0.0, atol=1e-12)
    assert lib.source.shape == (7, 2) and lib.source[:, 0].max() < 3 and lib.source[:, 1].max() < 4
    lib.save_npz(tmp_path / "lib.npz")
    back = FragmentLibrary.load_npz(tmp_path / "lib.npz")
    for k, v in lib.__dict__.items():
        np.testing.assert_array_equal(getattr(back, k), v)


def test_wrong_shape_is_refused(tmbt):
    from cgbench.core.errors import CgbenchError

    with pytest.raises(CgbenchError, match="not frames of 2 molecules"):
        library(tmbt, np.zeros((1, 69 * 3, 3)), BOX[None], 2)
