"""Atoms in a steric clash, judged by the all-atom force field's own Lennard-Jones pair energies.

A distance threshold cannot tell a clash from a close contact: OPLS-AA's aromatic hydrogens sit
at 0.24 nm in a liquid, while two carbons at that distance cost tens of k_BT. The pair energy can:
an atom is in a clash when its Lennard-Jones energy with some other atom exceeds a multiple of
k_BT (at 10 k_BT no atom of an equilibrated TMBT liquid is). Pairs are the ones GROMACS computes
for OPLS-AA: atoms of one molecule closer than four bonds apart are excluded, 1-4 pairs are scaled
by ``fudge_lj``, everything else counts up to the cut-off; combination rule 3 (geometric sigma
and epsilon). No soft core: an overlap costs what it costs in the force field.
"""

import numpy as np
from scipy.sparse.csgraph import shortest_path
from scipy.spatial import cKDTree

from cgbench.geometry.distributions import as_frames

__all__ = ["pair_rules", "lj_clash_atoms"]


def pair_rules(n_atoms, bonds, pairs, nrexcl=3):
    """Which intramolecular pairs GROMACS skips and which it scales, from a molecule's graph.

    Parameters
    ----------
    n_atoms : int
    bonds : ndarray of int, shape (n_bonds, 2)
    pairs : ndarray of int, shape (n_pairs, 2)
        The topology's 1-4 pairs.
    nrexcl : int
        Bonds within which non-bonded pairs are excluded.

    Returns
    -------
    excluded, scaled : ndarray of bool, shape (n_atoms, n_atoms)
        ``excluded`` holds the pairs GROMACS skips (the 1-4 pairs are excluded from the plain
        non-bonded list and computed as scaled pairs instead, so they are not in it).
    """
    bonds, pairs = np.asarray(bonds, int).reshape(-1, 2), np.asarray(pairs, int).reshape(-1, 2)
    a = np.zeros((n_atoms, n_atoms))
    a[bonds[:, 0], bonds[:, 1]] = 1
    scaled = np.zeros((n_atoms, n_atoms), bool)
    scaled[pairs[:, 0], pairs[:, 1]] = scaled[pairs[:, 1], pairs[:, 0]] = True
    excluded = (shortest_path(a, unweighted=True, directed=False) <= nrexcl) & ~scaled
    return excluded, scaled


def lj_clash_atoms(x, box, n_atoms, sigma, epsilon, excluded, scaled, fudge_lj, e_max):
    """Atoms whose Lennard-Jones energy with some other atom exceeds ``e_max``.

    Parameters
    ----------
    x : ndarray, shape (n_frames, n_molecules * n_atoms, 3), nm
        Whole molecules, one after the other.
    box : ndarray, shape (n_frames, 3), nm
    n_atoms : int
        Atoms per molecule.
    sigma, epsilon : ndarray, shape (n_atoms,), nm and kJ/mol
    excluded, scaled : ndarray of bool, shape (n_atoms, n_atoms)
        From :func:`pair_rules`.
    fudge_lj : float
    e_max : float, kJ/mol

    Returns
    -------
    ndarray of bool, shape (n_frames, n_molecules * n_atoms)
    """
    x, box = as_frames(x, box)
    sigma, epsilon = np.asarray(sigma, float), np.asarray(epsilon, float)
    # a pair's LJ energy is positive only inside its sigma: beyond the largest sigma no pair can clash
    cutoff = float(sigma.max())
    out = np.zeros(x.shape[:2], bool)
    for f in range(x.shape[0]):
        L = np.asarray(box[f], float)
        p = np.mod(np.asarray(x[f], float), L)
        p[p >= L] = 0.0  # round-off can put a coordinate on the upper face, which cKDTree refuses
        ij = cKDTree(p, boxsize=L).query_pairs(cutoff, output_type="ndarray")
        i, j = ij[:, 0], ij[:, 1]
        ai, aj, same = i % n_atoms, j % n_atoms, i // n_atoms == j // n_atoms
        keep = ~(same & excluded[ai, aj])
        i, j, ai, aj, same = i[keep], j[keep], ai[keep], aj[keep], same[keep]
        d = p[j] - p[i]
        d -= L * np.round(d / L)
        r = np.linalg.norm(d, axis=-1)
        s6 = (np.sqrt(sigma[ai] * sigma[aj]) / np.maximum(r, 1e-6)) ** 6
        e = 4 * np.sqrt(epsilon[ai] * epsilon[aj]) * (s6 * s6 - s6) * np.where(same & scaled[ai, aj], fudge_lj, 1.0)
        hit = e > e_max
        out[f, i[hit]] = out[f, j[hit]] = True
    return out
