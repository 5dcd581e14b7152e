"""Iterative Boltzmann inversion of the non-bonded pair potentials (study, Eqs. 4-5).

VOTCA ``csg_inverse`` drives the loop and LAMMPS runs the CG NVT simulations:

.. math:: U^{(n+1)}(r) = U^{(n)}(r) + \\alpha\\, k_BT \\ln\\frac{g^{(n)}(r)}{g_\\mathrm{ref}(r)}
          + \\Delta U_\\mathrm{PC}(r)

with :math:`\\alpha` = 0.5 and VOTCA's simple pressure correction :math:`\\Delta U_\\mathrm{PC}`
(see :mod:`cgbench.engines.votca` for its sign, which differs from the study's printed Eq. 5).
The bonded terms (from DBI) stay fixed.

The loop lives in a working directory that belongs to no Snakemake output (Snakemake deletes the
outputs of a failed job; a loop directory must survive a killed chunk):

1. :func:`setup` writes everything ``csg_inverse`` needs into it: ``settings.xml``, the XML topology,
   target RDFs, initial potentials (the potentials of mean force), the LAMMPS data file, script and
   bonded tables, and our VOTCA scripts (a convergence check and a remembering ``csg_property``).
2. :func:`run_chunk` runs ``csg_inverse --do-iterations n`` once; after every iteration VOTCA runs
   our convergence check (:mod:`cgbench.ibi.criterion`), which ends the loop when the criterion
   holds or the iteration diverged, and each finished iteration is checked again afterwards.
   ``csg_inverse`` resumes from the last finished ``step_NNN/``, and ``done`` appears in the
   working directory when ``iterations_max`` is reached or the loop converged. It can write a
   convergence CSV and a small JSON sentinel, the files a Snakemake rule declares.
3. :func:`collect` reads every finished iteration into a table (RDF distance to the target per
   pair, pressure, wall times, whether the criterion held); :func:`convergence_state` says whether
   the loop converged; :func:`pair_potentials` returns the potentials of an iteration in GROMACS
   units for the production runs.
"""

from dataclasses import asdict, dataclass, field, replace
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
from ..bonded.boltzmann import extrapolate
from .criterion import CHECK_FILE, Criterion, converged, rdf_distance
from ..core.errors import CgbenchError, EngineError
from ..core.paths import PACKAGE_ROOT
from ..core.units import kT as thermal_energy

__all__ = [
    "IBISettings",
    "IBIDivergence",
    "initial_potential",
    "resample_target",
    "setup",
    "run_chunk",
    "completed_iterations",
    "is_done",
    "check_iteration",
    "collect",
    "pair_potentials",
    "rdf_distance",
    "votca_like_pair_factor",
    "smooth_121",
    "convergence_state",
]

SETTINGS = "settings.xml"
TOPOLOGY = "topol.xml"
SCRIPT = "cg_nvt.in"
DATA = "system.data"
TRAJ = "traj.dump"
PRESSURE = "pressure.dat"
CONF_OUT = "confout.data"
LAMMPS_LOG = "log.lammps"
META = "cgbench_ibi.json"
TIMING = "cgbench_timing.csv"
CSG_OUTPUT = "cgbench_csg_inverse.out"
#: Folder of our VOTCA scripts (``<inverse><scriptpath>``) and the convergence_check type they add.
SCRIPTS = "cgbench_votca"
CHECK_TYPE = "cgbench"
STEP = re.compile(r"^step_(\d{3,})$")


