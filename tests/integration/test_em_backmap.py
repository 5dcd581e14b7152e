"""EM backmapping with real GROMACS on a tiny TMBT box: files, atom order, energies, restraints."""

import json

import numpy as np
import pandas as pd
import pytest

from cgbench.molecule.cgtopology import CGTopology
from cgbench.backmap.em.backmap import COLUMNS
from cgbench.stages.backmap import backmap_files
from cgbench.backmap.em.fragments import FragmentLibrary
from cgbench.core.errors import EngineError
from cgbench.molecule.mapping import Mapping, map_positions
from cgbench.mapping.reference import map_trajectory
from cgbench.geometry.pbc import make_whole, wrap
from cgbench.molecule.topology import Topology
from cgbench.engines.trajectory import Frames, read_frames, write_frames
from conftest import needs_gmx, tiny_aa_run

pytestmark = [pytest.mark.integration, needs_gmx]

N_MOL = 4
CUTOFF = 0.6
SETTINGS = {"cutoff_nm": CUTOFF, "fourier_spacing_nm": 0.12, "ewald_rtol": 1e-5, "threads": 2}


@pytest.fixture(scope="module")
def aa_run(tmp_path_factory, tmbt_files):
    """A 4-molecule NVT run with full-precision frames every 10 fs (6 frames)."""
    return tiny_aa_run(tmp_path_factory.mktemp("em_aa"), tmbt_files, n_molecules=N_MOL, cutoff_nm=CUTOFF)


def write_cg(aa_run, tmbt_files, path, frames=slice(None), squeeze=1.0):
    """Map AA frames to a CG trajectory file as the mapping stage does.

    ``squeeze`` < 1 moves the molecules' centres towards the origin, each molecule rigidly, so
    that molecules overlap while each keeps its own bead geometry.
    """
    top = Topology.load_npz(tmbt_files["topology"])
    mp = Mapping.from_dict(json.loads(tmbt_files["mapping"].read_text()))
    cg, _ = map_trajectory(read_frames(aa_run / "nvt.tpr", aa_run / "nvt.trr"), top, mp, N_MOL)
    box = cg.box[frames]
    bead_bonds = CGTopology.from_dict(json.loads(tmbt_files["cg_topology"].read_text())).indices("bonds")
    r = make_whole(cg.positions[frames], box, bead_bonds, mp.n_beads).reshape(len(box), N_MOL, mp.n_beads, 3)
    centre = r.mean(axis=2, keepdims=True)
    r = wrap((r + (squeeze - 1.0) * centre).reshape(len(box), -1, 3), box)
    cg = Frames(r, box, cg.time[frames])
    n = mp.n_beads * N_MOL
    write_frames(path.with_suffix(".gro"), path.with_suffix(".trr"), cg, mp.bead_names * N_MOL, [top.resname] * n,
                 np.repeat(np.arange(1, N_MOL + 1), mp.n_beads))
    return cg


def run(aa_run, tmbt_files, cg_path, out_dir, **settings):
    out = {"gro": out_dir / "bm.gro", "trajectory": out_dir / "bm.trr", "csv": out_dir / "bm.csv",
           "fragments": out_dir / "fragments.npz"}
    table = backmap_files(cg_path.with_suffix(".gro"), cg_path.with_suffix(".trr"), tmbt_files["topology"],
                          tmbt_files["mapping"], tmbt_files["cg_topology"], tmbt_files["itp"], aa_run / "nvt.tpr",
                          aa_run / "nvt.trr", {**SETTINGS, **settings}, out, out_dir / "work", out_dir / "em.log")
    return table, out


