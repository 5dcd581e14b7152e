"""VOTCA ``csg_inverse`` input for iterative Boltzmann inversion with LAMMPS as the MD program.

What this module writes
-----------------------
* ``settings.xml`` (:func:`settings_xml`): one ``<non-bonded>`` block per bead-type pair and the
  global ``<inverse>`` block. Only non-bonded interactions appear in it, so ``csg_inverse`` never
  touches the bonded terms: they stay fixed, as LAMMPS tables/parameters listed in ``filelist``.
* the XML topology ``csg_stat`` reads (:func:`topology_xml`): molecules, beads and the bonded
  lists from which VOTCA derives its RDF exclusions (every bead pair inside any bonded
  interaction). A pure XML topology is needed because LAMMPS data files lose bead names.
* VOTCA tables (:func:`write_table`, :func:`read_table`): ``r value flag`` lines.

Units
-----
VOTCA computes in nm and kJ/mol whatever the MD program: ``csg_stat`` converts LAMMPS dump
coordinates from Angstrom to nm itself, targets, potentials and ``kBT`` are in nm and kJ/mol. Three
things are in the MD program's units instead, and this module converts them (through
:mod:`cgbench.engines.lammps`, the one place that knows LAMMPS ``units real``):

* the LAMMPS pair tables VOTCA writes every iteration: ``<lammps><scale>`` multiplies r
  (nm -> Angstrom, :data:`LAMMPS_X_SCALE` = 10) and ``<y_scale>`` multiplies U
  (kJ/mol -> kcal/mol, :data:`LAMMPS_Y_SCALE` = 1/4.184 = 0.239006); :func:`table_to_lammps` and
  :func:`table_from_lammps` are the same conversion in Python;
* the pressure VOTCA averages from the LAMMPS pressure file is in atm, so ``p_target`` is written
  in atm (:func:`pressure_to_lammps`);
* the slope f of the simple pressure correction multiplies that pressure: f per bar (the study's
  f = 0.001) becomes f per atm = 1.01325 f (:func:`pressure_scale_to_lammps`), so that
  f |p - p_target| is the same number in both unit systems.

Pressure correction and its sign
--------------------------------
VOTCA's simple pressure correction (``pressure_cor_simple.pl``) adds to each pair potential

.. math:: \\Delta U(r) = A \\left(1 - \\frac{r}{r_\\mathrm{max}}\\right),\\quad
          A = -\\operatorname{sgn}(p - p_\\mathrm{target})\\, A_\\mathrm{max} k_B T\\,
              \\min(1, f\\,|p - p_\\mathrm{target}|)

with :math:`A_\\mathrm{max}` = ``max_A`` = 0.1 (in units of kT) and :math:`r_\\mathrm{max}` the
interaction's ``<max>``. Too high a pressure (p > p_target) gives A < 0: an *attractive* ramp,
lowest at r = 0 and zero at r_max, which pulls particles together and lowers the pressure. The
study's Eq. 5 prints :math:`\\Delta U_{PC} = -A(1 - r/r_{cut})` with the same A, i.e. an extra minus
sign, which would push the pressure further away; we follow VOTCA (the physically right sign, and
what the study's software did). :func:`pressure_correction` is this formula in numpy.
"""

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from . import lammps
from ..molecule.cgtopology import KINDS, votca_name
from ..core.errors import CgbenchError
from .lammps import lammps_arguments
from ..core.units import kT as thermal_energy

__all__ = [
    "LAMMPS_X_SCALE",
    "LAMMPS_Y_SCALE",
    "table_to_lammps",
    "table_from_lammps",
    "pressure_to_lammps",
    "pressure_from_lammps",
    "pressure_scale_to_lammps",
    "pressure_correction",
    "wjk_density",
    "wjk_options",
    "wjk_correction",
    "PairSpec",
    "settings_xml",
    "write_settings",
    "topology_xml",
    "write_topology",
    "write_table",
    "read_table",
]

#: ``<lammps><scale>``: VOTCA's r (nm) -> LAMMPS real (Angstrom).
LAMMPS_X_SCALE = float(lammps.nm_to_angstrom(1.0))
#: ``<lammps><y_scale>``: VOTCA's U (kJ/mol) -> LAMMPS real (kcal/mol).
LAMMPS_Y_SCALE = float(lammps.kj_to_kcal(1.0))


