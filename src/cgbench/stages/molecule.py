"""The molecule stage: molecule.yaml -> 3-D structure, OPLS-AA topology, mapping, CG topology.

:func:`prepare` does the science and returns objects; :func:`write_outputs` is the only place that
writes files.
"""

from dataclasses import dataclass
import json
from pathlib import Path

import numpy as np

from ..molecule import cgtopology
from ..molecule.atomtyping import assign_types
from ..engines.gromacs import system_top, write_gro
from ..molecule.mapping import make_mapping
from ..molecule.spec import build, load_spec
from ..molecule.oplsaa import read_forcefield
from ..molecule.topology import build_topology, format_itp


@dataclass
class PreparedMolecule:
    molecule: object  #: cgbench.molecule.spec.Molecule
    topology: object  #: cgbench.molecule.topology.Topology
    mapping: object  #: cgbench.molecule.mapping.Mapping
    cg: object  #: cgbench.molecule.cgtopology.CGTopology
    forcefield: object  #: cgbench.molecule.oplsaa.ForceField


def prepare(spec_path, seed=1):
    """Build, type, parameterise and map the molecule described by ``spec_path``."""
    spec = load_spec(spec_path)
    molecule = build(spec, seed=seed)
    ff = read_forcefield(spec.forcefield)
    typing = assign_types(molecule.mol, spec.supplement.get("atom_types", []), ff, spec.charge)
    topology = build_topology(molecule, typing, ff)
    mapping = make_mapping(molecule.beads, topology.masses)
    pairs = cgtopology.bead_bonds(topology.bonds, mapping.bead_of_atom)
    type_order = [d["type"] for d in spec.beads]
    cg = cgtopology.derive(
        spec.name, mapping.bead_names, mapping.bead_types, mapping.bead_masses(), pairs, type_order
    )
    return PreparedMolecule(molecule, topology, mapping, cg, ff)


def molar_mass(topology):
    """g/mol."""
    return float(np.sum(topology.masses))


def write_outputs(prep, out):
    """Write every file of the molecule stage.

    Parameters
    ----------
    out : dict of str -> path
        Keys ``itp``, ``gro``, ``top``, ``topology``, ``mapping``, ``cg_topology``,
        ``votca_mapping``, ``summary``, and optionally ``image``.
    """
    mol, top, mp, cg = prep.molecule, prep.topology, prep.mapping, prep.cg
    header = (
        f"{top.name}: OPLS-AA topology written by cgbench from {mol.spec.path}\n"
        f"SMILES {mol.spec.smiles}\n"
        f"Atom types and bonded types from {prep.forcefield.path}; explicit parameters below.\n"
        "Overridden interactions (see the supplement for sources):\n"
        + "".join(f"  {k}: {v}\n" for k, v in sorted(prep.topology.sources.items()))
    )
    Path(out["itp"]).write_text(format_itp(top, header))
    pos = mol.positions - mol.positions.min(axis=0) + 1.0
    box = pos.max(axis=0) + 1.0
    write_gro(out["gro"], pos, top.atom_names, top.resname, box, title=f"{top.name} (RDKit ETKDG + MMFF94)")
    Path(out["top"]).write_text(
        system_top(Path(out["itp"]).name, top.name, 1, mol.spec.forcefield and prep.forcefield.path)
    )
    top.save_npz(out["topology"])
    Path(out["mapping"]).write_text(json.dumps(mp.to_dict(), indent=1))
    Path(out["cg_topology"]).write_text(json.dumps(cg.to_dict(), indent=1))
    Path(out["votca_mapping"]).write_text(
        cgtopology.votca_mapping_xml(cg, mp, top.atom_names, top.resname)
    )
    summary = {
        "name": top.name,
        "smiles": mol.spec.smiles,
        "n_atoms": top.n_atoms,
        "molar_mass_g_mol": molar_mass(top),
        "total_charge_e": float(top.charges.sum()),
        "atom_types": sorted(set(top.types)),
        "n_bonds": len(top.bonds),
        "n_angles": len(top.angles),
        "n_propers": len(top.propers),
        "n_impropers": len(top.impropers),
        "n_pairs": len(top.pairs),
        "n_overridden": len(top.sources),
        "beads": [
            {"name": n, "type": t, "n_atoms": int(np.sum(mp.bead_of_atom == b)), "mass_amu": float(m)}
            for b, (n, t, m) in enumerate(zip(mp.bead_names, mp.bead_types, mp.bead_masses()))
        ],
        "cg_interactions": {k: cg.interaction_types(k) for k in cgtopology.KINDS},
    }
    Path(out["summary"]).write_text(json.dumps(summary, indent=1))
    if out.get("image"):
        draw(mol.mol, mp, out["image"])


def draw(mol, mapping, path, size=(700, 520)):
    """PNG of the heavy-atom structure with each bead's atoms highlighted (the study's Fig. 1)."""
    from rdkit import Chem
    from rdkit.Chem import AllChem
    from rdkit.Chem.Draw import rdMolDraw2D
    import matplotlib

    heavy = Chem.RemoveHs(mol)
    AllChem.Compute2DCoords(heavy)
    # RemoveHs keeps heavy atoms in order, so heavy index k is the k-th heavy atom of ``mol``
    heavy_idx = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() > 1]
    palette = matplotlib.colormaps["tab10"].colors
    types = list(dict.fromkeys(mapping.bead_types))
    colours, radii = {}, {}
    for k, a in enumerate(heavy_idx):
        b = mapping.bead_of_atom[a]
        colours[k] = palette[types.index(mapping.bead_types[b]) % 10] + (0.45,)
        radii[k] = 0.45
    drawer = rdMolDraw2D.MolDraw2DCairo(*size)
    opts = drawer.drawOptions()
    opts.addAtomIndices = False
    for k, a in enumerate(heavy_idx):
        b = mapping.bead_of_atom[a]
        if a == min(np.flatnonzero(mapping.bead_of_atom == b)):
            opts.atomLabels[k] = mapping.bead_names[b]
    drawer.DrawMolecule(
        heavy, highlightAtoms=list(colours), highlightAtomColors=colours, highlightAtomRadii=radii,
        highlightBonds=[],
    )
    drawer.FinishDrawing()
    Path(path).write_bytes(drawer.GetDrawingText())
