"""Running an IBI loop a chunk of iterations at a time, checking each iteration, and reading the results."""

import json
import os
from pathlib import Path
import re
import shutil
import subprocess
import time

import numpy as np
import pandas as pd

from ..engines import votca
from ..engines import lammps
from .criterion import CHECK_FILE, Criterion, converged, rdf_distance
from ..core.errors import CgbenchError, EngineError
from .settings import CSG_OUTPUT, LAMMPS_LOG, META, PRESSURE, SCRIPTS, SETTINGS, STEP, TIMING, IBIDivergence
from .setup import _write_votca_scripts


def completed_iterations(workdir):
    """Sorted numbers of the iterations VOTCA finished (``step_NNN/done``), without step 0."""
    return sorted(
        int(m.group(1))
        for p in Path(workdir).iterdir()
        if (m := STEP.match(p.name)) and int(m.group(1)) > 0 and (p / "done").exists()
    )


def is_done(workdir):
    """True when ``csg_inverse`` reached ``iterations_max`` or converged (it wrote ``done``)."""
    return (Path(workdir) / "done").exists()


def _meta(workdir):
    path = Path(workdir) / META
    if not path.exists():
        raise CgbenchError(f"{workdir} was not set up by cgbench.ibi.setup (no {META})")
    return json.loads(path.read_text())


def _read_pressure_atm(path):
    """VOTCA's ``<name>.pressure`` file: ``Pressure=<value>`` (atm with LAMMPS)."""
    text = Path(path).read_text()
    m = re.search(r"Pressure=\s*(\S+)", text)
    if not m:
        raise CgbenchError(f"{path}: no 'Pressure=' line")
    try:
        return float(m.group(1))
    except ValueError:
        return float("nan")


def check_iteration(workdir, iteration, pressure_bound_bar):
    """Why a finished iteration diverged, or None when it looks sane.

    Diverged means: a NaN/infinite value in a pair's new potential or RDF, an RDF that is zero
    everywhere, a NaN pressure, a pressure beyond ``pressure_bound_bar`` (bar), or NaN in the
    LAMMPS thermo output.
    """
    step = Path(workdir) / f"step_{iteration:03d}"
    for pair in _meta(workdir)["pairs"]:
        name = pair["name"]
        for what in ("dist.new", "pot.new"):
            f = step / f"{name}.{what}"
            if not f.exists():
                return f"{f.name} is missing"
            _, y, _ = votca.read_table(f)
            if not np.isfinite(y).all():
                return f"{name}.{what} holds NaN or infinite values"
        _, g, _ = votca.read_table(step / f"{name}.dist.new")
        if not np.any(g > 0):
            return f"the RDF {name} is zero everywhere"
    p = _iteration_pressure_bar(step)
    if not np.isfinite(p):
        return "the pressure is NaN"
    if abs(p) > pressure_bound_bar:
        return f"|pressure| = {abs(p):.4g} bar exceeds the bound {pressure_bound_bar:.4g} bar"
    log = step / LAMMPS_LOG
    if log.exists() and re.search(r"(?<![a-z])-?nan(?![a-z])", log.read_text(errors="replace"), re.IGNORECASE):
        return "LAMMPS reported NaN"
    return None


def _lammps_pressures_atm(step):
    """The instantaneous pressures LAMMPS wrote in the step (of every replica), or None."""
    f = Path(step) / PRESSURE
    return np.loadtxt(f, skiprows=1, ndmin=1) if f.exists() else None


def _iteration_pressure_bar(step, values=None):
    """The iteration's mean pressure: VOTCA's, else LAMMPS' own output (``values``, read if not given)
    averaged as VOTCA would."""
    files = sorted(Path(step).glob("*.pressure"))
    if files:
        return float(votca.pressure_from_lammps(_read_pressure_atm(files[0])))
    # No VOTCA pressure file (no pressure correction)
    values = _lammps_pressures_atm(step) if values is None else values
    if values is None or not values.size:
        return float("nan")
    return float(votca.pressure_from_lammps(values.mean()))


def _pressure_noise_bar(values):
    """Standard error of the mean of LAMMPS' pressures (atm) in bar, NaN without them."""
    from .noise import pressure_standard_error

    return float("nan") if values is None else float(votca.pressure_from_lammps(pressure_standard_error(values)))


