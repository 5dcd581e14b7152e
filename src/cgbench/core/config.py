"""Load and validate a cgbench configuration against its JSON schema.

Validation fills in the schema's defaults and collects every problem at once; each is reported
with the key's path (``aa.nvt.time_ps``) and what was expected. Checks that the schema cannot
express (relations between keys) follow the schema pass.
"""

from pathlib import Path

import jsonschema
import yaml

from .errors import ConfigError
from .paths import SCHEMA


def _with_defaults(validator_class):
    """A validator that writes each property's ``default`` into the instance before checking it."""
    validate_props = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = _copy(sub["default"])
        yield from validate_props(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _copy(value):
    return yaml.safe_load(yaml.safe_dump(value))


def _message(err):
    path = ".".join(str(p) for p in err.absolute_path) or "(top level)"
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        return f"{path}: unknown key(s) {', '.join(map(repr, extra))}; allowed: {', '.join(allowed)}"
    if err.validator == "required":
        return f"{path}: {err.message}"
    expected = {k: err.schema[k] for k in ("type", "minimum", "maximum", "exclusiveMinimum", "enum") if k in err.schema}
    hint = f" (expected {', '.join(f'{k} {v}' for k, v in expected.items())})" if expected else ""
    return f"{path}: {err.message}{hint}"


def validate(config, schema_path=SCHEMA):
    """Validate ``config`` in place (defaults filled in) and return it.

    Raises
    ------
    ConfigError
        Listing every problem, one per line, each starting with the key's path.
    """
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = _with_defaults(jsonschema.Draft7Validator)(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    problems = [_message(e) for e in errors]
    if not problems:
        problems = _relations(config)
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return config


def _relations(config):
    """Checks across keys, run once the schema passes."""
    problems = []
    aa = config["aa"]
    dt_ps = aa["timestep_fs"] / 1000.0
    for key in ("energy_interval_ps", "snapshot_interval_ps"):
        if aa[key] < dt_ps:
            problems.append(f"aa.{key}: {aa[key]} ps is shorter than the time step ({dt_ps} ps)")
    nvt = aa["nvt"]
    if nvt["output_interval_ps"] > nvt["time_ps"]:
        problems.append(
            f"aa.nvt.output_interval_ps: {nvt['output_interval_ps']} ps is longer than the NVT run "
            f"({nvt['time_ps']} ps), which would write one frame"
        )
    if not Path(config["molecule"]).is_file():
        problems.append(f"molecule: file '{config['molecule']}' does not exist")
    return problems


def load(path, schema_path=SCHEMA):
    """Read a YAML config file and validate it."""
    try:
        config = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    return validate(config, schema_path)


def describe(schema_path=SCHEMA):
    """Markdown reference of every key in the schema: path, type, default, description."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    lines = [
        "# Configuration reference",
        "",
        "Generated from `workflow/schemas/config.schema.yaml` by `python -m cgbench.core.config`; a test",
        "keeps the two in step. Every key is checked when a run starts: an unknown key or a wrong",
        "value stops the run before any job, naming the key's path and what was expected.",
        "",
        "Shipped configurations: `config.yaml` (the demo, the default), `paper.yaml` (the reference",
        "study's numbers), `test.yaml` (tiny, for the workflow test), `dbm_pretrain.yaml` (the shipped",
        "TMBT DBM model's training from scratch, `make pretrain`), `dbm_pretrain_self.yaml` (that model's",
        "fine-tune on its own backmaps, merged over `dbm_pretrain.yaml` in `make pretrain`'s second",
        "phase). Each is merged over `config.yaml`, so a key it leaves out keeps the demo's value.",
        "",
        "| key | type | default | description |",
        "|---|---|---|---|",
    ]

    def walk(node, prefix):
        for name, sub in node.get("properties", {}).items():
            path = f"{prefix}{name}"
            kind = sub.get("type", "") or " / ".join(map(str, sub.get("enum", [])))
            default = "" if kind == "object" or "default" not in sub else f"`{sub['default']}`"
            bounds = [f"{k} {sub[k]}" for k in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum") if k in sub]
            desc = " ".join(str(sub.get("description", "")).split())
            if bounds:
                desc += f" ({', '.join(bounds)})"
            lines.append(f"| `{path}` | {kind} | {default} | {desc} |")
            if kind == "object":
                walk(sub, f"{path}.")
                entry = sub.get("additionalProperties")
                if isinstance(entry, dict):  # a mapping of named entries, e.g. cg_models.<name>
                    if "default" in sub:
                        lines[-1] = lines[-1][: -len(" |")] + f" Default: `{sub['default']}` |"
                    walk(entry, f"{path}.<name>.")

    walk(schema, "")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(describe(), end="")
