"""The config home: explicit file → Settings.config_dir → packaged default, each an overlay."""

from __future__ import annotations

import copy

import pytest
import yaml

from supportflow.assist.config import load_assist_config
from supportflow.escalation.rules import DEFAULT_RULES, RuleError, load_rules
from supportflow.rollout.config import load_rollout_config
from supportflow.yaml_config import CONFIG_HOME, config_file, deep_merge


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    path = tmp_path / "my-config"
    path.mkdir()
    monkeypatch.setenv("SUPPORTFLOW_CONFIG_DIR", str(path))
    return path


def test_deep_merge_merges_mappings_and_replaces_the_rest():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    assert deep_merge(base, {"a": {"y": [3]}, "c": None}) == {
        "a": {"x": 1, "y": [3]}, "b": 1, "c": None,
    }  # fmt: skip
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}


def test_the_demo_gates_are_a_one_key_overlay_on_the_defaults():
    raw = yaml.safe_load((CONFIG_HOME / "rollout_demo.yaml").read_text())
    assert raw == {"offline": {"max_ece": 0.15}}
    default, demo = load_rollout_config(), load_rollout_config(CONFIG_HOME / "rollout_demo.yaml")
    assert default.offline.max_ece == 0.08 and demo.offline.max_ece == 0.15
    assert demo.model_copy(update={"offline": default.offline}) == default


def test_a_user_file_overlays_the_default_and_a_full_file_still_works(tmp_path):
    partial = tmp_path / "gates.yaml"
    partial.write_text("online:\n  auto_route: {min_tickets: 42}\n")
    config = load_rollout_config(partial)
    assert config.online.auto_route.min_tickets == 42
    assert config.online.auto_route.min_agreement == 0.85  # the packaged file's
    assert config.online.assist == load_rollout_config().online.assist
    full = tmp_path / "full.yaml"
    full.write_text((CONFIG_HOME / "rollout.yaml").read_text().replace("0.08", "0.09"))
    assert load_rollout_config(full) == load_rollout_config().model_copy(
        update={"offline": load_rollout_config().offline.model_copy(update={"max_ece": 0.09})}
    )


def test_base_none_stands_alone_with_the_model_defaults(tmp_path):
    alone = tmp_path / "alone.yaml"
    alone.write_text("base: none\nonline:\n  auto_route: {min_tickets: 42}\n")
    config = load_rollout_config(alone)
    assert config.online.auto_route.min_tickets == 42
    assert config.online.auto_route.min_agreement == 0.85  # the model's default = the file's
    alone.write_text("online:\n  auto_rout: {min_tickets: 5000}\n")  # a misspelt phase
    with pytest.raises(ValueError, match="auto_rout"):
        load_rollout_config(alone)
    alone.write_text("base: elsewhere.yaml\n")
    with pytest.raises(ValueError, match="base must be"):
        load_rollout_config(alone)


def test_settings_config_dir_overlays_the_packaged_defaults(config_dir, tmp_path):
    (config_dir / "rollout.yaml").write_text("scoring: {partition_size: 7}\n")
    assert load_rollout_config().scoring.partition_size == 7
    assert load_rollout_config().offline.max_ece == 0.08
    # an explicit file overlays the user's folder, which overlays the package
    demo = load_rollout_config(config_file("rollout_demo.yaml"))
    assert (demo.scoring.partition_size, demo.offline.max_ece) == (7, 0.15)
    # a typo names the user's file
    (config_dir / "rollout.yaml").write_text("scoring: {partition_sise: 7}\n")
    with pytest.raises(ValueError, match=r"(?s)my-config/rollout\.yaml.*partition_sise"):
        load_rollout_config()


def test_relative_paths_follow_the_file_that_names_them(config_dir, tmp_path):
    assert load_assist_config().macros == CONFIG_HOME / "macros.yaml"
    (config_dir / "macros.yaml").write_text("macros: []\n")
    assert load_assist_config().macros == config_dir / "macros.yaml"  # the config home, user first
    mine = tmp_path / "team" / "assist.yaml"
    mine.parent.mkdir()
    mine.write_text("macros: team_macros.json\n")
    assert load_assist_config(mine).macros == mine.parent / "team_macros.json"


def test_escalation_rules_are_taken_whole_from_the_highest_layer(config_dir, tmp_path):
    assert load_rules().content_hash == load_rules(DEFAULT_RULES).content_hash
    raw = yaml.safe_load(DEFAULT_RULES.read_text())
    raw["version"], raw["rules"] = "mine.1", raw["rules"][:1]
    (config_dir / "escalation_rules.yaml").write_text(yaml.safe_dump(raw))
    assert (load_rules().version, len(load_rules().rules)) == ("mine.1", 1)
    partial = tmp_path / "partial.yaml"
    partial.write_text("rules: []\n")  # not merged with the default: no version, no rules
    with pytest.raises(RuleError, match=r"partial\.yaml"):
        load_rules(partial)