def _move_aside(workdir, iteration):
    src = Path(workdir) / f"step_{iteration:03d}"
    dst = Path(workdir) / f"diverged_step_{iteration:03d}"
    k = 1
    while dst.exists():
        dst = Path(workdir) / f"diverged_step_{iteration:03d}.{k}"
        k += 1
    src.rename(dst)
    return dst


def _engine_log_tail(workdir):
    workdir = Path(workdir)
    parts = [lammps.tail(workdir / "inverse.log", 25)]
    steps = sorted((p for p in workdir.iterdir() if STEP.match(p.name)), key=lambda p: p.name)
    if steps and (steps[-1] / LAMMPS_LOG).exists():
        parts.append(f"--- {steps[-1].name}/{LAMMPS_LOG} ---\n" + lammps.tail(steps[-1] / LAMMPS_LOG, 15))
    return "\n".join(parts)


def run_chunk(
    workdir,
    n_iterations,
    *,
    convergence_csv=None,
    sentinel=None,
    pressure_bound_bar=None,
    timeout=None,
    csg_inverse="csg_inverse",
):
    """Run up to ``n_iterations`` more IBI iterations in one ``csg_inverse`` call.

    One call per chunk, not per iteration: every call of ``csg_inverse`` starts by reading about
    a hundred options with ``csg_property`` (seconds, on top of each iteration's own work). Each
    finished iteration is still checked: by ``csg_inverse`` itself, which runs our
    ``convergence_check`` (:mod:`cgbench.ibi.criterion`) after every iteration and stops the loop
    when the criterion holds or the iteration diverged, and afterwards here
    (:func:`check_iteration`). ``csg_inverse`` resumes from the last finished ``step_NNN/`` (and
    finishes a step that a killed run left incomplete). With ``--do-iterations`` VOTCA 2022 does not
    look at ``iterations_max``, so a chunk that reaches it runs without ``--do-iterations`` and
    VOTCA writes ``done`` itself; when our check stopped the loop, this function writes it. Once
    ``done`` exists (the last iteration, or convergence) a chunk runs nothing and only passes the
    state on.

    Parameters
    ----------
    workdir : str or Path
        Set up by :func:`setup`.
    n_iterations : int
    convergence_csv : str or Path, optional
        Write :func:`collect`'s table here.
    sentinel : str or Path, optional
        Write a small JSON summary here (last iteration, done, convergence, wall time) when the
        chunk succeeds.
    pressure_bound_bar : float, optional
        Overrides ``IBISettings.pressure_bound_bar``.
    timeout : float, optional
        Seconds for the ``csg_inverse`` call.
    csg_inverse : str
        The ``csg_inverse`` executable.

    Returns
    -------
    pandas.DataFrame
        :func:`collect` of every finished iteration.

    Raises
    ------
    EngineError
        ``csg_inverse`` (or LAMMPS inside it) failed; the message holds the tail of
        ``inverse.log`` and of the step's LAMMPS log.
    IBIDivergence
        A finished iteration diverged; its ``step_NNN/`` (and any later one) is moved to
        ``diverged_step_NNN/`` so the directory ends at the last good iteration.
    """
    workdir = Path(workdir).resolve()
    # the check script names this cgbench's modules: a loop set up by an older version resumes with this one
    _write_votca_scripts(workdir)
    meta = _meta(workdir)
    iterations_max = int(meta["ibi"]["iterations_max"])
    bound = meta["ibi"]["pressure_bound_bar"] if pressure_bound_bar is None else pressure_bound_bar
    exe = shutil.which(csg_inverse)
    if exe is None:
        raise CgbenchError(f"{csg_inverse} is not on PATH (Debian package votca)")
    t_chunk = time.perf_counter()
    before = completed_iterations(workdir)
    last = before[-1] if before else 0
    if not is_done(workdir) and int(n_iterations) > 0:
        to_the_end = last + int(n_iterations) >= iterations_max
        cmd = [exe, "--options", SETTINGS, "--nocolor"]
        if not to_the_end:
            cmd[3:3] = ["--do-iterations", str(int(n_iterations))]
        t_start = time.time()
        with open(workdir / CSG_OUTPUT, "a") as out:
            try:
                proc = subprocess.run(
                    cmd,
                    cwd=workdir,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                    env=_votca_env(workdir),
                )
            except subprocess.TimeoutExpired:
                raise EngineError(
                    cmd, workdir, _engine_log_tail(workdir), f"did not finish within {timeout} s"
                ) from None
        new = sorted(set(completed_iterations(workdir)) - set(before))
        _record_timing(workdir, new, t_start)
        for k, it in enumerate(new):
            reason = check_iteration(workdir, it, bound)
            if reason is not None:
                # a main-directory 'done' ends VOTCA's loop; a diverged iteration must not leave one
                (workdir / "done").unlink(missing_ok=True)
                moved = [_move_aside(workdir, later) for later in new[k:]]
                good = [i for i in completed_iterations(workdir) if i < it]
                raise IBIDivergence(workdir, it, good[-1] if good else 0, reason, moved[0])
        now = new[-1] if new else last
        if new and (workdir / f"step_{now:03d}" / "stop").exists():
            # our check stopped the loop (converged: a diverged step was dealt with above). VOTCA
            # 2022 then writes its 'done' into the step directory, not the main one, so a later
            # call would go on iterating; the main 'done' ends the loop for good.
            (workdir / "done").touch()
        if proc.returncode != 0:
            raise EngineError(
                cmd,
                workdir,
                _engine_log_tail(workdir),
                f"exited with status {proc.returncode} in iteration {now + 1} (step_{now + 1:03d}/; "
                f"iterations up to {now} are kept)",
            )
        if not new and not is_done(workdir):
            raise EngineError(cmd, workdir, _engine_log_tail(workdir), "exited 0 but finished no iteration")
        if to_the_end and not is_done(workdir):
            raise EngineError(
                cmd, workdir, _engine_log_tail(workdir),
                f"did not write 'done' after iteration {iterations_max} (iterations_max)",
            )
    table = collect(workdir)
    if convergence_csv is not None:
        table.to_csv(convergence_csv, index=False)
    if sentinel is not None:
        state = convergence_state(workdir, table)
        Path(sentinel).write_text(
            json.dumps(
                {
                    "workdir": str(workdir),
                    "last_iteration": state["iterations"],
                    "iterations_max": iterations_max,
                    "done": is_done(workdir),
                    "converged": state["converged"],
                    "stopped_early": state["stopped_early"],
                    "chunk_wall_s": round(time.perf_counter() - t_chunk, 3),
                },
                indent=1,
            )
            + "\n"
        )
    return table


