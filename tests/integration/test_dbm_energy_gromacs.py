"""DBM's PyTorch energy equals a GROMACS single point (``mdrun -rerun``) term by term.

Two TMBT molecules (the RDKit conformation, jittered so that no bonded term sits at its minimum,
and a rotated copy stacked 0.7 nm above it: closest atoms about 0.4 nm apart) in a 5 nm box.
The pair terms use settings both codes evaluate identically: a plain Lennard-Jones cut-off
(``vdw-modifier = None``: no potential shift), no dispersion correction, and reaction-field
Coulomb with epsilon_rf = infinity (``epsilon-rf = 0``), whose excluded-pair and self terms the
PyTorch code reproduces. Positions are read back from the ``.gro`` both codes see.
"""

import shutil

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from cgbench.backmap.dbm.energy import ForceField
from cgbench.backmap.dbm.io import read_trajectory
from cgbench.engines.gromacs import Gromacs, read_edr, write_gro
from conftest import needs_gmx
from dbm_testdata import one_torch_thread, tmbt_spec


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from one_torch_thread()


pytestmark = [pytest.mark.integration, needs_gmx]

MDP = """integrator     = md
nsteps         = 0
cutoff-scheme  = Verlet
pbc            = xyz
coulombtype    = Reaction-field
epsilon-rf     = 0
rcoulomb       = 1.2
vdwtype        = Cut-off
vdw-modifier   = None
rvdw           = 1.2
rlist          = 1.2
DispCorr       = no
nstcalcenergy  = 1
nstenergy      = 1
"""


def test_energy_terms_match_gromacs_rerun(tmp_path, tmbt, tmbt_files):
    spec = tmbt_spec(tmbt)
    rng = np.random.default_rng(0)
    x0 = spec.template + rng.normal(0, 0.005, spec.template.shape)
    c = x0 - x0.mean(0)
    normal = np.linalg.eigh(c.T @ c)[1][:, 0]  # the molecule's flattest direction
    x1 = Rotation.from_rotvec(0.5 * normal).apply(c) + 0.7 * normal
    box = np.array([5.0, 5.0, 5.0])
    x = np.concatenate([c, x1]) + box / 2
    write_gro(tmp_path / "conf.gro", x, spec.atom_names, spec.resname, box)
    shutil.copyfile(tmbt_files["itp"], tmp_path / "molecule.itp")
    top = tmbt_files["top"].read_text().replace(f"{spec.name}  1", f"{spec.name}  2")
    assert f"{spec.name}  2" in top
    (tmp_path / "system.top").write_text(top)
    (tmp_path / "rerun.mdp").write_text(MDP)
    gmx, log = Gromacs(), tmp_path / "gmx.log"
    gmx.grompp(tmp_path / "rerun.mdp", tmp_path / "conf.gro", tmp_path / "system.top", "rerun.tpr", tmp_path, log)
    gmx.mdrun("rerun.tpr", "rerun", tmp_path, log, threads=1, rerun="conf.gro")
    ref = {k: float(v[0]) for k, v in read_edr(tmp_path / "rerun.edr").items()}

    pos, _ = read_trajectory(tmp_path / "conf.gro")
    ff = ForceField(spec, cutoff=1.2, r_min=0.0, coulomb=True).double()
    ours = {k: float(v) for k, v in ff.system(torch.as_tensor(pos[0], dtype=torch.float64).reshape(2, -1, 3),
                                              torch.as_tensor(box)).items()}
    # GROMACS files periodic (type 1) dihedrals, our impropers, under "Proper Dih."
    pairs = {"Bond": "Bond", "Angle": "Angle", "Ryckaert-Bell.": "Ryckaert-Bell.", "Improper": "Proper Dih.",
             "LJ-14": "LJ-14", "LJ (SR)": "LJ (SR)", "Coulomb-14": "Coulomb-14", "Coulomb (SR)": "Coulomb (SR)"}
    assert "Improper Dih." not in ref
    for mine, theirs in pairs.items():
        assert abs(ref[theirs]) > 1.0, theirs  # every term is exercised
        assert ours[mine] == pytest.approx(ref[theirs], rel=1e-3), mine
