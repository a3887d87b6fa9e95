"""Tests for the as-of snapshot of opportunities and the as-of filters."""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd
import pytest

from acctlib import schema
from acctlib.asof import (
    SNAPSHOT_COLUMNS,
    OpportunityHistory,
    as_of_cutoff,
    filter_revenue,
    filter_touchpoints,
    map_values,
    snapshot_opportunities,
)
from acctlib.errors import InputError, ParameterError

AS_OF = dt.date(2026, 6, 30)

# Proposal is listed first on purpose: the first open stage is the one with
# the lowest order, not the first key of the mapping.
STAGE_MAP = {
    "Proposal": {
        "category": "open",
        "probability": 0.6,
        "forecast_category": "best_case",
        "order": 2,
    },
    "Discovery": {
        "category": "open",
        "probability": 0.2,
        "forecast_category": "pipeline",
        "order": 1,
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


def make_opportunities(rows: list[dict]) -> pd.DataFrame:
    """Build a typed opportunities frame; rows give at least id, stage, dates."""
    defaults = {"account_id": "a1", "type": "new_business", "amount": 1200.0}
    frame = pd.DataFrame([{**defaults, **row} for row in rows])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True).astype(
        schema.TIMESTAMP
    )
    frame["close_date"] = pd.to_datetime(frame["close_date"]).astype(schema.DATE)
    frame["amount"] = frame["amount"].astype(float)
    if "contract_months" in frame.columns:
        frame["contract_months"] = frame["contract_months"].astype("Int64")
    return frame


def make_history(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Build a stage history frame from (opportunity_id, stage, entered_at)."""
    frame = pd.DataFrame(rows, columns=["opportunity_id", "stage", "entered_at"])
    frame["entered_at"] = pd.to_datetime(frame["entered_at"], utc=True).astype(
        schema.TIMESTAMP
    )
    return frame


def snapshot_row(snapshot: pd.DataFrame, opportunity_id: str) -> pd.Series:
    return snapshot.set_index("opportunity_id").loc[opportunity_id]


def test_as_of_cutoff_is_next_midnight_utc():
    assert as_of_cutoff(AS_OF) == pd.Timestamp("2026-07-01T00:00:00Z")


def test_as_of_cutoff_rejects_datetime():
    with pytest.raises(TypeError, match="as_of must be a datetime.date"):
        as_of_cutoff(dt.datetime(2026, 6, 30, 12))


def test_snapshot_created_at_cutoff():
    opportunities = make_opportunities(
        [
            # Last second of the as-of day: known.
            {
                "opportunity_id": "o1",
                "stage": "Discovery",
                "created_at": "2026-06-30T23:59:59Z",
                "close_date": "2026-09-30",
            },
            # First instant of the next day: not known yet.
            {
                "opportunity_id": "o2",
                "stage": "Discovery",
                "created_at": "2026-07-01T00:00:00Z",
                "close_date": "2026-09-30",
            },
        ]
    )

    snapshot = snapshot_opportunities(opportunities, None, STAGE_MAP, AS_OF)

    assert snapshot["opportunity_id"].tolist() == ["o1"]


def test_snapshot_column_order():
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Discovery",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-09-30",
            }
        ]
    )

    snapshot = snapshot_opportunities(opportunities, None, STAGE_MAP, AS_OF)

    expected = schema.OPPORTUNITIES.column_names + list(SNAPSHOT_COLUMNS)
    assert list(snapshot.columns) == expected


def test_snapshot_stage_from_history():
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Closed Won",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-07-15",
            }
        ]
    )
    history = make_history(
        [
            ("o1", "Discovery", "2026-01-01T00:00:00Z"),
            # Entered in the last hour of the as-of day: this is the stage.
            ("o1", "Proposal", "2026-06-30T23:00:00Z"),
            # Entered at the cutoff itself: not known on the as-of date.
            ("o1", "Closed Won", "2026-07-01T00:00:00Z"),
        ]
    )

    row = snapshot_row(
        snapshot_opportunities(opportunities, history, STAGE_MAP, AS_OF), "o1"
    )

    assert row["stage_asof"] == "Proposal"
    assert row["stage_category_asof"] == "open"
    assert row["stage_order_asof"] == 2
    assert row["probability_asof"] == 0.6
    assert row["forecast_category_asof"] == "best_case"
    assert bool(row["is_open"])
    assert pd.isna(row["closed_on"])


def test_snapshot_tie_by_stage_order():
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Proposal",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-09-30",
            }
        ]
    )
    # Same instant: Proposal (order 2) beats Discovery (order 1), although
    # Discovery comes later in the table.
    history = make_history(
        [
            ("o1", "Proposal", "2026-02-01T00:00:00Z"),
            ("o1", "Discovery", "2026-02-01T00:00:00Z"),
        ]
    )

    snapshot = snapshot_opportunities(opportunities, history, STAGE_MAP, AS_OF)

    assert snapshot_row(snapshot, "o1")["stage_asof"] == "Proposal"


def test_snapshot_tie_by_row_order():
    stage_map = {
        **STAGE_MAP,
        "Demo": {
            "category": "open",
            "probability": 0.3,
            "forecast_category": "pipeline",
            "order": 2,
        },
    }
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Proposal",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-09-30",
            }
        ]
    )
    # Demo and Proposal share order 2, so the later row wins. The return to
    # Proposal after as_of makes as_of a date before the export.
    history = make_history(
        [
            ("o1", "Proposal", "2026-02-01T00:00:00Z"),
            ("o1", "Demo", "2026-02-01T00:00:00Z"),
            ("o1", "Proposal", "2026-08-01T00:00:00Z"),
        ]
    )

    snapshot = snapshot_opportunities(opportunities, history, stage_map, AS_OF)

    assert snapshot_row(snapshot, "o1")["stage_asof"] == "Demo"


def test_snapshot_tie_unmapped_stage_lowest():
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Proposal",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-09-30",
            }
        ]
    )
    # Same instant: the unmapped stage has no order, so Proposal wins even
    # though it comes first in the table.
    history = make_history(
        [
            ("o1", "Proposal", "2026-02-01T00:00:00Z"),
            ("o1", "Legal Review", "2026-02-01T00:00:00Z"),
        ]
    )

    snapshot = snapshot_opportunities(opportunities, history, STAGE_MAP, AS_OF)

    assert snapshot_row(snapshot, "o1")["stage_asof"] == "Proposal"


@pytest.mark.parametrize(
    ("stage", "close_date", "expected_stage"),
    [
        # Open now and no history: the current stage.
        ("Proposal", "2026-09-30", "Proposal"),
        # Closed on or before the as-of date: the current stage.
        ("Closed Won", "2026-06-30", "Closed Won"),
        ("Closed Lost", "2026-03-31", "Closed Lost"),
        # Closed after the as-of date: the open stage with the lowest order.
        ("Closed Won", "2026-07-01", "Discovery"),
        ("Closed Lost", "2026-12-31", "Discovery"),
    ],
)
def test_snapshot_fallback_without_history(stage, close_date, expected_stage):
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": stage,
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": close_date,
            }
        ]
    )

    snapshot = snapshot_opportunities(opportunities, None, STAGE_MAP, AS_OF)

    assert snapshot_row(snapshot, "o1")["stage_asof"] == expected_stage


def test_snapshot_open_history_after_as_of():
    """An open deal whose history starts after as_of takes the first open stage."""
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Proposal",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-12-31",
            },
            {
                "opportunity_id": "o2",
                "stage": "Proposal",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-12-31",
            },
            {
                "opportunity_id": "o3",
                "stage": "Closed Won",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-08-01",
            },
        ]
    )
    # o1 entered Proposal after the as-of date, o2 has no history at all,
    # and o3 shows the rule for a deal closed after the as-of date.
    history = make_history(
        [
            ("o1", "Proposal", "2026-07-01T09:00:00Z"),
            ("o3", "Proposal", "2026-07-15T09:00:00Z"),
            ("o3", "Closed Won", "2026-08-01T09:00:00Z"),
        ]
    )

    snapshot = snapshot_opportunities(opportunities, history, STAGE_MAP, AS_OF)

    o1 = snapshot_row(snapshot, "o1")
    assert o1["stage_asof"] == "Discovery"
    assert o1["probability_asof"] == 0.2
    assert bool(o1["is_open"])
    assert snapshot_row(snapshot, "o2")["stage_asof"] == "Proposal"
    assert snapshot_row(snapshot, "o3")["stage_asof"] == "Discovery"


def test_snapshot_open_history_after_as_of_missing_id():
    """A missing opportunity ID takes the merge path and the same rule."""
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Proposal",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-12-31",
            },
            {
                "opportunity_id": None,
                "stage": "Proposal",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-12-31",
            },
        ]
    )
    history = make_history([("o1", "Proposal", "2026-07-01T09:00:00Z")])

    snapshot = snapshot_opportunities(opportunities, history, STAGE_MAP, AS_OF)

    has_id = snapshot["opportunity_id"].notna()
    assert snapshot.loc[has_id, "stage_asof"].tolist() == ["Discovery"]
    assert snapshot.loc[~has_id, "stage_asof"].tolist() == ["Proposal"]


def test_snapshot_closed_without_close_date(caplog):
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Closed Won",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": None,
            }
        ]
    )

    with caplog.at_level(logging.WARNING, logger="acctlib.asof"):
        snapshot = snapshot_opportunities(opportunities, None, STAGE_MAP, AS_OF)

    row = snapshot_row(snapshot, "o1")
    assert row["stage_asof"] == "Discovery"
    assert bool(row["is_open"])
    assert "1 closed opportunities have no close_date" in caplog.text


def test_snapshot_history_contradicts_close_date(caplog):
    """Before the export date, an open entry after the close date decides."""
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Closed Won",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-05-31",
            },
            # Created after as_of, so the export is later than as_of.
            {
                "opportunity_id": "o2",
                "stage": "Discovery",
                "created_at": "2026-07-10T00:00:00Z",
                "close_date": "2026-12-31",
            },
        ]
    )
    # The history moves the deal to Proposal after its close date in May.
    history = make_history(
        [
            ("o1", "Discovery", "2026-03-01T00:00:00Z"),
            ("o1", "Proposal", "2026-06-10T00:00:00Z"),
        ]
    )

    with caplog.at_level(logging.WARNING, logger="acctlib.asof"):
        snapshot = snapshot_opportunities(opportunities, history, STAGE_MAP, AS_OF)

    assert snapshot_row(snapshot, "o1")["stage_asof"] == "Proposal"
    assert "stage history shows an open stage" in caplog.text


def test_snapshot_export_date_current_stage_wins(caplog):
    """On or after the export date the CRM stage decides over the history."""
    opportunities = make_opportunities(
        [
            # Won in the CRM, history stops at Proposal (no Closed Won date).
            {
                "opportunity_id": "o1",
                "stage": "Closed Won",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-05-31",
            },
            # In Proposal in the CRM, history dates only Discovery.
            {
                "opportunity_id": "o2",
                "stage": "Proposal",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-09-30",
            },
            # Won in the CRM, history ends at Closed Lost.
            {
                "opportunity_id": "o3",
                "stage": "Closed Won",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-06-15",
            },
        ]
    )
    history = make_history(
        [
            ("o1", "Proposal", "2026-03-01T00:00:00Z"),
            ("o2", "Discovery", "2026-01-01T00:00:00Z"),
            ("o3", "Closed Won", "2026-04-01T00:00:00Z"),
            ("o3", "Closed Lost", "2026-06-20T00:00:00Z"),
        ]
    )
    prepared = OpportunityHistory(opportunities, history, STAGE_MAP)

    with caplog.at_level(logging.WARNING, logger="acctlib.asof"):
        snapshot = prepared.snapshot(AS_OF)

    assert prepared.exported_on == dt.date(2026, 6, 20)
    o1 = snapshot_row(snapshot, "o1")
    assert bool(o1["is_won"])
    assert o1["closed_on"] == pd.Timestamp("2026-05-31")
    assert pd.isna(o1["history_stage_asof"])
    o2 = snapshot_row(snapshot, "o2")
    assert o2["stage_asof"] == "Proposal"
    assert bool(o2["is_open"])
    assert o2["history_stage_asof"] == "Discovery"
    o3 = snapshot_row(snapshot, "o3")
    assert bool(o3["is_won"])
    assert o3["closed_on"] == pd.Timestamp("2026-06-15")
    assert o3["history_stage_asof"] == "Closed Lost"
    assert "the history" not in caplog.text


def test_snapshot_before_export_date_history_decides():
    """Before the export date the history and the close date decide."""
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Closed Won",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-05-20",
            },
            {
                "opportunity_id": "o2",
                "stage": "Proposal",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-09-30",
            },
        ]
    )
    history = make_history(
        [
            ("o1", "Discovery", "2026-01-01T00:00:00Z"),
            ("o2", "Discovery", "2026-01-01T00:00:00Z"),
            # The latest record: the export is from 30 June or later.
            ("o2", "Discovery", "2026-06-30T12:00:00Z"),
        ]
    )
    prepared = OpportunityHistory(opportunities, history, STAGE_MAP)
    april = prepared.snapshot(dt.date(2026, 4, 30))
    may = prepared.snapshot(dt.date(2026, 5, 31))

    assert snapshot_row(april, "o1")["stage_asof"] == "Discovery"
    assert snapshot_row(may, "o1")["stage_asof"] == "Closed Won"
    assert snapshot_row(may, "o1")["closed_on"] == pd.Timestamp("2026-05-20")
    assert snapshot_row(may, "o2")["stage_asof"] == "Discovery"
    assert may["history_stage_asof"].isna().all()
    assert snapshot_row(prepared.snapshot(AS_OF), "o2")["stage_asof"] == "Proposal"


def test_snapshot_closed_on_rules():
    opportunities = make_opportunities(
        [
            # Current stage, closed on or before as_of: closed_on = close_date.
            {
                "opportunity_id": "o1",
                "stage": "Closed Won",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-05-20",
            },
            # Lost on 10 March by history, reopened and won after as_of:
            # closed_on = date the lost stage was entered.
            {
                "opportunity_id": "o2",
                "stage": "Closed Won",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-08-01",
            },
            # Open on as_of: no closed_on.
            {
                "opportunity_id": "o3",
                "stage": "Proposal",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-08-01",
            },
        ]
    )
    history = make_history(
        [
            ("o2", "Discovery", "2026-01-01T00:00:00Z"),
            ("o2", "Closed Lost", "2026-03-10T22:00:00Z"),
            ("o2", "Discovery", "2026-07-05T00:00:00Z"),
            ("o2", "Closed Won", "2026-08-01T00:00:00Z"),
        ]
    )

    snapshot = snapshot_opportunities(opportunities, history, STAGE_MAP, AS_OF)

    assert snapshot_row(snapshot, "o1")["closed_on"] == pd.Timestamp("2026-05-20")
    assert snapshot_row(snapshot, "o2")["stage_asof"] == "Closed Lost"
    assert snapshot_row(snapshot, "o2")["closed_on"] == pd.Timestamp("2026-03-10")
    assert bool(snapshot_row(snapshot, "o2")["is_lost"])
    assert pd.isna(snapshot_row(snapshot, "o3")["closed_on"])
    assert snapshot["closed_on"].dtype == schema.DATE


def salesforce_like_deals() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return deals created and won on 23 Feb with a close_date two years earlier.

    o1 stays won, o2 is lost on 7 March and o3 (close_date 20 Feb, entered
    22 Feb) keeps its close_date.
    """
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Closed Won",
                "created_at": "2026-02-23T20:55:00Z",
                "close_date": "2024-02-03",
            },
            {
                "opportunity_id": "o2",
                "stage": "Closed Lost",
                "created_at": "2026-02-23T20:55:00Z",
                "close_date": "2024-02-03",
            },
            {
                "opportunity_id": "o3",
                "stage": "Closed Won",
                "created_at": "2026-02-01T00:00:00Z",
                "close_date": "2026-02-20",
            },
        ]
    )
    history = make_history(
        [
            ("o1", "Closed Won", "2026-02-23T20:55:00Z"),
            ("o2", "Closed Won", "2026-02-23T20:55:00Z"),
            ("o2", "Closed Lost", "2026-03-07T21:00:00Z"),
            ("o3", "Closed Won", "2026-02-22T09:00:00Z"),
        ]
    )
    return opportunities, history