def _votca_env(workdir):
    """Environment of ``csg_inverse``: our remembering ``csg_property`` first on PATH, when set up."""
    env = dict(os.environ, CSGNOCOLOR="yes")
    bin_dir = Path(workdir) / SCRIPTS / "bin"
    if (bin_dir / "csg_property").exists():
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def _record_timing(workdir, new, t_start):
    """Wall time of each new iteration, from the times VOTCA marked the steps done.

    The first iteration of a call also carries the call's start-up; a later one runs from the
    previous step's ``done`` (which VOTCA writes before our check of that step runs).
    """
    if not new:
        return
    with open(Path(workdir) / TIMING, "a") as fh:
        if fh.tell() == 0:
            fh.write("iteration,wall_s\n")
        prev = t_start
        for it in new:
            t = (Path(workdir) / f"step_{it:03d}" / "done").stat().st_mtime
            fh.write(f"{it},{t - prev:.3f}\n")
            prev = t


def convergence_state(workdir, table=None):
    """Whether the loop met its criterion (:class:`cgbench.ibi.criterion.Criterion`), and how.

    Parameters
    ----------
    workdir : str or Path
    table : pandas.DataFrame, optional
        :func:`collect` of the loop (read when not given).

    Returns
    -------
    dict
        ``criterion`` (its settings), ``checked`` (False when it checks nothing), ``converged``
        (held over the last ``hold_iterations`` iterations), ``first_met`` (first iteration at
        which it held, or None), ``iterations`` (last finished), ``iterations_max``,
        ``stopped_early``, ``final`` (``rdf_l2_nm`` per pair, ``pressure_bar``, ``pressure_noise_bar``
        when known, and ``rdf_noise_nm`` per pair when every pair's noise was recorded), ``failing`` (what
        misses the criterion in the last iteration).
    """
    workdir = Path(workdir)
    meta = _meta(workdir)
    crit = Criterion.from_dict(meta.get("criterion"))
    table = collect(workdir) if table is None else table
    iterations_max = int(meta["ibi"]["iterations_max"])
    its = sorted(table["iteration"].unique()) if len(table) else []
    met = table.groupby("iteration")["criterion_met"].first().reindex(its).tolist() if its else []
    final, failing = {}, ["no finished iteration"]
    if its:
        last = table[table["iteration"] == its[-1]]
        final = {"rdf_l2_nm": dict(zip(last["pair"], last["rdf_l2"].astype(float))),
                 "pressure_bar": float(last["pressure_bar"].iloc[0])}
        if "pressure_noise_bar" in last and np.isfinite(last["pressure_noise_bar"].iloc[0]):
            final["pressure_noise_bar"] = float(last["pressure_noise_bar"].iloc[0])
        noise = last["rdf_noise"].astype(float) if "rdf_noise" in last else None
        if noise is not None and np.isfinite(noise).all():
            final["rdf_noise_nm"] = dict(zip(last["pair"], noise))
        failing = crit.holds(final["rdf_l2_nm"], final["pressure_bar"])[1] if crit.active else ["no criterion set"]
    ok = bool(crit.active and converged(met, crit.hold_iterations))
    first = next((int(i) for i, m in zip(its, met) if m), None)
    return {
        "criterion": crit.to_dict(),
        "checked": crit.active,
        "converged": ok,
        "first_met": first,
        "iterations": int(its[-1]) if its else 0,
        "iterations_max": iterations_max,
        "stopped_early": bool(ok and is_done(workdir) and its and its[-1] < iterations_max),
        "final": final,
        "failing": failing,
    }


