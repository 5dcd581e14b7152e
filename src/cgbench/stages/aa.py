"""File-level steps of the all-atom stage (``aa.smk``): packing the box, mdp files, the runs, the
thermodynamics summary."""

import json
import logging
from pathlib import Path
import shutil

import numpy as np
import pandas as pd

from ..aa import protocol as aa
from ..core.errors import CgbenchError
from ..engines.mdrun import run_stage
from ..engines.gromacs import Gromacs, read_edr, read_gro_box, system_top
from ..engines.mdp import render
from ..molecule.topology import Topology
from ..core.units import AMU_PER_NM3_TO_G_PER_CM3

log = logging.getLogger("cgbench")

#: Density (g/cm^3) above which no organic liquid of this kind is expected; used to check that
#: the compressed box stays wider than twice the cut-off.
MAX_EXPECTED_DENSITY = 1.3


def pack_system(molecule_gro, itp, summary, out_gro, out_top, out_itp, n_molecules, density_g_cm3,
                cutoff_nm, seed, executable, log_path):
    """Pack ``n_molecules`` copies at ``density_g_cm3`` and write ``system.top`` beside a copy
    of the molecule's ``.itp`` (so that ``results/aa`` is a self-contained GROMACS folder).
    """
    info = json.loads(Path(summary).read_text())
    molar_mass = info["molar_mass_g_mol"]
    dense_edge = aa.box_edge_nm(n_molecules, molar_mass, MAX_EXPECTED_DENSITY)
    if dense_edge < 2 * cutoff_nm:
        raise CgbenchError(
            f"aa.n_molecules: {n_molecules} molecules of {molar_mass:.1f} g/mol make a box of about "
            f"{dense_edge:.2f} nm at liquid density, less than twice the cut-off "
            f"(aa.cutoff_nm = {cutoff_nm}); use more molecules or a shorter cut-off"
        )
    edge = aa.box_edge_nm(n_molecules, molar_mass, density_g_cm3)
    log.info("packing %d molecules into a %.3f nm box (%.2f g/cm3)", n_molecules, edge, density_g_cm3)
    out_dir = Path(out_gro).resolve().parent
    shutil.copyfile(itp, out_itp)
    Gromacs(executable).insert_molecules(
        Path(molecule_gro).resolve(), n_molecules, edge, Path(out_gro).name, out_dir, log_path, seed=seed
    )
    Path(out_top).write_text(system_top(Path(out_itp).name, info["name"], n_molecules))


def thermo_outputs(stages, edr, perf, nvt_gro, topology, n_molecules, out):
    """Write the thermodynamics table, its plot, and a per-stage summary with timings."""
    # minimisation has no time axis (its energy file counts steps) and no temperature
    data = [(s, read_edr(p, list(aa.THERMO_TERMS))) for s, p in zip(stages, edr) if s != "em"]
    table = aa.thermo_table(data)
    # NVT energy files carry no density: it is fixed by the box and the mass
    top = Topology.load_npz(topology)
    mass_amu = n_molecules * float(np.sum(top.masses))
    volume = float(np.prod(read_gro_box(nvt_gro)))
    nvt = table["stage"] == "nvt"
    table.loc[nvt, "density_kg_m3"] = mass_amu / volume * AMU_PER_NM3_TO_G_PER_CM3 * 1000.0
    table.to_csv(out["csv"], index=False)
    aa.plot_thermo(table, out["png"])
    summary = aa.stage_summary(table)
    timings = pd.DataFrame(
        [{"stage": s, **json.loads(Path(p).read_text())} for s, p in zip(stages, perf)]
    )
    summary = timings.merge(summary, on="stage", how="left")
    summary.to_csv(out["summary"], index=False)
    log.info("stage summary:\n%s", summary.to_string(index=False))


def mdp_file(template, values, common, out):
    """Write the mdp file of one stage: ``common`` then ``template``, placeholders filled from ``values``."""
    Path(out).write_text(render(template, values, common=common))


__all__ = ["pack_system", "mdp_file", "run_stage", "thermo_outputs"]