def test_impossible_close_date_dated_by_history():
    """A won deal closes on the same day whether or not it was lost later."""
    opportunities, history = salesforce_like_deals()
    prepared = OpportunityHistory(opportunities, history, STAGE_MAP)

    february = prepared.snapshot(dt.date(2026, 2, 28))
    march = prepared.snapshot(dt.date(2026, 3, 31))

    assert snapshot_row(february, "o1")["closed_on"] == pd.Timestamp("2026-02-23")
    assert snapshot_row(february, "o2")["closed_on"] == pd.Timestamp("2026-02-23")
    assert bool(snapshot_row(february, "o2")["is_won"])
    assert snapshot_row(march, "o1")["closed_on"] == pd.Timestamp("2026-02-23")
    assert snapshot_row(march, "o2")["closed_on"] == pd.Timestamp("2026-03-07")
    assert bool(snapshot_row(march, "o2")["is_lost"])
    # The export's close_date column stays as exported.
    assert snapshot_row(march, "o1")["close_date"] == pd.Timestamp("2024-02-03")


def test_consistent_close_date_is_kept():
    """A close_date a few days before the entry, after creation, applies."""
    opportunities, history = salesforce_like_deals()
    prepared = OpportunityHistory(opportunities, history, STAGE_MAP)

    march = prepared.snapshot(dt.date(2026, 3, 31))

    assert snapshot_row(march, "o3")["closed_on"] == pd.Timestamp("2026-02-20")
    assert "o3" not in set(prepared.redated_closes["opportunity_id"])