_LOOP = re.compile(r"^Loop time of ([0-9.eE+-]+) on", re.MULTILINE)


_TOTAL = re.compile(r"^Total wall time: (\d+):(\d+):(\d+)", re.MULTILINE)


def _lammps_times(log):
    """(sum of 'Loop time' seconds, 'Total wall time' seconds) of a LAMMPS log, NaN if absent."""
    try:
        text = Path(log).read_text(errors="replace")
    except OSError:
        return float("nan"), float("nan")
    loops = [float(x) for x in _LOOP.findall(text)]
    total = _TOTAL.search(text)
    tot = int(total.group(1)) * 3600 + int(total.group(2)) * 60 + int(total.group(3)) if total else float("nan")
    return (sum(loops) if loops else float("nan")), float(tot)


def collect(workdir):
    """Per-iteration convergence of every finished iteration, one row per (iteration, pair).

    Columns
    -------
    iteration, pair (``T-A``),
    rdf_l2 : :math:`\\int_0^{r_c} (g - g_\\mathrm{ref})^2 dr`, nm,
    rdf_l1 : :math:`\\int_0^{r_c} |g - g_\\mathrm{ref}| dr`, nm,
    rdf_noise : the part of ``rdf_l2`` the iteration's sampling alone gives, from the two halves of
        its run (:mod:`cgbench.ibi.noise`; NaN where the check did not record it), nm,
    votca_convergence : VOTCA's ``<name>.conv`` (:math:`\\sum_i |g_i - g_{\\mathrm{ref},i}|` over its grid),
    pressure_bar : the iteration's mean pressure,
    pressure_noise_bar : its standard error from block averages (:mod:`cgbench.ibi.noise`),
    wall_s : wall time of the iteration (NaN if not run by :func:`run_chunk`),
    md_loop_s : LAMMPS' loop time (the MD itself), md_total_s : LAMMPS' whole run (whole seconds),
    votca_s : the rest of the iteration's wall time (VOTCA's scripts, csg_stat, LAMMPS start-up),
    criterion_met : the loop's convergence criterion held in this iteration (False when none is set).
    """
    workdir = Path(workdir)
    meta = _meta(workdir)
    crit = Criterion.from_dict(meta.get("criterion"))
    timing = {}
    if (workdir / TIMING).exists():
        t = pd.read_csv(workdir / TIMING)
        timing = dict(zip(t["iteration"].astype(int), t["wall_s"].astype(float)))
    rows = []
    for it in completed_iterations(workdir):
        step = workdir / f"step_{it:03d}"
        pressures = _lammps_pressures_atm(step)
        p = _iteration_pressure_bar(step, pressures)
        p_noise = _pressure_noise_bar(pressures)
        loop_s, total_s = _lammps_times(step / LAMMPS_LOG)
        check = json.loads((step / CHECK_FILE).read_text()) if (step / CHECK_FILE).exists() else {}
        noise = check.get("rdf_noise") or {}
        first = len(rows)
        for pair in meta["pairs"]:
            name = pair["name"]
            r, g, _ = votca.read_table(step / f"{name}.dist.new")
            r_ref, g_ref, _ = votca.read_table(workdir / pair["target"])
            if r.shape != r_ref.shape or not np.allclose(r, r_ref):
                g_ref = np.interp(r, r_ref, g_ref)
            conv_file = step / f"{name}.conv"
            conv = float(conv_file.read_text().split()[0]) if conv_file.exists() else float("nan")
            rows.append(
                {
                    "iteration": it,
                    "pair": pair["key"],
                    "rdf_l2": rdf_distance(r, g, g_ref, 2),
                    "rdf_l1": rdf_distance(r, g, g_ref, 1),
                    "rdf_noise": float(noise.get(pair["key"], float("nan"))),
                    "votca_convergence": conv,
                    "pressure_bar": p,
                    "pressure_noise_bar": p_noise,
                    "wall_s": timing.get(it, float("nan")),
                    "md_loop_s": loop_s,
                    "md_total_s": total_s,
                    "votca_s": timing.get(it, float("nan")) - loop_s,
                }
            )
        met = crit.holds({row["pair"]: row["rdf_l2"] for row in rows[first:]}, p)[0]
        for row in rows[first:]:
            row["criterion_met"] = bool(met)
    columns = [
        "iteration",
        "pair",
        "rdf_l2",
        "rdf_l1",
        "rdf_noise",
        "votca_convergence",
        "pressure_bar",
        "pressure_noise_bar",
        "wall_s",
        "md_loop_s",
        "md_total_s",
        "votca_s",
        "criterion_met",
    ]
    return pd.DataFrame(rows, columns=columns)


