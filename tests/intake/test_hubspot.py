"""The HubSpot profile on small exports written here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from acctlib import accountmap, asof, schema
from acctlib.intake.hubspot import compute_account_amounts
from tests.intake.helpers import load

COMPANIES = (
    "Record ID,Company name,Company Domain Name,Industry,Create Date\n"
    "9001,Acme,acme.com,Software,2023-01-01 09:00\n"
    "9002,Beacon,beacon.io,Retail,2023-01-02 09:00\n"
    "9003,Cobalt,cobalt.dev,Energy,2023-01-03 09:00\n"
)
DEALS = (
    "Record ID,Deal Name,Deal Stage,Amount,Close Date,Create Date,"
    "Associated Company IDs,Deal Type,"
    'Date entered "Appointment Scheduled (Sales Pipeline)",'
    'Date entered "Closed Won (Sales Pipeline)"\n'
    "D1,Big,Closed Won,50000,2024-03-01,2024-01-01 10:00,9001;9002,"
    "New Business,2024-01-01 10:00,2024-03-01 12:00\n"
    "D2,Mid,Closed Won,20000,2024-04-01,2024-01-05 10:00,9003,"
    "Existing Business,2024-01-05 10:00,2024-04-01 12:00\n"
    "D3,Small,Closed Won,10000,2024-05-01,2024-01-09 10:00,,"
    ",,2024-05-01 12:00\n"
)
CONTACTS = "Record ID,Associated Company IDs\n501,9003\n"
ENGAGEMENTS = (
    "Activity ID,Activity type,Activity date,Associated Company IDs,"
    "Associated Contact IDs\n"
    "E1,EMAIL,2024-01-02 08:00,9001,\n"
    "E2,CALL,2024-01-06 08:00,,501\n"
)


def hubspot_files() -> dict[str, str]:
    return {
        "companies.csv": COMPANIES,
        "deals.csv": DEALS,
        "contacts.csv": CONTACTS,
        "engagements.csv": ENGAGEMENTS,
    }


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("first", {"9001": 50000, "9003": 20000, schema.NO_ACCOUNT: 10000}),
        (
            "equal",
            {"9001": 25000, "9002": 25000, "9003": 20000, schema.NO_ACCOUNT: 10000},
        ),
    ],
)
def test_shared_deal_counts_once(tmp_path: Path, rule: str, expected: dict) -> None:
    """A deal of two companies counts once; per-account amounts follow the rule."""
    intake = load(tmp_path, hubspot_files(), "hubspot", f"shared_deal_split={rule}")
    opportunities = intake.tables["opportunities"]
    won = opportunities[opportunities["stage_category"] == "won"]
    assert won["amount"].sum() == 80000
    amounts = compute_account_amounts(opportunities, intake.extras["deal_companies"])
    per_account = amounts.set_index("account_id")["won_amount"]
    assert {k: v for k, v in per_account.items() if v} == expected
    assert per_account.sum() == 80000
    shared = amounts.set_index("account_id")["shared_deals"]
    assert shared["9001"] == 1
    assert shared["9002"] == 1


def test_shared_deal_quality_findings(tmp_path: Path) -> None:
    """The findings name one shared deal and one deal without a company."""
    intake = load(tmp_path, hubspot_files(), "hubspot")
    findings = intake.extras["quality_findings"].set_index("check")["message"]
    assert findings["shared deal"] == "1 deal shared by 2 companies."
    assert findings["no account"].startswith("1 deal without a company")


def test_deal_account_is_first_listed(tmp_path: Path) -> None:
    """The deal's account is the first listed company, and IDs stay text."""
    intake = load(tmp_path, hubspot_files(), "hubspot")
    deals = intake.tables["opportunities"].set_index("opportunity_id")
    assert deals.loc["D1", "account_id"] == "9001"
    assert pd.isna(deals.loc["D3", "account_id"])
    assert deals.loc["D2", "type"] == "expansion"


def test_date_entered_columns_history(tmp_path: Path) -> None:
    """Each filled "Date entered" cell is one stage-history row."""
    intake = load(tmp_path, hubspot_files(), "hubspot")
    history = intake.tables["stage_history"]
    assert len(history) == 5
    d1 = history[history["opportunity_id"] == "D1"]
    assert list(d1["stage"]) == ["Appointment Scheduled", "Closed Won"]


def test_engagements_become_touches(tmp_path: Path) -> None:
    """An activity's account is its company, else its contact's company."""
    intake = load(tmp_path, hubspot_files(), "hubspot")
    touches = intake.tables["touchpoints"].set_index("touch_id")
    assert touches.loc["E1", "account_id"] == "9001"
    assert touches.loc["E1", "function"] == "marketing"
    assert touches.loc["E2", "account_id"] == "9003"
    assert touches.loc["E2", "channel"] == "call"


# IDs never become floats: a blank Record ID and unlinked won deals.

COMPANIES_WITH_BLANK = (
    "Record ID,Company name,Create Date\n"
    "9001,Acme,2023-01-01\n"
    ",Orphan row,2023-01-01\n"
    "9002,Beacon,2023-01-01\n"
)


def _ten_won_deals() -> str:
    lines = [
        "Record ID,Deal Stage,Amount,Close Date,Create Date,Associated Company IDs"
    ]
    amounts = [30000, 30000, 20000, 20000, 20000, 20000, 10000, 20000, 15000, 15000]
    companies = ["9001", "9002", "9001", "9002", "9001", "9002", "9001", "9002", "", ""]
    for number, (amount, company) in enumerate(zip(amounts, companies, strict=True), 1):
        lines.append(
            f"{number},Closed Won,{amount},2024-06-{number:02d},2024-01-01,{company}"
        )
    return "\n".join(lines) + "\n"


def test_ids_stay_text_totals_agree(tmp_path: Path) -> None:
    """No ``9001.0``; the no-account row has 30,000 of the 200,000 won."""
    files = {"companies.csv": COMPANIES_WITH_BLANK, "deals.csv": _ten_won_deals()}
    intake = load(tmp_path, files, "hubspot")
    accounts = intake.tables["accounts"]
    assert sorted(accounts["account_id"]) == ["9001", "9002"]
    opportunities = intake.tables["opportunities"]
    assert len(opportunities) == 10
    assert set(opportunities["account_id"].dropna()) == {"9001", "9002"}
    as_of = dt.date(2024, 12, 31)
    snapshot = asof.snapshot_opportunities(
        opportunities, None, intake.stage_map, as_of, default_contract_months=12
    )
    account_map = accountmap.compute_account_map(
        accounts, snapshot, None, None, as_of, stage_map=intake.stage_map
    )
    tcv = account_map.set_index("account_id")["tcv"]
    assert tcv[schema.NO_ACCOUNT] == 30000
    assert tcv.sum() == 200000
    headline = accountmap.compute_headline(account_map, snapshot, None, as_of)
    assert headline["bookings_ytd"] == 200000
    rejected = intake.quarantine.to_frame()
    assert list(rejected["row"]) == [2]
    assert list(rejected["table"]) == ["accounts"]