def test_redated_closes_name_each_reason():
    opportunities = make_opportunities(
        [
            # Closed before it was created.
            {
                "opportunity_id": "before_creation",
                "stage": "Closed Won",
                "created_at": "2026-02-23T00:00:00Z",
                "close_date": "2026-02-20",
            },
            # Closed 45 days before the history enters Closed Won.
            {
                "opportunity_id": "long_before",
                "stage": "Closed Won",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-01-15",
            },
            # Lost on 24 February by history, close_date 31 March.
            {
                "opportunity_id": "after",
                "stage": "Closed Lost",
                "created_at": "2026-02-24T00:00:00Z",
                "close_date": "2026-03-31",
            },
            # Won on 1 April, lost on 10 May, won again undated: the
            # close_date after the dated Closed Won entry stays.
            {
                "opportunity_id": "reopened",
                "stage": "Closed Won",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-06-15",
            },
            # Entered Closed Won at 23:30 UTC, close_date the next local day.
            {
                "opportunity_id": "next_day",
                "stage": "Closed Won",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-03-02",
            },
        ]
    )
    history = make_history(
        [
            ("before_creation", "Closed Won", "2026-02-23T10:00:00Z"),
            ("long_before", "Closed Won", "2026-03-01T10:00:00Z"),
            ("after", "Discovery", "2026-02-24T02:15:00Z"),
            ("after", "Closed Lost", "2026-02-24T02:20:00Z"),
            ("reopened", "Closed Won", "2026-04-01T00:00:00Z"),
            ("reopened", "Closed Lost", "2026-05-10T00:00:00Z"),
            ("next_day", "Closed Won", "2026-03-01T23:30:00Z"),
        ]
    )

    prepared = OpportunityHistory(opportunities, history, STAGE_MAP)
    redated = prepared.redated_closes.set_index("opportunity_id")
    snapshot = prepared.snapshot(AS_OF)

    assert sorted(redated.index) == ["after", "before_creation", "long_before"]
    assert redated.loc["before_creation", "reason"] == "close_date before creation"
    assert redated.loc["long_before", "reason"] == (
        "close_date over 30 days before the entry"
    )
    assert redated.loc["after", "reason"] == "close_date after the entry"
    assert redated.loc["after", "entered_on"] == pd.Timestamp("2026-02-24")
    assert snapshot_row(snapshot, "before_creation")["closed_on"] == pd.Timestamp(
        "2026-02-23"
    )
    assert snapshot_row(snapshot, "long_before")["closed_on"] == pd.Timestamp(
        "2026-03-01"
    )
    assert snapshot_row(snapshot, "after")["closed_on"] == pd.Timestamp("2026-02-24")
    assert snapshot_row(snapshot, "reopened")["closed_on"] == pd.Timestamp("2026-06-15")
    assert snapshot_row(snapshot, "next_day")["closed_on"] == pd.Timestamp("2026-03-02")


