"""Generator and critic: small 3-D CNNs on the local voxel grid (default 8^3).

Generator ``G(z, label, condition)``: the condition is encoded at 8^3 and downsampled to 4^3;
noise and the atom-type label are embedded to a 4^3 block and joined with it; a learned transposed
convolution upsamples back to 8^3 (the reference code tiled the 4^3 block instead), the result is
joined with the 8^3 condition features (skip connection) and a sigmoid gives the density whose
soft-argmax is the new atom's position.

Critic ``C(density, condition, label)``: spectrally normalised convolutions down to 2^3 and a
linear read-out to one number per sample (no normalisation layers, so the gradient penalty sees
each sample alone).
"""

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def _block(cin, cout, groups=8):
    g = groups if cout % groups == 0 else 1
    return nn.Sequential(nn.Conv3d(cin, cout, 3, padding=1), nn.GroupNorm(g, cout), nn.LeakyReLU(0.2))


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
        self.down = nn.Sequential(nn.Conv3d(f, 2 * f, 3, stride=2, padding=1),
                                  nn.GroupNorm(8 if f % 4 == 0 else 1, 2 * f), nn.LeakyReLU(0.2))
        self.embed = nn.Sequential(nn.Linear(z_dim + n_labels, 2 * f * half**3), nn.LeakyReLU(0.2))
        self.mid = nn.Sequential(_block(4 * f, 2 * f), _block(2 * f, 2 * f))
        self.up = nn.Sequential(nn.ConvTranspose3d(2 * f, f, 2, stride=2), nn.GroupNorm(8 if f % 8 == 0 else 1, f),
                                nn.LeakyReLU(0.2))
        self.dec = nn.Sequential(_block(2 * f, f), _block(f, f), nn.Conv3d(f, 1, 1))

    def forward(self, z, label, condition):
        """``z`` (B, z_dim), ``label`` (B,) int64, ``condition`` (B, C, G, G, G) -> density (B, G, G, G)."""
        onehot = nn.functional.one_hot(label, self.n_labels).to(z.dtype)
        h8 = self.enc(condition)
        h4 = self.down(h8)
        e = self.embed(torch.cat([z, onehot], -1)).reshape(z.shape[0], -1, self.half, self.half, self.half)
        h = self.mid(torch.cat([h4, e], 1))
        h = self.dec(torch.cat([self.up(h), h8], 1))
        return torch.sigmoid(h[:, 0])


class Critic(nn.Module):
    """Parameters
    ----------
    n_channels : int
        Condition channels (the density adds one, the label ``n_labels``).
    """

    def __init__(self, n_channels, n_labels, n_filters=32, grid=8):
        super().__init__()
        f = n_filters
        self.n_labels = n_labels
        sn = spectral_norm
        self.body = nn.Sequential(
            sn(nn.Conv3d(1 + n_channels + n_labels, f, 3, padding=1)), nn.LeakyReLU(0.2),
            sn(nn.Conv3d(f, f, 3, padding=1)), nn.LeakyReLU(0.2),
            sn(nn.Conv3d(f, 2 * f, 3, stride=2, padding=1)), nn.LeakyReLU(0.2),
            sn(nn.Conv3d(2 * f, 2 * f, 3, padding=1)), nn.LeakyReLU(0.2),
            sn(nn.Conv3d(2 * f, 4 * f, 3, stride=2, padding=1)), nn.LeakyReLU(0.2),
        )
        self.head = sn(nn.Linear(4 * f * (grid // 4) ** 3, 1))

    def forward(self, density, condition, label):
        """``density`` (B, G, G, G), ``condition`` (B, C, G, G, G), ``label`` (B,) -> (B,)."""
        g = density.shape[-1]
        onehot = nn.functional.one_hot(label, self.n_labels).to(density.dtype)
        lab = onehot[:, :, None, None, None].expand(-1, -1, g, g, g)
        h = self.body(torch.cat([density[:, None], condition, lab], 1))
        return self.head(h.flatten(1))[:, 0]
