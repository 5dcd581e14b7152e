import numpy as np
import pytest
from MDAnalysis.lib.distances import calc_dihedrals

from cgbench.geometry import distributions as dist
from cgbench.core.errors import CgbenchError

BOX10 = np.array([[10.0, 10.0, 10.0]])


def _one(*points):
    return np.array([points], dtype=float)


# --------------------------------------------------------------------------- bonded coordinates
def test_bond_length_uses_minimum_image():
    x = _one([0.1, 5.0, 5.0], [9.9, 5.0, 5.0])
    assert dist.bond_lengths(x, BOX10, np.array([[0, 1]]))[0, 0] == pytest.approx(0.2)


def test_bond_lengths_shape_per_frame_box():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 3, (4, 6, 3))
    box = np.full((4, 3), 3.0)
    idx = np.array([[0, 1], [2, 5], [3, 4]])
    d = dist.bond_lengths(x, box, idx)
    assert d.shape == (4, 3)
    assert np.all(d <= np.sqrt(3) * 1.5 + 1e-12)


def test_angles_hand_values():
    x = _one([1, 0, 0], [0, 0, 0], [0, 1, 0], [-2, 0, 0], [1, 1, 0])
    got = dist.angles(x, BOX10, np.array([[0, 1, 2], [0, 1, 3], [0, 1, 4]]))[0]
    np.testing.assert_allclose(got, [np.pi / 2, np.pi, np.pi / 4], atol=1e-12)


@pytest.mark.parametrize("phi_deg", [60.0, -60.0, 0.0, 120.0, -150.0])
def test_dihedral_sign_convention_hand_built(phi_deg):
    # Looking along j -> k (+z), l is rotated by +phi (clockwise seen from j) from i: IUPAC/GROMACS phi.
    phi = np.radians(phi_deg)
    x = _one([1, 0, 0], [0, 0, 0], [0, 0, 1], [np.cos(phi), np.sin(phi), 1])
    assert np.degrees(dist.dihedrals(x, BOX10, np.array([[0, 1, 2, 3]]))[0, 0]) == pytest.approx(
        phi_deg, abs=1e-10
    )


def test_dihedral_trans_is_plus_pi_and_range_is_half_open():
    x = _one([1, 0, 0], [0, 0, 0], [0, 0, 1], [-1, -0.0, 1])
    assert dist.dihedrals(x, BOX10, np.array([[0, 1, 2, 3]]))[0, 0] == np.pi
    rng = np.random.default_rng(3)
    y = rng.uniform(0, 2, (5, 40, 3))
    phi = dist.dihedrals(y, np.full((5, 3), 2.0), rng.integers(0, 40, (30, 4)))
    assert np.all((phi > -np.pi) & (phi <= np.pi))


def test_dihedrals_agree_with_mdanalysis_across_boundaries():
    rng = np.random.default_rng(4)
    L = 2.0
    # Compact quadruples straddling the periodic boundary.
    base = rng.uniform(0, L, (50, 1, 3))
    quad = (base + rng.normal(0, 0.15, (50, 4, 3))) % L
    x = quad.reshape(1, 200, 3)
    idx = np.arange(200).reshape(50, 4)
    got = dist.dihedrals(x, np.full((1, 3), L), idx)[0]
    box_a = np.array([10 * L] * 3 + [90.0] * 3, dtype=np.float32)
    ref = calc_dihedrals(*(10 * quad[:, k].astype(np.float64) for k in range(4)), box=box_a)
    np.testing.assert_allclose(got, ref, atol=1e-5)


# --------------------------------------------------------------------------- histograms
def test_uniform_shell_gives_flat_bond_density_only_with_jacobian():
    rng = np.random.default_rng(5)
    r1, r2 = 0.5, 1.0
    r = (rng.uniform(r1**3, r2**3, 1_000_000)) ** (1 / 3)  # uniform in the volume of a shell
    centres, p = dist.histogram(r, 50, (r1, r2), "bond")
    np.testing.assert_allclose(p, 1 / (r2 - r1), rtol=0.04)
    _, raw = dist.histogram(r, 50, (r1, r2), "dihedral")  # no Jacobian: grows like r^2
    assert raw[-1] / raw[0] == pytest.approx((centres[-1] / centres[0]) ** 2, rel=0.05)


def test_isotropic_unit_vectors_give_flat_angle_density():
    rng = np.random.default_rng(6)
    v = rng.normal(size=(500_000, 3))
    v /= np.linalg.norm(v, axis=1)[:, None]
    theta = np.arccos(v[:, 2])
    _, p = dist.histogram(theta, 36, (0, np.pi), "angle")
    np.testing.assert_allclose(p, 1 / np.pi, rtol=0.05)  # the end bins too: exact bin-averaged sin


@pytest.mark.parametrize(
    "kind, rng_", [("bond", (0.2, 0.6)), ("angle", (0.0, np.pi)), ("dihedral", (-np.pi, np.pi))]
)
def test_histogram_integrates_to_one(kind, rng_):
    values = np.random.default_rng(7).uniform(*rng_, 1000)
    c, p = dist.histogram(values, 20, rng_, kind)
    assert np.sum(p) * (rng_[1] - rng_[0]) / 20 == pytest.approx(1.0)
    assert c[0] == pytest.approx(rng_[0] + (rng_[1] - rng_[0]) / 40)


def test_histogram_rejects_bad_kind_and_empty_range():
    with pytest.raises(CgbenchError):
        dist.histogram([1.0], 10, (0, 1), "torsion")
    with pytest.raises(CgbenchError):
        dist.histogram([5.0], 10, (0, 1), "bond")


