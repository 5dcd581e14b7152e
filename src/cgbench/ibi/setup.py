"""Set-up of an IBI loop: everything ``csg_inverse`` needs, written into the loop's working directory."""

from dataclasses import asdict, replace
import json
from pathlib import Path
import shutil

import numpy as np

from ..engines import votca
from ..engines import lammps
from .criterion import Criterion
from ..core.errors import CgbenchError
from ..core.paths import PACKAGE_ROOT
from .settings import (
    CHECK_TYPE,
    CONF_OUT,
    DATA,
    LAMMPS_LOG,
    META,
    PRESSURE,
    REPLICA_RUNNER,
    SCRIPT,
    SCRIPTS,
    SETTINGS,
    STEP,
    TOPOLOGY,
    TRAJ,
    IBISettings,
    replica_name,
)
from .targets import initial_potential, resample_target, smooth_121, votca_like_pair_factor


def _pairs(targets, settings):
    """PairSpecs from target keys ``"T-A"`` (bead types joined by '-')."""
    pairs = []
    for key in targets:
        types = key.split("-")
        if len(types) != 2 or not all(types):
            raise CgbenchError(f"target keys must be two bead types joined by '-', got {key!r}")
        pairs.append(
            votca.PairSpec(
                types[0], types[1], f"{types[0]}_{types[1]}.dist.tgt", 0.0, settings.cutoff_nm, settings.step(key)
            )
        )
    return pairs


