r"""Sampling noise of an IBI iteration's RDF distances, from the two halves of its run.

An iteration's RDF :math:`\hat g` averages the frames of one short run, so its distance to the
target, :math:`\hat d = \int (\hat g - g_\mathrm{ref})^2 dr`, carries the estimate's own variance:

.. math:: E[\hat d] = \int (g - g_\mathrm{ref})^2 dr + \int \mathrm{Var}\,\hat g\, dr .

With the run cut into a first and a second half, :math:`\hat g = (\hat g_1 + \hat g_2)/2`, and
for halves with independent errors :math:`E[(\hat g_1 - \hat g_2)^2] = 4\,\mathrm{Var}\,\hat g`, so

.. math:: \nu = \frac{1}{4} \int (\hat g_1 - \hat g_2)^2 dr

estimates the second term: how much of :math:`\hat d` the run's sampling alone would give. A
sparse bead type (64 triazines in the demo: 2016 T-T pairs) gives a :math:`\nu` as large as the
tolerance of the convergence criterion; there a distance just above the tolerance cannot tell a
potential that misses its target from a short run. Two caveats, both stated in the report: halves
of one run are correlated through the slow modes, which makes :math:`\nu` too small, and a run
that is still relaxing from its starting frame differs between its halves for that reason too,
which makes it too large. With two replicas per iteration (``ibi.replicas``) the pooled dump
holds one run after the other, so its halves are the two runs, from frames of the AA run 25 ps
apart in the demo: the first caveat then applies only through what those frames share.

The pressure's noise is the standard error of its mean from block averages
(:func:`pressure_standard_error`): the pressure decorrelates within a fraction of a picosecond, so
ten blocks of a 20 ps run are independent, and an instantaneous pressure that swings by thousands
of bar still has a mean known to tens.

The RDFs are intermolecular (:func:`cgbench.geometry.rdf.intermolecular_rdf`) on bins of each
pair's own grid step, up to the cut-off or half the box, whichever is shorter.
"""

import numpy as np

from ..core.errors import InputError
from ..engines.lammps.data import read_dump
from ..geometry.rdf import intermolecular_rdf
from .criterion import rdf_distance

__all__ = ["split_half_noise", "iteration_noise", "pressure_standard_error"]


def split_half_noise(x, box, bead_types, molecule, pairs, r_max_nm):
    """ν of each pair: a quarter of the distance between the RDFs of the two halves of a run.

    Parameters
    ----------
    x : ndarray, shape (n_frames, n_beads, 3), nm
    box : ndarray, shape (n_frames, 3), nm
    bead_types : ndarray of str, shape (n_beads,)
    molecule : ndarray of int, shape (n_beads,)
    pairs : dict of str -> float
        Pair key (``"T-A"``) -> its grid step (nm), the width of the RDF bins.
    r_max_nm : float
        Range of the RDFs; shortened to half the smallest box length if need be.

    Returns
    -------
    dict of str -> float, nm
    """
    x = np.asarray(x, dtype=float)
    box = np.asarray(box, dtype=float)
    if x.shape[0] < 2:
        raise InputError(f"the split-half noise needs at least 2 frames, got {x.shape[0]}")
    half = x.shape[0] // 2
    types = np.asarray(bead_types).astype(str)
    reach = min(float(r_max_nm), 0.5 * float(box.min()))
    out = {}
    for key, step in pairs.items():
        a, b = key.split("-")
        bins = int(np.floor(reach / step + 1e-9))
        if bins < 1:
            raise InputError(f"{key}: the box ({box.min():.3g} nm) is too small for one {step} nm bin")
        g = [intermolecular_rdf(x[s], box[s], types == a, types == b, molecule, r_max=bins * step, bins=bins)
             for s in (slice(0, half), slice(half, None))]
        out[key] = rdf_distance(g[0][0], g[0][1], g[1][1]) / 4.0
    return out


def iteration_noise(step_dir, bead_types, n_molecules, pairs, r_max_nm, dump="traj.dump"):
    """:func:`split_half_noise` of one finished IBI iteration, from its LAMMPS dump.

    Parameters
    ----------
    step_dir : path
        The iteration's folder (``step_NNN``), holding ``dump``, whose beads are in molecule
        order (LAMMPS ids sorted, one molecule's beads after the other).
    bead_types : sequence of str
        Bead types of one molecule, in order.
    n_molecules : int
    pairs : dict of str -> float
        Pair key -> grid step (nm).
    r_max_nm : float

    Returns
    -------
    dict of str -> float, nm
    """
    d = read_dump(f"{step_dir}/{dump}")
    per = len(bead_types)
    if d.positions.shape[1] != per * n_molecules:
        raise InputError(f"{step_dir}/{dump}: {d.positions.shape[1]} beads, expected {n_molecules} x {per}")
    types = np.tile(np.asarray(bead_types, dtype=str), n_molecules)
    molecule = np.repeat(np.arange(n_molecules), per)
    return split_half_noise(d.positions, d.box, types, molecule, pairs, r_max_nm)


def pressure_standard_error(values, n_blocks=10):
    """Standard error of the mean of a pressure series, from ``n_blocks`` block means.

    Parameters
    ----------
    values : ndarray, shape (n,)
        The instantaneous pressures of an iteration's run (of all its replicas, one after the other).
    n_blocks : int

    Returns
    -------
    float
        In the unit of ``values``; NaN with fewer than two values per block.
    """
    values = np.asarray(values, dtype=float)
    per = values.size // int(n_blocks)
    if n_blocks < 2 or per < 2:
        return float("nan")
    means = values[: per * n_blocks].reshape(n_blocks, per).mean(axis=1)
    return float(means.std(ddof=1) / np.sqrt(n_blocks))
