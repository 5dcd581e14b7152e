"""LAMMPS CG forces of given frames (cgbench.engines.lammps.forces) against a numpy evaluation.

A tiny box of 8 TMBT CG molecules in two frames (different boxes), with analytic pair potentials
written as pair tables, harmonic bond and angle tables, a Ryckaert-Bellemans proper and a harmonic
improper. The forces LAMMPS returns for every frame must equal -dE/dx of the same model evaluated
here with numpy, for the three kinds of model the study has (A: constrained bonds, B: all terms,
C: bonds and angles only), which also checks the exclusions each kind implies.
"""

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from cgbench.geometry import distributions as dist
from cgbench.engines import lammps
from cgbench.bonded.boltzmann import harmonic_improper, ryckaert_bellemans
from cgbench.engines.lammps import cg_forces
from cgbench.bonded.terms import BondedTerms, HarmonicImproper, RyckaertBellemans, Table
from cgbench.engines.lammps import lattice_configuration
from cgbench.molecule.mapping import map_positions
from cgbench.mapping.reference import system_indices

pytestmark = pytest.mark.integration

RC = 1.2  # nm
A_PAIR = {("T", "T"): 30.0, ("T", "A"): 20.0, ("A", "A"): 25.0}  # kJ/mol
BOND = {"T-A": (0.43, 3000.0), "A-A": (0.42, 4000.0)}  # nm, kJ/mol/nm^2
ANGLE = {"A-T-A": (np.radians(120.0), 80.0), "T-A-A": (np.radians(115.0), 50.0)}  # rad, kJ/mol/rad^2
RB = (1.0, -2.0, 1.5, 0.5, -0.3, 0.0)  # kJ/mol
IMPROPER = (0.0, 15.0)  # deg, kJ/mol/rad^2
N_MOL = 8


def _lmp():
    exe = Path(sys.executable).with_name("lmp")
    if not exe.exists() and shutil.which("lmp") is None:
        pytest.skip("no lmp executable")
    return str(exe) if exe.exists() else shutil.which("lmp")


def pair_u(r, a):
    return np.where(r < RC, a * (1.0 - r / RC) ** 3, 0.0)


def pair_f(r, a):
    return np.where(r < RC, 3.0 * a / RC * (1.0 - r / RC) ** 2, 0.0)


def model(kind):
    r = np.linspace(0.05, 1.5, 1451)
    th = np.linspace(0.0, np.pi, 1801)
    bonds = {t: Table(r, 0.5 * k * (r - b0) ** 2, -k * (r - b0)) for t, (b0, k) in BOND.items()}
    angles = {t: Table(th, 0.5 * k * (th - t0) ** 2, -k * (th - t0)) for t, (t0, k) in ANGLE.items()}
    if kind == "C":
        return BondedTerms(bonds, angles)
    return BondedTerms(bonds, angles, {"A-T-A-A": RyckaertBellemans(RB)},
                       {"T-A-A-A": HarmonicImproper(*IMPROPER)}, constrain_bonds=(kind == "A"))


@pytest.fixture(scope="module")
def system(tmbt, tmp_path_factory):
    """Two frames of 8 TMBT CG molecules, with dihedrals away from LAMMPS' sin(phi) ~ 0 clamps."""
    mol = map_positions(tmbt.molecule.positions[None], tmbt.mapping.com_weights())[0]
    # TMBT is planar (every dihedral near 0 or 180 degrees, where LAMMPS clamps sin(phi)): move
    # the beads out of the molecular plane by fixed amounts (nm) chosen to make every dihedral
    # of the molecule at least 25 degrees from planar
    normal = np.linalg.svd(mol - mol.mean(axis=0))[2][2]
    mol = mol + np.outer([0.16, -0.02, -0.13, -0.08, -0.10, 0.01, -0.10], normal)
    box0 = np.array([4.2, 4.2, 4.2])
    rng = np.random.default_rng(0)
    x0 = lattice_configuration(mol, N_MOL, box0, seed=3) + rng.normal(0.0, 0.02, (N_MOL * 7, 3))
    scale = np.array([1.03, 0.98, 1.01])
    x1 = x0 * scale + rng.normal(0.0, 0.01, x0.shape)
    x = np.stack([x0, x1])
    box = np.stack([box0, box0 * scale])
    for kind in ("propers", "impropers"):
        idx = system_indices(tmbt.cg.indices(kind), N_MOL, 7)
        phi = dist.dihedrals(x, box, idx)
        assert np.abs(np.sin(phi)).min() > 0.1, kind
    tables = tmp_path_factory.mktemp("tables") / "pair.table"
    rt = np.linspace(0.02, RC, 2400)
    lammps.write_pair_table(tables, {f"{a}_{b}": (rt, pair_u(rt, v), pair_f(rt, v)) for (a, b), v in A_PAIR.items()})
    pair_tables = {(a, b): (tables, f"{a}_{b}") for a, b in A_PAIR}
    return x, box, pair_tables


