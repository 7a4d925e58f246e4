"""How the scorecard shows edge cases of the headline rows (no value, no change, the week)."""

from datetime import date

from supportflow.report.scorecard import render_html

WEEKS = [date(2026, 10, 19), date(2026, 10, 26)]


def headline(metric: str, latest, previous, improving, on_target=False, **extra) -> dict:
    change = None if latest is None or previous is None else latest - previous
    return {
        "metric": metric, "label": metric.replace("_", " ").title(), "direction": "above",
        "target": 0.7, "latest_week_start": WEEKS[-1] if latest is not None else None,
        "latest_value": latest, "previous_value": previous, "change_vs_previous_week": change,
        "is_improving": improving, "is_on_target": on_target, "format": "percent",
        "source_mart": "fct_support_weekly", **extra,
    }  # fmt: skip


def page(*heads: dict) -> str:
    weekly = [{"week_start": w, "tickets": n, "fcr_rate": 0.5, "csat_good_rate": 0.5}
              for w, n in zip(WEEKS, (40, 29), strict=True)]  # fmt: skip
    data = {"weekly": weekly, "headlines": list(heads), "impact": [], "queues": [],
            "models": [], "escalation": [], "kb": [], "themes": []}  # fmt: skip
    return render_html(data)


def card(html: str, label: str) -> str:
    start = html.index(f"<h3>{label}</h3>")
    return html[html.rindex("<div class='card", 0, start) : html.index("</div>", start)]


def test_a_metric_without_any_value_is_neither_on_nor_off_target():
    shown = card(page(headline("deflection_quality", None, None, None)), "Deflection Quality")
    assert "card none" in shown and "no value yet" in shown
    assert "off target" not in shown and "on target" not in shown


def test_an_unchanged_metric_is_not_shown_as_worse_and_the_week_is_named():
    shown = card(page(headline("fcr_rate", 0.5, 0.5, None)), "Fcr Rate")
    assert "class='change same'>+0.0 pts vs week before" in shown
    assert "week of 26 Oct · 29 tickets created" in shown
    assert "Source: <code>marts.fct_scorecard_headlines</code>" in shown


def test_a_change_goes_the_targets_way_or_not():
    html = page(headline("fcr_rate", 0.75, 0.5, True, on_target=True),
                headline("csat_good_rate", 0.4, 0.5, False))  # fmt: skip
    assert "class='change better'>+25.0 pts" in card(html, "Fcr Rate")
    assert "class='change worse'>-10.0 pts" in card(html, "Csat Good Rate")
    assert "nothing to compare" in card(page(headline("fcr_rate", 0.5, None, None)), "Fcr Rate")


def test_minutes_carry_their_unit_and_identifiers_read_as_words():
    minutes = headline("median_first_reply", 96.9, 81.4, False, format="minutes")
    html = page(minutes)
    shown = card(html, "Median First Reply")
    assert "96.9 min" in shown and "+15.5 min vs week before" in shown
    weekly = [{"week_start": WEEKS[-1], "tickets": 3}]
    rules = [
        {"rules_version": "v1", "rule_id": "ai_uncertain_or_missing_knowledge",
         "tickets_fired": 3, "escalation_precision": 0.5, "escalation_recall": 0.4,
         "median_lead_hours": 2.0},
        {"rules_version": "v1", "rule_id": "any_rule", "tickets_fired": 5,
         "escalation_precision": 0.6, "escalation_recall": 0.7, "median_lead_hours": 1.0},
    ]  # fmt: skip
    themes = [{"theme": "how_to", "tickets": 4, "previous_week_tickets": 2, "is_rising": True,
               "spike_days": 0}]  # fmt: skip
    data = {"weekly": weekly, "headlines": [], "impact": [], "queues": [], "models": [],
            "escalation": rules, "kb": [], "themes": themes}  # fmt: skip
    html = render_html(data)
    assert "<td>Ai uncertain or missing knowledge</td>" in html
    assert "<td>Any rule (all rules together)</td>" in html and "any_rule" not in html
    assert "<td>How to</td>" in html and "how_to" not in html