# --------------------------------------------------------------------------- unit conversions
def table_to_lammps(r_nm, U_kj):
    """A VOTCA table (nm, kJ/mol) as VOTCA writes it for LAMMPS: (r * scale, U * y_scale).

    Returns
    -------
    r : ndarray, Angstrom
    U : ndarray, kcal/mol
    """
    return np.asarray(r_nm, dtype=float) * LAMMPS_X_SCALE, np.asarray(U_kj, dtype=float) * LAMMPS_Y_SCALE


def table_from_lammps(r_A, U_kcal):
    """Inverse of :func:`table_to_lammps`: (Angstrom, kcal/mol) -> (nm, kJ/mol)."""
    return np.asarray(r_A, dtype=float) / LAMMPS_X_SCALE, np.asarray(U_kcal, dtype=float) / LAMMPS_Y_SCALE


def pressure_to_lammps(p_bar):
    """Pressure as VOTCA sees it with LAMMPS: bar -> atm."""
    return lammps.bar_to_atm(p_bar)


def pressure_from_lammps(p_atm):
    """Pressure VOTCA reported from LAMMPS: atm -> bar."""
    return lammps.atm_to_bar(p_atm)


def pressure_scale_to_lammps(f_per_bar):
    """Slope f of the simple pressure correction, 1/bar -> 1/atm (so f |dp| is unit-free and unchanged)."""
    return np.asarray(f_per_bar, dtype=float) / lammps.bar_to_atm(1.0)


def wjk_density(n_beads, volume_nm3):
    """``<particle_dens>`` for VOTCA's Wang-Junghans-Kremer pressure correction: all beads per nm^3.

    ``pressure_cor_wjk.pl`` sizes a pair's ramp :math:`\\Delta U = A (1 - r/r_\\mathrm{max})` so that,
    in a one-component fluid of density :math:`\\rho`, it shifts the virial pressure by
    :math:`p_\\mathrm{target} - p`:

    .. math:: A = -\\frac{3 r_\\mathrm{max} (p - p_\\mathrm{target})}
                   {2\\pi\\rho^2 \\int_0^{r_\\mathrm{max}} r^3 g(r)\\, dr}

    In a mixture, the same ramp on every pair acts as one ramp on the whole fluid: the pairs' virial
    shifts add up with weights :math:`\\rho_i\\rho_j` over ordered pairs of types, which sum to
    :math:`(\\sum_i \\rho_i)^2`. With :math:`\\rho` the density of all beads every pair gets the
    same A (exactly so when the pairs' :math:`\\int r^3 g\\,dr` agree, as they nearly do over a
    1.3 nm cut-off), and together the ramps cancel the pressure difference. The density of a
    pair's own types instead would let each pair try to cancel all of it alone: a sparse type's
    ramp would be many times too large.
    """
    if volume_nm3 <= 0 or n_beads < 1:
        raise CgbenchError("wjk_density needs a positive volume and at least one bead")
    return n_beads / volume_nm3


def wjk_options(scale, max_A):
    """(``wjk.scale``, ``wjk.max_A``) to write for LAMMPS so that each pair's ramp amplitude is
    :math:`A = \\mathrm{clip}(s A_\\mathrm{WJK}, \\pm\\mathrm{max\\_A}\\, k_BT)`.

    VOTCA's script converts the pressure difference with a factor meant for bar while LAMMPS
    reports atm (factor 1.01325), and it caps A at ``max_A`` k_BT *before* multiplying by its
    scale: the scale written is :math:`c = 1.01325\\, s` and the cap ``max_A / c``, so the cap on
    the final amplitude is ``max_A`` k_BT, as with the simple correction.
    """
    if scale <= 0 or max_A <= 0:
        raise CgbenchError("wjk_options needs scale > 0 and max_A > 0")
    c = float(lammps.atm_to_bar(1.0)) * scale
    return c, max_A / c


