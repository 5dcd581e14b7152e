"""Configuration: defaults, and errors that name the key and what was expected."""

import copy

import pytest
import yaml

from cgbench.core.config import load, validate
from cgbench.core.errors import ConfigError


@pytest.fixture
def base(root, monkeypatch):
    monkeypatch.chdir(root)
    return {"molecule": "resources/tmbt/molecule.yaml"}


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml", "test.yaml"])
def test_shipped_configs_are_valid(root, monkeypatch, name):
    monkeypatch.chdir(root)
    cfg = load(root / "config" / name)
    assert cfg["aa"]["cutoff_nm"] > 0


def test_defaults_are_the_study(base):
    cfg = validate(copy.deepcopy(base))
    aa = cfg["aa"]
    assert aa["n_molecules"] == 3000
    assert (aa["anneal"]["time_ps"], aa["cool"]["time_ps"], aa["npt"]["time_ps"], aa["nvt"]["time_ps"]) == (
        200.0, 3500.0, 66000.0, 20000.0,
    )
    assert (aa["temperature_K"], aa["anneal"]["temperature_K"]) == (450, 800)
    assert (aa["cutoff_nm"], aa["fourier_spacing_nm"], aa["ewald_rtol"]) == (1.3, 0.12, 1e-5)
    assert (aa["tau_t_ps"], aa["berendsen_tau_p_ps"], aa["pr_tau_p_ps"]) == (0.5, 0.5, 1.0)
    assert aa["compressibility_per_bar"] == 4.5e-5 and aa["timestep_fs"] == 1


def test_paper_config_states_the_defaults(root, monkeypatch):
    monkeypatch.chdir(root)
    paper = load(root / "config" / "paper.yaml")
    defaults = validate({"molecule": "resources/tmbt/molecule.yaml"})
    for key in ("n_molecules", "cutoff_nm", "temperature_K"):
        assert paper["aa"][key] == defaults["aa"][key]
    for stage in ("anneal", "cool", "npt", "nvt"):
        assert paper["aa"][stage]["time_ps"] == defaults["aa"][stage]["time_ps"]


def test_unknown_key_names_its_path(base):
    cfg = copy.deepcopy(base)
    cfg["aa"] = {"nvt": {"time_ps": 10, "tme_ps": 5}}
    with pytest.raises(ConfigError, match=r"aa\.nvt: unknown key\(s\) 'tme_ps'; allowed: output_interval_ps, time_ps"):
        validate(cfg)


def test_wrong_type_and_range_name_path_and_expectation(base):
    cfg = copy.deepcopy(base)
    cfg["aa"] = {"n_molecules": "lots", "cutoff_nm": -1}
    with pytest.raises(ConfigError) as err:
        validate(cfg)
    msg = str(err.value)
    assert "aa.n_molecules: 'lots' is not of type 'integer'" in msg
    assert "aa.cutoff_nm: -1 is less than or equal to the minimum of 0" in msg
    assert "expected" in msg


def test_missing_required_key():
    with pytest.raises(ConfigError, match="'molecule' is a required property"):
        validate({})


def test_relations_are_checked(base):
    cfg = copy.deepcopy(base)
    cfg["aa"] = {"nvt": {"time_ps": 5, "output_interval_ps": 10}}
    with pytest.raises(ConfigError, match="aa.nvt.output_interval_ps: 10 ps is longer than the NVT run"):
        validate(cfg)
    with pytest.raises(ConfigError, match="molecule: file 'nope.yaml' does not exist"):
        validate({"molecule": "nope.yaml"})


def test_unreadable_file(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("aa: [unclosed")
    with pytest.raises(ConfigError, match="cannot read config"):
        load(bad)


def test_config_readme_documents_every_key(root):
    from cgbench.core.config import describe

    assert (root / "config" / "README.md").read_text() == describe(), (
        "config/README.md is out of date: run `python -m cgbench.core.config > config/README.md`"
    )


def test_schema_nodes_use_only_schema_keywords(root):
    """Catches YAML slips such as an unquoted comma splitting a description into stray keys."""
    import yaml

    allowed = {"$schema", "title", "description", "type", "additionalProperties", "required", "properties",
               "default", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum", "items", "minItems"}
    schema = yaml.safe_load((root / "workflow/schemas/config.schema.yaml").read_text())

    def walk(node, path):
        assert set(node) <= allowed, f"{path}: unexpected keys {set(node) - allowed}"
        for name, sub in node.get("properties", {}).items():
            walk(sub, f"{path}.{name}")
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{path}.<name>")

    walk(schema, "config")


def _leaves(d, prefix=()):
    for k, v in d.items():
        if isinstance(v, dict) and v:
            yield from _leaves(v, prefix + (k,))
        else:
            yield prefix + (k,)


@pytest.mark.parametrize("name, sections", [("paper.yaml", None), ("dbm_pretrain.yaml", ("threads", "aa", "testsets", "dbm"))])
def test_a_full_size_config_sets_every_key_the_demo_sets(root, name, sections):
    """The Snakefile reads config.yaml first and merges a --configfile over it, so a key the demo
    sets and a full-size config leaves out would silently take the demo's value (e.g. its
    fine-tuning learning rate, or its IBI frame interval)."""
    demo = yaml.safe_load((root / "config" / "config.yaml").read_text())
    other = yaml.safe_load((root / "config" / name).read_text())

    def has(d, path):
        for k in path:
            if not isinstance(d, dict) or k not in d:
                return False
            d = d[k]
        return True

    # dbm_pretrain.yaml runs the AA and DBM stages only
    leaked = [".".join(p) for p in _leaves(demo) if not has(other, p) and (sections is None or p[0] in sections)]
    assert leaked == [], f"{name} inherits the demo's {leaked}"


def test_pretrain_second_phase_changes_only_the_dbm_training(root, monkeypatch):
    """`make pretrain`'s second phase links the first phase's AA run and molecule files instead of
    making its own, so its overlay may change DBM training settings only; it starts from the first
    phase's model and learns on that model's backmaps."""
    monkeypatch.chdir(root)
    demo = yaml.safe_load((root / "config" / "config.yaml").read_text())
    first = yaml.safe_load((root / "config" / "dbm_pretrain.yaml").read_text())
    overlay = yaml.safe_load((root / "config" / "dbm_pretrain_self.yaml").read_text())
    assert [p[:2] for p in _leaves(overlay)] == [("dbm", "train")] * len(list(_leaves(overlay)))
    merged = copy.deepcopy(demo)
    for layer in (first, overlay):
        for path in _leaves(layer):
            node, value = merged, layer
            for k in path[:-1]:
                node, value = node.setdefault(k, {}), value[k]
            node[path[-1]] = value[path[-1]]
    train = validate(merged)["dbm"]["train"]
    assert train["init_from"] == "resources/tmbt/dbm/base/model.pt"
    assert train["self_frames"] > 0 and train["lambda_overlap"] > 0
    # every step of the fine-tune is supervised, as in the first phase (its adversarial epochs were not kept)
    assert train["warmup_steps"] >= train["epochs"] * train["samples_per_epoch"] // train["batch_size"]
