from pathlib import Path
import shutil

import pytest

ROOT = Path(__file__).resolve().parents[1]
TMBT = ROOT / "resources" / "tmbt" / "molecule.yaml"


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def tmbt():
    """TMBT built, typed, parameterised and mapped (the molecule stage, in memory)."""
    from cgbench.molecule_stage import prepare

    return prepare(TMBT, seed=1)


@pytest.fixture(scope="session")
def tmbt_files(tmp_path_factory, tmbt):
    """The molecule stage's files for TMBT."""
    from cgbench.molecule_stage import write_outputs

    d = tmp_path_factory.mktemp("molecule")
    names = {
        "itp": "molecule.itp", "gro": "molecule.gro", "top": "molecule.top",
        "topology": "topology.npz", "mapping": "mapping.json", "cg_topology": "cg_topology.json",
        "votca_mapping": "votca_mapping.xml", "summary": "summary.json",
    }
    out = {k: d / v for k, v in names.items()}
    write_outputs(tmbt, out)
    return out


def write_spec(tmp_path, smiles, beads, charge=0, name="MOL"):
    """A molecule.yaml in ``tmp_path`` that uses the shipped OPLS-AA supplement."""
    import yaml

    spec = {
        "name": name,
        "smiles": smiles,
        "charge": charge,
        "supplement": str(ROOT / "resources" / "oplsaa" / "supplement.yaml"),
        "beads": beads,
    }
    path = tmp_path / "molecule.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


needs_gmx = pytest.mark.skipif(shutil.which("gmx") is None, reason="GROMACS (gmx) is not installed")
