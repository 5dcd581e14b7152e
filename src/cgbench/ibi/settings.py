"""The IBI loop's settings, the names of the files in its working directory, and its error."""

from dataclasses import dataclass, field
import re

import numpy as np

from .criterion import Criterion
from ..core.errors import CgbenchError


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


#: The LAMMPS command ``csg_inverse`` runs when an iteration has more than one replica (in SCRIPTS).
REPLICA_RUNNER = "lammps_replicas.sh"


def replica_name(name, k):
    """File name of replica ``k`` (0: the file itself): ``traj.dump`` -> ``traj_r1.dump``."""
    if k == 0:
        return name
    stem, dot, ext = name.rpartition(".")
    return f"{stem}_r{k}.{ext}" if dot else f"{name}_r{k}"


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
    pair_alpha : dict of str -> float
        IBI update scale of named pairs, overriding ``alpha``.
    sparse_alpha : float, optional
        IBI update scale of sparse pairs (unless ``pair_alpha`` names them); None: ``alpha``.
    replicas : int
        Independent CG runs per iteration, side by side, each from its own frame of the mapped AA
        trajectory and with its own seeds; their frames are pooled into the iteration's RDFs and
        pressure. One is the study's (and VOTCA's) loop.
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
    replicas: int = 1
    pair_alpha: dict = field(default_factory=dict)
    sparse_alpha: float | None = None

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

    def pair_update_scale(self, pair):
        """The IBI update scale of ``pair`` (``"T-T"``)."""
        return float(self.pair_alpha.get(pair, self.alpha))

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
