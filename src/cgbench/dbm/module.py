"""The DBM LightningModule: conditional WGAN-GP with an OPLS-AA energy prior.

One training sample is one bead in one frame. Its atoms are generated one after the other in build
order; everything outside the bead sits at its reference position (teacher forcing) and atoms of
the bead enter the condition as soon as they are placed (their generated positions for the
generator's samples, their reference positions for the real samples). The critic judges every
(atom, condition) pair; the generator is also pushed down the force field's energy of the finished
bead with a weight that rises smoothly from 0 to ``lambda_pot``.

Optimisation is manual: every batch updates the critic, every ``n_critic``-th batch also updates
the generator. Both ``optimizer.step()`` calls advance ``global_step``, so budget training in epochs.
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


def ramp(progress, final):
    """Half a cosine from 0 (``progress`` <= 0) to ``final`` (``progress`` >= 1): smooth at both ends."""
    p = min(1.0, max(0.0, float(progress)))
    return final * 0.5 * (1.0 - math.cos(math.pi * p))


class DBM(L.LightningModule):
    """Deep backmapping model of one molecule.

    Parameters
    ----------
    molecule : dict
        :meth:`cgbench.dbm.molecule.MoleculeSpec.to_dict` (stored in the checkpoint).
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
    lambda_gp : float
        Gradient-penalty weight (study: 0.1).
    n_critic : int
        Critic steps per generator step (study: 5).
    lambda_pot : float
        Final weight of the energy prior (study: 0.01), per kJ/mol.
    pot_ramp_fraction : float
        Fraction of the epochs over which the prior's weight rises from 0 (half a cosine).
    lambda_com : float
        Weight of the centre-of-mass consistency loss, per nm^2 (0: off, as in the study).
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
                 lambda_gp=0.1, n_critic=5, lambda_pot=0.01, pot_ramp_fraction=0.5, lambda_com=0.0,
                 lr_generator=1e-4, lr_critic=1e-4, beta1=0.0, beta2=0.9, energy_cutoff_nm=1.0, r_min_nm=0.2,
                 coulomb=False):
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.spec = MoleculeSpec.from_dict(molecule)
        self.feat = FeatureSpec(self.spec)
        self.generator = Generator(self.feat.n_channels, self.feat.n_labels, n_filters, z_dim, grid)
        self.critic = Critic(self.feat.n_channels, self.feat.n_labels, n_filters, grid)
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

    def condition(self, env, atom_pos, step, bead_grid):
        """Condition for placing atom ``step`` of each central bead.

        Parameters
        ----------
        env : Environment
        atom_pos : Tensor, shape (B, A, 3), nm
            Environment atom positions; the central bead's slots hold the atoms placed so far.
        step : int
        bead_grid : Tensor, shape (B, T + 1, G, G, G)

        Returns
        -------
        Tensor, shape (B, C, G, G, G)
        """
        with self._featurising():
            K = self.spec.max_atoms
            present = env.atom_mask.clone()
            present[:, step:K] = False
            target = self.bead_atoms[env.centre_local, step].clamp_min(0)
            w = features.atom_weights(self.relation, self.inter, target, env.atom_local, env.atom_same, present)
            return torch.cat([voxels.voxelise(atom_pos, w, self.grid_1d, self.hparams.sigma_nm), bead_grid], 1)

    def labels(self, env):
        """(B, K) atom-type label of each atom of the central beads (0 on padding)."""
        return self.atom_label[self.bead_atoms[env.centre_local].clamp_min(0)]

    def blob(self, x):
        """Gaussian density of single atoms ``x`` (B, 3) -> (B, G, G, G)."""
        g = self.hparams.grid
        return voxels.blobs(x, self.grid_1d, self.hparams.sigma_nm).reshape(-1, g, g, g)

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
        bead_grid = self.bead_grid(env)
        labels = self.labels(env)
        rest = env.atom_pos[:, K:]
        placed, conds = [], []
        for s in range(K):
            cur = torch.cat([*placed, env.atom_pos[:, len(placed):K], rest], 1) if placed else env.atom_pos
            cond = self.condition(env, cur, s, bead_grid)
            if keep_conditions:
                conds.append(cond)
            density = self.generator(z[:, s], labels[:, s], cond)
            placed.append(voxels.soft_argmax(density, self.grid_1d)[:, None])
        return torch.cat(placed, 1), conds

    def real_conditions(self, env):
        """Conditions with every previously placed atom at its reference position (K tensors)."""
        bead_grid = self.bead_grid(env)
        return [self.condition(env, env.atom_pos, s, bead_grid) for s in range(self.spec.max_atoms)]

    def with_bead(self, env, bead_pos):
        """Environment atom positions with the central bead's slots replaced, (B, A, 3)."""
        return torch.cat([bead_pos, env.atom_pos[:, self.spec.max_atoms:]], 1)

    def energy(self, env, bead_pos):
        """Force-field energy terms involving the central beads, dict of (B,) kJ/mol."""
        return self.ff.local(self.with_bead(env, bead_pos), env, self.spec.max_atoms)

    def noise(self, n, generator=None):
        return torch.randn(n, self.spec.max_atoms, self.hparams.z_dim, device=self.device, generator=generator)

    # ---- losses -------------------------------------------------------------------------------
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

    def lambda_pot_now(self, batch_idx=0):
        """Prior weight now: :func:`ramp` over ``pot_ramp_fraction`` of the trainer's epochs."""
        hp, trainer = self.hparams, self._trainer
        if trainer is None or not trainer.max_epochs or trainer.max_epochs < 0:
            return hp.lambda_pot
        n = trainer.num_training_batches
        n = max(1, int(n)) if math.isfinite(n) else 1
        epochs = (self.current_epoch + batch_idx / n) / max(1e-9, hp.pot_ramp_fraction * trainer.max_epochs)
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
        opt_c, opt_g = self.optimizers()
        hp = self.hparams
        B = env.centre.shape[0]
        real_conds = self.real_conditions(env)
        K = self.spec.max_atoms
        real = self._critic_inputs(env, env.atom_pos[:, :K], real_conds)

        # critic
        self.toggle_optimizer(opt_c)
        with torch.no_grad():
            fake_pos, fake_conds = self(env, self.noise(B))
        fake = self._critic_inputs(env, fake_pos, fake_conds)
        c_real = self.critic(real[0], real[1], real[2]).mean()
        c_fake = self.critic(fake[0], fake[1], fake[2]).mean()
        gp = self.gradient_penalty(real[:2], fake[:2], real[2])
        loss_c = c_fake - c_real + hp.lambda_gp * gp
        opt_c.zero_grad()
        self.manual_backward(loss_c)
        opt_c.step()
        self.untoggle_optimizer(opt_c)
        logs = {"loss_critic": loss_c.detach(), "wasserstein": (c_real - c_fake).detach(), "gp": gp.detach()}

        # generator
        if (batch_idx + 1) % hp.n_critic == 0:
            self.toggle_optimizer(opt_g)
            pos, conds = self(env, self.noise(B))
            f = self._critic_inputs(env, pos, conds)
            adv = -self.critic(f[0], f[1], f[2]).mean()
            e_terms = self.energy(env, pos)
            e = sum(e_terms.values())
            lam = self.lambda_pot_now(batch_idx)
            com = self.com_offset(env, pos).pow(2).sum(-1).mean()
            loss_g = adv + lam * e.mean() + hp.lambda_com * com
            opt_g.zero_grad()
            self.manual_backward(loss_g)
            opt_g.step()
            self.untoggle_optimizer(opt_g)
            with torch.no_grad():
                e_ref = sum(self.energy(env, env.atom_pos[:, :K]).values())
            logs.update({"loss_gen": loss_g.detach(), "loss_adv": adv.detach(), "lambda_pot": lam,
                         "energy_gen": e.detach().mean(), "energy_ref": e_ref.mean(), "com_offset_nm2": com.detach()})
            for k, v in e_terms.items():
                logs[f"energy_gen/{k}"] = v.detach().mean()
        if self.profile:
            self._sync()
        if self._t_last is not None:
            logs["samples_per_s"] = B / max(1e-9, now - self._t_last)
        self._t_last = now
        self.timing["step_s"] += time.perf_counter() - now
        self.log_dict(logs, prog_bar=False, on_step=True, on_epoch=False, batch_size=B)

    def on_train_epoch_start(self):
        self._t_last = None  # samples/s measures steps, not the gap across validation

    @torch.no_grad()
    def bond_error(self, env, pos):
        """RMS deviation (nm) of generated from reference lengths of the bonds touching the beads."""
        gen, ok = self.ff.local_bonds(self.with_bead(env, pos), env)
        ref, _ = self.ff.local_bonds(env.atom_pos, env)
        return torch.sqrt(((gen - ref) ** 2)[ok].mean())

    def validation_step(self, env, batch_idx):
        pos, _ = self(env, self.noise(env.centre.shape[0]))
        e = sum(self.energy(env, pos).values())
        self.log_dict({"val_bond_rmse_nm": self.bond_error(env, pos), "val_energy_gen": e.mean()},
                      on_epoch=True, batch_size=env.centre.shape[0])

    def configure_optimizers(self):
        hp = self.hparams
        betas = (hp.beta1, hp.beta2)
        opt_c = torch.optim.Adam(self.critic.parameters(), lr=hp.lr_critic, betas=betas)
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=hp.lr_generator, betas=betas)
        return [opt_c, opt_g]