def setup(
    workdir,
    top,
    n_molecules,
    positions_nm,
    box_nm,
    targets,
    terms,
    md,
    settings=IBISettings(),
    lammps_command=None,
    threads=1,
    target_normalisation="pairs",
    replica_positions_nm=(),
):
    """Prepare an IBI working directory for ``csg_inverse``.

    Parameters
    ----------
    workdir : str or Path
        Created if missing; must not hold a loop already (``step_*`` folders).
    top : cgbench.molecule.cgtopology.CGTopology
    n_molecules : int
    positions_nm : ndarray, shape (n_molecules * n_beads, 3), nm
        Starting configuration (e.g. the last mapped AA frame), molecules whole.
    box_nm : ndarray, shape (3,), nm
        Box at the AA density.
    targets : mapping of str -> (r, g)
        ``"T-T"``, ``"T-A"``, ``"A-A"`` -> target RDF, r (n,) nm, g (n,); one entry per pair of bead
        types, reaching the cut-off.
    target_normalisation : {"pairs", "votca"}
        How the targets were normalised. ``"pairs"``: by the number of distinct pairs,
        :math:`N(N-1)` for like pairs, as :func:`cgbench.geometry.distributions.rdf` does (ideal gas: g = 1).
        ``"votca"``: as ``csg_stat`` does, by :math:`N^2` for like pairs. IBI compares the target
        with ``csg_stat``'s RDF of the CG box, so ``"pairs"`` targets of like pairs are multiplied
        by :func:`votca_like_pair_factor` of the CG box, (N - 1)/N with N beads of that type: IBI
        then reproduces the true g(r) (1.6 % for T-T with 64 TMBT; 0.03 % with 3000).
    terms : cgbench.bonded.terms.BondedTerms
        Fixed bonded terms; their kinds also decide VOTCA's and LAMMPS' exclusions.
    md : cgbench.engines.lammps.MDSettings
        The CG NVT run of each iteration.
    settings : IBISettings
    lammps_command : str, optional
        Default :func:`cgbench.engines.lammps.default_lammps_command`.
    threads : int
        OpenMP threads of LAMMPS (each replica) and threads of csg_stat.
    replica_positions_nm : sequence of ndarray, shape (n_molecules * n_beads, 3), nm
        Starting configurations of replicas 1, 2, ... (``settings.replicas`` - 1 of them, in the
        same box): other frames of the mapped AA trajectory. Replica 0 starts from
        ``positions_nm``.

    Returns
    -------
    Path
        ``settings.xml``.
    """
    workdir = Path(workdir)
    if workdir.exists() and any(STEP.match(p.name) for p in workdir.iterdir()):
        raise CgbenchError(f"{workdir} already holds an IBI loop (step_* folders); remove it to start over")
    # Everything is checked before anything is written.
    terms.check(top)
    kinds = terms.kinds()
    # Fail here, not in the first iteration, when LAMMPS cannot exclude VOTCA's pairs.
    lammps.special_bonds_weights(top, kinds)
    bead_types = set(top.bead_types)
    pairs = _pairs(targets, settings)
    wanted = {frozenset((a, b)) for a in bead_types for b in bead_types}
    given = [frozenset((p.type1, p.type2)) for p in pairs]
    if set(given) != wanted or len(given) != len(wanted):
        raise CgbenchError(
            f"need exactly one target RDF per pair of bead types {sorted(bead_types)}, got {list(targets)}"
        )
    counts = {t: top.bead_types.count(t) * n_molecules for t in bead_types}
    sparse = [k for k in targets if k in set(settings.sparse_pairs(counts))
              or "-".join(reversed(k.split("-"))) in set(settings.sparse_pairs(counts))]
    if sparse:
        settings = replace(
            settings,
            pair_step_nm={**{k: settings.sparse_step_nm for k in sparse}, **settings.pair_step_nm},
            target_smooth_iterations={**{k: settings.sparse_target_smooth_iterations for k in sparse},
                                      **settings.target_smooth_iterations},
            pair_alpha=({k: settings.sparse_alpha for k in sparse} if settings.sparse_alpha is not None else {})
            | settings.pair_alpha,
        )
        pairs = _pairs(targets, settings)
    box = np.asarray(box_nm, dtype=float)
    if settings.cutoff_nm > 0.5 * box.min():
        raise CgbenchError(
            f"cut-off {settings.cutoff_nm} nm exceeds half the smallest box length {0.5 * box.min():.4g} nm"
        )
    unknown = (set(settings.pair_step_nm) | set(settings.target_smooth_iterations) | set(settings.pair_alpha)
               | set(settings.pressure_pairs or ())) - set(targets)
    if settings.criterion is not None:
        unknown |= set(settings.criterion.rdf_l2_nm_pairs) - set(targets)
    if unknown:
        raise CgbenchError(f"per-pair IBI settings name pairs without a target RDF: {sorted(unknown)}")
    if settings.pressure_type not in ("simple", "wjk"):
        raise CgbenchError(f"pressure_type must be 'simple' or 'wjk', got {settings.pressure_type!r}")
    if settings.criterion is not None and settings.convergence_limit is not None:
        raise CgbenchError("give either a criterion or VOTCA's convergence_limit, not both")
    replica_positions = [np.asarray(x, dtype=float) for x in replica_positions_nm]
    if int(settings.replicas) < 1:
        raise CgbenchError(f"replicas must be >= 1, got {settings.replicas}")
    if len(replica_positions) != settings.replicas - 1:
        raise CgbenchError(f"{settings.replicas} replicas need {settings.replicas - 1} more starting "
                           f"configurations, got {len(replica_positions)}")
    if any(x.shape != np.shape(positions_nm) for x in replica_positions):
        raise CgbenchError(f"every replica's starting configuration must have the shape {np.shape(positions_nm)}")
    if settings.replicas > 1 and settings.initial_configuration != "maindir":
        # VOTCA hands only the main run the last iteration's end; the replicas would restart from their frames
        raise CgbenchError("replicas > 1 needs initial_configuration 'maindir': each replica starts from its own frame")
    corrected = set(targets) if settings.pressure_pairs is None else set(settings.pressure_pairs)
    if not corrected:
        raise CgbenchError("pressure_pairs is empty: at least one pair must take the pressure correction")
    rho = None
    if settings.pressure_type == "wjk":
        # the ramps act on the corrected pairs only: their share of the pair virial sets the density,
        # rho_eff^2 = sum over ordered type pairs of rho_i rho_j (all pairs: the whole-fluid density)
        dens = {t: top.bead_types.count(t) * n_molecules / float(np.prod(box)) for t in bead_types}
        share = sum(dens[p.type1] * dens[p.type2] * (1 if p.type1 == p.type2 else 2)
                    for p, key in zip(pairs, targets) if key in corrected)
        rho = float(np.sqrt(share))  # = votca.wjk_density(all beads, volume) when every pair is corrected
    pairs = [votca.PairSpec(p.type1, p.type2, p.target, p.min_nm, p.max_nm, p.step_nm,
                            rho if key in corrected else None, key in corrected, settings.pair_update_scale(key))
             for p, key in zip(pairs, targets)]
    tables = {}
    if target_normalisation not in ("pairs", "votca"):
        raise CgbenchError(f"target_normalisation must be 'pairs' or 'votca', got {target_normalisation!r}")
    for p, (key, (r, g)) in zip(pairs, targets.items()):
        grid = settings.grid(key)
        try:
            g_grid = resample_target(r, g, grid)
        except CgbenchError as err:
            raise CgbenchError(f"target RDF {key}: {err}") from None
        passes = int(settings.target_smooth_iterations.get(key, 0))
        if passes:
            # the core (g = 0, never sampled) stays empty: smoothing must not invent contacts there
            g_grid = np.where(g_grid > 0, smooth_121(g_grid, passes), 0.0)
        if target_normalisation == "pairs" and p.type1 == p.type2:
            g_grid = g_grid * votca_like_pair_factor(top.bead_types.count(p.type1) * n_molecules)
        tables[key] = (grid, g_grid, initial_potential(grid, g_grid, md.temperature_K, settings.g_min))

    workdir.mkdir(parents=True, exist_ok=True)
    for p, key in zip(pairs, targets):
        grid, g_grid, U0 = tables[key]
        votca.write_table(workdir / p.target, grid, g_grid, comment=f"target RDF {key}, r in nm")
        votca.write_table(workdir / f"{p.name}.pot.in", grid, U0, comment=f"-kT ln g_ref {key}, nm, kJ/mol")
    scriptpath = _write_votca_scripts(workdir)

    bonded_tables = [p.name for p in lammps.write_bonded_tables(workdir, top, terms)]
    votca.write_topology(workdir / TOPOLOGY, top, n_molecules, kinds)
    pair_tables = {(p.type1, p.type2): (p.lammps_table, "VOTCA") for p in pairs}
    replica_files = []
    for k, x in enumerate([positions_nm, *replica_positions]):
        # replica k: its own frame and seeds, its own output files in the same step folder
        lammps.write_system(workdir / replica_name(DATA, k), top, n_molecules, x, box, kinds)
        lammps.write_nvt_input(
            workdir / replica_name(SCRIPT, k),
            top,
            terms,
            replace(md, seed=int(md.seed) + 7919 * k),
            pair_tables,
            settings.cutoff_nm,
            settings.table_points(),
            data_file=replica_name(DATA, k),
            traj=replica_name(TRAJ, k),
            pressure_file=replica_name(PRESSURE, k),
            conf_out=replica_name(CONF_OUT, k),
        )
        if k:
            replica_files += [replica_name(DATA, k), replica_name(SCRIPT, k)]
    lmp = lammps_command or lammps.default_lammps_command()
    if settings.replicas > 1:
        lmp = _write_replica_runner(scriptpath, lmp, settings.replicas)
    settings_path = votca.write_settings(
        workdir / SETTINGS,
        pairs,
        temperature_K=md.temperature_K,
        iterations_max=settings.iterations_max,
        lammps_command=lmp,
        lammps_script=SCRIPT,
        topology=TOPOLOGY,
        data_file=DATA,
        traj=TRAJ,
        pressure_file=PRESSURE,
        conf_out=CONF_OUT,
        filelist=bonded_tables + replica_files,
        p_target_bar=settings.p_target_bar,
        alpha=settings.alpha,
        pressure_scale_per_bar=settings.pressure_scale_per_bar,
        pressure_max_A=settings.pressure_max_A,
        convergence_limit=settings.convergence_limit,
        initial_configuration=settings.initial_configuration,
        table_begin_nm=settings.table_begin_nm,
        table_bins_nm=settings.table_bins_nm,
        lammps_log=LAMMPS_LOG,
        lammps_threads=threads,
        csg_stat_threads=threads,
        pressure_type=settings.pressure_type,
        wjk_scale=settings.wjk_scale,
        smooth_iterations=settings.smooth_iterations,
        votca_convergence=settings.votca_convergence,
        convergence_check=None if settings.convergence_limit is not None else CHECK_TYPE,
        scriptpath=scriptpath,
    )
    meta = {
        "pairs": [{"name": p.name, "key": k, "target": p.target, "step_nm": p.step_nm} for p, k in zip(pairs, targets)],
        "bead_types": list(top.bead_types),
        "temperature_K": md.temperature_K,
        "md": asdict(md),
        "ibi": asdict(settings),
        "n_molecules": int(n_molecules),
        "target_normalisation": target_normalisation,
        "molecule": top.name,
        "criterion": (settings.criterion or Criterion(p_target_bar=settings.p_target_bar)).to_dict(),
    }
    (workdir / META).write_text(json.dumps(meta, indent=1))
    return settings_path


