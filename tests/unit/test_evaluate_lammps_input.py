"""The LAMMPS side of CG force evaluation, without running LAMMPS: dump writing and the input text."""

import numpy as np
import pytest

from cgbench.engines import lammps
from cgbench.core.errors import CgbenchError
from cgbench.engines.lammps import force_input, write_frames_dump
from cgbench.bonded.terms import BondedTerms, HarmonicImproper, RyckaertBellemans, Table


def test_frames_dump_round_trip_in_gromacs_units(tmp_path):
    rng = np.random.default_rng(0)
    box = np.array([[3.0, 3.5, 4.0], [3.1, 3.4, 4.2]])
    x = rng.uniform(-2, 6, (2, 5, 3))  # outside the box on purpose
    types = np.array([1, 2, 2, 1, 2])
    write_frames_dump(tmp_path / "f.dump", x, box, types)
    d = lammps.read_dump(tmp_path / "f.dump")
    np.testing.assert_array_equal(d.timesteps, [0, 1])
    np.testing.assert_array_equal(d.types, types)
    np.testing.assert_allclose(d.box, box, rtol=1e-12)
    assert np.all((d.positions >= 0) & (d.positions < box[:, None, :]))
    shift = (d.positions - x) / box[:, None, :]
    np.testing.assert_allclose(shift, np.round(shift), atol=1e-9)  # same points, wrapped


def _terms(kind):
    r = np.linspace(0.1, 1.0, 10)
    th = np.linspace(0.0, np.pi, 10)
    bonds = {"A-A": Table(r, r, -np.ones_like(r)), "T-A": Table(r, r, -np.ones_like(r))}
    angles = {"A-T-A": Table(th, th, -np.ones_like(th)), "T-A-A": Table(th, th, -np.ones_like(th))}
    if kind == "C":
        return BondedTerms(bonds, angles)
    return BondedTerms(bonds, angles, {"A-T-A-A": RyckaertBellemans((1, 1, 1, 1, 1, 0))},
                       {"T-A-A-A": HarmonicImproper(0.0, 10.0)}, constrain_bonds=kind == "A")


@pytest.fixture
def tables(tmp_path):
    f = tmp_path / "pair.table"
    f.write_text("# not read here\n")
    return {("T", "T"): (f, "TT"), ("A", "T"): (f, "TA"), ("A", "A"): (f, "AA")}


@pytest.mark.parametrize("kind, special", [("A", "0.0 0.0 0.0"), ("B", "0.0 0.0 0.0"), ("C", "0.0 0.0 1.0")])
def test_input_text(tmbt, tables, kind, special):
    text = force_input(tmbt.cg, _terms(kind), tables, cutoff_nm=1.2, table_n=500)
    lines = text.splitlines()
    pair = [ln for ln in lines if ln.startswith("pair_coeff")]
    f = tables[("T", "T")][0]
    # T = type 1, A = type 2 (order of first appearance); either key order finds the table; Angstrom cut-off
    assert pair == [f"pair_coeff      1 1 {f} TT 12.000000  # T-T", f"pair_coeff      1 2 {f} TA 12.000000  # T-A",
                    f"pair_coeff      2 2 {f} AA 12.000000  # A-A"]
    assert f"special_bonds   lj {special}" in lines
    assert lines[-1].startswith("rerun           frames.dump dump x y z box yes")
    if kind == "A":  # constrained bonds: no bond potential, bonds kept as topology
        assert "bond_style      zero" in lines and not any("bond_style      table" in ln for ln in lines)
    else:
        assert any(ln.startswith("bond_style      table") for ln in lines) and "bond_style      zero" not in lines
    assert any(ln.startswith("dihedral_style") for ln in lines) == (kind != "C")


def test_missing_pair_table_is_an_error(tmbt, tables):
    del tables[("A", "T")]
    with pytest.raises(CgbenchError, match="T-A"):
        force_input(tmbt.cg, _terms("B"), tables, 1.2, 500)
