"""Real LAMMPS run (0 steps) on tables and bonded parameters written by cgbench.engines.lammps.

A tiny system of 8 four-bead molecules (two bead types) carries every term the CG models use:
pair tables, a bond table, an angle table, an nharmonic dihedral converted from
Ryckaert-Bellemans, and a harmonic improper. Energies per term and forces per atom that LAMMPS
reports (read back through cgbench's readers, i.e. converted to GROMACS units) must match
the analytic GROMACS-unit functions the tables were made from, evaluated here with numpy.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from cgbench.geometry import distributions as dist
from cgbench.engines import lammps
from cgbench.bonded.boltzmann import harmonic_improper, ryckaert_bellemans

pytestmark = pytest.mark.integration

RC = 1.4  # nm, pair cut-off (at most half the box)
A_PAIR = {(1, 1): 40.0, (1, 2): 30.0, (2, 2): 20.0}  # kJ/mol
B0, KB = 0.40, 4000.0  # nm, kJ/mol/nm^2
TH0, KA = np.radians(115.0), 60.0  # rad, kJ/mol/rad^2
RB = np.array([2.0, 1.5, -3.0, 0.8, 1.2, 0.7])  # kJ/mol; C5 != 0 needs nharmonic
XI0, KI = 0.0, 2.0  # deg, kJ/mol/rad^2
BOX = np.array([3.0, 3.0, 3.0])  # nm


def _lmp():
    exe = Path(sys.executable).with_name("lmp")
    if exe.exists():
        return str(exe)
    found = shutil.which("lmp")
    if found is None:
        pytest.skip("no lmp executable")
    return found


def pair_u(r, a):
    return np.where(r < RC, a * (1.0 - r / RC) ** 3, 0.0)


def pair_f(r, a):
    return np.where(r < RC, 3.0 * a / RC * (1.0 - r / RC) ** 2, 0.0)


def _system():
    """8 molecules T-A-A-A on a 2x2x2 lattice, internal coordinates away from singular angles."""
    rng = np.random.default_rng(7)
    xs, types, mol = [], [], []
    centres = (np.stack(np.meshgrid(*[np.arange(2)] * 3, indexing="ij"), -1).reshape(-1, 3) + 0.5) * 1.5
    for m, c in enumerate(centres):
        b = rng.uniform(0.37, 0.43, 3)
        th = np.radians(rng.uniform(100, 130, 2))
        ph = np.radians(rng.uniform(50, 130)) * rng.choice([-1, 1])
        p0 = np.zeros(3)
        p1 = np.array([b[0], 0, 0])
        p2 = p1 + b[1] * np.array([-np.cos(th[0]), np.sin(th[0]), 0])
        # Place p3 from bond, angle and dihedral (natural extension reference frame).
        bc = (p2 - p1) / np.linalg.norm(p2 - p1)
        n = np.cross(p1 - p0, bc)
        n /= np.linalg.norm(n)
        d2 = b[2] * np.array([-np.cos(th[1]), np.sin(th[1]) * np.cos(ph), np.sin(th[1]) * np.sin(ph)])
        p3 = p2 + np.column_stack([bc, np.cross(n, bc), n]) @ d2
        chain = np.array([p0, p1, p2, p3])
        chain = Rotation.random(random_state=rng.integers(1 << 31)).apply(chain - chain.mean(0)) + c
        xs.append(chain)
        types += [1, 2, 2, 2]
        mol += [m + 1] * 4
    x = np.concatenate(xs) - 0.2  # some atoms sit outside [0, L): exercises wrapping and image flags
    base = 4 * np.arange(8)[:, None]
    bonds = np.concatenate([base + np.array([0, 1]), base + np.array([1, 2]), base + np.array([2, 3])])
    angles = np.concatenate([base + np.array([0, 1, 2]), base + np.array([1, 2, 3])])
    dihedrals = base + np.array([0, 1, 2, 3])
    impropers = base + np.array([1, 0, 2, 3])
    return x, np.array(types), np.array(mol), bonds, angles, dihedrals, impropers


def _energies(x, types, bonds, angles, dihedrals, impropers):
    """Per-term energies in kJ/mol from the analytic GROMACS-unit functions."""
    X = x[None]
    box = BOX[None]
    excl = dist.bonded_exclusions(bonds, angles, dihedrals, impropers)
    i, j = np.triu_indices(x.shape[0], k=1)
    keep = ~np.isin(i * x.shape[0] + j, excl[:, 0] * x.shape[0] + excl[:, 1])
    i, j = i[keep], j[keep]
    r = dist.bond_lengths(X, box, np.stack([i, j], 1))[0]
    ti, tj = np.minimum(types[i], types[j]), np.maximum(types[i], types[j])
    a = np.select([(ti == 1) & (tj == 1), (ti == 1) & (tj == 2)], [A_PAIR[1, 1], A_PAIR[1, 2]], A_PAIR[2, 2])
    return {
        "pair": pair_u(r, a).sum(),
        "bond": (0.5 * KB * (dist.bond_lengths(X, box, bonds)[0] - B0) ** 2).sum(),
        "angle": (0.5 * KA * (dist.angles(X, box, angles)[0] - TH0) ** 2).sum(),
        "dihedral": ryckaert_bellemans(dist.dihedrals(X, box, dihedrals)[0], RB).sum(),
        "improper": harmonic_improper(dist.dihedrals(X, box, impropers)[0], XI0, KI).sum(),
    }


def _forces(x, *topology, h=1e-6):
    """-dE/dx by central differences, kJ/mol/nm, shape (n_atoms, 3)."""
    f = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[k] += h
        xm[k] -= h
        f[k] = -(sum(_energies(xp, *topology).values()) - sum(_energies(xm, *topology).values())) / (2 * h)
    return f


def _write_inputs(tmp, x, types, mol, bonds, angles, dihedrals, impropers):
    r = np.linspace(0.05, RC, 2000)
    lammps.write_pair_table(
        tmp / "pair.table",
        {f"P{a}{b}": (r, pair_u(r, A), pair_f(r, A)) for (a, b), A in A_PAIR.items()},
    )
    rb = np.linspace(0.2, 0.7, 1001)
    lammps.write_bond_table(tmp / "bond.table", {"TA": (rb, 0.5 * KB * (rb - B0) ** 2, -KB * (rb - B0))})
    th = np.linspace(0.0, np.pi, 1801)
    lammps.write_angle_table(tmp / "angle.table", {"TAA": (th, 0.5 * KA * (th - TH0) ** 2, -KA * (th - TH0))})
    lammps.write_data_file(
        tmp / "system.data",
        x,
        BOX,
        types,
        masses=[100.0, 80.0],
        molecule_ids=mol,
        bonds=(np.ones(len(bonds), int), bonds),
        angles=(np.ones(len(angles), int), angles),
        dihedrals=(np.ones(len(dihedrals), int), dihedrals),
        impropers=(np.ones(len(impropers), int), impropers),
    )
    A = lammps.rb_to_nharmonic(RB)
    K, chi = lammps.improper_harmonic_to_lammps(XI0, KI)
    cut = lammps.nm_to_angstrom(RC)
    (tmp / "in.lmp").write_text(f"""
