"""The CG LAMMPS layer of the IBI loop: exclusions, system arrays, the rendered NVT input (no engine run)."""

import numpy as np
import pytest

from cgbench.bonded import terms as bonded_terms
from cgbench.molecule import cgtopology
from cgbench.engines import lammps as lr
from cgbench.core.errors import CgbenchError


def _table(x, x0, k):
    return bonded_terms.Table(x, 0.5 * k * (x - x0) ** 2, -k * (x - x0))


def terms_for(top, kinds=cgtopology.KINDS, constrain=False):
    """Harmonic bonded terms for every type of the given kinds (values only need to be plausible)."""
    t = bonded_terms.BondedTerms(constrain_bonds=constrain)
    if "bonds" in kinds:
        t.bonds = {n: _table(np.linspace(0.2, 0.7, 201), 0.43, 5000.0) for n in top.interaction_types("bonds")}
    if "angles" in kinds:
        t.angles = {n: _table(np.linspace(0, np.pi, 181), 2.1, 100.0) for n in top.interaction_types("angles")}
    if "propers" in kinds:
        t.propers = {n: bonded_terms.RyckaertBellemans((2.0, 1.0, -1.0, 0.5, 0.0, 0.0)) for n in top.interaction_types("propers")}
    if "impropers" in kinds:
        t.impropers = {n: bonded_terms.HarmonicImproper(0.0, 50.0) for n in top.interaction_types("impropers")}
    return t


# --------------------------------------------------------------------------- exclusions
def test_tmbt_full_model_needs_no_special_pairs(tmbt):
    # A-T-A-A dihedrals make every pair within three bonds VOTCA-excluded, and nothing further is
    assert lr.special_bonds_weights(tmbt.cg) == (0, 0, 0)


def test_tmbt_without_dihedrals_keeps_1_4_pairs(tmbt):
    # model C: VOTCA excludes bonds and angles only, so 1-4 pairs interact
    assert lr.special_bonds_weights(tmbt.cg, ("bonds", "angles")) == (0, 0, 1)
    assert lr.special_bonds_weights(tmbt.cg, ("bonds",)) == (0, 1, 1)


def test_impropers_without_angles_cannot_be_expressed(tmbt):
    # the improper T-A1-A3-A5 excludes A1-A3 (1-3) but not T-A2 (also 1-3): special_bonds cannot do that
    with pytest.raises(CgbenchError, match="1-3"):
        lr.special_bonds_weights(tmbt.cg, ("bonds", "impropers"))


def test_graph_distance_shells_match_exclusions(tmbt):
    cg = tmbt.cg
    dist = lr.data._graph_distances(7, [i for _, i in cg.bonds])
    assert set(dist) == set(cgtopology.exclusion_pairs(cg))  # within three bonds == VOTCA's set
    assert max(dist.values()) == 3
    assert {p for p, d in dist.items() if d == 1} == {tuple(sorted(i)) for _, i in cg.bonds}


# --------------------------------------------------------------------------- system arrays
def test_system_arrays_types_masses_and_offsets(tmbt):
    cg = tmbt.cg
    arr = lr.system_arrays(cg, 3)
    assert lr.atom_type_ids(cg) == {"T": 1, "A": 2}
    np.testing.assert_array_equal(arr["types"][:7], [1, 2, 2, 2, 2, 2, 2])
    assert arr["types"].size == 21
    np.testing.assert_array_equal(arr["molecule_ids"], np.repeat([1, 2, 3], 7))
    # one mass per LAMMPS type: the mean of that type's beads
    assert arr["masses"][0] == pytest.approx(cg.bead_masses[0])
    assert arr["masses"][1] == pytest.approx(np.mean(cg.bead_masses[1:]))
    btypes, bidx = arr["bonds"]
    assert bidx.shape == (18, 2)
    np.testing.assert_array_equal(bidx[6:12], bidx[:6] + 7)  # second molecule = first + 7
    ids = lr.interaction_type_ids(cg, "bonds")
    assert ids == {"A-A": 1, "T-A": 2}
    assert [ids[t] for t, _ in cg.bonds] == list(btypes[:6])
    assert "propers" not in lr.system_arrays(cg, 2, kinds=("bonds", "angles"))


