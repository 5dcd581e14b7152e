"""Quality measures of backmapped frames."""

import numpy as np
import pytest

from cgbench.backmap.dbm.metrics import bonded_js, close_contacts, evaluate, rdf_difference
from dbm_testdata import synthetic_frames, tmbt_spec


@pytest.fixture(scope="module")
def data(tmbt):
    spec = tmbt_spec(tmbt)
    return spec, synthetic_frames(spec, n_frames=2, lattice=(2, 2, 2), spacing=2.2, seed=6)


def test_identical_frames_score_perfectly(data):
    spec, fr = data
    out = evaluate(fr.x, fr.box, fr.x, fr.box, fr.r, spec)
    assert out["js_bond_mean_nats"] == 0.0 and out["js_angle_mean_nats"] == 0.0
    assert out["rdf_cc_intermolecular_mean_abs_diff"] == 0.0 and out["reprojection_rmsd_nm"] < 1e-6
    assert out["close_contacts"] == out["close_contacts_reference"]


def test_distorted_frames_are_told_apart(data):
    spec, fr = data
    rng = np.random.default_rng(0)
    noisy = fr.x + rng.normal(0, 0.02, fr.x.shape).astype(np.float32)
    js = bonded_js(fr.x, fr.box, noisy, fr.box, spec)
    assert js["bond mean"] > 0.1 and js["angle mean"] > 0.05
    assert all(0 <= v <= np.log(2) + 1e-12 for v in js.values())
    # one molecule moved onto another: the C-C RDF changes and close contacts appear
    shifted = fr.x.copy()
    n = spec.n_atoms
    shifted[:, :n] = fr.x[:, n:2 * n] + 0.05
    diff, *_ = rdf_difference(fr.x, fr.box, shifted, fr.box, spec)
    assert diff > 0.01
    cc = close_contacts(shifted, fr.box, spec)
    assert cc["atom_fraction"] >= 2 * n / fr.x.shape[1] * 0.9
    assert close_contacts(fr.x, fr.box, spec)["pairs_per_atom"] == 0
