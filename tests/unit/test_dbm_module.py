"""DBM networks and LightningModule: shapes, manual optimisation, a short training, checkpoints."""

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

from cgbench.backmap.dbm.checkpoint import no_srun_hint
from cgbench.backmap.dbm.data import DBMDataModule
from cgbench.backmap.dbm.module import DBM, ramp
from cgbench.backmap.dbm.networks import Critic, Generator
from dbm_testdata import one_torch_thread, synthetic_frames, tmbt_spec


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from one_torch_thread()


N_CRITIC, EPOCHS, BATCHES, WARMUP = 2, 4, 2, 4


def test_generator_upsamples_with_learned_weights_and_reads_out_logits_and_offsets():
    g = Generator(n_channels=5, n_labels=3, n_filters=8, z_dim=16)
    ups = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose3d)]
    assert len(ups) == 1 and ups[0].stride == (2, 2, 2)
    logits, offsets = g(torch.randn(4, 16), torch.tensor([0, 1, 2, 0]), torch.rand(4, 5, 8, 8, 8))
    assert logits.shape == (4, 8, 8, 8) and offsets.shape == (4, 3, 8, 8, 8)
    assert (offsets.abs() < 1).all()
    # a tiled 4^3 block would make every 2x2x2 cell of a noise-only response identical; learned
    # upsampling does not
    cond = torch.zeros(2, 5, 8, 8, 8)
    diff = g(torch.randn(2, 16), torch.tensor([0, 0]), cond)[0] - g(torch.randn(2, 16), torch.tensor([0, 0]), cond)[0]
    cells = diff.reshape(2, 4, 2, 4, 2, 4, 2)
    assert cells.std(dim=(2, 4, 6)).max() > 1e-6


def test_several_draws_share_one_encoding_of_their_condition():
    torch.manual_seed(0)
    g = Generator(n_channels=5, n_labels=3, n_filters=8, z_dim=16).eval()
    cond, z, lab = torch.rand(2, 5, 8, 8, 8), torch.randn(6, 16), torch.tensor([1, 1, 1, 2, 2, 2])
    shared = g(z, lab, cond, draws=3)
    one_by_one = g(z, lab, cond.repeat_interleave(3, 0))
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(shared, one_by_one))


@pytest.mark.parametrize("norm", ["spectral", "group"])
def test_critic_normalisation(norm):
    c = Critic(n_channels=5, n_labels=3, n_filters=8, norm=norm)
    out = c(torch.rand(4, 8, 8, 8), torch.rand(4, 5, 8, 8, 8), torch.tensor([0, 1, 2, 0]))
    assert out.shape == (4,)
    convs = [m for m in c.modules() if isinstance(m, (torch.nn.Conv3d, torch.nn.Linear))]
    groups = [m for m in c.modules() if isinstance(m, torch.nn.GroupNorm)]
    if norm == "spectral":
        assert all(hasattr(m, "parametrizations") for m in convs) and not groups
    else:
        # per-sample normalisation only: one sample's output does not depend on the others in its batch
        assert len(groups) == 4 and not any(hasattr(m, "parametrizations") for m in convs)
        d, cd, lab = torch.rand(4, 8, 8, 8), torch.rand(4, 5, 8, 8, 8), torch.tensor([0, 1, 2, 0])
        assert torch.allclose(c(d, cd, lab)[:2], c(d[:2], cd[:2], lab[:2]), atol=1e-5)


def test_lambda_pot_ramp_is_smooth_from_zero():
    assert ramp(-1, 0.01) == 0.0 and ramp(0, 0.01) == 0.0 and ramp(1, 0.01) == pytest.approx(0.01)
    assert ramp(0.5, 0.01) == pytest.approx(0.005) and ramp(3, 0.01) == pytest.approx(0.01)
    xs = np.linspace(0, 1, 21)
    assert np.all(np.diff([ramp(x, 1.0) for x in xs]) >= 0)