@dataclass(frozen=True)
class IBISettings:
    """IBI parameters (study defaults), GROMACS units.

    Attributes
    ----------
    iterations_max : int
        Iterations in all; VOTCA writes ``done`` after the last.
    alpha : float
        Update scale of Eq. 4.
    p_target_bar : float, bar
    pressure_scale_per_bar : float, 1/bar
        f of the simple pressure correction.
    pressure_max_A : float, kT
        Largest amplitude of the pressure correction.
    cutoff_nm : float, nm
        Pair cut-off = VOTCA's ``<max>`` = r_max of the pressure ramp.
    step_nm : float, nm
        VOTCA's grid (RDF bins, potential update).
    table_begin_nm, table_bins_nm : float, nm
        First r and spacing of the LAMMPS pair tables.
    g_min : float
        Target g(r) at or below this counts as unsampled when the initial potential is made.
    convergence_limit : float, optional
        Stop early when the sum of VOTCA's convergence values falls below it (VOTCA's own check;
        exclusive with ``criterion``).
    initial_configuration : {"maindir", "laststep"}
        Start every iteration from the set-up configuration, or from the last iteration's end.
    pressure_bound_bar : float, bar
        A finished iteration with |p| above this counts as diverged.
    pressure_type : {"simple", "wjk"}
        VOTCA's simple pressure correction (the study's) or Wang-Junghans-Kremer's.
    wjk_scale : float
        Scale of the Wang-Junghans-Kremer correction (:func:`cgbench.engines.votca.wjk_options`).
    smooth_iterations : int
        Passes of VOTCA's ``post_update smooth`` (1-2-1 filter) on each IBI update; 0: none.
    pair_step_nm : dict of str -> float, nm
        VOTCA grid step of named pairs (``"T-T"``), overriding ``step_nm``: wider RDF bins for a
        sparse bead type.
    target_smooth_iterations : dict of str -> int
        Passes of the same 1-2-1 filter applied to named pairs' target RDFs at set-up.
    votca_convergence : bool
        Let VOTCA write its own convergence value per pair (``post_add convergence``).
    criterion : cgbench.ibi.criterion.Criterion, optional
        Convergence criterion, checked after every iteration by ``csg_inverse`` itself.
    sparse_max_pairs : int, optional
        A pair with fewer bead pairs than this in the box (:math:`N(N-1)/2` like, :math:`N_1 N_2`
        unlike) is sparse and gets ``sparse_step_nm`` and ``sparse_target_smooth_iterations`` unless
        ``pair_step_nm`` / ``target_smooth_iterations`` name it; None: no pair is sparse.
    sparse_step_nm : float, nm
    sparse_target_smooth_iterations : int
    pressure_pairs : tuple of str, optional
        Pairs that take the pressure-correction ramp (default every pair). A sparse bead type's
        pair carries a small share of the virial (:math:`\\rho_T^2/\\rho^2`, 2 % for TMBT's T-T)
        and its ramp mostly disturbs its RDF.
    """

    iterations_max: int = 200
    alpha: float = 0.5
    p_target_bar: float = 1.0
    pressure_scale_per_bar: float = 0.001
    pressure_max_A: float = 0.1
    cutoff_nm: float = 1.3
    step_nm: float = 0.01
    table_begin_nm: float = 0.1
    table_bins_nm: float = 0.002
    g_min: float = 1e-3
    convergence_limit: float | None = None
    initial_configuration: str = "maindir"
    pressure_bound_bar: float = 1.0e5
    pressure_type: str = "simple"
    wjk_scale: float = 1.0
    smooth_iterations: int = 0
    pair_step_nm: dict = field(default_factory=dict)
    target_smooth_iterations: dict = field(default_factory=dict)
    votca_convergence: bool = False
    criterion: Criterion | None = None
    pressure_pairs: tuple | None = None
    sparse_max_pairs: int | None = None
    sparse_step_nm: float = 0.02
    sparse_target_smooth_iterations: int = 0

    def sparse_pairs(self, counts):
        """Keys of the sparse pairs, from the number of beads of each type in the box.

        Parameters
        ----------
        counts : mapping of str -> int
            Bead type -> beads in the box.
        """
        if self.sparse_max_pairs is None:
            return []
        out = []
        for a in sorted(counts):
            for b in sorted(counts):
                n = counts[a] * (counts[a] - 1) // 2 if a == b else counts[a] * counts[b]
                if n < self.sparse_max_pairs:
                    out.append(f"{a}-{b}")
        return out

    def step(self, pair=None):
        """VOTCA grid step of ``pair`` (``"T-T"``), nm."""
        return float(self.pair_step_nm.get(pair, self.step_nm))

    def grid(self, pair=None):
        """VOTCA's r grid of ``pair``, nm: 0, step, ..., cutoff."""
        step = self.step(pair)
        n = int(round(self.cutoff_nm / step))
        if not np.isclose(n * step, self.cutoff_nm, rtol=0, atol=1e-9):
            raise CgbenchError(f"cutoff {self.cutoff_nm} nm is not a whole number of steps of {step} nm")
        return np.linspace(0.0, self.cutoff_nm, n + 1)

    def table_points(self):
        """Number of points of the LAMMPS pair tables."""
        return int(round((self.cutoff_nm - self.table_begin_nm) / self.table_bins_nm)) + 1


