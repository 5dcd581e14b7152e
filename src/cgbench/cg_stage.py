"""File-level steps of the CG stage: IBI set-up, chunks and results; bonded rescaling; model
production runs; Figure 2. Each reads and writes files and calls the library for the science.
"""

import json
import logging
from pathlib import Path
import shutil
import time

import numpy as np
import pandas as pd

from . import cg_models, compare, ibi, rescale
from .bonded_terms import Table
from .engines import lammps
from .cgtopology import CGTopology
from .ibi_criterion import Criterion
from .mapping_stage import BONDED, reference_table
from .pbc import make_whole, wrap_molecules
from .trajectory import Frames, write_frames
from .units import AMU_PER_NM3_TO_G_PER_CM3

log = logging.getLogger("cgbench")

PAIR_TABLE = "pairs.table"
#: Inner r-RESPA steps per outer step for models with constrained bonds.
RESPA_INNER = 10
#: Period of a "constrained" bond's vibration in outer time steps. LAMMPS' SHAKE cannot hold a bead
#: that belongs to two bonded clusters, as TMBT's inner phenyls do, so constrained bonds are stiff
#: bonds integrated in an inner r-RESPA loop. Multiple time stepping resonates when the outer step
#: reaches half a fast period (at 1 fs inner and 10 fs outer steps, a 0.001 nm-wide bond has a
#: ~20 fs period and its energy ran at 10x equipartition); six outer steps per period stay clear.
CONSTRAINT_PERIOD_STEPS = 6.0


def constraint_sigma_nm(timestep_ps, temperature_K, reduced_mass_amu):
    """Width of a stiff bond whose period is :data:`CONSTRAINT_PERIOD_STEPS` outer steps.

    .. math:: \sigma = \sqrt{k_BT/k},\quad T_\mathrm{vib} = 2\pi\sqrt{\mu/k}
              \;\Rightarrow\; \sigma = \frac{T_\mathrm{vib}}{2\pi}\sqrt{k_BT/\mu}
    """
    from .units import kT

    period = CONSTRAINT_PERIOD_STEPS * timestep_ps
    return period / (2 * np.pi) * np.sqrt(kT(temperature_K) / reduced_mass_amu)


def load_cg(cg_topology):
    return CGTopology.from_dict(json.loads(Path(cg_topology).read_text()))


def start_configuration(cg_npz, top):
    """Last mapped AA frame: bead positions with molecules whole, and its box (nm)."""
    data = np.load(cg_npz)
    x, box = data["last_positions"][None], data["last_box"][None]
    nb = len(top.bead_names)
    bonds = top.indices("bonds")
    return make_whole(x, box, bonds, nb)[0], box[0], int(data["n_molecules"])


def targets_from(reference):
    """RDF targets ``{"T-T": (r, g), ...}`` from the reference table."""
    rdf = reference[reference["kind"] == "rdf"]
    return {name: (g["x"].to_numpy(), g["y"].to_numpy()) for name, g in rdf.groupby("name", sort=False)}


def dbi_terms(dbi_tables, dbi_params, model, scales=None):
    tables = pd.read_csv(dbi_tables)
    params = json.loads(Path(dbi_params).read_text())
    return cg_models.bonded_terms(tables, params, model, scales)


#: The IBI runs hold every bonded term of the DBI (the study keeps them fixed during IBI).
FULL_MODEL = {"bonds": True, "angles": True, "proper": True, "improper": True}


def md_settings(run_ps, timestep_fs, output_interval_ps, temperature_K, tau_t_ps, seed, equilibration_ps=0.0):
    return lammps.MDSettings.from_times(
        run_ps, timestep_fs / 1000.0, output_interval_ps, equilibration_ps,
        temperature_K=temperature_K, tau_t_ps=tau_t_ps, seed=seed,
    )