def test_close_after_entry_same_every_month():
    """A deal lost by history before its close_date closes on the entry date."""
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Closed Lost",
                "created_at": "2026-02-24T00:00:00Z",
                "close_date": "2026-03-31",
            },
            # The latest record: the export is from 7 March or later.
            {
                "opportunity_id": "o2",
                "stage": "Discovery",
                "created_at": "2026-03-07T00:00:00Z",
                "close_date": "2026-09-30",
            },
        ]
    )
    history = make_history([("o1", "Closed Lost", "2026-02-24T02:20:00Z")])
    prepared = OpportunityHistory(opportunities, history, STAGE_MAP)

    for as_of in (dt.date(2026, 2, 28), dt.date(2026, 3, 31)):
        row = snapshot_row(prepared.snapshot(as_of), "o1")
        assert row["closed_on"] == pd.Timestamp("2026-02-24"), as_of


def test_snapshot_fills_contract_months_and_acv():
    opportunities = make_opportunities(
        [
            # 2,400 over 24 months: ACV 1,200.
            {
                "opportunity_id": "o1",
                "stage": "Proposal",
                "amount": 2400.0,
                "contract_months": 24,
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-08-01",
            },
            # No contract length: the default of 6 months doubles the amount.
            {
                "opportunity_id": "o2",
                "stage": "Proposal",
                "amount": 600.0,
                "contract_months": None,
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-08-01",
            },
        ]
    )

    snapshot = snapshot_opportunities(
        opportunities, None, STAGE_MAP, AS_OF, default_contract_months=6
    )

    assert snapshot["contract_months"].tolist() == [24, 6]
    assert snapshot["acv"].tolist() == [1200.0, 1200.0]