def pair_potentials(workdir, iteration=None, r_min_nm=None):
    """The pair potentials an iteration produced (``step_NNN/<name>.pot.new``), GROMACS units.

    These are the potentials the *next* iteration would run with; after the last iteration they
    are the IBI result.

    Parameters
    ----------
    workdir : str or Path
    iteration : int, optional
        Default: the last finished iteration.
    r_min_nm : float, optional
        Drop grid points below this (LAMMPS tables need r > 0); default the set-up's table begin.

    Returns
    -------
    dict of str -> (r, U, F)
        ``"T-A"`` -> r (n,) nm, U (n,) kJ/mol (zero at the cut-off), F = -dU/dr (n,) kJ/mol/nm
        (central differences).
    """
    workdir = Path(workdir)
    meta = _meta(workdir)
    its = completed_iterations(workdir)
    if not its:
        raise CgbenchError(f"{workdir}: no finished IBI iteration")
    it = its[-1] if iteration is None else int(iteration)
    if it not in its:
        raise CgbenchError(f"{workdir}: iteration {it} is not finished (finished: {its})")
    r_min = meta["ibi"]["table_begin_nm"] if r_min_nm is None else r_min_nm
    out = {}
    for pair in meta["pairs"]:
        r, U, _ = votca.read_table(workdir / f"step_{it:03d}" / f"{pair['name']}.pot.new")
        if not np.isfinite(U).all():
            raise CgbenchError(f"iteration {it}: the potential {pair['name']} holds NaN values")
        U = U - U[-1]
        F = -np.gradient(U, r)
        keep = r >= r_min - 1e-12
        out[pair["key"]] = (r[keep], U[keep], F[keep])
    return out
