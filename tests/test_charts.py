"""Theme of the report's charts."""

from __future__ import annotations

import altair as alt
import pandas as pd

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
