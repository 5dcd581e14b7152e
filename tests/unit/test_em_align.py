"""Batched weighted Kabsch rotations and best-rotation deviations (cgbench.backmap.em.align)."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from cgbench.backmap.em.align import aligned_msd, kabsch, kabsch_reference


def rotate(rot, p):
    return np.einsum("...ij,...kj->...ki", rot, p)


def test_batched_kabsch_recovers_known_rotations():
    rng = np.random.default_rng(0)
    rot = Rotation.random(24, random_state=1).as_matrix().reshape(2, 3, 4, 3, 3)
    p = rng.normal(size=(2, 3, 4, 5, 3))
    q = rotate(rot, p)
    found = kabsch(p, q, rng.uniform(0.2, 2.0, size=(2, 3, 4, 5)))
    np.testing.assert_allclose(found, rot, atol=1e-10)
    np.testing.assert_allclose(np.linalg.det(found), 1.0, atol=1e-12)


def test_padding_with_zero_weights_changes_nothing():
    rng = np.random.default_rng(2)
    rot = Rotation.random(6, random_state=3).as_matrix()
    p = rng.normal(size=(6, 3, 3))
    q = rotate(rot, p) + rng.normal(scale=0.05, size=p.shape)
    junk = rng.normal(size=(6, 2, 3))
    padded = kabsch(np.concatenate([p, junk], 1), np.concatenate([q, -junk], 1),
                    np.concatenate([np.ones((6, 3)), np.zeros((6, 2))], 1))
    np.testing.assert_allclose(padded, kabsch(p, q), atol=1e-12)


def test_weights_decide_between_inconsistent_points():
    # two points that no single rotation maps exactly: the heavier one is matched (almost) exactly
    p = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    q = np.array([[1.0, 0, 0], [np.cos(np.radians(100)), np.sin(np.radians(100)), 0.0]])
    rot = kabsch(p, q, np.array([1.0, 1e-6]))
    np.testing.assert_allclose(rotate(rot, p[:1])[0], q[0], atol=1e-5)
    rot = kabsch(p, q, np.array([1e-6, 1.0]))
    np.testing.assert_allclose(rotate(rot, p[1:])[0], q[1], atol=1e-5)


def test_no_reflection_for_mirror_images():
    # a chiral set and its mirror image: the best proper rotation is not the reflection
    p = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [0.3, 0.2, 0.1]])
    q = p * [1, 1, -1]
    rot = kabsch(p, q)
    assert np.linalg.det(rot) == pytest.approx(1.0)
    assert not np.allclose(rotate(rot, p), q, atol=1e-3)


def test_no_points_gives_identity():
    rot = kabsch(np.zeros((2, 1, 3)), np.ones((2, 1, 3)), np.zeros((2, 1)))
    np.testing.assert_allclose(rot, np.broadcast_to(np.eye(3), (2, 3, 3)), atol=1e-12)


def test_matches_loop_reference_on_noisy_data():
    rng = np.random.default_rng(4)
    p = rng.normal(size=(7, 4, 3))
    q = rng.normal(size=(7, 4, 3))
    w = rng.uniform(0.1, 1.0, size=(7, 4))
    np.testing.assert_allclose(kabsch(p, q, w), kabsch_reference(p, q, w), atol=1e-10)


def test_aligned_msd_equals_explicit_rotation():
    rng = np.random.default_rng(5)
    p = rng.normal(size=(5, 6, 3))
    q = rng.normal(size=(5, 6, 3))
    w = rng.uniform(0.5, 1.5, size=6)
    rot = kabsch_reference(p, q, w)
    explicit = np.einsum("k,nk->n", w, np.sum((rotate(rot, p) - q) ** 2, axis=-1)) / w.sum()
    np.testing.assert_allclose(aligned_msd(p, q, w), explicit, atol=1e-10)
    # and it is zero for rotated copies, rotation-invariant, and broadcasts to all pairs
    r = Rotation.random(5, random_state=6).as_matrix()
    np.testing.assert_allclose(aligned_msd(p, rotate(r, p), w), 0.0, atol=1e-10)
    pairs = aligned_msd(p[:, None], q[None], w)
    assert pairs.shape == (5, 5)
    np.testing.assert_allclose(np.diag(pairs), explicit, atol=1e-10)
