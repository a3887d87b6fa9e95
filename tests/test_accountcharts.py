"""Charts of the tiering and health sections."""

from __future__ import annotations

import pandas as pd

from acctlib.accountcharts import plot_tier_pyramid


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

    assert bars["title"] == "Tier pyramid: accounts · Won + weighted open ACV (USD)"
    assert tooltips["value"] == "Won + weighted open ACV"