def test_backmapped_trajectory_is_minimised_and_in_topology_order(aa_run, tmbt_files, tmp_path):
    import MDAnalysis as mda

    cg = write_cg(aa_run, tmbt_files, tmp_path / "cg", frames=slice(1, None, 2))
    table, out = run(aa_run, tmbt_files, tmp_path / "cg", tmp_path)
    top = Topology.load_npz(tmbt_files["topology"])
    u = mda.Universe(str(out["gro"]), str(out["trajectory"]))
    assert u.atoms.n_atoms == N_MOL * top.n_atoms and len(u.trajectory) == 3
    assert list(u.atoms.names) == list(top.atom_names) * N_MOL
    np.testing.assert_array_equal(u.atoms.resids, np.repeat(np.arange(1, N_MOL + 1), top.n_atoms))
    x = np.stack([ts.positions.copy() / 10.0 for ts in u.trajectory])  # Angstrom -> nm
    np.testing.assert_allclose([ts.time for ts in u.trajectory], cg.time, atol=1e-4)
    # molecules come out whole, with sane bond lengths (C-H 0.109 nm ... inter-ring 0.148 nm)
    xm = x.reshape(3, N_MOL, top.n_atoms, 3)
    bond = np.linalg.norm(xm[:, :, top.bonds[:, 0]] - xm[:, :, top.bonds[:, 1]], axis=-1)
    assert 0.09 < bond.min() and bond.max() < 0.17
    # the table: one row per frame, energies lower after minimisation, re-projection RMSD reported
    csv = pd.read_csv(out["csv"])
    assert tuple(csv.columns) == COLUMNS and len(csv) == 3
    assert np.all(csv["energy_final_kJ_mol"] < csv["energy_initial_kJ_mol"])
    assert np.all(csv["steps"] > 0) and csv["converged"].all()
    assert np.all(csv["max_force_kJ_mol_nm"] < SETTINGS.get("emtol", 100.0))
    assert np.all((csv["rmsd_nm"] > 0) & (csv["rmsd_nm"] < 0.05))
    # and the RMSD in the table is that of the written (single-precision .trr) structures
    mp = Mapping.from_dict(json.loads(tmbt_files["mapping"].read_text()))
    d = map_positions(x, mp.com_weights()) - cg.positions
    d -= cg.box[:, None] * np.round(d / cg.box[:, None])
    np.testing.assert_allclose(np.sqrt((d**2).sum(-1).mean(-1)), csv["rmsd_nm"], atol=1e-5)
    # fragments come from the reference part of the AA run only (the first 80 % of its 6 frames)
    assert FragmentLibrary.load_npz(out["fragments"]).source[:, 0].max() <= 3


def test_com_restraints_keep_beads_near_the_cg_input(aa_run, tmbt_files, tmp_path):
    # overlapping molecules: minimisation pushes them apart, moving their beads, unless restrained
    write_cg(aa_run, tmbt_files, tmp_path / "cg", frames=slice(5, 6), squeeze=0.8)
    (tmp_path / "free").mkdir()
    (tmp_path / "held").mkdir()
    free, _ = run(aa_run, tmbt_files, tmp_path / "cg", tmp_path / "free")
    held, _ = run(aa_run, tmbt_files, tmp_path / "cg", tmp_path / "held", com_restraints=True, com_restraint_k=1e6)
    assert free["rmsd_nm"][0] > 0.02
    assert held["rmsd_nm"][0] < 0.2 * free["rmsd_nm"][0]
    assert held["energy_final_kJ_mol"][0] < held["energy_initial_kJ_mol"][0]
    assert "pull-coord28-origin" in (tmp_path / "held" / "work" / "frame.mdp").read_text()


def test_step_limit_and_engine_errors_are_reported(aa_run, tmbt_files, tmp_path):
    write_cg(aa_run, tmbt_files, tmp_path / "cg", frames=slice(0, 1))
    table, _ = run(aa_run, tmbt_files, tmp_path / "cg", tmp_path, nsteps=3, emtol=1.0)
    assert not table["converged"][0] and table["steps"][0] <= 4
    with pytest.raises(EngineError) as err:
        run(aa_run, tmbt_files, tmp_path / "cg", tmp_path, forcefield="no_such.ff")
    msg = str(err.value)
    assert "gmx grompp" in msg and f"working directory: {tmp_path / 'work'}" in msg and "no_such.ff" in msg


def test_a_rerun_takes_the_frames_it_finished(aa_run, tmbt_files, tmp_path, caplog):
    write_cg(aa_run, tmbt_files, tmp_path / "cg", frames=slice(1, None, 2))
    # one thread: mdrun on two sums forces in an order that varies from run to run, so a frame
    # minimised again could end a few kJ/mol away; on one it is the same to the bit
    _, out = run(aa_run, tmbt_files, tmp_path / "cg", tmp_path, threads=1)
    first = pd.read_csv(out["csv"])
    done = tmp_path / "work" / "done"
    assert sorted(p.name for p in done.iterdir()) == [f"frame_{f:05d}.npz" for f in range(3)]
    (done / "frame_00001.npz").unlink()  # as if the job had stopped during frame 1
    with caplog.at_level("INFO", logger="cgbench"):
        again, _ = run(aa_run, tmbt_files, tmp_path / "cg", tmp_path, threads=1)
    taken = [r.getMessage() for r in caplog.records if "taken from" in r.getMessage()]
    assert [m.split(":")[0] for m in taken] == ["frame 0", "frame 2"]
    pd.testing.assert_frame_equal(again.drop(columns="rmsd_nm"), first.drop(columns="rmsd_nm"), check_dtype=False)
    # other settings: every frame is minimised again
    caplog.clear()
    with caplog.at_level("INFO", logger="cgbench"):
        run(aa_run, tmbt_files, tmp_path / "cg", tmp_path, threads=1, nsteps=SETTINGS.get("nsteps", 5000) + 1)
    assert not [r for r in caplog.records if "taken from" in r.getMessage()]