def wjk_correction(r, p, p_target, kT, particle_dens, rdf, step, scale, max_A, r_max):
    """What VOTCA's ``pressure_cor_wjk.pl`` writes, in numpy (p in atm, as VOTCA sees LAMMPS).

    Parameters
    ----------
    r : ndarray, shape (n,), nm
        Output grid (from min to r_max in steps of ``step``).
    p, p_target : float, atm
    kT : float, kJ/mol
    particle_dens : float, 1/nm^3
    rdf : ndarray, shape (m,)
        The iteration's g(r) on the grid 0, step, ..., r_max.
    step, r_max : float, nm
    scale, max_A : float
        As written by :func:`wjk_options`.

    Returns
    -------
    ndarray, shape (n,), kJ/mol
    """
    n = int(round(r_max / step))
    x = np.arange(1, n) * step
    integral = float(np.sum(x**3 * step * np.asarray(rdf)[1:n])) + step / 2 * rdf[n] * r_max**3
    pref = -3 * r_max * (p - p_target) * 0.06022 / (2 * np.pi * particle_dens**2 * integral)
    pref = float(np.clip(pref, -max_A * kT, max_A * kT)) * scale
    return pref * (1.0 - np.asarray(r, dtype=float) / r_max)


def pressure_correction(r, p, p_target, kT, f, max_A=0.1, r_max=None):
    """VOTCA's simple pressure correction, :math:`\\Delta U(r) = A (1 - r/r_\\mathrm{max})`.

    .. math:: A = -\\operatorname{sgn}(p - p_\\mathrm{target})\\, \\mathrm{max\\_A}\\, k_BT\\,
              \\min(1, f |p - p_\\mathrm{target}|)

    p > p_target gives A < 0, an attractive ramp (negative at r = 0, zero at r_max). The study's
    Eq. 5 has an extra minus sign; see the module docstring.

    Parameters
    ----------
    r : ndarray, shape (n,), nm
    p, p_target : float
        Current and target pressure, any one unit (the unit of 1/f).
    kT : float, kJ/mol
    f : float
        Slope, 1/(unit of p).
    max_A : float
        Largest |A| in units of kT.
    r_max : float, nm, optional
        Where the ramp reaches zero (the interaction's ``<max>``); default ``r[-1]``.

    Returns
    -------
    ndarray, shape (n,), kJ/mol
    """
    r = np.asarray(r, dtype=float)
    r_max = float(r[-1]) if r_max is None else float(r_max)
    dp = float(p) - float(p_target)
    A = -np.sign(dp) * max_A * kT * min(1.0, f * abs(dp))
    return A * (1.0 - r / r_max)


# --------------------------------------------------------------------------- settings.xml
@dataclass(frozen=True)
class PairSpec:
    """One non-bonded interaction for IBI.

    Attributes
    ----------
    type1, type2 : str
        Bead types.
    target : str
        File name of the target RDF (VOTCA table, nm) in the IBI main directory.
    min_nm, max_nm, step_nm : float
        VOTCA's grid for RDF, update and potential; ``max_nm`` is the cut-off and the r_max of the
        pressure correction.
    particle_dens : float, 1/nm^3, optional
        ``<particle_dens>`` of the Wang-Junghans-Kremer pressure correction (see :func:`wjk_density`).
    pressure : bool
        Whether the pair takes a pressure-correction ramp.
    alpha : float, optional
        The pair's IBI update scale; None: the loop's ``alpha``.
    """

    type1: str
    type2: str
    target: str
    min_nm: float = 0.0
    max_nm: float = 1.3
    step_nm: float = 0.01
    particle_dens: float | None = None
    pressure: bool = True
    alpha: float | None = None

    @property
    def name(self):
        """Interaction name, also the stem of its files: ``T_A``."""
        return f"{self.type1}_{self.type2}"

    @property
    def lammps_table(self):
        """File name of the LAMMPS pair table VOTCA writes each iteration (keyword ``VOTCA``)."""
        return f"{self.name}.table"


def _e(v):
    return escape(str(v))


def _num(x):
    return f"{float(x):.10g}"


