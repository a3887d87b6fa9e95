"""Report pages in headless Chromium with the network cut off.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it), driven
through the DevTools protocol by playwright; playwright's own browser
downloads are never used. A proxy pointing at a closed loopback port keeps
every request on the machine.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.e2e.conftest import MARKUP, POISONED_STAGE

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Nothing listens on port 9 (discard), so any request that is not a
    # local file fails instead of leaving the machine.
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
]
CHART_MARKS = (
    "Array.from(document.querySelectorAll('.acctlib-chart')).map("
    "c => c.querySelectorAll('svg .role-mark > *, canvas').length)"
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium context with a fresh profile folder."""
    if not CHROMIUM.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} not found; .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} not found; install Debian's chromium package")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
        )
        yield context
        context.close()


class PageLog:
    """Console errors, uncaught exceptions, dialogs and remote requests of a page."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.remote: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", self._on_dialog)
        page.on("request", self._on_request)

    def _on_console(self, message) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _on_request(self, request) -> None:
        if not request.url.startswith(("file:", "data:", "blob:", "about:")):
            self.remote.append(request.url)


def open_page(browser, path: Path):
    page = browser.new_page()
    log = PageLog(page)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, log


def wait_for_charts(page) -> list[int]:
    """Wait until every chart container contains marks; return the mark counts."""
    page.wait_for_function(f"{CHART_MARKS}.every(count => count > 0)", timeout=20_000)
    return page.evaluate(CHART_MARKS)


def save_screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def report_pages(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob("*.html"))


def test_every_page_renders_offline(browser, small_report):
    pages = report_pages(small_report.run_dir)
    sections = small_report.manifest["sections"]
    expected = sorted([f"{section}.html" for section in sections] + ["index.html"])
    assert [p.name for p in pages] == expected
    for path in pages:
        page, log = open_page(browser, path)
        charts = page.locator(".acctlib-chart").count()
        if path.name == "00-executive-summary.html":
            assert charts >= 2
        if charts:
            marks = wait_for_charts(page)
            assert len(marks) == charts
        save_screenshot(page, f"small-report-{path.stem}")
        assert log.errors == [], path.name
        assert log.dialogs == [], path.name
        assert log.remote == [], path.name
        page.close()


def test_amounts_stay_on_one_line(browser, small_report):
    """A money cell such as "USD 7,106,638" never breaks after the currency."""
    page, _ = open_page(browser, small_report.run_dir / "05-forecast.html")
    wrapping = page.evaluate(
        "Array.from(document.querySelectorAll('.jp-RenderedHTMLCommon td'))"
        ".filter(td => /^USD [0-9]/.test(td.textContent))"
        ".map(td => getComputedStyle(td).whiteSpace)"
    )
    assert wrapping
    assert set(wrapping) == {"nowrap"}
    page.close()


def test_untrusted_names_run_nothing(browser, untrusted_report):
    for path in report_pages(untrusted_report.run_dir):
        page, log = open_page(browser, path)
        if page.locator(".acctlib-chart").count():
            wait_for_charts(page)
        assert page.locator("img[src='x']").count() == 0, path.name
        assert log.dialogs == [], path.name
        assert log.errors == [], path.name
        save_screenshot(page, f"untrusted-{path.stem}")
        page.close()


def test_untrusted_names_show_as_text(browser, untrusted_report):
    path = untrusted_report.run_dir / "00-executive-summary.html"
    page, log = open_page(browser, path)
    wait_for_charts(page)

    tables_text = page.locator(".jp-RenderedHTMLCommon table").all_inner_texts()
    assert any(MARKUP in text for text in tables_text)
    chart_text = page.evaluate(
        "Array.from(document.querySelectorAll('.acctlib-chart svg text'))"
        ".map(t => t.textContent).join('\\n')"
    )
    # Axis labels are cut at 180 pixels, and where depends on the fonts
    # installed, so only the start of the name is checked.
    assert MARKUP[:18] in chart_text

    shown = _hover_until_tooltip(page, POISONED_STAGE)
    assert POISONED_STAGE in shown
    assert page.locator("#vg-tooltip-element img").count() == 0
    assert page.locator("#vg-tooltip-element script").count() == 0
    assert log.dialogs == []
    page.close()


def _hover_until_tooltip(page, text: str) -> str:
    """Hover chart marks one by one until the tooltip shows ``text``."""
    marks = page.locator(".acctlib-chart svg .role-mark path")
    for index in range(marks.count()):
        marks.nth(index).hover(force=True)
        tooltip = page.locator("#vg-tooltip-element")
        if tooltip.count() and text in tooltip.inner_text():
            return tooltip.inner_text()
    return ""