class IBIDivergence(CgbenchError):
    """An IBI iteration diverged; the iteration's directory was moved aside.

    Attributes
    ----------
    iteration : int
        The diverged iteration.
    last_good : int
        The last iteration whose files remain in place (0 = only the set-up).
    reason : str
    """

    def __init__(self, workdir, iteration, last_good, reason, moved_to):
        self.iteration = iteration
        self.last_good = last_good
        self.reason = reason
        self.moved_to = moved_to
        super().__init__(
            f"IBI diverged in iteration {iteration} ({reason}).\n"
            f"  working directory: {workdir}\n"
            f"  the iteration's files were moved to {moved_to}; the last good iteration, {last_good}, is kept "
            f"(step_{last_good:03d}/) and a new chunk would redo iteration {iteration}.\n"
            "  Try a smaller update scale, a longer run per iteration, or check the target RDFs."
        )


# --------------------------------------------------------------------------- maths
def resample_target(r, g, grid):
    """Put a target RDF on VOTCA's grid: linear interpolation, 0 left of the data, last value right.

    Parameters
    ----------
    r : ndarray, shape (n,), nm
        Strictly increasing, e.g. bin centres from :func:`cgbench.geometry.distributions.rdf`.
    g : ndarray, shape (n,)
    grid : ndarray, shape (m,), nm

    Returns
    -------
    ndarray, shape (m,)
    """
    r = np.asarray(r, dtype=float)
    g = np.asarray(g, dtype=float)
    if r.ndim != 1 or r.shape != g.shape or r.size < 2:
        raise CgbenchError(f"target r and g must be 1-D of equal length >= 2, got {r.shape}, {g.shape}")
    if not (np.isfinite(r).all() and np.isfinite(g).all()):
        raise CgbenchError("the target RDF holds NaN or infinite values")
    if np.any(np.diff(r) <= 0):
        raise CgbenchError("target r must be strictly increasing")
    if np.any(g < 0):
        raise CgbenchError("a target RDF cannot be negative")
    # half a bin short of the cut-off is fine (bin centres); 1e-9 absorbs rounding of the centres
    if r[-1] < grid[-1] - 0.5 * (grid[1] - grid[0]) - 1e-9:
        raise CgbenchError(f"the target RDF stops at {r[-1]:.4g} nm, before the cut-off {grid[-1]:.4g} nm")
    return np.interp(grid, r, g, left=0.0, right=g[-1])


#: Smallest height (k_BT) of the initial potential's core wall, from the first sampled point of the
#: target RDF to the start of the table.
CORE_KT = 20.0


def initial_potential(grid, g, temperature_K, g_min=1e-3, core_kT=CORE_KT):
    """Potential of mean force :math:`U_0(r) = -k_BT \\ln g_\\mathrm{ref}(r)`, zero at the cut-off.

    Where :math:`g \\le` ``g_min`` (the core, never sampled) the PMF is continued by a linear wall
    fitted to the first sampled points (:func:`cgbench.bonded.boltzmann.extrapolate`), so the table is finite
    and repulsive everywhere; beyond the data it is continued with its last value. The wall is at
    least steep enough to climb ``core_kT`` k_BT from the first sampled point to the table's start:
    a sparse bead type's first sampled points can be nearly flat, and a wall of a few k_BT lets
    two beads reach the table's start, where LAMMPS stops the run.

    Parameters
    ----------
    grid : ndarray, shape (m,), nm
    g : ndarray, shape (m,)
        Target RDF on ``grid``.
    temperature_K : float
    g_min : float

    Returns
    -------
    ndarray, shape (m,), kJ/mol
    """
    grid = np.asarray(grid, dtype=float)
    g = np.asarray(g, dtype=float)
    sampled = g > g_min
    if sampled.sum() < 2:
        raise CgbenchError("the target RDF has fewer than two points above g_min; cannot invert it")
    kT = thermal_energy(temperature_K)
    U = np.where(sampled, -kT * np.log(np.where(sampled, g, 1.0)), np.nan)
    first = grid[np.argmax(sampled)]
    span = grid[sampled][-1] - first
    data_slope = (np.nanmax(U) - np.nanmin(U)) / span if span > 0 else 0.0
    core_slope = core_kT * kT / (first - grid[0]) if first > grid[0] else 0.0
    U = extrapolate(grid, U, grid, left="linear", right="constant", min_slope=max(data_slope, core_slope))
    return U - U[-1]


