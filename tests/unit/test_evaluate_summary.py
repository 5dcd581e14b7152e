"""The summary stage on synthetic evaluation files: every output written, the verdict first."""

import json

import numpy as np
import pandas as pd
import pytest

from cgbench.molecule.cgtopology import CGTopology
from cgbench.evaluate.reduction import CLASH_FORCE
from cgbench.evaluate.summary import summary_html
from cgbench.stages.evaluate import summarise
from cgbench.engines.trajectory import Frames, write_frames

N_MOL, TYPES, BONDS = 2, ["T", "A", "A"], [(0, 1), (1, 2)]
N_BEADS = N_MOL * len(TYPES)
SETTINGS = {"force_projection": "mean", "force_bins": 20, "force_quantile": 0.999, "bootstrap": 30, "level": 0.9,
            "rdf_max_nm": 1.0, "rdf_bins": 10, "clash_nm": 0.1, "clash_kT": 10.0,
            "methods": ["em"]}


def _forces(rng, n_frames, scale):
    return rng.normal(0, scale, (n_frames, N_BEADS, 3))


def _positions(rng, n_frames):
    base = np.array([[0.0, 0.0, 0.0], [0.4, 0.0, 0.0], [0.6, 0.35, 0.0]])
    mols = np.concatenate([base + [1.5 * m, 1.0, 1.0] for m in range(N_MOL)])
    return mols + rng.normal(0, 0.02, (n_frames, N_BEADS, 3))


def _evaluation(rng, n_frames, scale, rmsd=0.0):
    f = _forces(rng, n_frames, scale)
    r = np.linspace(0.05, 1.0, 10)
    out = {"forces_mean": f, "forces_net": 4 * f, "rdf_r": r, "clash_fraction": np.zeros(n_frames),
           "lj_clash_fraction": np.zeros(n_frames), "rmsd_nm": np.full(n_frames, rmsd)}
    out.update({f"rdf_{p}": np.ones_like(r) for p in ("C-C", "C-N", "N-N")})
    return out


@pytest.fixture
def inputs(tmp_path):
    rng = np.random.default_rng(0)
    aa = tmp_path / "aa.npz"
    np.savez(aa, **_evaluation(rng, 40, 100.0))
    sets = {}
    for s, scale in (("indist", 105.0), ("A", 300.0), ("B", 3000.0), ("C", 3000.0)):
        sets["em", s] = tmp_path / f"em_{s}.npz"
        data = _evaluation(rng, 12, scale, rmsd=0.002 if s != "C" else 0.05)
        if s == "B":
            data["forces_net"][0, 0] = CLASH_FORCE  # one clashing frame
            data["lj_clash_fraction"][0] = 0.06  # one frame with 6 % of its atoms in a clash
        np.savez(sets["em", s], **data)
    mapped = tmp_path / "cg.npz"
    np.savez(mapped, positions=_positions(rng, 40), box=np.full((40, 3), 4.0), forces_net=_forces(rng, 40, 400.0),
             bead_types=np.array(TYPES), n_molecules=N_MOL)
    top = CGTopology("mol", ["T1", "A1", "A2"], TYPES, np.ones(3), bonds=[("T-A", BONDS[0]), ("A-A", BONDS[1])])
    cg_top = tmp_path / "cg_topology.json"
    cg_top.write_text(json.dumps(top.to_dict()))
    cgforces, frames = {}, {}
    for m in ("A", "B", "C"):
        cgforces[m] = tmp_path / f"cgforces_{m}.npz"
        np.savez(cgforces[m], mapped=_forces(rng, 40, 400.0), test=_forces(rng, 12, 400.0))
        fr = Frames(_positions(rng, 12), np.full((12, 3), 4.0), np.arange(12.0))
        frames[m] = (tmp_path / f"{m}.gro", tmp_path / f"{m}.trr")
        write_frames(frames[m][0], frames[m][1], fr, ["T1", "A1", "A2"] * N_MOL, ["MOL"] * N_BEADS,
                     np.repeat(np.arange(1, N_MOL + 1), 3))
    names = ["table1", "table2", "distances", "ranking", "pairs", "block_sensitivity", "chi2"]
    out = {n: tmp_path / f"{n}.csv" for n in names}
    out.update({f"{n}_tex": tmp_path / f"{n}.tex" for n in names})
    out.update({"figure3": tmp_path / "figure3.png", "figure3_svg": tmp_path / "figure3.svg",
                "figure5": tmp_path / "figure5.png", "figure5_svg": tmp_path / "figure5.svg",
                "html": tmp_path / "summary.html"})
    models = {"A": {"bonds": "constrained"}, "B": {"bonds": True}, "C": {"bonds": True}}
    return dict(aa_npz=aa, sets=sets, cgforce_npz=cgforces, mapped_npz=mapped, settings=SETTINGS, out=out,
                cg_topology=cg_top, testset_frames=frames, cg_models=models)


