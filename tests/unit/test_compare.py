"""Figure 2 distances: JS of identical, shifted and disjoint distributions."""

import numpy as np
import pandas as pd
import pytest

from cgbench.cg.compare import as_probabilities, distances, figure2, figure2_panels


def table(kind, name, x, y):
    return pd.DataFrame({"kind": kind, "name": name, "x": x, "y": y})


def gauss(x, mu, s):
    return np.exp(-0.5 * ((x - mu) / s) ** 2)


def test_distances(tmp_path):
    x = np.linspace(0, 1, 201)
    r = np.linspace(0.005, 1.3, 130)
    ref = pd.concat([table("bond", "T-A", x, gauss(x, 0.43, 0.01)), table("rdf", "T-T", r, 1 + gauss(r, 0.6, 0.1))])
    same = ref.copy()
    shifted = pd.concat([table("bond", "T-A", x, gauss(x, 0.45, 0.01)), table("rdf", "T-T", r, 1 + gauss(r, 0.7, 0.1))])
    far = pd.concat([table("bond", "T-A", x, gauss(x, 0.8, 0.01)), table("rdf", "T-T", r, 1 + gauss(r, 0.6, 0.1))])
    d = distances(ref, {"same": same, "shifted": shifted, "far": far}).set_index(["model", "kind", "name"])["js"]
    assert d["same", "bond", "T-A"] == pytest.approx(0, abs=1e-12)
    assert 0.05 < d["shifted", "bond", "T-A"] < np.log(2)
    assert d["far", "bond", "T-A"] == pytest.approx(np.log(2), rel=1e-6)
    assert 0 < d["shifted", "rdf", "T-T"] < d["shifted", "bond", "T-A"]
    figure2(ref, {"shifted": shifted}, tmp_path / "f.png", panels=[("bond", "T-A"), ("rdf", "T-T")])
    assert (tmp_path / "f.png").stat().st_size > 5000


def test_bins_must_match():
    x = np.linspace(0, 1, 11)
    ref = table("bond", "T-A", x, np.ones(11))
    with pytest.raises(ValueError, match="not on the reference bins"):
        distances(ref, {"m": table("bond", "T-A", x + 0.01, np.ones(11))})


def test_rdf_probabilities_weight_r_squared():
    r = np.array([1.0, 2.0])
    np.testing.assert_allclose(as_probabilities("rdf", r, [1.0, 1.0]), [0.2, 0.8])


def test_figure2_panels_follow_the_study_order_and_the_molecule():
    x = np.linspace(0, 1, 5)
    names = [("rdf", "T-T"), ("proper", "A-T-A-A"), ("bond", "T-A"), ("angle", "A-T-A"), ("rdf", "A-A"),
             ("improper", "T-A-A-A"), ("bond", "A-A")]
    ref = pd.concat([table(k, n, x, np.ones(5)) for k, n in names])
    assert figure2_panels(ref) == [("bond", "T-A"), ("bond", "A-A"), ("angle", "A-T-A"), ("improper", "T-A-A-A"),
                                   ("proper", "A-T-A-A"), ("rdf", "T-T"), ("rdf", "A-A")]
    # a molecule without proper dihedrals has no proper panel
    tpb = pd.concat([table(k, n, x, np.ones(5)) for k, n in [("bond", "B-P"), ("rdf", "B-B")]])
    assert figure2_panels(tpb) == [("bond", "B-P"), ("rdf", "B-B")]