def _write_replica_runner(scriptpath, lmp, n):
    """Write the replica runner (``REPLICA_RUNNER``) into ``scriptpath``; returns its path.

    ``csg_inverse`` calls it as its LAMMPS command, in the step folder, with the main run's
    arguments. Replica k reads its own input (its own frame of the AA trajectory, seeds and output
    files, :func:`replica_name`); when all have ended, their frames and pressures are appended to the
    main run's, so that ``csg_stat`` and the pressure correction average over every replica.

    LAMMPS on a few hundred beads uses one core poorly (the demo's 448 beads: 73 % of one core),
    and a second run from another frame samples the liquid independently, where a longer run would
    stay near its starting frame. The pooled trajectory's first and second halves are then separate
    runs, which is what :mod:`cgbench.ibi.noise` assumes of its halves.
    """
    others = range(1, int(n))
    lines = ["#!/bin/bash",
             f"# One IBI iteration's CG MD as {int(n)} independent runs side by side (cgbench.ibi.setup).",
             f'lmp="{lmp}"', f"n={int(n)}", "pids=()"]
    lines += [f'"$lmp" -in {replica_name(SCRIPT, k)} -log {replica_name(LAMMPS_LOG, k)} -screen none & pids+=($!)'
              for k in others]
    lines += ['"$lmp" "$@"', "rc=$?"]
    lines += [f'wait "${{pids[{k - 1}]}}" || {{ echo "{REPLICA_RUNNER}: replica {k} of $n failed, see '
              f'{replica_name(LAMMPS_LOG, k)}" >&2; rc=1; }}' for k in others]
    lines += ["((rc == 0)) || exit $rc"]
    lines += [f"cat {replica_name(TRAJ, k)} >> {TRAJ} && tail -n +2 {replica_name(PRESSURE, k)} >> {PRESSURE} || exit 1"
              for k in others]
    path = Path(scriptpath) / REPLICA_RUNNER
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o755)
    return str(path)


