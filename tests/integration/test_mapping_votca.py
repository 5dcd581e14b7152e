"""Our CG mapping of a real GROMACS trajectory equals VOTCA csg_map's for the same frames."""

import shutil
import subprocess

import numpy as np
import pytest

from cgbench.stages.mapping import map_files
from cgbench.engines.trajectory import read_frames
from conftest import needs_gmx, tiny_aa_run

pytestmark = [
    pytest.mark.integration,
    needs_gmx,
    pytest.mark.skipif(shutil.which("csg_map") is None, reason="VOTCA (csg_map) is not installed"),
]
BINS = {"bond_bin_nm": 0.002, "bond_max_nm": 1.0, "angle_bin_deg": 1.0, "dihedral_bin_deg": 2.0,
        "rdf_bin_nm": 0.02, "cutoff_nm": 0.8}


@pytest.fixture(scope="module")
def aa_run(tmp_path_factory, tmbt_files):
    # dense enough that molecules straddle the box edges
    return tiny_aa_run(tmp_path_factory.mktemp("aa"), tmbt_files, n_molecules=6, pack_seed=2)


def test_mapping_equals_csg_map(aa_run, tmbt_files, tmp_path):
    out = {k: tmp_path / v for k, v in
           {"gro": "cg.gro", "trr": "cg.trr", "npz": "cg.npz", "distributions": "ref.csv"}.items()}
    map_files(aa_run / "nvt.tpr", aa_run / "nvt.trr", tmbt_files["topology"], tmbt_files["mapping"],
              tmbt_files["cg_topology"], 6, BINS, out)
    ours = np.load(out["npz"])
    votca_trr = tmp_path / "votca.trr"
    subprocess.run(["csg_map", "--top", str(aa_run / "nvt.tpr"), "--trj", str(aa_run / "nvt.trr"),
                    "--cg", str(tmbt_files["votca_mapping"]), "--out", str(votca_trr), "--force"],
                   cwd=tmp_path, check=True, capture_output=True)
    votca = read_frames(out["gro"], votca_trr)
    assert votca.positions.shape == ours["positions"].shape == (6, 6 * 7, 3)
    box = ours["box"][:, None, :]
    d = votca.positions - ours["positions"]
    d -= box * np.round(d / box)  # VOTCA does not wrap beads into the box
    assert np.abs(d).max() < 2e-5  # nm: single-precision trajectory
    # VOTCA maps forces to the net force on each bead: our forces_net
    np.testing.assert_allclose(votca.forces, ours["forces_net"], rtol=1e-4, atol=0.05)
    # and our own CG trajectory file holds the same
    ours_trr = read_frames(out["gro"], out["trr"])
    np.testing.assert_allclose(ours_trr.forces, ours["forces_net"], rtol=1e-5, atol=1e-3)