# --------------------------------------------------------------------------- RDF
def _brute_force_rdf(x, box, a, b, excl, r_max, bins):
    """Plain reference: all pairs, minimum image, no tree."""
    edges = np.linspace(0, r_max, bins + 1)
    excl_set = {tuple(p) for p in excl} | {tuple(p[::-1]) for p in excl}
    hist = np.zeros(bins)
    n_pairs = len(a) * len(b) - len(set(a) & set(b))
    for f in range(x.shape[0]):
        for i in a:
            for j in b:
                if i == j or (i, j) in excl_set:
                    continue
                d = x[f, j] - x[f, i]
                d -= box[f] * np.round(d / box[f])
                r = np.linalg.norm(d)
                if r < r_max:
                    hist[np.searchsorted(edges, r, side="right") - 1] += np.prod(box[f]) / n_pairs
    shell = 4 / 3 * np.pi * np.diff(edges**3)
    return hist / shell / x.shape[0]


def test_rdf_matches_brute_force_reference():
    rng = np.random.default_rng(8)
    x = rng.uniform(-1, 3, (3, 40, 3))  # unwrapped positions
    box = np.array([[2.0, 2.2, 2.4], [2.1, 2.1, 2.1], [2.0, 2.0, 2.0]])
    a, b = np.arange(0, 25), np.arange(15, 40)  # overlapping selections
    excl = np.array([[0, 1], [15, 16], [20, 30], [2, 24]])
    r, g = dist.rdf(x, box, a, b, excl, r_max=0.99, bins=11)
    np.testing.assert_allclose(g, _brute_force_rdf(x, box, a, b, excl, 0.99, 11), rtol=1e-12)


def test_rdf_of_ideal_gas_is_one_npt_boxes():
    rng = np.random.default_rng(9)
    L = np.linspace(2.8, 3.2, 20)[:, None] * np.ones(3)
    x = rng.uniform(0, 1, (20, 400, 3)) * L[:, None, :]
    r, g = dist.rdf(x, L, np.arange(400), np.arange(400), None, r_max=1.4, bins=14)
    assert r[0] == pytest.approx(0.05)
    np.testing.assert_allclose(g[2:], 1.0, atol=0.06)
    assert np.mean(g[4:]) == pytest.approx(1.0, abs=0.01)


def test_rdf_exclusions_remove_exactly_the_intramolecular_pairs():
    rng = np.random.default_rng(10)
    n_mol, L, bond = 200, 3.0, 0.325
    first = rng.uniform(0, L, (10, n_mol, 1, 3))
    u = rng.normal(size=(10, n_mol, 1, 3))
    second = first + bond * u / np.linalg.norm(u, axis=-1, keepdims=True)  # rigid dimers
    x = np.concatenate([first, second], axis=2).reshape(10, 2 * n_mol, 3)
    box = np.full((10, 3), L)
    beads = np.arange(2 * n_mol)
    pairs = dist.bonded_exclusions(beads.reshape(n_mol, 2))
    _, g_all = dist.rdf(x, box, beads, beads, None, r_max=1.2, bins=24)
    _, g_excl = dist.rdf(x, box, beads, beads, pairs, r_max=1.2, bins=24)
    # Each dimer adds 2 ordered pairs in the bin [0.30, 0.35) and nowhere else.
    shell = 4 / 3 * np.pi * (0.35**3 - 0.30**3)
    expected = np.zeros(24)
    expected[6] = 2 * n_mol * L**3 / ((2 * n_mol) * (2 * n_mol - 1) * shell)
    np.testing.assert_allclose(g_all - g_excl, expected, atol=1e-12)
    np.testing.assert_allclose(g_excl[2:], 1.0, atol=0.15)


def test_rdf_rejects_r_max_beyond_half_box():
    x = np.zeros((1, 2, 3))
    with pytest.raises(CgbenchError, match="half"):
        dist.rdf(x, np.full((1, 3), 2.0), [0], [1], None, r_max=1.1, bins=10)


def test_bonded_exclusions_take_every_pair_of_each_interaction():
    got = dist.bonded_exclusions(np.array([[0, 1], [1, 2]]), np.array([[0, 1, 2]]), np.array([[3, 0, 1, 2]]))
    np.testing.assert_array_equal(got, [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]])


# --------------------------------------------------------------------------- Jensen-Shannon
def test_js_identical_is_zero_and_disjoint_is_ln2():
    p = np.array([0.2, 0.3, 0.5, 0.0])
    assert dist.js_divergence(p, 7 * p) == pytest.approx(0.0, abs=1e-15)
    assert dist.js_divergence([1, 0, 0], [0, 0, 3]) == pytest.approx(np.log(2))


def test_js_hand_value():
    # p = (1, 0), q = (1/2, 1/2), m = (3/4, 1/4)
    expected = 0.5 * np.log(4 / 3) + 0.5 * (0.5 * np.log(2 / 3) + 0.5 * np.log(2))
    assert dist.js_divergence([1, 0], [0.5, 0.5]) == pytest.approx(expected, rel=1e-12)


def test_js_symmetric_and_bounded():
    rng = np.random.default_rng(11)
    for _ in range(200):
        p = rng.exponential(size=30) * (rng.uniform(size=30) > 0.3)
        q = rng.exponential(size=30) * (rng.uniform(size=30) > 0.3)
        if p.sum() == 0 or q.sum() == 0:
            continue
        js = dist.js_divergence(p, q)
        assert 0.0 <= js <= np.log(2)
        assert js == pytest.approx(dist.js_divergence(q, p), rel=1e-12, abs=1e-15)


def test_js_rejects_negative_or_mismatched():
    with pytest.raises(CgbenchError):
        dist.js_divergence([1, -1], [1, 1])
    with pytest.raises(CgbenchError):
        dist.js_divergence([1, 1], [1, 1, 1])
