"""Feature channels of the condition: what each environment particle is to the atom being placed.

For the atom ``t`` about to be placed, an environment atom ``j`` of the same molecule lights the
channel of every interaction class it shares with ``t``: each bond class, angle class, proper and
improper dihedral class (classes are distinct parameter sets of the force field), and the
intramolecular Lennard-Jones class (heavy or hydrogen) when the pair is not excluded. Atoms of
other molecules light an intermolecular LJ channel (heavy or hydrogen). Beads add one channel per
bead type and one for beads of the central bead's molecule. The atom type of ``t`` is a separate
one-hot label, not a channel.
"""

import numpy as np
import torch


def _classes(params):
    """Class index of each row of ``params``; rows equal to 1e-6 share a class."""
    if len(params) == 0:
        return np.zeros(0, dtype=int), 0
    _, inv = np.unique(np.round(np.asarray(params, dtype=float), 6), axis=0, return_inverse=True)
    inv = inv.ravel()
    return inv, int(inv.max()) + 1


class FeatureSpec:
    """Channel layout and lookup tables of one molecule.

    Parameters
    ----------
    spec : cgbench.backmap.dbm.molecule.MoleculeSpec

    Attributes
    ----------
    relation : ndarray, shape (n_atoms, n_atoms, n_atom_channels)
        ``relation[t, j]``: channel weights of atom ``j`` of the same molecule as seen from ``t``.
    inter : ndarray, shape (n_atoms, n_atom_channels)
        Channel weights of an atom of another molecule.
    names : list of str
        Channel names, atom channels first, then bead channels.
    """

    def __init__(self, spec):
        n = spec.n_atoms
        names, blocks = [], []
        for kind, idx, params in (
            ("bond", spec.bonds, spec.bond_params),
            ("angle", spec.angles, spec.angle_params),
            ("proper", spec.propers, spec.proper_params),
            ("improper", spec.impropers, spec.improper_params),
        ):
            cls, m = _classes(params)
            rel = np.zeros((n, n, m))
            for row, c in zip(idx, cls):
                for t in row:
                    for j in row:
                        if j != t:
                            rel[t, j, c] = 1.0
            blocks.append(rel)
            names += [f"{kind}{c}" for c in range(m)]
        heavy = spec.elements > 1
        dist = spec.graph_distance()
        nonexcl = dist >= 3  # nrexcl = 3: 1-2 and 1-3 excluded, 1-4 scaled but present
        lj = np.zeros((n, n, 2))
        lj[..., 0] = nonexcl & heavy[None, :]
        lj[..., 1] = nonexcl & ~heavy[None, :]
        blocks.append(lj)
        blocks.append(np.zeros((n, n, 2)))
        names += ["lj_intra_heavy", "lj_intra_h", "lj_inter_heavy", "lj_inter_h"]
        self.relation = np.concatenate(blocks, axis=-1)
        self.inter = np.zeros((n, self.relation.shape[-1]))
        self.inter[heavy, -2] = 1.0
        self.inter[~heavy, -1] = 1.0
        self.n_atom_channels = self.relation.shape[-1]
        self.n_bead_types = len(spec.bead_type_names)
        self.n_bead_channels = self.n_bead_types + 1
        self.names = names + [f"bead_{t}" for t in spec.bead_type_names] + ["bead_same_molecule"]
        self.n_channels = self.n_atom_channels + self.n_bead_channels
        self.n_labels = len(spec.atom_type_names)
        self.atom_type = np.asarray(spec.atom_type)

    def tables(self, device, dtype=torch.float32):
        """The lookup tables as tensors on ``device``."""
        return (
            torch.as_tensor(self.relation, device=device, dtype=dtype),
            torch.as_tensor(self.inter, device=device, dtype=dtype),
        )


def atom_weights(relation, inter, target, atom_local, atom_same, present):
    """Channel weights of environment atoms as seen from the atoms being placed.

    Parameters
    ----------
    relation : Tensor, shape (n_atoms, n_atoms, C)
    inter : Tensor, shape (n_atoms, C)
    target : Tensor, shape (B,), int64
        Molecule-local index of the atom being placed.
    atom_local : Tensor, shape (B, A), int64
    atom_same : Tensor, shape (B, A), bool
    present : Tensor, shape (B, A), bool
        Atoms that exist at this step (masked slots, the target and not-yet-placed atoms are absent).

    Returns
    -------
    Tensor, shape (B, A, C)
    """
    intra = relation[target[:, None], atom_local]
    w = torch.where(atom_same[..., None], intra, inter[atom_local])
    return w * present[..., None].to(w.dtype)


def bead_weights(bead_type, bead_same, bead_mask, n_bead_types):
    """Channel weights of environment beads: type one-hot plus same-molecule flag, (B, Kb, T + 1)."""
    onehot = torch.nn.functional.one_hot(bead_type, n_bead_types).to(torch.float32)
    w = torch.cat([onehot, bead_same[..., None].to(torch.float32)], dim=-1)
    return w * bead_mask[..., None].to(torch.float32)