# Lists of team data with no sensible code default: the packaged file holds them, the model
# defaults to none (a `base: none` file that omits them has none, as it says).
DATA_ONLY = {"assist.yaml": ("guardrails.policies", "required_fields", "macros")}


def without(tree: dict, dotted_keys) -> dict:
    """``tree`` less the keys named ``a.b.c`` (a copy)."""
    out = copy.deepcopy(tree)
    for dotted in dotted_keys:
        *parents, leaf = dotted.split(".")
        node = out
        for part in parents:
            node = node[part]
        node.pop(leaf)
    return out


@pytest.mark.parametrize("name", ["rollout.yaml", "knowledge.yaml", "assist.yaml"])
def test_model_defaults_equal_the_packaged_file(name):
    """One source of each default: the config model's and the packaged YAML's agree."""
    from supportflow.assist.config import AssistConfig
    from supportflow.knowledge.config import KnowledgeConfig
    from supportflow.rollout.config import RolloutConfig

    model = {"rollout.yaml": RolloutConfig, "knowledge.yaml": KnowledgeConfig,
             "assist.yaml": AssistConfig}[name]  # fmt: skip
    raw = yaml.safe_load((CONFIG_HOME / name).read_text())
    packaged = model.model_validate(raw).model_dump(mode="json")
    defaults = model().model_dump(mode="json")
    skip = DATA_ONLY.get(name, ())
    assert without(packaged, skip) == without(defaults, skip)


def test_a_bad_key_is_one_line_naming_the_file_that_set_it(tmp_path, config_dir):
    (config_dir / "knowledge.yaml").write_text("audit:\n  stale_after_dayz: 90\n")
    good = tmp_path / "knowledge.yaml"
    good.write_text("audit:\n  stale_after_days: 30\n")
    from supportflow.knowledge.config import load_knowledge_config

    with pytest.raises(ValueError) as caught:
        load_knowledge_config(good)
    message = str(caught.value)
    assert message == (
        f"{config_dir / 'knowledge.yaml'}: audit.stale_after_dayz: Extra inputs are not permitted"
    )


def test_a_validator_message_reaches_the_user_without_pydantics_prefix(tmp_path):
    from models.triage.config import load_config

    experiment = tmp_path / "exp.yaml"
    experiment.write_text("combine:\n  members: [tfidf, knnn]\n")
    with pytest.raises(ValueError) as raised:
        load_config(experiment)
    message = str(raised.value)
    assert "combine.members: unknown ensemble member(s) ['knnn']" in message
    assert "Value error" not in message


def test_naming_another_encoder_brings_its_fitted_thresholds_and_user_values_still_win(
    config_dir, tmp_path
):
    """An encoder is a config value: encoders.yaml's thresholds for it come along, above the
    packaged (MiniLM) values and under anything a user file sets."""
    from supportflow.knowledge.config import encoder_thresholds, load_knowledge_config

    fitted = yaml.safe_load((CONFIG_HOME / "encoders.yaml").read_text())["use:multilingual-v3"]
    default = load_knowledge_config()
    assert default.answer.min_similarity == 0.40  # the packaged file's: MiniLM's scale
    assert load_assist_config().related.duplicate_similarity == 0.92
    (config_dir / "knowledge.yaml").write_text("index: {encoder: 'use:multilingual-v3'}\n")
    use = load_knowledge_config()
    assert use.answer.min_similarity == fitted["knowledge"]["answer"]["min_similarity"] != 0.40
    assert use.audit.conflict_similarity == fitted["knowledge"]["audit"]["conflict_similarity"]
    assert use.search == default.search  # what encoders.yaml does not name stays
    # assist reads the knowledge encoder's vectors, so its thresholds follow that encoder
    related = load_assist_config().related
    assert related.duplicate_similarity == fitted["assist"]["related"]["duplicate_similarity"]
    assert load_assist_config().incidents.min_tickets == 12
    # a value a user file sets wins over the fitted one, at any layer
    mine = tmp_path / "knowledge.yaml"
    mine.write_text("answer: {min_similarity: 0.5}\n")
    assert load_knowledge_config(mine).answer.min_similarity == 0.5
    assert load_knowledge_config(mine).audit.conflict_similarity == use.audit.conflict_similarity
    assert encoder_thresholds("packaged:some-other-model", "assist")[1] == {}
    # a bad fitted value names encoders.yaml, the file that set it
    (config_dir / "encoders.yaml").write_text(
        "use:multilingual-v3: {knowledge: {answer: {min_similarity: abc}}}\n"
    )
    with pytest.raises(ValueError, match=r"my-config/encoders\.yaml: answer\.min_similarity"):
        load_knowledge_config()
    (config_dir / "encoders.yaml").write_text("use:multilingual-v3: [0.4]\n")
    with pytest.raises(ValueError, match=r"encoders\.yaml: use:multilingual-v3: expected"):
        load_knowledge_config()
