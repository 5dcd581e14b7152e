"""Render GROMACS ``.mdp`` files from the templates in ``resources/mdp/``.

Templates use ``${name}`` placeholders (:class:`string.Template`); a placeholder without a value is
an error, so a template and the code that fills it cannot drift apart silently.
"""

from pathlib import Path
from string import Template

from ..core.errors import CgbenchError


def render(template, values, common=None):
    """Text of an mdp file: the ``common`` template (if any) followed by ``template``.

    Parameters
    ----------
    template, common : path
        Template files.
    values : dict
        Placeholder values; floats are written with ``repr`` precision.
    """
    text = ""
    for path in (p for p in (common, template) if p is not None):
        try:
            text += Template(Path(path).read_text()).substitute(_fmt(values)) + "\n"
        except KeyError as exc:
            raise CgbenchError(f"mdp template {path} needs a value for {exc.args[0]}") from None
    return text


def _fmt(values):
    out = {}
    for k, v in values.items():
        if isinstance(v, bool):
            out[k] = "yes" if v else "no"
        elif isinstance(v, (list, tuple)):
            out[k] = " ".join(str(x) for x in v)
        else:
            out[k] = str(v)
    return out


def parse(text):
    """``{key: value}`` of an mdp text (keys normalised to use '-'), for checks and tests."""
    out = {}
    for line in text.splitlines():
        line = line.split(";", 1)[0].strip()
        if "=" in line:
            key, val = (s.strip() for s in line.split("=", 1))
            out[key.replace("_", "-").lower()] = val
    return out
