"""When an IBI loop has converged: an RDF distance per pair and a pressure window.

The criterion holds in an iteration when every pair's

.. math:: d_2 = \\int_0^{r_c} (g(r) - g_\\mathrm{ref}(r))^2\\, dr \\quad (\\mathrm{nm})

is at most that pair's tolerance and the iteration's mean pressure lies within
``pressure_tolerance_bar`` of the target. The loop has converged when the criterion held in each
of the last ``hold_iterations`` iterations (one noisy iteration that happens to pass is not
convergence).

The module needs only numpy at import, because ``csg_inverse`` runs it after every iteration as a
``convergence_check`` script of our own (:func:`main`): a file named ``stop`` in the step directory
ends VOTCA's loop, and :func:`cgbench.ibi.run_chunk` then writes ``done`` in the main directory,
after which every later chunk of the loop is a no-op. The same script stops the loop at once when an iteration diverged
(NaN tables or pressure, or a pressure beyond the bound), rather than letting VOTCA start LAMMPS
on broken tables; :func:`cgbench.ibi.run_chunk` then reports it.
"""

from dataclasses import asdict, dataclass, field
import json
from pathlib import Path
import re
import sys

import numpy as np

from ..core.units import BAR_TO_ATM
from ..core.errors import CgbenchError, InputError

__all__ = [
    "Criterion",
    "rdf_distance",
    "read_table",
    "step_state",
    "converged",
    "verdict",
    "main",
    "CHECK_FILE",
    "META",
]

#: Per-step record the check writes (``step_NNN/cgbench_check.json``).
CHECK_FILE = "cgbench_check.json"
#: The IBI set-up record in the main directory (written by :func:`cgbench.ibi.setup`).
META = "cgbench_ibi.json"


@dataclass(frozen=True)
class Criterion:
    """Convergence criterion of an IBI loop.

    Attributes
    ----------
    rdf_l2_nm : float, nm, optional
        Largest :math:`\\int (g - g_\\mathrm{ref})^2 dr` of every pair; None checks no RDF
        (unless the pair is in ``rdf_l2_nm_pairs``).
    rdf_l2_nm_pairs : dict of str -> float, nm
        Tolerances of named pairs (``"T-T"``), overriding ``rdf_l2_nm``.
    pressure_tolerance_bar : float, bar, optional
        Largest :math:`|p - p_\\mathrm{target}|`; None checks no pressure.
    p_target_bar : float, bar
    hold_iterations : int
        Consecutive iterations in which the criterion must hold.
    stop_early : bool
        End the loop once converged (otherwise it runs every iteration and only reports).
    """

    rdf_l2_nm: float | None = None
    rdf_l2_nm_pairs: dict = field(default_factory=dict)
    pressure_tolerance_bar: float | None = None
    p_target_bar: float = 1.0
    hold_iterations: int = 1
    stop_early: bool = True

    def __post_init__(self):
        if self.hold_iterations < 1:
            raise InputError(f"hold_iterations must be >= 1, got {self.hold_iterations}")
        for name, tol in [("rdf_l2_nm", self.rdf_l2_nm), ("pressure_tolerance_bar", self.pressure_tolerance_bar),
                          *self.rdf_l2_nm_pairs.items()]:
            if tol is not None and not tol > 0:
                raise InputError(f"tolerance {name} must be > 0, got {tol}")

    @property
    def active(self):
        """True when the criterion checks anything at all."""
        return self.rdf_l2_nm is not None or bool(self.rdf_l2_nm_pairs) or self.pressure_tolerance_bar is not None

    def tolerance(self, pair):
        """RDF tolerance of ``pair`` (nm), or None when it is not checked."""
        return self.rdf_l2_nm_pairs.get(pair, self.rdf_l2_nm)

    def holds(self, rdf_l2, pressure_bar):
        """Whether one iteration meets the criterion, and what fails.

        Parameters
        ----------
        rdf_l2 : mapping of str -> float, nm
            Each pair's RDF distance.
        pressure_bar : float, bar

        Returns
        -------
        ok : bool
            False as well when nothing is checked (no criterion: never converged).
        failing : list of str
            ``"T-T: 0.0043 > 0.002 nm"``, ``"pressure: |329 - 1| > 100 bar"``.
        """
        failing = []
        unknown = set(self.rdf_l2_nm_pairs) - set(rdf_l2)
        if unknown:
            raise InputError(f"rdf_l2_nm_pairs names pairs the loop does not have: {sorted(unknown)}")
        for pair, d in rdf_l2.items():
            tol = self.tolerance(pair)
            if tol is not None and not d <= tol:
                failing.append(f"{pair}: {d:.3g} > {tol:g} nm")
        if self.pressure_tolerance_bar is not None:
            dp = abs(pressure_bar - self.p_target_bar)
            if not dp <= self.pressure_tolerance_bar:
                failing.append(f"pressure: |{pressure_bar:.4g} - {self.p_target_bar:g}| > {self.pressure_tolerance_bar:g} bar")
        return self.active and not failing, failing

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, d):
        d = dict(d or {})
        d["rdf_l2_nm_pairs"] = dict(d.get("rdf_l2_nm_pairs") or {})
        return cls(**d)


