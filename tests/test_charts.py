"""Theme of the report's charts."""

from __future__ import annotations

import re

import altair as alt
import pandas as pd
import vl_convert

from acctlib import charts
from acctlib.labels import readable


def test_palette_colours_are_distinct():
    assert len(set(charts.PALETTE)) == len(charts.PALETTE)
    assert len(charts.PALETTE) >= 20


def test_fifteen_lines_get_distinct_colours():
    channels = [readable(f"channel_{i}") for i in range(15)]
    frame = pd.DataFrame({"channel": channels, "x": range(15), "share": 0.1})
    chart = alt.Chart(frame).mark_line().encode(x="x:Q", y="share:Q", color="channel:N")
    category = chart.to_dict()["config"]["range"]["category"]

    assert len(set(category[: len(channels)])) == len(channels)


def test_count_axis_ticks_whole_numbers():
    counts = pd.DataFrame({"status": ["customer", "prospect"], "accounts": [1, 2]})
    chart = charts.plot_accounts_by_status(counts)

    svg = vl_convert.vegalite_to_svg(chart.to_dict())
    ticks = re.findall(r"<text[^>]*>(\d+(?:\.\d+)?)</text>", svg)

    assert ticks
    assert all("." not in tick for tick in ticks)
