"""LAMMPS data files and dumps, and the CG system they describe (types, exclusions), in GROMACS units.

Conventions
-----------
* LAMMPS atom types follow the order in which bead types first appear in the CG topology
  (TMBT: T = 1, A = 2); bond, angle, dihedral and improper types follow the sorted type names
  (:meth:`cgbench.molecule.cgtopology.CGTopology.interaction_types`), so types are reproducible.
* LAMMPS ``atom_style molecular`` stores one mass per atom type. Beads of one type that differ in
  mass (TMBT: the inner phenyl A bead is 1 amu lighter than the outer one) get the type's mean
  mass. Masses do not enter equilibrium structure (RDFs, bonded distributions), only dynamics.
* Exclusions: VOTCA leaves every bead pair that shares any bonded interaction out of its RDFs
  (:func:`cgbench.molecule.cgtopology.exclusion_pairs`). LAMMPS can only switch pairs off by bond-graph
  distance (``special_bonds`` 1-2, 1-3, 1-4). :func:`special_bonds_weights` picks the weights that
  reproduce VOTCA's set exactly and refuses a topology where no choice does. For TMBT with all
  bonded terms, the VOTCA set is every pair within three bonds, i.e. ``special_bonds lj 0 0 0``;
  without dihedrals (model C) it is ``lj 0 0 1``.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...molecule.cgtopology import KINDS, exclusion_pairs
from ...core.errors import CgbenchError
from .units import angstrom_to_nm, force_real_to_gmx, nm_to_angstrom

__all__ = ["write_data_file", "Dump", "read_dump", "atom_type_ids", "interaction_type_ids", "special_bonds_weights", "system_arrays", "write_system"]

# --------------------------------------------------------------------------- data file
def _topology_block(name, block, width, n_atoms):
    if block is None:
        return None
    types, idx = block
    types = np.asarray(types, dtype=int).ravel()
    idx = np.asarray(idx, dtype=int)
    if idx.ndim != 2 or idx.shape != (types.size, width):
        raise CgbenchError(
            f"{name}: expected types (n,) and indices (n, {width}), got {types.shape} and {idx.shape}"
        )
    if types.size == 0:
        return None
    if types.min() < 1:
        raise CgbenchError(f"{name}: LAMMPS types start at 1")
    if idx.min() < 0 or idx.max() >= n_atoms:
        raise CgbenchError(f"{name}: atom index out of range 0..{n_atoms - 1}")
    return types, idx


def write_data_file(
    path,
    positions_nm,
    box_nm,
    types,
    masses,
    molecule_ids,
    bonds=None,
    angles=None,
    dihedrals=None,
    impropers=None,
    title="cgbench CG system",
):
    """Write a LAMMPS data file for ``atom_style molecular`` (orthorhombic box from the origin).

    Positions are wrapped into the box and their image flags written, so molecules stay whole in
    unwrapped dumps (``xu yu zu``).

    Parameters
    ----------
    path : str or Path
    positions_nm : ndarray, shape (n_atoms, 3), nm
    box_nm : ndarray, shape (3,), nm
        Box lengths; the box spans [0, L) in each direction.
    types : ndarray of int, shape (n_atoms,)
        LAMMPS atom types, 1..n_types.
    masses : ndarray, shape (n_types,), amu
        Mass of type t at ``masses[t - 1]``; its length sets the number of atom types.
    molecule_ids : ndarray of int, shape (n_atoms,)
        Molecule of each atom, >= 1.
    bonds, angles, dihedrals, impropers : (types, indices), optional
        ``types`` (n,) LAMMPS interaction types (>= 1; the largest sets the number of types) and
        ``indices`` (n, 2|3|4) **0-based** rows of ``positions_nm`` (written as ids = index + 1).

    Returns
    -------
    Path
    """
    x = np.asarray(positions_nm, dtype=float)
    n = x.shape[0]
    if x.shape != (n, 3):
        raise CgbenchError(f"positions must have shape (n_atoms, 3), got {x.shape}")
    box = np.asarray(box_nm, dtype=float).ravel()
    if box.shape != (3,) or np.any(box <= 0):
        raise CgbenchError(f"box must be three positive lengths, got {box_nm}")
    types = np.asarray(types, dtype=int).ravel()
    mol = np.asarray(molecule_ids, dtype=int).ravel()
    masses = np.asarray(masses, dtype=float).ravel()
    if types.shape != (n,) or mol.shape != (n,):
        raise CgbenchError("types and molecule_ids need one entry per atom")
    if types.min() < 1 or types.max() > masses.size:
        raise CgbenchError(f"atom types must lie in 1..{masses.size} (one mass per type)")
    blocks = {
        "Bonds": _topology_block("bonds", bonds, 2, n),
        "Angles": _topology_block("angles", angles, 3, n),
        "Dihedrals": _topology_block("dihedrals", dihedrals, 4, n),
        "Impropers": _topology_block("impropers", impropers, 4, n),
    }
    xa = nm_to_angstrom(x)
    La = nm_to_angstrom(box)
    image = np.floor(xa / La).astype(int)
    wrapped = xa - image * La

    out = [f"{title}\n", f"{n} atoms"]
    for name, blk in blocks.items():
        if blk is not None:
            out.append(f"{blk[0].size} {name.lower()}")
    out.append(f"{masses.size} atom types")
    for name, blk in blocks.items():
        if blk is not None:
            out.append(f"{blk[0].max()} {name.lower()[:-1]} types")
    out.append("")
    for k, axis in enumerate("xyz"):
        out.append(f"0.0 {La[k]:.10f} {axis}lo {axis}hi")
    out.append("\nMasses\n")
    out.extend(f"{t} {m:.6f}" for t, m in enumerate(masses, start=1))
    out.append("\nAtoms # molecular\n")
    ids = np.arange(1, n + 1)
    out.extend(
        f"{i} {m} {t} {p[0]:.8f} {p[1]:.8f} {p[2]:.8f} {im[0]} {im[1]} {im[2]}"
        for i, m, t, p, im in zip(ids, mol, types, wrapped, image)
    )
    for name, blk in blocks.items():
        if blk is None:
            continue
        out.append(f"\n{name}\n")
        t, idx = blk
        out.extend(
            f"{k} {tt} " + " ".join(map(str, row + 1)) for k, tt, row in zip(range(1, t.size + 1), t, idx)
        )
    path = Path(path)
    path.write_text("\n".join(out) + "\n")
    return path


# --------------------------------------------------------------------------- dump file
@dataclass
class Dump:
    """Frames of a LAMMPS custom dump in GROMACS units, atoms sorted by id.

    Attributes
    ----------
    timesteps : ndarray of int, shape (n_frames,)
    box : ndarray, shape (n_frames, 3), nm
        Box lengths.
    ids, types, molecule_ids : ndarray of int, shape (n_atoms,)
        ``molecule_ids`` is None when the dump has no ``mol`` column.
    positions : ndarray, shape (n_frames, n_atoms, 3), nm
        From ``x y z``, ``xu yu zu`` or ``xs ys zs`` (first found, in that order).
    forces : ndarray, shape (n_frames, n_atoms, 3), kJ/mol/nm, or None
    """

    timesteps: np.ndarray
    box: np.ndarray
    ids: np.ndarray
    types: np.ndarray
    molecule_ids: np.ndarray | None
    positions: np.ndarray
    forces: np.ndarray | None


def _dump_frames(path):
    """Frames of a LAMMPS dump one at a time: (timestep, box bounds line, bounds (3, 2), columns,
    data (n, n_columns)), reading one frame's lines at a time."""
    with open(path) as fh:
        line = fh.readline()
        while line:
            if not line.startswith("ITEM: TIMESTEP"):
                line = fh.readline()
                continue
            step, n, head, bounds = int(fh.readline()), None, None, None
            while True:
                item = fh.readline()
                if not item:
                    raise CgbenchError(f"{path}: the frame at step {step} ends early")
                if item.startswith("ITEM: NUMBER OF ATOMS"):
                    n = int(fh.readline())
                elif item.startswith("ITEM: BOX BOUNDS"):
                    head = item
                    rows = [fh.readline() for _ in range(3)]
                    if len(item.split()) > 6 or any(len(r.split()) != 2 for r in rows):
                        raise CgbenchError(f"{path}: only orthorhombic boxes are supported")
                    bounds = np.array(" ".join(rows).split(), dtype=float).reshape(3, 2)
                elif item.startswith("ITEM: ATOMS"):
                    if n is None or bounds is None:
                        raise CgbenchError(f"{path}: the frame at step {step} has no atom count or box")
                    cols = item.split()[2:]
                    lines = [fh.readline() for _ in range(n)]
                    data = np.array(" ".join(lines).split(), dtype=float)
                    if data.size != n * len(cols):
                        raise CgbenchError(f"{path}: the frame at step {step} ends early")
                    yield step, head, bounds, cols, data.reshape(n, len(cols))
                    break
            line = fh.readline()


