"""One CG model run with LAMMPS, in a working folder: the system, the input, the trajectory and its summary.

The model (:class:`cgbench.bonded.terms.BondedTerms`, pair potentials) and the run settings come
in as data; the trajectory comes back as whole, wrapped molecules in GROMACS units.
"""

from pathlib import Path
import shutil
import time

import numpy as np

from ..bonded.terms import Table
from ..engines import lammps
from ..geometry.pbc import wrap_molecules
from ..engines.trajectory import Frames
from ..core.units import AMU_PER_NM3_TO_G_PER_CM3


PAIR_TABLE = "pairs.table"


#: Inner r-RESPA steps per outer step for models with constrained bonds.
RESPA_INNER = 10


#: Period of a "constrained" bond's vibration in outer time steps. LAMMPS' SHAKE cannot hold a bead
#: that belongs to two bonded clusters, as TMBT's inner phenyls do, so constrained bonds are stiff
#: bonds integrated in an inner r-RESPA loop. Multiple time stepping resonates when the outer step
#: reaches half a fast period (at 1 fs inner and 10 fs outer steps, a 0.001 nm-wide bond has a
#: ~20 fs period and its energy ran at 10x equipartition); six outer steps per period stay clear.
CONSTRAINT_PERIOD_STEPS = 6.0


def constraint_sigma_nm(timestep_ps, temperature_K, reduced_mass_amu):
    r"""Width of a stiff bond whose period is :data:`CONSTRAINT_PERIOD_STEPS` outer steps.

    .. math:: \sigma = \sqrt{k_BT/k},\quad T_\mathrm{vib} = 2\pi\sqrt{\mu/k}
              \;\Rightarrow\; \sigma = \frac{T_\mathrm{vib}}{2\pi}\sqrt{k_BT/\mu}
    """
    from ..core.units import kT

    period = CONSTRAINT_PERIOD_STEPS * timestep_ps
    return period / (2 * np.pi) * np.sqrt(kT(temperature_K) / reduced_mass_amu)


def constrained_bonds(terms, params, top, timestep_ps, temperature_K):
    """Replace bond tables by stiff harmonic ones at the mean bond lengths (model A's constraints).

    Each bond type's width follows from :func:`constraint_sigma_nm` with the smallest reduced mass
    of its bead pairs (the fastest vibration).
    """
    from ..core.units import kT

    m = np.asarray(top.bead_masses)
    bonds = {}
    for name, table in terms.bonds.items():
        idx = top.indices("bonds", name)
        mu = float(np.min(m[idx[:, 0]] * m[idx[:, 1]] / (m[idx[:, 0]] + m[idx[:, 1]])))
        sigma = constraint_sigma_nm(timestep_ps, temperature_K, mu)
        k = kT(temperature_K) / sigma**2
        r0 = params["bonds"][name]["mean_nm"]
        r = np.linspace(r0 - 10 * sigma, r0 + 10 * sigma, 2001)
        bonds[name] = Table(r, 0.5 * k * (r - r0) ** 2, -k * (r - r0))
    terms.bonds = bonds
    terms.constrain_bonds = False
    return terms


def run_model(workdir, top, n_mol, x, box, potentials, terms, md, cutoff_nm, npt=None, respa_inner=1, threads=1):
    """One CG LAMMPS run (optionally NPT first); returns the trajectory as whole, wrapped molecules.

    Returns
    -------
    frames : cgbench.engines.trajectory.Frames
    info : dict
        ``wall_s``, ``ns_per_day``, ``density_g_cm3`` (of the production box), ``pressure_bar``.
    """
    work = Path(workdir)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    lammps.write_system(work / "system.data", top, n_mol, x, box, terms.kinds())
    lammps.write_bonded_tables(work, top, terms)
    keys = {name: name.replace("-", "_") for name in potentials}
    lammps.write_pair_table(work / PAIR_TABLE, {keys[n]: v for n, v in potentials.items()})
    pair_tables = {tuple(n.split("-")): (PAIR_TABLE, keys[n]) for n in potentials}
    r_first = min(v[0][0] for v in potentials.values())
    text = lammps.production_input(top, terms, md, pair_tables, cutoff_nm,
                                       table_n=int(round((cutoff_nm - r_first) / 0.0005)) + 1,
                                       npt=npt, respa_inner=respa_inner)
    (work / "in.lammps").write_text(text)
    t0 = time.perf_counter()
    lammps.run_lammps("in.lammps", work, threads=threads)
    wall = time.perf_counter() - t0
    dump = lammps.read_dump(work / "traj.dump")
    nb = len(top.bead_names)
    pos = wrap_molecules(dump.positions, dump.box, nb)
    dt_ps = md.timestep_ps
    time_ps = (np.asarray(dump.timesteps) - dump.timesteps[0]) * dt_ps
    frames = Frames(pos, np.asarray(dump.box), time_ps)
    mass = n_mol * float(np.sum(top.bead_masses))
    vol = float(np.prod(dump.box[-1]))
    p = np.loadtxt(work / "pressure.dat", skiprows=1)
    total_ps = (md.n_steps + md.n_equil_steps + (npt["steps"] if npt else 0)) * dt_ps
    info = {
        "wall_s": wall,
        "ns_per_day": total_ps / 1000.0 / (wall / 86400.0),
        "density_g_cm3": mass / vol * AMU_PER_NM3_TO_G_PER_CM3,
        "box_nm": dump.box[-1].tolist(),
        "pressure_bar": float(np.mean(lammps.atm_to_bar(p))),
        "frames": int(len(time_ps)),
    }
    return frames, info
