"""Real IBI: VOTCA csg_inverse driving LAMMPS on a tiny TMBT CG box (27 molecules, 189 beads).

The box is built from the mapped TMBT structure (molecule stage), 27 randomly rotated copies on a
lattice at the AA density (1.04 g/cm^3), with overlaps pushed apart by a short soft-potential LAMMPS
run. Bonded terms are harmonic around the mapped geometry; target RDFs are smooth model g(r)s.
Each iteration is 1 ps of NVT at 450 K (0.2 ps equilibration, 1 ps recorded).

What is checked against the engines themselves:
* LAMMPS leaves out exactly VOTCA's excluded pairs (LAMMPS' own neighbour list, via compute pair/local);
* csg_stat reads our XML topology and LAMMPS dump as intended (its RDF equals a numpy RDF with
  VOTCA's exclusions, binning and normalisation);
* VOTCA's pressure-correction script and the post_update order give what cgbench.engines.votca documents;
* chunking: 1 + 1 iterations, the second call resumes without redoing the first, and
  iterations_max ends the loop;
* divergence and engine failure end with clear errors;
* replicas run side by side from their own frames and VOTCA averages all of them, and a sparse pair
  takes its own update scale.
"""

import os
import shutil
import subprocess
import time

import numpy as np
import pytest

from cgbench.bonded import terms as bonded_terms
from cgbench.molecule import cgtopology
from cgbench.geometry import distributions as dist
from cgbench import ibi
from cgbench.engines import votca
from cgbench.engines import lammps
from cgbench.engines import lammps as lr
from cgbench.core.errors import EngineError
from cgbench.molecule.mapping import map_positions
from cgbench.core.units import kT

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("csg_inverse") is None or shutil.which("csg_stat") is None, reason="VOTCA is not installed"
    ),
]

N_MOL = 27
DENSITY = 1.04  # g/cm^3, the AA density at 450 K
VOTCA_SCRIPTS = "/usr/share/votca/scripts/inverse"


def _lmp():
    try:
        return lr.default_lammps_command()
    except Exception:
        pytest.skip("no LAMMPS executable")


def _table(x, x0, k):
    return bonded_terms.Table(x, 0.5 * k * (x - x0) ** 2, -k * (x - x0))


def g_model(r, r0, w=0.03, peak=0.3):
    s = 1.0 / (1.0 + np.exp(-(r - r0) / w))
    return s * (1.0 + peak * np.exp(-(((r - r0 - 0.15) / 0.08) ** 2)))


R = np.linspace(0.005, 1.4, 280)
TARGETS = {"T-T": (R, g_model(R, 0.55)), "T-A": (R, g_model(R, 0.50)), "A-A": (R, g_model(R, 0.45, peak=0.4))}
MD = lr.MDSettings(
    temperature_K=450.0,
    timestep_ps=0.001,
    n_steps=1000,
    n_equil_steps=200,
    dump_every=50,
    pressure_every=10,
    thermo_every=200,
    seed=11,
)


@pytest.fixture(scope="module")
def system(tmbt, tmp_path_factory):
    """(top, terms, positions nm, box nm) of the tiny relaxed box."""
    lmp = _lmp()
    top = tmbt.cg
    mol = map_positions(tmbt.molecule.positions[None], tmbt.mapping.com_weights())[0]
    one = np.full((1, 3), 10.0)
    terms = bonded_terms.BondedTerms()
    for t in top.interaction_types("bonds"):
        b0 = dist.bond_lengths(mol[None], one, top.indices("bonds", t)).mean()
        terms.bonds[t] = _table(np.linspace(0.2, 0.7, 501), b0, 5000.0)
    for t in top.interaction_types("angles"):
        a0 = dist.angles(mol[None], one, top.indices("angles", t)).mean()
        terms.angles[t] = _table(np.linspace(0.0, np.pi, 721), a0, 100.0)
    terms.propers = {t: bonded_terms.RyckaertBellemans((2.0, 1.0, -1.0, 0.5, 0.0, 0.0)) for t in top.interaction_types("propers")}
    terms.impropers = {t: bonded_terms.HarmonicImproper(0.0, 50.0) for t in top.interaction_types("impropers")}
    mass_g = N_MOL * top.bead_masses.sum() * 1.66053906660e-24
    L = (mass_g / DENSITY / 1e-21) ** (1.0 / 3.0)  # nm
    box = np.full(3, L)
    x0 = lr.lattice_configuration(mol, N_MOL, box, seed=3)
    x = lr.relax_overlaps(tmp_path_factory.mktemp("push"), top, terms, N_MOL, x0, box, n_steps=2000, command=lmp)
    return top, terms, x, box


