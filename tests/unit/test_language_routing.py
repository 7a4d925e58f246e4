"""Language routing: which encoder a ticket or question is embedded with, how a user config
unroutes a language, how questions' languages are detected, and a routed index searching each
query with its own encoder (real encoders, five tiny articles)."""

from __future__ import annotations

import pytest

from supportflow.ingest.language import detect_question_languages
from supportflow.knowledge import encoder as enc
from supportflow.knowledge.config import MULTILINGUAL, IndexConfig, load_knowledge_config
from tests.unit.test_multilingual_encoder import TICKETS, index_of


def test_routed_languages_use_their_encoder_and_the_rest_the_index_encoder():
    config = IndexConfig()
    assert config.encoder_for("de") == config.encoder_for("fr") == MULTILINGUAL
    assert config.encoder_for("en") == config.encoder_for(None) == config.encoder
    assert config.encoder_for("ja") == config.encoder  # not routed
    assert config.routed_encoders == [MULTILINGUAL]
    assert config.languages_of(MULTILINGUAL) == ["de", "es", "fr", "it", "nl", "pt"]


def test_a_user_file_unroutes_a_language_with_null_and_routing_to_the_index_encoder_is_none(
    tmp_path,
):
    mine = tmp_path / "knowledge.yaml"
    mine.write_text("index: {language_encoders: {de: null, nl: null}}\n")
    index = load_knowledge_config(mine).index
    assert index.encoder_for("de") == index.encoder and index.encoder_for("es") == MULTILINGUAL
    mine.write_text(f"index: {{encoder: '{MULTILINGUAL}'}}\n")
    assert load_knowledge_config(mine).index.routed_encoders == []  # all on one encoder


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("The reset password link expired, how do I log in?", "en"),
        ("Der Link zum Zurücksetzen meines Passworts ist abgelaufen.", "de"),
        ("¿Cómo exporto mis tableros a Excel?", "es"),
        ("Comment exporter mes tableaux ?", "fr"),
        ("export csv", None),  # too short to tell: stays on the index encoder
    ],
)
def test_a_questions_language_is_detected_or_left_undecided(question, language):
    assert detect_question_languages([question]) == [language]


def test_a_routed_index_searches_each_query_with_its_languages_encoder():
    english = IndexConfig().encoder
    index = index_of(english)
    texts = list(index.rows["text"])
    index.add_encoder(MULTILINGUAL, enc.embed(MULTILINGUAL, texts, kind="passage"), ["de", "es"])
    assert index.routes() == {english: None, MULTILINGUAL: ["de", "es"]}
    queries = [t for t, _ in TICKETS[:4]] + ["I forgot my password and cannot sign in"]
    languages = ["de", "es", "de", "es", "en"]
    routed = index.search_many(queries, 1, method="vector", languages=languages)
    assert [h[0].article_id for h in routed] == [a for _, a in TICKETS[:4]] + ["kb-password"]
    # each query's similarity is its encoder's cosine
    alone = index.for_encoder(MULTILINGUAL).search(queries[0], 1, method="vector")[0]
    assert routed[0][0].similarity == pytest.approx(alone.similarity)
    with pytest.raises(ValueError, match="one encoder"):
        index.search_many(
            queries, 1, languages=languages, query_vectors=enc.embed(english, queries)
        )
    with pytest.raises(ValueError, match="passage vectors"):
        index.add_encoder("other", enc.embed(MULTILINGUAL, texts[:2]), ["fr"])


def test_a_routed_encoder_holds_its_questions_to_its_routed_thresholds(tmp_path):
    """encoders.yaml's ``routed`` values (cross-language cosines run lower) apply to questions
    a language routes to the encoder; its ``knowledge`` values when it is the index encoder."""
    import yaml

    from supportflow.knowledge.config import answer_configs, encoder_thresholds
    from supportflow.yaml_config import CONFIG_HOME

    entry = yaml.safe_load((CONFIG_HOME / "encoders.yaml").read_text())[MULTILINGUAL]
    config = load_knowledge_config()
    by_encoder = answer_configs(config)
    assert by_encoder[config.index.encoder] == config.answer
    routed = entry["routed"]["answer"]["min_similarity"]
    assert by_encoder[MULTILINGUAL].min_similarity == routed != config.answer.min_similarity
    assert by_encoder[MULTILINGUAL].internal_margin == config.answer.internal_margin
    alone = entry["knowledge"]["answer"]["min_similarity"]
    assert encoder_thresholds(MULTILINGUAL, "knowledge")[1]["answer"]["min_similarity"] == alone
    mine = tmp_path / "knowledge.yaml"
    mine.write_text(f"index: {{encoder: '{MULTILINGUAL}'}}\n")
    assert load_knowledge_config(mine).answer.min_similarity == alone != routed