def test_summarise_writes_every_table_twice_and_the_verdict_first(inputs):
    summarise(**inputs, seed=3)
    out = inputs["out"]
    for path in out.values():
        assert path.exists() and path.stat().st_size > 0, path
    for name in ("table1", "table2", "distances", "ranking", "pairs", "block_sensitivity", "chi2"):
        assert out[f"{name}_tex"].read_text().startswith(r"\begin{tabular}")
    assert out["figure5_svg"].read_text().lstrip().startswith("<?xml")

    dist = pd.read_csv(out["distances"])
    assert set(dist["beads"]) == {"all", "T", "A"}
    assert set(dist["test set"]) == {"indist", "A", "B", "C"}
    ranking = pd.read_csv(out["ranking"])
    # the in-distribution control is far closer than every model: a ranking is claimed, A first
    assert ranking["control_below"].all() and ranking["model"].iloc[0] == "A" and ranking["rank"].iloc[0] == 1
    pairs = pd.read_csv(out["pairs"])
    assert list(pairs["better"]) == ["A", ranking["model"].iloc[1]]
    assert bool(pairs["resolved"].iloc[0])
    assert not bool(pairs["resolved"].iloc[1])  # B and C are drawn from one distribution
    assert ranking["rank"].iloc[1] == ranking["rank"].iloc[2] == 2

    chi = pd.read_csv(out["chi2"])
    assert len(chi) == 3 and set(chi["method"]) == {"em"}
    b = chi.set_index("model").loc["B"]
    assert b["clash_frames"] == 1 and b["frames"] == 12
    assert b["chi2_BM"] < 1e12 < 1e50 < b["chi2_BM_all_frames"]  # the clash no longer swamps the value
    assert chi["chi2_perp"].notna().all() and chi["chi2_BM_perp"].notna().all()
    assert list(chi.set_index("model")["reprojection_ok"]) == [True, True, False]

    html = out["html"].read_text()
    assert html.index("<h2>Verdict</h2>") < html.index("<h3>Table 1")
    assert "EM</b>: ranking A &lt; " in html
    assert "holds its bonds as constraints" in html and "M(BM(R)) != R" in html
    assert "AA reference 0.00%): EM 0.00%-0.50%." in html  # B's 6 % in one frame of 12
    assert pd.read_csv(out["table2"]).set_index("test set")["atoms_in_clash"]["B"] == pytest.approx(0.005)
    assert html.count('src="data:image/png;base64,') == 2
    assert "<th></th>" not in html  # no index column


def test_summary_html_states_no_ranking_with_its_reason_and_keeps_notes():
    table = pd.DataFrame({"x": [1.234567, np.nan], "ok": [True, False]}, index=[7, 8])
    text = summary_html({"dbm": "no ranking: backmapper-limited: the in-distribution control is not measurably "
                                "closer to the reference than model A."}, [("T", table)], SETTINGS,
                        notes=["DBM: trained from scratch."], findings=["JS is saturated."])
    assert text.startswith("<h2>Verdict</h2>")
    assert "no ranking: backmapper-limited" in text
    assert "DBM: trained from scratch." in text and "JS is saturated." in text
    assert "1.23" in text and "1.234567" not in text and ">7<" not in text


def test_summary_verdict_says_when_ibi_did_not_converge():
    from cgbench.ibi.criterion import verdict

    state = {"criterion": {"rdf_l2_nm": 0.002, "pressure_tolerance_bar": 100.0, "p_target_bar": 1.0},
             "checked": True, "converged": False, "first_met": None, "iterations": 12, "iterations_max": 12,
             "stopped_early": False, "final": {"rdf_l2_nm": {"T-T": 0.0086}, "pressure_bar": 378.0},
             "failing": ["T-T: 0.0086 > 0.002 nm", "pressure: |378 - 1| > 100 bar"]}
    text = summary_html({"dbm": "ranking A < B"}, [], SETTINGS, ibi=verdict(state))
    verdict_part = text[: text.index("<h2>What else")]
    assert "IBI did NOT converge" in verdict_part and "The CG models are not converged" in verdict_part
    assert verdict_part.index("CG models</b>") < verdict_part.index("DBM</b>")
    assert "IBI" not in summary_html({"dbm": "x"}, [], SETTINGS)


def test_provenance_says_where_the_model_came_from_and_what_it_saw():
    from cgbench.evaluate.summary import dbm_provenance

    tuned = dbm_provenance({"init_from": "model.pt", "generator_updates": 100, "wall_s": 45.0, "self_frames": 4,
                            "self_fraction": 0.5})
    assert tuned == ("DBM: initialised from the shipped model model.pt and fine-tuned on this run's training frames "
                     "(100 generator updates in 0.8 min; in 4 of the frames, 50% of the samples saw other molecules' "
                     "atoms where the model itself had put them).")
    assert dbm_provenance({"steps": 7}) == "DBM: trained from scratch on this run's training frames (7 optimiser steps)."
    as_is = dbm_provenance({"init_from": "model.pt", "epochs": 0, "steps": 0, "generator_updates": 0})
    assert as_is == "DBM: the shipped model model.pt as it is, not trained on this run's frames."
