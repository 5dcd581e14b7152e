"""The workflow on a real one-node SLURM cluster through profiles/slurm.

``tests/slurm/localslurm.sh`` installs Debian's slurm-wlm and munge and starts munged, slurmctld and
slurmd on this machine (root only); the workflow then runs on config/test.yaml with the shipped
profile, changed only where a one-node test cluster differs from a real one. DBM training is given
a one-minute walltime that it cannot finish in, so it has to stop before the limit and resume from
its checkpoint in the retries, as the study's training does on a cluster.
"""

from collections import Counter
import json
import os
from pathlib import Path
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, copy_workflow, needs_gmx

pytestmark = [pytest.mark.workflow, pytest.mark.slow, needs_gmx]

LOCALSLURM = ROOT / "tests" / "slurm" / "localslurm.sh"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
#: Seconds between job-status checks at most. The SLURM plugin waits 10 s longer after every check
#: that finds no job finished, up to 180 s, to spare a shared controller; on a one-node test cluster
#: that left each short job waiting minutes for its end to be noticed (the run took 18 min, most of
#: it sleeping).
STATUS_CHECK_CAP_S = 5
#: Snakemake's command line with that cap on the plugin's back-off and nothing else changed.
SNAKEMAKE_CAPPED_POLLING = f"""
import sys
import snakemake_executor_plugin_slurm as slurm
from snakemake.cli import main
interval = slurm.Executor.next_seconds_between_status_checks
slurm.Executor.next_seconds_between_status_checks = property(
    lambda self: min(interval.fget(self), {STATUS_CHECK_CAP_S}), interval.fset)
sys.exit(main())
"""
#: The shipped profile's settings that a one-node test cluster needs changed, and why.
TEST_CLUSTER = {
    "jobs": 8,
    # the shared file system is a local disk
    "latency-wait": 5,
    # a test cluster answers at once; the default waits 40 s before the first status check
    "slurm-init-seconds-before-status-checks": 2,
    # no accounting database, hence no accounts
    "slurm-no-account": True,
}
#: DBM training long enough to need several one-minute jobs (here 5 to 7; each job's start-up
#: takes much of its minute).
DBM_TRAIN = {"epochs": 2, "samples_per_epoch": 1024, "checkpoint_minutes": None}
#: Attempts beyond the first, with room for a slow machine: a job retries nothing itself.
RETRIES = 10
#: The SLURM client commands that are logged on their way to the real ones.
SLURM_COMMANDS = ("sbatch", "srun", "squeue", "sacct", "scancel", "scontrol", "sinfo", "sacctmgr", "sshare")


def record_slurm_commands(bindir, log):
    """Put a logging wrapper of each SLURM client command in ``bindir``.

    With ``bindir`` first on PATH, every call (by Snakemake's executor, by the job steps inside the
    batch jobs, which inherit the environment through ``--export=ALL``, and by Lightning) appends its
    command line to ``log`` and then runs the real command.
    """
    bindir.mkdir()
    for name in SLURM_COMMANDS:
        real = shutil.which(name)
        if real is None:
            continue
        wrapper = bindir / name
        wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "{name} $*" >> "{log}"\nexec {real} "$@"\n')
        wrapper.chmod(0o755)


def commands_seen(log):
    """{command: number of calls} from a :func:`record_slurm_commands` log, and the log's lines."""
    lines = log.read_text().splitlines() if log.exists() else []
    return Counter(line.split()[0] for line in lines), lines


@pytest.fixture(scope="module")
def cluster():
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the SLURM test needs root to start a local cluster, and CI must run it")
        pytest.skip("needs root to install and start a local SLURM cluster")
    subprocess.run([str(LOCALSLURM), "start"], check=True, timeout=900)
    try:
        yield Path(os.environ.get("LOCALSLURM_STATE", "/tmp/cgbench-localslurm"))
    finally:
        subprocess.run([str(LOCALSLURM), "stop"], timeout=120)


def test_profile_is_valid_yaml_with_gpu_rules():
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    for rule in ("dbm_train", "backmap_dbm"):
        assert profile["set-resources"][rule]["gpu"] == 1 and profile["set-resources"][rule]["cpus_per_gpu"] == "threads"


