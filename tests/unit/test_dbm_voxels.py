"""Voxel densities and the soft-argmax readout of DBM."""

import pytest
import torch

from cgbench.dbm import voxels
from dbm_testdata import one_torch_thread


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from one_torch_thread()


@pytest.fixture
def grid():
    return voxels.grid_points(8, 1.2, dtype=torch.float64)


def test_grid_is_cell_centres_of_the_box(grid):
    assert grid[0].item() == pytest.approx(-0.525) and grid[-1].item() == pytest.approx(0.525)
    assert torch.allclose(grid[1:] - grid[:-1], torch.full((7,), 0.15, dtype=torch.float64))


def test_soft_argmax_of_a_single_atom_blob_is_the_atom(grid):
    x = (torch.rand(50, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) - 0.5) * 0.6
    dens = voxels.blobs(x, grid, 0.1).reshape(-1, 8, 8, 8)
    # 1.5 sigma spacing and a box 3 sigma beyond the atoms: the sampled Gaussian's centroid is
    # within 2e-4 nm of the atom (measured), far below the 0.15 nm spacing
    assert torch.allclose(voxels.soft_argmax(dens, grid), x, atol=5e-4)
    # and exactly on the centre, where the grid is symmetric
    zero = voxels.blobs(torch.zeros(1, 3, dtype=torch.float64), grid, 0.1).reshape(1, 8, 8, 8)
    assert torch.allclose(voxels.soft_argmax(zero, grid), torch.zeros(1, 3, dtype=torch.float64), atol=1e-15)


def test_soft_argmax_matches_reference(grid):
    d = torch.rand(4, 8, 8, 8, dtype=torch.float64)
    assert torch.allclose(voxels.soft_argmax(d, grid), voxels.soft_argmax_reference(d, grid), atol=1e-12)


def test_separable_voxelisation_matches_reference(grid):
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(3, 7, 3, generator=g, dtype=torch.float64) - 0.5) * 1.4  # some atoms outside the box
    w = torch.rand(3, 7, 5, generator=g, dtype=torch.float64)
    w[:, -2:] = 0.0  # padded atoms
    fast = voxels.voxelise(x, w, grid, 0.1)
    ref = voxels.voxelise_reference(x, w, grid, 0.1)
    assert fast.shape == (3, 5, 8, 8, 8)
    assert torch.allclose(fast, ref, atol=1e-12)
    via_blobs = voxels.channels(w, voxels.blobs(x, grid, 0.1)).reshape(3, 5, 8, 8, 8)
    assert torch.allclose(via_blobs, ref, atol=1e-12)


def test_blob_peak_is_one_at_a_grid_point(grid):
    x = torch.tensor([[grid[2], grid[5], grid[7]]])
    b = voxels.blobs(x, grid, 0.1).reshape(8, 8, 8)
    assert b[2, 5, 7].item() == pytest.approx(1.0) and b.argmax().item() == 2 * 64 + 5 * 8 + 7
