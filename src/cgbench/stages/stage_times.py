"""Where a run's time goes: each job's Snakemake benchmark file, gathered into one table by stage.

Every rule writes ``results/benchmarks/<stage>/<rule>[_<wildcards>].tsv`` through Snakemake's
``benchmark:`` directive: one header line (``s  h:m:s  max_rss  max_vms  max_uss  max_pss  io_in
io_out  mean_load  cpu_time``) and one line per run of the job. ``s`` is the job's wall time in
seconds; ``max_rss`` (MiB, 2^20 bytes) and ``cpu_time`` (s, user plus system) are sampled over the
job's process tree, every 0.5 s for the first 15 s and every 30 s after that, so a short peak can be
missed and the last half minute of CPU time may be too; a job over before the first sample writes
``NA`` for both.

:func:`read_benchmarks` reads the files (the only function here that sees them), :func:`stage_table`
turns the per-job frame into the report's table, :func:`elapsed_s` gives the run's span from the
files' times, and :func:`write_stage_times` is the edge that the workflow calls.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import CgbenchError, InputError

#: The stages in the order the data flows through them: the order of the Snakefile's includes,
#: each stage being one ``workflow/rules/<stage>.smk`` and one folder of ``results/benchmarks/``.
STAGE_ORDER = ("molecule", "aa", "mapping", "bonded", "ibi", "cg", "backmap", "dbm", "evaluate")
#: The benchmark columns the table is built from: wall time (s), peak RSS (MiB), CPU time (s).
REQUIRED_COLUMNS = ("s", "max_rss", "cpu_time")
#: Columns of :func:`read_benchmarks`' frame.
JOB_COLUMNS = ("stage", "rule", "wildcards", "path", "measured", "wall_s", "cpu_s", "peak_rss_MiB", "finished")
#: Columns of :func:`stage_table`'s frame.
TABLE_COLUMNS = ("kind", "stage", "rule", "wildcards", "jobs", "measured", "wall_s", "cpu_s", "peak_rss_MiB",
                 "wall_share")


class BenchmarkError(CgbenchError):
    """A benchmark file is not the table Snakemake writes (columns missing, values not numbers)."""


def wildcard_label(wildcards):
    """``{"method": "em", "testset": "A"}`` -> ``"method=em, testset=A"``; a string is kept as it is."""
    if isinstance(wildcards, str):
        return wildcards
    return ", ".join(f"{k}={v}" for k, v in dict(wildcards or {}).items())


def read_benchmark(path):
    """One benchmark file as ``(wall_s, cpu_s, peak_rss_MiB)``.

    A file with several lines (Snakemake's ``repeat()``) gives the mean wall and CPU time and the
    largest RSS. ``NA`` (a job over before the first sample) gives NaN CPU time and RSS.

    Raises
    ------
    BenchmarkError
        When the file is empty, lacks one of :data:`REQUIRED_COLUMNS`, or holds a value that is not
        a number (or ``NA`` for the sampled columns); the message names the file.
    """
    path = Path(path)
    try:
        df = pd.read_csv(path, sep="\t", na_values=["NA", "-"], keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise BenchmarkError(f"{path}: not a Snakemake benchmark table ({exc})") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise BenchmarkError(
            f"{path}: not a Snakemake benchmark table: column(s) {', '.join(missing)} missing "
            f"(found: {', '.join(map(str, df.columns)) or 'none'}; expected at least {', '.join(REQUIRED_COLUMNS)})")
    if df.empty:
        raise BenchmarkError(f"{path}: a benchmark header without a measurement")
    values = {}
    for col in REQUIRED_COLUMNS:
        num = pd.to_numeric(df[col], errors="coerce")
        bad = num.isna() & df[col].notna()
        if col == "s":
            bad |= num.isna()
        if bad.any():
            raise BenchmarkError(f"{path}: column {col} holds {df[col][bad].iloc[0]!r}, not a number")
        values[col] = num.to_numpy(float)
    rss = values["max_rss"]
    return (float(values["s"].mean()), float(np.mean(values["cpu_time"])),
            float(np.nan if np.isnan(rss).all() else np.nanmax(rss)))


def read_benchmarks(jobs):
    """Each job's benchmark file as one row.

    Parameters
    ----------
    jobs : iterable of mapping
        ``stage``, ``rule``, ``wildcards`` (mapping or label) and ``path`` of each job's benchmark file.

    Returns
    -------
    pandas.DataFrame
        One row per job with :data:`JOB_COLUMNS`: ``wall_s`` and ``cpu_s`` in s, ``peak_rss_MiB``,
        ``finished`` (the file's modification time, s since the epoch: when Snakemake wrote it, at the
        job's end). A job without a file (its outputs made by an earlier run that kept no benchmark)
        has ``measured`` False and NaN times.
    """
    rows = []
    for job in jobs:
        path = Path(job["path"])
        row = {"stage": job["stage"], "rule": job["rule"], "wildcards": wildcard_label(job.get("wildcards")),
               "path": str(path), "measured": path.is_file()}
        if row["measured"]:
            row["wall_s"], row["cpu_s"], row["peak_rss_MiB"] = read_benchmark(path)
            row["finished"] = path.stat().st_mtime
        rows.append(row)
    return pd.DataFrame(rows, columns=JOB_COLUMNS).astype(
        {"wall_s": float, "cpu_s": float, "peak_rss_MiB": float, "finished": float, "measured": bool})


def stage_order(stages, order=STAGE_ORDER):
    """Rank of each stage name in ``order``; stages not in it come after, alphabetically."""
    known = {s: i for i, s in enumerate(order)}
    extra = sorted(set(stages) - set(known))
    known.update({s: len(order) + i for i, s in enumerate(extra)})
    return np.array([known[s] for s in stages], dtype=int)


def stage_table(jobs, order=STAGE_ORDER):
    """The per-job rows, sorted by stage in data-flow order, then a total per stage and one for the run.

    Parameters
    ----------
    jobs : pandas.DataFrame
        :func:`read_benchmarks`' frame. Within a stage, jobs keep the order they come in.
    order : sequence of str
        Stage names in data-flow order (:data:`STAGE_ORDER`).

    Returns
    -------
    pandas.DataFrame
        :data:`TABLE_COLUMNS`. ``kind`` is ``job``, ``stage`` (the stage's jobs: wall and CPU times
        summed, RSS the largest), ``total`` (every job) or, when ``jobs`` has ``finished``, ``span``
        (``wall_s`` is the run's span, :func:`elapsed_s`). ``jobs`` counts jobs, ``measured`` those with
        a benchmark file; ``wall_share`` is the fraction of the summed wall time of all jobs. Sums skip
        unmeasured jobs. Summed wall time is the time the jobs would take one after another; jobs that
        ran side by side make the run's span (:func:`elapsed_s`) shorter.
    """
    missing = [c for c in ("stage", "rule", "wildcards", "measured", "wall_s", "cpu_s", "peak_rss_MiB")
               if c not in jobs.columns]
    if missing:
        raise InputError(f"stage_table: job frame lacks column(s) {', '.join(missing)}")
    rank = stage_order(list(jobs["stage"]), order)
    idx = np.lexsort((np.arange(len(jobs)), rank))
    per_job = jobs.iloc[idx].reset_index(drop=True)
    total_wall = per_job["wall_s"].sum()

    def summary(kind, stage, part):
        return {"kind": kind, "stage": stage, "rule": "", "wildcards": "", "jobs": len(part),
                "measured": int(part["measured"].sum()), "wall_s": part["wall_s"].sum(min_count=1),
                "cpu_s": part["cpu_s"].sum(min_count=1), "peak_rss_MiB": part["peak_rss_MiB"].max()}

    rows = [{"kind": "job", **{c: r[c] for c in ("stage", "rule", "wildcards", "wall_s", "cpu_s", "peak_rss_MiB")},
             "jobs": 1, "measured": int(r["measured"])} for _, r in per_job.iterrows()]
    rows += [summary("stage", stage, per_job[per_job["stage"] == stage])
             for stage in dict.fromkeys(per_job["stage"])]
    rows.append(summary("total", "all", per_job))
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    table["wall_share"] = table["wall_s"] / total_wall if total_wall > 0 else np.nan
    if "finished" in jobs.columns:
        span = summary("span", "run", per_job)
        span.update(wall_s=elapsed_s(per_job), cpu_s=np.nan, peak_rss_MiB=np.nan, wall_share=np.nan)
        table = pd.concat([table, pd.DataFrame([span], columns=TABLE_COLUMNS)], ignore_index=True)
    return table.astype({"jobs": int, "measured": int, "wall_s": float, "cpu_s": float, "peak_rss_MiB": float,
                         "wall_share": float})


def elapsed_s(jobs):
    """The run's span (s): from the first measured job's start to the last one's end.

    A job's end is its benchmark file's time (``finished``) and its start that minus ``wall_s``.
    When the outputs were made over several invocations of Snakemake, the span includes the time
    between them. NaN when no job was measured.
    """
    done = jobs[jobs["measured"].astype(bool)]
    if done.empty:
        return float("nan")
    return float(done["finished"].max() - (done["finished"] - done["wall_s"]).min())


def _clock(seconds):
    if not np.isfinite(seconds):
        return "-"
    m, s = divmod(round(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"


def _seconds(value):
    return "-" if not np.isfinite(value) else f"{value:.0f}"


def stage_times_html(table, unlisted=()):
    """The table as an HTML fragment for the report: the stages first, then every job.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`stage_table`'s frame, with its ``span`` row.
    unlisted : sequence of str
        Benchmark files of no job of this configuration (left by another one), named, not counted.
    """
    import html

    def fmt(df, cols):
        out = df[list(cols)].copy()
        for c in ("wall_s", "cpu_s", "peak_rss_MiB"):
            if c in out:
                out[c] = out[c].map(lambda v: "-" if pd.isna(v) else f"{v:.1f}")
        if "wall_share" in out:
            out["wall_share"] = out["wall_share"].map(lambda v: "-" if pd.isna(v) else f"{v:.0%}")
        return out.rename(columns={"wall_s": "wall (s)", "cpu_s": "CPU (s)", "peak_rss_MiB": "peak RSS (MiB)",
                                   "wall_share": "share of wall"}).to_html(index=False, border=0, escape=True)

    total = table[table["kind"] == "total"].iloc[0]
    elapsed = table.loc[table["kind"] == "span", "wall_s"].iloc[0]
    lines = [
        "<h2>Where the time goes</h2>",
        f"<p>Run span, from the first job's start to the last job's end: <b>{_clock(elapsed)}</b> "
        f"({_seconds(elapsed)} s). Sum of the jobs' wall times: {_clock(total['wall_s'])} "
        f"({_seconds(total['wall_s'])} s); CPU time: {_seconds(total['cpu_s'])} s; largest peak RSS of one job: "
        f"{_seconds(total['peak_rss_MiB'])} MiB. "
        f"{total['measured']} of {total['jobs']} jobs have a benchmark file.</p>",
        "<h3>By stage</h3>",
        fmt(table[table["kind"].isin(["stage", "total"])], ("stage", "jobs", "measured", "wall_s", "cpu_s", "peak_rss_MiB",
                                            "wall_share")),
        "<h3>By job</h3>",
        fmt(table[table["kind"] == "job"], ("stage", "rule", "wildcards", "wall_s", "cpu_s", "peak_rss_MiB",
                                            "wall_share")),
    ]
    if len(unlisted):
        lines.append(f"<p>Not counted: {len(unlisted)} benchmark file(s) of jobs that this configuration does "
                     f"not run (left by another configuration): "
                     f"{html.escape(', '.join(map(str, unlisted)))}.</p>")
    return "\n".join(lines) + "\n"


def unlisted_files(directory, jobs):
    """Benchmark files in the stage folders of ``directory`` that belong to none of ``jobs`` (sorted)."""
    listed = {Path(j["path"]).resolve() for j in jobs}
    return sorted(str(p) for p in Path(directory).glob("*/*.tsv") if p.resolve() not in listed)


def write_stage_times(jobs, out, directory=None, order=STAGE_ORDER):
    """Read the jobs' benchmark files; write ``out["csv"]`` (:func:`stage_table`) and ``out["html"]``.

    Parameters
    ----------
    jobs : list of mapping
        ``stage``, ``rule``, ``wildcards``, ``path`` of every job of the run.
    out : mapping
        ``csv`` and ``html`` paths.
    directory : path, optional
        The benchmark folder; files in it that belong to no job are named in the HTML, not counted.

    Returns
    -------
    pandas.DataFrame
        The table written to ``out["csv"]``.
    """
    jobs = list(jobs)
    frame = read_benchmarks(jobs)
    table = stage_table(frame, order)
    unlisted = unlisted_files(directory, jobs) if directory is not None and Path(directory).is_dir() else []
    Path(out["csv"]).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out["csv"], index=False, float_format="%.6g")
    Path(out["html"]).write_text(stage_times_html(table, unlisted))
    return table
