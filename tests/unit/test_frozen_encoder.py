"""Which frozen encoder the ensemble's members use: ``combine.embedding_encoder: auto``."""

from pathlib import Path

import pytest

from models.triage.config import TrainConfig
from models.triage.members.frozen import choose_frozen_encoder, non_english_share

ENGLISH = [
    "I was charged twice for my subscription this month, please refund one payment.",
    "The password reset link in your email has expired, how do I log in now?",
    "Our team cannot export the monthly report to CSV since the last update.",
    "Please cancel my account at the end of the billing period.",
]
GERMAN = [
    "Ich wurde diesen Monat zweimal für mein Abo belastet, bitte erstatten Sie eine Zahlung.",
    "Der Link zum Zurücksetzen des Passworts ist abgelaufen, wie kann ich mich jetzt anmelden?",
]
SPANISH = ["No puedo exportar el informe mensual a CSV desde la última actualización."]
BASE = Path("/models/own-base")


def test_auto_is_the_default_and_the_share_can_be_set():
    combine = TrainConfig.model_validate({"name": "x"}).combine
    assert (combine.embedding_encoder, combine.multilingual_share) == ("auto", 0.2)
    with pytest.raises(ValueError, match="multilingual_share"):
        TrainConfig.model_validate({"name": "x", "combine": {"multilingual_share": 1.5}})


def test_non_english_share_counts_what_the_detector_can_tell():
    assert non_english_share(ENGLISH) == 0.0
    assert non_english_share(ENGLISH + GERMAN + SPANISH) == pytest.approx(3 / 7)
    assert non_english_share([*ENGLISH, "12345", ""]) == 0.0  # undecided texts are not counted
    assert non_english_share([]) == 0.0


def test_auto_picks_the_multilingual_encoder_only_for_a_multilingual_training_set():
    chosen, record = choose_frozen_encoder("auto", ENGLISH + GERMAN + SPANISH, BASE, 0.2)
    assert chosen == "use:multilingual-v3"
    assert record == {
        "setting": "auto",
        "encoder": "use:multilingual-v3",
        "non_english_share": pytest.approx(3 / 7, abs=1e-4),
        "multilingual_share": 0.2,
    }
    # 2 of 14 texts (0.14) stay under the share: the base encoder, and no local path recorded
    chosen, record = choose_frozen_encoder("auto", ENGLISH * 3 + GERMAN, BASE, 0.2)
    assert chosen == BASE
    assert record["encoder"] == "fine-tuned model's base encoder"
    assert str(BASE) not in str(record)


def test_a_named_encoder_or_none_is_taken_as_given_without_detection():
    assert choose_frozen_encoder("use:multilingual-v3", ENGLISH, BASE, 0.2)[0] == (
        "use:multilingual-v3"
    )
    chosen, record = choose_frozen_encoder(None, GERMAN, BASE, 0.2)
    assert chosen == BASE
    assert record == {"setting": "base", "encoder": "fine-tuned model's base encoder"}
