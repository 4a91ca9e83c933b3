"""The HTML KPI report in a real browser: headless Chromium parses the page (``--dump-dom``) and takes
a screenshot, and the screenshot's pixels show each chart's colours in its own band of the page.

scripts/bootstrap installs Debian's ``chromium``; the test skips only when no Chromium binary exists.
"""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ccapp.kpi.html import (
    ABANDON_COLOUR,
    AHT_COLOUR,
    OCCUPANCY_COLOUR,
    SL_COLOUR,
    UTILIZATION_COLOUR,
    Extras,
    render_page,
)
from tests.support.kpi_reports import HISTOGRAM, by_agent, by_hour, by_queue, measures
from tests.support.png import Image, read_png

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTH, HEIGHT = 1200, 2000
AGENTS = {"1001": (3000.0, 1000.0, 5000.0), "1002": (2000.0, 2000.0, 4500.0), "1003": (900.0, 2700.0, 4000.0)}


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@pytest.fixture(scope="module")
def browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip(f"no Chromium binary ({', '.join(BROWSERS)}) on PATH: run scripts/bootstrap as root")


def chromium(browser: str, tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "profile"
    command = [browser, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert result.returncode == 0, f"{command} failed ({result.returncode}): {result.stderr[-2000:]}"
    return result


def screenshot(browser: str, tmp_path: Path, page: Path) -> tuple[Path, Image]:
    shot = tmp_path / f"{page.stem}.png"
    chromium(browser, tmp_path, page, f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}")
    assert shot.is_file(), f"Chromium wrote no screenshot at {shot}"
    image = read_png(shot.read_bytes())
    assert (image.width, image.height) == (WIDTH, HEIGHT), shot
    return shot, image


class Dom(HTMLParser):
    """Per chart figure: how many ``svg``, bars and ``title`` elements, and the empty-state notes."""

    def __init__(self) -> None:
        super().__init__()
        self.figure: str | None = None
        self.counts: dict[str, dict[str, int]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "figure":
            self.figure = attr.get("id") or ""
            self.counts[self.figure] = {"svg": 0, "bar": 0, "title": 0, "empty": 0}
        if self.figure is None:
            return
        counts = self.counts[self.figure]
        if tag == "svg" and attr.get("role") == "img" and attr.get("aria-label"):
            counts["svg"] += 1
        elif tag == "rect" and attr.get("class") == "bar":
            counts["bar"] += 1
        elif tag == "title":
            counts["title"] += 1
        elif tag == "p" and attr.get("class") == "empty":
            counts["empty"] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self.figure = None


def write_page(tmp_path: Path, name: str, html: str) -> Path:
    path = tmp_path / f"{name}.html"
    path.write_text(html, encoding="utf-8")
    return path


def test_chromium_shows_each_chart_in_its_colours_in_page_order(browser: str, tmp_path: Path) -> None:
    report = by_queue({"sales": measures(100, 80, 5), "<support & co>": measures(40, 20, 8)})
    page = write_page(tmp_path, "report", render_page(report, Extras(by_hour(), HISTOGRAM, by_agent(AGENTS))))

    dom = Dom()
    dom.feed(chromium(browser, tmp_path, page, "--dump-dom").stdout)
    assert dom.counts == {
        "chart-sl": {"svg": 1, "bar": 16, "title": 17, "empty": 0},
        "chart-aht": {"svg": 1, "bar": len(HISTOGRAM), "title": len(HISTOGRAM) + 1, "empty": 0},
        "chart-occupancy": {"svg": 1, "bar": 6, "title": 7, "empty": 0},
    }

    shot, image = screenshot(browser, tmp_path, page)
    bands: dict[str, tuple[int, int]] = {}
    for colour in (SL_COLOUR, ABANDON_COLOUR, AHT_COLOUR, OCCUPANCY_COLOUR, UTILIZATION_COLOUR):
        pixels = image.find(rgb(colour))
        # a bar chart, not just its 14 × 14 legend square
        assert len(pixels) > 1000, f"{colour}: {len(pixels)} pixels in {shot}"
        ys = [y for _, y in pixels]
        bands[colour] = (min(ys), max(ys))
    # the charts come in page order, each in its own band below the table
    assert bands[SL_COLOUR][0] > 150, f"service-level chart overlaps the table: {bands} in {shot}"
    assert bands[SL_COLOUR][1] < bands[AHT_COLOUR][0], f"{bands} in {shot}"
    assert bands[ABANDON_COLOUR][1] < bands[AHT_COLOUR][0], f"{bands} in {shot}"
    assert bands[AHT_COLOUR][1] < bands[OCCUPANCY_COLOUR][0], f"{bands} in {shot}"
    assert bands[OCCUPANCY_COLOUR] == bands[UTILIZATION_COLOUR], f"{bands} in {shot}"
    assert bands[OCCUPANCY_COLOUR][1] < HEIGHT - 100, f"the page does not fit the window: {bands} in {shot}"


def test_chromium_shows_empty_states_without_chart_colours(browser: str, tmp_path: Path) -> None:
    page = write_page(tmp_path, "empty", render_page(by_queue({}), Extras()))
    dom = Dom()
    dom.feed(chromium(browser, tmp_path, page, "--dump-dom").stdout)
    assert {name: counts["empty"] for name, counts in dom.counts.items()} == {
        "chart-sl": 1,
        "chart-aht": 1,
        "chart-occupancy": 1,
    }
    assert all(counts["svg"] == 0 for counts in dom.counts.values())
    shot, image = screenshot(browser, tmp_path, page)
    for colour in (SL_COLOUR, ABANDON_COLOUR, AHT_COLOUR, OCCUPANCY_COLOUR):
        assert image.find(rgb(colour)) == [], f"{colour} drawn on the empty page {shot}"
