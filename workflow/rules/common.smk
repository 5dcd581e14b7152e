# Configuration checks and input functions. The only place that branches on config.
import os
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

from cgbench.aa import protocol as cgaa
from cgbench.planning import cost as cgcost
from cgbench.core import config as cgconfig
from cgbench.planning import plan as cgplan
from cgbench.core.errors import CgbenchError, ConfigError

try:
    cgconfig.validate(
        config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"
    )
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None

AA = config["aa"]
MAX_RUNTIME = config["cluster"]["max_runtime_min"]
# Retries belong to the Snakemake that submits the jobs. Inside a cluster job (remote mode) a
# retry would restart a stage that stopped for the job's time limit in the seconds the job has
# left, and SLURM would kill it mid-checkpoint.
IN_JOB = workflow.remote_exec
RETRIES = 0 if IN_JOB else config["cluster"]["retries"]
# The molecule as the plan sees it (a definition that makes no sense stops here), and the checks
# of the config against it: a key that asks for what the molecule lacks stops the plan, before
# any job runs; a harmless one is a warning.
try:
    OUTLINE = cgplan.outline(config["molecule"])
except CgbenchError as exc:
    raise WorkflowError(str(exc)) from None
_problems, _warnings = cgplan.check(config, OUTLINE)
if _problems:
    raise WorkflowError(
        f"the configuration does not fit the molecule {OUTLINE.name} ({config['molecule']}):\n  "
        + "\n  ".join(_problems)
    )
for _w in _warnings:
    logger.warning(f"cgbench: {_w}")
config["evaluate"]["rdf_pairs"] = cgplan.rdf_pairs(config, OUTLINE)
config["dbm"]["train"]["init_from"] = cgplan.init_from(config, OUTLINE)
# sizes of one molecule, for the walltime estimates
ATOMS_PER_MOLECULE, BEADS_PER_MOLECULE = OUTLINE.n_atoms, OUTLINE.n_beads
AA_STAGES = cgaa.active_stages(AA)
# stages that end with a structure and an energy file only; the NVT run has its own rule
AA_EQUIL = [s for s in AA_STAGES if s != "nvt"]


def molecule_inputs(wildcards):
    """The molecule definition and the force-field supplement it names."""
    spec = Path(config["molecule"])
    inputs = {"spec": str(spec)}
    supplement = yaml.safe_load(spec.read_text()).get("supplement")
    if supplement:
        # normpath, not resolve(): the run directory may reach resources/ through a link
        inputs["supplement"] = os.path.normpath(spec.parent / supplement)
    return inputs


def aa_start(wildcards):
    """Structure that starts an all-atom stage: the previous stage's, or the packed box."""
    prev = cgaa.previous_stage(AA, wildcards.stage)
    return "results/aa/packed.gro" if prev is None else f"results/aa/{prev}.gro"


def aa_template(wildcards):
    return f"resources/mdp/{cgaa.template(wildcards.stage)}"


def aa_mdp_values(wildcards):
    return cgaa.mdp_values(wildcards.stage, AA, config["seed"])


def aa_runtime_min(wildcards):
    """Walltime of an AA stage from measured GROMACS speed; longer stages resume across jobs."""
    hours = cgcost.aa_core_hours(config, wildcards.stage, ATOMS_PER_MOLECULE)
    return cgcost.runtime_min(hours, config["threads"]["md"], cap=MAX_RUNTIME)


def aa_retries():
    """Attempts beyond the first for AA stages: the longest stage's share of jobs, plus spares."""
    if IN_JOB:
        return 0
    needed = max(
        cgcost.attempts(
            cgcost.aa_core_hours(config, s, ATOMS_PER_MOLECULE),
            config["threads"]["md"],
            MAX_RUNTIME,
        )
        for s in AA_STAGES
    )
    return needed - 1 + RETRIES


def final_outputs():
    return [
        "results/molecule/molecule.itp",
        "results/molecule/votca_mapping.xml",
        "results/molecule/molecule.png",
        "results/aa/nvt.trr",
        "results/aa/thermo.csv",
        "results/aa/thermo.png",
        "results/aa/summary.csv",
        "results/mapping/reference.csv",
        "results/bonded/dbi_params.json",
        "results/ibi/convergence.png",
        "results/cg/figure2.png",
        "results/cg/distances.csv",
        "results/evaluate/summary.html",
        "results/dbm/training.png",
    ]


