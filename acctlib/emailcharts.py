"""The charts of a report page as the email digest shows them.

Each chart of an exported page carries a static SVG (see
:data:`STATIC_CHART`). The digest shows it as an image, so it needs the
chart's own title as heading and alternative text, and any note on the
period the chart covers, because the page's text around the chart is not
in the mail.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from acctlib.views import PERIOD_NOTE_CLASS

STATIC_CHART = re.compile(
    r'<noscript class="acctlib-static">(<svg.*?</svg>)</noscript>', re.DOTALL
)
# Vega writes a chart's title and subtitle as text marks of these roles.
SVG_TITLE = re.compile(
    r'class="[^"]*\brole-title-text\b[^"]*"[^>]*>(.*?)</g>', re.DOTALL
)
SVG_SUBTITLE = re.compile(
    r'class="[^"]*\brole-title-subtitle\b[^"]*"[^>]*>(.*?)</g>', re.DOTALL
)
PERIOD_NOTE = re.compile(
    rf'<p class="[^"]*\b{PERIOD_NOTE_CLASS}\b[^"]*">(.*?)</p>', re.DOTALL
)
SECTION_HEADING = re.compile(r"<h2\b")
TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class PageChart:
    """One chart of a page: its static SVG, title, subtitle and period note.

    ``title``, ``subtitle`` and ``period_note`` are plain text, and empty
    when the page has none.
    """

    svg: str
    title: str
    subtitle: str
    period_note: str


def find_charts(page: str) -> list[PageChart]:
    """Return the charts of an exported report page in page order.

    A chart's period note is the last note with :data:`PERIOD_NOTE_CLASS`
    between the chart and whichever comes later before it: the previous
    chart or the start of its section (an ``<h2>`` heading).
    """
    charts = []
    start = 0
    for match in STATIC_CHART.finditer(page):
        headings = [h.start() for h in SECTION_HEADING.finditer(page, start)]
        section = max([start, *[h for h in headings if h < match.start()]])
        notes = PERIOD_NOTE.findall(page, section, match.start())
        svg = match.group(1)
        charts.append(
            PageChart(
                svg=svg,
                title=_first_text(SVG_TITLE, svg),
                subtitle=_first_text(SVG_SUBTITLE, svg),
                period_note=_plain(notes[-1]) if notes else "",
            )
        )
        start = match.end()
    return charts


def _first_text(pattern: re.Pattern[str], svg: str) -> str:
    found = pattern.search(svg)
    return _plain(found.group(1)) if found else ""


def _plain(markup: str) -> str:
    """Return the text of an HTML or SVG fragment, with spaces collapsed."""
    return " ".join(html.unescape(TAG.sub(" ", markup)).split())
