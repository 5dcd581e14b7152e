"""Mapping stage on synthetic trajectories: COM mapping across boundaries, forces, distributions."""

import numpy as np

from cgbench.mapping.reference import map_trajectory, reference_table, system_indices
from cgbench.geometry.pbc import wrap
from cgbench.engines.trajectory import Frames

BINS = {"bond_bin_nm": 0.002, "bond_max_nm": 1.0, "angle_bin_deg": 1.0, "dihedral_bin_deg": 2.0,
        "rdf_bin_nm": 0.02, "cutoff_nm": 1.0}


def tmbt_system(tmbt, n_mol, nf, box_nm, seed=0):
    rng = np.random.default_rng(seed)
    x0 = tmbt.molecule.positions - tmbt.molecule.positions.mean(0)
    frames = []
    for _ in range(nf):
        mols = []
        for _ in range(n_mol):
            q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
            mols.append(x0 @ q.T + rng.uniform(0, box_nm, 3))
        frames.append(np.concatenate(mols))
    return np.asarray(frames)


def test_mapping_equals_com_of_whole_molecules(tmbt):
    n_mol, nf, L = 4, 2, 2.2
    x = tmbt_system(tmbt, n_mol, nf, L)
    box = np.full((nf, 3), L)
    f = np.random.default_rng(3).normal(size=x.shape)
    aa = Frames(wrap(x, box), box, np.arange(nf, dtype=float), f)
    cg, mean = map_trajectory(aa, tmbt.topology, tmbt.mapping, n_mol)
    w = tmbt.mapping.com_weights()
    expect = wrap(np.einsum("ba,fmak->fmbk", w, x.reshape(nf, n_mol, 69, 3)).reshape(nf, -1, 3), box)
    d = cg.positions - expect
    d -= L * np.round(d / L)
    np.testing.assert_allclose(d, 0, atol=1e-9)
    # net bead force = sum of its atoms' forces; Eq. 6 mean = net / atom count
    t1 = tmbt.mapping.bead_of_atom == 0
    np.testing.assert_allclose(cg.forces[:, 0], f[:, :69][:, t1].sum(1))
    np.testing.assert_allclose(mean[:, 0], f[:, :69][:, t1].mean(1))
    np.testing.assert_allclose(cg.forces.sum(1), f.sum(1))


def test_system_indices():
    idx = np.array([[0, 1], [1, 2]])
    np.testing.assert_array_equal(system_indices(idx, 2, 7), [[0, 1], [1, 2], [7, 8], [8, 9]])


def test_reference_table_has_every_distribution(tmbt):
    n_mol, nf, L = 6, 3, 3.0
    x = tmbt_system(tmbt, n_mol, nf, L, seed=1)
    box = np.full((nf, 3), L)
    cg, _ = map_trajectory(Frames(wrap(x, box), box, np.arange(nf, dtype=float)), tmbt.topology, tmbt.mapping, n_mol)
    table = reference_table(cg.positions, cg.box, tmbt.cg, n_mol, BINS)
    got = set(zip(table["kind"], table["name"]))
    assert got == {("bond", "T-A"), ("bond", "A-A"), ("angle", "T-A-A"), ("angle", "A-T-A"),
                   ("proper", "A-T-A-A"), ("improper", "T-A-A-A"), ("rdf", "T-T"), ("rdf", "T-A"), ("rdf", "A-A")}
    # rigid copies of one conformer: every T-A bond has one length, seen in one bin
    ta = table[(table["kind"] == "bond") & (table["name"] == "T-A")]
    assert (ta["y"] > 0).sum() <= 3
    peak = ta["x"].iloc[int(np.argmax(ta["y"]))]
    d = np.linalg.norm(cg.positions[0, 0] - cg.positions[0, 1])
    assert abs(peak - d) < 0.005
    # densities integrate to 1 over their ranges
    for (kind, name), grp in table[table["kind"] != "rdf"].groupby(["kind", "name"]):
        dx = np.diff(grp["x"]).mean()
        assert abs((grp["y"] * dx).sum() - 1) < 1e-6, (kind, name)


def test_bonded_interaction_that_never_occurs_is_named(tmbt):
    import pytest

    from cgbench.core.errors import CgbenchError

    n_mol, nf, L = 2, 1, 3.0
    x = tmbt_system(tmbt, n_mol, nf, L, seed=4)
    box = np.full((nf, 3), L)
    cg, _ = map_trajectory(Frames(wrap(x, box), box, np.zeros(nf)), tmbt.topology, tmbt.mapping, n_mol)
    # bond lengths of about 0.43 nm cannot fall inside a histogram that stops at 0.3 nm
    bins = dict(BINS, bond_max_nm=0.3)
    with pytest.raises(CgbenchError, match=r"CG bond (T-A|A-A) never occurs .* range 0-0.3 \(values seen: 0.4"):
        reference_table(cg.positions, cg.box, tmbt.cg, n_mol, bins)