#: csg_property, remembered (see :func:`_write_votca_scripts`). ``@REAL@`` and ``@CACHE@`` are filled in.
_PROPERTY_CACHE = r"""#!/bin/bash
# csg_property, remembered. csg_inverse asks the same few hundred questions of the same XML files in
# every iteration, one csg_property process (about 20 ms) each. An answer depends only on the
# arguments and the file read, so answers are kept per file and dropped when the file changes.
real="@REAL@"
file= prev= args=()
for a in "$@"; do
  if [[ $prev == --file ]]; then file=$a; else [[ $a == --file ]] || args+=("$a"); fi
  prev=$a
done
printf -v key '%s\x1f' "${args[@]}"
key=${key//%/%25}; key=${key//\//%2F}
[[ -n $file && -f $file && ${#key} -le 200 ]] || exec "$real" "$@"
name=${file//%/%25}
dir="@CACHE@/${name//\//%2F}"
if [[ ! -f $dir/.stamp || $file -nt $dir/.stamp ]]; then
  rm -rf "$dir" && mkdir -p "$dir" && : > "$dir/.stamp" || exec "$real" "$@"
fi
entry=$dir/$key
if [[ -f $entry ]]; then
  IFS= read -r -d '' out < "$entry"
  printf '%s' "$out"
  exit 0
fi
out=$("$real" "$@"; rc=$?; printf x; exit $rc)
rc=$?
out=${out%x}
((rc == 0)) && printf '%s' "$out" > "$entry.$$" && mv -f "$entry.$$" "$entry"
printf '%s' "$out"
exit $rc
"""


def _write_votca_scripts(workdir):
    """Our scripts for ``csg_inverse``: a ``convergence_check`` and a remembering ``csg_property``.

    * ``cgbench_check.sh`` (:mod:`cgbench.ibi.criterion`): VOTCA looks scripts up through the
      ``csg_table`` files of its scriptpath folders before its own, so the folder's one-line table
      adds the check type ``cgbench``. It runs this Python and this copy of cgbench, whatever the
      environment ``csg_inverse`` inherits.
    * ``bin/csg_property``: VOTCA's scripts call ``csg_property`` by name, some 350 times per
      iteration with the same arguments; :func:`run_chunk` puts this folder first on ``PATH`` so
      that repeated questions are answered from a cache (kept per XML file, dropped when the file
      changes), which takes most of VOTCA's time per iteration away.

    Returns
    -------
    str
        The scriptpath folder (absolute).
    """
    import sys

    folder = (Path(workdir) / SCRIPTS).resolve()
    (folder / "bin").mkdir(parents=True, exist_ok=True)
    (folder / "csg_table").write_text(f"convergence_check {CHECK_TYPE} cgbench_check.sh\n")
    script = folder / "cgbench_check.sh"
    script.write_text(
        "#!/bin/bash\n"
        "# csg_inverse runs this in a finished step directory: cgbench's convergence criterion and divergence\n"
        "# check; it creates 'stop' to end the loop.\n"
        f'PYTHONPATH="{PACKAGE_ROOT}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{sys.executable}" -m cgbench.ibi.criterion "$PWD"\n'
    )
    script.chmod(0o755)
    real = shutil.which("csg_property")
    if real is not None and Path(real).parent != folder / "bin":
        cache = folder / "bin" / "csg_property"
        cache.write_text(_PROPERTY_CACHE.replace("@REAL@", real).replace("@CACHE@", str(folder / "property_cache")))
        cache.chmod(0o755)
    return str(folder)