def converged(holds, hold_iterations):
    """True when the last ``hold_iterations`` entries of ``holds`` (one bool per iteration) are all True."""
    holds = list(holds)
    return len(holds) >= hold_iterations and all(holds[-hold_iterations:])


def verdict(state):
    """One sentence for a report on whether IBI met its criterion (``state``: :func:`cgbench.ibi.convergence_state`).

    When the budget ended first, the sentence says that the CG models are not converged and that
    differences between them include the IBI error; it never calls them converged.
    """
    crit = Criterion.from_dict(state.get("criterion"))
    final = state.get("final") or {}
    parts = [f"{pair} {d:.2g} nm" for pair, d in (final.get("rdf_l2_nm") or {}).items()]
    if "pressure_bar" in final:
        se = final.get("pressure_noise_bar")
        parts.append(f"pressure {final['pressure_bar']:.0f} bar"
                     + (f" (standard error {se:.0f} bar)" if se is not None and np.isfinite(se) else ""))
    measured = "; ".join(parts)
    wanted = []
    if crit.rdf_l2_nm is not None or crit.rdf_l2_nm_pairs:
        per = ", ".join(f"{k} {v:g}" for k, v in crit.rdf_l2_nm_pairs.items())
        wanted.append(f"RDF distance at most {crit.rdf_l2_nm:g} nm" if crit.rdf_l2_nm is not None else "RDF distance")
        if per:
            wanted[-1] += f" ({per} nm)"
    if crit.pressure_tolerance_bar is not None:
        wanted.append(f"pressure within {crit.pressure_tolerance_bar:g} bar of {crit.p_target_bar:g} bar")
    over = f" over {crit.hold_iterations} consecutive iterations" if crit.hold_iterations > 1 else ""
    noise = _noise_sentence(crit, final, converged=bool(state.get("converged")))
    if not state.get("converged"):
        noise += _pressure_noise_sentence(crit, final)
    if not state.get("checked"):
        return (f"IBI: no convergence criterion was set, so the pair potentials are not known to match their targets "
                f"after {state.get('iterations', 0)} iterations (final: {measured}).")
    if state.get("converged"):
        how = "stopped early" if state.get("stopped_early") else "ran its budget"
        return (f"IBI converged: {' and '.join(wanted)}{over} held {where_it_held(state, crit)} "
                f"({how}; final: {measured}).{noise}")
    return (f"IBI did NOT converge: the budget of {state.get('iterations_max')} iterations ended before "
            f"{' and '.join(wanted)}{over} held (final: {measured}; missing: {'; '.join(state.get('failing', []))}). "
            f"The CG models are not converged: their pair potentials miss the targets they were fitted to, and "
            f"differences between models include this IBI error.{noise}")


