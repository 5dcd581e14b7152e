"""The ``cgbench backmap`` command, run as a user runs it (in-process, with real files)."""

import numpy as np
import pytest
import torch

from cgbench import cli
from cgbench.backmap.dbm import shipped
from cgbench.mapping.projection import reprojection_rmsd
from cgbench.backmap.dbm.io import read_trajectory, write_trajectory
from cgbench.backmap.dbm.module import DBM
from conftest import write_spec
from dbm_testdata import one_torch_thread, synthetic_frames, tmbt_spec


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from one_torch_thread()


@pytest.fixture(scope="module")
def files(tmbt, tmp_path_factory):
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("cli")
    spec = tmbt_spec(tmbt)
    model = DBM(spec.to_dict(), n_filters=8, z_dim=8)
    shipped.export(model, d / "model.pt")
    fr = synthetic_frames(spec, n_frames=3, seed=4)
    write_trajectory(d / "cg.gro", d / "cg.xtc", fr.r, fr.box, [f"B{i}" for i in range(spec.n_beads)], "CG")
    return d, spec, fr


def test_backmap_command_writes_every_frame_in_topology_order(files, tmbt_files, capsys):
    d, spec, fr = files
    rc = cli.main(["backmap", "--model", str(d / "model.pt"), "--top", str(tmbt_files["topology"].parent),
                   str(d / "cg.gro"), str(d / "cg.xtc"), "-o", str(d / "aa.gro"), str(d / "aa.xtc"),
                   "--n-gibbs", "1", "--candidates", "2", "--project", "--chunk", "2"])
    assert rc == 0
    x, box = read_trajectory(d / "aa.gro", d / "aa.xtc")
    assert x.shape == (3, fr.r.shape[1] // spec.n_beads * spec.n_atoms, 3)
    assert np.allclose(box, fr.box, atol=1e-3)
    # projected: the backmap maps back onto its CG input, to the xtc's 0.001 nm precision
    assert reprojection_rmsd(x, fr.r, fr.box, spec.com_weights(), spec.bonds) < 2e-3
    assert "frame" in capsys.readouterr().err  # the progress bar counts frames


def test_backmap_command_refuses_a_model_of_another_molecule(files, tmp_path, capsys):
    d, _, _ = files
    other = write_spec(tmp_path, "c1ccc(cc1)-c1ccccc1", [{"type": "A", "ring": {"size": 6, "elements": ["C"]}}],
                       name="BIPH")
    rc = cli.main(["backmap", "--model", str(d / "model.pt"), "--top", str(other), str(d / "cg.gro"),
                   "-o", str(tmp_path / "aa.gro"), "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and "trained for another molecule" in err and "elements" in err
    assert not (tmp_path / "aa.gro").exists()


def test_backmap_command_refuses_beads_that_are_not_whole_molecules(files, tmp_path, capsys):
    d, spec, fr = files
    write_trajectory(tmp_path / "cut.gro", tmp_path / "cut.xtc", fr.r[:, :-1], fr.box,
                     [f"B{i}" for i in range(fr.r.shape[1] - 1)], "CG")
    rc = cli.main(["backmap", "--model", str(d / "model.pt"), str(tmp_path / "cut.gro"), "-o",
                   str(tmp_path / "aa.gro"), "-q"])
    assert rc == 2 and "not whole molecules" in capsys.readouterr().err
