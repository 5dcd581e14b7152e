"""All-atom protocol decisions: stage order, mdp values, box size, thermodynamics table."""

import numpy as np
import pytest

from cgbench.aa import protocol as aa
from cgbench.engines import mdp
from cgbench.core.config import validate


@pytest.fixture
def cfg(root, monkeypatch):
    monkeypatch.chdir(root)
    return validate({"molecule": "resources/tmbt/molecule.yaml"})["aa"]


def render(root, stage, cfg):
    d = root / "resources" / "mdp"
    return mdp.parse(mdp.render(d / aa.template(stage), aa.mdp_values(stage, cfg, 3), d / "common.mdp"))


def test_stage_order_and_optional_compression(cfg):
    assert aa.active_stages(cfg) == ["em", "compress", "anneal", "cool", "npt", "nvt"]
    assert aa.previous_stage(cfg, "anneal") == "compress"
    cfg["compress"]["time_ps"] = 0
    assert aa.active_stages(cfg) == ["em", "anneal", "cool", "npt", "nvt"]
    assert aa.previous_stage(cfg, "anneal") == "em"
    assert aa.previous_stage(cfg, "em") is None


def test_common_settings_everywhere(root, cfg):
    for stage in aa.STAGES:
        m = render(root, stage, cfg)
        assert m["coulombtype"] == "PME" and m["pme-order"] == "4"
        assert float(m["fourierspacing"]) == 0.12 and float(m["ewald-rtol"]) == 1e-5
        assert float(m["rcoulomb"]) == float(m["rvdw"]) == 1.3
        assert m["dispcorr"] == "EnerPres"


def test_anneal_cool_npt_nvt(root, cfg):
    comp, anneal, cool = (render(root, s, cfg) for s in ("compress", "anneal", "cool"))
    npt, nvt = render(root, "npt", cfg), render(root, "nvt", cfg)
    # velocities are generated once, in the first MD stage
    assert comp["gen-vel"] == "yes" and anneal["gen-vel"] == "no" and anneal["continuation"] == "yes"
    assert anneal["tcoupl"] == "v-rescale" and float(anneal["tau-t"]) == 0.5 and float(anneal["ref-t"]) == 800
    assert anneal["pcoupl"] == "Berendsen" and float(anneal["tau-p"]) == 0.5
    assert float(anneal["compressibility"]) == 4.5e-5 and float(anneal["dt"]) == 0.001
    assert int(anneal["nsteps"]) == 200_000
    assert float(comp["ref-p"]) == 1000 and float(anneal["ref-p"]) == 1.0
    assert cool["annealing"] == "single" and cool["annealing-temp"] == "800 450"
    assert cool["annealing-time"] == "0 3500.0" and int(cool["nsteps"]) == 3_500_000
    assert npt["pcoupl"] == "Parrinello-Rahman" and float(npt["tau-p"]) == 1.0 and float(npt["ref-t"]) == 450
    assert nvt["pcoupl"] == "no" and nvt["nstxout"] == nvt["nstfout"] == "10000"
    assert int(nvt["nsteps"]) == 20_000_000


def test_box_edge():
    # 1000 molecules of 602.214076 g/mol at 1 g/cm^3 is 1000 nm^3 exactly
    assert aa.box_edge_nm(1000, 602.214076, 1.0) == pytest.approx(10.0)


def test_thermo_table_runs_time_across_stages():
    data = [
        ("anneal", {"Time": np.array([0.0, 1.0, 2.0]), "Density": np.ones(3), "Temperature": np.full(3, 800.0),
                    "Pressure": np.zeros(3)}),
        ("nvt", {"Time": np.array([10.0, 11.0]), "Temperature": np.full(2, 450.0), "Pressure": np.ones(2)}),
    ]
    t = aa.thermo_table(data)
    np.testing.assert_allclose(t["time_ps"], [0, 1, 2, 2, 3])
    assert t["density_kg_m3"].isna().sum() == 2
    s = aa.stage_summary(t)
    assert s.set_index("stage").loc["nvt", "temperature_K_mean"] == 450.0


def test_parrinello_rahman_couples_often(root, cfg):
    npt = render(root, "npt", cfg)
    assert npt["nstpcouple"] == "5"
    assert int(npt["nstcalcenergy"]) % 5 == 0 or 5 % int(npt["nstcalcenergy"]) == 0
    assert int(npt["nstenergy"]) % int(npt["nstcalcenergy"]) == 0


def test_blown_up_box_is_an_error(tmp_path):
    from cgbench.engines.mdrun import check_box
    from cgbench.core.errors import EngineError
    from cgbench.engines.gromacs import write_gro

    write_gro(tmp_path / "a.gro", np.zeros((1, 3)), ["C1"], "X", [4.0, 4.0, 4.0])
    write_gro(tmp_path / "b.gro", np.zeros((1, 3)), ["C1"], "X", [4.1, 4.1, 4.1])
    write_gro(tmp_path / "c.gro", np.zeros((1, 3)), ["C1"], "X", [9.0, 9.0, 9.0])
    check_box("npt", tmp_path / "a.gro", tmp_path / "b.gro", tmp_path / "log")
    with pytest.raises(EngineError, match=r"blew up: the box volume grew from 64.0 to 729.0 nm\^3"):
        check_box("npt", tmp_path / "a.gro", tmp_path / "c.gro", tmp_path / "log")