def _positions(path, col, lo, L):
    for names, scaled in ((("x", "y", "z"), False), (("xu", "yu", "zu"), False), (("xs", "ys", "zs"), True)):
        if all(c in col for c in names):
            p = np.stack([col[c] for c in names], axis=1)
            return lo + p * L if scaled else p
    raise CgbenchError(f"{path}: no position columns (x y z, xu yu zu or xs ys zs) in {list(col)}")


def read_dump(path):
    """Read a LAMMPS custom dump (``id type [mol] x y z [fx fy fz]``) into GROMACS units.

    Every frame must hold the same atoms. Rows are sorted by atom id, whatever ``dump_modify sort``.
    The file is read a frame at a time into arrays sized by a first pass that counts the frames,
    so memory holds the result and one frame's text (a whole-file read of the study's force dumps
    would be several GB of text on top).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Dump
    """
    with open(path) as fh:
        n_frames = sum(1 for line in fh if line.startswith("ITEM: TIMESTEP"))
    if not n_frames:
        raise CgbenchError(f"{path} holds no dump frame")
    steps = np.empty(n_frames, dtype=np.int64)
    boxes = np.empty((n_frames, 3))
    pos = frc = ids = types = mol = None
    k = -1
    for k, (step, _head, bounds, cols, data) in enumerate(_dump_frames(path)):
        data = data[np.argsort(data[:, cols.index("id")], kind="stable")]
        col = {c: data[:, j] for j, c in enumerate(cols)}
        lo, L = bounds[:, 0], bounds[:, 1] - bounds[:, 0]
        p = _positions(path, col, lo, L)
        has_f = all(c in col for c in ("fx", "fy", "fz"))
        frame_ids = col["id"].astype(int)
        if k == 0:
            ids = frame_ids
            types = col["type"].astype(int) if "type" in col else None
            mol = col["mol"].astype(int) if "mol" in col else None
            pos = np.empty((n_frames, len(ids), 3))
            frc = np.empty_like(pos) if has_f else None
        elif not np.array_equal(ids, frame_ids):
            raise CgbenchError(f"{path}: frame at step {step} holds different atoms")
        if (frc is not None) != has_f:
            raise CgbenchError(f"{path}: forces are missing from some frames")
        steps[k], boxes[k], pos[k] = step, L, p
        if has_f:
            frc[k] = np.stack([col["fx"], col["fy"], col["fz"]], axis=1)
    if k + 1 != n_frames:
        raise CgbenchError(f"{path}: {n_frames} frames begin but {k + 1} could be read")
    # in place: GROMACS units without a second copy of the arrays
    pos *= angstrom_to_nm(1.0)
    if frc is not None:
        frc *= force_real_to_gmx(1.0)
    return Dump(timesteps=steps, box=angstrom_to_nm(boxes), ids=ids, types=types, molecule_ids=mol,
                positions=pos, forces=frc)