# --------------------------------------------------------------------------- input script
PAIR_TABLES = {
    ("T", "T"): ("T_T.table", "VOTCA"),
    ("T", "A"): ("T_A.table", "VOTCA"),
    ("A", "A"): ("A_A.table", "VOTCA"),
}


def _lines(text):
    return [ln.split("#")[0].split() for ln in text.splitlines() if ln.split("#")[0].strip()]


def test_nvt_input_content(tmbt):
    md = lr.MDSettings(
        temperature_K=450.0,
        timestep_ps=0.002,
        n_steps=5000,
        n_equil_steps=1000,
        dump_every=500,
        pressure_every=20,
        tau_t_ps=0.5,
        seed=7,
    )
    text = lr.nvt_input(tmbt.cg, terms_for(tmbt.cg), md, PAIR_TABLES, 1.3, 601)
    lines = _lines(text)
    assert "@" not in text
    assert ["units", "real"] in lines and ["atom_style", "molecular"] in lines
    assert ["pair_style", "table", "linear", "601"] in lines
    coeffs = [ln for ln in lines if ln[0] == "pair_coeff"]
    assert [c[1:5] for c in coeffs] == [
        ["1", "1", "T_T.table", "VOTCA"],
        ["1", "2", "T_A.table", "VOTCA"],
        ["2", "2", "A_A.table", "VOTCA"],
    ]
    assert all(float(c[5]) == pytest.approx(13.0) for c in coeffs)  # 1.3 nm in Angstrom
    assert ["special_bonds", "lj", "0.0", "0.0", "0.0"] in lines
    assert ["timestep", "2"] in lines  # 0.002 ps in fs
    csvr = next(ln for ln in lines if ln[:2] == ["fix", "thermostat"])
    assert csvr[3] == "temp/csvr" and csvr[4:7] == ["450", "450", "500"]  # tau 0.5 ps = 500 fs
    assert ["fix", "integrate", "all", "nve"] in lines
    runs = [ln for ln in lines if ln[0] == "run"]
    assert runs == [["run", "1000"], ["run", "5000"]]
    dump = next(ln for ln in lines if ln[0] == "dump")
    assert dump[3:] == ["custom", "500", "traj.dump", "id", "type", "xu", "yu", "zu"]
    assert any(ln[:3] == ["dump_modify", "traj", "sort"] and ln[3] == "id" for ln in lines)
    pr = next(ln for ln in text.splitlines() if ln.startswith("fix             pressure"))
    assert "print 20" in pr and "file pressure.dat" in pr and "screen no" in pr
    assert ["dihedral_style", "nharmonic"] in lines and ["improper_style", "harmonic"] in lines
    assert ["bond_coeff", "1", "bonds.table", "bond_A_A"] in lines
    assert not any(ln[:2] == ["fix", "constraints"] for ln in lines)
    # the data file is read before anything else that needs atoms
    assert [ln[0] for ln in lines].index("read_data") < [ln[0] for ln in lines].index("pair_coeff")


def test_model_c_input_has_no_dihedrals_and_keeps_1_4(tmbt):
    md = lr.MDSettings()
    text = lr.nvt_input(tmbt.cg, terms_for(tmbt.cg, ("bonds", "angles")), md, PAIR_TABLES, 1.3, 601)
    lines = _lines(text)
    assert ["special_bonds", "lj", "0.0", "0.0", "1.0"] in lines
    assert not any(ln[0] in ("dihedral_style", "improper_style") for ln in lines)


