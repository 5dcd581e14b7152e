"""Intermolecular atomistic pair correlations (study Fig. 3) and close intermolecular contacts.

The study compares non-bonded C-C, C-N and N-N pair correlation functions of the AA reference with
those of backmapped test sets. Here "non-bonded" is taken strictly as *intermolecular*: only pairs
of atoms that belong to different molecules count, so the functions carry no intramolecular
structure (the molecule's own geometry) and show the packing and the steric clashes that the
study discusses.

Distances are periodic (minimum image, orthorhombic boxes) and found with a k-d tree of the whole
box (:class:`scipy.spatial.cKDTree` with ``boxsize``): its dual-tree pair count
(``count_neighbors``) histograms every pair within the cut-off without materialising the pairs
(13 million C-C pairs within 1 nm in the study's 3000 x 69 atoms). Intramolecular pairs are then
removed from the counts; they are fewer (each molecule's selected atoms with each other: 4.4
million C-C pairs for 3000 TMBT, about 70 MB of indices) and their distances are computed directly.
``benchmarks/evaluate_rdf.py`` times it.
"""

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from cgbench.geometry.distributions import as_frames
from cgbench.core.elements import ELEMENTS
from cgbench.core.errors import CgbenchError

__all__ = [
    "ELEMENTS",
    "molecule_index",
    "intermolecular_rdf",
    "intermolecular_rdf_reference",
    "element_rdfs",
    "CloseContacts",
    "close_contacts",
]



def molecule_index(n_molecules, n_atoms):
    """Molecule number (0-based) of each atom of ``n_molecules`` consecutive copies of a molecule.

    Returns
    -------
    ndarray of int, shape (n_molecules * n_atoms,)
    """
    return np.repeat(np.arange(int(n_molecules)), int(n_atoms))


def _indices(sel, n):
    sel = np.asarray(sel)
    if sel.dtype == bool:
        if sel.shape != (n,):
            raise CgbenchError(f"a boolean selection must have shape ({n},), got {sel.shape}")
        return np.flatnonzero(sel)
    sel = np.unique(sel.astype(int))
    if sel.size and (sel.min() < 0 or sel.max() >= n):
        raise CgbenchError(f"selection index out of range 0..{n - 1}")
    return sel


def _molecules(molecule, n):
    mol = np.asarray(molecule)
    if mol.shape != (n,) or not np.issubdtype(mol.dtype, np.integer):
        raise CgbenchError(f"molecule must be an integer array of shape ({n},), got {mol.dtype} {mol.shape}")
    # dense 0..M-1 labels, whatever numbering the caller uses
    return np.unique(mol, return_inverse=True)[1]


def _in_box(x, L):
    """Positions wrapped into [0, L), as cKDTree(boxsize=L) requires."""
    w = np.mod(x, L)
    w[w >= L] = 0.0  # np.mod can round a tiny negative up to exactly L
    return w


def _same_molecule_pairs(a, b, mol):
    """Ordered pairs (i, j), i in ``a``, j in ``b``, i != j, of atoms in the same molecule.

    Built once and reused for every frame: with ``k`` atoms of a molecule in ``a`` and ``l`` in
    ``b``, each molecule contributes its ``k * l`` block (minus i == j).
    """
    a = a[np.argsort(mol[a], kind="stable")]
    b = b[np.argsort(mol[b], kind="stable")]
    n_mol = int(mol.max()) + 1 if mol.size else 0
    nb = np.bincount(mol[b], minlength=n_mol)
    start_b = np.concatenate([[0], np.cumsum(nb)[:-1]])
    reps = nb[mol[a]]  # partners of each atom of a
    i = np.repeat(a, reps)
    # position of each partner inside its molecule's block of b: 0..reps-1 for every atom of a
    offset = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    j = b[np.repeat(start_b[mol[a]], reps) + offset]
    keep = i != j
    return i[keep], j[keep]


def _n_intermolecular_pairs(a, b, mol):
    """Number of ordered pairs (i in a, j in b) with atoms in different molecules."""
    n_mol = int(mol.max()) + 1
    na = np.bincount(mol[a], minlength=n_mol).astype(np.int64)
    nb = np.bincount(mol[b], minlength=n_mol).astype(np.int64)
    return int(a.size) * int(b.size) - int(np.dot(na, nb))


def _check_range(r_max, bins, box):
    if not r_max > 0 or int(bins) < 1:
        raise CgbenchError(f"need r_max > 0 and bins >= 1, got {r_max}, {bins}")
    if r_max > 0.5 * box.min():
        raise CgbenchError(
            f"r_max = {r_max} nm exceeds half the smallest box length ({0.5 * box.min():.4g} nm)"
        )
    return np.linspace(0.0, float(r_max), int(bins) + 1)


def _normalise(hist, edges, volume, n_pairs):
    """g(r) of one frame: pair counts per shell over the ideal-gas expectation."""
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    return hist * volume / (n_pairs * shell)