# --------------------------------------------------------------------------- exclusions in LAMMPS
@pytest.mark.parametrize("kinds", [cgtopology.KINDS, ("bonds", "angles")], ids=["all-terms", "model-C"])
def test_lammps_excludes_exactly_votcas_pairs(system, tmp_path, kinds):
    top, terms_all, x, box = system
    terms = bonded_terms.BondedTerms(**{k: getattr(terms_all, k) for k in kinds})
    lr.write_system(tmp_path / "s.data", top, N_MOL, x, box, kinds)
    lr.write_bonded_tables(tmp_path, top, terms)
    w = lr.special_bonds_weights(top, kinds)
    (tmp_path / "pairs.in").write_text(
        "units real\natom_style molecular\nread_data s.data\npair_style zero 13.0\npair_coeff * *\n"
        + lr.bonded_commands(top, terms)
        + f"\nspecial_bonds lj {w[0]} {w[1]} {w[2]}\n"
        "compute d all pair/local dist\ncompute p all property/local patom1 patom2\n"
        "dump 1 all local 1 pairs.dump c_p[1] c_p[2] c_d\nrun 0\n"
    )
    lr.run_lammps("pairs.in", tmp_path, command=_lmp())
    rows = np.loadtxt(tmp_path / "pairs.dump", skiprows=9, ndmin=2)
    i, j = rows[:, 0].astype(int) - 1, rows[:, 1].astype(int) - 1
    same = i // 7 == j // 7
    seen = {tuple(sorted((a % 7, b % 7))) + (a // 7,) for a, b in zip(i[same], j[same])}
    excluded = set(cgtopology.exclusion_pairs(lr.data._restricted(top, kinds)))
    # every intramolecular pair within the cut-off that VOTCA counts, and no other, is in LAMMPS' list
    expected = set()
    for m in range(N_MOL):
        xm = x[7 * m : 7 * m + 7]
        for a in range(7):
            for b in range(a + 1, 7):
                if (a, b) not in excluded and np.linalg.norm(xm[a] - xm[b]) < 1.3:
                    expected.add((a, b, m))
    assert seen == expected
    assert any(p[:2] in excluded for p in seen) is False
    if kinds == ("bonds", "angles"):
        assert any(p[:2] == (1, 4) for p in seen)  # a 1-4 pair (A1-A4 across T) interacts in model C


# --------------------------------------------------------------------------- VOTCA's pressure script
def test_votca_pressure_script_matches_pressure_correction(tmp_path):
    if shutil.which("perl") is None:
        pytest.skip("no perl")
    kBT, f, p_target = kT(450.0), float(votca.pressure_scale_to_lammps(0.001)), float(votca.pressure_to_lammps(1.0))
    env = dict(os.environ, PERL5LIB=VOTCA_SCRIPTS)
    for p_now in (2065.0, 300.0, -150.0):
        out = tmp_path / f"pc_{p_now}"
        subprocess.run(
            [
                "perl",
                f"{VOTCA_SCRIPTS}/pressure_cor_simple.pl",
                str(p_now),
                str(out),
                str(kBT),
                "0:0.01:1.3",
                str(f),
                str(p_target),
                "0.1",
            ],
            check=True,
            env=env,
            capture_output=True,
        )
        r, dU, _ = votca.read_table(out)
        np.testing.assert_allclose(dU, votca.pressure_correction(r, p_now, p_target, kBT, f, 0.1, 1.3), atol=1e-9)
        assert (dU[0] < 0) == (p_now > p_target)


# --------------------------------------------------------------------------- the loop
@pytest.fixture(scope="module")
def loop(system, tmp_path_factory):
    """setup; run_chunk(1); snapshot; run_chunk(1) with iterations_max = 2."""
    top, terms, x, box = system
    wd = tmp_path_factory.mktemp("ibi") / "loop"
    ibi.setup(wd, top, N_MOL, x, box, TARGETS, terms, MD, ibi.IBISettings(iterations_max=2), lammps_command=_lmp())
    t0 = time.perf_counter()
    first = ibi.run_chunk(wd, 1)
    t1 = time.perf_counter()
    stamp = {f: (wd / "step_001" / f).stat().st_mtime_ns for f in ("done", "traj.dump", "T_T.pot.new")}
    after_one = wd.parent / "after_one"
    shutil.copytree(wd, after_one)  # the state between two chunks, for the divergence test
    out = wd.parent
    second = ibi.run_chunk(wd, 1, convergence_csv=out / "convergence.csv", sentinel=out / "chunk.json")
    t2 = time.perf_counter()
    print(f"\nIBI chunk 1 (prepare + iteration 1): {t1 - t0:.1f} s, chunk 2 (iteration 2 + done): {t2 - t1:.1f} s")
    print(second.to_string())
    return {"wd": wd, "first": first, "second": second, "stamp": stamp, "out": out, "after_one": after_one}


def test_two_iterations_finished_and_resumed_without_redoing(loop):
    wd = loop["wd"]
    assert ibi.completed_iterations(wd) == [1, 2]
    assert list(loop["first"].iteration.unique()) == [1]
    assert not (loop["after_one"] / "done").exists()
    stamp = {f: (wd / "step_001" / f).stat().st_mtime_ns for f in loop["stamp"]}
    assert stamp == loop["stamp"]  # step_001 untouched by the second chunk
    assert (wd / "step_002" / "done").exists()
    timing = (wd / ibi.TIMING).read_text().split()
    assert [ln.split(",")[0] for ln in timing[1:]] == ["1", "2"]


def test_iterations_max_ends_the_loop(loop):
    wd = loop["wd"]
    assert ibi.is_done(wd)  # iterations_max = 2: VOTCA wrote 'done'
    table = ibi.run_chunk(wd, 1)  # nothing left to do
    assert not (wd / "step_003").exists() and sorted(table.iteration.unique()) == [1, 2]


def test_potentials_were_updated(loop):
    wd = loop["wd"]
    for name in ("T_T", "T_A", "A_A"):
        r0, U0, _ = votca.read_table(wd / "step_000" / f"{name}.pot.new")
        r1, U1, _ = votca.read_table(wd / "step_001" / f"{name}.pot.new")
        r2, U2, _ = votca.read_table(wd / "step_002" / f"{name}.pot.new")
        assert np.isfinite(U1).all() and np.isfinite(U2).all()
        assert np.abs(U1 - U0).max() > 1e-3 and np.abs(U2 - U1).max() > 1e-3
        # each iteration ran with the previous one's result
        _, cur, _ = votca.read_table(wd / "step_002" / f"{name}.pot.cur")
        np.testing.assert_allclose(cur, U1)
    pots = ibi.pair_potentials(wd)
    assert set(pots) == {"T-T", "T-A", "A-A"}
    r, U, F = pots["A-A"]
    assert r[0] == pytest.approx(0.1) and U[-1] == 0.0 and np.isfinite(F).all()
    # the production tables can be written straight from them
    lammps.write_pair_table(loop["out"] / "pairs.table", {k.replace("-", "_"): v for k, v in pots.items()})


def test_convergence_rows_and_chunk_outputs(loop):
    table = loop["second"]
    assert len(table) == 6 and list(table.iteration) == [1, 1, 1, 2, 2, 2]
    assert set(table.pair) == {"T-T", "T-A", "A-A"}
    numbers = ["rdf_l2", "rdf_l1", "pressure_bar", "pressure_noise_bar", "wall_s", "votca_s"]
    assert np.isfinite(table[numbers].to_numpy()).all()
    assert (table.rdf_l2 > 0).all() and (table.wall_s > table.md_loop_s).all() and (table.votca_s > 0).all()
    assert not table.criterion_met.any()  # no criterion set: never met
    csv = loop["out"] / "convergence.csv"
    assert csv.exists() and len(csv.read_text().splitlines()) == 7
    import json

    s = json.loads((loop["out"] / "chunk.json").read_text())
    assert s["last_iteration"] == 2 and s["done"] is True and s["iterations_max"] == 2
    assert s["converged"] is False and s["stopped_early"] is False


def test_update_is_alpha_ibi_plus_unscaled_pressure_correction(loop):
    """post_update 'scale pressure': dpot.2 = 0.5 dpot.1, dpot.3 = dpot.2 + our pressure_correction."""
    step = loop["wd"] / "step_001"
    p_atm = float((step / "T_T.pressure").read_text().split("=")[1])
    kBT = kT(MD.temperature_K)
    f = float(votca.pressure_scale_to_lammps(0.001))
    pt = float(votca.pressure_to_lammps(1.0))
    for name in ("T_T", "T_A", "A_A"):
        r, d1, _ = votca.read_table(step / f"{name}.dpot.1")
        _, d2, _ = votca.read_table(step / f"{name}.dpot.2")
        _, d3, _ = votca.read_table(step / f"{name}.dpot.3")
        np.testing.assert_allclose(d2, 0.5 * d1, atol=1e-9)
        pc = votca.pressure_correction(r, p_atm, pt, kBT, f, 0.1, 1.3)
        np.testing.assert_allclose(d3 - d2, pc, atol=1e-7)
        _, pc_votca, _ = votca.read_table(step / f"{name}.pressure_correction")
        np.testing.assert_allclose(pc_votca, pc, atol=1e-8)
    # what LAMMPS reported is what VOTCA used, and the box was far above 1 bar: an attractive ramp
    p_lmp = np.loadtxt(step / "pressure.dat", skiprows=1)
    assert p_atm == pytest.approx(p_lmp.mean(), rel=1e-9)
    if p_atm > pt:
        assert pc[0] < 0


def test_csg_stat_rdf_uses_our_topology_exclusions_and_units(loop, system):
    """csg_stat on our XML topology + LAMMPS dump == numpy RDF with VOTCA's conventions.

    VOTCA: Angstrom -> nm on reading the dump; bins centred on its grid points; like pairs
    normalised by N^2/2 (not N(N-1)/2); pairs sharing any bonded interaction excluded.
    """
    top = system[0]
    step = loop["wd"] / "step_001"
    d = lammps.read_dump(step / "traj.dump")
    types = np.tile(np.array(top.bead_types), N_MOL)
    excl = {(7 * m + a, 7 * m + b) for m in range(N_MOL) for a, b in cgtopology.exclusion_pairs(top)}
    grid = ibi.IBISettings().grid()
    h = grid[1] - grid[0]
    edges = np.concatenate([[0.0], grid[1:] - h / 2, [grid[-1] + h / 2]])
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    for name, ta, tb in (("T_T", "T", "T"), ("T_A", "T", "A"), ("A_A", "A", "A")):
        a, b = np.flatnonzero(types == ta), np.flatnonzero(types == tb)
        ii, jj = np.meshgrid(a, b, indexing="ij")
        keep = np.array([[(min(p, q), max(p, q)) not in excl for q in b] for p in a]) & (ii != jj)
        if ta == tb:
            keep &= ii < jj
        H = np.zeros(grid.size)
        for x, L in zip(d.positions, d.box):
            dd = x[a][:, None] - x[b][None]
            dd -= L * np.round(dd / L)
            H += np.histogram(np.linalg.norm(dd, axis=-1)[keep], edges)[0] * np.prod(L)
        norm = a.size * b.size / (2.0 if ta == tb else 1.0)
        g = H / (len(d.positions) * shell * norm)
        _, g_votca, _ = votca.read_table(step / f"{name}.dist.new")
        np.testing.assert_allclose(g_votca[1:], g[1:], atol=1e-6)


def test_divergence_stops_with_a_clear_error_and_keeps_the_last_good_iteration(loop):
    wd = loop["after_one"]
    with pytest.raises(ibi.IBIDivergence, match="iteration 2") as err:
        ibi.run_chunk(wd, 1, pressure_bound_bar=1e-3)  # any real pressure "explodes" past this bound
    assert err.value.iteration == 2 and err.value.last_good == 1
    assert "exceeds the bound" in str(err.value) and "step_001" in str(err.value)
    assert not (wd / "step_002").exists() and (wd / "diverged_step_002" / "done").exists()
    assert ibi.completed_iterations(wd) == [1] and not ibi.is_done(wd)
    assert (wd / "step_001" / "T_T.pot.new").exists()


def test_failed_lammps_run_raises_engine_error(system, tmp_path):
    top, terms, x, box = system
    # a table that starts at 0.8 nm: LAMMPS stops at the first closer pair
    ibi.setup(
        tmp_path / "bad",
        top,
        N_MOL,
        x,
        box,
        TARGETS,
        terms,
        MD,
        ibi.IBISettings(iterations_max=2, table_begin_nm=0.8),
        lammps_command=_lmp(),
    )
    with pytest.raises(EngineError) as err:
        ibi.run_chunk(tmp_path / "bad", 1)
    msg = str(err.value)
    assert "csg_inverse" in msg and str(tmp_path / "bad") in msg and "iteration 1" in msg
    assert "inner cutoff" in msg or "ERROR" in msg
    assert ibi.completed_iterations(tmp_path / "bad") == []


# --------------------------------------------------------------------------- options of the loop
def _smooth_flagged(y, flags):
    """VOTCA's table_smooth.pl: 1-2-1 on in-range points, end points (2 y0 + y1)/3."""
    z = y.copy()
    inner = np.flatnonzero(flags[1:-1] == "i") + 1
    z[inner] = 0.25 * y[inner - 1] + 0.5 * y[inner] + 0.25 * y[inner + 1]
    if flags[0] == "i":
        z[0] = (2 * y[0] + y[1]) / 3
    if flags[-1] == "i":
        z[-1] = (2 * y[-1] + y[-2]) / 3
    return z


@pytest.fixture(scope="module")
def options_loop(system, tmp_path_factory):
    """wjk pressure correction on T-A and A-A only, smoothed updates, a coarser smoothed grid for the
    sparse T-T pair, and a criterion that holds from the first iteration on (hold 2): a 4-iteration budget stops
    after iteration 2."""
    from cgbench.ibi.criterion import Criterion

    top, terms, x, box = system
    wd = tmp_path_factory.mktemp("ibi_options") / "loop"
    settings = ibi.IBISettings(
        iterations_max=4,
        pressure_type="wjk",
        pressure_pairs=("T-A", "A-A"),
        smooth_iterations=1,
        sparse_max_pairs=1000,  # T-T: 27 * 26 / 2 = 351 pairs; T-A 4374
        sparse_step_nm=0.02,
        sparse_target_smooth_iterations=2,
        criterion=Criterion(rdf_l2_nm=10.0, pressure_tolerance_bar=1.0e5, hold_iterations=2),
    )
    ibi.setup(wd, top, N_MOL, x, box, TARGETS, terms, MD, settings, lammps_command=_lmp())
    out = wd.parent
    t0 = time.perf_counter()
    table = ibi.run_chunk(wd, 3, sentinel=out / "chunk_1.json")
    after = ibi.run_chunk(wd, 1, sentinel=out / "chunk_2.json")
    print(f"\nIBI options loop: {time.perf_counter() - t0:.1f} s\n{table.to_string()}")
    return {"wd": wd, "out": out, "table": table, "after": after, "box": box}


def test_criterion_stops_the_loop_early_and_later_chunks_pass_it_on(options_loop):
    import json

    wd, out = options_loop["wd"], options_loop["out"]
    assert ibi.completed_iterations(wd) == [1, 2] and ibi.is_done(wd)
    assert not (wd / "step_003").exists()
    assert (wd / "step_002" / "stop").exists() and not (wd / "step_001" / "stop").exists()
    checks = [json.loads((wd / f"step_{i:03d}" / "cgbench_check.json").read_text()) for i in (1, 2)]
    assert [c["holds"] for c in checks] == [True, True] and [c["converged"] for c in checks] == [False, True]
    # each check measured every pair's sampling noise from the two halves of its iteration's run
    for c in checks:
        assert set(c["rdf_noise"]) == {"T-T", "T-A", "A-A"} and all(v > 0 for v in c["rdf_noise"].values())
    # what csg_inverse's check saw is what collect reports
    table = options_loop["table"]
    for c in checks:
        rows = table[table.iteration == c["iteration"]]
        assert dict(zip(rows.pair, rows.rdf_l2)) == pytest.approx(c["rdf_l2"])
    first, second = (json.loads((out / f"chunk_{k}.json").read_text()) for k in (1, 2))
    assert first["converged"] and first["stopped_early"] and first["last_iteration"] == 2
    assert second == {**first, "chunk_wall_s": second["chunk_wall_s"]}  # the no-op chunk passes the state on
    assert options_loop["after"].equals(table)
    # one csg_inverse call for the chunk, not one per iteration
    assert (wd / "inverse.log").read_text().count("Sim started") == 1
    st = ibi.convergence_state(wd)
    assert st["converged"] and st["first_met"] == 1 and st["iterations"] == 2 and st["iterations_max"] == 4


def test_csg_property_answers_were_remembered(options_loop):
    cache = options_loop["wd"] / ibi.SCRIPTS / "property_cache"
    entries = [p for p in cache.rglob("*") if p.is_file() and p.name != ".stamp"]
    assert len(entries) > 50  # the questions csg_inverse asked, each asked many times
    settings_dir = next(d for d in cache.iterdir() if d.name.endswith("settings.xml"))
    program = next(p for p in settings_dir.iterdir() if "cg.inverse.program" in p.name)
    assert program.read_text().strip() == "lammps"


def test_coarser_smoothed_target_grid_for_the_sparse_pair(options_loop):
    wd = options_loop["wd"]
    r_tt, g_tt, _ = votca.read_table(wd / "T_T.dist.tgt")
    r_aa, _, _ = votca.read_table(wd / "A_A.dist.tgt")
    assert np.diff(r_tt) == pytest.approx(0.02) and np.diff(r_aa) == pytest.approx(0.01)
    raw = ibi.resample_target(*TARGETS["T-T"], r_tt) * ibi.votca_like_pair_factor(N_MOL)
    np.testing.assert_allclose(g_tt, np.where(raw > 0, ibi.smooth_121(raw, 2), 0.0), atol=1e-9)
    r_new, _, _ = votca.read_table(wd / "step_001" / "T_T.dist.new")
    np.testing.assert_allclose(r_new, r_tt)  # csg_stat sampled T-T on the coarser grid
    r, U, F = ibi.pair_potentials(wd)["T-T"]
    assert r[0] == pytest.approx(0.1) and np.diff(r) == pytest.approx(0.02) and np.isfinite(F).all()


def test_smoothed_update_then_scale_then_wjk_pressure_correction(options_loop):
    """post_update 'smooth scale pressure' with wjk: dpot.2 = smooth(dpot.1), dpot.3 = 0.5 dpot.2,
    dpot.4 - dpot.3 = the Wang-Junghans-Kremer ramp for the density of the corrected pairs'
    share of the virial (T-A and A-A: rho_eff^2 = rho_A^2 + 2 rho_T rho_A); T-T takes no ramp."""
    wd = options_loop["wd"]
    step = wd / "step_001"
    p_atm = float((step / "T_A.pressure").read_text().split("=")[1])
    kBT = kT(MD.temperature_K)
    pt = float(votca.pressure_to_lammps(1.0))
    volume = float(np.prod(options_loop["box"]))
    rho_t, rho_a = N_MOL / volume, 6 * N_MOL / volume
    rho = np.sqrt(rho_a**2 + 2 * rho_t * rho_a)
    c, cap = votca.wjk_options(1.0, 0.1)
    r, d1, flags = votca.read_table(step / "T_T.dpot.1")
    _, d3, _ = votca.read_table(step / "T_T.dpot.3")
    _, new, _ = votca.read_table(step / "T_T.dpot.new")
    assert not (step / "T_T.dpot.4").exists() and not (step / "T_T.pressure_correction").exists()
    np.testing.assert_allclose(new - new[-1], d3 - d3[-1], atol=1e-8)  # VOTCA shifts the update to 0 at r_max
    for name in ("T_A", "A_A"):
        r, d1, flags = votca.read_table(step / f"{name}.dpot.1")
        _, d2, _ = votca.read_table(step / f"{name}.dpot.2")
        _, d3, _ = votca.read_table(step / f"{name}.dpot.3")
        _, d4, _ = votca.read_table(step / f"{name}.dpot.4")
        np.testing.assert_allclose(d2, _smooth_flagged(d1, flags), atol=1e-8)
        np.testing.assert_allclose(d3, 0.5 * d2, atol=1e-8)
        _, g, _ = votca.read_table(step / f"{name}.dist.new")
        ramp = votca.wjk_correction(r, p_atm, pt, kBT, rho, g, r[1] - r[0], c, cap, 1.3)
        np.testing.assert_allclose(d4 - d3, ramp, atol=1e-6)
        if p_atm > pt:
            assert ramp[0] < 0
        assert abs(ramp[0]) <= 0.1 * kBT + 1e-9


# --------------------------------------------------------------------------- replicas and per-pair update scales
@pytest.fixture(scope="module")
def replica_loop(system, tmp_path_factory):
    """One iteration of two replicas side by side, the second from another relaxed lattice, and a
    larger update scale for the sparse T-T pair."""
    top, terms, x, box = system
    lmp = _lmp()
    x1 = lr.relax_overlaps(tmp_path_factory.mktemp("push1"), top, terms, N_MOL,
                           lr.lattice_configuration(x[:7] - x[:7].mean(0), N_MOL, box, seed=8), box,
                           n_steps=2000, command=lmp)
    wd = tmp_path_factory.mktemp("ibi_replicas") / "loop"
    settings = ibi.IBISettings(iterations_max=1, replicas=2, sparse_max_pairs=1000, sparse_alpha=0.3)
    ibi.setup(wd, top, N_MOL, x, box, TARGETS, terms, MD, settings, lammps_command=lmp, replica_positions_nm=[x1])
    t0 = time.perf_counter()
    table = ibi.run_chunk(wd, 1)
    print(f"\nIBI, 2 replicas, 1 iteration: {time.perf_counter() - t0:.1f} s")
    return {"wd": wd, "table": table, "x1": x1, "box": box}


def test_replicas_ran_side_by_side_from_their_own_frames(replica_loop):
    step = replica_loop["wd"] / "step_001"
    frames = MD.n_steps // MD.dump_every + 1
    main, rep = lammps.read_dump(step / "traj.dump"), lammps.read_dump(step / "traj_r1.dump")
    assert len(rep.positions) == frames and len(main.positions) == 2 * frames  # the main dump holds both
    np.testing.assert_array_equal(main.positions[frames:], rep.positions)
    assert not np.allclose(main.positions[frames - 1], rep.positions[-1], atol=0.05)  # independent runs
    assert "read_data       system_r1.data" in (step / "cg_nvt_r1.in").read_text()
    assert "Loop time" in (step / "log_r1.lammps").read_text()


def test_votca_averages_the_pressure_of_every_replica(replica_loop):
    step = replica_loop["wd"] / "step_001"
    own = np.loadtxt(step / "pressure_r1.dat", skiprows=1)
    pooled = np.loadtxt(step / "pressure.dat", skiprows=1)
    assert len(pooled) == 2 * len(own)
    np.testing.assert_array_equal(pooled[len(own):], own)
    p_atm = float((step / "T_A.pressure").read_text().split("=")[1])
    assert p_atm == pytest.approx(pooled.mean(), rel=1e-9)
    assert pooled[: len(own)].mean() != pytest.approx(own.mean(), rel=1e-3)


def test_the_sparse_pair_takes_its_own_update_scale(replica_loop):
    step = replica_loop["wd"] / "step_001"
    for name, alpha in (("T_T", 0.3), ("T_A", 0.5), ("A_A", 0.5)):
        _, d1, _ = votca.read_table(step / f"{name}.dpot.1")
        _, d2, _ = votca.read_table(step / f"{name}.dpot.2")
        np.testing.assert_allclose(d2, alpha * d1, atol=1e-9)

