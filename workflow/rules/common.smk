# Configuration checks and input functions. The only place that branches on config.
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError

from cgbench import aa as cgaa
from cgbench import config as cgconfig
from cgbench.errors import ConfigError

try:
    cgconfig.validate(
        config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"
    )
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None

AA = config["aa"]
AA_STAGES = cgaa.active_stages(AA)
# stages that end with a structure and an energy file only; the NVT run has its own rule
AA_EQUIL = [s for s in AA_STAGES if s != "nvt"]


def molecule_inputs(wildcards):
    """The molecule definition and the force-field supplement it names."""
    spec = Path(config["molecule"])
    inputs = {"spec": str(spec)}
    supplement = yaml.safe_load(spec.read_text()).get("supplement")
    if supplement:
        inputs["supplement"] = str(
            (spec.parent / supplement).resolve().relative_to(Path.cwd().resolve())
        )
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
    """Walltime of an MD stage, assuming a pessimistic 2 ns/day per 100,000 atoms-equivalent."""
    if wildcards.stage == "em":
        return 60
    ps = AA[wildcards.stage]["time_ps"]
    atoms = AA["n_molecules"] * 100
    ns_per_day = max(0.5, 2.0 * 100_000 / atoms)
    return int(30 + ps / 1000 / ns_per_day * 24 * 60 * 1.5)


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
    """Walltime of a chunk: VOTCA's overhead (about 20 s) plus MD at a pessimistic 50 ns/day."""
    per_iteration_s = 20 + IBI["run_ps"] / 1000 / 50 * 86400
    return int(10 + ibi_chunk_size(wildcards) * per_iteration_s * 1.5 / 60)


def cg_model(wildcards):
    return config["cg_models"][wildcards.model]


def cg_runtime_min(wildcards):
    model = config["cg_models"][wildcards.model]
    ps = config["cg_production"]["time_ps"]
    if model["density"] == "npt":
        ps += config["cg_production"]["npt_ps"]
    return int(30 + ps / 1000 / 50 * 24 * 60 * 1.5)


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


def cgforce_files(wildcards):
    return {m: f"results/evaluate/cgforces/{m}.npz" for m in MODELS}
