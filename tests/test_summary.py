"""Headline summaries of the account map."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from acctlib import summary


def test_value_by_segment_keeps_unknown_missing():
    account_map = pd.DataFrame(
        {
            "account_id": ["A", "B", "C", "D"],
            "industry": ["Retail", "Retail", "Energy", None],
            "status": ["customer", "customer", "customer", "prospect"],
            "value": [np.nan, np.nan, 500.0, 0.0],
        }
    )

    segments = summary.summarize_value_by_segment(account_map).set_index("segment")

    assert np.isnan(segments.loc["Retail", "value"])
    assert segments.loc["Retail", "accounts"] == 2
    assert segments.loc["Energy", "value"] == 500.0
    assert segments.loc["Unknown", "value"] == 0.0


def test_bookings_by_month_lists_present_types():
    snapshot = pd.DataFrame(
        {
            "is_won": [True, True, False],
            "type": ["new_business", "renewal", "expansion"],
            "closed_on": pd.to_datetime(["2026-05-10", "2026-06-02", "2026-06-03"]),
            "amount": [100.0, 40.0, 900.0],
        }
    )

    bookings = summary.summarize_bookings_by_month(
        snapshot, dt.date(2026, 6, 30), months=3
    )

    assert sorted(set(bookings["type"])) == ["new_business", "renewal"]
    assert len(bookings) == 6
    assert bookings["bookings"].sum() == 140.0
    june = bookings[bookings["month"] == "2026-06-01"].set_index("type")
    assert june.loc["renewal", "bookings"] == 40.0
    assert june.loc["new_business", "bookings"] == 0.0


def test_bookings_by_month_without_wins_is_empty():
    snapshot = pd.DataFrame(
        {
            "is_won": [False],
            "type": ["new_business"],
            "closed_on": pd.to_datetime(["2026-06-03"]),
            "amount": [900.0],
        }
    )

    bookings = summary.summarize_bookings_by_month(snapshot, dt.date(2026, 6, 30))

    assert bookings.empty
    assert list(bookings.columns) == ["month", "type", "bookings"]


def dominance_snapshot(won: list[float], open_amounts: list[float]) -> pd.DataFrame:
    """Return deals won on 2026-03-01 of ``won`` and open deals of ``open_amounts``."""
    count = len(won) + len(open_amounts)
    return pd.DataFrame(
        {
            "opportunity_id": [f"O{number}" for number in range(count)],
            "name": [f"Deal {number}" for number in range(count)],
            "account_id": [f"A{number}" for number in range(count)],
            "is_won": [True] * len(won) + [False] * len(open_amounts),
            "is_open": [False] * len(won) + [True] * len(open_amounts),
            "closed_on": pd.to_datetime(
                ["2026-03-01"] * len(won) + [None] * len(open_amounts)
            ),
            "amount": won + open_amounts,
        }
    )


def test_dominant_deal_in_bookings():
    snapshot = dominance_snapshot([600.0, 100.0, 40.0], [30.0, 20.0, 25.0])

    dominant = summary.find_dominant_deals(snapshot, dt.date(2026, 6, 30))

    assert dominant["figure"].tolist() == ["bookings_ytd"]
    row = dominant.iloc[0]
    assert row["opportunity_id"] == "O0"
    assert row["name"] == "Deal 0"
    assert row["amount"] == 600.0
    assert row["total"] == 740.0


def test_dominant_deal_in_pipeline():
    snapshot = dominance_snapshot([50.0, 50.0], [10.0, 90.0])

    dominant = summary.find_dominant_deals(snapshot, dt.date(2026, 6, 30))

    assert dominant["figure"].tolist() == ["open_pipeline"]
    assert dominant.iloc[0]["opportunity_id"] == "O3"


def test_half_of_bookings_not_dominant():
    snapshot = dominance_snapshot([50.0, 50.0], [])

    dominant = summary.find_dominant_deals(snapshot, dt.date(2026, 6, 30))

    assert dominant.empty


def test_last_year_deal_not_in_bookings():
    snapshot = dominance_snapshot([600.0, 100.0], [])

    dominant = summary.find_dominant_deals(snapshot, dt.date(2027, 1, 31))

    assert dominant.empty
