"""LAMMPS input scripts of CG runs: run settings, bonded styles and tables, pair coefficients, templates.

Everything here takes GROMACS units (nm, ps, kJ/mol, K, bar); the values written are converted by
:mod:`cgbench.engines.lammps.units`. The templates live in ``resources/lammps``.
"""

from dataclasses import dataclass
import itertools
from pathlib import Path
import re

import numpy as np

from ...molecule.cgtopology import votca_name
from ...core.errors import CgbenchError
from ...core.paths import RESOURCES
from .data import atom_type_ids, interaction_type_ids, special_bonds_weights
from .tables import improper_harmonic_to_lammps, rb_to_nharmonic, write_angle_table, write_bond_table
from .units import bar_to_atm, nm_to_angstrom, ps_to_fs

__all__ = ["MDSettings", "write_bonded_tables", "bonded_commands", "check_shake_clusters", "pair_coeff_commands", "render", "input_values", "nvt_input", "production_input", "write_nvt_input"]

TEMPLATES = RESOURCES / "lammps"
NVT_TEMPLATE = TEMPLATES / "cg_nvt.in"
PUSH_OFF_TEMPLATE = TEMPLATES / "push_off.in"

#: Number of interpolation points LAMMPS builds from each bond/angle table.
BONDED_TABLE_N = 1000


# --------------------------------------------------------------------------- run settings
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
        files.append(write_bond_table(directory / BOND_TABLE_FILE, sections))
    if terms.angles:
        sections = {votca_name("angles", t): (v.x, v.U, v.F) for t, v in sorted(terms.angles.items())}
        files.append(write_angle_table(directory / ANGLE_TABLE_FILE, sections))
    return files


def bonded_commands(top, terms, table_dir=""):
    """LAMMPS commands for the bonded styles and coefficients (tables from :func:`write_bonded_tables`).

    Parameters
    ----------
    top : cgbench.molecule.cgtopology.CGTopology
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
            A = rb_to_nharmonic(terms.propers[name].C)
            lines.append(f"dihedral_coeff  {i} {len(A)} " + " ".join(f"{a:.10g}" for a in A) + f"  # RB {name}")
    if terms.impropers:
        lines.append("improper_style  harmonic")
        for name, i in interaction_type_ids(top, "impropers").items():
            term = terms.impropers[name]
            K, chi0 = improper_harmonic_to_lammps(term.xi0_deg, term.k)
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
def pair_coeff_commands(top, pair_tables, cutoff_nm, resolve=True):
    """``pair_coeff`` lines for every pair of bead types (the runs' inputs and the force reruns).

    Parameters
    ----------
    top : cgbench.molecule.cgtopology.CGTopology
    pair_tables : mapping of (str, str) -> (path, str)
        (bead type, bead type) -> (table file, keyword); either order of the two types.
        With ``resolve``, relative paths are taken from the current directory and written
        absolute (each must exist), so the LAMMPS run may work anywhere; otherwise they are
        written as given, as the run sees them.
    cutoff_nm : float
    resolve : bool

    Returns
    -------
    str
    """
    tid = atom_type_ids(top)
    lines = []
    cut = float(nm_to_angstrom(cutoff_nm))
    for a, b in itertools.combinations_with_replacement(tid, 2):
        key = (a, b) if (a, b) in pair_tables else (b, a)
        if key not in pair_tables:
            raise CgbenchError(f"no pair table for bead types {a}-{b}")
        f, kw = pair_tables[key]
        if resolve:
            f = Path(f).resolve()
            if not f.exists():
                raise CgbenchError(f"pair table {f} ({a}-{b}) does not exist")
        i, j = sorted((tid[a], tid[b]))
        lines.append(f"pair_coeff      {i} {j} {f} {kw} {cut:.6f}  # {a}-{b}")
    return "\n".join(lines)


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
    top : cgbench.molecule.cgtopology.CGTopology
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
    w = special_bonds_weights(top, terms.kinds())
    s1, s2 = _seeds(md.seed)
    values = {
        "DATA": data_file,
        "CUTOFF_NM": f"{cutoff_nm:g}",
        "TABLE_N": int(table_n),
        "PAIR_COEFFS": pair_coeff_commands(top, pair_tables, cutoff_nm, resolve=False),
        "BONDED": bonded_commands(top, terms, table_dir),
        "SPECIAL": " ".join(f"{x:.1f}" for x in w),
        "SKIN_A": f"{float(nm_to_angstrom(md.skin_nm)):.6g}",
        "DT_FS": f"{float(ps_to_fs(md.timestep_ps)):.10g}",
        "TEMPERATURE": f"{md.temperature_K:.10g}",
        "TAU_PS": f"{md.tau_t_ps:g}",
        "TAU_FS": f"{float(ps_to_fs(md.tau_t_ps)):.10g}",
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
PRODUCTION_TEMPLATE = TEMPLATES / "cg_production.in"


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
            f"fix             integrate all nph iso {float(bar_to_atm(npt['p_bar'])):.8g} "
            f"{float(bar_to_atm(npt['p_bar'])):.8g} {float(ps_to_fs(npt['tau_p_ps'])):.8g}",
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
