"""Streaming trajectory analyses give what the in-memory ones give, whatever the chunk size.

A small TMBT liquid-like trajectory (random rigid copies of one conformer, wrapped, with forces) is
written with MDAnalysis; each streaming path is compared with the whole-trajectory computation on
the same file, for chunks of 1 frame, chunks that do not divide the frame count, and one chunk.
"""

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from cgbench.backmap import testsets
from cgbench.evaluate import reduction
from cgbench.stages import backmap as backmap_stage, evaluate as evaluate_stage
from cgbench.mapping.reference import ReferenceDistributions, map_trajectory, reference_table
from cgbench.stages.mapping import map_files
from cgbench.geometry.pbc import wrap
from cgbench.engines.trajectory import (
    Frames,
    FrameWriter,
    NpzWriter,
    count_frames,
    default_chunk,
    iter_frames,
    read_frames,
    write_frames,
)

N_MOL, N_FRAMES, L = 6, 7, 2.4
#: 7 frames: chunks of 1, 2 and 3 leave a short last chunk (or seven of one), 7 and None take all at once.
CHUNKS = [1, 2, 3, 7, None]
BINS = {"bond_bin_nm": 0.002, "bond_max_nm": 1.0, "angle_bin_deg": 1.0, "dihedral_bin_deg": 2.0,
        "rdf_bin_nm": 0.02, "cutoff_nm": 1.0}
SETTINGS = {"rdf_max_nm": 1.0, "rdf_bins": 50, "clash_nm": 0.1, "clash_kT": 10.0, "temperature_K": 450.0,
            "rdf_pairs": ("C-C", "C-N", "N-N")}


@pytest.fixture(scope="module")
def aa_files(tmp_path_factory, tmbt):
    """An AA trajectory of N_MOL TMBT molecules (``.gro`` + ``.trr`` with forces)."""
    rng = np.random.default_rng(7)
    x0 = tmbt.molecule.positions - tmbt.molecule.positions.mean(0)
    n = tmbt.topology.n_atoms
    frames = []
    for _ in range(N_FRAMES):
        mols = []
        for _ in range(N_MOL):
            q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
            mols.append(x0 @ q.T + rng.uniform(0, L, 3))
        frames.append(np.concatenate(mols))
    box = np.full((N_FRAMES, 3), L) * (1 + 0.01 * np.arange(N_FRAMES))[:, None]  # NPT-like: the box changes
    x = wrap(np.asarray(frames), box)
    f = rng.normal(scale=100.0, size=x.shape)
    d = tmp_path_factory.mktemp("aa")
    top = tmbt.topology
    write_frames(d / "aa.gro", d / "aa.trr", Frames(x, box, 0.5 * np.arange(N_FRAMES), f),
                 list(top.atom_names) * N_MOL, [top.resname] * (n * N_MOL), np.repeat(np.arange(1, N_MOL + 1), n))
    return d / "aa.gro", d / "aa.trr"


def _frames_equal(a, b):
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.box, b.box)
    np.testing.assert_array_equal(a.time, b.time)
    assert (a.forces is None) == (b.forces is None)
    if a.forces is not None:
        np.testing.assert_array_equal(a.forces, b.forces)


def _join(chunks):
    chunks = list(chunks)
    forces = None if chunks[0].forces is None else np.concatenate([c.forces for c in chunks])
    return Frames(np.concatenate([c.positions for c in chunks]), np.concatenate([c.box for c in chunks]),
                  np.concatenate([c.time for c in chunks]), forces)


@pytest.mark.parametrize("chunk", CHUNKS)
def test_iter_frames_joins_to_read_frames(aa_files, chunk):
    whole = read_frames(*aa_files)
    assert whole.n_frames == N_FRAMES == count_frames(*aa_files)
    chunks = list(iter_frames(*aa_files, chunk=chunk))
    assert [c.n_frames for c in chunks][:-1] == [chunk or N_FRAMES] * (len(chunks) - 1)
    _frames_equal(_join(chunks), whole)
    _frames_equal(_join(iter_frames(*aa_files, chunk=chunk, start=1, stop=6, step=2, forces=False)),
                  read_frames(*aa_files, start=1, stop=6, step=2, forces=False))
    pick = [5, 0, 3]
    got = _join(iter_frames(*aa_files, chunk=chunk, frames=pick))
    np.testing.assert_array_equal(got.positions, whole.positions[pick])
    np.testing.assert_array_equal(got.forces, whole.forces[pick])


