"""Engagement on many month-ends at once equals one date at a time."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from acctlib import engine, progression
from acctlib.engagementhistory import summarize_engagement_history

DATES = [dt.date(2026, 3, 31), dt.date(2026, 4, 30), dt.date(2026, 5, 31)]


def make_touches(count: int, seed: int) -> pd.DataFrame:
    """Random touches over a year, with missing contacts and functions."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-06-01", tz="UTC")
    # Whole hours, so that some touches fall exactly on a window bound.
    hours = rng.integers(0, 366 * 24, count)
    functions = np.array(["marketing", "sdr", "ae", "cs", "other", None], dtype=object)
    contacts = np.array(["c1", "c2", "c3", None], dtype=object)
    frame = pd.DataFrame(
        {
            "touch_id": [f"T{i}" for i in range(count)],
            "account_id": rng.choice(["A", "B", "C", "D"], count),
            "contact_id": rng.choice(contacts, count),
            "occurred_at": start + pd.to_timedelta(hours, unit="h"),
            "channel": "email",
            "function": rng.choice(functions, count),
        }
    )
    frame["occurred_at"] = frame["occurred_at"].astype("datetime64[us, UTC]")
    return frame


@pytest.mark.parametrize("seed", [1, 2])
def test_history_matches_each_date(seed):
    con = engine.connect()
    engine.write_table(con, "touchpoints", make_touches(400, seed))
    touches = con.table("touchpoints")
    options = {"noise_band": 0.5, "breadth_noise_band": 1, "min_touches": 6}

    history = summarize_engagement_history(
        touches, DATES, weekly_dates=DATES[-1:], **options
    )

    assert sorted(history) == DATES
    for date in DATES:
        engagement, weekly = progression.summarize_engagement(touches, date, **options)
        assert_frame_equal(history[date][0], engagement, check_exact=True)
        if date == DATES[-1]:
            assert_frame_equal(history[date][1], weekly, check_exact=True)
        else:
            assert history[date][1] is None


def test_history_without_dates_is_empty():
    con = engine.connect()
    engine.write_table(con, "touchpoints", make_touches(10, 3))
    assert summarize_engagement_history(con.table("touchpoints"), []) == {}