def energy(x, box, cg, kind):
    """Total energy of one frame (n, 3) in kJ/mol, numpy, GROMACS units."""
    X, B = x[None], box[None]
    idx = {k: system_indices(cg.indices(k), N_MOL, 7) for k in ("bonds", "angles", "propers", "impropers")}
    present = ("bonds", "angles") if kind == "C" else ("bonds", "angles", "propers", "impropers")
    excl = dist.bonded_exclusions(*(idx[k] for k in present))
    n = x.shape[0]
    i, j = np.triu_indices(n, k=1)
    keep = ~np.isin(i * n + j, excl[:, 0] * n + excl[:, 1])
    i, j = i[keep], j[keep]
    is_t = np.tile(np.asarray(cg.bead_types) == "T", N_MOL)
    n_t = is_t[i].astype(int) + is_t[j]
    a = np.choose(n_t, [A_PAIR[("A", "A")], A_PAIR[("T", "A")], A_PAIR[("T", "T")]])
    e = pair_u(dist.bond_lengths(X, B, np.stack([i, j], 1))[0], a).sum()
    if kind != "A":
        for t, (b0, k) in BOND.items():
            e += (0.5 * k * (dist.bond_lengths(X, B, system_indices(cg.indices("bonds", t), N_MOL, 7))[0] - b0) ** 2).sum()
    for t, (t0, k) in ANGLE.items():
        e += (0.5 * k * (dist.angles(X, B, system_indices(cg.indices("angles", t), N_MOL, 7))[0] - t0) ** 2).sum()
    if kind != "C":
        e += ryckaert_bellemans(dist.dihedrals(X, B, idx["propers"])[0], np.asarray(RB)).sum()
        e += harmonic_improper(dist.dihedrals(X, B, idx["impropers"])[0], *IMPROPER).sum()
    return e


def numeric_forces(x, box, cg, kind, h=1e-6):
    """-dE/dx by central differences, kJ/mol/nm."""
    f = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[k] += h
        xm[k] -= h
        f[k] = -(energy(xp, box, cg, kind) - energy(xm, box, cg, kind)) / (2 * h)
    return f


@pytest.mark.parametrize("kind", ["A", "B", "C"])
def test_lammps_forces_match_numpy(system, tmbt, tmp_path, kind):
    x, box, pair_tables = system
    got = cg_forces(x, box, tmbt.cg, model(kind), pair_tables, RC, 3000, tmp_path, command=_lmp())
    assert got.shape == x.shape
    for f in range(2):
        ref = numeric_forces(x[f], box[f], tmbt.cg, kind)
        scale = np.abs(ref).max()
        assert scale > 10.0  # the model exerts real forces on this configuration
        err = np.abs(got[f] - ref).max()
        # linear interpolation of fine tables; a wrong exclusion or term is off by ~0.1 * scale
        assert err <= 1e-4 * scale, (kind, f, err, scale)
        # pair and bonded forces are internal: they sum to zero over the box
        np.testing.assert_allclose(got[f].sum(axis=0), 0.0, atol=1e-6 * scale * len(x[f]))
    # the two frames have different boxes and positions: LAMMPS really read each one
    assert np.abs(got[0] - got[1]).max() > 0.1 * np.abs(got).max()