def test_snapshot_values_open_deals_at_amount_open():
    """A deal open on as_of counts at amount_open, a closed one at amount."""
    opportunities = make_opportunities(
        [
            # Won after as_of: open then, so its final amount was not known.
            {
                "opportunity_id": "won_later",
                "stage": "Closed Won",
                "amount": 900.0,
                "amount_open": 1000.0,
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-07-15",
            },
            # Won before as_of: the won amount counts.
            {
                "opportunity_id": "won_before",
                "stage": "Closed Won",
                "amount": 900.0,
                "amount_open": 1000.0,
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-06-15",
            },
            # Open without amount_open: amount counts.
            {
                "opportunity_id": "open_no_value",
                "stage": "Proposal",
                "amount": 500.0,
                "amount_open": None,
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-08-01",
            },
        ]
    )

    snapshot = snapshot_opportunities(opportunities, None, STAGE_MAP, AS_OF)

    amount = snapshot.set_index("opportunity_id")["amount"]
    acv = snapshot.set_index("opportunity_id")["acv"]
    assert amount["won_later"] == 1000.0
    assert acv["won_later"] == 1000.0
    assert amount["won_before"] == 900.0
    assert amount["open_no_value"] == 500.0
    assert opportunities["amount"].tolist() == [900.0, 900.0, 500.0]