@pytest.fixture(scope="module")
def trained(tmbt, tmp_path_factory):
    """A tiny model trained for a few batches on synthetic TMBT frames, and what it was tested on."""
    torch.manual_seed(0)
    spec = tmbt_spec(tmbt)
    frames = synthetic_frames(spec, n_frames=6, seed=1)
    dm = DBMDataModule(spec, frames, train_fraction=0.66, batch_size=16, samples_per_epoch=16 * BATCHES,
                       val_samples=32, seed=0)
    dm.setup()
    model = DBM(spec.to_dict(), n_filters=8, n_critic=N_CRITIC, lr_generator=1e-3, lr_critic=1e-3,
                pot_ramp_fraction=0.05, warmup_steps=WARMUP, n_draws=2)
    f, b = next(iter(dm.val_dataloader()))
    env = dm.builder(*dm.device_frames("cpu"), f, b)
    z = torch.randn(len(f), spec.max_atoms, model.hparams.z_dim, generator=torch.Generator().manual_seed(0))

    def bond_error():
        model.eval()
        with torch.no_grad():
            pos, _ = model(env, z)
        model.train()
        return model.bond_error(env, pos).item()

    before = bond_error()
    work = tmp_path_factory.mktemp("dbm_train")
    with no_srun_hint():
        trainer = L.Trainer(max_epochs=EPOCHS, logger=CSVLogger(str(work), name="logs"), enable_progress_bar=False,
                            enable_model_summary=False, num_sanity_val_steps=0, log_every_n_steps=1,
                            callbacks=[ModelCheckpoint(dirpath=str(work / "ckpt"), save_last=True, save_top_k=0)])
        trainer.fit(model, datamodule=dm)
    return dict(model=model, trainer=trainer, before=before, after=bond_error(), work=work, env=env, z=z)


def test_short_training_lowers_bond_length_error(trained):
    # untrained, every atom lands near the bead centre (bond errors ~0.13 nm)
    assert trained["before"] > 0.09, trained["before"]
    assert trained["after"] < 0.8 * trained["before"], (trained["before"], trained["after"])


def test_warmup_then_critic_steps_n_critic_times_per_generator_step(trained):
    opt_c, opt_g = trained["model"].optimizers()
    steps = lambda opt: int(next(iter(opt.optimizer.state.values()))["step"])
    adversarial = EPOCHS * BATCHES - WARMUP
    assert steps(opt_c) == adversarial
    assert steps(opt_g) == WARMUP + adversarial // N_CRITIC
    assert int(trained["model"].generator_updates) == steps(opt_g)
    # both steps advance global_step: the reason training is budgeted in epochs
    assert trained["trainer"].global_step == steps(opt_c) + steps(opt_g)


def test_csv_log_has_both_phases_losses_energies_and_throughput(trained):
    df = pd.read_csv(trained["work"] / "logs" / "version_0" / "metrics.csv")
    for col in ("loss_sup", "sup_gibbs_nm2", "sup_sequential_nm2", "loss_critic", "loss_gen", "wasserstein", "gp",
                "energy_gen", "energy_ref", "lambda_pot", "samples_per_s", "val_bond_rmse_nm", "val_junction_mae_nm",
                "val_intra_mae_nm", "energy_gen/Ryckaert-Bell.", "energy_gen/LJ (SR)"):
        assert col in df and df[col].notna().any(), col
    phase = df["phase"].dropna().to_numpy()
    assert (phase[:WARMUP] == 0).all() and (phase[WARMUP:] == 1).all()
    assert (df["samples_per_s"].dropna() > 0).all()
    assert df["lambda_pot"].dropna().iloc[-1] == pytest.approx(0.01)


def test_last_checkpoint_restores_the_model(trained):
    path = trained["work"] / "ckpt" / "last.ckpt"
    assert path.exists()
    back = DBM.load_from_checkpoint(str(path), map_location="cpu").eval()
    assert back.hparams.n_critic == N_CRITIC and back.spec.n_atoms == trained["model"].spec.n_atoms
    model = trained["model"].eval()
    with torch.no_grad():
        a, _ = model(trained["env"], trained["z"])
        b, _ = back(trained["env"], trained["z"])
    assert torch.allclose(a, b, atol=1e-6)