def ibi_criterion(cfg_ibi):
    """The config's ``ibi.convergence`` as a :class:`cgbench.ibi_criterion.Criterion`."""
    c = cfg_ibi.get("convergence", {})
    return Criterion(
        rdf_l2_nm=c.get("rdf_l2_nm"),
        rdf_l2_nm_pairs=dict(c.get("rdf_l2_nm_pairs", {})),
        pressure_tolerance_bar=c.get("pressure_tolerance_bar"),
        p_target_bar=cfg_ibi["p_target_bar"],
        hold_iterations=c.get("hold_iterations", 1),
        stop_early=c.get("stop_early", True),
    )


def ibi_settings(cfg_ibi, cutoff_nm):
    return ibi.IBISettings(
        iterations_max=cfg_ibi["iterations"],
        alpha=cfg_ibi["alpha"],
        p_target_bar=cfg_ibi["p_target_bar"],
        pressure_scale_per_bar=cfg_ibi["pressure_scale_per_bar"],
        pressure_max_A=cfg_ibi["pressure_max_A_kT"],
        cutoff_nm=cutoff_nm,
        step_nm=cfg_ibi["step_nm"],
        pressure_bound_bar=cfg_ibi["pressure_bound_bar"],
        pressure_type=cfg_ibi.get("pressure_correction", "simple"),
        wjk_scale=cfg_ibi.get("wjk_scale", 1.0),
        smooth_iterations=cfg_ibi.get("smooth_iterations", 0),
        pair_step_nm=dict(cfg_ibi.get("pair_step_nm", {})),
        target_smooth_iterations=dict(cfg_ibi.get("target_smooth_iterations", {})),
        initial_configuration=cfg_ibi.get("initial_configuration", "maindir"),
        criterion=ibi_criterion(cfg_ibi),
        pressure_pairs=tuple(cfg_ibi["pressure_pairs"]) if cfg_ibi.get("pressure_pairs") else None,
        sparse_max_pairs=cfg_ibi.get("sparse_max_pairs"),
        sparse_step_nm=cfg_ibi.get("sparse_step_nm", 0.02),
        sparse_target_smooth_iterations=cfg_ibi.get("sparse_target_smooth_iterations", 0),
    )


def ibi_setup(cg_npz, reference, dbi_tables, dbi_params, cg_topology, cfg_ibi, cutoff_nm, temperature_K,
              seed, workdir, sentinel, threads=1):
    """Start an IBI loop afresh in ``workdir`` (Snakemake reruns this only when inputs changed)."""
    top = load_cg(cg_topology)
    x, box, n_mol = start_configuration(cg_npz, top)
    workdir = Path(workdir)
    if workdir.exists():
        log.info("removing the previous IBI loop in %s: its inputs changed", workdir)
        shutil.rmtree(workdir)
    terms = dbi_terms(dbi_tables, dbi_params, FULL_MODEL)
    md = md_settings(cfg_ibi["run_ps"], cfg_ibi["timestep_fs"], cfg_ibi["output_interval_ps"], temperature_K,
                     cfg_ibi["tau_t_ps"], seed, cfg_ibi["equilibration_ps"])
    targets = targets_from(pd.read_csv(reference))
    ibi.setup(workdir, top, n_mol, x, box, targets, terms, md, ibi_settings(cfg_ibi, cutoff_nm), threads=threads)
    Path(sentinel).write_text(json.dumps({"workdir": str(workdir), "n_molecules": n_mol,
                                          "box_nm": box.tolist(), "iterations": cfg_ibi["iterations"]}))
    log.info("IBI set up: %d molecules, box %s nm, %d iterations of %g ps", n_mol, np.round(box, 3),
             cfg_ibi["iterations"], cfg_ibi["run_ps"])


def ibi_chunk(workdir, n_iterations, sentinel, convergence_csv, pressure_bound_bar):
    t0 = time.perf_counter()
    table = ibi.run_chunk(workdir, n_iterations, convergence_csv=convergence_csv, sentinel=sentinel,
                          pressure_bound_bar=pressure_bound_bar)
    last = table.groupby("iteration").first().tail(1)
    log.info("chunk done in %.1f s; last iteration:\n%s", time.perf_counter() - t0, last.to_string())


