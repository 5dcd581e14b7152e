"""Walks over small graphs (the bonds of a molecule, the bonds between its beads) in a fixed order."""

import numpy as np

__all__ = ["depth_first"]


def depth_first(n_nodes, starts, neighbours):
    """Depth-first order of a graph's nodes, with an explicit stack.

    Parameters
    ----------
    n_nodes : int
    starts : iterable of int
        Where walks start, in turn; a start already reached is skipped, so passing every node as
        well appends each part of the graph the first walk did not reach.
    neighbours : callable, int -> iterable of int
        The neighbours of a node in the order they are pushed onto the stack: the last one pushed
        is visited first. A neighbour already visited is not pushed.

    Returns
    -------
    order : list of int
        Nodes in the order they are visited.
    parent : ndarray of int, shape (n_nodes,)
        The node that last pushed each node; -1 for a start and for a node never reached.
    """
    parent = np.full(n_nodes, -1)
    seen, order = set(), []
    for start in starts:
        if start in seen:
            continue
        stack = [start]
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            order.append(node)
            for other in neighbours(node):
                if other not in seen:
                    parent[other] = node
                    stack.append(other)
    return order, parent