def test_snapshot_without_amount_open_keeps_amount():
    """A source without amount_open keeps each amount."""
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "won_later",
                "stage": "Closed Won",
                "amount": 900.0,
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-07-15",
            }
        ]
    )

    snapshot = snapshot_opportunities(opportunities, None, STAGE_MAP, AS_OF)

    assert bool(snapshot["is_open"].iloc[0])
    assert snapshot["amount"].tolist() == [900.0]


def test_snapshot_unmapped_current_stage():
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Legal Review",
                "stage_category": "open",
                "probability": 0.7,
                "forecast_category": "commit",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-08-01",
            }
        ]
    )

    row = snapshot_row(
        snapshot_opportunities(opportunities, None, STAGE_MAP, AS_OF), "o1"
    )

    assert row["stage_asof"] == "Legal Review"
    assert row["stage_category_asof"] == "open"
    assert row["probability_asof"] == 0.7
    assert row["forecast_category_asof"] == "commit"
    assert pd.isna(row["stage_order_asof"])


def test_snapshot_unmapped_history_stage_raises():
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": f"o{number}",
                "stage": "Closed Won",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-08-01",
            }
            for number in (1, 2)
        ]
    )
    history = make_history(
        [
            ("o1", "Legal Review", "2026-02-01T00:00:00Z"),
            ("o2", "Legal Review", "2026-02-01T00:00:00Z"),
        ]
    )

    with pytest.raises(
        InputError, match=r"'Legal Review' \(2 opportunities\); add each stage"
    ) as raised:
        snapshot_opportunities(opportunities, history, STAGE_MAP, AS_OF)

    assert "stage_map" in str(raised.value)
    assert raised.value.value == ["Legal Review"]


def test_snapshot_unmapped_stage_no_category():
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Legal Review",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-08-01",
            }
        ]
    )

    with pytest.raises(InputError, match=r"'Legal Review' \(1 opportunity\)"):
        snapshot_opportunities(opportunities, None, STAGE_MAP, AS_OF)


def test_snapshot_invalid_stage_map():
    stage_map = {"Discovery": {"probability": 0.2, "forecast_category": "pipeline"}}
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Discovery",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-08-01",
            }
        ]
    )

    with pytest.raises(ParameterError, match="'Discovery' lacks category and order"):
        snapshot_opportunities(opportunities, None, stage_map, AS_OF)


