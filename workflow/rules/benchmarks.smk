# Input functions of the time table (stage_times.smk): every job of the run with its benchmark file.
# Kept apart from common.smk only while that file is being reworked; they belong there.
from pathlib import Path


def benchmark_jobs():
    """Every job that the default target runs, in data-flow order, with its benchmark file.

    The same config-derived lists as the rules' inputs (AA_STAGES, N_CHUNKS, MODELS, TESTSETS,
    METHODS), so the list holds exactly this configuration's jobs; a check of it against the dry
    run's jobs is in tests/unit/test_stage_times.py.
    """
    dbm_raw = [t for t in TESTSETS if any(m.startswith("dbm") for m in METHODS)]
    dbm_projected = [t for t in TESTSETS if "dbm_projected" in METHODS]
    jobs = [
        ("molecule", {}),
        ("aa_system", {}),
        *[("aa_mdp", {"stage": s}) for s in AA_STAGES],
        *[("aa_equilibrate", {"stage": s}) for s in AA_EQUIL],
        ("aa_nvt", {"stage": "nvt"}),
        ("aa_thermo", {}),
        ("map_aa", {}),
        ("dbi", {}),
        ("ibi_setup", {}),
        *[("ibi_chunk", {"chunk": f"{k:03d}"}) for k in range(1, N_CHUNKS + 1)],
        ("ibi_finish", {}),
        ("rescale_bonded", {}),
        *[("cg_production", {"model": m}) for m in MODELS],
        ("figure2", {}),
        *[("testset", {"testset": t}) for t in TESTSETS],
        *[("backmap_em", {"testset": t}) for t in TESTSETS if "em" in METHODS],
        ("dbm_train", {}),
        *[("backmap_dbm", {"testset": t}) for t in dbm_raw],
        *[("project_backmap", {"testset": t}) for t in dbm_projected],
        ("evaluate_aa", {}),
        *[
            ("evaluate_set", {"method": m, "testset": t})
            for m in METHODS
            for t in TESTSETS
        ],
        *[("cg_model_forces", {"model": m}) for m in MODELS],
        ("summarise", {}),
    ]
    out = []
    for rule_name, wc in jobs:
        # a plain str: the rule's IOFile carries the rule, which the script's pickle cannot take
        path = str.__str__(getattr(rules, rule_name).benchmark).format(**wc)
        stage = Path(path).parent.name
        out.append({"stage": stage, "rule": rule_name, "wildcards": wc, "path": path})
    return out


def stage_times_inputs(wildcards):
    """The run's final outputs, so that the time table comes after every other job of the run.

    Every job that the default target runs makes one of these files or an input of one, and
    Snakemake writes a job's benchmark file as the job ends; so when this job starts, every
    benchmark file of the run is written. The benchmark files themselves are not inputs, because
    a missing one (outputs made by a run from before the benchmarks were kept) would make
    Snakemake redo that job, and everything after it, only to time it; the table counts such a
    job as unmeasured instead. The table's own outputs are left out, should final_outputs() ever
    name them (a cycle otherwise).
    """
    return [f for f in final_outputs() if not f.startswith("results/stage_times")]
