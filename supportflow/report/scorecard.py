"""``supportflow report``: one static, offline HTML scorecard from the marts.

Charts are inline SVG drawn here (no JavaScript, no CDN), so the file opens anywhere, offline,
and can be mailed. Python reads only marts (ARCHITECTURE §4); every section names the mart its
numbers come from, and every column is shown under a human label (``LABELS``).
"""

from __future__ import annotations

import html
from datetime import UTC, date, datetime
from pathlib import Path

from supportflow.settings import Settings
from supportflow.warehouse import connect

# Human labels for every column the scorecard shows (a column missing here is a test failure).
LABELS = {
    "model_name": "Model", "model_version": "Version", "phase": "Rollout phase",
    "label_field": "Field", "scored_tickets": "Tickets scored",
    "agreement": "Agreement with agents",
    "coverage": "Coverage (not abstained)", "override_rate": "Overridden by agents",
    "drifted": "Input drift", "rules_version": "Rules version", "rule_id": "Rule",
    "tickets_fired": "Tickets flagged", "escalation_precision": "Precision",
    "escalation_recall": "Recall", "median_lead_hours": "Median lead (hours)",
    "articles": "Articles", "stale": "Stale", "ownerless": "Without owner",
    "in_conflict": "Articles in a conflict", "drafts": "Drafts", "theme": "Theme",
    "tickets": "Tickets", "previous_week_tickets": "Tickets the week before",
    "is_rising": "Rising", "spike_days": "Spike days", "queue": "Queue",
    "median_first_reply_business_minutes": "Median first reply (business min)",
    "fcr_rate": "First-contact resolution", "reopen_rate": "Reopen rate",
    "csat_good_rate": "CSAT (% good)", "escalation_rate": "Escalation rate",
    "self_service_resolution_rate": "Resolved by self-service",
    "tickets_change": "Tickets vs week before",
}  # fmt: skip
PERCENT = {
    "agreement", "coverage", "override_rate", "escalation_precision", "escalation_recall",
    "fcr_rate", "reopen_rate", "csat_good_rate", "escalation_rate",
    "self_service_resolution_rate", "auto_routed_share", "auto_route_accuracy",
}  # fmt: skip