def settings_xml(
    pairs,
    *,
    temperature_K,
    iterations_max,
    lammps_command,
    lammps_script,
    topology,
    data_file,
    traj="traj.dump",
    pressure_file="pressure.dat",
    conf_out="confout.data",
    filelist=(),
    p_target_bar=1.0,
    alpha=0.5,
    pressure_scale_per_bar=0.001,
    pressure_max_A=0.1,
    convergence_limit=None,
    initial_configuration="maindir",
    table_begin_nm=0.1,
    table_bins_nm=0.002,
    lammps_log="log.lammps",
    lammps_threads=1,
    csg_stat_threads=1,
    pressure_type="simple",
    wjk_scale=1.0,
    smooth_iterations=0,
    votca_convergence=True,
    convergence_check=None,
    scriptpath=None,
):
    """``csg_inverse`` settings for IBI of the given pairs with LAMMPS (study, Eqs. 4-5).

    Per pair: ``do_potential 1``; ``post_update`` = ``[smooth] scale pressure`` in that order, so
    the IBI update :math:`k_BT \\ln(g/g_\\mathrm{ref})` is first smoothed (``smooth_iterations``
    passes of VOTCA's 1-2-1 filter, none by default), then scaled by ``alpha``, and the pressure
    correction is added unscaled; simple pressure correction with ``pressure_max_A`` (kT units) and
    slope ``pressure_scale_per_bar``, or VOTCA's Wang-Junghans-Kremer one (``pressure_type="wjk"``,
    :func:`wjk_options`); optionally ``post_add convergence`` (VOTCA's
    :math:`\\sum_i |g(r_i) - g_\\mathrm{ref}(r_i)|` over its grid, written to ``<name>.conv``);
    LAMMPS table scaling nm -> Angstrom, kJ/mol -> kcal/mol.

    Every option ``csg_inverse`` looks up in each iteration and that has a non-empty default is
    written out: a missing one costs three ``csg_property`` calls (this file, VOTCA's defaults,
    and the program name again) instead of one, and those calls are most of VOTCA's time per
    iteration.

    Parameters
    ----------
    pairs : sequence of PairSpec
    temperature_K : float
        Sets VOTCA's kBT (kJ/mol).
    iterations_max : int
        ``csg_inverse`` writes ``done`` after this many iterations.
    lammps_command : str
        LAMMPS executable.
    lammps_script, topology, data_file, traj, pressure_file, conf_out : str
        File names in the main directory / as the run writes them. ``data_file`` is the
        configuration each run reads (``<conf>``); ``conf_out`` the one it writes.
    filelist : sequence of str
        Further files copied into every step (bonded tables).
    p_target_bar : float, bar
        Written in atm.
    alpha : float
        IBI update scale (``post_update_options.scale``).
    pressure_scale_per_bar : float, 1/bar
        Written per atm.
    pressure_max_A : float, kT
    convergence_limit : float, optional
        Stop when the sum of every pair's convergence value falls below it
        (``convergence_check`` ``default``); None runs all ``iterations_max`` iterations.
    initial_configuration : {"maindir", "laststep"}
        Start each iteration from ``data_file`` in the main directory, or from the previous
        iteration's ``conf_out``.
    table_begin_nm : float, nm
        First r of the LAMMPS pair tables (LAMMPS needs r > 0; a closer pair stops the run).
    table_bins_nm : float, nm
        Grid spacing of the LAMMPS pair tables.
    lammps_log : str
    lammps_threads : int
        OpenMP threads of each LAMMPS run.
    csg_stat_threads : int
    pressure_type : {"simple", "wjk"}
    wjk_scale : float
        Scale of the Wang-Junghans-Kremer correction (1: the pairs' ramps together aim to cancel
        the pressure difference, :func:`wjk_options`). Needs ``particle_dens`` on every pair
        (:func:`wjk_density`).
    smooth_iterations : int
        Passes of ``post_update smooth`` on the IBI update; 0 leaves it out.
    votca_convergence : bool
        Write VOTCA's ``post_add convergence`` (``<name>.conv``); implied by ``convergence_limit``.
    convergence_check : str, optional
        A ``convergence_check`` type of one's own (a script in ``scriptpath``, listed in its
        ``csg_table``); exclusive with ``convergence_limit``.
    scriptpath : str, optional
        ``<inverse><scriptpath>``: a folder searched for scripts (and ``csg_table``) before VOTCA's.

    Returns
    -------
    str
    """
    pairs = list(pairs)
    if not pairs:
        raise CgbenchError("IBI needs at least one non-bonded pair")
    names = [p.name for p in pairs]
    if len(set(names)) != len(names):
        raise CgbenchError(f"pair names must be unique, got {names}")
    if initial_configuration not in ("maindir", "laststep"):
        raise CgbenchError(f"initial_configuration must be 'maindir' or 'laststep', got {initial_configuration!r}")
    if not (0 < alpha <= 1):
        raise CgbenchError(f"the IBI update scale alpha must lie in (0, 1], got {alpha}")
    if int(iterations_max) < 1:
        raise CgbenchError(f"iterations_max must be >= 1, got {iterations_max}")
    if pressure_type not in ("simple", "wjk"):
        raise CgbenchError(f"pressure_type must be 'simple' or 'wjk', got {pressure_type!r}")
    if pressure_type == "wjk" and any(p.pressure and (p.particle_dens is None or p.particle_dens <= 0) for p in pairs):
        raise CgbenchError("the wjk pressure correction needs a positive particle_dens on every corrected pair")
    if int(smooth_iterations) < 0:
        raise CgbenchError(f"smooth_iterations must be >= 0, got {smooth_iterations}")
    if convergence_check is not None and convergence_limit is not None:
        raise CgbenchError("give either convergence_limit (VOTCA's check) or convergence_check (one's own), not both")
    for p in pairs:
        if not (0 <= p.min_nm < p.max_nm and 0 < p.step_nm < p.max_nm - p.min_nm):
            raise CgbenchError(f"pair {p.name}: need 0 <= min < max and 0 < step < max - min")
        if p.alpha is not None and not (0 < p.alpha <= 1):
            raise CgbenchError(f"pair {p.name}: the IBI update scale alpha must lie in (0, 1], got {p.alpha}")
        if not (0 < table_begin_nm < p.max_nm):
            raise CgbenchError(f"table_begin_nm must lie in (0, {p.max_nm}), got {table_begin_nm}")
    p_target = float(pressure_to_lammps(p_target_bar))
    f = float(pressure_scale_to_lammps(pressure_scale_per_bar))
    kBT = thermal_energy(temperature_K)
    post_update = (["smooth"] if int(smooth_iterations) > 0 else []) + ["scale"]
    if pressure_type == "simple":
        pressure_block = [
            "          <simple>",
            f"            <max_A>{_num(pressure_max_A)}</max_A>",
            f"            <!-- {pressure_scale_per_bar:g} per bar -->",
            f"            <scale>{_num(f)}</scale>",
            "          </simple>",
        ]
    else:
        wjk_c, wjk_max = wjk_options(wjk_scale, pressure_max_A)
        pressure_block = [
            "          <wjk>",
            f"            <!-- |A| <= {pressure_max_A:g} kT after the scale; scale {wjk_scale:g} x 1.01325 bar/atm -->",
            f"            <max_A>{_num(wjk_max)}</max_A>",
            f"            <scale>{_num(wjk_c)}</scale>",
            "          </wjk>",
        ]
    add_convergence = bool(votca_convergence) or convergence_limit is not None

    out = [
        "<cg>",
        "  <!-- written by cgbench.engines.votca.settings_xml; VOTCA units nm, kJ/mol; pressures in atm (LAMMPS real) -->",
    ]
    for p in pairs:
        out += [
            "  <non-bonded>",
            f"    <name>{_e(p.name)}</name>",
            f"    <type1>{_e(p.type1)}</type1>",
            f"    <type2>{_e(p.type2)}</type2>",
            f"    <min>{_num(p.min_nm)}</min>",
            f"    <max>{_num(p.max_nm)}</max>",
            f"    <step>{_num(p.step_nm)}</step>",
            "    <inverse>",
            f"      <target>{_e(p.target)}</target>",
            "      <do_potential>1</do_potential>",
            f"      <!-- {p_target_bar:g} bar -->",
            f"      <p_target>{_num(p_target)}</p_target>",
            *([f"      <particle_dens>{_num(p.particle_dens)}</particle_dens>"] if p.particle_dens else []),
            f"      <post_update>{' '.join(post_update + (['pressure'] if p.pressure else []))}</post_update>",
            "      <post_update_options>",
            f"        <scale>{_num(alpha if p.alpha is None else p.alpha)}</scale>",
            *(
                ["        <smooth>", f"          <iterations>{int(smooth_iterations)}</iterations>", "        </smooth>"]
                if int(smooth_iterations) > 0
                else []
            ),
            "        <pressure>",
            f"          <type>{pressure_type}</type>",
            "          <do>1</do>",
            *pressure_block,
            "        </pressure>",
            "      </post_update_options>",
            *(
                [
                    "      <post_add>convergence</post_add>",
                    "      <post_add_options>",
                    "        <convergence>",
                    "          <what>dist</what>",
                    "          <base>tgt</base>",
                    "          <norm>1</norm>",
                    "          <weight>1</weight>",
                    "        </convergence>",
                    "      </post_add_options>",
                ]
                if add_convergence
                else []
            ),
            "      <lammps>",
            f"        <table>{_e(p.lammps_table)}</table>",
            f"        <scale>{_num(LAMMPS_X_SCALE)}</scale>",
            f"        <y_scale>{_num(LAMMPS_Y_SCALE)}</y_scale>",
            f"        <table_begin>{_num(table_begin_nm)}</table_begin>",
            f"        <table_end>{_num(p.max_nm)}</table_end>",
            f"        <table_bins>{_num(table_bins_nm)}</table_bins>",
            "        <table_left_extrapolation>exponential</table_left_extrapolation>",
            "        <table_right_extrapolation>constant</table_right_extrapolation>",
            "      </lammps>",
            "    </inverse>",
            "  </non-bonded>",
        ]
    files = [lammps_script, topology, *filelist]
    opts = " ".join(["-in ${script}", "-log", lammps_log, *lammps_arguments(lammps_threads)])
    if convergence_check is not None:
        check = [f"      <type>{_e(convergence_check)}</type>"]
    elif convergence_limit is not None:
        check = ["      <type>default</type>", f"      <limit>{_num(convergence_limit)}</limit>"]
    else:
        check = ["      <type>none</type>"]
    out += [
        "  <inverse>",
        f"    <!-- {temperature_K:g} K -->",
        f"    <kBT>{_num(kBT)}</kBT>",
        "    <method>ibi</method>",
        "    <program>lammps</program>",
        f"    <iterations_max>{int(iterations_max)}</iterations_max>",
        f"    <initial_configuration>{initial_configuration}</initial_configuration>",
        f"    <filelist>{_e(' '.join(files))}</filelist>",
        *([f"    <scriptpath>{_e(scriptpath)}</scriptpath>"] if scriptpath else []),
        "    <!-- VOTCA's defaults, written out: each costs three csg_property calls per lookup otherwise -->",
        "    <restart_file>restart_points.log</restart_file>",
        "    <log_file>inverse.log</log_file>",
        "    <simulation>",
        f"      <tasks>{int(csg_stat_threads)}</tasks>",
        "      <background>no</background>",
        "    </simulation>",
        "    <convergence_check>",
        *check,
        "    </convergence_check>",
        "    <lammps>",
        f"      <command>{_e(lammps_command)}</command>",
        f"      <opts>{_e(opts)}</opts>",
        f"      <script>{_e(lammps_script)}</script>",
        f"      <topol>{_e(topology)}</topol>",
        f"      <traj>{_e(traj)}</traj>",
        f"      <pressure_file>{_e(pressure_file)}</pressure_file>",
        f"      <conf>{_e(data_file)}</conf>",
        f"      <conf_out>{_e(conf_out)}</conf_out>",
        "      <first_frame>0</first_frame>",
        "      <equi_time>0</equi_time>",
        "      <rdf>",
        f"        <topol>{_e(topology)}</topol>",
        f"        <traj>{_e(traj)}</traj>",
        "        <with_errors>no</with_errors>",
        "      </rdf>",
        "    </lammps>",
        "  </inverse>",
        "</cg>",
    ]
    return "\n".join(out) + "\n"


