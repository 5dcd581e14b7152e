"""Time left in a batch job: SLURM's duration format and where the number comes from."""

import stat
import time

import pytest

from cgbench.core.walltime import MARGIN_S, deadline, parse_slurm_duration, slurm_seconds_left


@pytest.mark.parametrize("text, seconds", [
    ("5:00", 300), ("59", 59 * 60), ("1:02:03", 3723), ("2-03:04:05", 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
    ("0:07", 7), ("UNLIMITED", None), ("NOT_SET", None), ("", None),
])
def test_slurm_durations(text, seconds):
    assert parse_slurm_duration(text) == seconds


def test_bad_duration_is_refused():
    with pytest.raises(ValueError):
        parse_slurm_duration("1:2:3:4")


def test_no_limit_outside_a_batch_job():
    assert slurm_seconds_left({}) is None and deadline({}) is None


def test_end_time_from_the_environment():
    left = slurm_seconds_left({"SLURM_JOB_ID": "7", "SLURM_JOB_END_TIME": str(time.time() + 600)})
    assert left == pytest.approx(600, abs=2)


def test_time_left_from_squeue(tmp_path):
    fake = tmp_path / "squeue"
    # a stand-in that answers as squeue -h -j 42 -o %L does, and fails for other jobs
    fake.write_text('#!/bin/sh\n[ "$3" = 42 ] && [ "$5" = "%L" ] && echo "1:00:00" || exit 1\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    assert slurm_seconds_left({"SLURM_JOB_ID": "42"}, squeue=str(fake)) == 3600
    assert slurm_seconds_left({"SLURM_JOB_ID": "43"}, squeue=str(fake)) is None


def test_deadline_keeps_a_margin():
    env = {"SLURM_JOB_ID": "7", "SLURM_JOB_END_TIME": str(time.time() + 3600)}
    assert deadline(env) == pytest.approx(time.time() + 3600 - max(MARGIN_S, 180), abs=2)
    env["SLURM_JOB_END_TIME"] = str(time.time() + 100000)
    assert deadline(env) == pytest.approx(time.time() + 0.95 * 100000, abs=2)
