"""Inference: reconstruct all-atom frames from CG frames with a trained :class:`~cgbench.backmap.dbm.module.DBM`.

Per frame, the atoms start from a template (a whole training conformation, each bead's atoms
rigidly fitted onto the CG molecule). The initial sweep then generates every bead atom after atom
in build order; each of the ``n_gibbs`` sweeps after it regenerates every atom alone, with all the
other atoms of its bead and environment present (per-atom Gibbs mode, as in the method's papers).
Every generation makes ``n_candidates`` candidates (fresh noise, fresh rotation about the bead's
local z axis); when the consistency projection is on, each candidate bead is translated onto its
CG bead *before* its force-field energy is computed, so the kept candidate is judged as it will be
written. The kept candidate is the lowest-energy one, or a Boltzmann draw at ``temperature_K``.

Clashes: an atom is in a clash when its Lennard-Jones pair energy with any atom exceeds
``clash_kT`` k_BT (GROMACS' form, no soft core). A generator that places most atoms well still puts
a few hydrogens on top of a neighbour's (the voxel grid is 0.15 nm), and one such overlap puts its
bead's projected force orders of magnitude beyond the AA reference's. So candidates are ranked by
their number of atoms in a clash before their energy, and ``n_repair`` further sweeps regenerate
whole the beads that still hold an atom in a clash, each from ``repair_candidates`` candidates.
Every run reports the fraction of atoms in a clash after it (``clash_atom_fraction``).

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

from ...core.errors import CgbenchError
from ...core.units import KB_KJ_MOL_K
from ...geometry.pbc import make_whole
from .frames import EnvironmentBuilder, to_global


def colour_beads(r, box, spec, cutoff):
    """Greedy colouring of the bead-conflict graph of every frame.

    Two beads conflict when their centres are closer than ``cutoff`` (minimum image) or when they
    share a bonded interaction. Beads are coloured in depth-first rank (all molecules' roots first),
    each with the smallest colour above its DFS parent's that no conflicting bead holds yet.

    Parameters
    ----------
    r : ndarray, shape (F, n_molecules * n_beads, 3), nm
    box : ndarray, shape (F, 3), nm
    spec : cgbench.backmap.dbm.molecule.MoleculeSpec
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
    spec : cgbench.backmap.dbm.molecule.MoleculeSpec
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
    model : cgbench.backmap.dbm.module.DBM
    n_gibbs : int
        Per-atom Gibbs sweeps after the initial sweep.
    n_candidates : int
        Candidates per generation.
    consistency : {"none", "project"}
        ``project`` translates every generated bead so that its centre of mass is the CG bead
        (before the candidates are judged).
    batch_size : int
        Largest number of generated samples (beads x candidates) per network call.
    conflict_cutoff_nm : float, optional
        Bead distance below which two beads may not share a colour; by default the model's
        environment cut-off, the smallest value that keeps same-colour beads independent.
    seed : int
    selection : {"min", "boltzmann"}
        Keep the lowest-energy candidate (the study), or draw one with probability
        :math:`\\propto e^{-E/k_BT}` so that the choice does not narrow the distributions.
    temperature_K : float
        Temperature of the Boltzmann draw, and of ``clash_kT``.
    n_repair : int
        Sweeps that regenerate only the beads holding an atom in a clash.
    repair_candidates : int
        New candidates per repaired bead; its current atoms are one more, so no repair makes a
        bead worse.
    clash_kT : float
        Pair energy, in k_BT, above which an atom is in a clash.
    """

    def __init__(self, model, n_gibbs=2, n_candidates=4, consistency="none", batch_size=512,
                 conflict_cutoff_nm=None, seed=0, selection="min", temperature_K=450.0, n_repair=0,
                 repair_candidates=8, clash_kT=10.0):
        if consistency not in ("none", "project"):
            raise CgbenchError(f"consistency must be 'none' or 'project', got {consistency!r}")
        if selection not in ("min", "boltzmann"):
            raise CgbenchError(f"selection must be 'min' or 'boltzmann', got {selection!r}")
        if int(n_candidates) < 1 or int(repair_candidates) < 1:
            raise CgbenchError(f"n_candidates and repair_candidates must be at least 1, got {n_candidates}, "
                               f"{repair_candidates}")
        self.model = model.eval()
        self.spec = model.spec
        self.n_gibbs, self.n_candidates = int(n_gibbs), int(n_candidates)
        self.consistency, self.batch_size, self.seed = consistency, int(batch_size), int(seed)
        self.selection, self.kT = selection, KB_KJ_MOL_K * float(temperature_K)
        self.n_repair, self.repair_candidates = int(n_repair), int(repair_candidates)
        self.clash_kj = float(clash_kT) * self.kT
        self.cutoff = float(model.hparams.env_cutoff_nm)
        self.conflict_cutoff = float(conflict_cutoff_nm or self.cutoff)
        if self.conflict_cutoff < self.cutoff:
            raise CgbenchError("conflict_cutoff_nm below the environment cut-off would batch dependent beads")

    @torch.no_grad()
    def run(self, r, box, serial=False, progress=None):
        """Backmap CG frames.

        Parameters
        ----------
        r : ndarray, shape (F, n_molecules * n_beads, 3), nm
            CG positions, bead order as the mapping, molecule after molecule.
        box : ndarray, shape (F, 3), nm
        serial : bool
            One bead at a time (same result, for benchmarks and tests).
        progress : callable, optional
            Called with (done, total) generation batches as the sweeps advance.

        Returns
        -------
        x : ndarray, shape (F, n_molecules * n_atoms, 3), float32, nm
            Whole molecules in the AA topology's atom order.
        info : dict
            ``n_colours``, ``wall_s``, ``molecules_per_s``, ``energy_kj_mol`` (mean per bead of the
            kept candidates in the last sweep), ``repaired_atoms`` (per repair sweep) and
            ``clash_atom_fraction`` (after the last sweep).
        """
        spec, dev = self.spec, self.model.device
        if r.shape[1] % spec.n_beads:
            raise CgbenchError(f"{r.shape[1]} beads are not whole molecules of {spec.n_beads} beads")
        t0 = time.perf_counter()
        R = torch.as_tensor(np.asarray(r), dtype=torch.float32, device=dev)
        B = torch.as_tensor(np.asarray(box), dtype=torch.float32, device=dev)
        R = make_whole(R, B, spec.bead_bonds, spec.n_beads, fragments=True)
        X = template_start(R, spec)
        colours = torch.as_tensor(colour_beads(R.cpu().numpy(), B.cpu().numpy(), spec, self.conflict_cutoff),
                                  device=dev)
        n_colours = int(colours.max()) + 1
        counter = EnvironmentBuilder(spec, self.cutoff, 1)
        builder = EnvironmentBuilder(spec, self.cutoff, counter.count(R, B) + 2)
        builder.index(R, B)  # the CG frames stay fixed: each bead's environment list is found once
        k = self.n_candidates
        step = 1 if serial else max(1, self.batch_size // k)
        members = [torch.nonzero(colours == c, as_tuple=True) for c in range(n_colours)]
        repair_step = 1 if serial else max(1, self.batch_size // self.repair_candidates)
        total = sum((1 + self.n_gibbs) * -(-len(f) // step) + self.n_repair * -(-len(f) // repair_step)
                    for f, _ in members)
        done, energies = 0, []
        for sweep in range(1 + self.n_gibbs):
            energies = []
            for c, (frame, bead) in enumerate(members):
                n = len(frame)
                z, angle, u = self._draws(self.seed * 1_000_003 + sweep * 10_007 + c, n, k)
                for s in range(0, n, step):
                    sl = slice(s, s + step)
                    if sweep == 0:
                        e = self._build(X, R, B, builder, frame[sl], bead[sl], z[sl], angle[sl, :, 0], u[sl, 0])
                    else:
                        e = self._gibbs(X, R, B, builder, frame[sl], bead[sl], z[sl], angle[sl], u[sl])
                    energies.append(e)
                    done += 1
                    if progress is not None:
                        progress(done, total)
        repaired = []
        for sweep in range(self.n_repair):
            count = 0
            for c, (frame, bead) in enumerate(members):
                n = len(frame)
                z, angle, u = self._draws(self.seed * 1_000_003 + 7_919 * (sweep + 1) + 104_729 + c, n,
                                          self.repair_candidates)
                for s in range(0, n, repair_step):
                    sl = slice(s, s + repair_step)
                    count += self._repair(X, R, B, builder, frame[sl], bead[sl], z[sl], angle[sl], u[sl])
                    done += 1
                    if progress is not None:
                        progress(done, total)
            repaired.append(count)
        clashes = sum(int(self.clashes(X, R, B, builder, frame[s:s + self.batch_size], bead[s:s + self.batch_size]).sum())
                      for frame, bead in members for s in range(0, len(frame), self.batch_size))
        info = {"n_colours": n_colours, "wall_s": time.perf_counter() - t0,
                "energy_kj_mol": float(torch.cat(energies).mean()) if energies else float("nan"),
                "repaired_atoms": repaired, "clash_atom_fraction": clashes / X.shape[0] / X.shape[1]}
        info["molecules_per_s"] = R.shape[0] * R.shape[1] / spec.n_beads / info["wall_s"]
        return X.cpu().numpy(), info

    def _draws(self, seed, n, k):
        """Noise (n, k, K, z_dim), rotation angles (n, k, K) and uniforms (n, K) of ``n`` beads."""
        g = torch.Generator(device=self.model.device).manual_seed(seed)
        K, dev = self.spec.max_atoms, self.model.device
        z = torch.randn(n, k, K, self.model.hparams.z_dim, generator=g, device=dev)
        angle = torch.rand(n, k, K, generator=g, device=dev) * (2 * np.pi)
        return z, angle, torch.rand(n, K, generator=g, device=dev)

    def _judge(self, env, pos, n, u):
        """Project the candidates (when asked), then keep one per bead by energy.

        ``env`` and ``pos`` (n * k, K, 3) hold the candidates of ``n`` beads in a row; ``u`` (n,)
        uniform numbers for the Boltzmann draw. Returns the kept rows (n,), their positions
        (n, K, 3) in their local frames, and their energies (n,).
        """
        k = pos.shape[0] // n
        if self.consistency == "project":
            # the CG bead is the local frame's origin: remove the candidate bead's COM offset
            pos = pos - self.model.com_offset(env, pos)[:, None, :]
        e = sum(self.model.energy(env, pos).values()).reshape(n, k)
        if k > 1:
            # the prior's soft core rates an overlap at tens of kJ/mol where the force field has
            # thousands: only the candidates with the fewest atoms in a clash are judged by energy
            worst = self.model.ff.worst_contact(self.model.with_bead(env, pos), env, self.spec.max_atoms)
            n_clash = (worst > self.clash_kj).sum(1).reshape(n, k)
            e = torch.where(n_clash == n_clash.min(1, keepdim=True).values, e, torch.full_like(e, np.inf))
        if self.selection == "min" or k == 1:
            best = e.argmin(1)
        else:
            # a non-finite energy (overlapping atoms) gets no weight; u was drawn beforehand, so the
            # batched and the serial paths draw alike
            finite = torch.isfinite(e)
            e_min = torch.where(finite, e, torch.full_like(e, np.inf)).min(1, keepdim=True).values
            logp = torch.where(finite, -(e - e_min) / self.kT, torch.full_like(e, -np.inf))
            cdf = torch.softmax(logp, 1).cumsum(1)
            best = (cdf < u[:, None] * cdf[:, -1:]).sum(1).clamp(max=k - 1)
        pick = torch.arange(n, device=pos.device) * k + best
        return pick, pos[pick], e.gather(1, best[:, None])[:, 0]

    def _write(self, X, env, pick, pos, frame):
        """Write the kept beads' atoms (local frames of rows ``pick``) into ``X`` (global)."""
        K = self.spec.max_atoms
        x = to_global(pos, env.origin[pick], env.rot[pick])  # (n, K, 3)
        slots = env.atom_global[pick, :K]
        ok = env.atom_mask[pick, :K]
        X[frame[:, None].expand(-1, K)[ok], slots[ok]] = x[ok]

    def _build(self, X, R, box, builder, frame, bead, z, angle, u):
        """Initial sweep: generate whole beads atom after atom; keep one candidate each."""
        n, k = z.shape[:2]
        K = self.spec.max_atoms
        env = builder(R, X, box, frame, bead).repeat(k).rotated(angle.reshape(-1))
        pos, _ = self.model(env, z.reshape(n * k, K, -1), keep_conditions=False)
        pick, pos, e = self._judge(env, pos, n, u)
        self._write(X, env, pick, pos, frame)
        return e

    def _gibbs(self, X, R, box, builder, frame, bead, z, angle, u):
        """Gibbs sweep: regenerate every atom of the beads alone, the rest of the bead present."""
        n, k = z.shape[:2]
        K = self.spec.max_atoms
        valid = torch.as_tensor(self.spec.bead_atoms >= 0, device=X.device)[bead % self.spec.n_beads]  # (n, K)
        e = None
        for s in range(K):
            if not valid[:, s].any():
                continue
            # the candidates differ in their noise only and share one encoding of their condition
            env = builder(R, X, box, frame, bead).rotated(angle[:, 0, s])
            new = self.model.regenerate(env, s, z[:, :, s].reshape(n * k, -1), k)
            env = env.repeat(k)
            pos = env.atom_pos[:, :K].clone()
            pos[:, s] = new
            pick, pos, e_s = self._judge(env, pos, n, u[:, s])
            rows = torch.nonzero(valid[:, s], as_tuple=True)[0]  # beads with no atom in this slot keep theirs
            self._write(X, env, pick[rows], pos[rows], frame[rows])
            e = e_s if e is None else torch.where(valid[:, s], e_s, e)
        return e

    def clashes(self, X, R, box, builder, frame, bead):
        """(n, K) mask of the beads' atoms that are in a clash at their current positions."""
        env = builder(R, X, box, frame, bead)
        K = self.spec.max_atoms
        valid = torch.as_tensor(self.spec.bead_atoms >= 0, device=X.device)[bead % self.spec.n_beads]
        return valid & (self.model.ff.worst_contact(env.atom_pos, env, K) > self.clash_kj)

    def _repair(self, X, R, box, builder, frame, bead, z, angle, u):
        """Regenerate the beads that hold an atom in a clash; returns how many atoms were in one.

        Each such bead's current atoms compete with its ``k`` new candidates, so a repair never
        leaves a bead with more atoms in a clash (or, at as many, a higher energy) than before, and
        repeated sweeps only descend.
        """
        flag = self.clashes(X, R, box, builder, frame, bead)
        rows = torch.nonzero(flag.any(1), as_tuple=True)[0]
        if not len(rows):
            return 0
        n, k = len(rows), z.shape[1]
        K = self.spec.max_atoms
        turn = torch.cat([angle[rows, :, 0], torch.zeros(n, 1, device=angle.device)], 1)  # the current one unturned
        env = builder(R, X, box, frame[rows], bead[rows]).repeat(k + 1).rotated(turn.reshape(-1))
        new = torch.ones(n, k + 1, dtype=torch.bool, device=X.device)
        new[:, -1] = False
        new = new.reshape(-1)
        pos = env.atom_pos[:, :K].clone()
        pos[new], _ = self.model(env.index(new), z[rows].reshape(n * k, K, -1), keep_conditions=False)
        pick, pos, _ = self._judge(env, pos, n, u[rows, 0])
        self._write(X, env, pick, pos, frame[rows])
        return int(flag.sum())