def ibi_finish(workdir, out):
    """Convergence table, state (``convergence.json``: did the criterion hold) and plot, and the
    final pair potentials (GROMACS units)."""
    conv = ibi.collect(workdir)
    conv.to_csv(out["convergence"], index=False)
    state = ibi.convergence_state(workdir, conv)
    state["iteration_wall_s"] = float(conv.groupby("iteration")["wall_s"].first().sum())
    Path(out["state"]).write_text(json.dumps(state, indent=1) + "\n")
    pots = ibi.pair_potentials(workdir)
    rows = [pd.DataFrame({"pair": k, "r": r, "U": U, "F": F}) for k, (r, U, F) in pots.items()]
    pd.concat(rows, ignore_index=True).to_csv(out["potentials"], index=False)
    plot_convergence(conv, pots, out["png"], state)
    last = conv[conv["iteration"] == conv["iteration"].max()]
    log.info("final iteration:\n%s", last.to_string(index=False))
    log.info("converged: %s (%s)", state["converged"], "; ".join(state["failing"]) or "criterion met")


def plot_convergence(conv, pots, path, state=None):
    """RDF distances and pressure per iteration with the convergence criterion drawn in, and the
    final pair potentials. ``state`` is :func:`cgbench.ibi.convergence_state`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    crit = Criterion.from_dict(state["criterion"]) if state else Criterion()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for pair, g in conv.groupby("pair", sort=False):
        (line,) = axes[0].semilogy(g["iteration"], g["rdf_l2"], "o-", ms=3, label=pair)
        tol = crit.tolerance(pair)
        if tol is not None:
            axes[0].axhline(tol, color=line.get_color(), ls="--", lw=0.8)
    axes[0].set_xlabel("iteration")
    axes[0].set_ylabel(r"$\int (g - g_\mathrm{ref})^2 dr$ (nm)")
    axes[0].legend(title="dashed: criterion" if crit.active else None)
    p = conv.groupby("iteration")["pressure_bar"].first()
    axes[1].plot(p.index, p.values, "o-", ms=3)
    axes[1].axhline(crit.p_target_bar, color="0.6", lw=0.8)
    if crit.pressure_tolerance_bar is not None:
        axes[1].axhspan(crit.p_target_bar - crit.pressure_tolerance_bar, crit.p_target_bar + crit.pressure_tolerance_bar,
                        color="tab:green", alpha=0.15, lw=0, label="criterion")
        axes[1].legend()
    met = conv.groupby("iteration")["criterion_met"].first()
    for ax in axes[:2]:
        for it in met.index[met.to_numpy(dtype=bool)]:
            ax.axvline(it, color="tab:green", lw=0.6, alpha=0.5)
    if state is not None and state["checked"]:
        title = (f"converged: criterion met from iteration {state['first_met']}" if state["converged"]
                 else f"NOT converged after {state['iterations']} iterations")
        fig.suptitle(title, color="black" if state["converged"] else "tab:red")
    axes[1].set_xlabel("iteration")
    axes[1].set_ylabel("pressure (bar)")
    for pair, (r, U, _F) in pots.items():
        axes[2].plot(r, U, label=pair)
    axes[2].set_ylim(-5, 10)
    axes[2].set_xlabel("r (nm)")
    axes[2].set_ylabel("U (kJ/mol)")
    axes[2].legend()
    axes[2].set_title("final pair potentials")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def read_potentials(path):
    df = pd.read_csv(path)
    return {k: (g["r"].to_numpy(), g["U"].to_numpy(), g["F"].to_numpy()) for k, g in df.groupby("pair", sort=False)}


def constrained_bonds(terms, params, top, timestep_ps, temperature_K):
    """Replace bond tables by stiff harmonic ones at the mean bond lengths (model A's constraints).

    Each bond type's width follows from :func:`constraint_sigma_nm` with the smallest reduced mass
    of its bead pairs (the fastest vibration).
    """
    from .units import kT

    m = np.asarray(top.bead_masses)
    bonds = {}
    for name, table in terms.bonds.items():
        idx = top.indices("bonds", name)
        mu = float(np.min(m[idx[:, 0]] * m[idx[:, 1]] / (m[idx[:, 0]] + m[idx[:, 1]])))
        sigma = constraint_sigma_nm(timestep_ps, temperature_K, mu)
        k = kT(temperature_K) / sigma**2
        r0 = params["bonds"][name]["mean_nm"]
        r = np.linspace(r0 - 10 * sigma, r0 + 10 * sigma, 2001)
        bonds[name] = Table(r, 0.5 * k * (r - r0) ** 2, -k * (r - r0))
    terms.bonds = bonds
    terms.constrain_bonds = False
    return terms


def run_model(workdir, top, n_mol, x, box, potentials, terms, md, cutoff_nm, npt=None, respa_inner=1, threads=1):
    """One CG LAMMPS run (optionally NPT first); returns the trajectory as whole, wrapped molecules.

    Returns
    -------
    frames : cgbench.trajectory.Frames
    info : dict
        ``wall_s``, ``ns_per_day``, ``density_g_cm3`` (of the production box), ``pressure_bar``.
    """
    work = Path(workdir)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    lammps.write_system(work / "system.data", top, n_mol, x, box, terms.kinds())
    lammps.write_bonded_tables(work, top, terms)
    keys = {name: name.replace("-", "_") for name in potentials}
    lammps.write_pair_table(work / PAIR_TABLE, {keys[n]: v for n, v in potentials.items()})
    pair_tables = {tuple(n.split("-")): (PAIR_TABLE, keys[n]) for n in potentials}
    r_first = min(v[0][0] for v in potentials.values())
    text = lammps.production_input(top, terms, md, pair_tables, cutoff_nm,
                                       table_n=int(round((cutoff_nm - r_first) / 0.0005)) + 1,
                                       npt=npt, respa_inner=respa_inner)
    (work / "in.lammps").write_text(text)
    t0 = time.perf_counter()
    lammps.run_lammps("in.lammps", work, threads=threads)
    wall = time.perf_counter() - t0
    dump = lammps.read_dump(work / "traj.dump")
    nb = len(top.bead_names)
    pos = wrap_molecules(dump.positions, dump.box, nb)
    dt_ps = md.timestep_ps
    time_ps = (np.asarray(dump.timesteps) - dump.timesteps[0]) * dt_ps
    frames = Frames(pos, np.asarray(dump.box), time_ps)
    mass = n_mol * float(np.sum(top.bead_masses))
    vol = float(np.prod(dump.box[-1]))
    p = np.loadtxt(work / "pressure.dat", skiprows=1)
    total_ps = (md.n_steps + md.n_equil_steps + (npt["steps"] if npt else 0)) * dt_ps
    info = {
        "wall_s": wall,
        "ns_per_day": total_ps / 1000.0 / (wall / 86400.0),
        "density_g_cm3": mass / vol * AMU_PER_NM3_TO_G_PER_CM3,
        "box_nm": dump.box[-1].tolist(),
        "pressure_bar": float(np.mean(lammps.atm_to_bar(p))),
        "frames": int(len(time_ps)),
    }
    return frames, info


def rescale_bonded(cg_npz, reference, potentials, dbi_tables, dbi_params, cg_topology, cfg_rescale, cfg_ibi,
                   cutoff_nm, temperature_K, seed, bins, workdir, out, threads=1):
    """Rounds of CG NVT runs with all bonded terms; each round rescales them (see :mod:`rescale`)."""
    top = load_cg(cg_topology)
    x, box, n_mol = start_configuration(cg_npz, top)
    ref = pd.read_csv(reference)
    pots = read_potentials(potentials)
    scales, reports = {}, []
    md = md_settings(cfg_rescale["run_ps"], cfg_ibi["timestep_fs"], cfg_ibi["output_interval_ps"], temperature_K,
                     cfg_ibi["tau_t_ps"], seed)
    for rnd in range(cfg_rescale["max_rounds"] + 1):
        terms = dbi_terms(dbi_tables, dbi_params, FULL_MODEL, scales)
        frames, info = run_model(Path(workdir) / f"round_{rnd}", top, n_mol, x, box, pots, terms, md, cutoff_nm,
                                 threads=threads)
        table = reference_table(frames.positions, frames.box, top, n_mol, bins)
        table = table[table["kind"] != "rdf"]
        new, report = rescale.update(scales, ref, table)
        report.insert(0, "round", rnd)
        reports.append(report)
        log.info("round %d (%.1f s): JS %s", rnd, info["wall_s"], dict(zip(report["name"], report["js"].round(4))))
        if rescale.converged(report, cfg_rescale["tolerance_js"]) or rnd == cfg_rescale["max_rounds"]:
            break
        scales = new
    pd.concat(reports, ignore_index=True).to_csv(out["log_csv"], index=False)
    Path(out["scales"]).write_text(json.dumps(
        {"scales": [{"kind": k, "name": n, "scale": s} for (k, n), s in scales.items()],
         "rounds": rnd + 1, "converged": bool(rescale.converged(reports[-1], cfg_rescale["tolerance_js"]))}, indent=1))


def read_scales(path):
    data = json.loads(Path(path).read_text())
    return {(e["kind"], e["name"]): e["scale"] for e in data["scales"]}


def produce(model_name, model, cg_npz, potentials, dbi_tables, dbi_params, scales, cg_topology, cfg_prod, cfg_ibi,
            cutoff_nm, temperature_K, seed, bins, workdir, out, threads=1):
    """Production run of one CG model: GROMACS-format trajectory, distributions, summary."""
    top = load_cg(cg_topology)
    x, box, n_mol = start_configuration(cg_npz, top)
    params = json.loads(Path(dbi_params).read_text())
    terms = dbi_terms(dbi_tables, dbi_params, model, read_scales(scales))
    respa = 1
    if model["bonds"] == "constrained":
        terms = constrained_bonds(terms, params, top, model["timestep_fs"] / 1000.0, temperature_K)
        respa = RESPA_INNER
    dt_fs = model["timestep_fs"]
    md = md_settings(cfg_prod["time_ps"], dt_fs, cfg_prod["output_interval_ps"], temperature_K, cfg_ibi["tau_t_ps"],
                     seed)
    npt = None
    if model["density"] == "npt":
        npt = {"steps": int(round(cfg_prod["npt_ps"] * 1000.0 / dt_fs)), "tau_p_ps": cfg_prod["tau_p_ps"],
               "p_bar": cfg_ibi["p_target_bar"]}
    frames, info = run_model(workdir, top, n_mol, x, box, read_potentials(potentials), terms, md, cutoff_nm, npt=npt,
                             respa_inner=respa, threads=threads)
    nb = len(top.bead_names)
    names = list(top.bead_names) * n_mol
    resids = np.repeat(np.arange(1, n_mol + 1), nb)
    write_frames(out["gro"], out["xtc"], frames, names, [top.name[:5]] * len(names), resids)
    reference_table(frames.positions, frames.box, top, n_mol, bins).to_csv(out["distributions"], index=False)
    info.update(model=model_name, timestep_fs=dt_fs, respa_inner=respa, density_from=model["density"])
    Path(out["summary"]).write_text(json.dumps(info, indent=1))
    log.info("model %s: %s", model_name, json.dumps(info))


def figure2_outputs(reference, distributions, models, out):
    ref = pd.read_csv(reference)
    tables = {m: pd.read_csv(p) for m, p in zip(models, distributions)}
    compare.figure2(ref, tables, out["png"])
    d = compare.distances(ref, tables)
    d.to_csv(out["distances"], index=False)
    log.info("JS divergences (nats):\n%s", d.pivot_table(index=["kind", "name"], columns="model", values="js").round(4))


__all__ = ["ibi_setup", "ibi_chunk", "ibi_finish", "rescale_bonded", "produce", "figure2_outputs", "BONDED"]