def votca_like_pair_factor(n_beads):
    """csg_stat's RDF of N like beads over the true one: (N - 1)/N.

    ``csg_stat`` normalises a like-pair RDF by :math:`N^2/2` pairs, not the :math:`N(N-1)/2`
    distinct ones (checked against csg_stat in the integration tests), so its g(r) of a finite box
    is low by this factor; unlike pairs (:math:`N_A N_B`) are unaffected.
    """
    if n_beads < 2:
        raise CgbenchError(f"a like-pair RDF needs at least two beads, got {n_beads}")
    return (n_beads - 1) / n_beads


def smooth_121(y, passes):
    """``passes`` of VOTCA's triangular filter (``table_smooth.pl``, all points in range).

    Inner points become :math:`(y_{i-1} + 2 y_i + y_{i+1})/4`, the end points
    :math:`(2 y_0 + y_1)/3` and :math:`(2 y_{n-1} + y_{n-2})/3`.
    """
    y = np.asarray(y, dtype=float).copy()
    for _ in range(int(passes)):
        z = y.copy()
        z[1:-1] = 0.25 * y[:-2] + 0.5 * y[1:-1] + 0.25 * y[2:]
        z[0] = (2.0 * y[0] + y[1]) / 3.0
        z[-1] = (2.0 * y[-1] + y[-2]) / 3.0
        y = z
    return y


# --------------------------------------------------------------------------- set-up
def _pairs(targets, settings):
    """PairSpecs from target keys ``"T-A"`` (bead types joined by '-')."""
    pairs = []
    for key in targets:
        types = key.split("-")
        if len(types) != 2 or not all(types):
            raise CgbenchError(f"target keys must be two bead types joined by '-', got {key!r}")
        pairs.append(
            votca.PairSpec(
                types[0], types[1], f"{types[0]}_{types[1]}.dist.tgt", 0.0, settings.cutoff_nm, settings.step(key)
            )
        )
    return pairs