def test_default_chunk_bounds_the_bytes():
    # the study's box: 207,000 atoms, positions and forces in float64
    n = default_chunk(207_000)
    assert 1 <= n and n * 207_000 * 48 <= 256 * 2**20 < (n + 1) * 207_000 * 48
    assert default_chunk(10**9) == 1


@pytest.mark.parametrize("suffix", [".trr", ".xtc"])
def test_frame_writer_in_chunks_writes_the_same_file(aa_files, tmp_path, tmbt, suffix):
    whole = read_frames(*aa_files)
    n = tmbt.topology.n_atoms
    meta = (list(tmbt.topology.atom_names) * N_MOL, [tmbt.topology.resname] * (n * N_MOL),
            np.repeat(np.arange(1, N_MOL + 1), n))
    write_frames(tmp_path / "a.gro", tmp_path / f"a{suffix}", whole, *meta)
    with FrameWriter(tmp_path / "b.gro", tmp_path / f"b{suffix}", *meta) as w:
        for c in iter_frames(*aa_files, chunk=3):
            w.write(c)
    assert (tmp_path / "a.gro").read_bytes() == (tmp_path / "b.gro").read_bytes()
    _frames_equal(read_frames(tmp_path / "a.gro", tmp_path / f"a{suffix}"),
                  read_frames(tmp_path / "b.gro", tmp_path / f"b{suffix}"))


def test_npz_writer_matches_savez(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 5, 3)), rng.integers(0, 9, size=(7,))
    with NpzWriter(tmp_path / "s.npz", 7) as w:
        for lo in range(0, 7, 3):
            w.append(a=a[lo:lo + 3], b=b[lo:lo + 3])
        w.add(c=np.array(["T", "A"]), d=3)
    got = np.load(tmp_path / "s.npz")
    np.testing.assert_array_equal(got["a"], a)
    np.testing.assert_array_equal(got["b"], b)
    assert got["c"].tolist() == ["T", "A"] and int(got["d"]) == 3
    assert not [p for p in tmp_path.iterdir() if p.name != "s.npz"]  # temporary files are gone
    with pytest.raises(ValueError, match="expected 7"):
        with NpzWriter(tmp_path / "t.npz", 7) as w:
            w.append(a=a[:3])


@pytest.fixture(scope="module")
def in_memory(aa_files, tmbt, tmbt_files, tmp_path_factory):
    """The mapping stage as it was before streaming: everything read, mapped and written at once."""
    aa = read_frames(*aa_files)
    cg, mean = map_trajectory(aa, tmbt.topology, tmbt.mapping, N_MOL)
    table = reference_table(cg.positions, cg.box, tmbt.cg, N_MOL, BINS)
    d = tmp_path_factory.mktemp("in_memory")
    nb = tmbt.mapping.n_beads
    write_frames(d / "cg.gro", d / "cg.trr", cg, list(tmbt.cg.bead_names) * N_MOL,
                 [tmbt.topology.resname] * (nb * N_MOL), np.repeat(np.arange(1, N_MOL + 1), nb))
    return SimpleNamespace(cg=cg, mean=mean, table=table, gro=d / "cg.gro", trr=d / "cg.trr")


def _map(aa_files, tmbt_files, out_dir, chunk):
    out = {k: out_dir / v for k, v in {"gro": "cg.gro", "trr": "cg.trr", "npz": "cg.npz",
                                       "distributions": "distributions.csv"}.items()}
    map_files(*aa_files, tmbt_files["topology"], tmbt_files["mapping"], tmbt_files["cg_topology"], N_MOL, BINS, out,
              chunk=chunk)
    return out


