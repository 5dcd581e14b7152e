"""File-level steps of iterative Boltzmann inversion (``ibi.smk``): set-up, chunks of iterations, results."""

import json
import logging
from pathlib import Path
import shutil
import time

import numpy as np
import pandas as pd

from .. import ibi
from ..ibi.criterion import Criterion, where_it_held
from ..core.errors import InputError
from .common import FULL_MODEL, dbi_terms, load_cg, md_settings, replica_starts, start_configuration, targets_from

log = logging.getLogger("cgbench")


def ibi_criterion(cfg_ibi):
    """The config's ``ibi.convergence`` as a :class:`cgbench.ibi.criterion.Criterion`."""
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
        replicas=cfg_ibi.get("replicas", 1),
        pair_alpha=dict(cfg_ibi.get("pair_alpha", {})),
        sparse_alpha=cfg_ibi.get("sparse_alpha"),
    )


def ibi_setup(cg_npz, reference, dbi_tables, dbi_params, cg_topology, cfg_ibi, cutoff_nm, temperature_K,
              seed, workdir, sentinel, threads=1, cg_gro=None, cg_traj=None):
    """Start an IBI loop afresh in ``workdir`` (Snakemake reruns this only when inputs changed).

    ``cg_gro``/``cg_traj``, the mapped AA trajectory, give the starting frames of replicas beyond
    the first (``ibi.replicas``)."""
    top = load_cg(cg_topology)
    x, box, n_mol = start_configuration(cg_npz, top)
    n_rep = int(cfg_ibi.get("replicas", 1))
    if n_rep > 1 and cg_traj is None:
        raise InputError("IBI replicas need the mapped AA trajectory (cg_gro, cg_traj)")
    more = replica_starts(cg_gro, cg_traj, top, n_rep, box)
    workdir = Path(workdir)
    if workdir.exists():
        log.info("removing the previous IBI loop in %s: its inputs changed", workdir)
        shutil.rmtree(workdir)
    terms = dbi_terms(dbi_tables, dbi_params, FULL_MODEL)
    md = md_settings(cfg_ibi["run_ps"], cfg_ibi["timestep_fs"], cfg_ibi["output_interval_ps"], temperature_K,
                     cfg_ibi["tau_t_ps"], seed, cfg_ibi["equilibration_ps"])
    targets = targets_from(pd.read_csv(reference))
    ibi.setup(workdir, top, n_mol, x, box, targets, terms, md, ibi_settings(cfg_ibi, cutoff_nm), threads=threads,
              replica_positions_nm=more)
    Path(sentinel).write_text(json.dumps({"workdir": str(workdir), "n_molecules": n_mol,
                                          "box_nm": box.tolist(), "iterations": cfg_ibi["iterations"]}))
    log.info("IBI set up: %d molecules, box %s nm, %d iterations of %d x %g ps", n_mol, np.round(box, 3),
             cfg_ibi["iterations"], n_rep, cfg_ibi["run_ps"])


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
        if "rdf_noise" in g and g["rdf_noise"].notna().any():
            axes[0].semilogy(g["iteration"], g["rdf_noise"], ":", color=line.get_color(), lw=1)
        tol = crit.tolerance(pair)
        if tol is not None:
            axes[0].axhline(tol, color=line.get_color(), ls="--", lw=0.8)
    noise = "rdf_noise" in conv and conv["rdf_noise"].notna().any()
    axes[0].set_xlabel("iteration")
    axes[0].set_ylabel(r"$\int (g - g_\mathrm{ref})^2 dr$ (nm)")
    # above the panel: inside, it hides the noisiest pair's points
    keys = (["dashed: criterion"] if crit.active else []) + (["dotted: sampling noise"] if noise else [])
    axes[0].legend(title=", ".join(keys) or None, loc="lower center",
                   bbox_to_anchor=(0.5, 1.0), ncol=conv["pair"].nunique(), fontsize="small",
                   title_fontsize="small", frameon=False)
    p = conv.groupby("iteration")["pressure_bar"].first()
    axes[1].plot(p.index, p.values, "o-", ms=3)
    if "pressure_noise_bar" in conv and conv["pressure_noise_bar"].notna().any():
        se = conv.groupby("iteration")["pressure_noise_bar"].first()
        axes[1].errorbar(se.index, p.values, yerr=2 * se.values, fmt="none", ecolor="tab:blue", elinewidth=0.8,
                         capsize=2, label="2 standard errors")
    axes[1].axhline(crit.p_target_bar, color="0.6", lw=0.8)
    if crit.pressure_tolerance_bar is not None:
        axes[1].axhspan(crit.p_target_bar - crit.pressure_tolerance_bar, crit.p_target_bar + crit.pressure_tolerance_bar,
                        color="tab:green", alpha=0.15, lw=0, label="criterion")
    if axes[1].get_legend_handles_labels()[0]:
        axes[1].legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize="small", frameon=False)
    met = conv.groupby("iteration")["criterion_met"].first()
    for ax in axes[:2]:
        for it in met.index[met.to_numpy(dtype=bool)]:
            ax.axvline(it, color="tab:green", lw=0.6, alpha=0.5)
    if state is not None and state["checked"]:
        title = (f"converged: criterion held {where_it_held(state, crit)}" if state["converged"]
                 else f"NOT converged after {state['iterations']} iterations")
        fig.suptitle(title, color="black" if state["converged"] else "tab:red")
    # linear within a few hundred bar of the target, logarithmic beyond: the first iterations'
    # thousands of bar would otherwise flatten the criterion's window
    axes[1].set_yscale("symlog", linthresh=max(300.0, 3 * (crit.pressure_tolerance_bar or 0.0)))
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