def _rows(con, sql: str) -> list[dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def scorecard_data(settings: Settings) -> dict:
    """Everything the scorecard shows, as rows of the marts (the decisions are made in dbt)."""
    with connect(settings) as con:
        data = {
            "weekly": _rows(con, "SELECT * FROM marts.fct_support_weekly ORDER BY week_start"),
            "headlines": _rows(con, "SELECT * FROM marts.fct_scorecard_headlines"
                               " ORDER BY metric"),
            "impact": _rows(con, "SELECT * FROM marts.fct_ai_impact_weekly ORDER BY week_start"),
            "queues": _rows(con, "WITH q AS (SELECT * FROM marts.fct_queue_weekly),"
                            " w AS (SELECT max(week_start) AS latest FROM q)"
                            " SELECT q.queue, q.tickets,"
                            " q.tickets - coalesce(p.tickets, 0) AS tickets_change,"
                            " q.median_first_reply_business_minutes, q.fcr_rate, q.reopen_rate,"
                            " q.csat_good_rate, q.escalation_rate, q.self_service_resolution_rate"
                            " FROM q JOIN w ON q.week_start = w.latest"
                            " LEFT JOIN q AS p ON p.queue = q.queue"
                            " AND p.week_start = w.latest - INTERVAL 7 DAY"
                            " ORDER BY q.tickets DESC, q.queue"),
            "models": _rows(con, "SELECT model_name, model_version, phase, label_field,"
                            " scored_tickets, agreement, coverage, override_rate, drifted"
                            " FROM marts.fct_model_quality ORDER BY 1, 2, 3, 4"),
            "escalation": _rows(con, "SELECT rules_version, rule_id, tickets_fired,"
                                " escalation_precision, escalation_recall, median_lead_hours"
                                " FROM marts.fct_escalation_accuracy"
                                " ORDER BY 1 DESC, rule_id = 'any_rule', 2"),
            "kb": _rows(con, "SELECT articles, stale, ownerless, in_conflict, drafts"
                        " FROM marts.fct_kb_health_summary"),
            "themes": _rows(con, "SELECT theme, tickets, previous_week_tickets, is_rising,"
                            " spike_days FROM marts.fct_voc_themes WHERE week_start ="
                            " (SELECT max(week_start) FROM marts.fct_voc_themes)"
                            " ORDER BY tickets DESC LIMIT 10"),
        }  # fmt: skip
    return data


UNITS = {"minutes": " min", "hours": " h"}  # after a number of that format


def _fmt_metric(value: float | None, fmt: str) -> str:
    """A headline value or target as its mart row's ``format`` says (percent, a count, or a
    number with its unit)."""
    if value is None:
        return "–"
    if fmt == "count":
        return f"{value:,.0f}"
    return f"{value:.1%}" if fmt == "percent" else f"{value:,.1f}{UNITS.get(fmt, '')}"


AXIS_TITLES = {"percent": "percent", "minutes": "minutes", "hours": "hours", "count": "tickets"}


def _fmt_change(change: float | None, fmt: str) -> str:
    """A week-over-week change: percentage points for percent metrics, else the unit's number."""
    if change is None:
        return "nothing to compare: no value the week before"
    if fmt == "percent":
        return f"{change * 100:+.1f} pts vs week before"
    return f"{change:+,.1f}{UNITS.get(fmt, '')} vs week before"


def _week(value: date | str) -> str:
    return value.strftime("%d %b") if isinstance(value, date) else str(value)


def chart(
    values: list[float | None],
    weeks: list,
    target: float | None,
    fmt: str,
    y_title: str,
    width: int = 300,
    height: int = 130,
) -> str:
    """An inline SVG line chart of weekly ``values`` with labelled axes: the y axis shows its
    lowest and highest value in the metric's ``fmt`` and is titled ``y_title`` (the unit: the
    card's heading names the metric); the x axis names the first and last week (``weeks``,
    week-start dates). The target, when given, is a dashed red line. Fewer than two values: an
    empty chart that says so."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return (f"<svg class='chart' width='{width}' height='{height}' role='img'>"
                f"<text x='8' y='{height // 2}' class='axis'>not enough weeks to chart</text>"
                "</svg>")  # fmt: skip
    left, right, top, bottom = 56, 8, 8, 30
    ys = [v for _, v in points] + ([target] if target is not None else [])
    lo, hi = min(ys), max(ys)
    span = (hi - lo) or 1.0

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + i * (width - left - right) / max(len(values) - 1, 1)
        return x, height - bottom - (v - lo) / span * (height - top - bottom)

    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in points))
    base = height - bottom
    svg = [
        f"<svg class='chart' width='{width}' height='{height}' role='img'"
        f" aria-label='{html.escape(y_title)} by week'>",
        f"<line x1='{left}' x2='{left}' y1='{top}' y2='{base}' class='axisline'/>",
        f"<line x1='{left}' x2='{width - right}' y1='{base}' y2='{base}' class='axisline'/>",
        f"<text x='{left - 4}' y='{top + 8}' text-anchor='end' class='axis'>"
        f"{_fmt_metric(hi, fmt)}</text>",
        f"<text x='{left - 4}' y='{base}' text-anchor='end' class='axis'>"
        f"{_fmt_metric(lo, fmt)}</text>",
        f"<text x='{left}' y='{base + 14}' class='axis'>{html.escape(_week(weeks[0]))}</text>",
        f"<text x='{width - right}' y='{base + 14}' text-anchor='end' class='axis'>"
        f"{html.escape(_week(weeks[-1]))}</text>",
        f"<text x='{(left + width) // 2}' y='{height - 2}' text-anchor='middle' class='axis'>"
        "week starting</text>",
        f"<text x='10' y='{(top + base) // 2}' class='axis' text-anchor='middle'"
        f" transform='rotate(-90 10 {(top + base) // 2})'>{html.escape(y_title)}</text>",
        f"<polyline fill='none' stroke='#2563eb' stroke-width='2' points='{line}'/>",
    ]
    if target is not None:
        _, ty = xy(0, target)
        svg.append(f"<line x1='{left}' x2='{width - right}' y1='{ty:.1f}' y2='{ty:.1f}'"
                   " stroke='#dc2626' stroke-dasharray='4 3'/>")  # fmt: skip
    svg.append("</svg>")
    return "".join(svg)


# columns whose values are identifiers (rule ids, theme names, phases): shown as words
WORDS = {"rule_id", "theme", "phase", "label_field"}  # not queues: the desk's own names
WORDING = {"any_rule": "Any rule (all rules together)"}


def _words(value: str) -> str:
    """``how_to`` → ``How to``; a value that is not a snake_case identifier is kept as it is."""
    if value in WORDING:
        return WORDING[value]
    if not value.replace("_", "").isalnum() or value != value.lower():
        return value
    text = value.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _fmt(value, column: str = "") -> str:
    if isinstance(value, str) and column in WORDS:
        value = _words(value)
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1%}" if column in PERCENT else f"{value:,.1f}"
    if column == "tickets_change" and isinstance(value, int):
        return f"{value:+,}"
    return html.escape(f"{value:,}" if isinstance(value, int) else str(value))


def _source(mart: str) -> str:
    return f"<p class='source'>Source: <code>marts.{html.escape(mart)}</code></p>"


def _table(rows: list[dict], title: str, mart: str) -> str:
    if not rows:
        return f"<h2>{html.escape(title)}</h2><p class='empty'>No data yet.</p>{_source(mart)}"
    head = "".join(f"<th>{html.escape(LABELS[k])}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(v, k)}</td>" for k, v in row.items()) + "</tr>" for row in rows
    )
    return f"<h2>{html.escape(title)}</h2><table><tr>{head}</tr>{body}</table>{_source(mart)}"


def _headline_cards(data: dict) -> str:
    weekly = data["weekly"]
    weeks = [w["week_start"] for w in weekly]
    tickets = {w["week_start"]: w["tickets"] for w in weekly}
    cards = []
    for h in data["headlines"]:
        values = [w.get(h["metric"]) for w in weekly]
        fmt, latest = h["format"], h["latest_value"]
        if latest is None:  # nothing to judge: neither on nor off target
            kind, status, change = "none", "no value yet", "no value in any week"
            week = ""
        else:
            kind = "ok" if h["is_on_target"] else "off"
            status = "on target" if h["is_on_target"] else "off target"
            change = _fmt_change(h.get("change_vs_previous_week"), fmt)
            week_start = h.get("latest_week_start")
            week = (f"<p class='week'>week of {html.escape(_week(week_start))} · "
                    f"{tickets.get(week_start, 0):,} tickets created</p>")  # fmt: skip
        trend = {True: "better", False: "worse"}.get(h.get("is_improving"), "same")
        source = h.get("source_mart") or "fct_support_weekly"
        cards.append(
            f"<div class='card {kind}'><h3>{html.escape(h['label'])}</h3>"
            f"<p class='value'>{_fmt_metric(latest, fmt)}</p>{week}"
            f"<p class='change {trend}'>{change}</p>"
            f"<p class='target'>target {h['direction']} {_fmt_metric(h['target'], fmt)}"
            f" — {status}</p>"
            f"{chart(values, weeks, h['target'], fmt, AXIS_TITLES.get(fmt, 'value'))}"
            f"<p class='source'>Source: <code>marts.fct_scorecard_headlines</code> (weekly "
            f"values: <code>marts.{html.escape(source)}</code>)</p></div>"
        )
    return "".join(cards)


def _impact_section(rows: list[dict]) -> str:
    """The "AI impact" section: the latest week of fct_ai_impact_weekly and its change against
    the week before, with how each line is counted and the minutes-saved assumptions."""
    title = "<h2>AI impact</h2>"
    if not rows:
        return f"{title}<p class='empty'>No data yet.</p>{_source('fct_ai_impact_weekly')}"
    now, before = rows[-1], (rows[-2] if len(rows) > 1 else None)

    def line(label: str, column: str, note: str = "") -> str:
        value, prev = now[column], before[column] if before else None
        shown = _fmt(value, column) if value is not None else "–"
        if column in PERCENT and value is not None and prev is not None:
            change = f"{(value - prev) * 100:+.1f} pts"
        elif value is not None and prev is not None:
            change = f"{value - prev:+,.0f}" if isinstance(value, int) else f"{value - prev:+,.1f}"
        else:
            change = "–"
        return (f"<tr><th>{label}</th><td>{shown}</td><td>{change}</td>"
                f"<td class='note'>{note}</td></tr>")  # fmt: skip

    drafts_note = (
        "no draft was followed by an agent reply yet: nothing to compare"
        if not now["drafts_followed_by_reply"]
        else f"of {now['drafts_followed_by_reply']:,} drafts followed by an agent reply; "
        "few edits = the reply is ≥ 80 % similar (Levenshtein)"
    )
    method = (
        f"Estimated as {now['minutes_per_self_service_resolution']:g} min per self-service "
        f"resolution + {now['minutes_per_auto_routed_ticket']:g} min per auto-routed ticket + "
        f"{now['minutes_per_draft_sent_with_few_edits']:g} min per draft sent with few edits "
        "(assumptions in the dbt seed <code>ai_impact_assumptions</code>: set them to your "
        "team's handle times)."
    )
    table = "".join(
        [
            "<table><tr><th>Week of "
            f"{html.escape(_week(now['week_start']))}</th><th>Value</th>"
            "<th>Change vs week before</th><th>How it is counted</th></tr>",
            line("Tickets resolved by self-service that did not come back",
                 "self_service_resolutions", "no agent reply, no return within 24 h"),
            line("Share resolved by self-service", "self_service_resolution_rate",
                 f"of the {now['tickets']:,} tickets created that week"),
            line("Tickets auto-routed", "auto_routed_tickets", "an auto_apply routing decision"),
            line("Share auto-routed", "auto_routed_share",
                 f"of the {now['tickets']:,} tickets created that week"),
            line("Auto-route accuracy", "auto_route_accuracy",
                 "routed label = final label, settled tickets only"),
            line("Drafts sent with few edits", "drafts_sent_with_few_edits", drafts_note),
            line("Agent minutes saved (estimate)", "agent_minutes_saved", method),
            "</table>",
        ]
    )  # fmt: skip
    return title + table + _source("fct_ai_impact_weekly")


def render_html(data: dict) -> str:
    """The scorecard page: headline cards (value, target, change vs the week before, a labelled
    trend chart), the AI impact section, a per-queue breakdown and the model, escalation,
    knowledge and theme tables; each section names its mart."""
    weekly = data["weekly"]
    volume = chart(
        [float(w["tickets"]) for w in weekly], [w["week_start"] for w in weekly], None,
        "count", "tickets created",
    )  # fmt: skip
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    weeks = (
        f"{weekly[0]['week_start']} – {weekly[-1]['week_start']}" if weekly else "no tickets yet"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Support scorecard</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #111827; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 1rem; }}
.card {{ border: 1px solid #d1d5db; border-radius: 8px; padding: .75rem 1rem; width: 310px; }}
.card.off {{ border-left: 6px solid #dc2626; }} .card.ok {{ border-left: 6px solid #16a34a; }}
.card.none {{ border-left: 6px solid #9ca3af; }} .week {{ color: #4b5563; margin: 0; }}
.value {{ font-size: 1.6rem; margin: .2rem 0; }} .target {{ color: #4b5563; margin: 0; }}
.change {{ margin: 0; }} .change.better {{ color: #15803d; }} .change.worse {{ color: #b91c1c; }}
.axis {{ font-size: 10px; fill: #4b5563; }} .axisline {{ stroke: #9ca3af; }}
.source {{ color: #6b7280; font-size: .8rem; margin: .2rem 0 1rem; }}
.note {{ color: #4b5563; text-align: left; max-width: 32rem; }}
table {{ border-collapse: collapse; margin-bottom: .3rem; }}
td, th {{ border: 1px solid #e5e7eb; padding: .25rem .5rem; text-align: right; }}
th {{ background: #f3f4f6; }} .empty {{ color: #6b7280; }}
</style></head><body>
<h1>Support scorecard</h1>
<p>Weeks {html.escape(str(weeks))}; generated {generated} from the dbt marts.</p>
<h2>Weekly ticket volume</h2>{volume}{_source("fct_support_weekly")}
<h2>Headline metrics (latest week, change vs the week before; dashed line = target)</h2>
<div class="cards">{_headline_cards(data)}</div>
{_impact_section(data["impact"])}
{_table(data["queues"], "By queue, latest week", "fct_queue_weekly")}
{_table(data["models"], "Model quality and rollout phase", "fct_model_quality")}
{
        _table(
            data["escalation"],
            "Escalation accuracy by rules version and rule",
            "fct_escalation_accuracy",
        )
    }
{_table(data["kb"], "Knowledge base health", "fct_kb_health_summary")}
{_table(data["themes"], "Top themes this week (rising = ≥ 1.5× last week)", "fct_voc_themes")}
</body></html>
"""


def write_scorecard(settings: Settings, out: Path | None = None) -> Path:
    """Write the scorecard HTML (default ``<home>/reports/scorecard.html``); return its path."""
    out = out or settings.home.resolve() / "reports" / "scorecard.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(scorecard_data(settings)), encoding="utf-8")
    return out
