"""Inference: reconstruct all-atom frames from CG frames with a trained :class:`~cgbench.dbm.module.DBM`.

Per frame, the atoms start from a template (a whole training conformation, each bead's atoms
rigidly fitted onto the CG molecule), then every bead is regenerated in ``1 + n_gibbs`` sweeps
(the initial sweep and the Gibbs sweeps differ only in what the other beads look like). Each bead
is generated ``n_candidates`` times, with fresh noise and a fresh rotation about its local z axis,
and the candidate with the lowest force-field energy is kept.

Batching: a bead's generation reads only its environment (beads within the cut-off, plus bonded
partners). Two beads that are not in each other's environment are therefore independent given the
rest, so beads are coloured such that no two beads of one colour conflict, and a whole colour is
generated at once, over all frames. Colours also respect the depth-first order inside a molecule
(a bead gets a later colour than its DFS parent), so the initial sweep builds each molecule
outwards from its root like the serial algorithm. The serial path (:meth:`Backmapper.run` with
``serial=True``) generates the same beads in the same colour order one at a time, with the same
random numbers, and so gives the same result: the tests use that to check the batching.
"""

import time

import numpy as np
import torch
from scipy.spatial import cKDTree

from ..errors import CgbenchError
from .frames import EnvironmentBuilder, make_whole, minimum_image, to_global