def test_constrained_bonds_use_shake_on_every_bond_type():
    # a star molecule (centre + three partners) is one SHAKE cluster
    star = cgtopology.derive(
        "star", ["C", "P1", "P2", "P3"], ["C", "P", "P", "P"], np.ones(4), [(0, 1), (0, 2), (0, 3)]
    )
    terms = terms_for(star, ("bonds", "angles"), constrain=True)
    tables = {("C", "C"): ("a", "X"), ("C", "P"): ("b", "X"), ("P", "P"): ("c", "X")}
    text = lr.nvt_input(star, terms, lr.MDSettings(), tables, 1.3, 601)
    shake = next(ln for ln in _lines(text) if ln[:2] == ["fix", "constraints"])
    assert shake[3] == "shake" and shake[-2:] == ["b", "1"]


def test_tmbt_bonds_cannot_all_be_shake_constrained(tmbt):
    # T-A1-A2 chains make connected clusters, which LAMMPS' SHAKE refuses: say so before running
    with pytest.raises(CgbenchError, match="fix shake"):
        lr.nvt_input(tmbt.cg, terms_for(tmbt.cg, constrain=True), lr.MDSettings(), PAIR_TABLES, 1.3, 601)


def test_missing_pair_table_and_wrong_terms_are_refused(tmbt):
    with pytest.raises(CgbenchError, match="A-A"):
        lr.nvt_input(tmbt.cg, terms_for(tmbt.cg), lr.MDSettings(), dict(list(PAIR_TABLES.items())[:2]), 1.3, 601)
    bad = terms_for(tmbt.cg)
    bad.bonds.pop("A-A")
    with pytest.raises(CgbenchError, match="bonds"):
        bad.check(tmbt.cg)


def test_render_requires_every_placeholder():
    assert lr.render("a @X@ b", {"X": 3}) == "a 3 b"
    with pytest.raises(CgbenchError, match="Y"):
        lr.render("@X@ @Y@", {"X": 1})


@pytest.mark.parametrize(
    "kw", [dict(timestep_ps=0), dict(n_steps=0), dict(dump_every=0), dict(n_steps=10, dump_every=100)]
)
def test_md_settings_refuse_bad_values(kw):
    with pytest.raises(CgbenchError):
        lr.MDSettings(**kw)


def test_write_system_data_file(tmp_path, tmbt):
    x = lr.lattice_configuration(np.random.default_rng(0).normal(size=(7, 3)) * 0.3, 8, np.full(3, 3.0), seed=1)
    assert x.shape == (56, 3)
    path = lr.write_system(tmp_path / "s.data", tmbt.cg, 8, x, np.full(3, 3.0))
    text = path.read_text()
    for what in ("56 atoms", "48 bonds", "48 angles", "48 dihedrals", "8 impropers", "2 atom types"):
        assert what in text
    with pytest.raises(CgbenchError, match="shape"):
        lr.write_system(tmp_path / "t.data", tmbt.cg, 9, x, np.full(3, 3.0))


def test_lattice_keeps_molecules_rigid():
    mol = np.random.default_rng(3).normal(size=(7, 3))
    x = lr.lattice_configuration(mol, 27, np.full(3, 4.0), seed=2).reshape(27, 7, 3)
    d0 = np.linalg.norm(mol[:, None] - mol[None], axis=-1)
    for m in x:
        np.testing.assert_allclose(np.linalg.norm(m[:, None] - m[None], axis=-1), d0, atol=1e-12)
    centres = x.mean(axis=1)
    assert np.unique(np.round(centres, 9), axis=0).shape[0] == 27


def test_md_settings_from_times():
    md = lr.MDSettings.from_times(20.0, 0.001, 0.2, equilibration_ps=2.0, temperature_K=450.0, seed=3)
    assert (md.n_steps, md.n_equil_steps, md.dump_every, md.pressure_every) == (20000, 2000, 200, 10)
    assert md.seed == 3 and md.timestep_ps == 0.001
    with pytest.raises(CgbenchError, match="whole number"):
        lr.MDSettings.from_times(20.0, 0.003, 0.2)
