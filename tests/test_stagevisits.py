"""Stage figures from a history sorted once equal those of one date."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

from acctlib import progression, schema
from acctlib.stagevisits import StageVisits

STAGE_MAP = {
    "Qualification": {"category": "open", "probability": 0.1, "order": 1},
    "Proposal": {"category": "open", "probability": 0.6, "order": 2},
    "Closed Won": {"category": "won", "probability": 1.0, "order": 3},
}
DATES = [dt.date(2026, 1, 31), dt.date(2026, 3, 31), dt.date(2026, 6, 30)]


def make_history(seed: int) -> pd.DataFrame:
    """Random entries of ten deals, with ties in time and a missing ID."""
    rng = np.random.default_rng(seed)
    count = 80
    days = rng.integers(0, 200, count)
    frame = pd.DataFrame(
        {
            "opportunity_id": rng.choice([f"o{i}" for i in range(10)], count),
            "stage": rng.choice(list(STAGE_MAP), count),
            "entered_at": pd.Timestamp("2025-12-01", tz="UTC")
            + pd.to_timedelta(days, unit="D"),
        }
    )
    frame.loc[3, "opportunity_id"] = None
    frame["entered_at"] = frame["entered_at"].astype(schema.TIMESTAMP)
    return frame


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_durations_match_each_date(seed):
    history = make_history(seed)
    visits = StageVisits(history)
    for as_of in DATES:
        expected = progression.summarize_stage_durations(
            progression.compute_stage_durations(history, as_of), STAGE_MAP
        )
        assert_frame_equal(
            visits.summarize_durations(as_of, STAGE_MAP), expected, check_exact=True
        )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stage_entries_match_each_date(seed):
    history = make_history(seed)
    visits = StageVisits(history)
    snapshot = pd.DataFrame(
        {
            "opportunity_id": [f"o{i}" for i in range(10)] + ["o99", None],
            "stage_asof": ["Proposal", "Qualification"] * 5 + ["Proposal", "Proposal"],
        }
    )
    snapshot["created_at"] = pd.Timestamp("2025-11-01", tz="UTC")
    for as_of in DATES:
        expected = progression._find_stage_entry(snapshot, history, as_of)
        found = visits.find_stage_entries(snapshot, as_of)
        assert_series_equal(found, expected, check_exact=True, check_names=False)
        assert found.notna().any()