def write_settings(path, pairs, **kwargs):
    """Write :func:`settings_xml` to ``path``; returns the Path."""
    path = Path(path)
    path.write_text(settings_xml(pairs, **kwargs))
    return path


# --------------------------------------------------------------------------- topology
def topology_xml(top, n_molecules, kinds=KINDS):
    """VOTCA XML topology of ``n_molecules`` copies of one CG molecule, for ``csg_stat``.

    Beads keep their names, types and masses; the bonded lists (propers and impropers both as
    VOTCA ``dihedral``) are what VOTCA builds its RDF exclusions from, so ``kinds`` must be the
    kinds the CG model has. Beads are numbered molecule after molecule, as in the LAMMPS data file
    (:func:`cgbench.engines.lammps.write_system`) and its dump (sorted by id).

    Parameters
    ----------
    top : cgbench.molecule.cgtopology.CGTopology
    n_molecules : int
    kinds : sequence of str

    Returns
    -------
    str
    """
    if n_molecules < 1:
        raise CgbenchError(f"need at least one molecule, got {n_molecules}")
    mol = _e(top.name)
    nb = len(top.bead_names)
    out = [
        "<topology>",
        "  <!-- written by cgbench.engines.votca.topology_xml -->",
        "  <molecules>",
        f'    <molecule name="{mol}" nmols="{int(n_molecules)}" nbeads="{nb}">',
    ]
    for name, btype, mass in zip(top.bead_names, top.bead_types, top.bead_masses):
        out.append(f'      <bead name="{_e(name)}" type="{_e(btype)}" mass="{float(mass):.6f}" q="0"/>')
    out += ["    </molecule>", "  </molecules>", "  <bonded>"]
    tag = {"bonds": "bond", "angles": "angle", "propers": "dihedral", "impropers": "dihedral"}
    for kind in kinds:
        for t in top.interaction_types(kind):
            beads = " ".join(f"{mol}:{top.bead_names[i]}" for tt, idx in getattr(top, kind) if tt == t for i in idx)
            out += [
                f"    <{tag[kind]}>",
                f"      <name>{_e(votca_name(kind, t))}</name>",
                f"      <beads>{beads}</beads>",
                f"    </{tag[kind]}>",
            ]
    out += ["  </bonded>", "</topology>"]
    return "\n".join(out) + "\n"


