"""Evaluation of CG models at atomistic resolution (study Section 3.2 and 3.2.3).

One idea per module:

- :mod:`.rdf`: intermolecular element-pair RDFs (Fig. 3) and close contacts (steric clashes);
- :mod:`.rmsd`: re-projection RMSD of backmapped structures to their CG input (Table 1);
- :mod:`.rerun`: AA forces of given AA frames with ``gmx mdrun -rerun``;
- :mod:`.forces`: projection of AA forces to beads (Eq. 6 mean or net) and shared binning of
  force magnitudes (Fig. 5);
- :mod:`.divergence`: Jensen-Shannon divergence to the reference with bootstrap intervals over
  frames (Table 2), kept to compare with the study and flagged where it saturates;
- :mod:`.resampling`: block bootstrap over frames and percentile intervals;
- :mod:`.transport`: Wasserstein-1 and energy distance of log force magnitudes, quantile shifts
  and the clash spectrum, with paired bootstrap replicates;
- :mod:`.ranking`: the decision rule that claims a ranking of CG models only where the
  in-distribution control and the paired intervals allow it;
- :mod:`.constraints`: force components perpendicular to a bead's bonds (models with constrained
  bonds);
- :mod:`.force_matching`: chi^2 (Eq. 7) and chi^2_BM (Eq. 8);
- :mod:`.tables`: tables as LaTeX and HTML with significant figures;
- :mod:`.reduction`: AA frames reduced to bead forces, RDFs, clashes and re-projection RMSD, a
  chunk of frames at a time;
- :mod:`.study_tables`: the study's Tables 1 and 2;
- :mod:`.comparison`: distances per method and bead group, and the rankings they support;
- :mod:`.force_matching_table`: chi^2 and chi^2_BM of every model and method, with clash frames,
  perpendicular components and the re-projection flag;
- :mod:`.summary`: the verdict and the readings of the tables in words, as HTML.

Functions take arrays in GROMACS units (nm, kJ/mol, kJ/mol/nm) and return arrays; engine calls and
files are confined to :mod:`.rerun` (and :mod:`.reduction`, which calls it) (forces of a CG model come from :mod:`cgbench.engines.lammps.forces`).
"""

from .constraints import BondGeometry, bond_neighbours
from .divergence import BootstrapJS, bootstrap_js, bootstrap_js_many, js_divergence, js_saturated
from .force_matching import ForceMatching, chi2, chi2_bm, chi2_per_frame, clash_frames
from .forces import force_bin_edges, force_density, force_histograms, force_magnitudes, project_forces
from ..geometry.rdf import CloseContacts, close_contacts, element_rdfs, intermolecular_rdf, molecule_index
from .ranking import Ranking, block_sensitivity, rank_models
from .resampling import block_length, block_weights, percentile_interval
from ..mapping.projection import minimum_image_rmsd, reprojection_rmsd
from .tables import html_table, latex_table
from .transport import (
    SetDistances,
    bootstrap_distances,
    clash_spectrum,
    log_magnitudes,
    quantile_shifts,
    transport_distances,
)

__all__ = [
    "BondGeometry",
    "bond_neighbours",
    "BootstrapJS",
    "bootstrap_js",
    "bootstrap_js_many",
    "js_divergence",
    "js_saturated",
    "ForceMatching",
    "chi2",
    "chi2_bm",
    "chi2_per_frame",
    "clash_frames",
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
    "Ranking",
    "block_sensitivity",
    "rank_models",
    "block_length",
    "block_weights",
    "percentile_interval",
    "html_table",
    "latex_table",
    "SetDistances",
    "bootstrap_distances",
    "clash_spectrum",
    "log_magnitudes",
    "quantile_shifts",
    "transport_distances",
]
