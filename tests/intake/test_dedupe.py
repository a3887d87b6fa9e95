"""Duplicate-account merging: shared and placeholder hosts, merged creation dates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from acctlib.accountmap import compute_account_map
from acctlib.asof import snapshot_opportunities
from acctlib.intake.dedupe import find_duplicates, is_placeholder_host, is_shared_host
from tests.intake.helpers import load, mapped_profile


def _accounts(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["account_id", "name", "website"])


def _pairs(audit: pd.DataFrame, action: str) -> list[tuple[str, str]]:
    rows = audit[audit["action"] == action]
    return list(zip(rows["account_id"], rows["into_account_id"], strict=True))


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("linkedin.com", True),
        ("uk.linkedin.com", True),
        ("gmail.com", True),
        ("acme.wordpress.com", True),
        ("sites.google.com", True),
        ("google.com", False),
        ("box.com", False),
        ("acme.com", False),
        ("", False),
    ],
)
def test_shared_host_detection(domain: str, expected: bool) -> None:
    assert is_shared_host(domain) is expected


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("example.com", True),
        ("example.net", True),
        ("example.org", True),
        ("shop.example.com", True),
        ("acme.test", True),
        ("acme.example", True),
        ("acme.invalid", True),
        ("app.localhost", True),
        ("none.com", True),
        ("na.com", True),
        ("n-a.com", True),
        ("tbd.com", True),
        ("unknown.com", True),
        ("noemail.com", True),
        ("nowebsite.com", True),
        ("website.com", True),
        ("domain.com", True),
        ("company.com", True),
        ("email.com", True),
        ("examples.com", False),
        ("example.co.uk", False),
        ("testing.com", False),
        ("acme.com", False),
        ("", False),
    ],
)
def test_placeholder_host_detection(domain: str, expected: bool) -> None:
    assert is_placeholder_host(domain) is expected


def test_placeholder_host_not_merged() -> None:
    accounts = _accounts(
        [
            ("A01", "Zenith Data Inc.", "www.example.com"),
            ("A02", "Prairie Schools B.V.", "http://example.com"),
            ("A03", "Delta Payments LLC", "none.com"),
            ("A04", "Iron Stores plc", "https://www.none.com/"),
            ("A05", "Stone Wireless Ltd", "na.com"),
            ("A06", "Meridian Telecom Inc.", "NA.COM"),
            ("A07", "Cobalt Materials Corp.", "tbd.com"),
            ("A08", "Ever Stone Care Inc.", "tbd.com"),
            ("A09", "Nova Education GmbH", "acme.test"),
            ("A10", "Red Lake Manufacturing SAS", "http://acme.test/"),
        ]
    )
    merges, audit = find_duplicates(accounts)
    assert merges == {}
    assert _pairs(audit, "merged") == []
    assert _pairs(audit, "not merged") == [
        ("A02", "A01"),
        ("A04", "A03"),
        ("A06", "A05"),
        ("A08", "A07"),
        ("A10", "A09"),
    ]
    kept_apart = audit[audit["action"] == "not merged"].set_index("account_id")
    assert kept_apart.loc["A02", "key"] == "example.com"
    assert "example.com is a placeholder" in kept_apart.loc["A02", "reason"]
    assert _pairs(audit, "suggested") == []


def test_placeholder_same_name_suggested() -> None:
    accounts = _accounts(
        [
            ("A1", "Acme Widgets Inc.", "https://acmewidgets.com"),
            ("A2", "Acme Widgets", "www.example.com"),
        ]
    )
    merges, audit = find_duplicates(accounts)
    assert merges == {}
    assert _pairs(audit, "suggested") == [("A2", "A1")]
    reason = audit.set_index("account_id").loc["A2", "reason"]
    assert "placeholder website example.com" in reason


def test_shared_host_not_merged() -> None:
    accounts = _accounts(
        [
            ("A10", "Ever Cedar Bio plc", "https://www.linkedin.com/company/foo"),
            ("A11", "Stone River Cloud AG", "https://linkedin.com/company/bar"),
            ("A12", "Granite Telecom Inc.", "gmail.com"),
            ("A13", "Pioneer Learning LLC", "http://gmail.com"),
            ("A14", "Acme Blog", "https://acme.wordpress.com"),
            ("A15", "Acme Blog Ltd", "acme.wordpress.com/about"),
            ("A20", "Acme Widgets Inc.", "https://acmewidgets.com"),
            ("A21", "ACME WIDGETS, INC", "www.acmewidgets.com/"),
        ]
    )
    merges, audit = find_duplicates(accounts)
    assert merges == {"A21": "A20"}
    assert _pairs(audit, "merged") == [("A21", "A20")]
    assert _pairs(audit, "not merged") == [
        ("A11", "A10"),
        ("A13", "A12"),
        ("A15", "A14"),
    ]
    kept_apart = audit[audit["action"] == "not merged"].set_index("account_id")
    assert kept_apart.loc["A11", "key"] == "linkedin.com"
    assert "many organisations use linkedin.com" in kept_apart.loc["A11", "reason"]
    # Only A15 has the same name as another account on the shared host.
    assert _pairs(audit, "suggested") == [("A15", "A14")]


def test_shared_host_same_name_suggested() -> None:
    accounts = _accounts(
        [
            ("A1", "Acme Widgets Inc.", "https://acmewidgets.com"),
            ("A2", "Acme Widgets", "https://www.facebook.com/acmewidgets"),
            ("A3", "Acme Widgets LLC", "sales@gmail.com"),
        ]
    )
    merges, audit = find_duplicates(accounts)
    assert merges == {}
    assert _pairs(audit, "suggested") == [("A2", "A1"), ("A3", "A1")]
    reasons = audit.set_index("account_id")["reason"]
    assert "shared host facebook.com" in reasons["A2"]
    assert "shared host gmail.com" in reasons["A3"]


def test_shared_host_keeps_deals_apart(tmp_path: Path) -> None:
    files = {
        "accounts.csv": (
            "Account ID,Account Name,Website\n"
            "A10,Ever Cedar Bio plc,https://www.linkedin.com/company/foo\n"
            "A11,Stone River Cloud AG,https://linkedin.com/company/bar\n"
        ),
        "opportunities.csv": (
            "Opportunity ID,Account ID,Stage,Amount,Close Date\n"
            "O10,A10,Closed Won,60000,2024-05-01\n"
            "O11,A11,Closed Won,50000,2024-05-01\n"
        ),
    }
    intake = load(tmp_path, files, mapped_profile())
    assert sorted(intake.tables["accounts"]["account_id"]) == ["A10", "A11"]
    won = intake.tables["opportunities"].groupby("account_id")["amount"].sum()
    assert won.to_dict() == {"A10": 60000, "A11": 50000}
    counts = intake.reconciliation().set_index("table")
    assert counts.loc["accounts", "merged"] == 0


def test_merged_account_takes_earliest_creation(tmp_path: Path) -> None:
    files = {
        "accounts.csv": (
            "Account ID,Account Name,Website,Created\n"
            "A1,Acme Widgets Inc.,https://acme.com,2024-10-02\n"
            "A2,ACME WIDGETS,www.acme.com,2023-09-24\n"
        ),
        "opportunities.csv": (
            "Opportunity ID,Account ID,Stage,Amount,Close Date,Created\n"
            "O2,A2,Proposal,40000,2024-11-30,2024-03-03\n"
        ),
    }
    intake = load(tmp_path, files, mapped_profile())
    accounts = intake.tables["accounts"].set_index("account_id")
    assert accounts.index.tolist() == ["A1"]
    assert accounts.loc["A1", "created_at"] == pd.Timestamp("2023-09-24", tz="UTC")
    assert accounts.loc["A1", "name"] == "Acme Widgets Inc."

    month_end = dt.date(2024, 6, 30)
    snapshot = snapshot_opportunities(
        intake.tables["opportunities"], None, intake.stage_map, month_end
    )
    account_map = compute_account_map(
        intake.tables["accounts"],
        snapshot,
        None,
        None,
        month_end,
        stage_map=intake.stage_map,
    ).set_index("account_id")
    assert account_map.index.tolist() == ["A1"]
    assert account_map.loc["A1", "open_pipeline"] == 40000


def test_counts_add_merged_accounts(tmp_path: Path) -> None:
    files = {
        "accounts.csv": (
            "Account ID,Account Name,Website,Created\n"
            "A1,Acme Widgets Inc.,https://acme.com,2024-10-02\n"
            "A2,ACME WIDGETS,www.acme.com,2023-09-24\n"
            "A3,Beta,beta.com,2023-09-24\n"
            ",No ID,gamma.com,2023-09-24\n"
        ),
        "opportunities.csv": (
            "Opportunity ID,Account ID,Stage,Amount,Close Date,Created\n"
            "O2,A2,Proposal,40000,2024-11-30,2024-03-03\n"
        ),
    }
    intake = load(tmp_path, files, mapped_profile())

    counts = intake.counts().set_index("table")

    assert counts.columns.tolist() == ["read", "accepted", "rejected", "merged"]
    assert counts.loc["accounts"].to_dict() == {
        "read": 4,
        "accepted": 2,
        "merged": 1,
        "rejected": 1,
    }
