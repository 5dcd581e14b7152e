"""Generator and critic: small 3-D CNNs on the local voxel grid (default 8^3).

Generator ``G(z, label, condition)``: the condition is encoded at 8^3 and downsampled to 4^3;
noise and the atom-type label are embedded to a 4^3 block and joined with it; a learned transposed
convolution upsamples back to 8^3 (the reference code tiled the 4^3 block instead), the result is
joined with the 8^3 condition features (skip connection). The head gives, per voxel, a logit and a
sub-voxel offset; :func:`cgbench.backmap.dbm.voxels.softmax_offset` turns them into the new atom's position.
The condition's encoding does not depend on the noise, so several noise draws for one condition
share one encoder pass (``draws``).

Critic ``C(density, condition, label)``: convolutions down to 2^3 and a linear read-out to one
number per sample, normalised either by GroupNorm (per sample, so the gradient penalty still sees
each sample alone; the method's own code does this) or by spectral norm on every layer.
"""

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ...core.errors import InputError


def _groups(c, groups=8):
    return groups if c % groups == 0 else 1


def _block(cin, cout):
    return nn.Sequential(nn.Conv3d(cin, cout, 3, padding=1), nn.GroupNorm(_groups(cout), cout), nn.LeakyReLU(0.2))


class Generator(nn.Module):
    """Parameters
    ----------
    n_channels : int
        Condition channels.
    n_labels : int
        Atom types (one-hot label).
    n_filters : int
        Width of the 8^3 layers (the 4^3 layers use twice as many).
    z_dim : int
        Noise dimension.
    grid : int
        Grid points per axis (even).
    """

    def __init__(self, n_channels, n_labels, n_filters=32, z_dim=64, grid=8):
        super().__init__()
        f, half = n_filters, grid // 2
        self.z_dim, self.n_labels, self.half = z_dim, n_labels, half
        self.enc = nn.Sequential(_block(n_channels, f), _block(f, f))
        self.down = nn.Sequential(nn.Conv3d(f, 2 * f, 3, stride=2, padding=1), nn.GroupNorm(_groups(2 * f), 2 * f),
                                  nn.LeakyReLU(0.2))
        self.embed = nn.Sequential(nn.Linear(z_dim + n_labels, 2 * f * half**3), nn.LeakyReLU(0.2))
        self.mid = nn.Sequential(_block(4 * f, 2 * f), _block(2 * f, 2 * f))
        self.up = nn.Sequential(nn.ConvTranspose3d(2 * f, f, 2, stride=2), nn.GroupNorm(_groups(f), f),
                                nn.LeakyReLU(0.2))
        # one logit and three offsets per voxel
        self.dec = nn.Sequential(_block(2 * f, f), _block(f, f), nn.Conv3d(f, 4, 1))

    def forward(self, z, label, condition, draws=1):
        """Logits and offsets of the new atom.

        Parameters
        ----------
        z : Tensor, shape (B * draws, z_dim)
        label : Tensor, shape (B * draws,), int64
        condition : Tensor, shape (B, C, G, G, G)
        draws : int
            Noise draws per condition (rows of ``z`` in groups of ``draws``).

        Returns
        -------
        logits : Tensor, shape (B * draws, G, G, G)
        offsets : Tensor, shape (B * draws, 3, G, G, G), in (-1, 1) voxel spacings
        """
        onehot = nn.functional.one_hot(label, self.n_labels).to(z.dtype)
        h8 = self.enc(condition)
        h4 = self.down(h8)
        if draws > 1:
            h8, h4 = h8.repeat_interleave(draws, 0), h4.repeat_interleave(draws, 0)
        e = self.embed(torch.cat([z, onehot], -1)).reshape(z.shape[0], -1, self.half, self.half, self.half)
        h = self.mid(torch.cat([h4, e], 1))
        h = self.dec(torch.cat([self.up(h), h8], 1))
        return h[:, 0], torch.tanh(h[:, 1:])


class Critic(nn.Module):
    """Parameters
    ----------
    n_channels : int
        Condition channels (the density adds one, the label ``n_labels``).
    norm : {"group", "spectral"}
        GroupNorm after every hidden convolution, or spectral norm on every layer.
    """

    def __init__(self, n_channels, n_labels, n_filters=32, grid=8, norm="group"):
        super().__init__()
        if norm not in ("group", "spectral"):
            raise InputError(f"critic norm must be 'group' or 'spectral', got {norm!r}")
        f = n_filters
        self.n_labels = n_labels
        sn = spectral_norm if norm == "spectral" else (lambda m: m)
        gn = (lambda c: nn.GroupNorm(_groups(c), c)) if norm == "group" else (lambda c: nn.Identity())
        widths = [(1 + n_channels + n_labels, f, 1), (f, f, 1), (f, 2 * f, 2), (2 * f, 2 * f, 1), (2 * f, 4 * f, 2)]
        layers = []
        for i, (cin, cout, stride) in enumerate(widths):
            layers.append(sn(nn.Conv3d(cin, cout, 3, stride=stride, padding=1)))
            if i > 0:  # the input layer sees the raw densities
                layers.append(gn(cout))
            layers.append(nn.LeakyReLU(0.2))
        self.body = nn.Sequential(*layers)
        self.head = sn(nn.Linear(4 * f * (grid // 4) ** 3, 1))

    def forward(self, density, condition, label):
        """``density`` (B, G, G, G), ``condition`` (B, C, G, G, G), ``label`` (B,) -> (B,)."""
        g = density.shape[-1]
        onehot = nn.functional.one_hot(label, self.n_labels).to(density.dtype)
        lab = onehot[:, :, None, None, None].expand(-1, -1, g, g, g)
        h = self.body(torch.cat([density[:, None], condition, lab], 1))
        return self.head(h.flatten(1))[:, 0]
