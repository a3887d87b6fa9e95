"""Tests for the account map, its headline figures and touch activity."""

from __future__ import annotations

import datetime as dt
import logging
import math

import pandas as pd
import pytest

from acctlib import schema
from acctlib.accountmap import (
    compute_account_map,
    compute_headline,
    summarize_touch_activity,
    top_accounts,
)
from acctlib.asof import snapshot_opportunities
from acctlib.engine import connect, write_table

AS_OF = dt.date(2026, 6, 30)

STAGE_MAP = {
    "Discovery": {
        "category": "open",
        "probability": 0.2,
        "forecast_category": "pipeline",
        "order": 1,
    },
    "Proposal": {
        "category": "open",
        "probability": 0.6,
        "forecast_category": "best_case",
        "order": 2,
    },
    "Closed Won": {
        "category": "won",
        "probability": 1.0,
        "forecast_category": "closed",
        "order": 3,
    },
    "Closed Lost": {
        "category": "lost",
        "probability": 0.0,
        "forecast_category": "omitted",
        "order": 4,
    },
}

# With pandas 3.1 and DuckDB 2.0.1, ibis 12 reads the deprecated pandas
# option future.infer_string when it converts frames, and it calls the
# deprecated fetch_arrow_table(). Both warnings come from ibis, not acctlib.
engine_warnings = pytest.mark.filterwarnings(
    "ignore:The 'future.infer_string' option is deprecated",
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning",
)


def make_accounts(
    account_ids: list[str], created_at: str = "2024-01-01"
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "account_id": account_ids,
            "name": [f"Account {account_id}" for account_id in account_ids],
            "created_at": pd.to_datetime([created_at] * len(account_ids), utc=True),
        }
    )
    frame["created_at"] = frame["created_at"].astype(schema.TIMESTAMP)
    return frame


def make_opportunities(rows: list[tuple]) -> pd.DataFrame:
    """Build opportunities from tuples.

    Each tuple is (id, account, stage, amount, created_at, close_date) with
    an optional seventh item, contract_months.
    """
    records = []
    for row in rows:
        opportunity_id, account_id, stage, amount, created_at, close_date = row[:6]
        records.append(
            {
                "opportunity_id": opportunity_id,
                "account_id": account_id,
                "type": "new_business",
                "stage": stage,
                "amount": float(amount),
                "created_at": created_at,
                "close_date": close_date,
                "contract_months": row[6] if len(row) > 6 else None,
            }
        )
    frame = pd.DataFrame(
        records,
        columns=[
            "opportunity_id",
            "account_id",
            "type",
            "stage",
            "amount",
            "created_at",
            "close_date",
            "contract_months",
        ],
    )
    frame["account_id"] = frame["account_id"].astype("str")
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True).astype(
        schema.TIMESTAMP
    )
    frame["close_date"] = pd.to_datetime(frame["close_date"]).astype(schema.DATE)
    frame["amount"] = frame["amount"].astype(float)
    frame["contract_months"] = frame["contract_months"].astype("Int64")
    return frame


def make_revenue(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["account_id", "month", "amount"])
    frame["month"] = pd.to_datetime(frame["month"]).astype(schema.DATE)
    frame["amount"] = frame["amount"].astype(float)
    return frame


def make_touches(rows: list[tuple[str, str, str, str, str]]) -> pd.DataFrame:
    """Build touchpoints from (touch_id, account_id, occurred_at, channel, function)."""
    frame = pd.DataFrame(
        rows, columns=["touch_id", "account_id", "occurred_at", "channel", "function"]
    )
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True).astype(
        schema.TIMESTAMP
    )
    frame["contact_id"] = pd.Series(index=frame.index, dtype="str")
    frame["campaign"] = pd.Series(index=frame.index, dtype="str")
    frame["touch_type"] = "email_open"
    return frame


