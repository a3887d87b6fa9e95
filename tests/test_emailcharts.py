"""The charts of a report page with the title and period note the digest shows."""

from __future__ import annotations

import altair as alt
import pandas as pd
from bs4 import BeautifulSoup

from acctlib import charts, emailcharts, views


def _static_chart(title: str, subtitle: str | None = None) -> str:
    frame = pd.DataFrame({"x": ["a", "b"], "y": [1, 2]})
    params = {"text": title, "subtitle": subtitle} if subtitle else title
    chart = alt.Chart(frame, title=alt.Title(**params) if subtitle else params)
    svg = charts.static_svg(chart.mark_bar().encode(x="x:N", y="y:Q"))
    return f'<noscript class="acctlib-static">{svg}</noscript>'


def _page() -> str:
    """Return a page as nbconvert exports it: two sections, two charts."""
    period = views.note("Won revenue covers every deal since 2023.", period=True)
    other = views.note("Functions are the teams that made the touches.")
    page = (
        "<html><body><h2>Attribution</h2>"
        f"{period.data}{other.data}"
        f"{_static_chart('Credit by function & model')}"
        "<h2>Tiers</h2>"
        f"{_static_chart('Tier pyramid', 'Bar width is the number of accounts.')}"
        "</body></html>"
    )
    return str(BeautifulSoup(page, "html.parser"))


def test_find_charts_reads_titles():
    found = emailcharts.find_charts(_page())

    assert [chart.title for chart in found] == [
        "Credit by function & model",
        "Tier pyramid",
    ]
    assert found[0].subtitle == ""
    assert found[1].subtitle == "Bar width is the number of accounts."


def test_find_charts_keeps_period_note():
    """A period note goes with its section's chart and no later one."""
    found = emailcharts.find_charts(_page())

    assert found[0].period_note == "Won revenue covers every deal since 2023."
    assert found[1].period_note == ""


def test_find_charts_without_title():
    chart = alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x:Q")
    page = f'<noscript class="acctlib-static">{charts.static_svg(chart)}</noscript>'

    found = emailcharts.find_charts(page)

    assert len(found) == 1
    assert found[0].title == ""
