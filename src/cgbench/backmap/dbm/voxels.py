"""Gaussian voxel densities and the softmax-with-offsets readout.

Every atom or bead becomes a Gaussian blob :math:`\\exp(-|g - x|^2 / 2\\sigma^2)` on a cubic grid
centred on the local frame's origin (default 8^3 points over a 1.2 nm box, spacing 0.15 nm,
sigma 0.1 nm). A 3-D Gaussian factorises over x, y and z, so a blob is the outer product of three
1-D profiles: the kernels below never form the (B, A, G^3, 3) distance tensor. A plain reference
implementation sits beside each fast kernel, and the tests check that they agree.
"""

import torch


def grid_points(n=8, edge=1.2, device=None, dtype=torch.float32):
    """Grid point coordinates along one axis, cell centres of ``n`` cells over ``edge`` nm (n,)."""
    h = edge / n
    return (torch.arange(n, device=device, dtype=dtype) + 0.5) * h - edge / 2


def profiles(x, grid, sigma):
    """1-D Gaussian profiles.

    Parameters
    ----------
    x : Tensor, shape (..., 3), nm
    grid : Tensor, shape (G,), nm
    sigma : float, nm

    Returns
    -------
    Tensor, shape (..., 3, G)
    """
    return torch.exp(-((x[..., None] - grid) ** 2) / (2.0 * sigma**2))


def blobs(x, grid, sigma):
    """Per-particle densities on the grid, (..., G, G, G) flattened to (..., G^3)."""
    p = profiles(x, grid, sigma)
    g = grid.shape[0]
    return (p[..., 0, :, None, None] * p[..., 1, None, :, None] * p[..., 2, None, None, :]).reshape(
        *x.shape[:-1], g**3
    )


def voxelise(x, weights, grid, sigma):
    """Channel densities: :math:`V_{c}(g) = \\sum_a w_{ac} \\exp(-|g - x_a|^2 / 2\\sigma^2)`.

    Parameters
    ----------
    x : Tensor, shape (B, A, 3), nm
        Particle positions in the local frame.
    weights : Tensor, shape (B, A, C)
        Channel weight of each particle (0 for absent or padded particles).
    grid : Tensor, shape (G,), nm
    sigma : float, nm

    Returns
    -------
    Tensor, shape (B, C, G, G, G)
    """
    p = profiles(x, grid, sigma)
    g = grid.shape[0]
    # contract one axis at a time: (B,A,C) x (B,A,G) -> (B,A,C,G) ... cheaper than a 4-operand einsum
    # without a contraction-order optimiser, and it never holds more than B*A*C*G^2 numbers
    wx = weights[..., :, None] * p[:, :, None, 0, :]  # (B, A, C, Gx)
    yz = p[:, :, 1, :, None] * p[:, :, 2, None, :]  # (B, A, Gy, Gz)
    out = torch.einsum("bacx,bayz->bcxyz", wx, yz)
    return out.reshape(x.shape[0], weights.shape[-1], g, g, g)


def channels(weights, blob):
    """Channel densities from precomputed blobs: (B, A, C) x (B, A, G^3) -> (B, C, G^3)."""
    return torch.bmm(weights.transpose(1, 2), blob)


def voxelise_reference(x, weights, grid, sigma):
    """Plain implementation of :func:`voxelise`: full 3-D distances, one particle at a time."""
    B, A, _ = x.shape
    g = grid.shape[0]
    gx, gy, gz = torch.meshgrid(grid, grid, grid, indexing="ij")
    pts = torch.stack([gx, gy, gz], -1)  # (G, G, G, 3)
    out = torch.zeros(B, weights.shape[-1], g, g, g, dtype=x.dtype, device=x.device)
    for b in range(B):
        for a in range(A):
            d2 = ((pts - x[b, a]) ** 2).sum(-1)
            out[b] += weights[b, a][:, None, None, None] * torch.exp(-d2 / (2.0 * sigma**2))
    return out


def softmax_offset(logits, offsets, grid):
    """Position of a generated atom: a spatial softmax over voxels, each voxel with its own offset.

    :math:`x = \\sum_g p_g (g + h\\,o_g)`, :math:`p = \\mathrm{softmax}(\\ell)`, with ``h`` the
    voxel spacing and offsets :math:`o_g \\in (-1, 1)^3`. Unlike a density-weighted mean of
    sigmoids, voxels far from the peak carry no weight (no pull towards the grid centre), and the
    offsets let the network place an atom between grid points as precisely as it can learn to.

    Parameters
    ----------
    logits : Tensor, shape (B, G, G, G)
    offsets : Tensor, shape (B, 3, G, G, G)
        In voxel spacings.
    grid : Tensor, shape (G,), nm

    Returns
    -------
    Tensor, shape (B, 3), nm
    """
    g = grid.shape[0]
    h = grid[1] - grid[0] if g > 1 else grid.new_tensor(1.0)
    p = torch.softmax(logits.reshape(logits.shape[0], -1), -1).reshape(-1, g, g, g)
    gx = (p.sum(dim=(2, 3)) * grid).sum(-1)
    gy = (p.sum(dim=(1, 3)) * grid).sum(-1)
    gz = (p.sum(dim=(1, 2)) * grid).sum(-1)
    off = (p[:, None] * offsets).sum(dim=(2, 3, 4))
    return torch.stack([gx, gy, gz], -1) + h * off


def softmax_offset_reference(logits, offsets, grid):
    """Plain implementation of :func:`softmax_offset` over the full list of grid points."""
    gx, gy, gz = torch.meshgrid(grid, grid, grid, indexing="ij")
    pts = torch.stack([gx, gy, gz], -1).reshape(-1, 3)
    h = grid[1] - grid[0]
    p = torch.softmax(logits.reshape(logits.shape[0], -1), -1)
    o = offsets.reshape(offsets.shape[0], 3, -1).transpose(1, 2)
    return (p[..., None] * (pts[None] + h * o)).sum(1)