def test_warmup_alone_lowers_bond_error_within_a_few_steps(tmbt):
    torch.manual_seed(1)
    spec = tmbt_spec(tmbt)
    frames = synthetic_frames(spec, n_frames=3, seed=2)
    dm = DBMDataModule(spec, frames, train_fraction=0.67, batch_size=8, val_samples=16, seed=0)
    dm.setup()
    model = DBM(spec.to_dict(), n_filters=8, z_dim=8, warmup_steps=100, n_draws=2)
    R, X, box = dm.device_frames("cpu")
    f, b = next(iter(dm.val_dataloader()))
    env = dm.builder(R, X, box, f, b)
    z = torch.randn(len(f), spec.max_atoms, 8, generator=torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(model.generator.parameters(), lr=3e-3)

    def error():
        with torch.no_grad():
            return model.bond_error(env, model(env, z)[0]).item()

    before = error()
    g = torch.Generator().manual_seed(3)
    for _ in range(15):
        fr = torch.as_tensor(dm.train_idx)[torch.randint(len(dm.train_idx), (8,), generator=g)]
        batch = dm.builder(R, X, box, fr, torch.randint(R.shape[1], (8,), generator=g))
        sup, _, _, _ = model.supervised(batch)
        opt.zero_grad()
        sup.backward()
        opt.step()
    after = error()
    # untrained, atoms land anywhere in the box (about 0.1 nm bond errors)
    assert before > 0.08 and after < 0.6 * before, (before, after)


def test_gibbs_condition_holds_every_other_atom_of_the_bead_but_not_the_target(trained):
    model, env = trained["model"], trained["env"]
    K = model.spec.max_atoms
    rows = torch.arange(len(env.centre))
    slot = torch.full_like(rows, 2)
    grid = model.bead_grid(env)
    cond = lambda pos, present: model.condition(env, pos, rows, slot, present(slot), grid)
    moved_target = env.atom_pos.clone()
    moved_target[:, 2] += 0.3
    moved_later = env.atom_pos.clone()
    moved_later[:, 5] += 0.3
    with torch.no_grad():
        base = cond(env.atom_pos, model.gibbs_present)
        # the target's own position never enters its condition
        assert torch.allclose(cond(moved_target, model.gibbs_present), base)
        # an atom built after the target does in Gibbs mode, and does not in the sequential one
        assert not torch.allclose(cond(moved_later, model.gibbs_present), base)
        seq = cond(env.atom_pos, model.sequential_present)
        assert torch.allclose(cond(moved_later, model.sequential_present), seq)
        new = model.regenerate(env, 2, torch.randn(len(rows), model.hparams.z_dim))
    assert new.shape == (len(rows), 3) and torch.isfinite(new).all()
    assert K > 5


def test_overlap_loss_is_zero_clear_of_other_molecules_and_pushes_a_draw_out_of_one(tmbt):
    spec = tmbt_spec(tmbt)
    frames = synthetic_frames(spec, n_frames=1, lattice=(2, 1, 1), spacing=1.2, seed=4)
    dm = DBMDataModule(spec, frames, train_fraction=0.5, batch_size=8, val_samples=0, seed=0)
    dm.setup()
    model = DBM(spec.to_dict(), n_filters=8, z_dim=8, overlap_kj_mol=20.0)
    R, X, box = dm.device_frames("cpu")
    env = dm.builder(R, X, box, torch.zeros(spec.n_beads, dtype=torch.long), torch.arange(spec.n_beads))
    other = env.atom_mask & ~env.atom_same
    rows = torch.nonzero(other.any(1), as_tuple=True)[0][:1]  # a bead with an atom of the other molecule near
    slot = torch.zeros(1, dtype=torch.long)
    partner = env.atom_pos[rows[0], torch.nonzero(other[rows[0]], as_tuple=True)[0][0]]
    far = partner + torch.tensor([5.0, 5.0, 5.0])
    assert model.overlap(env, rows, slot, far[None, None]).item() == 0.0
    # a draw 0.05 nm from an atom of another molecule: deep inside its clash distance
    draw = (partner + torch.tensor([0.05, 0.0, 0.0]))[None, None].requires_grad_(True)
    loss = model.overlap(env, rows, slot, draw).sum()
    assert loss.item() > 0.01 ** 2
    loss.backward()
    away = draw.detach() - partner
    assert (draw.grad[0, 0] @ away[0, 0]).item() < 0  # descending the loss moves the draw away