units real
atom_style molecular
boundary p p p
bond_style table linear 2000
angle_style table linear 1801
dihedral_style nharmonic
improper_style harmonic
pair_style table linear 4000
special_bonds lj 0.0 0.0 0.0
read_data system.data
pair_coeff 1 1 pair.table P11 {cut}
pair_coeff 1 2 pair.table P12 {cut}
pair_coeff 2 2 pair.table P22 {cut}
bond_coeff 1 bond.table TA
angle_coeff 1 angle.table TAA
dihedral_coeff 1 6 {' '.join(f'{a:.12g}' for a in A)}
improper_coeff 1 {K:.12g} {chi:.12g}
comm_modify cutoff 16.0
thermo_style custom step pe evdwl ebond eangle edihed eimp
dump d all custom 1 dump.lammpstrj id type mol x y z fx fy fz
dump_modify d format float %.12g sort id
run 0
print "$(evdwl:%.14g) $(ebond:%.14g) $(eangle:%.14g) $(edihed:%.14g) $(eimp:%.14g)" file energies.txt
""")


def test_lammps_reproduces_gromacs_unit_tables(tmp_path):
    x, types, mol, bonds, angles, dihedrals, impropers = _system()
    topology = (types, bonds, angles, dihedrals, impropers)
    # The reference is only meaningful away from LAMMPS' clamps at sin(angle) ~ 0.
    X = x[None]
    for idx in (dihedrals, impropers):
        d = np.degrees(np.abs(dist.dihedrals(X, BOX[None], idx)))
        assert np.all((d > 10) & (d < 170))
    _write_inputs(tmp_path, x, types, mol, bonds, angles, dihedrals, impropers)
    proc = subprocess.run(
        [_lmp(), "-in", "in.lmp", "-log", "log.lammps", "-screen", "none", "-nocite"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = (
        (tmp_path / "log.lammps").read_text()
        if (tmp_path / "log.lammps").exists()
        else proc.stdout + proc.stderr
    )
    assert proc.returncode == 0, log[-3000:]
    # Any warning but the expected one for a run without integrator (e.g. "force values in table
    # are inconsistent with -dE/dr") means a table was written wrong.
    warnings = [ln for ln in log.splitlines() if ln.startswith("WARNING") and "time integration" not in ln]
    assert not warnings, warnings

    ref = _energies(x, *topology)
    got = dict(zip(ref, lammps.kcal_to_kj(np.loadtxt(tmp_path / "energies.txt"))))
    for term in ref:
        assert abs(ref[term]) > 1.0, f"{term} term too small to test"
        assert got[term] == pytest.approx(ref[term], rel=1e-3), term

    dump = lammps.read_dump(tmp_path / "dump.lammpstrj")
    assert dump.positions.shape == (1, 32, 3)
    np.testing.assert_array_equal(dump.molecule_ids, mol)
    np.testing.assert_allclose(dump.box[0], BOX, rtol=1e-12)
    # Same positions up to a lattice vector: the data file wraps atoms into the box.
    shift = (dump.positions[0] - x) / BOX
    np.testing.assert_allclose(shift, np.round(shift), atol=1e-8)

    f_ref = _forces(x, *topology)
    err = np.abs(dump.forces[0] - f_ref).max()
    assert err <= 1e-3 * np.abs(f_ref).max(), (err, np.abs(f_ref).max())
    # Net force vanishes for pairwise and bonded terms; checks no term was dropped one-sidedly.
    np.testing.assert_allclose(dump.forces[0].sum(0), 0.0, atol=1e-6 * np.abs(f_ref).max())
