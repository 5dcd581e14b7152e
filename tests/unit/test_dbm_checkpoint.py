"""Lightning inside SLURM: its own auto-requeue must stay off so Snakemake's retries are the only restarts."""

from cgbench.dbm.checkpoint import cluster_plugins


def test_inside_a_slurm_job_step_lightning_never_requeues():
    from lightning.fabric.plugins.environments import SLURMEnvironment

    (env,) = cluster_plugins({"SLURM_NTASKS": "1", "SLURM_JOB_NAME": "3f2a", "SLURM_JOB_ID": "12"})
    assert isinstance(env, SLURMEnvironment) and env.auto_requeue is False


def test_outside_slurm_the_plain_environment():
    from lightning.fabric.plugins.environments import LightningEnvironment

    for environ in ({}, {"SLURM_NTASKS": "1", "SLURM_JOB_NAME": "interactive"}):
        (env,) = cluster_plugins(environ)
        assert type(env) is LightningEnvironment
