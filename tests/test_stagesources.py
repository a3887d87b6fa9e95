"""Findings on deals whose CRM stage and dated stage history disagree."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from acctlib import schema
from acctlib.stagesources import (
    CLOSE_REDATED_CHECK,
    CLOSE_UNDATED_CHECK,
    STAGE_DIFFERS_CHECK,
    check_stage_history,
)

AS_OF = dt.date(2026, 6, 30)
STAGE_MAP = {
    "Discovery": {"category": "open", "probability": 0.2, "order": 1},
    "Proposal": {"category": "open", "probability": 0.6, "order": 2},
    "Closed Won": {"category": "won", "probability": 1.0, "order": 3},
    "Closed Lost": {"category": "lost", "probability": 0.0, "order": 4},
}


def make_tables() -> dict[str, pd.DataFrame]:
    """Return deals whose history dates only Discovery and Closed Lost."""
    opportunities = pd.DataFrame(
        {
            "opportunity_id": ["o1", "o2", "o3", "o4"],
            "account_id": "a1",
            "type": "new_business",
            "stage": ["Closed Won", "Proposal", "Closed Won", "Discovery"],
            "amount": [1000.0, 200.0, 30.0, 4.0],
            "created_at": pd.to_datetime(["2026-01-01"] * 4, utc=True).astype(
                schema.TIMESTAMP
            ),
            "close_date": pd.to_datetime(
                ["2026-05-31", "2026-09-30", "2026-04-15", "2026-09-30"]
            ).astype(schema.DATE),
        }
    )
    history = pd.DataFrame(
        [
            ("o1", "Discovery", "2026-01-01"),
            ("o2", "Discovery", "2026-01-01"),
            ("o3", "Discovery", "2026-01-01"),
            ("o3", "Closed Lost", "2026-05-10"),
            ("o4", "Discovery", "2026-01-01"),
        ],
        columns=["opportunity_id", "stage", "entered_at"],
    )
    history["entered_at"] = pd.to_datetime(history["entered_at"], utc=True)
    return {"opportunities": opportunities, "stage_history": history}


def test_findings_name_counts_amounts_ids():
    findings = check_stage_history(make_tables(), STAGE_MAP, AS_OF, "USD")
    by_check = {finding["check"]: finding for finding in findings}

    undated = by_check[CLOSE_UNDATED_CHECK]
    assert undated["rows"] == 1
    assert undated["amount"] == 1000.0
    assert "First: o1." in undated["message"]
    differs = by_check[STAGE_DIFFERS_CHECK]
    assert differs["rows"] == 2
    assert differs["amount"] == 230.0
    assert "1 won (USD 30), 1 open (USD 200)" in differs["message"]
    assert "o2 (Proposal, history Discovery)" in differs["message"]
    assert "o3 (Closed Won, history Closed Lost)" in differs["message"]


def test_before_export_only_undated_closes():
    """Before the export date the history decides, so no stage differs."""
    # The latest record, o3's Closed Lost entry, is dated 10 May.
    findings = check_stage_history(make_tables(), STAGE_MAP, dt.date(2026, 5, 5), "")

    assert [finding["check"] for finding in findings] == [CLOSE_UNDATED_CHECK]
    assert findings[0]["rows"] == 1
    assert "First: o3." in findings[0]["message"]


def make_redated_tables() -> dict[str, pd.DataFrame]:
    """Return deals created and won on 23 Feb with a close_date of 2024.

    r1 stays won, r2 is lost on 7 March and r3 is lost on 24 Feb by
    history but has a close_date of 31 March.
    """
    opportunities = pd.DataFrame(
        {
            "opportunity_id": ["r1", "r2", "r3"],
            "account_id": "a1",
            "type": "new_business",
            "stage": ["Closed Won", "Closed Lost", "Closed Lost"],
            "amount": [220_000.0, 120_000.0, None],
            "created_at": pd.to_datetime(
                ["2026-02-23 20:55", "2026-02-23 20:55", "2026-02-24 02:15"], utc=True
            ).astype(schema.TIMESTAMP),
            "close_date": pd.to_datetime(
                ["2024-02-03", "2024-02-03", "2026-03-31"]
            ).astype(schema.DATE),
        }
    )
    history = pd.DataFrame(
        [
            ("r1", "Closed Won", "2026-02-23 20:55"),
            ("r2", "Closed Won", "2026-02-23 20:55"),
            ("r2", "Closed Lost", "2026-03-07 21:00"),
            ("r3", "Discovery", "2026-02-24 02:15"),
            ("r3", "Closed Lost", "2026-02-24 02:20"),
        ],
        columns=["opportunity_id", "stage", "entered_at"],
    )
    history["entered_at"] = pd.to_datetime(history["entered_at"], utc=True)
    return {"opportunities": opportunities, "stage_history": history}


def test_redated_closes_are_finding():
    findings = check_stage_history(
        make_redated_tables(), STAGE_MAP, dt.date(2026, 3, 31), "USD"
    )
    by_check = {finding["check"]: finding for finding in findings}

    redated = by_check[CLOSE_REDATED_CHECK]
    assert redated["rows"] == 3
    assert redated["amount"] == 340_000.0
    message = redated["message"]
    assert "1 won (USD 220,000) and 2 lost (USD 120,000)" in message
    assert (
        "Of their close dates, 2 are before the deal's creation and 1 is after "
        "that entry, with no later stage in the history." in message
    )
    assert "r1 (close_date 03 Feb 2024, Closed Won entered 23 Feb 2026)" in message
    assert "r2 (close_date 03 Feb 2024, Closed Lost entered 07 Mar 2026)" in message
    assert "r3 (close_date 31 Mar 2026, Closed Lost entered 24 Feb 2026)" in message


def test_redated_finding_skips_other_stages():
    """On 28 Feb r2 is won by history, which its current close does not date."""
    findings = check_stage_history(
        make_redated_tables(), STAGE_MAP, dt.date(2026, 2, 28), "USD"
    )
    by_check = {finding["check"]: finding for finding in findings}

    redated = by_check[CLOSE_REDATED_CHECK]
    assert redated["rows"] == 2
    assert "r2" not in redated["message"]


def test_without_stage_history_no_finding():
    tables = make_tables()
    del tables["stage_history"]

    assert check_stage_history(tables, STAGE_MAP, AS_OF, "USD") == []


def test_findings_reuse_a_prepared_history(monkeypatch):
    """Given the history and snapshot, the check builds neither again."""
    from acctlib import stagesources
    from acctlib.asof import OpportunityHistory

    tables = make_tables()
    prepared = OpportunityHistory(
        tables["opportunities"], tables["stage_history"], STAGE_MAP
    )
    snapshot = prepared.snapshot(AS_OF)
    expected = check_stage_history(tables, STAGE_MAP, AS_OF, "USD")

    def fail(*args, **kwargs):
        raise AssertionError("the history was built again")

    monkeypatch.setattr(stagesources, "OpportunityHistory", fail)
    reused = check_stage_history(
        tables, STAGE_MAP, AS_OF, "USD", prepared=prepared, snapshot=snapshot
    )
    assert reused == expected
    assert len(reused) == 2