# --------------------------------------------------------------------------- types and exclusions
def atom_type_ids(top):
    """Bead type -> LAMMPS atom type (1-based), in order of first appearance in the topology."""
    return {t: i for i, t in enumerate(dict.fromkeys(top.bead_types), start=1)}


def interaction_type_ids(top, kind):
    """Interaction type name -> LAMMPS type (1-based) for one kind, sorted by name."""
    return {t: i for i, t in enumerate(top.interaction_types(kind), start=1)}


def _graph_distances(n_beads, bonds, max_distance=3):
    """{(i, j): d} for bead pairs i < j at bond-graph distance d <= max_distance (BFS, one molecule)."""
    adj = [set() for _ in range(n_beads)]
    for i, j in bonds:
        adj[i].add(j)
        adj[j].add(i)
    out = {}
    for s in range(n_beads):
        seen, frontier = {s}, {s}
        for d in range(1, max_distance + 1):
            frontier = {n for f in frontier for n in adj[f]} - seen
            seen |= frontier
            out.update({(s, t): d for t in frontier if t > s})
    return out


def special_bonds_weights(top, kinds=KINDS):
    """``special_bonds lj`` weights that make LAMMPS exclude exactly VOTCA's bead pairs.

    VOTCA excludes every pair of beads that share a bonded interaction of the model
    (:func:`cgbench.molecule.cgtopology.exclusion_pairs`). LAMMPS switches pairs off by their distance in the
    bond graph: 1-2, 1-3 and 1-4 neighbours get weights w12, w13, w14, and a weight of 0 removes
    the pair from the pair sum. A shell gets 0 when all its pairs are VOTCA-excluded and 1 when none
    are; a shell that is partly excluded, or a VOTCA-excluded pair more than three bonds apart,
    cannot be expressed this way and raises.

    Parameters
    ----------
    top : cgbench.molecule.cgtopology.CGTopology
    kinds : sequence of str
        The kinds the model has (``BondedTerms.kinds()``).

    Returns
    -------
    tuple of 3 int
        (w12, w13, w14), each 0 or 1.
    """
    sub = _restricted(top, kinds)
    votca = set(exclusion_pairs(sub))
    bonds = [idx for _t, idx in sub.bonds]
    if votca and not bonds:
        raise CgbenchError(
            f"{top.name}: bonded terms without bonds; LAMMPS cannot exclude their pairs through special_bonds"
        )
    dist = _graph_distances(len(top.bead_names), bonds)
    weights = []
    for d in (1, 2, 3):
        shell = {p for p, dd in dist.items() if dd == d}
        inside = shell & votca
        if shell and inside == shell:
            weights.append(0)
        elif not inside:
            weights.append(1)
        else:
            raise CgbenchError(
                f"{top.name}: VOTCA excludes {len(inside)} of the {len(shell)} bead pairs that are 1-{d + 1} "
                f"neighbours ({sorted(shell - inside)} are not excluded); special_bonds cannot reproduce that"
            )
    far = votca - {p for p, d in dist.items() if weights[d - 1] == 0}
    if far:
        raise CgbenchError(
            f"{top.name}: bead pairs {sorted(far)} share a bonded interaction but are more than three bonds "
            "apart; special_bonds cannot exclude them"
        )
    return tuple(weights)


