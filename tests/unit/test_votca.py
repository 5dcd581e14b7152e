"""VOTCA csg_inverse input: pressure-correction sign, unit conversions, settings.xml, XML topology, tables."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from cgbench.molecule import cgtopology
from cgbench.engines import votca
from cgbench.core.errors import CgbenchError
from cgbench.core.units import kT

R = np.linspace(0.0, 1.3, 131)  # nm
KT = kT(450.0)


# --------------------------------------------------------------------------- pressure correction
def test_too_high_pressure_gives_an_attractive_ramp():
    dU = votca.pressure_correction(R, p=500.0, p_target=1.0, kT=KT, f=0.001, max_A=0.1, r_max=1.3)
    assert dU[0] < 0  # attractive: lowest at r = 0
    assert dU[-1] == pytest.approx(0.0, abs=1e-12)  # zero at the cut-off
    assert np.all(np.diff(dU) > 0)  # rises linearly to zero
    # f |dp| = 0.499 < 1, so A = -0.1 kT * 0.499
    assert dU[0] == pytest.approx(-0.1 * KT * 0.001 * 499.0)


def test_too_low_pressure_gives_a_repulsive_ramp():
    dU = votca.pressure_correction(R, p=-300.0, p_target=1.0, kT=KT, f=0.001, max_A=0.1, r_max=1.3)
    assert dU[0] == pytest.approx(0.1 * KT * 0.301)
    assert np.all(np.diff(dU) < 0)


def test_amplitude_is_capped_at_max_A_kT_and_linear_in_r():
    dU = votca.pressure_correction(R, p=1e6, p_target=1.0, kT=KT, f=0.001, max_A=0.1, r_max=1.3)
    assert dU[0] == pytest.approx(-0.1 * KT)
    np.testing.assert_allclose(dU, -0.1 * KT * (1.0 - R / 1.3), atol=1e-12)
    # the study's Eq. 5 as printed, -A(1 - r/r_cut), has the opposite sign: we do not follow it
    eq5_printed = -(-0.1 * KT) * (1.0 - R / 1.3)
    assert np.all(np.sign(eq5_printed[:-1]) == -np.sign(dU[:-1]))


def test_no_correction_at_target_pressure_and_r_max_defaults_to_last_r():
    assert np.all(votca.pressure_correction(R, 1.0, 1.0, KT, 0.001) == 0.0)
    a = votca.pressure_correction(R, 50.0, 1.0, KT, 0.001)
    b = votca.pressure_correction(R, 50.0, 1.0, KT, 0.001, r_max=1.3)
    np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- units
def test_lammps_table_scales_are_nm_to_angstrom_and_kj_to_kcal():
    assert votca.LAMMPS_X_SCALE == 10.0
    assert votca.LAMMPS_Y_SCALE == pytest.approx(1.0 / 4.184)
    assert votca.LAMMPS_Y_SCALE == pytest.approx(0.239006, abs=5e-7)  # the VOTCA tutorials' value


def test_table_conversion_round_trip():
    r = np.linspace(0.1, 1.3, 61)
    U = 5.0 * np.cos(3 * r)
    rA, Ukcal = votca.table_to_lammps(r, U)
    np.testing.assert_allclose(rA, 10.0 * r)
    np.testing.assert_allclose(Ukcal, U / 4.184)
    r2, U2 = votca.table_from_lammps(rA, Ukcal)
    np.testing.assert_allclose(r2, r, rtol=1e-14)
    np.testing.assert_allclose(U2, U, rtol=1e-14)


def test_pressure_conversion_both_ways_and_slope_keeps_f_dp():
    assert float(votca.pressure_to_lammps(1.01325)) == pytest.approx(1.0)
    assert float(votca.pressure_from_lammps(1.0)) == pytest.approx(1.01325)
    assert float(votca.pressure_from_lammps(votca.pressure_to_lammps(123.4))) == pytest.approx(123.4)
    f_atm = float(votca.pressure_scale_to_lammps(0.001))
    assert f_atm == pytest.approx(0.001 * 1.01325)
    dp_bar = 250.0
    dp_atm = float(votca.pressure_to_lammps(dp_bar))
    assert f_atm * dp_atm == pytest.approx(0.001 * dp_bar)
    # hence the same correction whichever unit VOTCA sees
    a = votca.pressure_correction(R, dp_bar + 1.0, 1.0, KT, 0.001)
    b = votca.pressure_correction(
        R, float(votca.pressure_to_lammps(dp_bar + 1.0)), float(votca.pressure_to_lammps(1.0)), KT, f_atm
    )
    np.testing.assert_allclose(a, b, rtol=1e-12)


# --------------------------------------------------------------------------- settings.xml
PAIRS = [
    votca.PairSpec("T", "T", "T_T.dist.tgt"),
    votca.PairSpec("T", "A", "T_A.dist.tgt"),
    votca.PairSpec("A", "A", "A_A.dist.tgt"),
]


def _settings(**kw):
    args = dict(
        temperature_K=450.0,
        iterations_max=200,
        lammps_command="/opt/lmp",
        lammps_script="cg_nvt.in",
        topology="topol.xml",
        data_file="system.data",
        filelist=["bonds.table", "angles.table"],
    )
    args.update(kw)
    return ET.fromstring(votca.settings_xml(PAIRS, **args))


def test_settings_per_pair_blocks():
    root = _settings()
    nb = root.findall("non-bonded")
    assert [e.findtext("name") for e in nb] == ["T_T", "T_A", "A_A"]
    assert [(e.findtext("type1"), e.findtext("type2")) for e in nb] == [("T", "T"), ("T", "A"), ("A", "A")]
    for e in nb:
        assert float(e.findtext("min")) == 0.0
        assert float(e.findtext("max")) == pytest.approx(1.3)
        assert float(e.findtext("step")) == pytest.approx(0.01)
        inv = e.find("inverse")
        assert inv.findtext("do_potential").strip() == "1"
        # order matters: scale first, so the pressure correction is added unscaled
        assert inv.findtext("post_update").split() == ["scale", "pressure"]
        opts = inv.find("post_update_options")
        assert float(opts.findtext("scale")) == 0.5
        assert opts.findtext("pressure/type") == "simple"
        assert float(opts.findtext("pressure/simple/max_A")) == pytest.approx(0.1)
        assert float(opts.findtext("pressure/simple/scale")) == pytest.approx(0.001 * 1.01325)
        assert float(inv.findtext("p_target")) == pytest.approx(1.0 / 1.01325)  # 1 bar in atm
        assert inv.findtext("post_add").split() == ["convergence"]
        assert float(inv.findtext("lammps/scale")) == 10.0
        assert float(inv.findtext("lammps/y_scale")) == pytest.approx(1 / 4.184)
        assert inv.findtext("lammps/table") == f"{e.findtext('name')}.table"
        assert float(inv.findtext("lammps/table_end")) == pytest.approx(1.3)
        assert inv.findtext("target") == f"{e.findtext('name')}.dist.tgt"


def test_settings_global_block():
    root = _settings(p_target_bar=10.0)
    g = root.find("inverse")
    assert g.findtext("program") == "lammps"
    assert g.findtext("method") == "ibi"
    assert float(g.findtext("kBT")) == pytest.approx(0.0083144626 * 450.0)
    assert int(g.findtext("iterations_max")) == 200
    assert g.findtext("filelist").split() == ["cg_nvt.in", "topol.xml", "bonds.table", "angles.table"]
    lmp = g.find("lammps")
    assert lmp.findtext("command") == "/opt/lmp"
    assert lmp.findtext("script") == "cg_nvt.in"
    assert lmp.findtext("topol") == "topol.xml"
    assert lmp.findtext("conf") == "system.data"
    assert "-in ${script}" in lmp.findtext("opts")
    assert g.findtext("convergence_check/type") == "none"
    for e in root.findall("non-bonded"):
        assert float(e.findtext("inverse/p_target")) == pytest.approx(10.0 / 1.01325)


def test_settings_alpha_and_convergence_limit():
    root = _settings(alpha=0.25, convergence_limit=3.5)
    assert float(root.findtext("non-bonded/inverse/post_update_options/scale")) == 0.25
    assert root.findtext("inverse/convergence_check/type") == "default"
    assert float(root.findtext("inverse/convergence_check/limit")) == 3.5


def test_settings_write_out_the_defaults_votca_looks_up_every_iteration():
    """A missing option costs csg_inverse three csg_property calls per lookup; these are written."""
    g = _settings().find("inverse")
    assert g.findtext("restart_file") == "restart_points.log" and g.findtext("log_file") == "inverse.log"
    assert g.findtext("simulation/background") == "no"
    lmp = g.find("lammps")
    assert lmp.findtext("first_frame") == "0" and lmp.findtext("equi_time") == "0"
    assert lmp.findtext("rdf/topol") == "topol.xml" and lmp.findtext("rdf/traj") == "traj.dump"
    assert lmp.findtext("rdf/with_errors") == "no"
    for e in _settings().findall("non-bonded"):
        # VOTCA's own defaults for non-bonded tables, written out
        assert e.findtext("inverse/lammps/table_left_extrapolation") == "exponential"
        assert e.findtext("inverse/lammps/table_right_extrapolation") == "constant"


def test_settings_smooth_goes_first_and_convergence_add_is_optional():
    root = _settings(smooth_iterations=3, votca_convergence=False)
    for e in root.findall("non-bonded"):
        inv = e.find("inverse")
        assert inv.findtext("post_update").split() == ["smooth", "scale", "pressure"]
        assert int(inv.findtext("post_update_options/smooth/iterations")) == 3
        assert inv.find("post_add") is None
    # VOTCA's own convergence check needs its convergence values
    assert _settings(votca_convergence=False, convergence_limit=1.0).find("non-bonded/inverse/post_add") is not None


def test_settings_own_convergence_check_and_scriptpath():
    g = _settings(convergence_check="cgbench", scriptpath="/x/scripts").find("inverse")
    assert g.findtext("convergence_check/type") == "cgbench" and g.findtext("scriptpath") == "/x/scripts"
    with pytest.raises(CgbenchError, match="not both"):
        _settings(convergence_check="cgbench", convergence_limit=1.0)


def test_settings_wjk_pressure_correction():
    rho = votca.wjk_density(448, 3.8**3)
    pairs = [votca.PairSpec(p.type1, p.type2, p.target, particle_dens=rho) for p in PAIRS]
    root = ET.fromstring(votca.settings_xml(pairs, temperature_K=450.0, iterations_max=2, lammps_command="lmp",
                                            lammps_script="a", topology="b", data_file="c", pressure_type="wjk",
                                            wjk_scale=0.5, pressure_max_A=0.1))
    for e in root.findall("non-bonded"):
        inv = e.find("inverse")
        assert float(inv.findtext("particle_dens")) == pytest.approx(448 / 3.8**3)
        assert inv.findtext("post_update_options/pressure/type") == "wjk"
        c = float(inv.findtext("post_update_options/pressure/wjk/scale"))
        cap = float(inv.findtext("post_update_options/pressure/wjk/max_A"))
        assert c == pytest.approx(0.5 * 1.01325) and c * cap == pytest.approx(0.1)
    with pytest.raises(CgbenchError, match="particle_dens"):
        _settings(pressure_type="wjk")


def test_wjk_correction_cancels_the_pressure_difference_of_one_component_fluid():
    """With g = 1 the ramp's virial shift -(2 pi/3) rho^2 int r^3 U'(r) dr equals p_target - p."""
    kT, r_max, step, rho = 3.74, 1.3, 0.01, 8.0
    grid = np.linspace(0.0, r_max, 131)
    c, cap = votca.wjk_options(1.0, 10.0)  # a cap that does not bite
    p, pt = 300.0, 1.0  # atm, as VOTCA sees LAMMPS
    dU = votca.wjk_correction(grid, p, pt, kT, rho, np.ones_like(grid), step, c, cap, r_max)
    slope = (dU[-1] - dU[0]) / r_max  # kJ/mol/nm
    integral = np.sum(grid[1:-1] ** 3 * step) + step / 2 * r_max**3
    dp_bar = -(2 * np.pi / 3) * rho**2 * slope * integral / 0.06022
    assert dp_bar == pytest.approx((pt - p) * 1.01325, rel=1e-9)
    assert dU[0] < 0  # too high a pressure: attractive
    # the cap holds on the final amplitude
    c, cap = votca.wjk_options(1.0, 0.1)
    dU = votca.wjk_correction(grid, 3000.0, pt, kT, rho, np.ones_like(grid), step, c, cap, r_max)
    assert dU[0] == pytest.approx(-0.1 * kT)


def test_settings_pairs_without_pressure_correction():
    pairs = [votca.PairSpec("T", "T", "T_T.dist.tgt", pressure=False), *PAIRS[1:]]
    root = ET.fromstring(votca.settings_xml(pairs, temperature_K=450.0, iterations_max=2, lammps_command="lmp",
                                            lammps_script="a", topology="b", data_file="c", smooth_iterations=1))
    posts = [e.findtext("inverse/post_update").split() for e in root.findall("non-bonded")]
    assert posts == [["smooth", "scale"], ["smooth", "scale", "pressure"], ["smooth", "scale", "pressure"]]


def test_wjk_density_is_all_beads_per_volume():
    assert votca.wjk_density(448, 56.0) == pytest.approx(8.0)
    with pytest.raises(CgbenchError):
        votca.wjk_density(0, 1.0)


@pytest.mark.parametrize(
    "kw",
    [
        dict(alpha=0.0),
        dict(alpha=1.5),
        dict(iterations_max=0),
        dict(initial_configuration="elsewhere"),
        dict(table_begin_nm=0.0),
        dict(pressure_type="berendsen"),
        dict(smooth_iterations=-1),
    ],
)
def test_settings_refuse_bad_values(kw):
    with pytest.raises(CgbenchError):
        _settings(**kw)


def test_settings_refuse_duplicate_pairs():
    with pytest.raises(CgbenchError, match="unique"):
        votca.settings_xml(
            PAIRS + PAIRS[:1],
            temperature_K=450,
            iterations_max=1,
            lammps_command="lmp",
            lammps_script="a",
            topology="b",
            data_file="c",
        )


# --------------------------------------------------------------------------- topology
def test_topology_xml_molecules_beads_and_bonded(tmbt):
    cg = tmbt.cg
    root = ET.fromstring(votca.topology_xml(cg, 27))
    mol = root.find("molecules/molecule")
    assert mol.get("name") == "TMBT" and mol.get("nmols") == "27" and mol.get("nbeads") == "7"
    beads = mol.findall("bead")
    assert [b.get("name") for b in beads] == cg.bead_names
    assert [b.get("type") for b in beads] == cg.bead_types
    np.testing.assert_allclose([float(b.get("mass")) for b in beads], cg.bead_masses, atol=1e-6)
    bonded = root.find("bonded")
    names = {e.findtext("name"): (e.tag, e.findtext("beads").split()) for e in bonded}
    assert set(names) == {"bond_A_A", "bond_T_A", "angle_A_T_A", "angle_T_A_A", "dihedral_A_T_A_A", "improper_T_A_A_A"}
    assert names["improper_T_A_A_A"] == ("dihedral", ["TMBT:T1", "TMBT:A1", "TMBT:A3", "TMBT:A5"])
    assert names["bond_T_A"][0] == "bond" and len(names["bond_T_A"][1]) == 2 * 3
    assert len(names["dihedral_A_T_A_A"][1]) == 4 * 6
    # every excluded pair VOTCA will derive is a pair of beads listed together in one entry
    pairs = set()
    width = {"bond": 2, "angle": 3, "dihedral": 4}
    for tag, refs in names.values():
        idx = [cg.bead_names.index(x.split(":")[1]) for x in refs]
        for k in range(0, len(idx), width[tag]):
            group = idx[k : k + width[tag]]
            pairs |= {tuple(sorted((a, b))) for a in group for b in group if a != b}
    assert pairs == set(cgtopology.exclusion_pairs(cg))


def test_topology_xml_without_dihedrals(tmbt):
    root = ET.fromstring(votca.topology_xml(tmbt.cg, 5, kinds=("bonds", "angles")))
    assert {e.tag for e in root.find("bonded")} == {"bond", "angle"}


# --------------------------------------------------------------------------- tables
def test_votca_table_round_trip(tmp_path):
    r = np.linspace(0, 1.3, 131)
    y = np.exp(-r)
    flags = ["o"] * 10 + ["i"] * 121
    votca.write_table(tmp_path / "x.pot", r, y, flags)
    r2, y2, f2 = votca.read_table(tmp_path / "x.pot")
    np.testing.assert_allclose(r2, r)
    np.testing.assert_allclose(y2, y, rtol=1e-11)
    assert list(f2) == flags


def test_votca_table_refuses_nan(tmp_path):
    with pytest.raises(CgbenchError, match="finite"):
        votca.write_table(tmp_path / "x", [0, 1], [0, np.nan])
