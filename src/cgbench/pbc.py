"""Periodic boundaries: making molecules whole, wrapping into the box (orthorhombic boxes)."""

from collections import deque

import numpy as np


def bfs_parents(bonds, n_atoms):
    """A spanning tree of a molecule's bond graph.

    Returns
    -------
    order : ndarray, shape (n_atoms - 1,)
        Atoms other than the root (atom 0), parents before children.
    parent : ndarray, shape (n_atoms,)
        ``parent[i]`` is the atom ``i`` is placed relative to (-1 for the root).

    Raises
    ------
    ValueError
        If the bond graph is not connected.
    """
    adj = [[] for _ in range(n_atoms)]
    for i, j in np.asarray(bonds, dtype=int):
        adj[i].append(j)
        adj[j].append(i)
    parent = np.full(n_atoms, -1)
    seen = np.zeros(n_atoms, bool)
    seen[0] = True
    order, queue = [], deque([0])
    while queue:
        a = queue.popleft()
        for b in adj[a]:
            if not seen[b]:
                seen[b] = True
                parent[b] = a
                order.append(b)
                queue.append(b)
    if not seen.all():
        raise ValueError(f"bond graph is not connected: atoms {np.flatnonzero(~seen)} unreachable")
    return np.asarray(order, dtype=int), parent


def make_whole(x, box, bonds, n_atoms):
    """Unwrap molecules split by periodic boundaries.

    Each atom is placed at the minimum image of its bond-tree parent, so molecules may be larger
    than half the box as long as no single bond is.

    Parameters
    ----------
    x : ndarray, shape (n_frames, n_molecules * n_atoms, 3)
        Positions in nm (wrapped).
    box : ndarray, shape (n_frames, 3)
        Orthorhombic box edges in nm.
    bonds : ndarray, shape (n_bonds, 2)
        Bonds of one molecule.
    n_atoms : int
        Atoms per molecule.

    Returns
    -------
    ndarray, same shape as ``x``
        Positions with every molecule whole; the first atom of each molecule stays in place.
    """
    x = np.array(x, dtype=float, copy=True)
    nf = x.shape[0]
    xm = x.reshape(nf, -1, n_atoms, 3)
    b = np.asarray(box, dtype=float).reshape(nf, 1, 3)
    order, parent = bfs_parents(bonds, n_atoms)
    for i in order:
        d = xm[:, :, i] - xm[:, :, parent[i]]
        d -= b * np.round(d / b)
        xm[:, :, i] = xm[:, :, parent[i]] + d
    return xm.reshape(x.shape)


def wrap(x, box):
    """Wrap positions (..., n, 3) into ``[0, box)`` for boxes of shape (..., 3)."""
    b = np.asarray(box, dtype=float)[..., None, :]
    return x - b * np.floor(x / b)


def wrap_molecules(x, box, n_per_molecule):
    """Shift whole molecules by box vectors so that each molecule's centre lies in ``[0, box)``.

    Parameters
    ----------
    x : ndarray, shape (n_frames, n_molecules * n_per_molecule, 3)
        Positions of whole (unwrapped) molecules, nm.
    box : ndarray, shape (n_frames, 3)
    """
    nf = x.shape[0]
    xm = x.reshape(nf, -1, n_per_molecule, 3)
    b = np.asarray(box, dtype=float).reshape(nf, 1, 1, 3)
    centre = xm.mean(axis=2, keepdims=True)
    return (xm - b * np.floor(centre / b)).reshape(x.shape)
