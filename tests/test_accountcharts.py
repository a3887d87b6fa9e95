"""Charts of the tiering and health sections."""

from __future__ import annotations

import altair as alt
import pandas as pd
from IPython.display import HTML

from acctlib.accountcharts import (
    MAX_LABELS,
    plot_health_by_tier,
    plot_tier_pyramid,
    plot_transition_heatmap,
    plot_value_against_health,
)
from acctlib.charts import static_svg


def test_pyramid_labels_count_accounts_in_words():
    shares = pd.DataFrame(
        {
            "tier_label": ["Tier 1 Strategic", "Tier 2 Core"],
            "accounts": [1, 1200],
            "value": [5000.0, 250000.0],
        }
    )
    chart = plot_tier_pyramid(shares, "USD")
    labels = chart.to_dict()["datasets"]
    rows = next(iter(labels.values()))
    assert [row["label"] for row in rows] == [
        "1 account · USD 5,000",
        "1,200 accounts · USD 250,000",
    ]


def test_pyramid_names_weighted_open_acv():
    shares = pd.DataFrame(
        {"tier_label": ["Tier 1 Strategic"], "accounts": [3], "value": [5000.0]}
    )
    bars = plot_tier_pyramid(shares, "USD").to_dict()["layer"][0]
    tooltips = {item["field"]: item["title"] for item in bars["encoding"]["tooltip"]}

    assert bars["title"]["text"] == "Tier pyramid: accounts per tier"
    assert bars["title"]["subtitle"] == [
        "Bar width is the number of accounts; each label adds the tier's "
        "won + weighted open ACV in USD."
    ]
    assert tooltips["value"] == "Won + weighted open ACV"


def test_pyramid_names_tier_of_unknown_value():
    shares = pd.DataFrame(
        {
            "tier_label": ["Tier 1 Strategic", "Tier 4 Nurture"],
            "accounts": [2, 30],
            "value": [5000.0, float("nan")],
        }
    )

    chart = plot_tier_pyramid(shares, "BRL").to_dict()

    rows = next(iter(chart["datasets"].values()))
    assert [row["label"] for row in rows] == [
        "2 accounts · BRL 5,000",
        "30 accounts · value unknown",
    ]
    subtitle = chart["layer"][0]["title"]["subtitle"]
    assert subtitle[-1] == (
        "Value unknown for Tier 4 Nurture: no deal of their accounts has an amount."
    )


def test_heatmap_without_data_says_so():
    empty = pd.DataFrame(
        {"period": [], "start": [], "from_tier": [], "to_tier": [], "accounts": []}
    )

    result = plot_transition_heatmap(empty, "year")

    assert isinstance(result, HTML)
    assert "Tier movement over the year" in result.data
    assert "No data" in result.data
    assert "NaN" not in result.data


def test_heatmap_of_zero_moves_is_a_chart():
    grid = pd.MultiIndex.from_product(
        [[0, 1, 2, 3, 4], [1, 2, 3, 4]], names=["from_tier", "to_tier"]
    ).to_frame(index=False)
    zeros = grid.assign(accounts=0, period="year")

    result = plot_transition_heatmap(zeros, "year")

    assert isinstance(result, alt.LayerChart)


def test_value_health_names_few_accounts():
    count = 12
    points = pd.DataFrame(
        {
            "name": [f"Account {i}" for i in range(count)],
            "value_amount": [1000.0 * (i + 1) for i in range(count)],
            "health_score": [55.0] * count,
            "flag": ["at risk"] * count,
            "label": [f"Account {i}" for i in range(count)],
        }
    )
    spec = plot_value_against_health(points, "USD").to_dict()
    rows = next(iter(spec["datasets"].values()))
    named = [row["label"] for row in rows if row["label"]]

    assert len(named) == MAX_LABELS
    assert named == [f"Account {i}" for i in range(count - MAX_LABELS, count)]


def test_health_histogram_keeps_empty_bins():
    distribution = pd.DataFrame(
        {
            "bin_start": [0, 50, 90],
            "tier_label": ["Tier 1 Strategic", "Tier 2 Core", "Tier 2 Core"],
            "accounts": [3, 5, 2],
        }
    )
    chart = plot_health_by_tier(distribution)

    x = chart.to_dict()["encoding"]["x"]
    assert x["scale"]["domain"] == list(range(0, 100, 10))
    svg = static_svg(chart)
    for empty_bin in ("10", "30", "40", "80"):
        assert f">{empty_bin}</text>" in svg
