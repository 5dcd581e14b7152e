"""CG models as data: which bonded terms a model has, built from DBI results and rescale factors.

A model entry of the config (``cg_models``) names its bonded kinds (bonds: ``true``, ``false`` or
``"constrained"``; angles, proper, improper: booleans), time step and density. Every model
shares the IBI pair potentials.
"""

import numpy as np

from ..molecule.cgtopology import DISTRIBUTION, KINDS, MODEL_KEY
from ..bonded.terms import BondedTerms, HarmonicImproper, RyckaertBellemans, Table

#: Model keys -> the distribution kind each controls.
_KIND = {MODEL_KEY[k]: DISTRIBUTION[k] for k in KINDS}


def bonded_terms(tables, params, model, scales=None):
    """The bonded part of one CG model.

    Parameters
    ----------
    tables : pandas.DataFrame
        DBI tables (:func:`cgbench.bonded.dbi.invert_all`): ``kind``, ``name``, ``x``, ``U``, ``F``.
    params : dict
        DBI fit parameters (RB coefficients, improper ``xi0_deg`` and ``k``).
    model : dict
        One ``cg_models`` entry.
    scales : dict of (kind, name) -> float, optional
        Rescale factors (:mod:`cgbench.cg.rescale`); a factor multiplies the whole potential.

    Returns
    -------
    cgbench.bonded.terms.BondedTerms
    """
    scales = scales or {}

    def table(kind, name):
        t = tables[(tables["kind"] == kind) & (tables["name"] == name)]
        s = scales.get((kind, name), 1.0)
        return Table(t["x"].to_numpy(), s * t["U"].to_numpy(), s * t["F"].to_numpy())

    def names(kind):
        return list(dict.fromkeys(tables.loc[tables["kind"] == kind, "name"]))

    terms = BondedTerms()
    if model["bonds"]:
        terms.bonds = {n: table("bond", n) for n in names("bond")}
        terms.constrain_bonds = model["bonds"] == "constrained"
    if model["angles"]:
        terms.angles = {n: table("angle", n) for n in names("angle")}
    if model["proper"]:
        terms.propers = {
            n: RyckaertBellemans(tuple(scales.get(("proper", n), 1.0) * np.asarray(p["C"])))
            for n, p in params["propers"].items()
        }
    if model["improper"]:
        terms.impropers = {
            n: HarmonicImproper(p["xi0_deg"], scales.get(("improper", n), 1.0) * p["k"])
            for n, p in params["impropers"].items()
        }
    return terms


def kinds_of(model):
    """Distribution kinds a model controls (those its bonded potentials act on; constrained bonds
    are not potentials and are left out)."""
    out = []
    for key, kind in _KIND.items():
        if model[key] is True:
            out.append(kind)
    return tuple(out)
