"""The DBM LightningModule: conditional WGAN-GP with an OPLS-AA energy prior, after a supervised warm-up.

One training sample is one bead in one frame. Its atoms are generated one after the other in build
order; everything outside the bead sits at its reference position (teacher forcing).

Training has two phases, counted in generator updates:

1. **Warm-up** (``warmup_steps`` updates): supervised. Every atom of the bead is generated in one
   batched call from its teacher-forced condition, ``n_draws`` times with fresh noise, and the draw
   nearest to the reference is pulled onto it (squared error). The nearest of several draws, not
   their mean, so that an atom with two likely places (a ring flip, the two signs of a torsion) is
   not averaged onto the axis between them. A fraction ``gibbs_fraction`` of the atoms is conditioned
   in per-atom Gibbs mode: every other atom of the bead present, only the target missing, which is
   how every inference sweep after the first regenerates atoms.
2. **Adversarial**: every batch updates the critic, every ``n_critic``-th batch the generator, on the
   free-running generation of whole beads. The generator loss adds the energy prior (bonded terms
   weighted ``bonded_weight`` against the pair terms, ramped from 0 to ``lambda_pot``), the
   centre-of-mass term and the warm-up loss as an anchor with weight ``lambda_sup``.

Optimisation is manual; both ``optimizer.step()`` calls advance ``global_step``, so budget training
in epochs (the warm-up counts generator updates itself, in a buffer saved with the checkpoint).
"""

import contextlib
import math
import time

import lightning as L
import torch

from . import features, voxels
from .energy import ForceField
from .features import FeatureSpec
from .molecule import MoleculeSpec
from .networks import Critic, Generator

#: Energy terms that are bonded (the prior weighs them by ``bonded_weight``).
BONDED = ("Bond", "Angle", "Ryckaert-Bell.", "Improper")
#: Hyperparameters that fix the networks' shapes: a model can only start from weights that agree on them.
ARCHITECTURE = ("grid", "box_nm", "sigma_nm", "env_cutoff_nm", "n_filters", "z_dim", "critic_norm")


def ramp(progress, final):
    """Half a cosine from 0 (``progress`` <= 0) to ``final`` (``progress`` >= 1): smooth at both ends."""
    p = min(1.0, max(0.0, float(progress)))
    return final * 0.5 * (1.0 - math.cos(math.pi * p))


