"""The package reads in the order the data flows: no module imports a later stage.

:data:`ORDER` names the top-level parts of ``cgbench`` from the ground up. A module may import
its own part and the parts before it, at module level or inside a function; an import of a later
part fails here, as does a top-level module or package that is not in the list.
"""

import ast
from pathlib import Path

import cgbench

#: The top-level parts of cgbench, in the order the data flows.
ORDER = (
    "core",  # units, errors, logs, config, paths, wall time
    "geometry",  # periodic boundaries, distributions, RDFs
    "molecule",  # the molecule, its topologies and its mapping
    "engines",  # GROMACS, LAMMPS, VOTCA, trajectory files
    "aa",  # the all-atom reference
    "mapping",  # mapped trajectories and the reference distributions
    "bonded",  # Boltzmann inversion, DBI, bonded-term types
    "ibi",  # iterative Boltzmann inversion
    "cg",  # CG models and their runs
    "backmap",  # test sets, DBM, EM
    "evaluate",  # RMSD, force distributions, rankings
    "planning",  # what the workflow plans at parse time
    "stages",  # the file edge of each rule file
    "cli",  # the command line
)

PACKAGE = Path(cgbench.__file__).parent


def _module_name(path, root):
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path, root):
    """(line, absolute module) of every import in the file at ``path``, wherever in the file it stands."""
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module
            found.append((node.lineno, target))
            # ``from . import x`` imports the module ``x`` of that package
            found += [(node.lineno, f"{target}.{a.name}") for a in node.names if a.name != "*"]
    return found


def _part(module, top):
    parts = module.split(".")
    return parts[1] if parts[0] == top and len(parts) > 1 else None


def violations(root=PACKAGE, order=ORDER):
    """Every import of a later part, and every top-level module or package missing from ``order``."""
    top = root.name
    rank = {p: i for i, p in enumerate(order)}
    out = []
    for path in sorted(root.rglob("*.py")):
        own = _part(_module_name(path, root), top)
        if own is None:  # the package's own __init__
            continue
        if own not in rank:
            out.append(f"{path.relative_to(root)}: part {own!r} is not in the order")
            continue
        seen = set()
        for line, target in imports(path, root):
            other = _part(target, top)
            if other in rank and rank[other] > rank[own] and line not in seen:
                seen.add(line)
                out.append(f"{path.relative_to(root)}:{line}: {own} imports the later {target}")
    return out


def test_no_module_imports_a_later_stage():
    assert violations() == []


def test_the_check_finds_backward_imports(tmp_path):
    root = tmp_path / "pkg"
    for part in ("core", "geometry", "stages"):
        (root / part).mkdir(parents=True)
        (root / part / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "core" / "a.py").write_text("def f():\n    from ..geometry import b\n")
    (root / "geometry" / "b.py").write_text("from pkg.stages.c import g\nfrom . import d\nfrom ..core import a\n")
    (root / "geometry" / "d.py").write_text("")
    (root / "stages" / "c.py").write_text("from ..geometry.b import x\n")
    (root / "extra.py").write_text("")
    found = violations(root, ("core", "geometry", "stages"))
    assert found == [
        "core/a.py:2: core imports the later pkg.geometry",
        "extra.py: part 'extra' is not in the order",
        "geometry/b.py:1: geometry imports the later pkg.stages.c",
    ]


def test_every_exported_name_exists():
    import importlib
    import pkgutil

    missing = []
    for info in pkgutil.walk_packages(cgbench.__path__, "cgbench."):
        module = importlib.import_module(info.name)
        missing += [f"{info.name}.{n}" for n in getattr(module, "__all__", ()) if not hasattr(module, n)]
    assert missing == []


def test_only_core_paths_locates_files_from_its_own_location():
    users = [p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if "__file__" in p.read_text()]
    assert users == ["core/paths.py"]
