"""The per-stage time table: reading Snakemake's benchmark files, ordering by stage, totals, errors."""

import json
import os
from pathlib import Path
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from cgbench.stages.stage_times import (
    BenchmarkError,
    STAGE_ORDER,
    elapsed_s,
    read_benchmark,
    read_benchmarks,
    stage_table,
    write_stage_times,
)

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def bench(path, s, rss, cpu, mtime=None):
    """A benchmark file as Snakemake 9 writes it (``NA`` where nothing was sampled)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{s}\t0:00:00\t{rss}\t10.00\t1.00\t2.00\t0.00\t0.00\t42.00\t{cpu}\n")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def job(tmp_path, stage, rule, wildcards=None, **values):
    path = tmp_path / stage / f"{rule}.tsv"
    if values:
        bench(path, **values)
    return {"stage": stage, "rule": rule, "wildcards": wildcards or {}, "path": str(path)}


def test_read_benchmark(tmp_path):
    wall, cpu, rss = read_benchmark(bench(tmp_path / "a.tsv", 12.5, 300.25, 20.0))
    assert (wall, cpu, rss) == (12.5, 20.0, 300.25)


def test_read_benchmark_na_and_repeats(tmp_path):
    # a job over before the first sample: NA for the sampled columns, wall time kept
    wall, cpu, rss = read_benchmark(bench(tmp_path / "a.tsv", 0.4, "NA", "NA"))
    assert wall == 0.4 and np.isnan(cpu) and np.isnan(rss)
    # repeat(): mean wall and CPU time, largest RSS
    p = tmp_path / "r.tsv"
    p.write_text(HEADER + "2\t0:00:02\t100\t1\t1\t1\t0\t0\t1\t1\n4\t0:00:04\t300\t1\t1\t1\t0\t0\t1\t3\n")
    assert read_benchmark(p) == (3.0, 2.0, 300.0)


@pytest.mark.parametrize("text, match", [
    ("s\th:m:s\tmax_vms\n1\t0:00:01\t3\n", "max_rss, cpu_time missing"),
    ("s,max_rss,cpu_time\n1,2,3\n", "column\\(s\\) s, max_rss, cpu_time missing"),
    ("", "not a Snakemake benchmark table"),
    (HEADER, "without a measurement"),
    (HEADER + "fast\t0:00:00\t1\t1\t1\t1\t0\t0\t1\t1\n", "column s holds 'fast'"),
    (HEADER + "1\t0:00:00\tlots\t1\t1\t1\t0\t0\t1\t1\n", "column max_rss holds 'lots'"),
])
def test_garbled_file_names_the_file_and_the_problem(tmp_path, text, match):
    p = tmp_path / "garbled.tsv"
    p.write_text(text)
    with pytest.raises(BenchmarkError, match=match) as err:
        read_benchmark(p)
    assert str(p) in str(err.value)


def test_binary_file_is_an_error(tmp_path):
    p = tmp_path / "binary.tsv"
    p.write_bytes(b"\x00\xff\xfe\x89PNG\r\n\x1a\n")
    with pytest.raises(BenchmarkError, match="binary.tsv"):
        read_benchmark(p)


def test_rows_ordered_by_stage_then_as_given(tmp_path):
    jobs = [
        job(tmp_path, "evaluate", "summarise", s=5, rss=50, cpu=4),
        job(tmp_path, "aa", "aa_nvt", {"stage": "nvt"}, s=100, rss=400, cpu=190),
        job(tmp_path, "molecule", "molecule", s=3, rss=200, cpu=2),
        job(tmp_path, "aa", "aa_equilibrate", {"stage": "em"}, s=20, rss=300, cpu=35),
        job(tmp_path, "ibi", "ibi_chunk", {"chunk": "001"}, s=60, rss=100, cpu=55),
        job(tmp_path, "dbm", "backmap_dbm", {"dbm": "dbm", "testset": "A"}, s=12, rss=900, cpu=20),
        job(tmp_path, "backmap", "testset", {"testset": "A"}, s=1, rss=80, cpu="NA"),
    ]
    table = stage_table(read_benchmarks(jobs))
    per_job = table[table["kind"] == "job"]
    assert list(per_job["stage"]) == ["molecule", "aa", "aa", "ibi", "backmap", "dbm", "evaluate"]
    # within a stage, the order given (data flow), not alphabetical
    assert list(per_job["rule"][per_job["stage"] == "aa"]) == ["aa_nvt", "aa_equilibrate"]
    assert per_job["wildcards"].iloc[5] == "dbm=dbm, testset=A"
    stages = table[table["kind"] == "stage"].set_index("stage")
    assert list(stages.index) == ["molecule", "aa", "ibi", "backmap", "dbm", "evaluate"]
    assert stages.loc["aa", "wall_s"] == 120 and stages.loc["aa", "cpu_s"] == 225
    assert stages.loc["aa", "peak_rss_MiB"] == 400 and stages.loc["aa", "jobs"] == 2
    # NA CPU time is skipped in the sums, not taken as zero
    assert np.isnan(stages.loc["backmap", "cpu_s"])
    total = table[table["kind"] == "total"].iloc[0]
    assert total["wall_s"] == 201 and total["peak_rss_MiB"] == 900 and total["jobs"] == 7
    assert stages["wall_share"].sum() == pytest.approx(1.0)
    assert stages.loc["aa", "wall_share"] == pytest.approx(120 / 201)


def test_stage_order_is_the_data_flow():
    assert STAGE_ORDER == ("molecule", "aa", "mapping", "bonded", "ibi", "cg", "backmap", "dbm", "evaluate")
    snakefile = (Path(__file__).resolve().parents[2] / "Snakefile").read_text()
    included = re.findall(r'include: "workflow/rules/(\w+)\.smk"', snakefile)
    assert [s for s in included if s in STAGE_ORDER] == list(STAGE_ORDER)


def test_unknown_stage_comes_last(tmp_path):
    jobs = [job(tmp_path, "extra", "x", s=1, rss=1, cpu=1), job(tmp_path, "aa", "y", s=1, rss=1, cpu=1)]
    per_job = stage_table(read_benchmarks(jobs)).query("kind == 'job'")
    assert list(per_job["stage"]) == ["aa", "extra"]


def test_missing_file_is_an_unmeasured_job(tmp_path):
    jobs = [job(tmp_path, "aa", "aa_nvt", s=10, rss=1, cpu=9), job(tmp_path, "aa", "aa_thermo")]
    frame = read_benchmarks(jobs)
    assert list(frame["measured"]) == [True, False]
    stage = stage_table(frame).query("kind == 'stage'").iloc[0]
    assert (stage["jobs"], stage["measured"], stage["wall_s"]) == (2, 1, 10)


def test_elapsed_span_from_file_times(tmp_path):
    # job 1 runs 0-100 s, job 2 runs 50-80 s (side by side), job 3 runs 100-130 s
    jobs = [job(tmp_path, "aa", "a", s=100, rss=1, cpu=1, mtime=1_000_100),
            job(tmp_path, "aa", "b", s=30, rss=1, cpu=1, mtime=1_000_080),
            job(tmp_path, "cg", "c", s=30, rss=1, cpu=1, mtime=1_000_130)]
    frame = read_benchmarks(jobs)
    assert elapsed_s(frame) == pytest.approx(130)
    table = stage_table(frame)
    assert table.query("kind == 'span'")["wall_s"].iloc[0] == pytest.approx(130)
    assert table.query("kind == 'total'")["wall_s"].iloc[0] == 160


def test_write_stage_times(tmp_path):
    d = tmp_path / "benchmarks"
    jobs = [job(d, "molecule", "molecule", s=3, rss=200, cpu=2), job(d, "cg", "figure2", s=2, rss=1, cpu=1)]
    bench(d / "ibi" / "ibi_chunk_009.tsv", 1, 1, 1)  # left by a configuration with more chunks
    out = {"csv": tmp_path / "stage_times.csv", "html": tmp_path / "stage_times.html"}
    write_stage_times(jobs, out, directory=d)
    csv = pd.read_csv(out["csv"])
    assert list(csv["kind"]) == ["job", "job", "stage", "stage", "total", "span"]
    html = out["html"].read_text()
    assert "<table" in html and "ibi_chunk_009.tsv" in html and "2 of 2 jobs" in html


@pytest.mark.workflow
@pytest.mark.parametrize("configfile, extra", [
    ("config/test.yaml", None),
    ("config/config.yaml", None),
    # EM only (no DBM backmaps, DBM still trained), and a last IBI chunk shorter than the others
    ("config/test.yaml", "evaluate: {methods: [em]}\nibi: {iterations: 3, chunk_iterations: 2}\n"),
])
def test_job_list_is_the_dry_runs(tmp_path, configfile, extra):
    """The table's job list holds exactly the benchmark files of the jobs that `rule all` plans."""
    from conftest import copy_workflow

    wd = copy_workflow(tmp_path / "wf")
    configfiles = [configfile]
    if extra:
        (wd / "extra.yaml").write_text(extra)
        configfiles.append("extra.yaml")
    (wd / "list_jobs.smk").write_text(
        'include: "Snakefile"\n\n\nimport json\n\nprint("JOBS=" + json.dumps(benchmark_jobs()))\n')
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    # `all` named: an included Snakefile's default target is not the default of the file that includes it
    run = subprocess.run([snakemake, "-n", "-F", "-s", "list_jobs.smk", "all", "--configfile", *configfiles],
                         cwd=wd, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    text = run.stdout + run.stderr
    listed = json.loads(re.search(r"^JOBS=(.*)$", text, re.M).group(1))
    planned = set(re.findall(r"^\s+benchmark: (\S+)$", text, re.M)) - {"results/benchmarks/stage_times.tsv"}
    assert sorted(j["path"] for j in listed) == sorted(planned)
