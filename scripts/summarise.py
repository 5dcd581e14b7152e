"""Tables 1 and 2, the distance table, the ranking, chi^2, Figures 3 and 5, and the report's summary."""

from cgbench.stages.evaluate import summarise
from cgbench.core.logs import to_log

with to_log(snakemake.log[0]):
    sets = {(m, s): snakemake.input[f"{m}/{s}"] for m, s in snakemake.params.sets}
    cgforces = {m: snakemake.input[m] for m in snakemake.params.models}
    testsets = {m: (snakemake.input[f"testset_{m}_gro"], snakemake.input[f"testset_{m}_trr"])
                for m in snakemake.params.models}
    summarise(
        aa_npz=snakemake.input.aa,
        sets=sets,
        cgforce_npz=cgforces,
        mapped_npz=snakemake.input.mapped,
        settings=snakemake.params.settings,
        out=dict(snakemake.output),
        seed=snakemake.params.seed,
        dbm_training=snakemake.input.get("dbm_training"),
        cg_topology=snakemake.input.cg_topology,
        testset_frames=testsets,
        cg_models=snakemake.params.cg_models,
        ibi_state=snakemake.input.get("ibi_state"),
    )