class DBM(L.LightningModule):
    """Deep backmapping model of one molecule.

    Parameters
    ----------
    molecule : dict
        :meth:`cgbench.backmap.dbm.molecule.MoleculeSpec.to_dict` (stored in the checkpoint).
    grid : int
        Voxels per axis.
    box_nm : float
        Edge of the voxel box, nm.
    sigma_nm : float
        Width of each particle's Gaussian, nm.
    env_cutoff_nm : float
        Bead-centre distance that puts a bead in an environment, nm.
    n_filters, z_dim : int
        Network width and noise dimension.
    critic_norm : {"group", "spectral"}
        Normalisation of the critic's layers.
    warmup_steps : int
        Supervised generator updates before the adversarial phase (0: adversarial from the start).
    n_draws : int
        Noise draws per atom in the supervised loss; the nearest one is pulled to the reference.
    gibbs_fraction : float
        Fraction of supervised atom samples conditioned in per-atom Gibbs mode.
    lambda_sup : float
        Weight of the supervised loss in the adversarial phase (an anchor), per nm^2.
    lr_warmup : float
        Initial learning rate of the warm-up, falling to 5 % of it along half a cosine (Adam with betas
        0.9, 0.999 there, the usual ones for regression;
        the adversarial phase uses ``lr_generator`` and ``beta1``, ``beta2``).
    lambda_gp : float
        Gradient-penalty weight (study: 0.1).
    lambda_drift : float
        Weight of the drift term :math:`\\epsilon\\, C(x_{real})^2` that keeps the critic's output near 0.
    n_critic : int
        Critic steps per generator step (study: 5).
    lambda_pot : float
        Final weight of the energy prior (study: 0.01), per kJ/mol.
    bonded_weight : float
        Weight of the bonded terms in the prior against the pair terms (1: the force field as it is).
    pot_ramp_fraction : float
        Fraction of the adversarial phase over which the prior's weight rises from 0 (half a cosine).
    lambda_com : float
        Weight of the centre-of-mass consistency loss, per nm^2 (0: off, as in the study).
    lambda_overlap : float
        Weight of the overlap loss of the supervised draws, per nm^2 (0: off; see :meth:`overlap`).
    overlap_kj_mol : float
        Lennard-Jones pair energy with an atom of another molecule that a draw should stay below.
    lr_generator, lr_critic : float
        Adam learning rates.
    beta1, beta2 : float
        Adam betas.
    energy_cutoff_nm, r_min_nm : float
        Pair cut-off of the prior and the distance below which pair terms continue linearly.
    coulomb : bool
        Include reaction-field Coulomb in the prior.
    """

    def __init__(self, molecule, grid=8, box_nm=1.2, sigma_nm=0.1, env_cutoff_nm=0.7, n_filters=32, z_dim=64,
                 critic_norm="group", warmup_steps=0, n_draws=4, gibbs_fraction=0.5, lambda_sup=1000.0,
                 lr_warmup=1e-3, lambda_gp=0.1, lambda_drift=0.0, n_critic=5, lambda_pot=0.01, bonded_weight=1.0,
                 pot_ramp_fraction=0.5, lambda_com=0.0, lambda_overlap=0.0, overlap_kj_mol=20.0, lr_generator=1e-4,
                 lr_critic=1e-4, beta1=0.0, beta2=0.9, energy_cutoff_nm=1.0, r_min_nm=0.2, coulomb=False):
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.spec = MoleculeSpec.from_dict(molecule)
        self.feat = FeatureSpec(self.spec)
        self.generator = Generator(self.feat.n_channels, self.feat.n_labels, n_filters, z_dim, grid)
        self.critic = Critic(self.feat.n_channels, self.feat.n_labels, n_filters, grid, critic_norm)
        self.ff = ForceField(self.spec, energy_cutoff_nm, r_min_nm, coulomb)
        rel, inter = self.feat.tables("cpu")
        self.register_buffer("relation", rel, persistent=False)
        self.register_buffer("inter", inter, persistent=False)
        self.register_buffer("grid_1d", voxels.grid_points(grid, box_nm), persistent=False)
        self.register_buffer("bead_atoms", torch.as_tensor(self.spec.bead_atoms), persistent=False)
        self.register_buffer("atom_label", torch.as_tensor(self.feat.atom_type), persistent=False)
        w = torch.as_tensor(self.spec.com_weights(), dtype=torch.float32)
        # mass fraction of each bead atom in build order, (n_beads, K)
        self.register_buffer("bead_weights", w.gather(1, self.bead_atoms.clamp_min(0)) * (self.bead_atoms >= 0),
                             persistent=False)
        # generator updates so far: decides the phase, and travels in checkpoints
        self.register_buffer("generator_updates", torch.zeros((), dtype=torch.long))
        # wall time between training steps summed over every attempt (the model card's training time)
        self.register_buffer("train_seconds", torch.zeros((), dtype=torch.float64))
        self.profile = False  #: time featurisation (synchronises the device; for benchmarks)
        self.timing = {"featurise_s": 0.0, "step_s": 0.0}
        self._t_last = None

    # ---- featurisation ------------------------------------------------------------------------
    def _sync(self):
        if self.profile and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    @contextlib.contextmanager
    def _featurising(self):
        """Adds the block's wall time to ``timing["featurise_s"]`` when profiling."""
        if not self.profile:
            yield
            return
        self._sync()
        t0 = time.perf_counter()
        yield
        self._sync()
        self.timing["featurise_s"] += time.perf_counter() - t0

    def bead_grid(self, env):
        """Bead channels, (B, T + 1, G, G, G); the same for every atom of a bead."""
        with self._featurising():
            w = features.bead_weights(env.bead_type, env.bead_same, env.bead_mask, self.feat.n_bead_types)
            return voxels.voxelise(env.bead_pos, w, self.grid_1d, self.hparams.sigma_nm)

    def condition(self, env, atom_pos, rows, slot, present, bead_grid):
        """Conditions for placing atom ``slot`` of the central beads ``rows``.

        Parameters
        ----------
        env : Environment
            A batch of B environments.
        atom_pos : Tensor, shape (B, A, 3), nm
            Environment atom positions; the central bead's slots hold what is placed so far.
        rows : Tensor, shape (N,), int64
            Environment of each sample.
        slot : Tensor, shape (N,), int64
            Build-order slot of the atom to place.
        present : Tensor, shape (N, K), bool
            Central-bead slots that are present in the condition (never the target's own).
        bead_grid : Tensor, shape (B, T + 1, G, G, G)

        Returns
        -------
        Tensor, shape (N, C, G, G, G)
        """
        with self._featurising():
            K = self.spec.max_atoms
            mask = env.atom_mask[rows]
            mask = torch.cat([mask[:, :K] & present, mask[:, K:]], 1)
            target = self.bead_atoms[env.centre_local[rows], slot].clamp_min(0)
            w = features.atom_weights(self.relation, self.inter, target, env.atom_local[rows], env.atom_same[rows],
                                      mask)
            return torch.cat([voxels.voxelise(atom_pos[rows], w, self.grid_1d, self.hparams.sigma_nm),
                              bead_grid[rows]], 1)

    def sequential_present(self, slot):
        """(N, K) bool: the slots built before ``slot`` (N,)."""
        k = torch.arange(self.spec.max_atoms, device=slot.device)
        return k[None, :] < slot[:, None]

    def gibbs_present(self, slot):
        """(N, K) bool: every slot but ``slot`` (N,) (per-atom Gibbs mode)."""
        k = torch.arange(self.spec.max_atoms, device=slot.device)
        return k[None, :] != slot[:, None]

    def labels(self, env):
        """(B, K) atom-type label of each atom of the central beads (0 on padding)."""
        return self.atom_label[self.bead_atoms[env.centre_local].clamp_min(0)]

    def blob(self, x):
        """Gaussian density of single atoms ``x`` (B, 3) -> (B, G, G, G)."""
        g = self.hparams.grid
        return voxels.blobs(x, self.grid_1d, self.hparams.sigma_nm).reshape(-1, g, g, g)

    def place(self, z, label, cond, draws=1):
        """Generated atom positions (N * draws, 3), nm, local frame, from conditions (N, C, G, G, G)."""
        logits, offsets = self.generator(z, label, cond, draws)
        return voxels.softmax_offset(logits, offsets, self.grid_1d)

    # ---- generation ---------------------------------------------------------------------------
    def forward(self, env, z, keep_conditions=True):
        """Generate the central beads' atoms one after the other.

        Parameters
        ----------
        env : Environment
        z : Tensor, shape (B, K, z_dim)
            Noise, one vector per atom.
        keep_conditions : bool
            Return the conditions (the critic needs them; inference does not, and they are the
            largest tensors of a step).

        Returns
        -------
        positions : Tensor, shape (B, K, 3), nm, local frame (padding rows are meaningless)
        conditions : list of K Tensors, shape (B, C, G, G, G), or an empty list
        """
        K = self.spec.max_atoms
        B = env.centre.shape[0]
        bead_grid = self.bead_grid(env)
        labels = self.labels(env)
        rest = env.atom_pos[:, K:]
        rows = torch.arange(B, device=env.centre.device)
        placed, conds = [], []
        for s in range(K):
            cur = torch.cat([*placed, env.atom_pos[:, len(placed):K], rest], 1) if placed else env.atom_pos
            slot = torch.full((B,), s, dtype=torch.long, device=rows.device)
            cond = self.condition(env, cur, rows, slot, self.sequential_present(slot), bead_grid)
            if keep_conditions:
                conds.append(cond)
            placed.append(self.place(z[:, s], labels[:, s], cond)[:, None])
        return torch.cat(placed, 1), conds

    def regenerate(self, env, slot, z, draws=1):
        """Per-atom Gibbs step: a new position of atom ``slot`` with every other bead atom present.

        Parameters
        ----------
        env : Environment
            Central bead atoms at their current positions.
        slot : int
        z : Tensor, shape (B * draws, z_dim)
        draws : int
            Candidates per environment (rows of ``z`` in groups of ``draws``); they share the
            encoding of their condition.

        Returns
        -------
        Tensor, shape (B * draws, 3), nm, local frame
        """
        B = env.centre.shape[0]
        rows = torch.arange(B, device=env.centre.device)
        s = torch.full((B,), int(slot), dtype=torch.long, device=rows.device)
        cond = self.condition(env, env.atom_pos, rows, s, self.gibbs_present(s), self.bead_grid(env))
        return self.place(z, self.labels(env)[:, slot].repeat_interleave(draws), cond, draws)

    def real_conditions(self, env):
        """Conditions with every previously placed atom at its reference position (K tensors)."""
        bead_grid = self.bead_grid(env)
        B = env.centre.shape[0]
        rows = torch.arange(B, device=env.centre.device)
        out = []
        for s in range(self.spec.max_atoms):
            slot = torch.full((B,), s, dtype=torch.long, device=rows.device)
            out.append(self.condition(env, env.atom_pos, rows, slot, self.sequential_present(slot), bead_grid))
        return out

    def with_bead(self, env, bead_pos):
        """Environment atom positions with the central bead's slots replaced, (B, A, 3)."""
        return torch.cat([bead_pos, env.atom_pos[:, self.spec.max_atoms:]], 1)

    def energy(self, env, bead_pos):
        """Force-field energy terms involving the central beads, dict of (B,) kJ/mol."""
        return self.ff.local(self.with_bead(env, bead_pos), env, self.spec.max_atoms)

    def noise(self, n, generator=None):
        return torch.randn(n, self.spec.max_atoms, self.hparams.z_dim, device=self.device, generator=generator)

    # ---- losses -------------------------------------------------------------------------------
    def supervised(self, env):
        """Nearest-of-``n_draws`` squared error of teacher-forced atoms, and their bead's COM offset.

        Every atom of every central bead is one sample, conditioned sequentially (the atoms built
        before it present) or, for a random ``gibbs_fraction`` of them, in per-atom Gibbs mode.

        Returns
        -------
        sup : Tensor, scalar, nm^2
            Mean over atoms of the smallest squared distance of a draw to the reference.
        com : Tensor, scalar, nm^2
            Mean squared offset of the bead's centre of mass built from the nearest draws.
        overlap : Tensor, scalar, nm^2
            Mean :meth:`overlap` of the draws other than the nearest (0 when ``lambda_overlap`` is 0
            or there is one draw).
        detail : dict of str -> Tensor
            ``sup_gibbs_nm2`` and ``sup_sequential_nm2`` (the same error per mode).
        """
        hp, K = self.hparams, self.spec.max_atoms
        valid = env.atom_mask[:, :K]
        rows, slot = torch.nonzero(valid, as_tuple=True)
        n = len(rows)
        gibbs = torch.rand(n, device=rows.device) < hp.gibbs_fraction
        present = torch.where(gibbs[:, None], self.gibbs_present(slot), self.sequential_present(slot))
        cond = self.condition(env, env.atom_pos, rows, slot, present, self.bead_grid(env))
        m = int(hp.n_draws)
        label = self.labels(env)[rows, slot].repeat_interleave(m)
        z = torch.randn(n * m, hp.z_dim, device=self.device)
        pos = self.place(z, label, cond, m).reshape(n, m, 3)
        err = (pos - env.atom_pos[rows, slot][:, None]).pow(2).sum(-1)
        best, pick = err.min(1)
        nearest = torch.zeros_like(env.atom_pos[:, :K])
        nearest[rows, slot] = pos[torch.arange(n, device=rows.device), pick]
        com = self.com_offset(env, nearest).pow(2).sum(-1).mean()
        overlap = torch.zeros((), device=pos.device)
        if hp.lambda_overlap > 0 and m > 1:
            # every draw but the one pulled onto the reference: generated neighbours can lie where the
            # reference atom is, and pushing that draw out of them would pull against the supervised
            # loss and bias the bonds; the others learn to leave room, and the candidates find it
            rest = torch.ones(n, m, dtype=torch.bool, device=pos.device)
            rest[torch.arange(n, device=pos.device), pick] = False
            overlap = self.overlap(env, rows, slot, pos)[rest].mean()
        detail = {"sup_gibbs_nm2": best[gibbs].mean().detach() if gibbs.any() else None,
                  "sup_sequential_nm2": best[~gibbs].mean().detach() if (~gibbs).any() else None}
        return best.mean(), com, overlap, {k: v for k, v in detail.items() if v is not None}

    def overlap(self, env, rows, slot, pos):
        """Squared shortfall of draws below the distance of a clash with atoms of other molecules.

        For each pair of a draw (atom ``slot`` of environment ``rows``) and an environment atom of
        another molecule, the shortfall is how far the pair is inside the distance at which its
        Lennard-Jones energy reaches ``overlap_kj_mol``; the loss is its square, summed over the
        partners (nm^2). Bounded where the energy is not, so one deep
        overlap cannot swamp the batch. Against reference neighbours it is almost always 0; it acts
        on environments built from the model's own output, where two generated beads can overlap.

        Parameters
        ----------
        env : Environment
        rows, slot : Tensor, shape (N,), int64
        pos : Tensor, shape (N, M, 3), nm, local frame

        Returns
        -------
        Tensor, shape (N, M), nm^2
        """
        other = env.atom_mask[rows] & ~env.atom_same[rows]  # (N, A)
        ai = self.bead_atoms[env.centre_local[rows], slot]  # (N,)
        aj = env.atom_local[rows]  # (N, A)
        sig = torch.sqrt(self.ff.sigma[ai][:, None] * self.ff.sigma[aj])
        eps = torch.sqrt(self.ff.epsilon[ai][:, None] * self.ff.epsilon[aj])
        # 4 eps (u^2 - u) = E with u = (sigma / r)^6, solved for r
        u = 0.5 * (1.0 + torch.sqrt(1.0 + self.hparams.overlap_kj_mol / eps))
        r_clash = sig * u.pow(-1.0 / 6.0)  # (N, A)
        r = torch.linalg.norm(pos[:, :, None, :] - env.atom_pos[rows][:, None, :, :], dim=-1)  # (N, M, A)
        short = torch.relu(r_clash[:, None, :] - r) * other[:, None, :]
        return short.pow(2).sum(-1)

    def _critic_inputs(self, env, pos, conds):
        K = self.spec.max_atoms
        valid = env.atom_mask[:, :K]
        with self._featurising():
            dens = torch.stack([self.blob(pos[:, s]) for s in range(K)], 1)  # (B, K, G, G, G)
        cond = torch.stack(conds, 1)  # (B, K, C, G, G, G)
        return dens[valid], cond[valid], self.labels(env)[valid]

    def gradient_penalty(self, real, fake, label):
        """WGAN-GP penalty :math:`(\\|\\nabla_{\\hat x} C(\\hat x)\\| - 1)^2` on random interpolates."""
        (dr, cr), (df, cf) = real, fake
        a = torch.rand(dr.shape[0], 1, 1, 1, device=dr.device)
        d = (a * dr + (1 - a) * df).requires_grad_(True)
        c = (a[..., None] * cr + (1 - a[..., None]) * cf).requires_grad_(True)
        out = self.critic(d, c, label)
        gd, gc = torch.autograd.grad(out.sum(), (d, c), create_graph=True)
        norm = torch.sqrt(gd.pow(2).flatten(1).sum(1) + gc.pow(2).flatten(1).sum(1) + 1e-12)
        return ((norm - 1.0) ** 2).mean()

    def prior(self, terms):
        """The energy prior of generated beads, (B,) kJ/mol: bonded terms weighted by ``bonded_weight``."""
        w = self.hparams.bonded_weight
        return sum(w * v if k in BONDED else v for k, v in terms.items())

    def in_warmup(self):
        return int(self.generator_updates) < int(self.hparams.warmup_steps)

    def lambda_pot_now(self, batch_idx=0):
        """Prior weight now: :func:`ramp` over ``pot_ramp_fraction`` of the adversarial phase's epochs."""
        hp, trainer = self.hparams, self._trainer
        if trainer is None or not trainer.max_epochs or trainer.max_epochs < 0:
            return hp.lambda_pot
        n = trainer.num_training_batches
        n = max(1, int(n)) if math.isfinite(n) else 1
        # the adversarial phase starts after the warm-up's generator updates (one per batch)
        start = hp.warmup_steps / n
        epochs = (self.current_epoch + batch_idx / n - start) / max(
            1e-9, hp.pot_ramp_fraction * max(1e-9, trainer.max_epochs - start))
        return ramp(epochs, hp.lambda_pot)

    def com_offset(self, env, bead_pos):
        """(B, 3) centre of mass of the generated bead relative to the CG bead (local origin), nm."""
        w = self.bead_weights[env.centre_local]
        return (w[..., None] * bead_pos).sum(1)

    # ---- Lightning hooks ----------------------------------------------------------------------
    def training_step(self, env, batch_idx):
        now = time.perf_counter()
        if self.profile:
            self._sync()
        if self.in_warmup():
            logs = self._warmup_step(env)
        else:
            logs = self._adversarial_step(env, batch_idx)
        if self.profile:
            self._sync()
        B = env.centre.shape[0]
        if self._t_last is not None:
            logs["samples_per_s"] = B / max(1e-9, now - self._t_last)
            self.train_seconds += now - self._t_last
        self._t_last = now
        self.timing["step_s"] += time.perf_counter() - now
        self.log_dict(logs, prog_bar=False, on_step=True, on_epoch=False, batch_size=B)

    def _generator_step(self, opt_g, loss, warmup=False):
        hp = self.hparams
        # the warm-up's rate falls along half a cosine to 5 % of lr_warmup: late steps refine
        # hundredths of a nanometre, which a constant large rate would keep shaking
        u = min(1.0, int(self.generator_updates) / max(1, int(hp.warmup_steps)))
        lr = hp.lr_warmup * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * u))) if warmup else hp.lr_generator
        for group in opt_g.optimizer.param_groups if hasattr(opt_g, "optimizer") else opt_g.param_groups:
            group["lr"] = lr
            group["betas"] = (0.9, 0.999) if warmup else (hp.beta1, hp.beta2)
        self.toggle_optimizer(opt_g)
        opt_g.zero_grad()
        self.manual_backward(loss)
        opt_g.step()
        self.untoggle_optimizer(opt_g)
        self.generator_updates += 1

    def _warmup_step(self, env):
        _, opt_g = self.optimizers()
        sup, com, overlap, detail = self.supervised(env)
        loss = sup + self.hparams.lambda_com * com + self.hparams.lambda_overlap * overlap
        self._generator_step(opt_g, loss, warmup=True)
        return {"loss_sup": sup.detach(), "com_offset_nm2": com.detach(), "overlap_nm2": overlap.detach(), "phase": 0.0,
                **detail}

    def _adversarial_step(self, env, batch_idx):
        opt_c, opt_g = self.optimizers()
        hp = self.hparams
        B = env.centre.shape[0]
        K = self.spec.max_atoms
        real_conds = self.real_conditions(env)
        real = self._critic_inputs(env, env.atom_pos[:, :K], real_conds)

        # critic
        self.toggle_optimizer(opt_c)
        with torch.no_grad():
            fake_pos, fake_conds = self(env, self.noise(B))
        fake = self._critic_inputs(env, fake_pos, fake_conds)
        c_real_all = self.critic(real[0], real[1], real[2])
        c_real = c_real_all.mean()
        c_fake = self.critic(fake[0], fake[1], fake[2]).mean()
        gp = self.gradient_penalty(real[:2], fake[:2], real[2])
        loss_c = c_fake - c_real + hp.lambda_gp * gp + hp.lambda_drift * c_real_all.pow(2).mean()
        opt_c.zero_grad()
        self.manual_backward(loss_c)
        opt_c.step()
        self.untoggle_optimizer(opt_c)
        logs = {"loss_critic": loss_c.detach(), "wasserstein": (c_real - c_fake).detach(), "gp": gp.detach(),
                "phase": 1.0}

        # generator
        if (batch_idx + 1) % hp.n_critic == 0:
            pos, conds = self(env, self.noise(B))
            f = self._critic_inputs(env, pos, conds)
            adv = -self.critic(f[0], f[1], f[2]).mean()
            e_terms = self.energy(env, pos)
            prior = self.prior(e_terms)
            lam = self.lambda_pot_now(batch_idx)
            com = self.com_offset(env, pos).pow(2).sum(-1).mean()
            loss_g = adv + lam * prior.mean() + hp.lambda_com * com
            if hp.lambda_sup > 0:
                sup, _, overlap, _ = self.supervised(env)
                loss_g = loss_g + hp.lambda_sup * sup + hp.lambda_overlap * overlap
                logs["loss_sup"] = sup.detach()
            self._generator_step(opt_g, loss_g)
            e = sum(e_terms.values()).detach()
            with torch.no_grad():
                e_ref = sum(self.energy(env, env.atom_pos[:, :K]).values())
            logs.update({"loss_gen": loss_g.detach(), "loss_adv": adv.detach(), "lambda_pot": lam,
                         "energy_gen": e.mean(), "energy_ref": e_ref.mean(), "com_offset_nm2": com.detach()})
            for k, v in e_terms.items():
                logs[f"energy_gen/{k}"] = v.detach().mean()
        return logs

    def on_train_epoch_start(self):
        self._t_last = None  # samples/s measures steps, not the gap across validation

    @torch.no_grad()
    def bond_errors(self, env, pos):
        """Errors (nm) of generated against reference lengths of the bonds touching the beads.

        Returns
        -------
        dict
            ``rmse``: RMS deviation over all of them; ``junction_mae``, ``intra_mae``: mean absolute
            deviation of the bonds between two beads and of those inside one.
        """
        gen, ok = self.ff.local_bonds(self.with_bead(env, pos), env)
        ref, _ = self.ff.local_bonds(env.atom_pos, env)
        d = gen - ref
        junction = ok & self.ff.junction[None, :]
        intra = ok & ~self.ff.junction[None, :]
        nan = d.new_tensor(float("nan"))
        return {"rmse": torch.sqrt((d**2)[ok].mean()),
                "junction_mae": d[junction].abs().mean() if junction.any() else nan,
                "intra_mae": d[intra].abs().mean() if intra.any() else nan}

    def bond_error(self, env, pos):
        """RMS deviation (nm) of generated from reference lengths of the bonds touching the beads."""
        return self.bond_errors(env, pos)["rmse"]

    def validation_step(self, env, batch_idx):
        pos, _ = self(env, self.noise(env.centre.shape[0]))
        e = sum(self.energy(env, pos).values())
        err = self.bond_errors(env, pos)
        self.log_dict({"val_bond_rmse_nm": err["rmse"], "val_junction_mae_nm": err["junction_mae"],
                       "val_intra_mae_nm": err["intra_mae"], "val_energy_gen": e.mean()},
                      on_epoch=True, batch_size=env.centre.shape[0])

    def configure_optimizers(self):
        hp = self.hparams
        betas = (hp.beta1, hp.beta2)
        opt_c = torch.optim.Adam(self.critic.parameters(), lr=hp.lr_critic, betas=betas)
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=hp.lr_generator, betas=betas)
        return [opt_c, opt_g]