@pytest.mark.parametrize("chunk", CHUNKS)
def test_mapping_stage_streams(aa_files, tmbt, tmbt_files, in_memory, tmp_path, chunk):
    out = _map(aa_files, tmbt_files, tmp_path, chunk)
    ref = in_memory
    npz = np.load(out["npz"])
    np.testing.assert_array_equal(npz["positions"], ref.cg.positions)
    np.testing.assert_array_equal(npz["box"], ref.cg.box)
    np.testing.assert_array_equal(npz["time"], ref.cg.time)
    np.testing.assert_array_equal(npz["forces_net"], ref.cg.forces)
    np.testing.assert_array_equal(npz["forces_mean"], ref.mean)
    np.testing.assert_array_equal(npz["last_positions"], ref.cg.positions[-1])
    np.testing.assert_array_equal(npz["last_box"], ref.cg.box[-1])
    assert int(npz["n_molecules"]) == N_MOL and npz["bead_types"].tolist() == list(tmbt.cg.bead_types)
    _frames_equal(read_frames(out["gro"], out["trr"]), read_frames(ref.gro, ref.trr))
    assert out["gro"].read_bytes() == ref.gro.read_bytes()
    # the CSV is what the stage wrote before: same rows, same numbers
    pd.testing.assert_frame_equal(pd.read_csv(out["distributions"]),
                                  pd.read_csv(pd.io.common.StringIO(ref.table.to_csv(index=False))))


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_reference_distributions_accumulate(in_memory, tmbt, chunk):
    cg = in_memory.cg
    acc = ReferenceDistributions(tmbt.cg, N_MOL, BINS)
    for lo in range(0, cg.n_frames, chunk):
        acc.update(cg.positions[lo:lo + chunk], cg.box[lo:lo + chunk])
    pd.testing.assert_frame_equal(acc.table(), in_memory.table, check_exact=True)


@pytest.mark.parametrize("name", ["indist", "A"])
@pytest.mark.parametrize("chunk", [1, 2, None])
def test_testset_streams(aa_files, tmbt_files, in_memory, tmp_path, name, chunk):
    out = {"gro": tmp_path / "t.gro", "trr": tmp_path / "t.trr", "json": tmp_path / "t.json"}
    backmap_stage.make_testset(name, in_memory.gro, in_memory.trr, 4, 0.5, out, chunk=chunk)
    # in memory: every frame read, the spread ones kept
    whole = read_frames(in_memory.gro, in_memory.trr)
    start = testsets.held_out_start(whole.n_frames, 0.5) if name == "indist" else 0
    idx = testsets.spread(whole.n_frames, 4, start)
    got = read_frames(out["gro"], out["trr"])
    _frames_equal(got, Frames(whole.positions[idx], whole.box[idx], whole.time[idx], whole.forces[idx]))
    meta = json.loads(out["json"].read_text())
    assert meta["frames"] == idx.tolist() and meta["time_ps"] == whole.time[idx].tolist()
    # the .gro is the first chosen frame, written as the in-memory path wrote it
    write_frames(tmp_path / "m.gro", tmp_path / "m.trr", got, *_names(in_memory.gro))
    assert out["gro"].read_bytes() == (tmp_path / "m.gro").read_bytes()


def _names(gro):
    import MDAnalysis as mda

    u = mda.Universe(str(gro), to_guess=())
    return list(u.atoms.names), list(u.atoms.resnames), list(u.atoms.resids)


class FakeRerun:
    """A deterministic stand-in for ``gmx mdrun -rerun``: forces and energies frame by frame from
    the positions alone, as the engine's are; records the chunks it was given."""

    def __init__(self):
        self.calls = []

    def __call__(self, x, box, mdp, top, atom_names, resname, workdir, threads=1, executable="gmx"):
        self.calls.append(len(x))
        x = np.asarray(x, dtype=np.float32).astype(float)  # the rerun sees float32 positions
        forces = -50.0 * (x - x.mean(axis=1, keepdims=True)) + np.sin(7.0 * x)
        forces[:, 3, 0] = np.where(x[:, 3, 0] > 1.2, np.inf, forces[:, 3, 0])  # a clash in some frames
        return SimpleNamespace(forces=forces, potential=(x ** 2).sum(axis=(1, 2)))


def _assert_reductions_equal(got, want):
    assert set(got) == set(want)
    for k in want:
        if k.startswith("rdf_"):
            np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=1e-12, err_msg=k)
        else:
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)


