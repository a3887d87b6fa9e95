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
