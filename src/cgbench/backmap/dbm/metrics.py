"""Quality of backmapped frames against reference AA frames (the issue's closing-note numbers).

All functions take whole-molecule positions (F, n_molecules * n_atoms, 3) in nm and boxes (F, 3)
in nm, and compare distributions on fixed bins so that numbers are comparable between runs.
"""

import numpy as np

from ...core.units import KB_KJ_MOL_K
from ...geometry import distributions as dist, rdf
from ...geometry.clashes import lj_clash_atoms, pair_rules
from ...mapping.projection import reprojection_rmsd

#: Fixed histogram ranges and bin counts: bonds in nm, angles in radians.
BOND_BINS = (0.05, 0.25, 200)
ANGLE_BINS = (0.0, np.pi, 180)


def _type_names(spec, idx):
    names = np.asarray(spec.atom_type_names)[spec.atom_type]
    out = []
    for row in idx:
        t = [names[a] for a in row]
        out.append("-".join(min(t, t[::-1])))
    return np.asarray(out)


def _global(idx, n_mol, n_atoms):
    return (idx[None, :, :] + (np.arange(n_mol) * n_atoms)[:, None, None]).reshape(-1, idx.shape[1])


def bonded_js(x_ref, box_ref, x, box, spec):
    """Jensen-Shannon divergence (nats) of bond-length and angle distributions, per type.

    Types are force-field atom-type sequences (e.g. ``opls_145-opls_146``); histograms use
    :data:`BOND_BINS` and :data:`ANGLE_BINS`, values beyond them counted in the edge bins.

    Returns
    -------
    dict of str -> float
        ``bond <type>`` and ``angle <type>`` keys, plus ``bond mean`` and ``angle mean``.
    """
    out = {}
    for kind, idx, fn, (lo, hi, n) in (("bond", spec.bonds, dist.bond_lengths, BOND_BINS),
                                       ("angle", spec.angles, dist.angles, ANGLE_BINS)):
        types = _type_names(spec, idx)
        vals = []
        for t in sorted(set(types)):
            sel = idx[types == t]
            a = fn(x_ref, box_ref, _global(sel, x_ref.shape[1] // spec.n_atoms, spec.n_atoms))
            b = fn(x, box, _global(sel, x.shape[1] // spec.n_atoms, spec.n_atoms))
            # values beyond the range count in the edge bins: a bond far off is a large divergence,
            # not a missing one
            edge = (lo, np.nextafter(hi, lo))
            ha, _ = np.histogram(np.clip(a, *edge), bins=n, range=(lo, hi))
            hb, _ = np.histogram(np.clip(b, *edge), bins=n, range=(lo, hi))
            out[f"{kind} {t}"] = dist.js_divergence(ha, hb) if hb.sum() and ha.sum() else float("nan")
            vals.append(out[f"{kind} {t}"])
        out[f"{kind} mean"] = float(np.nanmean(vals))
    return out


def junction_bonds(x_ref, box_ref, x, box, spec):
    """Errors of the bonds between two beads, which set the backmapped bead forces.

    Returns
    -------
    dict
        ``mean_error_nm``: mean over junction bond types of :math:`|\\langle b\\rangle - \\langle
        b_{ref}\\rangle|` (a bias; a perfect sampler scores 0); ``mae_nm``: mean absolute difference
        bond by bond against the reference frame (a perfect independent sampler of thermal bonds
        scores about their spread); ``spread_ref_nm``: the reference's standard deviation.
    """
    junction = spec.bead_of_atom[spec.bonds[:, 0]] != spec.bead_of_atom[spec.bonds[:, 1]]
    if not junction.any():
        return {"mean_error_nm": float("nan"), "mae_nm": float("nan"), "spread_ref_nm": float("nan")}
    idx = spec.bonds[junction]
    n_mol = x.shape[1] // spec.n_atoms
    a = dist.bond_lengths(x_ref, box_ref, _global(idx, n_mol, spec.n_atoms))
    b = dist.bond_lengths(x, box, _global(idx, n_mol, spec.n_atoms))
    types = np.tile(_type_names(spec, idx), n_mol)
    bias = [abs(b[:, types == t].mean() - a[:, types == t].mean()) for t in sorted(set(types))]
    return {"mean_error_nm": float(np.mean(bias)), "mae_nm": float(np.abs(b - a).mean()),
            "spread_ref_nm": float(a.std())}


def main_element(spec):
    """Atomic number of the molecule's most frequent heavy element (carbon in organic molecules)."""
    z = np.asarray(spec.elements)
    heavy = z[z > 1]
    values, counts = np.unique(heavy, return_counts=True)
    return int(values[np.argmax(counts)])


def intermolecular_rdf(x, box, spec, element=None, r_max=1.0, bins=100):
    """RDF between atoms of one element (default :func:`main_element`) in different molecules, (r nm, g).

    :func:`cgbench.geometry.rdf.intermolecular_rdf` on the atoms of that element, with ``r_max`` capped at
    half the smallest box edge.
    """
    element = main_element(spec) if element is None else element
    n_mol = x.shape[1] // spec.n_atoms
    sel = np.tile(np.asarray(spec.elements) == element, n_mol)
    return rdf.intermolecular_rdf(x, box, sel, sel, rdf.molecule_index(n_mol, spec.n_atoms),
                                  r_max=min(r_max, 0.5 * float(np.min(box))), bins=bins)


def rdf_difference(x_ref, box_ref, x, box, spec, element=None, r_max=1.0, bins=100):
    """Mean absolute difference of the intermolecular RDFs of one element over [0, r_max]."""
    r, g_ref = intermolecular_rdf(x_ref, box_ref, spec, element, r_max, bins)
    _, g = intermolecular_rdf(x, box, spec, element, r_max, bins)
    return float(np.mean(np.abs(g - g_ref))), r, g_ref, g


def close_contacts(x, box, spec, r=0.1):
    """Intermolecular atom pairs closer than ``r`` nm (:func:`cgbench.geometry.rdf.close_contacts`).

    Returns
    -------
    dict
        ``pairs_per_atom``: such pairs per atom; ``atom_fraction``: fraction of atoms in at least one.
    """
    n_mol = x.shape[1] // spec.n_atoms
    cc = rdf.close_contacts(x, box, rdf.molecule_index(n_mol, spec.n_atoms), threshold=r)
    n_atoms = x.shape[0] * x.shape[1]
    return {"pairs_per_atom": int(cc.pairs_per_frame.sum()) / n_atoms,
            "atom_fraction": int(cc.atoms_per_frame.sum()) / n_atoms}


def clash_fraction(x, box, spec, temperature_K=450.0, clash_kT=10.0):
    """Fraction of atoms whose Lennard-Jones energy with some other atom exceeds ``clash_kT`` k_BT.

    The same criterion as the backmapper's
    (:meth:`cgbench.backmap.dbm.energy.ForceField.worst_contact`), computed independently of it on
    whole periodic frames (:func:`cgbench.geometry.clashes.lj_clash_atoms`).
    """
    excluded, scaled = pair_rules(spec.n_atoms, spec.bonds, spec.pairs)
    flags = lj_clash_atoms(x, box, spec.n_atoms, spec.sigma, spec.epsilon, excluded, scaled, spec.fudge_lj,
                           clash_kT * KB_KJ_MOL_K * temperature_K)
    return float(flags.mean())


def evaluate(x_ref, box_ref, x, box, r_cg, spec):
    """All closing-note numbers: bonded JS, C-C intermolecular RDF difference, re-projection RMSD
    against the CG input ``r_cg`` (F, n_mol * n_beads, 3), and close contacts of ref and backmap."""
    js = bonded_js(x_ref, box_ref, x, box, spec)
    diff, *_ = rdf_difference(x_ref, box_ref, x, box, spec)
    return {"junction_bonds": junction_bonds(x_ref, box_ref, x, box, spec),
        "js_bond_mean_nats": js["bond mean"], "js_angle_mean_nats": js["angle mean"], "js": js,
        "rdf_cc_intermolecular_mean_abs_diff": diff,
        "reprojection_rmsd_nm": reprojection_rmsd(x, r_cg, box, spec.com_weights(), spec.bonds),
        "close_contacts": close_contacts(x, box, spec),
        "close_contacts_reference": close_contacts(x_ref, box_ref, spec),
        "clash_atom_fraction": clash_fraction(x, box, spec),
        "clash_atom_fraction_reference": clash_fraction(x_ref, box_ref, spec),
    }
