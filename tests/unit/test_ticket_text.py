"""What encoders read of a ticket: the newest message without quoted history or signature. The
e-mails follow the reply headers mail clients write (Gmail's "On … wrote:" and its localised
forms, Outlook's "-----Original Message-----" block) and the RFC 3676 signature separator."""

from __future__ import annotations

import pytest

from models.text import MAX_CHARS, encoder_text, model_texts, newest_message, read_ticket

GMAIL_EN = """Hi team,

The export to PDF fails with error 500 since yesterday, on every board we own.

Thanks,
Anna Schmidt
Head of Ops | Acme GmbH
+1 555 0100

On Mon, Nov 2, 2026 at 10:00 AM Nimbus Support <support@nimbus.example> wrote:
> Hello Anna,
> could you send us the board id and the time it failed?
"""
GMAIL_DE = """Hallo zusammen,

der Export nach PDF bricht seit gestern mit Fehler 500 ab, auf allen unseren Boards.

Viele Grüße
Anna Schmidt

Am Mo., 2. Nov. 2026 um 10:00 Uhr schrieb Nimbus Support <support@nimbus.example>:
> Hallo Anna,
> können Sie uns die Board-ID schicken?
"""
GMAIL_ES = """Hola,

No puedo iniciar sesión desde ayer, el correo de restablecimiento nunca llega a mi bandeja.

Saludos,
Carlos

El lun, 2 nov 2026 a las 10:00, Nimbus Support (<support@nimbus.example>) escribió:
> Hola Carlos, ¿qué error ve?
"""
GMAIL_FR = """Bonjour,

Je n'arrive plus à partager mes tableaux avec mes collègues depuis la mise à jour de lundi.

Cordialement,
Marie

Le lun. 2 nov. 2026 à 10:00, Nimbus Support <support@nimbus.example> a écrit :
> Bonjour Marie,
> pouvez-vous préciser le navigateur ?
"""
OUTLOOK_FORWARD = """FYI, see below.

-----Original Message-----
From: Bob Jones <bob@example.com>
Sent: Monday, November 2, 2026 10:00 AM
To: billing@example.com
Subject: double charge

We were charged twice for the Business plan this month, invoice INV-2026-1142, please refund one.
"""
SIG_DASHES = (  # RFC 3676: the signature separator is "-- " (dash, dash, space) on its own line
    "The sticky notes disappear when I refresh the board, three times today already.\n\n"
    "-- \nSam Lee | Customer Success\nExample Corp\n"
)


@pytest.mark.parametrize(
    ("email", "kept", "dropped"),
    [
        (GMAIL_EN, "error 500 since yesterday", ["board id", "Head of Ops", "wrote:"]),
        (GMAIL_DE, "Fehler 500", ["Board-ID", "schrieb", "Viele Grüße"]),
        (GMAIL_ES, "restablecimiento", ["¿qué error", "escribió", "Saludos"]),
        (GMAIL_FR, "partager mes tableaux", ["navigateur", "a écrit", "Cordialement"]),
        (SIG_DASHES, "sticky notes disappear", ["Customer Success"]),
    ],
)
def test_the_newest_message_keeps_the_customers_words_and_drops_quotes_and_signature(
    email, kept, dropped
):
    text = newest_message(email)
    assert kept in text
    for part in dropped:
        assert part not in text, (part, text)


def test_a_forward_too_short_to_stand_alone_takes_the_forwarded_message():
    text = newest_message(OUTLOOK_FORWARD)
    assert text.startswith("FYI, see below.") and "charged twice" in text


def test_plain_text_comes_back_as_it_was_and_empty_stays_empty():
    plain = "My board won't save. Help! Thanks, Sam"
    assert newest_message(f"  {plain}\n") == plain
    assert newest_message("") == newest_message("   ") == ""
    only_quote = "> a line someone else wrote"
    assert newest_message(only_quote)  # never emptied: the whole text rather than nothing


def test_encoder_text_is_subject_and_newest_message_cut_at_a_word():
    assert encoder_text("PDF export", GMAIL_EN).splitlines()[0] == "PDF export"
    assert "wrote:" not in encoder_text("PDF export", GMAIL_EN)
    assert encoder_text(None, None) == "" and encoder_text("Subject only", None) == "Subject only"
    long = encoder_text("S", "word " * 1000, max_chars=100)
    assert len(long) <= 100 and long.endswith("word")


def test_a_model_reads_the_subject_and_newest_message_of_a_ticket_text():
    """A ticket's text is ``subject\\nbody`` (landing.ticket_texts, dbt staging): the first line
    stays, the body loses its quoted thread and signature; ``whole`` leaves texts alone."""
    texts = ["PDF export fails\n" + GMAIL_EN, "Exportfehler\n" + GMAIL_DE, "Short plain request"]
    cut = model_texts(texts, "newest_message")
    assert cut[0].splitlines()[0] == "PDF export fails" and "error 500" in cut[0]
    assert "wrote:" not in cut[0] and "board id" not in cut[0] and "Head of Ops" not in cut[0]
    assert "Fehler 500" in cut[1] and "schrieb" not in cut[1]
    assert cut[2] == "Short plain request"
    assert model_texts(texts, "whole") == texts
    assert model_texts(["", "\n"], "newest_message") == ["", ""]


def test_reading_a_ticket_text_equals_reading_its_subject_and_body():
    """One definition: the ticket vectors, suggestions and assist read ``ticket_text`` the way
    ``encoder_text`` reads a (subject, body) pair with a one-line subject, cut to MAX_CHARS."""
    for subject, body in [("PDF export", GMAIL_EN), ("Ayuda", GMAIL_ES), ("", SIG_DASHES)]:
        assert read_ticket(f"{subject}\n{body}") == encoder_text(subject, body)
    long = "Subject\n" + "plain words without any quote " * 400
    assert len(read_ticket(long)) <= MAX_CHARS and read_ticket(long).startswith("Subject\nplain")


@pytest.mark.parametrize("prefix", ["Fwd: ", "FW: ", "WG: ", "RV: ", "TR: ", "Re: Fwd: "])
def test_only_a_forward_takes_the_forwarded_mail_below_a_short_note(prefix):
    """A short reply ("Still charged twice. Please fix.") is the customer's whole message, not
    the thread it quotes; a forward's "FYI, see below" note takes the mail it forwards."""
    quoted_login = (
        "Still charged twice. Please fix.\n\n"
        "On Mon, Nov 2, 2026 at 10:00 AM Nimbus Support <support@nimbus.example> wrote:\n"
        "> Your password reset link is attached, try to log in again.\n"
    )
    assert read_ticket(f"Billing\n{quoted_login}") == "Billing\nStill charged twice. Please fix."
    forwarded = read_ticket(f"{prefix}double charge\n{OUTLOOK_FORWARD}")
    assert "invoice INV-2026-1142" in forwarded and forwarded.startswith(prefix.strip())