def write_topology(path, top, n_molecules, kinds=KINDS):
    """Write :func:`topology_xml` to ``path``; returns the Path."""
    path = Path(path)
    path.write_text(topology_xml(top, n_molecules, kinds))
    return path


# --------------------------------------------------------------------------- tables
def write_table(path, x, y, flags=None, comment="cgbench"):
    """Write a VOTCA table: lines ``x y flag`` (flag ``i`` = in range, ``o`` = out of range).

    Parameters
    ----------
    path : str or Path
    x : ndarray, shape (n,)
        nm for non-bonded interactions.
    y : ndarray, shape (n,)
        g(r) (dimensionless) or U (kJ/mol).
    flags : sequence of str, optional
        Default all ``i``.
    comment : str

    Returns
    -------
    Path
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise CgbenchError(f"x and y must be 1-D of equal length, got {x.shape}, {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise CgbenchError(f"table {path}: every value must be finite")
    flags = ["i"] * x.size if flags is None else list(flags)
    if len(flags) != x.size or not set(flags) <= {"i", "o", "u"}:
        raise CgbenchError("flags must be one of 'i', 'o', 'u' per point")
    body = "\n".join(f"{a:.10g} {b:.12g} {c}" for a, b, c in zip(x, y, flags))
    path = Path(path)
    path.write_text(f"# {comment}\n{body}\n")
    return path


def read_table(path):
    """Read a VOTCA table (``x y [flag]`` lines, ``#`` comments).

    Returns
    -------
    x : ndarray, shape (n,)
    y : ndarray, shape (n,)
        NaN where VOTCA wrote ``nan``.
    flags : ndarray of str, shape (n,)
    """
    xs, ys, fl = [], [], []
    for line in Path(path).read_text().splitlines():
        words = line.split()
        if not words or words[0].startswith(("#", "@")):
            continue
        try:
            xs.append(float(words[0]))
            ys.append(float(words[1]))
        except (IndexError, ValueError):
            raise CgbenchError(f"{path}: cannot read table line {line!r}") from None
        fl.append(words[2] if len(words) > 2 else "i")
    if not xs:
        raise CgbenchError(f"{path} holds no table rows")
    return np.array(xs), np.array(ys), np.array(fl)
