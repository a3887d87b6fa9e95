"""Tier transitions, movers, shares and threshold sensitivity."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from acctlib import tiering, tiermovement

AS_OF = dt.date(2026, 6, 30)
RULES = tiering.parse_tier_rules(
    {
        "tier_1": {"match": "all", "value": 75, "fit": 60},
        "tier_2": {"match": "all", "value": 50, "fit": 40},
        "tier_3": {"match": "any", "fit": 60, "engagement": 50},
    }
)


def history_frame(rows: list[tuple]) -> pd.DataFrame:
    """Tier history rows: month_end, account_id, tier, fit, value, engagement."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "month_end",
            "account_id",
            "tier",
            "fit_score",
            "value_score",
            "engagement_score",
        ],
    )
    frame["month_end"] = pd.to_datetime(frame["month_end"])
    frame["name"] = "Name " + frame["account_id"]
    return frame


def make_history() -> pd.DataFrame:
    """Tiers of A, B and C a year ago, last month and now (C is new)."""
    return history_frame(
        [
            ("2025-06-30", "A", 3, 70, 40, 20),
            ("2026-05-31", "A", 2, 70, 55, 20),
            ("2026-06-30", "A", 1, 70, 80, 25),
            ("2025-06-30", "B", 1, 90, 90, 60),
            ("2026-05-31", "B", 1, 90, 90, 60),
            ("2026-06-30", "B", 4, 30, 10, 10),
            ("2026-06-30", "C", 3, 65, 0, 0),
        ]
    )


def test_transitions_month_and_year():
    transitions = tiermovement.compute_transitions(make_history(), AS_OF)
    moved = transitions[transitions["accounts"] > 0]
    month = moved[moved["period"] == "month"]
    pairs = set(
        zip(month["from_tier"], month["to_tier"], month["accounts"], strict=True)
    )
    assert pairs == {(2, 1, 1), (1, 4, 1), (tiermovement.NEW, 3, 1)}
    year = moved[moved["period"] == "year"]
    pairs = set(zip(year["from_tier"], year["to_tier"], year["accounts"], strict=True))
    assert pairs == {(3, 1, 1), (1, 4, 1), (tiermovement.NEW, 3, 1)}
    assert len(transitions) == 2 * 5 * 4


def test_movers_name_the_score():
    movers = tiermovement.find_tier_movers(make_history(), AS_OF).set_index(
        "account_id"
    )
    assert sorted(movers.index) == ["A", "B"]
    assert movers.loc["A", "direction"] == "up"
    assert movers.loc["A", "moved_by"] == "value"
    assert movers.loc["A", "value_change"] == 25
    assert movers.loc["B", "direction"] == "down"
    assert movers.loc["B", "moved_by"] == "value"


def test_movers_name_a_score_of_the_rule():
    """Engagement rose most, but the Tier 1 rule reads only value and fit."""
    history = history_frame(
        [
            ("2026-05-31", "D", 2, 60, 70, 20),
            ("2026-06-30", "D", 1, 61, 76, 50),
        ]
    )

    without_rules = tiermovement.find_tier_movers(history, AS_OF)
    with_rules = tiermovement.find_tier_movers(history, AS_OF, RULES)

    assert without_rules.loc[0, "moved_by"] == "engagement"
    assert with_rules.loc[0, "moved_by"] == "value"


def test_movers_without_history_are_empty():
    history = make_history()
    latest = history[history["month_end"] == pd.Timestamp(AS_OF)]
    assert tiermovement.find_tier_movers(latest, AS_OF).empty


def test_threshold_sensitivity_recounts():
    scores = pd.DataFrame(
        {
            "value_score": [80.0, 70.0, 10.0],
            "fit_score": [65.0, 65.0, 10.0],
            "engagement_score": [0.0, 0.0, 52.0],
        }
    )
    table = tiermovement.compute_threshold_sensitivity(scores, RULES).set_index(
        ["threshold", "change"]
    )
    base = table.loc[("unchanged", 0.0)]
    assert [base[f"tier_{n}"] for n in (1, 2, 3, 4)] == [1, 1, 1, 0]
    # Tier 1's value threshold 75 lowered by 10% to 67.5 lifts the 70.
    lowered = table.loc[("tier_1.value", -0.1)]
    assert lowered["value"] == pytest.approx(67.5)
    assert lowered["tier_1"] == 2
    assert lowered["accounts_moved"] == 1
    # Tier 3's engagement threshold 50 raised by 10% to 55 drops the 52.
    raised = table.loc[("tier_3.engagement", 0.1)]
    assert raised["tier_4"] == 1
    assert len(table) == 1 + 2 * 6


def test_tier_shares_sum_to_one():
    tiers = pd.DataFrame({"account_id": ["A", "B", "C"], "tier": [1, 1, 4]})
    account_map = pd.DataFrame(
        {
            "account_id": ["A", "B", "C"],
            "open_pipeline": [100.0, 0.0, 100.0],
            "bookings_12m": [50.0, 50.0, 0.0],
            "revenue_12m": [10.0, 30.0, 0.0],
            "won_acv": [0.0, 0.0, 0.0],
        }
    )
    opportunities = pd.DataFrame(
        {
            "account_id": ["A", "C"],
            "is_open": [False, False],
            "is_won": [True, False],
            "closed_on": pd.to_datetime(["2026-05-01", "2026-05-01"]),
            "days_open": [40.0, 20.0],
        }
    )
    shares = tiermovement.summarize_tier_shares(
        tiers, account_map, opportunities, AS_OF
    ).set_index("tier")
    assert shares.loc[1, "accounts_share"] == pytest.approx(2 / 3)
    assert shares.loc[1, "open_pipeline_share"] == pytest.approx(0.5)
    assert shares.loc[1, "revenue_share"] == pytest.approx(1.0)
    assert shares.loc[1, "win_rate"] == pytest.approx(1.0)
    assert shares.loc[4, "win_rate"] == pytest.approx(0.0)
    assert shares.loc[1, "cycle_days"] == pytest.approx(40.0)
    assert shares.loc[2, "accounts"] == 0


def test_tier_shares_without_revenue():
    tiers = pd.DataFrame({"account_id": ["A", "B"], "tier": [1, 4]})
    account_map = pd.DataFrame(
        {
            "account_id": ["A", "B"],
            "open_pipeline": [100.0, 0.0],
            "bookings_12m": [50.0, 150.0],
            "revenue_12m": [np.nan, np.nan],
            "won_acv": [50.0, 150.0],
        }
    )
    opportunities = pd.DataFrame(
        {
            "account_id": pd.Series([], dtype=str),
            "is_open": pd.Series([], dtype=bool),
            "is_won": pd.Series([], dtype=bool),
            "closed_on": pd.Series([], dtype="datetime64[ns]"),
            "days_open": pd.Series([], dtype=float),
        }
    )
    shares = tiermovement.summarize_tier_shares(
        tiers, account_map, opportunities, AS_OF
    ).set_index("tier")
    assert shares["revenue"].isna().all()
    assert shares["revenue_share"].isna().all()
    assert shares.loc[4, "bookings_12m_share"] == pytest.approx(0.75)