def test_profile_plans_the_paper_scale_study(tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    res = subprocess.run([SNAKEMAKE, "--profile", "profiles/slurm", "-n", "--configfile", "config/paper.yaml"],
                         cwd=wf, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    # the GPU rules carry the profile's GPU request (a dry run evaluates "threads" as a local run
    # would, so the CPUs per GPU are checked on a real submission in the test below); long AA
    # stages are capped at a day and retried
    for rule in ("dbm_train", "backmap_dbm"):
        block = res.stdout[res.stdout.index(f"rule {rule}:"):].split("\n\n")[0]
        assert "gpu=1" in block and "cpus_per_gpu=" in block, block
    assert "runtime=1440" in res.stdout


def test_workflow_runs_through_sbatch_and_dbm_resumes_after_its_time_limit(cluster, tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    profile = yaml.safe_load((wf / "profiles" / "slurm" / "config.yaml").read_text())
    profile.update(TEST_CLUSTER)
    for rule in ("dbm_train", "backmap_dbm"):
        profile["set-resources"][rule]["mem_mb"] = 4000  # a GPU node has more memory than the test node
    profile["set-resources"]["dbm_train"]["runtime"] = 1  # minutes
    (wf / "profiles" / "testcluster").mkdir()
    (wf / "profiles" / "testcluster" / "config.yaml").write_text(yaml.safe_dump(profile))
    cfg = yaml.safe_load((wf / "config" / "test.yaml").read_text())
    cfg["dbm"]["train"].update(DBM_TRAIN)
    cfg["cluster"] = {"retries": RETRIES}
    (wf / "config" / "slurm.yaml").write_text(yaml.safe_dump(cfg))

    calls = tmp_path / "slurm_commands.log"
    record_slurm_commands(tmp_path / "bin", calls)
    env = dict(os.environ, PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}")

    slurmctld_log = cluster / "log" / "slurmctld.log"
    seen_before = slurmctld_log.read_text().count("_slurm_rpc_submit_batch_job")
    cmd = [sys.executable, "-c", SNAKEMAKE_CAPPED_POLLING, "--profile", "profiles/testcluster",
           "--configfile", "config/slurm.yaml"]
    res = subprocess.run(cmd,
                         cwd=wf, env=env, capture_output=True, text=True, timeout=2400)
    out = res.stdout + res.stderr
    (tmp_path / "snakemake.log").write_text(out)
    assert res.returncode == 0, out[-4000:]
    counts, lines = commands_seen(calls)
    (tmp_path / "slurm_commands.json").write_text(json.dumps(counts, indent=1))

    # every job went through sbatch: the controller accepted one batch job per submission
    submitted = re.findall(r"Job \S+ has been submitted with SLURM jobid (\d+)", out)
    rpc = slurmctld_log.read_text()
    assert rpc.count("_slurm_rpc_submit_batch_job") - seen_before == len(submitted) >= 20
    for jobid in submitted:
        assert f"JobId={jobid} " in rpc
    # the commands on the way there: one sbatch per job, job states polled with squeue (the
    # profile's choice), every job's rule run as an srun step inside its allocation (GPU rules'
    # steps with the GPU and its CPUs), and nobody requeued a job behind Snakemake's back
    # (Lightning's SLURM auto-requeue is off)
    assert counts.get("sbatch") == len(submitted), counts
    assert any(line.startswith("squeue --format") for line in lines), counts
    assert counts.get("srun", 0) >= len(submitted), counts
    gpu_steps = [line for line in lines if line.startswith("srun") and "--target-jobs dbm_train" in line]
    assert gpu_steps and all("--gpus=1" in line and "--cpus-per-gpu=2" in line for line in gpu_steps)
    assert not [line for line in lines if line.startswith("scontrol requeue")], lines
    slurm_logs = wf / ".snakemake" / "slurm_logs"
    logs = list(slurm_logs.rglob("*.log"))
    folders = {p.relative_to(slurm_logs).parts[0] for p in logs}
    assert folders >= {"rule_molecule", "rule_aa_nvt", "rule_dbm_train", "rule_backmap_dbm", "rule_summarise"}
    # the two IBI chunks shared one job (config ibi.chunks_per_job = 2)
    assert any(f.startswith("group_ibi000") for f in folders)

    # DBM training: every attempt a SLURM job that asked for a GPU, per-GPU CPUs and one minute
    attempts = sorted((slurm_logs / "rule_dbm_train").glob("*.log"))
    assert len(attempts) >= 2
    for log in attempts:
        job = subprocess.run(["scontrol", "show", "job", log.stem], capture_output=True, text=True).stdout
        # --cpus-per-gpu is the rule's threads (config threads.dbm, default 2)
        assert "TresPerJob=gres:gpu:1" in job and "CpusPerTres=gres:gpu:2" in job and "TimeLimit=00:01:00" in job, job
    # each attempt but the last stopped before its limit (or on SLURM's SIGTERM) with a checkpoint,
    # and the last one resumed from it
    text = "\n".join(p.read_text() for p in attempts)
    # retries are the submitting Snakemake's: a job whose training stopped does not restart it in
    # the seconds it has left
    assert "Trying to restart job" not in text
    assert re.search(r"training stopped (before the job's time limit|by SIGTERM) at step", text)
    assert "dbm: resuming from" in (wf / "results" / "logs" / "dbm" / "train.log").read_text()
    summary = json.loads((wf / "results" / "dbm" / "training.json").read_text())
    assert summary["epochs"] == DBM_TRAIN["epochs"]
    # the study's outputs are there, as on a workstation
    r = wf / "results"
    for path in ("evaluate/summary.html", "evaluate/table1_rmsd.csv", "cg/figure2.png", "ibi/convergence.png",
                 "backmap/dbm_projected/A.gro", "backmap/em/C.gro"):
        assert (r / path).stat().st_size > 0, path
