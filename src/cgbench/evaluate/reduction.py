"""AA frames reduced to what the evaluation compares: bead forces, RDFs, clashes, re-projection RMSD.

The AA force field judges every frame through :func:`cgbench.evaluate.rerun.rerun_forces`; the
atoms are then dropped and only per-bead forces, per-frame scalars and frame-averaged RDFs are
kept, so a trajectory can be reduced a chunk of frames at a time and the chunks joined
(:func:`join_reductions`) into the result of one pass.
"""

import logging

import numpy as np

from ..core.elements import heavy_element_pairs
from ..core.errors import InputError
from ..core.units import KB_KJ_MOL_K
from ..geometry.clashes import lj_clash_atoms, pair_rules
from ..geometry.pbc import make_whole
from ..geometry.rdf import close_contacts, element_rdfs, molecule_index
from ..mapping.projection import reprojection_rmsd
from .forces import project_forces
from .rerun import rerun_forces

__all__ = ["CLASH_FORCE", "MARKED_FORCE", "reduce_aa", "join_reductions"]

log = logging.getLogger("cgbench")

#: Force (kJ/mol/nm) given to atom force components that came out non-finite.
CLASH_FORCE = 1e30
#: Bead forces at or above this (kJ/mol/nm) carry an atom given CLASH_FORCE: they count as
#: non-finite. A bead of up to 10^4 atoms with one such atom stays above it, mean or net, and no
#: physical force comes near it.
MARKED_FORCE = 1e-4 * CLASH_FORCE


def reduce_aa(x, box, topology, mapping, n_molecules, mdp, top, workdir, settings, threads=1, executable="gmx",
              cg_input=None):
    """Forces (rerun), bead forces, RDFs, clashes and (with ``cg_input``) re-projection RMSD of AA frames.

    Parameters
    ----------
    x : ndarray, shape (n_frames, n_molecules * n_atoms, 3), nm
    box : ndarray, shape (n_frames, 3), nm
    topology : cgbench.molecule.topology.Topology
        One molecule.
    mapping : cgbench.molecule.mapping.Mapping
    n_molecules : int
    mdp, top : path
        The AA run's parameters and topology, for the rerun.
    workdir : path
        Where the rerun writes its files.
    settings : dict
        ``rdf_pairs`` (empty: every heavy-element pair), ``rdf_max_nm``, ``rdf_bins``, ``clash_nm``,
        ``clash_kT`` and ``temperature_K`` (the AA run's).
    cg_input : ndarray, shape (n_frames, n_beads_total, 3), nm, optional
        The CG frames these AA frames were backmapped from.

    Returns
    -------
    dict of str -> ndarray
        ``forces_mean``, ``forces_net`` (n_frames, n_beads_total, 3) kJ/mol/nm; ``potential``
        (n_frames,) kJ/mol; ``nonfinite_atom_forces`` (n_frames,); ``rdf_r`` and ``rdf_<pair>``
        for each element pair; ``clash_fraction`` (n_frames,: intermolecular pairs closer than
        ``clash_nm``); ``lj_clash_fraction`` (n_frames,: atoms with a Lennard-Jones pair energy
        above ``clash_kT`` k_BT, :func:`cgbench.geometry.clashes.lj_clash_atoms`); ``rmsd_nm`` (n_frames,) when
        ``cg_input`` is given.
    """
    res = rerun_forces(x, box, mdp, top, topology.atom_names, topology.resname, workdir, threads=threads,
                       executable=executable)
    member = mapping.membership()
    forces = np.asarray(res.forces, dtype=float)
    # atoms on top of each other give non-finite forces: a clash. A huge finite value (not inf,
    # whose sums inside a bead could turn into NaN) puts the bead beyond every force bin.
    bad = ~np.isfinite(forces)
    if bad.any():
        log.warning("%d non-finite atom force components (overlapping atoms); set to %g", bad.sum(), CLASH_FORCE)
        forces = np.where(bad, CLASH_FORCE, forces)
    out = {
        "forces_mean": project_forces(forces, member, kind="mean"),
        "forces_net": project_forces(forces, member, kind="net"),
        "potential": np.asarray(res.potential),
        "nonfinite_atom_forces": np.count_nonzero(bad.any(axis=-1), axis=-1),
    }
    whole = make_whole(x, box, topology.bonds, topology.n_atoms)
    molecule = molecule_index(n_molecules, topology.n_atoms)
    elements = np.tile(np.asarray(topology.elements, dtype=int), n_molecules)
    pairs = settings.get("rdf_pairs") or heavy_element_pairs(elements)
    rdfs = element_rdfs(whole, box, elements, molecule, pairs, r_max=settings["rdf_max_nm"], bins=settings["rdf_bins"])
    for pair, (r, g) in rdfs.items():
        out["rdf_r"] = r
        out[f"rdf_{pair}"] = g
    out["clash_fraction"] = close_contacts(whole, box, molecule, threshold=settings["clash_nm"]).fraction_per_frame
    excluded, scaled = pair_rules(topology.n_atoms, topology.bonds, topology.pairs)
    e_max = settings["clash_kT"] * KB_KJ_MOL_K * settings["temperature_K"]
    out["lj_clash_fraction"] = lj_clash_atoms(whole, box, topology.n_atoms, topology.sigma, topology.epsilon, excluded,
                                              scaled, topology.fudge_lj, e_max).mean(axis=1)
    if cg_input is not None:
        out["rmsd_nm"] = reprojection_rmsd(x, cg_input, box, mapping.com_weights(), topology.bonds, per_frame=True)
    return out


def join_reductions(parts):
    """One :func:`reduce_aa` result from those of consecutive chunks of frames.

    RDFs (``rdf_<pair>``) are averages over frames, each frame normalised by its own volume, so
    the whole trajectory's is the frame-weighted mean of the chunks'; ``rdf_r`` is the same in
    every chunk. Every other entry is per frame and is concatenated along its first axis (per-bead
    forces and per-frame scalars: small beside the atoms, which are never kept).

    Parameters
    ----------
    parts : sequence of dict of str -> ndarray
        :func:`reduce_aa` of each chunk, in trajectory order.

    Returns
    -------
    dict of str -> ndarray
    """
    if not parts:
        raise InputError("no frames to reduce")
    frames = np.array([len(p["clash_fraction"]) for p in parts], dtype=float)
    out = {}
    for key in parts[0]:
        values = [p[key] for p in parts]
        if key == "rdf_r":
            out[key] = values[0]
        elif key.startswith("rdf_"):
            out[key] = sum(v * n for v, n in zip(values, frames)) / frames.sum()
        else:
            out[key] = np.concatenate(values)
    return out
