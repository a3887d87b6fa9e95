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


def test_value_by_segment_names_unknown_segments():
    segments = pd.DataFrame(
        {
            "segment": ["Energy", "Retail", "Retail", "Travel"],
            "status": ["customer", "customer", "prospect", "customer"],
            "value": [500.0, float("nan"), 20.0, float("nan")],
        }
    )

    spec = charts.plot_value_by_segment(segments, "USD").to_dict()

    rows = next(iter(spec["datasets"].values()))
    assert {row["segment"] for row in rows} == {"Energy", "Retail"}
    assert all(row["value"] is not None for row in rows)
    assert spec["title"]["subtitle"] == [
        "No bar for Travel: value unknown, because no deal of their accounts has "
        "an amount."
    ]


def test_value_by_segment_without_known_value():
    segments = pd.DataFrame(
        {"segment": ["Retail"], "status": ["customer"], "value": [float("nan")]}
    )

    note = charts.plot_value_by_segment(segments, "USD")

    assert "No data" in note.data
    assert "no deal has an amount" in note.data


def test_show_notes_chart_without_rows(monkeypatch):
    displayed = []
    monkeypatch.setattr("IPython.display.display", displayed.append)
    empty = pd.DataFrame({"decile": pd.Series(dtype=int), "lift": []})
    bars = alt.Chart(empty).mark_bar().encode(x="decile:O", y="lift:Q")
    layered = alt.layer(bars.properties(title="Lift by decile"), bars.mark_rule())

    charts.show(layered)

    assert len(displayed) == 1
    assert "<strong>Lift by decile</strong>: No data." in displayed[0].data
    assert charts.NO_ROWS_REASON in displayed[0].data


def test_show_draws_chart_with_rows(monkeypatch):
    displayed = []
    monkeypatch.setattr("IPython.display.display", displayed.append)
    monkeypatch.setattr(charts, "static_svg", lambda chart: "<svg></svg>")
    frame = pd.DataFrame({"decile": [1], "lift": [0.0]})

    charts.show(alt.Chart(frame).mark_bar().encode(x="decile:O", y="lift:Q"))

    assert len(displayed) == 1
    assert "vegaEmbed" in displayed[0].data
    assert "No data" not in displayed[0].data
