"""A picture of the scorecard: headless Chromium renders the HTML file to a PNG.

Optional: the HTML is the deliverable and needs no browser. When Chromium is on the machine
(Debian: ``apt-get install chromium``) ``supportflow report --screenshot`` and ``make demo`` also
write a PNG beside it, for a chat message or a slide.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


def headless_args(width: int = 1280) -> list[str]:
    """Flags for a container: no sandbox (often root), no GPU, nothing fetched from the network."""
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        f"--window-size={width},900",
    ]


def screenshot(html_file: Path, png: Path | None = None, height: int = 2400) -> Path:
    """Render ``html_file`` to ``png`` (default: same name, .png). Raises RuntimeError with the
    browser's own words when Chromium is missing or fails."""
    browser = find_chromium()
    if browser is None:
        raise RuntimeError("no Chromium on this machine (Debian: apt-get install chromium)")
    png = png or html_file.with_suffix(".png")
    png.unlink(missing_ok=True)
    args = [*headless_args()[:-1], f"--window-size=1280,{height}", f"--screenshot={png}"]
    done = subprocess.run(
        [browser, *args, html_file.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0 or not png.exists():
        raise RuntimeError(f"Chromium could not render {html_file}: {done.stderr.strip()[-500:]}")
    return png
