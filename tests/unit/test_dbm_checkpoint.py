"""Lightning inside SLURM: its own auto-requeue must stay off so Snakemake's retries are the only restarts."""

import os
import warnings

import pytest

from cgbench.backmap.dbm.checkpoint import cluster_plugins, no_srun_hint


# the environment is the test's, so Lightning sees no srun in use
@pytest.mark.filterwarnings("ignore:The `srun` command is available")
def test_inside_a_slurm_job_step_lightning_never_requeues():
    from lightning.fabric.plugins.environments import SLURMEnvironment

    (env,) = cluster_plugins({"SLURM_NTASKS": "1", "SLURM_JOB_NAME": "3f2a", "SLURM_JOB_ID": "12"})
    assert isinstance(env, SLURMEnvironment) and env.auto_requeue is False


def test_outside_slurm_the_plain_environment():
    from lightning.fabric.plugins.environments import LightningEnvironment

    for environ in ({}, {"SLURM_NTASKS": "1", "SLURM_JOB_NAME": "interactive"}):
        (env,) = cluster_plugins(environ)
        assert type(env) is LightningEnvironment


def test_outside_slurm_no_hint_to_prepend_srun(tmp_path, monkeypatch):
    from lightning.fabric.plugins.environments import SLURMEnvironment

    # an srun on PATH, as on a login node or a workstation with SLURM's client
    srun = tmp_path / "srun"
    srun.write_text("#!/bin/sh\nexit 1\n")
    srun.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.delenv("SLURM_NTASKS", raising=False)
    # the probe a fresh fit makes, whatever the plugins
    with pytest.warns(UserWarning, match="prepend your python command with `srun`"):
        assert not SLURMEnvironment.detect()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with no_srun_hint():
            assert not SLURMEnvironment.detect()
    assert not [w for w in seen if "srun" in str(w.message)]
