"""File-level steps of the CG models (``cg.smk``): bonded rescaling, production runs, Figure 2."""

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..cg import compare, rescale
from ..cg.run import RESPA_INNER, constrained_bonds, run_model
from ..mapping.reference import reference_table
from ..engines.trajectory import write_frames
from .common import FULL_MODEL, dbi_terms, load_cg, md_settings, read_potentials, read_scales, start_configuration

log = logging.getLogger("cgbench")


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


__all__ = ["rescale_bonded", "produce", "figure2_outputs"]
