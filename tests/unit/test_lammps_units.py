import warnings

import numpy as np
import pytest

from cgbench.engines import lammps
from cgbench.core.errors import CgbenchError


# --------------------------------------------------------------------------- conversions
@pytest.mark.parametrize(
    "to_real, to_gmx, gmx, real",
    [
        (lammps.nm_to_angstrom, lammps.angstrom_to_nm, 1.0, 10.0),
        (lammps.kj_to_kcal, lammps.kcal_to_kj, 4.184, 1.0),
        (lammps.force_gmx_to_real, lammps.force_real_to_gmx, 41.84, 1.0),  # kJ/mol/nm -> kcal/mol/A
        (lammps.bar_to_atm, lammps.atm_to_bar, 1.01325, 1.0),
        (lammps.ps_to_fs, lammps.fs_to_ps, 0.002, 2.0),
    ],
)
def test_conversion_both_ways(to_real, to_gmx, gmx, real):
    assert to_real(gmx) == pytest.approx(real, rel=1e-12)
    assert to_gmx(real) == pytest.approx(gmx, rel=1e-12)
    values = np.random.default_rng(0).normal(0, 100, (4, 3))
    np.testing.assert_allclose(to_gmx(to_real(values)), values, rtol=1e-14)
    assert to_real(values).shape == (4, 3)


# --------------------------------------------------------------------------- tables
def test_pair_table_round_trip_and_file_layout(tmp_path):
    r = np.linspace(0.05, 1.3, 126)
    U = 4.0 * np.exp(-r / 0.2)
    F = 4.0 / 0.2 * np.exp(-r / 0.2)
    r2 = np.concatenate([[0.04], r[1:]])  # not uniform: written without R
    path = lammps.write_pair_table(tmp_path / "pair.table", {"T-T": (r, U, F), "TA": (r2, U, F)})
    for key, rr in (("T-T", r), ("TA", r2)):
        x, u, f = lammps.read_table(path, key, "pair")
        np.testing.assert_allclose(x, rr, rtol=1e-12)
        np.testing.assert_allclose(u, U, rtol=1e-11)
        np.testing.assert_allclose(f, F, rtol=1e-11)
    lines = path.read_text().splitlines()
    k = lines.index("T-T")
    assert lines[k + 1].split() == ["N", "126", "R", f"{0.5:.12e}", f"{13.0:.12e}"]
    assert lines[k + 2] == ""
    i, ra, ea, fa = map(float, lines[k + 3].split())
    assert (i, ra) == (1, pytest.approx(0.5))
    assert ea == pytest.approx(U[0] / 4.184) and fa == pytest.approx(F[0] / 41.84)
    assert lines[lines.index("TA") + 1].split() == ["N", "126"]


