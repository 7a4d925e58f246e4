"""``supportflow report``: one static, offline HTML scorecard from the marts.

Charts are inline SVG drawn here (no JavaScript, no CDN), so the file opens anywhere, offline,
and can be mailed. Python reads only marts (ARCHITECTURE §4).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

from supportflow.settings import Settings
from supportflow.warehouse import connect


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
            "models": _rows(con, "SELECT model_name, model_version, phase, label_field,"
                            " scored_tickets, agreement, coverage, override_rate, drifted"
                            " FROM marts.fct_model_quality ORDER BY 1, 2, 3, 4"),
            "escalation": _rows(con, "SELECT rules_version, rule_id, tickets_fired,"
                                " escalation_precision, escalation_recall, median_lead_hours"
                                " FROM marts.fct_escalation_accuracy ORDER BY 1 DESC, 2"),
            "kb": _rows(con, "SELECT articles, stale, ownerless, in_conflict, drafts"
                        " FROM marts.fct_kb_health_summary"),
            "themes": _rows(con, "SELECT theme, tickets, previous_week_tickets, is_rising,"
                            " spike_days FROM marts.fct_voc_themes WHERE week_start ="
                            " (SELECT max(week_start) FROM marts.fct_voc_themes)"
                            " ORDER BY tickets DESC LIMIT 10"),
        }  # fmt: skip
    return data


def sparkline(values: list[float | None], target: float | None, width=260, height=60) -> str:
    """An inline SVG line of weekly values, with the target as a dashed line."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return "<svg class='chart' width='260' height='60'></svg>"
    ys = [v for _, v in points] + ([target] if target is not None else [])
    lo, hi = min(ys), max(ys)
    span = (hi - lo) or 1.0

    def xy(i, v):
        x = 4 + i * (width - 8) / max(len(values) - 1, 1)
        return x, height - 4 - (v - lo) / span * (height - 8)

    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in points))
    svg = [
        f"<svg class='chart' width='{width}' height='{height}' role='img'>",
        f"<polyline fill='none' stroke='#2563eb' stroke-width='2' points='{line}'/>",
    ]
    if target is not None:
        _, ty = xy(0, target)
        svg.append(f"<line x1='0' x2='{width}' y1='{ty:.1f}' y2='{ty:.1f}' stroke='#dc2626' "
                   "stroke-dasharray='4 3'/>")  # fmt: skip
    svg.append("</svg>")
    return "".join(svg)


def _fmt_metric(value: float | None, fmt: str) -> str:
    """A headline value or target as its mart row's ``format`` says (percent or a number)."""
    if value is None:
        return "–"
    return f"{value:.1%}" if fmt == "percent" else f"{value:,.1f}"


def _fmt(value, metric: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1%}" if metric.endswith(("rate", "quality")) or metric in (
            "agreement", "coverage", "escalation_precision", "escalation_recall"
        ) else f"{value:,.1f}"  # fmt: skip
    return html.escape(f"{value:,}" if isinstance(value, int) else str(value))


def _table(rows: list[dict], title: str) -> str:
    if not rows:
        return f"<h2>{html.escape(title)}</h2><p class='empty'>No data yet.</p>"
    head = "".join(f"<th>{html.escape(k)}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(v, k)}</td>" for k, v in row.items()) + "</tr>" for row in rows
    )
    return f"<h2>{html.escape(title)}</h2><table><tr>{head}</tr>{body}</table>"


def render_html(data: dict) -> str:
    """The scorecard page: one card per fct_scorecard_headlines row, tables for the rest."""
    weekly = data["weekly"]
    cards = []
    for h in data["headlines"]:
        values = [w.get(h["metric"]) for w in weekly]
        ok, fmt = h["is_on_target"], h["format"]
        status = "on target" if ok else "off target"
        cards.append(
            f"<div class='card {'ok' if ok else 'off'}'><h3>{html.escape(h['label'])}</h3>"
            f"<p class='value'>{_fmt_metric(h['latest_value'], fmt)}</p>"
            f"<p class='target'>target {h['direction']} {_fmt_metric(h['target'], fmt)}"
            f" — {status}</p>{sparkline(values, h['target'])}</div>"
        )
    volume = sparkline([float(w["tickets"]) for w in weekly], None)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    weeks = (
        f"{weekly[0]['week_start']} – {weekly[-1]['week_start']}" if weekly else "no tickets yet"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Support scorecard</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #111827; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 1rem; }}
.card {{ border: 1px solid #d1d5db; border-radius: 8px; padding: .75rem 1rem; width: 280px; }}
.card.off {{ border-left: 6px solid #dc2626; }} .card.ok {{ border-left: 6px solid #16a34a; }}
.value {{ font-size: 1.6rem; margin: .2rem 0; }} .target {{ color: #4b5563; margin: 0; }}
table {{ border-collapse: collapse; margin-bottom: 1.5rem; }}
td, th {{ border: 1px solid #e5e7eb; padding: .25rem .5rem; text-align: right; }}
th {{ background: #f3f4f6; }} .empty {{ color: #6b7280; }}
</style></head><body>
<h1>Support scorecard</h1>
<p>Weeks {html.escape(str(weeks))}; generated {generated} from the dbt marts.</p>
<h2>Weekly ticket volume</h2>{volume}
<h2>Headline metrics (weekly, latest week; dashed line = target)</h2>
<div class="cards">{"".join(cards)}</div>
{_table(data["models"], "Model quality and rollout phase (fct_model_quality)")}
{_table(data["escalation"], "Escalation accuracy by rules version and rule")}
{_table(data["kb"], "Knowledge base health")}
{_table(data["themes"], "Top themes this week (rising = ≥ 1.5× last week)")}
</body></html>
"""


def write_scorecard(settings: Settings, out: Path | None = None) -> Path:
    """Write the scorecard HTML (default ``<home>/reports/scorecard.html``); return its path."""
    out = out or settings.home.resolve() / "reports" / "scorecard.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(scorecard_data(settings)), encoding="utf-8")
    return out
