"""Duplicate-account merging: accounts on shared website hosts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from acctlib.intake.dedupe import find_duplicates, is_shared_host
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