def test_bond_table_round_trip_and_eq(tmp_path):
    r = np.linspace(0.2, 0.6, 81)
    U = 0.5 * 5000 * (r - 0.41) ** 2
    path = lammps.write_bond_table(tmp_path / "bond.table", {"B1": (r, U, -5000 * (r - 0.41))})
    x, u, f = lammps.read_table(path, "B1", "bond")
    np.testing.assert_allclose(x, r, rtol=1e-12)
    np.testing.assert_allclose(u, U, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(f, -5000 * (r - 0.41), rtol=1e-11, atol=1e-12)
    header = path.read_text().splitlines()[path.read_text().splitlines().index("B1") + 1].split()
    assert header[:3] == ["N", "81", "EQ"] and float(header[3]) == pytest.approx(4.1)


def test_angle_table_degrees_and_force_per_degree(tmp_path):
    theta = np.linspace(0, np.pi, 181)
    U = 0.5 * 100 * (theta - 2.0) ** 2
    F = -100 * (theta - 2.0)  # kJ/mol/rad
    path = lammps.write_angle_table(tmp_path / "angle.table", {"A": (theta, U, F)})
    rows = [ln.split() for ln in path.read_text().splitlines() if ln[:1].isdigit()]
    data = np.array(rows, dtype=float)
    assert data[0, 1] == 0.0 and data[-1, 1] == 180.0
    np.testing.assert_allclose(data[:, 1], np.degrees(theta), rtol=1e-12)
    np.testing.assert_allclose(data[:, 3], F / 4.184 * np.pi / 180, rtol=1e-11)  # kcal/mol per degree
    x, u, f = lammps.read_table(path, "A", "angle")
    np.testing.assert_allclose(x, theta, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(u, U, rtol=1e-11)
    np.testing.assert_allclose(f, F, rtol=1e-11)


def test_table_writers_refuse_what_lammps_refuses(tmp_path):
    r = np.linspace(0.0, 1.0, 11)
    with pytest.raises(CgbenchError, match="r > 0"):
        lammps.write_pair_table(tmp_path / "p", {"P": (r, r, r)})
    with pytest.raises(CgbenchError, match="0 to 180"):
        th = np.linspace(0.1, np.pi, 11)
        lammps.write_angle_table(tmp_path / "a", {"A": (th, th, th)})
    with pytest.raises(CgbenchError, match="finite"):
        lammps.write_bond_table(tmp_path / "b", {"B": (r, np.full(11, np.nan), r)})
    with pytest.raises(CgbenchError, match="one word"):
        lammps.write_bond_table(tmp_path / "b", {"B 1": (r, r, r)})
    with pytest.raises(CgbenchError, match="no section"):
        lammps.write_bond_table(tmp_path / "b", {"B": (r, r, r)})
        lammps.read_table(tmp_path / "b", "C", "bond")


# --------------------------------------------------------------------------- data file
def _section(text, name):
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.split("#")[0].strip() == name) + 2
    end = start
    while end < len(lines) and lines[end].strip():
        end += 1
    return np.array([ln.split() for ln in lines[start:end]], dtype=float)


def test_data_file_wraps_positions_and_keeps_topology(tmp_path):
    x = np.array([[0.1, 0.2, 0.3], [-0.1, 0.5, 2.9], [1.2, 3.4, 0.5], [0.5, 0.5, 0.5]])
    box = np.array([3.0, 3.0, 3.0])
    path = lammps.write_data_file(
        tmp_path / "d.data",
        x,
        box,
        types=[1, 2, 2, 1],
        masses=[120.0, 90.0],
        molecule_ids=[1, 1, 1, 2],
        bonds=([1, 2], np.array([[0, 1], [1, 2]])),
        angles=([1], np.array([[0, 1, 2]])),
        dihedrals=None,
        impropers=([3], np.array([[0, 1, 2, 3]])),
    )
    text = path.read_text()
    for line in (
        "4 atoms",
        "2 bonds",
        "1 angles",
        "1 impropers",
        "2 atom types",
        "2 bond types",
        "1 angle types",
        "3 improper types",
        "0.0 30.0000000000 xlo xhi",
    ):
        assert line in text.splitlines(), line
    assert "dihedral" not in text
    atoms = _section(text, "Atoms")
    np.testing.assert_array_equal(atoms[:, :3], [[1, 1, 1], [2, 1, 2], [3, 1, 2], [4, 2, 1]])
    wrapped, image = atoms[:, 3:6], atoms[:, 6:9]
    assert np.all((wrapped >= 0) & (wrapped < 30.0))
    np.testing.assert_allclose(wrapped + image * 30.0, 10 * x, atol=1e-7)
    np.testing.assert_array_equal(image[1], [-1, 0, 0])
    np.testing.assert_array_equal(_section(text, "Bonds"), [[1, 1, 1, 2], [2, 2, 2, 3]])  # 1-based ids
    np.testing.assert_array_equal(_section(text, "Impropers"), [[1, 3, 1, 2, 3, 4]])
    np.testing.assert_array_equal(_section(text, "Masses"), [[1, 120.0], [2, 90.0]])


def test_data_file_rejects_types_without_mass(tmp_path):
    with pytest.raises(CgbenchError, match="mass"):
        lammps.write_data_file(tmp_path / "d", np.zeros((2, 3)), [1, 1, 1], [1, 3], [1.0, 1.0], [1, 1])


# --------------------------------------------------------------------------- dump
DUMP = """ITEM: TIMESTEP
0
ITEM: NUMBER OF ATOMS
3
ITEM: BOX BOUNDS pp pp pp
0.0 20.0
-5.0 15.0
0.0 30.0
ITEM: ATOMS id type mol x y z fx fy fz
3 2 1 3.0 3.5 4.0 -1.0 0.0 0.0
1 1 1 1.0 1.5 2.0 1.0 2.0 0.0
2 2 1 2.0 2.5 3.0 0.0 0.0 10.0
ITEM: TIMESTEP
10
ITEM: NUMBER OF ATOMS
3
ITEM: BOX BOUNDS pp pp pp
0.0 21.0
-5.0 15.0
0.0 30.0
ITEM: ATOMS id type mol x y z fx fy fz
2 2 1 2.5 2.5 3.0 0.0 0.0 0.0
1 1 1 1.5 1.5 2.0 0.0 0.0 0.0
3 2 1 3.5 3.5 4.0 0.0 0.0 0.0
"""


def test_read_dump_sorts_by_id_and_converts_units(tmp_path):
    (tmp_path / "d.lammpstrj").write_text(DUMP)
    d = lammps.read_dump(tmp_path / "d.lammpstrj")
    np.testing.assert_array_equal(d.timesteps, [0, 10])
    np.testing.assert_array_equal(d.ids, [1, 2, 3])
    np.testing.assert_array_equal(d.types, [1, 2, 2])
    np.testing.assert_allclose(d.box, [[2.0, 2.0, 3.0], [2.1, 2.0, 3.0]])
    np.testing.assert_allclose(d.positions[0], [[0.1, 0.15, 0.2], [0.2, 0.25, 0.3], [0.3, 0.35, 0.4]])
    np.testing.assert_allclose(d.positions[1, 0], [0.15, 0.15, 0.2])
    np.testing.assert_allclose(
        d.forces[0], [[41.84, 83.68, 0], [0, 0, 418.4], [-41.84, 0, 0]]
    )  # 1 kcal/mol/A = 41.84 kJ/mol/nm


def test_read_dump_scaled_positions_without_forces(tmp_path):
    text = "\n".join(
        [
            "ITEM: TIMESTEP",
            "5",
            "ITEM: NUMBER OF ATOMS",
            "2",
            "ITEM: BOX BOUNDS pp pp pp",
            "-10 10",
            "0 10",
            "0 10",
            "ITEM: ATOMS id type xs ys zs",
            "2 1 0.5 0.5 0.5",
            "1 1 0.0 0.25 1.0",
        ]
    )
    (tmp_path / "s.dump").write_text(text)
    d = lammps.read_dump(tmp_path / "s.dump")
    assert d.forces is None and d.molecule_ids is None
    np.testing.assert_allclose(d.positions[0], [[-1.0, 0.25, 1.0], [0.0, 0.5, 0.5]])


def test_read_dump_refuses_a_cut_frame_and_a_frame_of_other_atoms(tmp_path):
    cut = DUMP[: DUMP.rindex("3 2 1 3.5")]  # a run killed while writing its last frame
    (tmp_path / "cut.dump").write_text(cut)
    with pytest.raises(CgbenchError, match="step 10 ends early"):
        lammps.read_dump(tmp_path / "cut.dump")
    (tmp_path / "other.dump").write_text(DUMP.replace("3 2 1 3.5", "4 2 1 3.5"))
    with pytest.raises(CgbenchError, match="step 10 holds different atoms"):
        lammps.read_dump(tmp_path / "other.dump")


# --------------------------------------------------------------------------- bonded parameters
def test_rb_to_multiharmonic_reproduces_rb_energy():
    C = np.array([9.28, 12.16, -13.12, -3.06, 26.24, 0.0])  # kJ/mol
    A = lammps.rb_to_multiharmonic(C)
    np.testing.assert_allclose(A, np.array([9.28, -12.16, -13.12, 3.06, 26.24]) / 4.184)
    phi = np.linspace(-np.pi, np.pi, 37)
    e_lammps = np.polynomial.polynomial.polyval(np.cos(phi), A)  # sum A_n cos^(n-1)(phi), kcal/mol
    e_gmx = np.polynomial.polynomial.polyval(np.cos(phi - np.pi), C)  # kJ/mol
    np.testing.assert_allclose(lammps.kcal_to_kj(e_lammps), e_gmx, atol=1e-12)


def test_rb_with_c5_is_refused():
    with pytest.raises(CgbenchError, match="C5"):
        lammps.rb_to_multiharmonic([1, 2, 3, 4, 5, 0.5])
    assert lammps.rb_to_multiharmonic([1, 2, 3, 4, 5]).shape == (5,)


def test_improper_conversion_halves_k_and_warns_off_plane():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        K, chi = lammps.improper_harmonic_to_lammps(0.0, 41.84)
        assert (K, chi) == (pytest.approx(5.0), 0.0)
        assert lammps.improper_harmonic_to_lammps(-180.0, 10.0)[1] == 180.0
    with pytest.warns(UserWarning, match="mirror"):
        assert lammps.improper_harmonic_to_lammps(-30.0, 10.0)[1] == pytest.approx(30.0)


def test_rb_to_nharmonic_keeps_c5():
    C = np.array([1.0, -2.0, 0.5, 3.0, -1.0, 0.7])
    A = lammps.rb_to_nharmonic(C)
    phi = np.linspace(-np.pi, np.pi, 73)
    rb = sum(c * np.cos(phi - np.pi) ** n for n, c in enumerate(C))
    nh = sum(a * np.cos(phi) ** n for n, a in enumerate(A))
    np.testing.assert_allclose(lammps.kcal_to_kj(nh), rb, atol=1e-12)
    with pytest.raises(Exception, match="C0..C5"):
        lammps.rb_to_nharmonic(C[:5])
