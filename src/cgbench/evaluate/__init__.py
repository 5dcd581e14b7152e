"""Evaluation of CG models at atomistic resolution (study Section 3.2 and 3.2.3).

One idea per module:

- :mod:`.rdf`: intermolecular element-pair RDFs (Fig. 3) and close contacts (steric clashes);
- :mod:`.rmsd`: re-projection RMSD of backmapped structures to their CG input (Table 1);
- :mod:`.rerun`: AA forces of given AA frames with ``gmx mdrun -rerun``;
- :mod:`.forces`: projection of AA forces to beads (Eq. 6 mean or net) and shared binning of
  force magnitudes (Fig. 5);
- :mod:`.divergence`: Jensen-Shannon divergence to the reference, bootstrap intervals over frames,
  ranking of CG models (Table 2);
- :mod:`.force_matching`: chi^2 (Eq. 7) and chi^2_BM (Eq. 8);
- :mod:`.cg_forces`: forces of a CG model on given bead configurations with LAMMPS.

Functions take arrays in GROMACS units (nm, kJ/mol, kJ/mol/nm) and return arrays; engine calls and
files are confined to :mod:`.rerun` and :mod:`.cg_forces`.
"""

from .divergence import BootstrapJS, bootstrap_js, bootstrap_js_many, js_divergence, js_ranking
from .force_matching import ForceMatching, chi2, chi2_bm, chi2_per_frame
from .forces import force_bin_edges, force_density, force_histograms, force_magnitudes, project_forces
from .rdf import CloseContacts, close_contacts, element_rdfs, intermolecular_rdf, molecule_index
from .rmsd import minimum_image_rmsd, reprojection_rmsd

__all__ = [
    "BootstrapJS",
    "bootstrap_js",
    "bootstrap_js_many",
    "js_divergence",
    "js_ranking",
    "ForceMatching",
    "chi2",
    "chi2_bm",
    "chi2_per_frame",
    "force_bin_edges",
    "force_density",
    "force_histograms",
    "force_magnitudes",
    "project_forces",
    "CloseContacts",
    "close_contacts",
    "element_rdfs",
    "intermolecular_rdf",
    "molecule_index",
    "minimum_image_rmsd",
    "reprojection_rmsd",
]