def colour_beads(r, box, spec, cutoff):
    """Greedy colouring of the bead-conflict graph of every frame.

    Two beads conflict when their centres are closer than ``cutoff`` (minimum image) or when they
    share a bonded interaction. Beads are coloured in depth-first rank (all molecules' roots first),
    each with the smallest colour above its DFS parent's that no conflicting bead holds yet.

    Parameters
    ----------
    r : ndarray, shape (F, n_molecules * n_beads, 3), nm
    box : ndarray, shape (F, 3), nm
    spec : cgbench.dbm.molecule.MoleculeSpec
    cutoff : float, nm

    Returns
    -------
    ndarray, shape (F, n_molecules * n_beads), int64
    """
    nb = spec.n_beads
    n = r.shape[1]
    rank = np.empty(nb, int)
    rank[spec.bead_order] = np.arange(nb)
    order = np.lexsort((np.arange(n) // nb, rank[np.arange(n) % nb]))
    partners = spec.bead_partners()
    parent = spec.bead_parent
    out = np.empty((r.shape[0], n), np.int64)
    for f in range(r.shape[0]):
        L = box[f].astype(float)
        p = np.mod(r[f].astype(float), L)
        p[p >= L] = 0.0
        pairs = cKDTree(p, boxsize=L).query_pairs(cutoff, output_type="ndarray")
        nbrs = [[] for _ in range(n)]
        for i, j in pairs:
            nbrs[i].append(j)
            nbrs[j].append(i)
        for m in range(n // nb):
            for i in range(nb):
                for j in np.flatnonzero(partners[i]):
                    if j != i:
                        nbrs[m * nb + i].append(m * nb + j)
        col = np.full(n, -1)
        for g in order:
            used = {col[j] for j in nbrs[g] if col[j] >= 0}
            pa = parent[g % nb]
            c = col[g - g % nb + pa] + 1 if pa >= 0 else 0
            while c in used:
                c += 1
            col[g] = c
        out[f] = col
    return out


def kabsch(p, q):
    """Rotations that best map point sets ``p`` onto ``q`` (both centred), (..., n, 3) -> (..., 3, 3)."""
    h = p.transpose(-1, -2) @ q
    u, _, vt = torch.linalg.svd(h)
    d = torch.sign(torch.linalg.det(vt.transpose(-1, -2) @ u.transpose(-1, -2)))
    diag = torch.ones_like(h[..., 0])
    diag[..., 2] = d
    return vt.transpose(-1, -2) @ torch.diag_embed(diag) @ u.transpose(-1, -2)


def template_start(r, spec):
    """Initial atom positions: the template's beads rigidly fitted onto each CG molecule.

    Each bead's atoms are rotated by the rotation that best maps the template's whole CG molecule,
    seen from that bead, onto the target CG molecule, and placed on the target bead.

    Parameters
    ----------
    r : Tensor, shape (F, n_molecules * n_beads, 3), nm
        Whole CG molecules.
    spec : cgbench.dbm.molecule.MoleculeSpec
        With ``template`` set.

    Returns
    -------
    Tensor, shape (F, n_molecules * n_atoms, 3), nm
    """
    if spec.template is None:
        raise CgbenchError("the model has no template conformation to start inference from")
    nb, na = spec.n_beads, spec.n_atoms
    f = r.shape[0]
    t = torch.as_tensor(spec.template, dtype=r.dtype, device=r.device)
    w = torch.as_tensor(spec.com_weights(), dtype=r.dtype, device=r.device)
    tb = w @ t  # (nb, 3) template beads
    rm = r.reshape(f, -1, nb, 3)
    # every bead's view of its molecule, template and target: (nb, nb, 3) and (F, M, nb, nb, 3)
    q = tb[None, :, :] - tb[:, None, :]
    p = rm[:, :, None, :, :] - rm[:, :, :, None, :]
    rot = kabsch(q.expand(*p.shape), p)  # (F, M, nb, 3, 3)
    bead = torch.as_tensor(spec.bead_of_atom, device=r.device)
    local = t - tb[bead]  # (na, 3)
    x = torch.einsum("fmaij,aj->fmai", rot[:, :, bead], local) + rm[:, :, bead]
    return x.reshape(f, -1, 3)


class Backmapper:
    """Runs inference with a trained model.

    Parameters
    ----------
    model : cgbench.dbm.module.DBM
    n_gibbs : int
        Sweeps after the initial one.
    n_candidates : int
        Candidates per bead; the lowest-energy one is kept.
    consistency : {"none", "project"}
        ``project`` translates every generated bead so that its centre of mass is the CG bead.
    batch_size : int
        Largest number of generated samples (beads x candidates) per network call.
    conflict_cutoff_nm : float, optional
        Bead distance below which two beads may not share a colour; by default the model's
        environment cut-off, the smallest value that keeps same-colour beads independent.
    seed : int
    """

    def __init__(self, model, n_gibbs=2, n_candidates=4, consistency="none", batch_size=512,
                 conflict_cutoff_nm=None, seed=0):
        if consistency not in ("none", "project"):
            raise CgbenchError(f"consistency must be 'none' or 'project', got {consistency!r}")
        self.model = model.eval()
        self.spec = model.spec
        self.n_gibbs, self.n_candidates = int(n_gibbs), int(n_candidates)
        self.consistency, self.batch_size, self.seed = consistency, int(batch_size), int(seed)
        self.cutoff = float(model.hparams.env_cutoff_nm)
        self.conflict_cutoff = float(conflict_cutoff_nm or self.cutoff)
        if self.conflict_cutoff < self.cutoff:
            raise CgbenchError("conflict_cutoff_nm below the environment cut-off would batch dependent beads")
        w = torch.as_tensor(self.spec.com_weights(), dtype=torch.float32)
        ba = torch.as_tensor(self.spec.bead_atoms)
        self._bead_w = (w.gather(1, ba.clamp_min(0)) * (ba >= 0)).to(model.device)

    @torch.no_grad()
    def run(self, r, box, serial=False):
        """Backmap CG frames.

        Parameters
        ----------
        r : ndarray, shape (F, n_molecules * n_beads, 3), nm
            CG positions, bead order as the mapping, molecule after molecule.
        box : ndarray, shape (F, 3), nm
        serial : bool
            One bead at a time (same result, for benchmarks and tests).

        Returns
        -------
        x : ndarray, shape (F, n_molecules * n_atoms, 3), float32, nm
            Whole molecules in the AA topology's atom order.
        info : dict
            ``n_colours``, ``wall_s``, ``molecules_per_s``, ``energy_kj_mol`` (mean per bead of the
            kept candidates in the last sweep).
        """
        spec, dev = self.spec, self.model.device
        if r.shape[1] % spec.n_beads:
            raise CgbenchError(f"{r.shape[1]} beads are not whole molecules of {spec.n_beads} beads")
        t0 = time.perf_counter()
        R = torch.as_tensor(np.asarray(r), dtype=torch.float32, device=dev)
        B = torch.as_tensor(np.asarray(box), dtype=torch.float32, device=dev)
        R = make_whole(R, B, spec.n_beads, spec.bead_bonds)
        X = template_start(R, spec)
        colours = torch.as_tensor(colour_beads(R.cpu().numpy(), B.cpu().numpy(), spec, self.conflict_cutoff),
                                  device=dev)
        n_colours = int(colours.max()) + 1
        counter = EnvironmentBuilder(spec, self.cutoff, 1)
        builder = EnvironmentBuilder(spec, self.cutoff, counter.count(R, B) + 2)
        energies = []
        for sweep in range(1 + self.n_gibbs):
            energies = []
            for c in range(n_colours):
                frame, bead = torch.nonzero(colours == c, as_tuple=True)
                g = torch.Generator(device=dev).manual_seed(self.seed * 1_000_003 + sweep * 10_007 + c)
                n, k = len(frame), self.n_candidates
                z = torch.randn(n, k, spec.max_atoms, self.model.hparams.z_dim, generator=g, device=dev)
                angle = torch.rand(n, k, generator=g, device=dev) * (2 * np.pi)
                step = 1 if serial else max(1, self.batch_size // k)
                for s in range(0, n, step):
                    sl = slice(s, s + step)
                    energies.append(self._place(X, R, B, builder, frame[sl], bead[sl], z[sl], angle[sl]))
        info = {"n_colours": n_colours, "wall_s": time.perf_counter() - t0,
                "energy_kj_mol": float(torch.cat(energies).mean()) if energies else float("nan")}
        info["molecules_per_s"] = R.shape[0] * R.shape[1] / spec.n_beads / info["wall_s"]
        return X.cpu().numpy(), info

    def _place(self, X, R, box, builder, frame, bead, z, angle):
        """Generate candidates for beads ``bead`` of frames ``frame``, keep the best, write into ``X``."""
        n, k = z.shape[:2]
        K = self.spec.max_atoms
        env = builder(R, X, box, frame, bead).repeat(k).rotated(angle.reshape(-1))
        pos, _ = self.model(env, z.reshape(n * k, K, -1), keep_conditions=False)
        e = sum(self.model.energy(env, pos).values()).reshape(n, k)
        best = e.argmin(1)
        pick = torch.arange(n, device=X.device) * k + best
        pos, rot = pos[pick], env.rot[pick]
        x = to_global(pos, env.origin[pick], rot)  # (n, K, 3)
        if self.consistency == "project":
            w = self._bead_w[env.centre_local[pick]]
            x = x + (env.origin[pick] - (w[..., None] * x).sum(1))[:, None, :]
        slots = env.atom_global[pick, :K]
        ok = env.atom_mask[pick, :K]
        X[frame[:, None].expand(-1, K)[ok], slots[ok]] = x[ok]
        return e.gather(1, best[:, None])[:, 0]


def reprojection_rmsd(x, r, box, spec):
    """RMSD (nm) between the CG mapping of backmapped frames and the CG input (study Table 1).

    ``x`` (F, n_mol * n_atoms, 3), ``r`` (F, n_mol * n_beads, 3), ``box`` (F, 3), all nm.
    """
    f = x.shape[0]
    w = spec.com_weights()
    m = np.einsum("ba,fmak->fmbk", w, np.asarray(x, float).reshape(f, -1, spec.n_atoms, 3)).reshape(f, -1, 3)
    d = minimum_image(torch.as_tensor(m - np.asarray(r, float)), torch.as_tensor(np.asarray(box, float))[:, None, :])
    return float(torch.sqrt((d**2).sum(-1).mean()))
