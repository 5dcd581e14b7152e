"""Conda environments: every rule names one that exists, pinned, with cgbench installed after it."""

from pathlib import Path
import re

import yaml

ROOT = Path(__file__).resolve().parents[2]
ENVS = ROOT / "envs"
FAMILIES = {"gromacs", "lammps", "votca", "torch", "analysis"}


def rule_envs():
    """(rule, env path) for every rule in workflow/rules."""
    out = []
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=rule )", smk.read_text()):
            name = re.match(r"rule (\w+):", block)
            if name:
                env = re.search(r"conda:\s*\n\s*\"([^\"]+)\"", block)
                out.append((name.group(1), env and (smk.parent / env.group(1)).resolve()))
    return out


def test_every_rule_names_an_existing_environment():
    envs = rule_envs()
    assert len(envs) >= 20
    missing = [rule for rule, env in envs if env is None or not env.exists()]
    assert not missing, missing
    assert {env.stem for _, env in envs} == FAMILIES


def test_environments_are_pinned_conda_forge_and_install_cgbench():
    for family in FAMILIES:
        spec = yaml.safe_load((ENVS / f"{family}.yaml").read_text())
        assert spec["channels"][0] == "conda-forge" and "nodefaults" in spec["channels"]
        deps = [d for d in spec["dependencies"] if isinstance(d, str)]
        unpinned = [d for d in deps if "=" not in d and d not in ("pip", "setuptools")]
        assert not unpinned, (family, unpinned)
        post = ENVS / f"{family}.post-deploy.sh"
        assert post.exists() and "pip install" in post.read_text() and "-e ." in post.read_text()
