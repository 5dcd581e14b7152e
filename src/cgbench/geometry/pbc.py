"""Periodic boundaries (orthorhombic boxes): the minimum image, making molecules whole, wrapping into the box.

The one implementation of each, for NumPy arrays and torch tensors alike.
"""

from collections import deque

import numpy as np

from ..core.errors import InputError


def _is_tensor(x):
    return type(x).__module__.startswith("torch")


def minimum_image(d, box):
    """Minimum-image difference vectors (orthorhombic boxes), for NumPy arrays or torch tensors.

    .. math:: d' = d - L \\operatorname{round}(d / L)

    Parameters
    ----------
    d : ndarray or Tensor, shape (..., 3), nm
        Difference vectors.
    box : ndarray or Tensor, shape broadcastable to ``d``, nm
        Box edges; the caller gives them the axes that line up with ``d`` (e.g. ``box[:, None, :]``
        for ``d`` of shape (n_frames, n, 3) and ``box`` of shape (n_frames, 3)).

    Returns
    -------
    same type and shape as ``d``, nm
    """
    if _is_tensor(d):
        import torch

        return d - box * torch.round(d / box)
    return d - box * np.round(d / box)


def bfs_parents(bonds, n_atoms, fragments=False):
    """A breadth-first spanning tree (forest, with ``fragments``) of a molecule's bond graph.

    Parameters
    ----------
    bonds : array_like of int, shape (n_bonds, 2)
    n_atoms : int
    fragments : bool
        Accept a graph of several connected parts, each rooted at its first atom; by default such
        a graph is refused.

    Returns
    -------
    order : ndarray, shape (n_atoms - n_roots,)
        Atoms other than the roots (atom 0, and the first atom of each further fragment), parents
        before children.
    parent : ndarray, shape (n_atoms,)
        ``parent[i]`` is the atom ``i`` is placed relative to (-1 for a root).

    Raises
    ------
    InputError
        If the bond graph is not connected and ``fragments`` is false.
    """
    adj = [[] for _ in range(n_atoms)]
    for i, j in np.asarray(bonds, dtype=int).reshape(-1, 2):
        adj[i].append(j)
        adj[j].append(i)
    parent = np.full(n_atoms, -1)
    seen = np.zeros(n_atoms, bool)
    order = []
    for root in range(n_atoms):
        if seen[root]:
            continue
        if root > 0 and not fragments:
            raise InputError(f"bond graph is not connected: atoms {np.flatnonzero(~seen)} unreachable")
        seen[root] = True
        queue = deque([root])
        while queue:
            a = queue.popleft()
            for b in adj[a]:
                if not seen[b]:
                    seen[b] = True
                    parent[b] = a
                    order.append(b)
                    queue.append(b)
    return np.asarray(order, dtype=int), parent


def make_whole(x, box, bonds, n_atoms, fragments=False):
    """Unwrap molecules split by periodic boundaries.

    Each atom is placed at the minimum image of its bond-tree parent, so molecules may be larger
    than half the box as long as no single bond is. One step per atom of a molecule, each
    vectorised over frames and molecules. Works on NumPy arrays (computed in float64) and on torch
    tensors (kept on their device, in their dtype).

    Parameters
    ----------
    x : ndarray or Tensor, shape (n_frames, n_molecules * n_atoms, 3)
        Positions in nm (wrapped).
    box : ndarray or Tensor, shape (n_frames, 3)
        Orthorhombic box edges in nm.
    bonds : array_like of int, shape (n_bonds, 2)
        Bonds of one molecule (for CG trajectories: bead bonds).
    n_atoms : int
        Atoms (or beads) per molecule.
    fragments : bool
        Accept a bond graph of several parts (:func:`bfs_parents`); each part's first atom stays.

    Returns
    -------
    ndarray or Tensor, same shape as ``x``
        Positions with every molecule whole; the first atom of each molecule stays in place.
    """
    if _is_tensor(x):
        xm = x.reshape(x.shape[0], -1, n_atoms, 3).clone()
        b = box[:, None, :]
    else:
        x = np.array(x, dtype=float, copy=True)
        xm = x.reshape(x.shape[0], -1, n_atoms, 3)
        b = np.asarray(box, dtype=float).reshape(x.shape[0], 1, 3)
    order, parent = bfs_parents(bonds, n_atoms, fragments=fragments)
    for i in order:
        p = parent[i]
        xm[:, :, i] = xm[:, :, p] + minimum_image(xm[:, :, i] - xm[:, :, p], b)
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
