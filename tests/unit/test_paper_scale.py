"""The paper-scale rehearsal's bookkeeping: config merging, the study's frame counts, the fit of per-frame costs."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ps():
    spec = importlib.util.spec_from_file_location("paper_scale", ROOT / "benchmarks" / "paper_scale.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_merge_is_recursive_and_leaves_inputs_alone(ps):
    base = {"a": {"b": 1, "c": 2}, "d": [1]}
    over = {"a": {"b": 5}, "d": [2, 3]}
    out = ps.merge(base, over)
    assert out == {"a": {"b": 5, "c": 2}, "d": [2, 3]}
    assert base == {"a": {"b": 1, "c": 2}, "d": [1]}


def test_study_counts_of_the_paper_config(ps):
    cfg = ps.load_config(ROOT / "config" / "paper.yaml")
    c = ps.study_counts(cfg)
    assert c["n_molecules"] == 3000
    assert c["aa_frames"] == 2001  # 20 ns every 10 ps, frame 0 included
    assert c["testset_frames"] == 100 and c["testsets"] == 1 + len(cfg["cg_models"])
    ibi = cfg["ibi"]
    assert c["ibi_frames_per_iteration"] == round((ibi["run_ps"] - ibi["equilibration_ps"]) / ibi["output_interval_ps"]) + 1
    assert c["ibi_iterations_per_job"] == ibi["chunk_iterations"] * ibi["chunks_per_job"]
    train = cfg["dbm"]["train"]
    assert c["dbm_batches"] == train["epochs"] * (train["samples_per_epoch"] // train["batch_size"])
    keys = ps.provenance(ROOT / "config" / "paper.yaml", cfg)
    assert keys["aa.n_molecules"] == {"value": 3000, "from": "paper.yaml"}


def test_fit_separates_fixed_and_per_frame_costs(ps):
    one = {"frames": 1, "wall_s": 3.0, "peak_rss_mb": 110.0, "engine_peak_rss_mb": 50.0}
    many = {"frames": 5, "wall_s": 11.0, "peak_rss_mb": 150.0, "engine_peak_rss_mb": 50.0}
    (fixed, per), (m0, m1, e0, e1) = ps.fit(one, many)
    assert (fixed, per) == pytest.approx((1.0, 2.0))
    assert (m0, m1, e0, e1) == pytest.approx((100.0, 10.0, 50.0, 0.0))
    # a run that got faster with more frames is noise, not a negative cost
    (fixed, per), _ = ps.fit(one, dict(many, wall_s=2.0))
    assert per == 0.0 and fixed == 3.0
    assert ps.fit(one, None) == (None, None)


def test_rule_resources_reads_literal_mem_mb_and_named_constants(ps):
    rules = ps.rule_resources()
    assert rules["molecule"]["mem_mb"] == 2000 and rules["map_aa"]["runtime"] == 60
    assert rules["map_aa"]["mem_mb"] == rules["testset"]["mem_mb"] == 2000  # STREAMED_MEM_MB in common.smk
    assert rules["cg_model_forces"]["mem_mb"] == "CG_FORCES_MEM_MB"  # computed from the run's size