def setup(
    workdir,
    top,
    n_molecules,
    positions_nm,
    box_nm,
    targets,
    terms,
    md,
    settings=IBISettings(),
    lammps_command=None,
    threads=1,
    target_normalisation="pairs",
):
    """Prepare an IBI working directory for ``csg_inverse``.

    Parameters
    ----------
    workdir : str or Path
        Created if missing; must not hold a loop already (``step_*`` folders).
    top : cgbench.molecule.cgtopology.CGTopology
    n_molecules : int
    positions_nm : ndarray, shape (n_molecules * n_beads, 3), nm
        Starting configuration (e.g. the last mapped AA frame), molecules whole.
    box_nm : ndarray, shape (3,), nm
        Box at the AA density.
    targets : mapping of str -> (r, g)
        ``"T-T"``, ``"T-A"``, ``"A-A"`` -> target RDF, r (n,) nm, g (n,); one entry per pair of bead
        types, reaching the cut-off.
    target_normalisation : {"pairs", "votca"}
        How the targets were normalised. ``"pairs"``: by the number of distinct pairs,
        :math:`N(N-1)` for like pairs, as :func:`cgbench.geometry.distributions.rdf` does (ideal gas: g = 1).
        ``"votca"``: as ``csg_stat`` does, by :math:`N^2` for like pairs. IBI compares the target
        with ``csg_stat``'s RDF of the CG box, so ``"pairs"`` targets of like pairs are multiplied
        by :func:`votca_like_pair_factor` of the CG box, (N - 1)/N with N beads of that type: IBI
        then reproduces the true g(r) (1.6 % for T-T with 64 TMBT; 0.03 % with 3000).
    terms : cgbench.bonded.terms.BondedTerms
        Fixed bonded terms; their kinds also decide VOTCA's and LAMMPS' exclusions.
    md : cgbench.engines.lammps.MDSettings
        The CG NVT run of each iteration.
    settings : IBISettings
    lammps_command : str, optional
        Default :func:`cgbench.engines.lammps.default_lammps_command`.
    threads : int
        OpenMP threads of LAMMPS and threads of csg_stat.

    Returns
    -------
    Path
        ``settings.xml``.
    """
    workdir = Path(workdir)
    if workdir.exists() and any(STEP.match(p.name) for p in workdir.iterdir()):
        raise CgbenchError(f"{workdir} already holds an IBI loop (step_* folders); remove it to start over")
    # Everything is checked before anything is written.
    terms.check(top)
    kinds = terms.kinds()
    # Fail here, not in the first iteration, when LAMMPS cannot exclude VOTCA's pairs.
    lammps.special_bonds_weights(top, kinds)
    bead_types = set(top.bead_types)
    pairs = _pairs(targets, settings)
    wanted = {frozenset((a, b)) for a in bead_types for b in bead_types}
    given = [frozenset((p.type1, p.type2)) for p in pairs]
    if set(given) != wanted or len(given) != len(wanted):
        raise CgbenchError(
            f"need exactly one target RDF per pair of bead types {sorted(bead_types)}, got {list(targets)}"
        )
    counts = {t: top.bead_types.count(t) * n_molecules for t in bead_types}
    sparse = [k for k in targets if k in set(settings.sparse_pairs(counts))
              or "-".join(reversed(k.split("-"))) in set(settings.sparse_pairs(counts))]
    if sparse:
        settings = replace(
            settings,
            pair_step_nm={**{k: settings.sparse_step_nm for k in sparse}, **settings.pair_step_nm},
            target_smooth_iterations={**{k: settings.sparse_target_smooth_iterations for k in sparse},
                                      **settings.target_smooth_iterations},
        )
        pairs = _pairs(targets, settings)
    box = np.asarray(box_nm, dtype=float)
    if settings.cutoff_nm > 0.5 * box.min():
        raise CgbenchError(
            f"cut-off {settings.cutoff_nm} nm exceeds half the smallest box length {0.5 * box.min():.4g} nm"
        )
    unknown = (set(settings.pair_step_nm) | set(settings.target_smooth_iterations)
               | set(settings.pressure_pairs or ())) - set(targets)
    if settings.criterion is not None:
        unknown |= set(settings.criterion.rdf_l2_nm_pairs) - set(targets)
    if unknown:
        raise CgbenchError(f"per-pair IBI settings name pairs without a target RDF: {sorted(unknown)}")
    if settings.pressure_type not in ("simple", "wjk"):
        raise CgbenchError(f"pressure_type must be 'simple' or 'wjk', got {settings.pressure_type!r}")
    if settings.criterion is not None and settings.convergence_limit is not None:
        raise CgbenchError("give either a criterion or VOTCA's convergence_limit, not both")
    corrected = set(targets) if settings.pressure_pairs is None else set(settings.pressure_pairs)
    if not corrected:
        raise CgbenchError("pressure_pairs is empty: at least one pair must take the pressure correction")
    rho = None
    if settings.pressure_type == "wjk":
        # the ramps act on the corrected pairs only: their share of the pair virial sets the density,
        # rho_eff^2 = sum over ordered type pairs of rho_i rho_j (all pairs: the whole-fluid density)
        dens = {t: top.bead_types.count(t) * n_molecules / float(np.prod(box)) for t in bead_types}
        share = sum(dens[p.type1] * dens[p.type2] * (1 if p.type1 == p.type2 else 2)
                    for p, key in zip(pairs, targets) if key in corrected)
        rho = float(np.sqrt(share))  # = votca.wjk_density(all beads, volume) when every pair is corrected
    pairs = [votca.PairSpec(p.type1, p.type2, p.target, p.min_nm, p.max_nm, p.step_nm,
                            rho if key in corrected else None, key in corrected)
             for p, key in zip(pairs, targets)]
    tables = {}
    if target_normalisation not in ("pairs", "votca"):
        raise CgbenchError(f"target_normalisation must be 'pairs' or 'votca', got {target_normalisation!r}")
    for p, (key, (r, g)) in zip(pairs, targets.items()):
        grid = settings.grid(key)
        try:
            g_grid = resample_target(r, g, grid)
        except CgbenchError as err:
            raise CgbenchError(f"target RDF {key}: {err}") from None
        passes = int(settings.target_smooth_iterations.get(key, 0))
        if passes:
            # the core (g = 0, never sampled) stays empty: smoothing must not invent contacts there
            g_grid = np.where(g_grid > 0, smooth_121(g_grid, passes), 0.0)
        if target_normalisation == "pairs" and p.type1 == p.type2:
            g_grid = g_grid * votca_like_pair_factor(top.bead_types.count(p.type1) * n_molecules)
        tables[key] = (grid, g_grid, initial_potential(grid, g_grid, md.temperature_K, settings.g_min))

    workdir.mkdir(parents=True, exist_ok=True)
    for p, key in zip(pairs, targets):
        grid, g_grid, U0 = tables[key]
        votca.write_table(workdir / p.target, grid, g_grid, comment=f"target RDF {key}, r in nm")
        votca.write_table(workdir / f"{p.name}.pot.in", grid, U0, comment=f"-kT ln g_ref {key}, nm, kJ/mol")
    scriptpath = _write_votca_scripts(workdir)

    lammps.write_system(workdir / DATA, top, n_molecules, positions_nm, box, kinds)
    bonded_tables = [p.name for p in lammps.write_bonded_tables(workdir, top, terms)]
    votca.write_topology(workdir / TOPOLOGY, top, n_molecules, kinds)
    pair_tables = {(p.type1, p.type2): (p.lammps_table, "VOTCA") for p in pairs}
    lammps.write_nvt_input(
        workdir / SCRIPT,
        top,
        terms,
        md,
        pair_tables,
        settings.cutoff_nm,
        settings.table_points(),
        data_file=DATA,
        traj=TRAJ,
        pressure_file=PRESSURE,
        conf_out=CONF_OUT,
    )
    settings_path = votca.write_settings(
        workdir / SETTINGS,
        pairs,
        temperature_K=md.temperature_K,
        iterations_max=settings.iterations_max,
        lammps_command=lammps_command or lammps.default_lammps_command(),
        lammps_script=SCRIPT,
        topology=TOPOLOGY,
        data_file=DATA,
        traj=TRAJ,
        pressure_file=PRESSURE,
        conf_out=CONF_OUT,
        filelist=bonded_tables,
        p_target_bar=settings.p_target_bar,
        alpha=settings.alpha,
        pressure_scale_per_bar=settings.pressure_scale_per_bar,
        pressure_max_A=settings.pressure_max_A,
        convergence_limit=settings.convergence_limit,
        initial_configuration=settings.initial_configuration,
        table_begin_nm=settings.table_begin_nm,
        table_bins_nm=settings.table_bins_nm,
        lammps_log=LAMMPS_LOG,
        lammps_threads=threads,
        csg_stat_threads=threads,
        pressure_type=settings.pressure_type,
        wjk_scale=settings.wjk_scale,
        smooth_iterations=settings.smooth_iterations,
        votca_convergence=settings.votca_convergence,
        convergence_check=None if settings.convergence_limit is not None else CHECK_TYPE,
        scriptpath=scriptpath,
    )
    meta = {
        "pairs": [{"name": p.name, "key": k, "target": p.target} for p, k in zip(pairs, targets)],
        "temperature_K": md.temperature_K,
        "md": asdict(md),
        "ibi": asdict(settings),
        "n_molecules": int(n_molecules),
        "target_normalisation": target_normalisation,
        "molecule": top.name,
        "criterion": (settings.criterion or Criterion(p_target_bar=settings.p_target_bar)).to_dict(),
    }
    (workdir / META).write_text(json.dumps(meta, indent=1))
    return settings_path


