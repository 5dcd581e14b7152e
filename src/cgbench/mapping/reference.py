"""Mapping AA frames to beads, and the reference distributions of the mapped trajectory.

Positions map by centre of mass (Eqs. 1-2). Forces map two ways, stored side by side:

- ``forces_net``: :math:`\\sum_{i \\in \\Psi_I} f_i`, the net force on the bead. This is what
  multiscale force matching compares with CG forces (chi^2, Eq. 7) and what the CG ``.trr`` holds.
- ``forces_mean``: :math:`|\\Psi_I|^{-1} \\sum_{i \\in \\Psi_I} f_i`, Eq. 6 as the study prints it,
  used for the force-distribution comparisons that follow the study (Fig. 5, Table 2).
"""

import numpy as np
import pandas as pd

from ..geometry import distributions as dist
from ..molecule.cgtopology import DISTRIBUTION, KINDS, exclusion_pairs
from ..core.errors import CgbenchError, InputError
from ..molecule.mapping import map_forces, map_positions
from ..geometry.pbc import make_whole, wrap_molecules
from ..engines.trajectory import Frames

#: Distribution kinds in the reference table and the CG interaction kind each comes from.
BONDED = {DISTRIBUTION[k]: k for k in KINDS}


def map_trajectory(aa, topology, mapping, n_molecules):
    """Map an AA trajectory to beads.

    Parameters
    ----------
    aa : cgbench.engines.trajectory.Frames
        AA frames (wrapped positions, forces optional).
    topology : cgbench.molecule.topology.Topology
        One molecule's AA topology (for its bonds, to make molecules whole).
    mapping : cgbench.molecule.mapping.Mapping

    Returns
    -------
    cg : cgbench.engines.trajectory.Frames
        Bead positions (molecules whole, their centres in the box), and net bead forces (``None`` without AA forces).
    forces_mean : ndarray or None
        Eq. 6 bead forces, (n_frames, n_molecules * n_beads, 3) kJ/mol/nm.
    """
    n_atoms = topology.n_atoms
    if aa.positions.shape[1] != n_molecules * n_atoms:
        raise InputError(
            f"trajectory has {aa.positions.shape[1]} atoms, expected {n_molecules} x {n_atoms}"
        )
    whole = make_whole(aa.positions, aa.box, topology.bonds, n_atoms)
    # molecules stay whole, each shifted into the box as a unit
    beads = wrap_molecules(map_positions(whole, mapping.com_weights()), aa.box, mapping.n_beads)
    net = mean = None
    if aa.forces is not None:
        member = mapping.membership()
        net = map_forces(aa.forces, member)
        mean = map_forces(aa.forces, member, mean=True)
    return Frames(beads, aa.box.copy(), aa.time.copy(), net), mean


def system_indices(idx, n_molecules, n_beads):
    """Per-molecule interaction indices (n, w) repeated for every molecule of the system."""
    idx = np.asarray(idx, dtype=int)
    offsets = (np.arange(n_molecules) * n_beads)[:, None, None]
    return (idx[None] + offsets).reshape(-1, idx.shape[1])


def bonded_values(x, box, cg, n_molecules):
    """Values of every bonded CG interaction type over a trajectory.

    Returns
    -------
    dict of (kind, type name) -> ndarray
        Bond lengths in nm; angles, propers and impropers in radians; flattened over frames and
        interactions. ``kind`` is one of :data:`BONDED`.
    """
    funcs = {"bond": dist.bond_lengths, "angle": dist.angles, "proper": dist.dihedrals,
             "improper": dist.dihedrals}
    nb = len(cg.bead_names)
    out = {}
    for kind, attr in BONDED.items():
        for name in cg.interaction_types(attr):
            idx = system_indices(cg.indices(attr, name), n_molecules, nb)
            out[(kind, name)] = funcs[kind](x, box, idx).ravel()
    return out


def pair_types(cg):
    """Non-bonded pair types from bead types in definition order, e.g. T-T, T-A, A-A."""
    types = list(dict.fromkeys(cg.bead_types))
    return [(a, b) for i, a in enumerate(types) for b in types[i:]]


def _rdf_accumulators(cg, n_molecules, r_max, bin_nm):
    """One :class:`cgbench.geometry.distributions.RDF` per bead-type pair, with VOTCA's exclusions."""
    nb = len(cg.bead_names)
    types = np.tile(np.asarray(cg.bead_types), n_molecules)
    excl = system_indices(np.asarray(exclusion_pairs(cg)).reshape(-1, 2), n_molecules, nb)
    bins = int(round(r_max / bin_nm))
    return {f"{a}-{b}": dist.RDF(nb * n_molecules, types == a, types == b, exclusions=excl, r_max=r_max, bins=bins)
            for a, b in pair_types(cg)}


