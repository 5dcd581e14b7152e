"""Walltime and cost estimates from measured speeds."""

from pathlib import Path

import pytest
import yaml

from cgbench.planning import cost
from cgbench.core.config import validate

ROOT = Path(__file__).resolve().parents[2]


def paper():
    return validate(yaml.safe_load((ROOT / "config" / "paper.yaml").read_text()))


def test_tmbt_size():
    assert cost.molecule_size(ROOT / "resources" / "tmbt" / "molecule.yaml") == (69, 7)


def test_md_cost_reproduces_the_measured_speed():
    # the benchmark: 119,232 atoms at 0.808 ns/day on 2 threads; one day of it is 48 core-hours at 100 %
    hours = cost.md_core_hours(119232, 808, cost.GMX_ATOM_NS_PER_CORE_DAY)
    assert hours == pytest.approx(48 / cost.PARALLEL_EFFICIENCY)


def test_runtime_has_a_floor_a_safety_factor_and_a_cap():
    assert cost.runtime_min(0.0, 4) == 10
    assert cost.runtime_min(4.0, 4) == 90
    assert cost.runtime_min(400.0, 4, cap=1440) == 1440
    assert cost.attempts(400.0, 4, cap=1440) == 7


def test_paper_scale_study():
    costs = {c.stage: c for c in cost.study(paper(), 69, 7)}
    # the long AA runs dominate the CPU time; IBI is 200 iterations of a 21,000-bead box
    assert max(costs, key=lambda s: costs[s].core_hours if not costs[s].gpu else 0) == "AA npt"
    assert costs["IBI"].jobs == 200 and 100 < costs["IBI"].core_hours < 400
    assert costs["CG model A"].core_hours < costs["CG model B"].core_hours  # 10 fs with r-RESPA
    assert costs["DBM training"].gpu and costs["DBM backmapping"].jobs == 4  # one per test set: dbm_projected translates dbm
    assert "| **total, CPU rules** |" in cost.table(costs.values())


def test_ibi_replicas_multiply_the_md_and_the_threads_not_votcas_part():
    one = paper()
    two = paper()
    two["ibi"]["replicas"] = 2
    md = cost.cg_core_hours(one["aa"]["n_molecules"] * 7, one["ibi"]["run_ps"], one["ibi"]["timestep_fs"])
    assert cost.ibi_iteration_core_hours(two, 7) - cost.ibi_iteration_core_hours(one, 7) == pytest.approx(md)
    ibi = {c.stage: c for c in cost.study(two, 69, 7)}["IBI"]
    assert ibi.threads == 2 * one["threads"]["cg"]