def test_snapshot_stage_map_optional_keys():
    stage_map = {"Discovery": {"category": "open", "order": 1}}
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Discovery",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-08-01",
            }
        ]
    )

    row = snapshot_row(
        snapshot_opportunities(opportunities, None, stage_map, AS_OF), "o1"
    )

    assert row["stage_category_asof"] == "open"
    assert pd.isna(row["probability_asof"])
    assert pd.isna(row["forecast_category_asof"])


def test_snapshot_missing_column_raises():
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Discovery",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-08-01",
            }
        ]
    ).drop(columns="amount")

    with pytest.raises(InputError, match="missing column\\(s\\) amount"):
        snapshot_opportunities(opportunities, None, STAGE_MAP, AS_OF)


def test_snapshot_empty_tables():
    opportunities = schema.empty_frame("opportunities")
    history = schema.empty_frame("stage_history")

    snapshot = snapshot_opportunities(opportunities, history, STAGE_MAP, AS_OF)

    assert snapshot.empty
    assert list(snapshot.columns) == (
        schema.OPPORTUNITIES.column_names + list(SNAPSHOT_COLUMNS)
    )


def test_snapshot_leaves_inputs_unchanged():
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Closed Won",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-08-01",
            }
        ]
    )
    history = make_history([("o1", "Proposal", "2026-02-01T00:00:00Z")])
    opportunities_before = opportunities.copy()
    history_before = history.copy()

    snapshot_opportunities(opportunities, history, STAGE_MAP, AS_OF)

    pd.testing.assert_frame_equal(opportunities, opportunities_before)
    pd.testing.assert_frame_equal(history, history_before)


def test_snapshot_ignores_records_after_as_of():
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Proposal",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-08-01",
            },
            {
                "opportunity_id": "o2",
                "stage": "Closed Won",
                "created_at": "2026-02-01T00:00:00Z",
                "close_date": "2026-04-30",
            },
        ]
    )
    history = make_history(
        [
            ("o1", "Discovery", "2026-01-01T00:00:00Z"),
            ("o1", "Proposal", "2026-03-01T00:00:00Z"),
        ]
    )
    before = snapshot_opportunities(opportunities, history, STAGE_MAP, AS_OF)

    # Later the same data grows: o1 is won in July, and o3 appears.
    later_opportunities = pd.concat(
        [
            opportunities,
            make_opportunities(
                [
                    {
                        "opportunity_id": "o3",
                        "stage": "Discovery",
                        "created_at": "2026-07-01T00:00:00Z",
                        "close_date": "2026-10-01",
                    }
                ]
            ),
        ],
        ignore_index=True,
    )
    is_o1 = later_opportunities["opportunity_id"] == "o1"
    later_opportunities.loc[is_o1, "stage"] = "Closed Won"
    later_opportunities.loc[is_o1, "close_date"] = pd.Timestamp("2026-07-20")
    later_history = pd.concat(
        [
            history,
            make_history(
                [
                    ("o1", "Closed Won", "2026-07-20T09:00:00Z"),
                    ("o3", "Discovery", "2026-07-01T00:00:00Z"),
                ]
            ),
        ],
        ignore_index=True,
    )
    after = snapshot_opportunities(later_opportunities, later_history, STAGE_MAP, AS_OF)

    # Only the current-state columns of o1 may differ; every as-of column,
    # and every other row, must match.
    as_of_columns = ["opportunity_id", "amount", "created_at", *SNAPSHOT_COLUMNS]
    pd.testing.assert_frame_equal(after[as_of_columns], before[as_of_columns])


def test_snapshot_ignores_appended_records():
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Proposal",
                "created_at": "2026-01-01T00:00:00Z",
                "close_date": "2026-08-01",
            }
        ]
    )
    history = make_history([("o1", "Proposal", "2026-03-01T00:00:00Z")])
    before = snapshot_opportunities(opportunities, history, STAGE_MAP, AS_OF)

    later_opportunities = pd.concat(
        [
            opportunities,
            make_opportunities(
                [
                    {
                        "opportunity_id": "o0",
                        "stage": "Closed Won",
                        "created_at": "2026-07-01T00:00:00Z",
                        "close_date": "2026-07-02",
                    }
                ]
            ),
        ],
        ignore_index=True,
    )
    later_history = pd.concat(
        [history, make_history([("o1", "Closed Lost", "2026-07-03T00:00:00Z")])],
        ignore_index=True,
    )
    after = snapshot_opportunities(later_opportunities, later_history, STAGE_MAP, AS_OF)

    pd.testing.assert_frame_equal(after, before)