@pytest.mark.parametrize("chunk", [1, 2, 3, None])
def test_evaluation_streams(aa_files, tmbt, tmbt_files, in_memory, tmp_path, monkeypatch, chunk):
    fake = FakeRerun()
    monkeypatch.setattr(reduction, "rerun_forces", fake)
    top, mp = tmbt.topology, tmbt.mapping
    aa = read_frames(*aa_files, forces=False)
    want = reduction.reduce_aa(aa.positions, aa.box, top, mp, N_MOL, "nvt.mdp", "topol.top", tmp_path, SETTINGS)
    assert want["nonfinite_atom_forces"].any() and not want["nonfinite_atom_forces"].all()
    assert all(want[f"rdf_{p}"].max() > 0 for p in ("C-C", "C-N"))
    fake.calls.clear()
    args = (tmbt_files["topology"], tmbt_files["mapping"], N_MOL, "nvt.mdp", "topol.top", SETTINGS, tmp_path)
    evaluate_stage.evaluate_aa(*aa_files, *args, {"npz": tmp_path / "aa.npz"}, chunk=chunk)
    assert fake.calls == ([N_FRAMES] if chunk is None else
                          [min(chunk, N_FRAMES - lo) for lo in range(0, N_FRAMES, chunk)])
    _assert_reductions_equal(dict(np.load(tmp_path / "aa.npz")), want)

    # a backmapped set: the AA frames as the backmap, their mapping as its CG input
    want = reduction.reduce_aa(aa.positions, aa.box, top, mp, N_MOL, "nvt.mdp", "topol.top", tmp_path,
                               SETTINGS, cg_input=read_frames(in_memory.gro, in_memory.trr).positions)
    evaluate_stage.evaluate_set(*aa_files, in_memory.gro, in_memory.trr, *args, {"npz": tmp_path / "set.npz"},
                                chunk=chunk)
    _assert_reductions_equal(dict(np.load(tmp_path / "set.npz")), want)


@pytest.fixture(scope="module")
def dbm_spec(tmbt_files):
    from cgbench.backmap import dbm

    return dbm.load_spec(tmbt_files["topology"], tmbt_files["mapping"], tmbt_files["cg_topology"])


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("chunk", [1, 2, 3, None])
def test_dbm_frames_stream(aa_files, dbm_spec, stride, chunk):
    from cgbench.backmap import dbm
    from cgbench.backmap.dbm.data import map_frames
    from cgbench.backmap.dbm.io import read_trajectory

    want = map_frames(*read_trajectory(*aa_files, step=stride), dbm_spec)
    got = dbm.load_frames(*aa_files, dbm_spec, frame_stride=stride, chunk=chunk)
    for a in ("x", "r", "box"):
        np.testing.assert_array_equal(getattr(got, a), getattr(want, a), err_msg=a)
    pick = [len(want) - 1, 0]
    sub = dbm.load_frames(*aa_files, dbm_spec, frame_stride=stride, frames=pick, chunk=chunk)
    np.testing.assert_array_equal(sub.x, want.x[pick])
    np.testing.assert_array_equal(sub.r, want.r[pick])


@pytest.mark.parametrize("stride", [1, 2])
def test_dbm_test_set_streams(aa_files, tmbt_files, dbm_spec, tmp_path, stride):
    from cgbench.backmap import dbm
    from cgbench.backmap.dbm.data import map_frames, split
    from cgbench.backmap.dbm.io import read_trajectory, write_trajectory

    mol = (tmbt_files["topology"], tmbt_files["mapping"], tmbt_files["cg_topology"])
    out = {k: tmp_path / f"{k}.{k.split('_')[1]}" for k in ("cg_gro", "cg_xtc", "aa_gro", "aa_xtc")}
    info = dbm.write_test_set(*aa_files, *mol, out, train_fraction=0.5, frame_stride=stride)
    # in memory: every thinned frame mapped, the held-out ones written
    frames = map_frames(*read_trajectory(*aa_files, step=stride), dbm_spec)
    _, test = split(len(frames), 0.5)
    t = frames.subset(test)
    assert info == {"n_frames": len(test), "first_frame": int(test[0])}
    names = json.loads(tmbt_files["mapping"].read_text())["bead_names"]
    write_trajectory(tmp_path / "m_cg.gro", tmp_path / "m_cg.xtc", t.r, t.box, names, dbm_spec.resname)
    write_trajectory(tmp_path / "m_aa.gro", tmp_path / "m_aa.xtc", t.x, t.box, dbm_spec.atom_names, dbm_spec.resname)
    for kind in ("cg", "aa"):
        assert out[f"{kind}_gro"].read_bytes() == (tmp_path / f"m_{kind}.gro").read_bytes()
        got = read_trajectory(out[f"{kind}_gro"], out[f"{kind}_xtc"])
        want = read_trajectory(tmp_path / f"m_{kind}.gro", tmp_path / f"m_{kind}.xtc")
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