def build_map(
    accounts: pd.DataFrame,
    opportunities: pd.DataFrame,
    revenue: pd.DataFrame | None = None,
    touch_activity: pd.DataFrame | None = None,
    as_of: dt.date = AS_OF,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    snapshot = snapshot_opportunities(opportunities, None, STAGE_MAP, as_of)
    account_map = compute_account_map(
        accounts, snapshot, touch_activity, revenue, as_of, stage_map=STAGE_MAP
    )
    return account_map, snapshot


def map_row(account_map: pd.DataFrame, account_id: str) -> pd.Series:
    return account_map.set_index("account_id").loc[account_id]


# Status definitions, one case each. The as-of date is 2026-06-30.


def test_status_customer_by_active_contract():
    accounts = make_accounts(["a1"])
    # Won 2025-09-01 for 12 months: active until 2026-09-01.
    opportunities = make_opportunities(
        [("o1", "a1", "Closed Won", 1200, "2025-06-01", "2025-09-01")]
    )

    account_map, _ = build_map(accounts, opportunities)

    assert map_row(account_map, "a1")["status"] == "customer"


def test_status_customer_by_revenue_in_month():
    accounts = make_accounts(["a1"])
    # The contract ended in 2025, but June 2026 has revenue.
    opportunities = make_opportunities(
        [("o1", "a1", "Closed Won", 1200, "2024-01-01", "2024-03-01")]
    )
    revenue = make_revenue([("a1", "2026-06-01", 100.0)])

    account_map, _ = build_map(accounts, opportunities, revenue)

    assert map_row(account_map, "a1")["status"] == "customer"


def test_status_customer_beats_open_opportunity():
    accounts = make_accounts(["a1"])
    opportunities = make_opportunities(
        [
            ("o1", "a1", "Closed Won", 1200, "2025-06-01", "2025-09-01"),
            ("o2", "a1", "Proposal", 500, "2026-05-01", "2026-08-01"),
        ]
    )

    account_map, _ = build_map(accounts, opportunities)

    assert map_row(account_map, "a1")["status"] == "customer"


def test_status_open_opportunity():
    accounts = make_accounts(["a1"])
    opportunities = make_opportunities(
        [
            ("o1", "a1", "Closed Lost", 900, "2025-01-01", "2025-04-01"),
            ("o2", "a1", "Discovery", 500, "2026-05-01", "2026-08-01"),
        ]
    )

    account_map, _ = build_map(accounts, opportunities)

    assert map_row(account_map, "a1")["status"] == "open_opportunity"


def test_status_churned_after_contract_end():
    accounts = make_accounts(["a1"])
    # Won 2025-06-30 for 12 months: the contract ends on 2026-06-30 itself,
    # so it is no longer active on the as-of date.
    opportunities = make_opportunities(
        [("o1", "a1", "Closed Won", 1200, "2025-01-01", "2025-06-30")]
    )

    account_map, _ = build_map(accounts, opportunities)

    assert map_row(account_map, "a1")["status"] == "churned"


def test_status_churned_by_earlier_revenue():
    accounts = make_accounts(["a1"])
    # No deal in the CRM, but the account paid until 2026-03.
    opportunities = make_opportunities([])
    revenue = make_revenue([("a1", "2026-03-01", 100.0)])

    account_map, _ = build_map(accounts, opportunities, revenue)

    assert map_row(account_map, "a1")["status"] == "churned"


def test_status_lost():
    accounts = make_accounts(["a1"])
    opportunities = make_opportunities(
        [("o1", "a1", "Closed Lost", 900, "2025-01-01", "2025-04-01")]
    )

    account_map, _ = build_map(accounts, opportunities)

    assert map_row(account_map, "a1")["status"] == "lost"


def test_status_prospect():
    accounts = make_accounts(["a1"])
    # The only deal was created after the as-of date.
    opportunities = make_opportunities(
        [("o1", "a1", "Closed Won", 900, "2026-07-01", "2026-07-10")]
    )

    account_map, _ = build_map(accounts, opportunities)

    assert map_row(account_map, "a1")["status"] == "prospect"
    assert map_row(account_map, "a1")["won_opportunities"] == 0


def test_account_map_figures_by_hand():
    accounts = make_accounts(["a1"])
    opportunities = make_opportunities(
        [
            # Open: 1,000 over 24 months (ACV 500) and 3,000 over 12 (ACV 3,000).
            ("o1", "a1", "Discovery", 1000, "2026-04-01", "2026-09-01", 24),
            ("o2", "a1", "Proposal", 3000, "2026-05-01", "2026-09-01"),
            # Won 2026-01-15, active, booked in the last 12 months.
            ("o3", "a1", "Closed Won", 1200, "2025-11-01", "2026-01-15"),
            # Won 2024-03-01, expired and outside the 12 months.
            ("o4", "a1", "Closed Won", 600, "2024-01-01", "2024-03-01"),
            # Lost: counts nowhere in the amounts.
            ("o5", "a1", "Closed Lost", 5000, "2025-01-01", "2025-02-01"),
        ]
    )
    revenue = make_revenue(
        [
            ("a1", "2025-06-01", 500.0),  # before the 12-month window
            ("a1", "2025-07-01", 100.0),  # first month of the window
            ("a1", "2026-06-01", 100.0),  # the as-of month
            ("a1", "2026-07-01", 999.0),  # after the as-of date
        ]
    )

    account_map, _ = build_map(accounts, opportunities, revenue)
    row = map_row(account_map, "a1")

    assert row["status"] == "customer"
    assert row["open_opportunities"] == 2
    assert row["open_pipeline"] == 4000.0  # 1,000 + 3,000
    assert row["open_acv"] == 3500.0  # 500 + 3,000
    assert row["most_advanced_stage"] == "Proposal"
    assert row["won_opportunities"] == 2
    assert row["won_acv"] == 1200.0  # only o3 is active
    assert row["tcv"] == 1800.0  # 1,200 + 600
    assert row["bookings_12m"] == 1200.0  # o3 only
    assert row["lifetime_revenue"] == 700.0  # 500 + 100 + 100
    assert row["revenue_12m"] == 200.0  # 2025-07 and 2026-06
    assert row["first_opportunity_at"] == pd.Timestamp("2024-01-01", tz="UTC")
    assert row["value"] == 4700.0  # 1,200 + 3,500


def test_missing_amounts_stay_missing():
    """An account whose deals all lack an amount has missing sums, not 0."""
    nan = float("nan")
    accounts = make_accounts(["a1", "a2", "a3", "a4"])
    opportunities = make_opportunities(
        [
            # a1: its only open deal has no amount.
            ("o1", "a1", "Proposal", nan, "2026-04-01", "2026-09-01"),
            # a2: one open amount known, one missing; an active won deal
            # without an amount.
            ("o2", "a2", "Proposal", 3000, "2026-04-01", "2026-09-01"),
            ("o3", "a2", "Discovery", nan, "2026-05-01", "2026-09-01"),
            ("o4", "a2", "Closed Won", nan, "2025-11-01", "2026-01-15"),
            # a3: a won deal without an amount, nothing open.
            ("o5", "a3", "Closed Won", nan, "2025-11-01", "2026-01-15"),
            # a4: a lost deal only, so every sum is a true 0.
            ("o6", "a4", "Closed Lost", nan, "2025-01-01", "2025-02-01"),
        ]
    )

    account_map, _ = build_map(accounts, opportunities)
    a1 = map_row(account_map, "a1")
    a2 = map_row(account_map, "a2")
    a3 = map_row(account_map, "a3")
    a4 = map_row(account_map, "a4")

    assert a1["open_opportunities"] == 1
    assert math.isnan(a1["open_pipeline"])
    assert math.isnan(a1["open_acv"])
    assert math.isnan(a1["value"])
    assert a1["won_acv"] == 0.0
    assert a1["tcv"] == 0.0
    assert a2["open_pipeline"] == 3000.0
    assert a2["open_acv"] == 3000.0
    assert math.isnan(a2["won_acv"])
    assert math.isnan(a2["tcv"])
    assert math.isnan(a2["bookings_12m"])
    assert a2["value"] == 3000.0
    assert a3["open_pipeline"] == 0.0
    assert math.isnan(a3["won_acv"])
    assert math.isnan(a3["value"])
    assert a4["open_pipeline"] == 0.0
    assert a4["won_acv"] == 0.0
    assert a4["value"] == 0.0


def test_top_accounts_rank_missing_value_last():
    nan = float("nan")
    accounts = make_accounts(["a1", "a2"])
    opportunities = make_opportunities(
        [
            ("o1", "a1", "Proposal", nan, "2026-04-01", "2026-09-01"),
            ("o2", "a2", "Proposal", 10, "2026-04-01", "2026-09-01"),
        ]
    )
    account_map, _ = build_map(accounts, opportunities)

    assert list(top_accounts(account_map, 2)["account_id"]) == ["a2", "a1"]


def test_account_map_without_revenue_uses_tcv():
    accounts = make_accounts(["a1"])
    opportunities = make_opportunities(
        [("o1", "a1", "Closed Won", 1200, "2025-06-01", "2025-09-01")]
    )

    for revenue in (None, make_revenue([])):
        account_map, _ = build_map(accounts, opportunities, revenue)
        row = map_row(account_map, "a1")

        assert row["lifetime_revenue"] == 1200.0
        assert math.isnan(row["revenue_12m"])


def test_account_map_bookings_window_bounds():
    accounts = make_accounts(["a1"])
    opportunities = make_opportunities(
        [
            # Exactly 12 months before as_of: outside (as_of - 12 months, as_of].
            ("o1", "a1", "Closed Won", 100, "2025-01-01", "2025-06-30"),
            # One day later: inside.
            ("o2", "a1", "Closed Won", 10, "2025-01-01", "2025-07-01"),
            # On the as-of date: inside.
            ("o3", "a1", "Closed Won", 1, "2025-01-01", "2026-06-30"),
        ]
    )

    account_map, _ = build_map(accounts, opportunities)

    assert map_row(account_map, "a1")["bookings_12m"] == 11.0


def test_account_map_columns_and_order():
    accounts = make_accounts(["a3", "a1", "a2"])
    opportunities = make_opportunities(
        [("o1", "a2", "Discovery", 100, "2026-01-01", "2026-08-01")]
    )

    account_map, _ = build_map(accounts, opportunities)

    assert list(account_map.columns) == list(schema.ACCOUNT_MAP_COLUMNS)
    assert account_map["account_id"].tolist() == ["a1", "a2", "a3"]


def test_account_map_excludes_accounts_created_later():
    accounts = pd.concat(
        [make_accounts(["a1"]), make_accounts(["a2"], created_at="2026-07-01")],
        ignore_index=True,
    )
    opportunities = make_opportunities([])

    account_map, _ = build_map(accounts, opportunities)

    assert account_map["account_id"].tolist() == ["a1"]


def test_account_map_no_account_row_ties_totals(caplog):
    accounts = pd.concat(
        [make_accounts(["a1"]), make_accounts(["a9"], created_at="2026-07-01")],
        ignore_index=True,
    )
    opportunities = make_opportunities(
        [
            ("o1", "a1", "Proposal", 1000, "2026-01-01", "2026-08-01"),
            # No account: 700 open and 300 won in June.
            ("o2", None, "Proposal", 700, "2026-01-01", "2026-08-01"),
            ("o3", None, "Closed Won", 300, "2026-01-01", "2026-06-10"),
            # Account created after as_of: its deal also falls to No account.
            ("o4", "a9", "Discovery", 50, "2026-01-01", "2026-08-01"),
        ]
    )

    with caplog.at_level(logging.WARNING, logger="acctlib.accountmap"):
        account_map, snapshot = build_map(accounts, opportunities)

    assert account_map["account_id"].tolist() == ["a1", schema.NO_ACCOUNT]
    no_account = map_row(account_map, schema.NO_ACCOUNT)
    assert no_account["name"] == schema.NO_ACCOUNT
    assert pd.isna(no_account["status"])
    assert no_account["open_pipeline"] == 750.0  # 700 + 50
    assert no_account["bookings_12m"] == 300.0
    open_total = snapshot.loc[snapshot["is_open"], "amount"].sum()
    assert account_map["open_pipeline"].sum() == open_total  # 1,750
    assert account_map["bookings_12m"].sum() == 300.0
    assert "1 opportunities belong to 1 accounts that are missing" in caplog.text
    assert "(a9)" in caplog.text


def test_unknown_account_warning_names_date(caplog):
    accounts = pd.concat(
        [make_accounts(["a1"]), make_accounts(["a9"], created_at="2026-04-02")],
        ignore_index=True,
    )
    opportunities = make_opportunities(
        [("o1", "a9", "Discovery", 50, "2025-12-03", "2026-08-01")]
    )
    month_end = dt.date(2026, 3, 31)

    with caplog.at_level(logging.WARNING, logger="acctlib.accountmap"):
        account_map, _ = build_map(accounts, opportunities, as_of=month_end)

    assert map_row(account_map, schema.NO_ACCOUNT)["open_pipeline"] == 50.0
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert message.startswith("On 2026-03-31, 1 opportunities")
    assert "(a9)" in message
    assert "as-of date" not in message


def test_account_map_no_orphans():
    accounts = make_accounts(["a1"])
    opportunities = make_opportunities(
        [("o1", "a1", "Proposal", 1000, "2026-01-01", "2026-08-01")]
    )

    account_map, _ = build_map(accounts, opportunities)

    assert schema.NO_ACCOUNT not in account_map["account_id"].tolist()


def test_account_map_joins_touch_activity():
    accounts = make_accounts(["a1", "a2"])
    opportunities = make_opportunities([])
    touch_activity = pd.DataFrame(
        {
            "account_id": ["a1"],
            "first_touch_at": pd.to_datetime(["2026-01-01T00:00:00Z"]),
            "last_touch_at": pd.to_datetime(["2026-06-01T00:00:00Z"]),
            "touches_90d": [4],
            "marketing_touches_90d": [2],
            "marketing_channels_90d": [1],
            "marketing_sourced": [True],
        }
    )

    account_map, _ = build_map(accounts, opportunities, touch_activity=touch_activity)

    assert map_row(account_map, "a1")["touches_90d"] == 4
    assert bool(map_row(account_map, "a1")["marketing_sourced"])
    assert map_row(account_map, "a2")["touches_90d"] == 0
    assert not bool(map_row(account_map, "a2")["marketing_sourced"])
    assert pd.isna(map_row(account_map, "a2")["first_touch_at"])


def test_touches_missing_without_touchpoints():
    accounts = make_accounts(["a1", "a2"])
    opportunities = make_opportunities(
        [("o1", "a1", "Proposal", 1000, "2026-01-01", "2026-08-01")]
    )

    # No touch activity: the source has no touchpoints table.
    account_map, _ = build_map(accounts, opportunities)

    for column in ("touches_90d", "marketing_touches_90d", "marketing_channels_90d"):
        assert account_map[column].dtype == "Int64", column
        assert account_map[column].isna().all(), column
    assert account_map["marketing_sourced"].dtype == "boolean"
    assert account_map["marketing_sourced"].isna().all()
    assert account_map["first_touch_at"].isna().all()
    assert map_row(account_map, "a1")["open_pipeline"] == 1000.0


def test_account_map_leaves_inputs_unchanged():
    accounts = make_accounts(["a1"])
    opportunities = make_opportunities(
        [("o1", None, "Proposal", 1000, "2026-01-01", "2026-08-01")]
    )
    snapshot = snapshot_opportunities(opportunities, None, STAGE_MAP, AS_OF)
    accounts_before = accounts.copy()
    snapshot_before = snapshot.copy()

    compute_account_map(accounts, snapshot, None, None, AS_OF, stage_map=STAGE_MAP)

    pd.testing.assert_frame_equal(accounts, accounts_before)
    pd.testing.assert_frame_equal(snapshot, snapshot_before)


def test_headline_figures_by_hand():
    accounts = make_accounts(["a1", "a2", "a3"])
    opportunities = make_opportunities(
        [
            # a1: customer, won 1,200 on 2026-01-15 and 0.1 + 0.2 in June.
            ("o1", "a1", "Closed Won", 1200, "2025-11-01", "2026-01-15"),
            ("o2", "a1", "Closed Won", 0.1, "2026-06-01", "2026-06-02"),
            ("o3", "a1", "Closed Won", 0.2, "2026-06-01", "2026-06-30"),
            # a2: open, 500 + 250.
            ("o4", "a2", "Discovery", 500, "2026-05-01", "2026-09-01"),
            ("o5", "a2", "Proposal", 250, "2026-05-01", "2026-09-01"),
            # Won in 2025: neither in the month nor in the year to date.
            ("o6", "a1", "Closed Won", 999, "2025-01-01", "2025-12-31"),
            # No account: 100 open.
            ("o7", None, "Discovery", 100, "2026-05-01", "2026-09-01"),
        ]
    )

    account_map, snapshot = build_map(accounts, opportunities)
    headline = compute_headline(account_map, snapshot, None, AS_OF)

    assert headline["accounts_by_status"] == {
        "customer": 1,
        "open_opportunity": 1,
        "churned": 0,
        "lost": 0,
        "prospect": 1,
    }
    assert headline["open_pipeline"] == 850.0  # 500 + 250 + 100
    assert headline["open_opportunities"] == 3
    assert headline["bookings_month"] == 0.3  # 0.1 + 0.2, rounded to cents
    assert headline["bookings_ytd"] == 1200.3
    assert headline["revenue_12m"] is None
    assert headline["revenue_12m_missing_reason"] == "No revenue table in the source"
    assert headline["customers"] == 1
    # Active contracts: 1,200 + 0.1 + 0.2 + 999 (closed 2025-12-31).
    assert headline["won_acv"] == 2199.3
    assert type(headline["open_pipeline"]) is float
    assert type(headline["open_opportunities"]) is int
    assert type(headline["accounts_by_status"]["customer"]) is int


def test_headline_revenue_12m_with_revenue():
    accounts = make_accounts(["a1"])
    opportunities = make_opportunities([])
    revenue = make_revenue(
        [
            ("a1", "2025-06-01", 1000.0),  # 13th month back: outside
            ("a1", "2025-07-01", 10.0),
            ("a1", "2026-06-01", 1.25),
            ("zz", "2026-06-01", 5.0),  # account not in the map still counts
        ]
    )

    account_map, snapshot = build_map(accounts, opportunities, revenue)
    headline = compute_headline(account_map, snapshot, revenue, AS_OF)

    assert headline["revenue_12m"] == 16.25  # 10 + 1.25 + 5
    assert headline["revenue_12m_missing_reason"] == ""


def test_revenue_12m_mid_month_complete_months():
    """Before a month's last day, the window is the 12 months that ended."""
    accounts = make_accounts(["a1"])
    opportunities = make_opportunities([])
    revenue = make_revenue(
        [
            ("a1", "2025-05-01", 1000.0),  # 13th complete month back: outside
            ("a1", "2025-06-01", 10.0),  # first month of the window
            ("a1", "2026-05-01", 1.25),  # last complete month
            ("a1", "2026-06-01", 500.0),  # the as-of month, not ended yet
        ]
    )
    as_of = dt.date(2026, 6, 15)

    account_map, snapshot = build_map(accounts, opportunities, revenue, as_of=as_of)
    headline = compute_headline(account_map, snapshot, revenue, as_of)

    assert headline["revenue_12m"] == 11.25
    assert map_row(account_map, "a1")["revenue_12m"] == 11.25


def test_revenue_12m_month_end_counts_month():
    """On a month's last day the month has ended, so its revenue counts."""
    accounts = make_accounts(["a1"])
    opportunities = make_opportunities([])
    revenue = make_revenue([("a1", "2026-05-01", 1.25), ("a1", "2026-06-01", 500.0)])

    account_map, snapshot = build_map(accounts, opportunities, revenue)
    headline = compute_headline(account_map, snapshot, revenue, AS_OF)

    assert headline["revenue_12m"] == 501.25
    assert map_row(account_map, "a1")["revenue_12m"] == 501.25


def test_headline_revenue_12m_with_empty_revenue():
    accounts = make_accounts(["a1"])
    opportunities = make_opportunities([])
    revenue = make_revenue([])

    account_map, snapshot = build_map(accounts, opportunities, revenue)
    headline = compute_headline(account_map, snapshot, revenue, AS_OF)

    assert headline["revenue_12m"] is None
    assert headline["revenue_12m_missing_reason"] == "Revenue table is empty"


def test_top_accounts_breaks_ties_by_account_id():
    account_map = pd.DataFrame(
        {
            "account_id": ["a3", "a1", schema.NO_ACCOUNT, "a2", "a4"],
            "value": [50.0, 100.0, 500.0, 100.0, 0.0],
        }
    )

    top = top_accounts(account_map, 3)

    assert top["account_id"].tolist() == ["a1", "a2", "a3"]


def test_top_accounts_n_above_count():
    account_map = pd.DataFrame({"account_id": ["a1", "a2"], "value": [1.0, 2.0]})

    top = top_accounts(account_map, 10)

    assert top["account_id"].tolist() == ["a2", "a1"]


@engine_warnings
def test_touch_activity_through_duckdb():
    touches = make_touches(
        [
            # a1: window is [2026-04-02T00:00Z, 2026-07-01T00:00Z).
            ("t01", "a1", "2026-04-01T23:59:59Z", "webinar", "marketing"),
            ("t02", "a1", "2026-04-02T00:00:00Z", "webinar", "marketing"),
            ("t03", "a1", "2026-05-10T00:00:00Z", "webinar", "marketing"),
            ("t04", "a1", "2026-06-01T00:00:00Z", "paid_search", "marketing"),
            ("t05", "a1", "2026-06-30T23:59:59Z", "call", "sdr"),
            ("t06", "a1", "2026-07-01T00:00:00Z", "webinar", "marketing"),
            # a2: marketing touch 10 days before the first deal.
            ("t07", "a2", "2026-02-19T12:00:00Z", "webinar", "marketing"),
            # a3: the sdr touch is the latest before the first deal.
            ("t08", "a3", "2026-02-01T00:00:00Z", "webinar", "marketing"),
            ("t09", "a3", "2026-02-20T00:00:00Z", "call", "sdr"),
            # a4: marketing touch 181 days before the first deal.
            ("t10", "a4", "2025-09-01T12:00:00Z", "webinar", "marketing"),
            # a5: two touches at the same instant, and the higher touch_id wins.
            ("t11", "a5", "2026-02-28T00:00:00Z", "webinar", "marketing"),
            ("t12", "a5", "2026-02-28T00:00:00Z", "call", "sdr"),
            # a6: a marketing touch at the creation instant counts.
            ("t13", "a6", "2026-03-01T12:00:00Z", "webinar", "marketing"),
        ]
    )
    opportunities = make_opportunities(
        [
            ("o2", "a2", "Discovery", 1, "2026-03-01T12:00:00Z", "2026-09-01"),
            ("o3", "a3", "Discovery", 1, "2026-03-01T12:00:00Z", "2026-09-01"),
            ("o4", "a4", "Discovery", 1, "2026-03-01T12:00:00Z", "2026-09-01"),
            ("o5", "a5", "Discovery", 1, "2026-03-01T12:00:00Z", "2026-09-01"),
            ("o6", "a6", "Discovery", 1, "2026-03-01T12:00:00Z", "2026-09-01"),
            # a6's later deal does not affect marketing_sourced.
            ("o7", "a6", "Discovery", 1, "2026-05-01T00:00:00Z", "2026-09-01"),
            # a7 has a deal but no touches.
            ("o8", "a7", "Discovery", 1, "2026-03-01T12:00:00Z", "2026-09-01"),
        ]
    )
    snapshot = snapshot_opportunities(opportunities, None, STAGE_MAP, AS_OF)
    con = connect()
    write_table(con, "touchpoints", touches)

    activity = summarize_touch_activity(con.table("touchpoints"), snapshot, AS_OF)
    rows = activity.set_index("account_id")

    assert rows.index.tolist() == ["a1", "a2", "a3", "a4", "a5", "a6", "a7"]
    assert rows.loc["a1", "first_touch_at"] == pd.Timestamp("2026-04-01T23:59:59Z")
    assert rows.loc["a1", "last_touch_at"] == pd.Timestamp("2026-06-30T23:59:59Z")
    assert rows.loc["a1", "touches_90d"] == 4  # t02 to t05
    assert rows.loc["a1", "marketing_touches_90d"] == 3  # t02, t03, t04
    assert rows.loc["a1", "marketing_channels_90d"] == 2  # webinar, paid_search
    assert not rows.loc["a1", "marketing_sourced"]  # a1 has no deal
    assert rows.loc["a2", "marketing_sourced"]
    assert not rows.loc["a3", "marketing_sourced"]
    assert not rows.loc["a4", "marketing_sourced"]
    assert not rows.loc["a5", "marketing_sourced"]
    assert rows.loc["a6", "marketing_sourced"]
    assert rows.loc["a7", "touches_90d"] == 0
    assert pd.isna(rows.loc["a7", "first_touch_at"])
    assert not rows.loc["a7", "marketing_sourced"]
    assert activity["touches_90d"].dtype == "int64"
    assert activity["marketing_sourced"].dtype == bool
    assert activity["first_touch_at"].dtype == schema.TIMESTAMP


@engine_warnings
def test_account_map_empty_tables():
    snapshot = snapshot_opportunities(
        schema.empty_frame("opportunities"), None, STAGE_MAP, AS_OF
    )
    con = connect()
    write_table(con, "touchpoints", schema.empty_frame("touchpoints"))

    activity = summarize_touch_activity(con.table("touchpoints"), snapshot, AS_OF)
    account_map = compute_account_map(
        schema.empty_frame("accounts"),
        snapshot,
        activity,
        schema.empty_frame("revenue"),
        AS_OF,
        stage_map=STAGE_MAP,
    )
    headline = compute_headline(account_map, snapshot, None, AS_OF)

    assert activity.empty
    assert account_map.empty
    assert list(account_map.columns) == list(schema.ACCOUNT_MAP_COLUMNS)
    assert headline["accounts_by_status"]["prospect"] == 0
    assert headline["open_pipeline"] == 0.0


@engine_warnings
def test_touch_activity_custom_windows():
    touches = make_touches(
        [
            ("t1", "a1", "2026-06-25T00:00:00Z", "webinar", "marketing"),
            ("t2", "a1", "2026-06-10T00:00:00Z", "webinar", "marketing"),
        ]
    )
    # Created 20 days after t2 and 5 days after t1.
    opportunities = make_opportunities(
        [("o1", "a1", "Discovery", 1, "2026-06-30T00:00:00Z", "2026-09-01")]
    )
    snapshot = snapshot_opportunities(opportunities, None, STAGE_MAP, AS_OF)
    con = connect()
    write_table(con, "touchpoints", touches)

    activity = summarize_touch_activity(
        con.table("touchpoints"), snapshot, AS_OF, window_days=7, lookback_days=3
    )

    # A 7-day window keeps t1 only. A 3-day lookback reaches no touch.
    assert activity.loc[0, "touches_90d"] == 1
    assert not activity.loc[0, "marketing_sourced"]


@engine_warnings
def test_touch_activity_session_time_zone():
    as_of = dt.date(2026, 3, 31)
    # New York moves to daylight saving time on 2026-03-08, between the
    # bounds below, so day arithmetic in that zone would shift them an hour.
    touches = make_touches(
        [
            # a1: the window starts at 2026-04-01T00:00Z - 90 days, which is
            # exactly 2026-01-01T00:00Z.
            ("t1", "a1", "2026-01-01T00:00:00Z", "call", "sdr"),
            # a2: the lookback starts at 2026-03-31T23:00Z - 90 days, which
            # is 2025-12-31T23:00Z, so this touch sources the deal.
            ("t2", "a2", "2025-12-31T23:30:00Z", "webinar", "marketing"),
        ]
    )
    opportunities = make_opportunities(
        [("o1", "a2", "Discovery", 1, "2026-03-31T23:00:00Z", "2026-09-01")]
    )
    snapshot = snapshot_opportunities(opportunities, None, STAGE_MAP, as_of)
    con = connect()
    con.raw_sql("SET TimeZone = 'America/New_York'")
    write_table(con, "touchpoints", touches)

    activity = summarize_touch_activity(
        con.table("touchpoints"), snapshot, as_of, window_days=90, lookback_days=90
    )
    rows = activity.set_index("account_id")

    assert rows.loc["a1", "touches_90d"] == 1
    assert rows.loc["a2", "touches_90d"] == 0
    assert rows.loc["a2", "marketing_sourced"]


@engine_warnings
def test_account_map_ignores_records_after_as_of():
    accounts = make_accounts(["a1", "a2", "a3", "a4"])
    opportunities = make_opportunities(
        [
            ("o1", "a1", "Closed Won", 1200, "2025-06-01", "2025-09-01"),
            ("o2", "a2", "Proposal", 800, "2026-03-01", "2026-08-01", 24),
            ("o3", "a3", "Closed Lost", 400, "2025-01-01", "2025-03-01"),
            ("o4", None, "Discovery", 100, "2026-04-01", "2026-09-01"),
        ]
    )
    history = pd.DataFrame(
        {
            "opportunity_id": ["o2", "o2"],
            "stage": ["Discovery", "Proposal"],
            "entered_at": pd.to_datetime(
                ["2026-03-01T00:00:00Z", "2026-05-01T00:00:00Z"], utc=True
            ),
        }
    )
    touches = make_touches(
        [
            ("t1", "a1", "2025-05-20T00:00:00Z", "webinar", "marketing"),
            ("t2", "a2", "2026-06-01T00:00:00Z", "call", "sdr"),
        ]
    )
    revenue = make_revenue([("a1", "2026-05-01", 100.0), ("a1", "2026-06-01", 100.0)])

    # Records dated after 2026-06-30: a new account with a won deal, a deal
    # on a4, o2 moving to Closed Won, touches and a revenue month.
    later_accounts = pd.concat(
        [accounts, make_accounts(["a5"], created_at="2026-07-02")], ignore_index=True
    )
    later_opportunities = pd.concat(
        [
            opportunities,
            make_opportunities(
                [
                    ("o5", "a5", "Closed Won", 5000, "2026-07-02", "2026-07-03"),
                    ("o6", "a4", "Discovery", 300, "2026-07-01", "2026-10-01"),
                    ("o7", None, "Proposal", 70, "2026-07-05", "2026-10-01"),
                ]
            ),
        ],
        ignore_index=True,
    )
    later_opportunities.loc[later_opportunities["opportunity_id"] == "o2", "stage"] = (
        "Closed Won"
    )
    later_history = pd.concat(
        [
            history,
            pd.DataFrame(
                {
                    "opportunity_id": ["o2"],
                    "stage": ["Closed Won"],
                    "entered_at": pd.to_datetime(["2026-07-01T00:00:00Z"], utc=True),
                }
            ),
        ],
        ignore_index=True,
    )
    later_touches = pd.concat(
        [
            touches,
            make_touches(
                [
                    ("t3", "a4", "2026-07-01T00:00:00Z", "webinar", "marketing"),
                    ("t4", "a2", "2026-07-15T00:00:00Z", "webinar", "marketing"),
                ]
            ),
        ],
        ignore_index=True,
    )
    later_revenue = pd.concat(
        [revenue, make_revenue([("a1", "2026-07-01", 100.0)])], ignore_index=True
    )

    def run(accounts, opportunities, history, touches, revenue):
        snapshot = snapshot_opportunities(opportunities, history, STAGE_MAP, AS_OF)
        con = connect()
        write_table(con, "touchpoints", touches)
        activity = summarize_touch_activity(con.table("touchpoints"), snapshot, AS_OF)
        account_map = compute_account_map(
            accounts, snapshot, activity, revenue, AS_OF, stage_map=STAGE_MAP
        )
        headline = compute_headline(account_map, snapshot, revenue, AS_OF)
        return activity, account_map, headline

    before = run(accounts, opportunities, history, touches, revenue)
    after = run(
        later_accounts, later_opportunities, later_history, later_touches, later_revenue
    )

    pd.testing.assert_frame_equal(after[0], before[0])
    pd.testing.assert_frame_equal(after[1], before[1])
    assert after[2] == before[2]