def test_filter_touchpoints_cutoff():
    touchpoints = pd.DataFrame(
        {
            "touch_id": ["t1", "t2"],
            "occurred_at": pd.to_datetime(
                ["2026-06-30T23:59:59Z", "2026-07-01T00:00:00Z"], utc=True
            ),
        }
    )

    filtered = filter_touchpoints(touchpoints, AS_OF)

    assert filtered["touch_id"].tolist() == ["t1"]


def test_filter_revenue_as_of_month():
    revenue = pd.DataFrame(
        {
            "account_id": ["a1", "a1", "a1"],
            "month": pd.to_datetime(["2026-05-01", "2026-06-01", "2026-07-01"]),
            "amount": [100.0, 100.0, 100.0],
        }
    )

    # The month of as_of counts even when as_of is its first day.
    filtered = filter_revenue(revenue, dt.date(2026, 6, 1))

    assert filtered["month"].tolist() == [
        pd.Timestamp("2026-05-01"),
        pd.Timestamp("2026-06-01"),
    ]


@pytest.mark.parametrize(
    ("mapping", "dtype"),
    [
        (pd.Series([1, 2], index=["a", "b"], dtype="Int64"), "Int64"),
        (pd.Series([0.5, None], index=["a", "b"], dtype=float), float),
        (pd.Series(["open", "won"], index=["a", "b"], dtype=object), object),
        (pd.Series([1, 2], index=[1, 2]), float),
    ],
)
def test_map_values_matches_map(mapping, dtype):
    values = pd.Series(["b", None, "a", "z"], dtype="str", index=[3, 1, 2, 0])
    expected = values.map(mapping).astype(dtype)
    pd.testing.assert_series_equal(map_values(values, mapping).astype(dtype), expected)


def test_snapshot_repeated_id_raises():
    row = {
        "opportunity_id": "o1",
        "stage": "Discovery",
        "created_at": "2026-01-01T00:00:00Z",
        "close_date": "2026-07-15",
    }
    opportunities = make_opportunities([row, row])
    history = make_history([("o1", "Discovery", "2026-01-01T00:00:00Z")])

    with pytest.raises(pd.errors.MergeError, match="one-to-one"):
        snapshot_opportunities(opportunities, history, STAGE_MAP, AS_OF)


def test_opportunity_history_stage_per_date():
    """One prepared history gives each date its own stage, in any date order."""
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Closed Won",
                "created_at": "2026-01-05",
                "close_date": "2026-05-20",
            },
            {
                "opportunity_id": "o2",
                "stage": "Discovery",
                "created_at": "2026-04-10",
                "close_date": None,
            },
        ]
    )
    history = make_history(
        [
            ("o1", "Closed Won", "2026-05-20T09:00:00Z"),
            ("o1", "Discovery", "2026-01-05T00:00:00Z"),
            ("o1", "Proposal", "2026-03-01T12:00:00Z"),
            ("o2", "Discovery", "2026-04-10T00:00:00Z"),
        ]
    )
    prepared = OpportunityHistory(opportunities, history, STAGE_MAP)
    expected = {
        dt.date(2026, 5, 31): {"o1": "Closed Won", "o2": "Discovery"},
        dt.date(2026, 1, 31): {"o1": "Discovery"},
        dt.date(2026, 3, 31): {"o1": "Proposal"},
    }

    for as_of, stages in expected.items():
        snapshot = prepared.snapshot(as_of)
        found = snapshot.set_index("opportunity_id")["stage_asof"].to_dict()
        assert found == stages
        fresh = snapshot_opportunities(opportunities, history, STAGE_MAP, as_of)
        pd.testing.assert_frame_equal(snapshot, fresh, check_exact=True)


def test_opportunity_history_missing_entry_ids():
    """History entries without an ID set no opportunity's stage."""
    opportunities = make_opportunities(
        [
            {
                "opportunity_id": "o1",
                "stage": "Discovery",
                "created_at": "2026-01-05",
                "close_date": None,
            }
        ]
    )
    history = make_history(
        [
            (None, "Proposal", "2026-02-01T00:00:00Z"),
            ("o2", "Proposal", "2026-02-01T00:00:00Z"),
        ]
    )
    snapshot = OpportunityHistory(opportunities, history, STAGE_MAP).snapshot(AS_OF)
    assert snapshot["stage_asof"].tolist() == ["Discovery"]
    assert snapshot["closed_on"].isna().all()