def intermolecular_rdf(x, box, sel_a, sel_b, molecule, r_max=1.0, bins=100):
    r"""Radial distribution function of atoms in *different* molecules (study Fig. 3).

    .. math::
        g_{AB}(r) = \frac{1}{n_\mathrm{frames}} \sum_f \frac{V_f}{N^\mathrm{inter}_{AB}}
        \frac{\#\{(i, j): i \in A,\ j \in B,\ \mathrm{mol}(i) \neq \mathrm{mol}(j),\
        r_{ij} \in (r - \Delta r/2, r + \Delta r/2]\}}{\frac{4}{3}\pi\left[(r + \Delta r/2)^3 - (r - \Delta r/2)^3\right]}

    with :math:`N^\mathrm{inter}_{AB} = |A||B| - \sum_m |A_m||B_m|` the number of ordered pairs of
    atoms of A and B in different molecules (:math:`A_m` the atoms of A in molecule m). This is the
    ideal-gas normalisation over intermolecular pairs: atoms placed at random, whatever their
    molecules, give g = 1 at every r. For real molecules g(r) is low at small r (the correlation
    hole of the molecule's own excluded volume) and tends to 1 at large r.

    Pairs are counted once per ordered (i, j), so g is symmetric in A and B. Bins are closed on the
    right, (lo, hi], as :meth:`scipy.spatial.cKDTree.count_neighbors` counts them. Pairs of atoms of
    one molecule are excluded whatever their distance, including, in a box smaller than twice a
    molecule, the contact of an atom with a periodic image of its own molecule. Each frame is
    normalised with its own volume (NPT trajectories), then frames are averaged.

    Parameters
    ----------
    x : ndarray, shape (n_frames, n_atoms, 3), nm
        Atom positions; need not be wrapped, molecules need not be whole.
    box : ndarray, shape (n_frames, 3), nm
        Orthorhombic box lengths.
    sel_a, sel_b : array_like of int, or boolean ndarray of shape (n_atoms,)
        The two atom selections (indices or masks); may be equal or overlap.
    molecule : ndarray of int, shape (n_atoms,)
        Molecule label of each atom, e.g. :func:`molecule_index`.
    r_max : float, nm
        Largest distance, at most half the smallest box length.
    bins : int
        Number of equal-width bins on [0, r_max].

    Returns
    -------
    r : ndarray, shape (bins,), nm
        Bin centres.
    g : ndarray, shape (bins,)
        Intermolecular g(r), dimensionless.
    """
    x, box = as_frames(x, box)
    n = x.shape[1]
    a, b = _indices(sel_a, n), _indices(sel_b, n)
    mol = _molecules(molecule, n)
    edges = _check_range(r_max, bins, box)
    n_pairs = _n_intermolecular_pairs(a, b, mol)
    if n_pairs <= 0:
        raise CgbenchError("the selections have no pair of atoms in different molecules")
    ii, jj = _same_molecule_pairs(a, b, mol)
    same = np.array_equal(a, b)
    g = np.zeros(int(bins))
    for f in range(x.shape[0]):
        # one tree per frame: the periodic metric changes with the box
        L = box[f]
        w = _in_box(x[f], L)
        ta = cKDTree(w[a], boxsize=L)
        tb = ta if same else cKDTree(w[b], boxsize=L)
        # element 0 counts d <= 0 (each atom with itself when A and B overlap): not a bin
        counts = ta.count_neighbors(tb, edges, cumulative=False)[1:].astype(float)
        if ii.size:
            d = w[jj] - w[ii]
            d -= L * np.round(d / L)
            k = np.searchsorted(edges, np.sqrt(np.einsum("ij,ij->i", d, d)), side="left")
            inside = (k >= 1) & (k <= int(bins))
            counts -= np.bincount(k[inside] - 1, minlength=int(bins))
        g += _normalise(counts, edges, float(np.prod(L)), n_pairs)
    return 0.5 * (edges[1:] + edges[:-1]), g / x.shape[0]


def intermolecular_rdf_reference(x, box, sel_a, sel_b, molecule, r_max=1.0, bins=100):
    """Plain all-pairs version of :func:`intermolecular_rdf`, O(n_a n_b) memory per frame.

    The reference the fast kernel is tested against; same parameters, same result.
    """
    x, box = as_frames(x, box)
    n = x.shape[1]
    a, b = _indices(sel_a, n), _indices(sel_b, n)
    mol = _molecules(molecule, n)
    edges = _check_range(r_max, bins, box)
    n_pairs = _n_intermolecular_pairs(a, b, mol)
    inter = mol[a][:, None] != mol[b][None, :]
    g = np.zeros(int(bins))
    for f in range(x.shape[0]):
        L = box[f]
        d = x[f][b][None, :, :] - x[f][a][:, None, :]
        d -= L * np.round(d / L)
        r = np.linalg.norm(d, axis=-1)[inter]
        k = np.searchsorted(edges, r, side="left")
        counts = np.bincount(k[(k >= 1) & (k <= int(bins))] - 1, minlength=int(bins))
        g += _normalise(counts, edges, float(np.prod(L)), n_pairs)
    return 0.5 * (edges[1:] + edges[:-1]), g / x.shape[0]