def rdfs(x, box, cg, n_molecules, r_max, bin_nm):
    """Intermolecular-plus-nonbonded RDFs for every bead-type pair, with VOTCA's exclusions.

    Bead pairs that share a bonded interaction inside a molecule are left out, as VOTCA does
    when it computes IBI targets.

    Returns
    -------
    dict of str -> (r, g)
        Keyed by pair name ``"T-A"``; r in nm.
    """
    acc = _rdf_accumulators(cg, n_molecules, r_max, bin_nm)
    for a in acc.values():
        a.update(x, box)
    return {name: a.result() for name, a in acc.items()}


class ReferenceDistributions:
    """Reference distributions accumulated over chunks of frames; :meth:`table` as :func:`reference_table`.

    Bonded coordinates are counted into fixed bins chunk by chunk and the RDFs add frame by frame,
    so the table does not depend on how the trajectory was cut into chunks, and memory holds one
    chunk's coordinates, never the whole run's.

    Parameters
    ----------
    cg : cgbench.molecule.cgtopology.CGTopology
    n_molecules : int
    bins : dict
        The ``cg`` config section, as for :func:`reference_table`.
    """

    def __init__(self, cg, n_molecules, bins):
        self.cg, self.n_molecules = cg, n_molecules
        deg = np.pi / 180.0
        self.spec = {
            "bond": (int(round(bins["bond_max_nm"] / bins["bond_bin_nm"])), (0.0, bins["bond_max_nm"]), 1.0),
            "angle": (int(round(180 / bins["angle_bin_deg"])), (0.0, np.pi), deg),
            "proper": (int(round(360 / bins["dihedral_bin_deg"])), (-np.pi, np.pi), deg),
            "improper": (int(round(360 / bins["dihedral_bin_deg"])), (-np.pi, np.pi), deg),
        }
        self.counts, self.edges, self.seen = {}, {}, {}
        self.rdf = _rdf_accumulators(cg, n_molecules, bins["cutoff_nm"], bins["rdf_bin_nm"])

    def update(self, x, box):
        """Count bead positions ``x`` (n_frames, n, 3) and boxes ``box`` (n_frames, 3), nm."""
        for key, values in bonded_values(x, box, self.cg, self.n_molecules).items():
            nbins, rng, _ = self.spec[key[0]]
            counts, edges = np.histogram(values, bins=nbins, range=rng)
            if key in self.counts:
                self.counts[key] += counts
                lo, hi, n = self.seen[key]
                if values.size:
                    self.seen[key] = (min(lo, values.min()), max(hi, values.max()), n + values.size)
            else:
                self.counts[key], self.edges[key] = counts, edges
                self.seen[key] = (values.min(), values.max(), values.size) if values.size else (np.inf, -np.inf, 0)
        for a in self.rdf.values():
            a.update(x, box)

    def table(self):
        """The long table of :func:`reference_table`."""
        rows = []
        jac = {"bond": "bond", "angle": "angle", "proper": "dihedral", "improper": "dihedral"}
        for (kind, name), counts in self.counts.items():
            _, rng, unit = self.spec[kind]
            if counts.sum() == 0:
                lo, hi, n = self.seen[kind, name]
                seen = f"values seen: {lo / unit:.4g} to {hi / unit:.4g}" if n else "no values"
                raise CgbenchError(
                    f"CG {kind} {name} never occurs in the mapped trajectory within its histogram range "
                    f"{rng[0] / unit:g}-{rng[1] / unit:g} ({seen}); check the bead definitions and the "
                    f"cg section's ranges"
                )
            centres, density = dist.density_from_counts(counts, self.edges[kind, name], kind=jac[kind])
            rows.append(pd.DataFrame({"kind": kind, "name": name, "x": centres / unit, "y": density * unit}))
        for name, a in self.rdf.items():
            r, g = a.result()
            rows.append(pd.DataFrame({"kind": "rdf", "name": name, "x": r, "y": g}))
        return pd.concat(rows, ignore_index=True)


def reference_table(x, box, cg, n_molecules, bins):
    """All reference distributions as one long table.

    Parameters
    ----------
    x, box : ndarray
        Bead positions (n_frames, n, 3) and boxes (n_frames, 3), nm.
    bins : dict
        ``bond_bin_nm``, ``bond_max_nm``, ``angle_bin_deg``, ``dihedral_bin_deg``,
        ``rdf_bin_nm`` and ``cutoff_nm`` (the RDF range): the ``cg`` config section.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind`` (bond, angle, proper, improper, rdf), ``name``, ``x`` (nm for bonds and
        RDFs, degrees for angles and dihedrals) and ``y`` (probability density per unit of ``x``
        with the DBI Jacobian applied for bonds and angles; g(r) for RDFs).

    See Also
    --------
    ReferenceDistributions : the same, a chunk of frames at a time.
    """
    acc = ReferenceDistributions(cg, n_molecules, bins)
    acc.update(x, box)
    return acc.table()


def interaction_counts(cg):
    """Number of interactions of each kind per molecule (for reports)."""
    return {kind: len(getattr(cg, kind)) for kind in KINDS}