def where_it_held(state, crit):
    """'in iterations 10-11 (first in 8)': where a converged loop's criterion held, from its state."""
    last = int(state["iterations"])
    first = last - crit.hold_iterations + 1
    where = f"in iterations {first}-{last}" if first < last else f"in iteration {last}"
    return where + (f" (first in {state['first_met']})" if state.get("first_met") not in (None, first) else "")


def _noise_sentence(crit, final, converged):
    """What the last iteration's sampling noise says about its RDF distances ('' when not recorded).

    A pair whose distance exceeds its tolerance by less than its noise is named: one iteration
    cannot tell whether its potential misses the target or the run was too short to show it.
    """
    noise = final.get("rdf_noise_nm") or {}
    if not noise:
        return ""
    text = (" Sampling noise of the last iteration's RDF distances, from the two halves of its run: "
            + ", ".join(f"{pair} {v:.2g}" for pair, v in noise.items()) + " nm.")
    if converged:
        return text
    close = [pair for pair, d in (final.get("rdf_l2_nm") or {}).items()
             if pair in noise and crit.tolerance(pair) is not None and crit.tolerance(pair) < d <= crit.tolerance(pair) + noise[pair]]
    if close:
        text += (f" {', '.join(close)} {'misses' if len(close) == 1 else 'miss'} the tolerance by less than "
                 f"{'its' if len(close) == 1 else 'their'} own sampling noise: this run cannot tell whether "
                 f"{'that potential meets its target' if len(close) == 1 else 'those potentials meet their targets'}; "
                 f"longer iterations (ibi.run_ps), more replicas (ibi.replicas) or more molecules would.")
    return text


def _pressure_noise_sentence(crit, final):
    """Whether a pressure outside the criterion's window misses it by less than twice its standard error."""
    se, p = final.get("pressure_noise_bar"), final.get("pressure_bar")
    if se is None or p is None or crit.pressure_tolerance_bar is None or not np.isfinite(se):
        return ""
    miss = abs(p - crit.p_target_bar) - crit.pressure_tolerance_bar
    if 0 < miss <= 2 * se:
        return (f" The pressure misses its window by {miss:.0f} bar, less than twice its standard error: this "
                f"iteration cannot tell whether the pressure is off.")
    return ""


def rdf_distance(r, g, g_ref, order=2):
    """:math:`\\int (g - g_\\mathrm{ref})^2 dr` (order 2) or :math:`\\int |g - g_\\mathrm{ref}| dr` (order 1), nm.

    Trapezoidal rule on the common grid ``r`` (nm).
    """
    d = np.abs(np.asarray(g, dtype=float) - np.asarray(g_ref, dtype=float)) ** order
    return float(np.sum(0.5 * (d[1:] + d[:-1]) * np.diff(np.asarray(r, dtype=float))))


def read_table(path):
    """x, y of a VOTCA table (``x y [flag]`` lines; ``#``/``@`` comments); ``nan`` reads as NaN."""
    rows = [ln.split()[:2] for ln in Path(path).read_text().splitlines() if ln.split() and ln[0] not in "#@"]
    a = np.array(rows, dtype=float).reshape(-1, 2)
    return a[:, 0], a[:, 1]


def _pressure_bar(step):
    """The iteration's mean pressure in bar: VOTCA's ``<name>.pressure`` (atm), else LAMMPS' file."""
    files = sorted(Path(step).glob("*.pressure"))
    if files:
        m = re.search(r"Pressure=\s*(\S+)", files[0].read_text())
        try:
            return float(m.group(1)) / BAR_TO_ATM if m else float("nan")
        except ValueError:
            return float("nan")
    f = Path(step) / "pressure.dat"
    if not f.exists():
        return float("nan")
    values = np.loadtxt(f, skiprows=1, ndmin=1)
    return float(values.mean()) / BAR_TO_ATM if values.size else float("nan")