def _element_mask(elements, symbol):
    z = ELEMENTS.get(symbol)
    if z is None:
        raise CgbenchError(f"unknown element {symbol!r}; known: {sorted(ELEMENTS)}")
    return np.asarray(elements) == z


def element_rdfs(x, box, elements, molecule, pairs=("C-C", "C-N", "N-N"), r_max=1.0, bins=100):
    """Intermolecular element-pair RDFs, by default the study's C-C, C-N and N-N (Fig. 3).

    Parameters
    ----------
    x : ndarray, shape (n_frames, n_atoms, 3), nm
    box : ndarray, shape (n_frames, 3), nm
    elements : ndarray of int, shape (n_atoms,)
        Atomic number of every atom of the system, e.g.
        ``np.tile(Topology.elements, n_molecules)``.
    molecule : ndarray of int, shape (n_atoms,)
    pairs : sequence of str
        Element pairs as ``"X-Y"`` with symbols from :data:`ELEMENTS`.
    r_max : float, nm
    bins : int

    Returns
    -------
    dict of str -> (r, g)
        As :func:`intermolecular_rdf`, keyed by pair name.
    """
    out = {}
    for pair in pairs:
        sa, sb = pair.split("-")
        ma, mb = _element_mask(elements, sa), _element_mask(elements, sb)
        if not ma.any() or not mb.any():
            raise CgbenchError(f"pair {pair}: the system has no atom of element {sa if not ma.any() else sb}")
        out[pair] = intermolecular_rdf(x, box, ma, mb, molecule, r_max=r_max, bins=bins)
    return out


@dataclass
class CloseContacts:
    """Intermolecular atom pairs closer than a threshold: DBM's steric-clash measure.

    Attributes
    ----------
    threshold_nm : float
    pairs_per_frame : ndarray of int, shape (n_frames,)
        Unordered intermolecular pairs with r < threshold in each frame.
    atoms_per_frame : ndarray of int, shape (n_frames,)
        Atoms that take part in at least one such pair.
    n_intermolecular_pairs : int
        Unordered pairs of selected atoms in different molecules in one frame.
    """

    threshold_nm: float
    pairs_per_frame: np.ndarray
    atoms_per_frame: np.ndarray
    n_intermolecular_pairs: int

    @property
    def fraction_per_frame(self):
        """(n_frames,) fraction of intermolecular pairs in close contact, per frame."""
        return self.pairs_per_frame / self.n_intermolecular_pairs

    @property
    def fraction(self):
        """Fraction of intermolecular pairs in close contact over all frames together."""
        return float(self.pairs_per_frame.sum()) / (self.n_intermolecular_pairs * self.pairs_per_frame.size)


def close_contacts(x, box, molecule, threshold=0.1, selection=None):
    """Count intermolecular atom pairs closer than ``threshold`` (periodic).

    At 0.1 nm two atoms of different molecules overlap far inside their repulsive cores (the
    smallest OPLS-AA Lennard-Jones diameter here, aromatic H, is about 0.24 nm), so any such pair
    is a clash.

    Parameters
    ----------
    x : ndarray, shape (n_frames, n_atoms, 3), nm
    box : ndarray, shape (n_frames, 3), nm
    molecule : ndarray of int, shape (n_atoms,)
    threshold : float, nm
        Pairs with r < threshold count.
    selection : array_like of int or boolean mask, optional
        Atoms to consider (default all, hydrogens included).

    Returns
    -------
    CloseContacts
    """
    x, box = as_frames(x, box)
    n = x.shape[1]
    sel = np.arange(n) if selection is None else _indices(selection, n)
    mol = _molecules(molecule, n)[sel]
    if threshold <= 0 or threshold > 0.5 * box.min():
        raise CgbenchError(f"threshold must lie in (0, half the box], got {threshold} nm")
    counts = np.bincount(mol).astype(np.int64)
    n_inter = (sel.size * (sel.size - 1) - int(np.dot(counts, counts - 1))) // 2
    if n_inter <= 0:
        raise CgbenchError("the selection has no pair of atoms in different molecules")
    pairs = np.zeros(x.shape[0], dtype=np.int64)
    atoms = np.zeros(x.shape[0], dtype=np.int64)
    for f in range(x.shape[0]):
        L = box[f]
        w = _in_box(x[f][sel], L)
        p = cKDTree(w, boxsize=L).query_pairs(threshold, output_type="ndarray")
        if p.size:
            d = w[p[:, 1]] - w[p[:, 0]]
            d -= L * np.round(d / L)
            # query_pairs includes r == threshold; the measure is strict
            p = p[(mol[p[:, 0]] != mol[p[:, 1]]) & (np.linalg.norm(d, axis=1) < threshold)]
        pairs[f] = len(p)
        atoms[f] = np.unique(p).size
    return CloseContacts(float(threshold), pairs, atoms, int(n_inter))
