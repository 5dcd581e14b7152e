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

from importlib import import_module

# Names and the module that holds each, imported on first use (PEP 562): csg_inverse starts
# ``python -m cgbench.ibi.criterion`` after every iteration, and importing the whole package (LAMMPS
# inputs, SciPy's signal module for Boltzmann inversion, pandas) would cost it about 1.5 s each time.
_WHERE = {
    "rdf_distance": "criterion",
    **dict.fromkeys(["check_iteration", "collect", "completed_iterations", "convergence_state", "is_done",
                     "pair_potentials", "run_chunk"], "run"),
    **dict.fromkeys(["CHECK_TYPE", "CONF_OUT", "CSG_OUTPUT", "DATA", "LAMMPS_LOG", "META", "PRESSURE", "REPLICA_RUNNER",
                     "SCRIPT", "SCRIPTS", "SETTINGS", "STEP", "TIMING", "TOPOLOGY", "TRAJ", "IBIDivergence",
                     "IBISettings", "replica_name"], "settings"),
    "setup": "setup",
    **dict.fromkeys(["CORE_KT", "initial_potential", "resample_target", "smooth_121", "votca_like_pair_factor"],
                    "targets"),
}


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))


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