def step_state(workdir, iteration, meta=None):
    """Distances, pressure and verdict of one finished iteration.

    Returns
    -------
    dict
        ``iteration``, ``rdf_l2`` (pair -> nm), ``pressure_bar``, ``holds``, ``failing``, and
        ``diverged`` (a reason, or None).
    """
    workdir = Path(workdir)
    meta = json.loads((workdir / META).read_text()) if meta is None else meta
    crit = Criterion.from_dict(meta.get("criterion"))
    step = workdir / f"step_{int(iteration):03d}"
    rdf_l2, diverged = {}, None
    for pair in meta["pairs"]:
        r, g = read_table(step / f"{pair['name']}.dist.new")
        _, U = read_table(step / f"{pair['name']}.pot.new")
        r_ref, g_ref = read_table(workdir / pair["target"])
        if r.shape != r_ref.shape or not np.allclose(r, r_ref):
            g_ref = np.interp(r, r_ref, g_ref)
        if not (np.isfinite(g).all() and np.isfinite(U).all()):
            diverged = f"{pair['name']}: NaN or infinite RDF or potential"
        rdf_l2[pair["key"]] = rdf_distance(r, g, g_ref)
    p = _pressure_bar(step)
    bound = float(meta["ibi"].get("pressure_bound_bar", np.inf))
    if diverged is None and not np.isfinite(p):
        diverged = "the pressure is NaN"
    elif diverged is None and abs(p) > bound:
        diverged = f"|pressure| = {abs(p):.4g} bar exceeds the bound {bound:.4g} bar"
    ok, failing = crit.holds(rdf_l2, p) if diverged is None else (False, [diverged])
    return {"iteration": int(iteration), "rdf_l2": rdf_l2, "pressure_bar": p, "holds": bool(ok),
            "failing": failing, "diverged": diverged,
            "rdf_noise": _noise(step, meta) if diverged is None else {}}


def _noise(step, meta):
    """Each pair's split-half sampling noise (:mod:`cgbench.ibi.noise`), or {} when it cannot be had.

    Needs the iteration's dump and a set-up record that names the bead types (older loops lack
    them); a box too small for one bin, or too few frames, leaves the noise out, not the check.
    """
    if "bead_types" not in meta or not (step / "traj.dump").exists():
        return {}
    from .noise import iteration_noise

    pairs = {p["key"]: float(p["step_nm"]) for p in meta["pairs"] if "step_nm" in p}
    try:
        return iteration_noise(step, meta["bead_types"], int(meta["n_molecules"]), pairs,
                               float(meta["ibi"]["cutoff_nm"]))
    except CgbenchError:
        return {}


def main(argv=None):
    """``convergence_check`` of ``csg_inverse``: run in a finished step directory.

    Writes ``cgbench_check.json`` there; creates ``stop`` when the iteration diverged, or when the
    criterion held over the last ``hold_iterations`` iterations and ``stop_early`` is set.
    """
    step = Path(argv[0] if argv else ".").resolve()
    workdir = step.parent
    meta = json.loads((workdir / META).read_text())
    crit = Criterion.from_dict(meta.get("criterion"))
    iteration = int(step.name.split("_")[-1])
    state = step_state(workdir, iteration, meta)
    history = []
    for i in range(1, iteration):
        f = workdir / f"step_{i:03d}" / CHECK_FILE
        history.append(json.loads(f.read_text())["holds"] if f.exists() else False)
    state["converged"] = converged(history + [state["holds"]], crit.hold_iterations)
    (step / CHECK_FILE).write_text(json.dumps(state, indent=1) + "\n")
    if state["diverged"] is not None or (state["converged"] and crit.stop_early):
        (step / "stop").touch()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
