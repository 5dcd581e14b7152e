"""Voxel densities and the softmax-with-offsets readout of DBM."""

import pytest
import torch

from cgbench.backmap.dbm import voxels
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


def test_softmax_offset_reads_the_peak_voxel_plus_its_offset(grid):
    g = torch.Generator().manual_seed(0)
    idx = torch.randint(0, 8, (20, 3), generator=g)
    off = torch.rand(20, 3, generator=g, dtype=torch.float64) * 1.8 - 0.9
    logits = torch.full((20, 8, 8, 8), -60.0, dtype=torch.float64)
    offsets = torch.zeros(20, 3, 8, 8, 8, dtype=torch.float64)
    rows = torch.arange(20)
    logits[rows, idx[:, 0], idx[:, 1], idx[:, 2]] = 60.0
    offsets[rows, :, idx[:, 0], idx[:, 1], idx[:, 2]] = off
    # a sharp peak: the atom sits at that voxel's centre plus its offset, anywhere in the box, with
    # no pull from the other 511 voxels towards the centre
    want = grid[idx] + 0.15 * off
    assert torch.allclose(voxels.softmax_offset(logits, offsets, grid), want, atol=1e-12)
    # flat logits and no offsets: the grid's centre
    flat = voxels.softmax_offset(torch.zeros(1, 8, 8, 8, dtype=torch.float64), offsets[:1] * 0, grid)
    assert torch.allclose(flat, torch.zeros(1, 3, dtype=torch.float64), atol=1e-15)


def test_softmax_offset_matches_reference(grid):
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(4, 8, 8, 8, dtype=torch.float64, generator=g) * 3
    offsets = torch.rand(4, 3, 8, 8, 8, dtype=torch.float64, generator=g) * 2 - 1
    assert torch.allclose(voxels.softmax_offset(logits, offsets, grid),
                          voxels.softmax_offset_reference(logits, offsets, grid), atol=1e-12)


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
