"""The EM baseline backmapping, end to end: CG frames -> placed fragments -> minimised AA frames.

:func:`backmap_frames` works on arrays (and one :class:`~cgbench.backmap.em.minimise.Minimiser`);
the file edge, with the same inputs and outputs as DBM's backmapping, is
:func:`cgbench.stages.backmap.backmap_files`.
"""

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ...core.errors import CgbenchError
from ...geometry.pbc import make_whole
from ...mapping.projection import reprojection_rmsd
from .assemble import place

log = logging.getLogger("cgbench")

__all__ = ["DEFAULTS", "REQUIRED", "COLUMNS", "resolve_settings", "backmap_frames", "reference_frames"]

#: Settings and their defaults. Units: emtol kJ/mol/nm, emstep nm, com_restraint_k kJ/mol/nm^2.
DEFAULTS = {
    "nsteps": 5000,  # steepest-descent steps at most
    "emtol": 100.0,  # stop when the largest force is below this
    "emstep": 0.01,  # initial maximum displacement
    "com_restraints": False,  # restrain each bead's COM to its CG position (pull code)
    # about the centre-of-mass part of 1000 kJ/mol/nm^2 per-atom restraints on a 10-11 atom ring
    "com_restraint_k": 10000.0,
    "reference_frames": 10,  # AA frames (evenly spread over the reference part of the run) to draw fragments from
    # the reference part is the run's first fraction: give DBM's train_fraction, so that no fragment
    # comes from a frame of the in-distribution test set (the last frames)
    "reference_fraction": 0.8,
    "max_candidates": 256,  # at most this many (frame, molecule) instances compete per bead
    "second_shell_weight": 0.1,  # anchor weight of second-shell beads of single-neighbour beads
    "threads": 1,  # mdrun -nt
    "executable": "gmx",
    "forcefield": "oplsaa.ff",  # force-field include directory of the AA runs
}
#: Settings without a default: the AA runs' non-bonded settings (``aa`` section of the config).
REQUIRED = ("cutoff_nm", "fourier_spacing_nm", "ewald_rtol")
#: Columns of the per-frame table.
COLUMNS = ("frame", "time_ps", "energy_initial_kJ_mol", "energy_final_kJ_mol", "max_force_kJ_mol_nm",
           "steps", "converged", "rmsd_nm")


def resolve_settings(settings):
    """``settings`` over :data:`DEFAULTS`; unknown or missing keys are errors naming them."""
    unknown = sorted(set(settings) - set(DEFAULTS) - set(REQUIRED))
    if unknown:
        raise CgbenchError(f"unknown EM backmapping setting(s) {unknown}; allowed: {sorted({*DEFAULTS, *REQUIRED})}")
    missing = [k for k in REQUIRED if k not in settings]
    if missing:
        raise CgbenchError(f"EM backmapping needs the AA runs' {', '.join(missing)}")
    return {**DEFAULTS, **settings}


#: Per-frame table entries kept with each finished frame.
ROW_KEYS = ("frame", "energy_initial_kJ_mol", "energy_final_kJ_mol", "max_force_kJ_mol_nm", "steps", "converged")


def backmap_frames(r, box, library, mapping, bonds, bead_bonds, minimiser, restrain=False, done=None, key=""):
    """Place fragments on every CG frame and minimise each frame.

    With ``done`` (a folder), each minimised frame is kept there as it finishes and a rerun takes
    the frames it finds instead of minimising them again: at the study's size a frame takes
    minutes, and a job stopped at its time limit resumes where it stopped.

    Parameters
    ----------
    r : ndarray, shape (n_frames, n_molecules * n_beads, 3)
        CG bead positions, nm, molecule by molecule, beads in Mapping order.
    box : ndarray, shape (n_frames, 3)
        Orthorhombic box edges, nm.
    library : cgbench.backmap.em.fragments.FragmentLibrary
    mapping : cgbench.molecule.mapping.Mapping
    bonds : ndarray, shape (n_bonds, 2)
        Atom bonds of one molecule (to make minimised molecules whole).
    bead_bonds : ndarray, shape (n_bead_bonds, 2)
    minimiser : callable
        ``minimiser(x, box, origins)`` -> :class:`~cgbench.backmap.em.minimise.EMResult`.
    restrain : bool
        Pass the CG beads as restraint origins.
    done : path, optional
        Folder of finished frames (``frame_<n>.npz``), read and written.
    key : str
        What else a kept frame must have been made with (settings, force field, fragments); a kept
        frame of another key, or of other CG positions, is made again.

    Returns
    -------
    x : ndarray, shape (n_frames, n_molecules * n_atoms, 3)
        Minimised positions, nm, molecules whole, each at the periodic image nearest its placement.
    table : pandas.DataFrame
        :data:`COLUMNS` without ``time_ps``, one row per frame.
    """
    r = np.asarray(r, dtype=float)
    box = np.asarray(box, dtype=float)
    nf, n_atoms = len(r), mapping.n_atoms
    out, rows = None, []
    if done is not None:
        done = Path(done)
        done.mkdir(parents=True, exist_ok=True)
    for f in range(nf):
        kept = done / f"frame_{f:05d}.npz" if done is not None else None
        if kept is not None and kept.is_file():
            with np.load(kept) as z:
                same = (str(z["key"]) == key and z["r"].shape == r[f].shape and np.array_equal(z["r"], r[f])
                        and np.array_equal(z["box"], box[f]))
                if same:
                    if out is None:
                        out = np.empty((nf, z["x"].shape[0], 3))
                    out[f] = z["x"]
                    rows.append({k: z[k].item() for k in ROW_KEYS})
                    log.info("frame %d: taken from %s", f, kept)
                    continue
        # one frame at a time: placement takes milliseconds, and memory stays one frame's worth
        placed = place(r[f : f + 1], box[f : f + 1], library, bead_bonds)[0]
        res = minimiser(placed, box[f], r[f] if restrain else None)
        x = make_whole(res.positions[None], box[f : f + 1], bonds, n_atoms)[0].reshape(-1, n_atoms, 3)
        # minimisation may wrap atoms into the box: put each molecule back at its placed image
        shift = placed.reshape(-1, n_atoms, 3).mean(axis=1) - x.mean(axis=1)
        x += (box[f] * np.round(shift / box[f]))[:, None]
        if out is None:
            out = np.empty((nf, x.shape[0] * n_atoms, 3))
        out[f] = x.reshape(-1, 3)
        rows.append({"frame": f, "energy_initial_kJ_mol": res.energy_initial, "energy_final_kJ_mol": res.energy_final,
                     "max_force_kJ_mol_nm": res.max_force, "steps": res.steps, "converged": res.converged})
        if kept is not None:
            part = kept.with_suffix(".part.npz")
            np.savez(part, x=out[f], r=r[f], box=box[f], key=key, **rows[-1])
            part.replace(kept)
        log.info("frame %d: %.4g -> %.4g kJ/mol in %d steps (Fmax %.3g)", f, res.energy_initial, res.energy_final,
                 res.steps, res.max_force)
    table = pd.DataFrame(rows)
    table["rmsd_nm"] = reprojection_rmsd(out, r, box, mapping.com_weights(), per_frame=True)
    return out, table


def reference_frames(n_frames, n_wanted, fraction):
    """Indices of ``n_wanted`` frames spread evenly over the first ``fraction`` of ``n_frames`` frames.

    Returns
    -------
    slice
        ``start``, ``stop`` and ``step`` for the trajectory reader.
    """
    usable = max(1, int(n_frames * fraction))
    step = max(1, usable // max(1, int(n_wanted)))
    return slice(0, min(usable, step * int(n_wanted)), step)
