"""Flow: render the leadership scorecard (one offline HTML file) from the dbt marts, and a PNG
beside it when asked and Chromium is on the machine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prefect import flow, task

from flows.retry import IO_TASK
from supportflow.report.browser import find_chromium, screenshot
from supportflow.report.scorecard import write_scorecard
from supportflow.settings import Settings


@dataclass
class Scorecard:
    html: Path
    png: Path | None = None  # None: not asked for, or no Chromium here


@task(**IO_TASK)
def render(with_png: bool) -> Scorecard:
    html = write_scorecard(Settings())
    return Scorecard(html, screenshot(html) if with_png and find_chromium() else None)


@flow(name="publish-scorecard")
def publish_scorecard(with_png: bool = False) -> Scorecard:
    """The scorecard HTML (``<home>/reports/scorecard.html``) and, with ``with_png``, a PNG."""
    return render(with_png)