#: csg_property, remembered (see :func:`_write_votca_scripts`). ``@REAL@`` and ``@CACHE@`` are filled in.
_PROPERTY_CACHE = r"""#!/bin/bash
# csg_property, remembered. csg_inverse asks the same few hundred questions of the same XML files in
# every iteration, one csg_property process (about 20 ms) each. An answer depends only on the
# arguments and the file read, so answers are kept per file and dropped when the file changes.
real="@REAL@"
file= prev= args=()
for a in "$@"; do
  if [[ $prev == --file ]]; then file=$a; else [[ $a == --file ]] || args+=("$a"); fi
  prev=$a
done
printf -v key '%s\x1f' "${args[@]}"
key=${key//%/%25}; key=${key//\//%2F}
[[ -n $file && -f $file && ${#key} -le 200 ]] || exec "$real" "$@"
name=${file//%/%25}
dir="@CACHE@/${name//\//%2F}"
if [[ ! -f $dir/.stamp || $file -nt $dir/.stamp ]]; then
  rm -rf "$dir" && mkdir -p "$dir" && : > "$dir/.stamp" || exec "$real" "$@"
fi
entry=$dir/$key
if [[ -f $entry ]]; then
  IFS= read -r -d '' out < "$entry"
  printf '%s' "$out"
  exit 0
fi
out=$("$real" "$@"; rc=$?; printf x; exit $rc)
rc=$?
out=${out%x}
((rc == 0)) && printf '%s' "$out" > "$entry.$$" && mv -f "$entry.$$" "$entry"
printf '%s' "$out"
exit $rc
"""


