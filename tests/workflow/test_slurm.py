"""The workflow on a real one-node SLURM cluster through profiles/slurm.

``tests/slurm/localslurm.sh`` installs Debian's slurm-wlm and munge and starts munged, slurmctld and
slurmd on this machine (root only); the workflow then runs on config/test.yaml with the shipped
profile, changed only where a one-node test cluster differs from a real one. DBM training is given
a one-minute walltime that it cannot finish in, so it has to stop before the limit and resume from
its checkpoint in the retries, as the study's training does on a cluster.
"""

import json
import os
from pathlib import Path
import re
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, copy_workflow, needs_gmx

pytestmark = [pytest.mark.workflow, pytest.mark.slow, needs_gmx]

LOCALSLURM = ROOT / "tests" / "slurm" / "localslurm.sh"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
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
#: DBM training long enough to need several one-minute jobs.
DBM_TRAIN = {"epochs": 3, "samples_per_epoch": 1024, "checkpoint_minutes": None}


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
    cfg["cluster"] = {"retries": 6}
    (wf / "config" / "slurm.yaml").write_text(yaml.safe_dump(cfg))

    slurmctld_log = cluster / "log" / "slurmctld.log"
    seen_before = slurmctld_log.read_text().count("_slurm_rpc_submit_batch_job")
    res = subprocess.run([SNAKEMAKE, "--profile", "profiles/testcluster", "--configfile", "config/slurm.yaml"],
                         cwd=wf, capture_output=True, text=True, timeout=2400)
    out = res.stdout + res.stderr
    (tmp_path / "snakemake.log").write_text(out)
    assert res.returncode == 0, out[-4000:]

    # every job went through sbatch: the controller accepted one batch job per submission
    submitted = re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+)", out)
    rpc = slurmctld_log.read_text()
    assert rpc.count("_slurm_rpc_submit_batch_job") - seen_before == len(submitted) >= 20
    for jobid in submitted:
        assert f"JobId={jobid} " in rpc
    logs = list((wf / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert {p.parent.name for p in logs} >= {"rule_molecule", "rule_aa_nvt", "rule_dbm_train", "rule_backmap_dbm"}
    # GPU rules asked for a GPU and per-GPU CPUs; the plugin prints each sbatch call
    sbatch_dbm = [line for line in out.splitlines() if line.startswith("sbatch call:") and "dbm_train" in line]
    assert sbatch_dbm and all("--gpus=1" in s and "--cpus-per-gpu=" in s and " -t 1 " in s for s in sbatch_dbm)
    # the two IBI chunks shared one job (config ibi.chunks_per_job = 2)
    assert sum("group_ibi" in p.parent.name or "ibi000" in str(p) for p in logs) >= 1

    # DBM training stopped before its one-minute limit, was retried, and resumed from its checkpoint
    # (stopped by itself before the deadline, or, if SLURM's SIGTERM came first, on that signal)
    train_log = (wf / "results" / "logs" / "dbm" / "train.log").read_text()
    stops = len(re.findall(r"training stopped (before the job's time limit|by SIGTERM) at step", train_log))
    assert train_log.count("=== resumed from a checkpoint ===") >= stops >= 1
    assert train_log.count("resuming from") >= stops
    summary = json.loads((wf / "results" / "dbm" / "training.json").read_text())
    assert summary["epochs"] == DBM_TRAIN["epochs"]
    # the study's outputs are there, as on a workstation
    r = wf / "results"
    for path in ("evaluate/summary.html", "evaluate/table1_rmsd.csv", "cg/figure2.png", "ibi/convergence.png",
                 "backmap/dbm_projected/A.gro", "backmap/em/C.gro"):
        assert (r / path).stat().st_size > 0, path