def _restricted(top, kinds):
    """A copy of ``top`` keeping only the given kinds of interaction."""
    from ...molecule.cgtopology import CGTopology

    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise CgbenchError(f"unknown interaction kinds {sorted(unknown)}; expected some of {KINDS}")
    kw = {k: (list(getattr(top, k)) if k in kinds else []) for k in KINDS}
    return CGTopology(top.name, top.bead_names, top.bead_types, top.bead_masses, **kw)


# --------------------------------------------------------------------------- system
def system_arrays(top, n_molecules, kinds=KINDS):
    """Per-bead and per-interaction arrays of ``n_molecules`` copies of one CG molecule.

    Parameters
    ----------
    top : cgbench.molecule.cgtopology.CGTopology
    n_molecules : int
    kinds : sequence of str
        Kinds of bonded interaction to include.

    Returns
    -------
    dict
        ``types`` (n_beads_total,) LAMMPS atom types; ``masses`` (n_types,) amu, the mean of each
        type's beads; ``molecule_ids`` (n_beads_total,) 1-based; and for each included kind
        ``(types (n,), indices (n, width))`` with 0-based bead indices into the whole system.
    """
    if n_molecules < 1:
        raise CgbenchError(f"need at least one molecule, got {n_molecules}")
    nb = len(top.bead_names)
    tid = atom_type_ids(top)
    per_mol = np.array([tid[t] for t in top.bead_types])
    bead_masses = np.asarray(top.bead_masses, dtype=float)
    masses = np.array([bead_masses[per_mol == t].mean() for t in range(1, len(tid) + 1)])
    out = {
        "types": np.tile(per_mol, n_molecules),
        "masses": masses,
        "molecule_ids": np.repeat(np.arange(1, n_molecules + 1), nb),
    }
    offsets = (nb * np.arange(n_molecules))[:, None, None]
    for kind in kinds:
        ids = interaction_type_ids(top, kind)
        entries = getattr(top, kind)
        if not entries:
            continue
        t = np.array([ids[name] for name, _ in entries])
        idx = np.array([list(i) for _, i in entries])
        out[kind] = (np.tile(t, n_molecules), (idx[None] + offsets).reshape(-1, idx.shape[1]))
    return out


def write_system(path, top, n_molecules, positions_nm, box_nm, kinds=KINDS, title=None):
    """Write the LAMMPS data file of ``n_molecules`` CG molecules (I/O wrapper of :func:`system_arrays`).

    Parameters
    ----------
    path : str or Path
    top : cgbench.molecule.cgtopology.CGTopology
    n_molecules : int
    positions_nm : ndarray, shape (n_molecules * n_beads, 3), nm
        Molecule after molecule, beads in topology order; molecules whole (unwrapped).
    box_nm : ndarray, shape (3,), nm
    kinds : sequence of str

    Returns
    -------
    Path
    """
    arr = system_arrays(top, n_molecules, kinds)
    x = np.asarray(positions_nm, dtype=float)
    if x.shape != (arr["types"].size, 3):
        raise CgbenchError(f"expected positions of shape ({arr['types'].size}, 3), got {x.shape}")
    return write_data_file(
        path,
        x,
        box_nm,
        arr["types"],
        arr["masses"],
        arr["molecule_ids"],
        bonds=arr.get("bonds"),
        angles=arr.get("angles"),
        dihedrals=arr.get("propers"),
        impropers=arr.get("impropers"),
        title=title or f"cgbench {top.name} x {n_molecules}",
    )