def _write_votca_scripts(workdir):
    """Our scripts for ``csg_inverse``: a ``convergence_check`` and a remembering ``csg_property``.

    * ``cgbench_check.sh`` (:mod:`cgbench.ibi.criterion`): VOTCA looks scripts up through the
      ``csg_table`` files of its scriptpath folders before its own, so the folder's one-line table
      adds the check type ``cgbench``. It runs this Python and this copy of cgbench, whatever the
      environment ``csg_inverse`` inherits.
    * ``bin/csg_property``: VOTCA's scripts call ``csg_property`` by name, some 350 times per
      iteration with the same arguments; :func:`run_chunk` puts this folder first on ``PATH`` so
      that repeated questions are answered from a cache (kept per XML file, dropped when the file
      changes), which takes most of VOTCA's time per iteration away.

    Returns
    -------
    str
        The scriptpath folder (absolute).
    """
    import sys

    folder = (Path(workdir) / SCRIPTS).resolve()
    (folder / "bin").mkdir(parents=True, exist_ok=True)
    (folder / "csg_table").write_text(f"convergence_check {CHECK_TYPE} cgbench_check.sh\n")
    script = folder / "cgbench_check.sh"
    script.write_text(
        "#!/bin/bash\n"
        "# csg_inverse runs this in a finished step directory: cgbench's convergence criterion and divergence\n"
        "# check; it creates 'stop' to end the loop.\n"
        f'PYTHONPATH="{PACKAGE_ROOT}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{sys.executable}" -m cgbench.ibi.criterion "$PWD"\n'
    )
    script.chmod(0o755)
    real = shutil.which("csg_property")
    if real is not None and Path(real).parent != folder / "bin":
        cache = folder / "bin" / "csg_property"
        cache.write_text(_PROPERTY_CACHE.replace("@REAL@", real).replace("@CACHE@", str(folder / "property_cache")))
        cache.chmod(0o755)
    return str(folder)


# --------------------------------------------------------------------------- running
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
        raise CgbenchError(f"{workdir} was not set up by cgbench.ibi.loop.setup (no {META})")
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


def _iteration_pressure_bar(step):
    files = sorted(Path(step).glob("*.pressure"))
    if files:
        return float(votca.pressure_from_lammps(_read_pressure_atm(files[0])))
    # No VOTCA pressure file (no pressure correction): average LAMMPS' own output as VOTCA would.
    f = Path(step) / PRESSURE
    if not f.exists():
        return float("nan")
    values = np.loadtxt(f, skiprows=1, ndmin=1)
    return float(votca.pressure_from_lammps(values.mean())) if values.size else float("nan")


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
        ``stopped_early``, ``final`` (``rdf_l2_nm`` per pair, ``pressure_bar``), ``failing`` (what
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


# --------------------------------------------------------------------------- results
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
    votca_convergence : VOTCA's ``<name>.conv`` (:math:`\\sum_i |g_i - g_{\\mathrm{ref},i}|` over its grid),
    pressure_bar : the iteration's mean pressure,
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
        p = _iteration_pressure_bar(step)
        loop_s, total_s = _lammps_times(step / LAMMPS_LOG)
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
                    "votca_convergence": conv,
                    "pressure_bar": p,
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
        "votca_convergence",
        "pressure_bar",
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
