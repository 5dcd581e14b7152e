"""Files and settings of the EM backmapping's GROMACS runs (no engine needed)."""

import numpy as np
import pytest

from cgbench.engines import mdp
from cgbench.backmap.em.backmap import DEFAULTS, reference_frames, resolve_settings
from cgbench.backmap.em.minimise import (
    COMMON,
    TEMPLATE,
    bead_index,
    central_atoms,
    mdp_values,
    parse_em_log,
    pull_section,
    read_g96,
    write_g96,
)
from cgbench.core.errors import CgbenchError

AA = {"cutoff_nm": 1.3, "fourier_spacing_nm": 0.12, "ewald_rtol": 1e-5}

# summaries as GROMACS 2022 prints them (minimize.cpp, print_converged), mixed precision
CONVERGED = """
Steepest Descents converged to Fmax < 100 in 1262 steps
Potential Energy  = -5.0286195e+04
Maximum force     =  9.1434464e+01 on atom 3110
Norm of force     =  1.0118812e+01
"""
NOT_CONVERGED = """
Steepest Descents did not converge to Fmax < 100 in 6 steps.
Potential Energy  =  1.2345678e+05
Maximum force     =  4.5000000e+04 on atom 12
"""
MACHINE_PRECISION = """
Steepest Descents converged to machine precision in 36 steps,
but did not reach the requested Fmax < 10.
Potential Energy  = -2.8000000e+03
Maximum force     =  1.5000000e+01 on atom 7
"""


@pytest.mark.parametrize("text, expected", [
    (CONVERGED, {"steps": 1262, "converged": True, "max_force": 91.434464, "potential": -50286.195}),
    (NOT_CONVERGED, {"steps": 6, "converged": False, "max_force": 45000.0, "potential": 123456.78}),
    (MACHINE_PRECISION, {"steps": 36, "converged": False, "max_force": 15.0, "potential": -2800.0}),
])
def test_parse_em_log(text, expected):
    got = parse_em_log("Started Steepest Descents\n" + text)
    assert got == pytest.approx(expected)


def test_parse_em_log_without_summary_is_an_error():
    with pytest.raises(CgbenchError, match="no steepest-descent summary"):
        parse_em_log("Fatal error: something else\n")


def test_g96_round_trip_keeps_full_precision(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 12, size=(2 * 5, 3))
    box = np.array([11.123456789, 12.5, 13.0])
    write_g96(tmp_path / "a.g96", x, box, ["C1", "N1", "HXYZ1", "C22", "H5"], "TMBT")
    back, back_box = read_g96(tmp_path / "a.g96")
    np.testing.assert_allclose(back, x, atol=1e-9)
    np.testing.assert_allclose(back_box, box, atol=1e-9)
    line = (tmp_path / "a.g96").read_text().splitlines()[4]
    # GROMACS reads coordinates from column 24: residue, names and atom number must fit before it
    assert line[:24] == "    1 TMBT  C1         1"


def test_bead_index_groups_every_bead_of_every_molecule():
    boa = np.array([0, 0, 1, 1, 1, 0, 2])
    text = bead_index(boa, 2)
    groups = {}
    for block in text.strip().split("[ ")[1:]:
        name, atoms = block.split(" ]\n")
        groups[name] = [int(a) for a in atoms.split()]
    assert groups == {"B1": [1, 2, 6], "B2": [3, 4, 5], "B3": [7], "B4": [8, 9, 13], "B5": [10, 11, 12], "B6": [14]}


def test_pull_section_restrains_each_bead_to_its_origin():
    text = pull_section(np.array([[0.1, 0.2, 0.3], [1.0, 2.0, 3.0]]), 500.0, np.array([3, 11]))
    values = mdp.parse(text)
    assert values["pull"] == "yes" and values["pull-ncoords"] == "2" and values["pull-ngroups"] == "2"
    assert values["pull-coord2-groups"] == "0 2" and values["pull-group2-name"] == "B2"
    assert values["pull-group2-pbcatom"] == "11"
    assert values["pull-coord2-origin"] == "1.000000 2.000000 3.000000"
    assert values["pull-coord1-k"] == "500.0" and values["pull-coord1-init"] == "0"
    assert values["pull-coord1-geometry"] == "distance" and values["pull-coord1-type"] == "umbrella"


def test_rendered_mdp_has_the_aa_non_bonded_settings():
    s = resolve_settings(AA)
    values = mdp.parse(mdp.render(TEMPLATE, mdp_values(s), COMMON))
    assert values["integrator"] == "steep" and values["coulombtype"] == "PME"
    assert values["rcoulomb"] == values["rvdw"] == "1.3" and values["fourierspacing"] == "0.12"
    assert values["emtol"] == str(DEFAULTS["emtol"]) and values["pull"] == "no"
    assert values["constraints"] == "none"


def test_settings_errors_name_the_keys():
    with pytest.raises(CgbenchError, match="unknown EM backmapping setting.*'emtoll'"):
        resolve_settings({**AA, "emtoll": 10})
    with pytest.raises(CgbenchError, match="ewald_rtol"):
        resolve_settings({"cutoff_nm": 1.3, "fourier_spacing_nm": 0.12})
    assert resolve_settings({**AA, "nsteps": 7})["nsteps"] == 7


def test_central_atoms_are_nearest_to_each_origin_across_the_boundary():
    boa = np.array([0, 0, 0, 1, 1])
    box = np.array([2.0, 2.0, 2.0])
    x = np.array([
        [0.1, 1.0, 1.0], [1.95, 1.0, 1.0], [0.3, 1.0, 1.0], [1.0, 1.0, 1.0], [1.2, 1.0, 1.0],  # molecule 1
        [0.5, 0.5, 0.5], [0.6, 0.5, 0.5], [0.7, 0.5, 0.5], [1.5, 1.5, 1.5], [1.5, 1.5, 1.9],  # molecule 2
    ])
    # bead 1's origin lies across the boundary from atom 2: its nearest atom is atom 2 (1.95 ~ -0.05)
    origins = np.array([[-0.02, 1.0, 1.0], [1.15, 1.0, 1.0], [0.71, 0.5, 0.5], [1.5, 1.5, -0.05]])
    np.testing.assert_array_equal(central_atoms(x, box, origins, boa), [2, 5, 8, 10])


@pytest.mark.parametrize("n_frames, wanted, fraction, expected", [
    (101, 10, 0.8, [0, 8, 16, 24, 32, 40, 48, 56, 64, 72]),  # never beyond frame 80: the test frames
    (6, 10, 0.8, [0, 1, 2, 3]),  # fewer frames than wanted: all of the reference part
    (6, 10, 1.0, [0, 1, 2, 3, 4, 5]),
    (1, 3, 0.5, [0]),  # at least one frame
])
def test_reference_frames_stay_in_the_reference_part(n_frames, wanted, fraction, expected):
    assert list(range(n_frames))[reference_frames(n_frames, wanted, fraction)] == expected