IBI = config["ibi"]
N_CHUNKS = -(-IBI["iterations"] // IBI["chunk_iterations"])
MODELS = list(config["cg_models"])


def ibi_previous(wildcards):
    """Chunk k of the IBI loop starts where chunk k-1 (or the set-up) left it."""
    k = int(wildcards.chunk)
    return "results/ibi/setup.json" if k == 1 else f"results/ibi/chunk_{k - 1:03d}.json"


def ibi_chunk_size(wildcards):
    k = int(wildcards.chunk)
    return min(
        IBI["chunk_iterations"], IBI["iterations"] - (k - 1) * IBI["chunk_iterations"]
    )


def ibi_runtime_min(wildcards):
    """Walltime of a chunk of IBI iterations (LAMMPS and VOTCA) from measured speeds."""
    per_iteration = cgcost.ibi_iteration_core_hours(config, BEADS_PER_MOLECULE)
    hours = ibi_chunk_size(wildcards) * per_iteration
    return cgcost.runtime_min(hours, config["threads"]["cg"], cap=MAX_RUNTIME)


def ibi_group(wildcards):
    """Cluster job of a chunk: ``ibi.chunks_per_job`` consecutive chunks share one."""
    return f"ibi{(int(wildcards.chunk) - 1) // IBI['chunks_per_job']:03d}"


def cg_model(wildcards):
    return config["cg_models"][wildcards.model]


def cg_runtime_min(wildcards, attempt):
    """Walltime of a CG production from measured LAMMPS speed, longer on each retry (no restart)."""
    model = config["cg_models"][wildcards.model]
    ps = config["cg_production"]["time_ps"]
    if model["density"] == "npt":
        ps += config["cg_production"]["npt_ps"]
    beads = AA["n_molecules"] * BEADS_PER_MOLECULE
    hours = cgcost.cg_core_hours(beads, ps, model["timestep_fs"])
    return attempt * cgcost.runtime_min(hours, config["threads"]["cg"], floor=30)


def evaluate_aa_runtime_min(wildcards, attempt):
    """Walltime of evaluating the AA run, from the measured rate (longer on each retry)."""
    hours = cgcost.evaluate_core_hours(AA["n_molecules"], cgcost.nvt_frames(config))
    return attempt * cgcost.runtime_min(hours, config["threads"]["md"], cap=MAX_RUNTIME)


def evaluate_set_runtime_min(wildcards, attempt):
    """Walltime of evaluating one backmapped test set, from the measured rate."""
    hours = cgcost.evaluate_core_hours(
        AA["n_molecules"], config["testsets"]["n_frames"]
    )
    return attempt * cgcost.runtime_min(hours, config["threads"]["md"], cap=MAX_RUNTIME)


#: cg_model_forces holds the mapped AA run and its test set: measured memory, scaled to this run
CG_FORCES_MEM_MB = max(2000, cgcost.cg_forces_mem_mb(config, BEADS_PER_MOLECULE))
#: map_aa, testset and ibi_chunk hold a chunk of frames, never the run: under 1 GB at the study's
#: size (benchmarks/paper_scale.py, README "The study's size, rehearsed"); 2 GB keeps 1.5 x of that
STREAMED_MEM_MB = 2000


def dbm_init_inputs(wildcards):
    """The shipped model a DBM training starts from, when config names one."""
    init = config["dbm"]["train"]["init_from"]
    return {"init_from": init} if init else {}


def dbm_recipe(wildcards):
    """How a shipped DBM model was made, for its model card."""
    train = config["dbm"]["train"]
    return {
        "command": "make pretrain",
        "config": {"dbm": config["dbm"], "aa": config["aa"], "seed": config["seed"]},
        "data": (
            f"{config['molecule']}, {AA['n_molecules']} molecules, AA NVT run of "
            f"{AA['nvt']['time_ps']} ps (frames every {AA['nvt']['output_interval_ps']} ps), "
            f"the first {config['testsets']['train_fraction']:.0%} of its frames"
        ),
        "seeds": f"AA seed {config['seed']}, DBM seed {train['seed']}",
    }


def dbm_backmap_runtime_min(wildcards, attempt):
    """Walltime of backmapping one test set, from the CPU speed (a GPU is faster)."""
    costs = {
        c.stage: c for c in cgcost.study(config, ATOMS_PER_MOLECULE, BEADS_PER_MOLECULE)
    }
    per_job = costs["DBM backmapping"].core_hours / costs["DBM backmapping"].jobs
    return attempt * cgcost.runtime_min(
        per_job, config["threads"]["dbm"], cap=MAX_RUNTIME
    )


def figure2_inputs(wildcards):
    return expand("results/cg/{model}/distributions.csv", model=MODELS)


TESTSETS = ["indist"] + MODELS
METHODS = config["evaluate"]["methods"]


def testset_source(wildcards):
    """The CG trajectory a test set draws its frames from."""
    if wildcards.testset == "indist":
        return {"gro": "results/mapping/cg.gro", "traj": "results/mapping/cg.trr"}
    return {
        "gro": f"results/cg/{wildcards.testset}/traj.gro",
        "traj": f"results/cg/{wildcards.testset}/traj.xtc",
    }


def em_settings(wildcards):
    return {
        **config["em"],
        "cutoff_nm": AA["cutoff_nm"],
        "fourier_spacing_nm": AA["fourier_spacing_nm"],
        "ewald_rtol": AA["ewald_rtol"],
        "reference_fraction": config["testsets"]["train_fraction"],
        "threads": config["threads"]["md"],
        "executable": config["gromacs"]["executable"],
    }


def evaluation_sets(wildcards):
    return {
        f"{m}/{s}": f"results/evaluate/{m}/{s}.npz" for m in METHODS for s in TESTSETS
    }


def dbm_training_input(wildcards):
    """DBM's training summary, when DBM backmaps are evaluated (the summary names the model's origin)."""
    if any(m.startswith("dbm") for m in METHODS):
        return {"dbm_training": "results/dbm/training.json"}
    return {}


def cgforce_files(wildcards):
    return {m: f"results/evaluate/cgforces/{m}.npz" for m in MODELS}


def testset_frames(wildcards):
    """Each CG model's test-set frames: the configurations R whose bonds chi^2_BM projects out."""
    return {
        f"testset_{m}_{ext}": f"results/testsets/{m}.{ext}"
        for m in MODELS
        for ext in ("gro", "trr")
    }
