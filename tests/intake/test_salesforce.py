"""The Salesforce profile on small exports and on a developer-org export."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from acctlib.intake.sfid import compute_suffix, normalize_id
from tests.conftest import DATASETS
from tests.intake.helpers import load, rejected_record

DEVORG = DATASETS / "salesforce-devorg-export"

# Data Loader export: API names, ISO timestamps.
LOADER_ACCOUNTS = (
    "Id,Name,Website,Industry,BillingCountry,NumberOfEmployees,AnnualRevenue,"
    "CreatedDate,LastModifiedDate\n"
    "0015g00000AbCdE,Acme,acme.com,Electronics,US,100,1000000,"
    "2023-01-05T10:00:00.000Z,2024-01-01T00:00:00.000Z\n"
    "0015g00000abcde,Beacon,beacon.io,Apparel,DE,50,,"
    "2023-02-05T10:00:00.000Z,2024-01-01T00:00:00.000Z\n"
)
LOADER_OPPORTUNITIES = (
    "Id,AccountId,Name,Type,StageName,Amount,Probability,ForecastCategoryName,"
    "CloseDate,CreatedDate\n"
    "0065g00000Opp01,0015g00000AbCdEAAV,Acme one,New Customer,Closed Won,1000,"
    "100,Closed,2024-03-01,2024-01-02T09:00:00.000Z\n"
    "0065g00000Opp02,0015g00000abcdeAAA,Beacon one,Existing Customer - Upgrade,"
    "Negotiation/Review,2000,90,Pipeline,2024-09-01,2024-02-02T09:00:00.000Z\n"
    "0065g00000Opp03,0015G00000ABCDEAAV,Acme two,,Prospecting,3000,10,Pipeline,"
    "2024-10-01,2024-03-02T09:00:00.000Z\n"
)
LOADER_HISTORY = (
    "Id,OpportunityId,StageName,Amount,CreatedDate\n"
    "0085g0000000H03,0065g00000Opp01,Closed Won,1000,2024-03-01T00:00:00.000Z\n"
    "0085g0000000H01,0065g00000Opp01,Prospecting,1000,2024-01-02T09:00:00.000Z\n"
    "0085g0000000H02,0065g00000Opp01,Prospecting,1200,2024-01-20T09:00:00.000Z\n"
)
LOADER_CONTACTS = "Id,AccountId\n0035g00000Con01,0015g00000AbCdEAAV\n"
LOADER_CAMPAIGNS = "Id,Name,Type\n7015g00000Cmp01,Spring webinar,Webinar\n"
LOADER_MEMBERS = (
    "Id,CampaignId,ContactId,LeadId,Status,FirstRespondedDate,CreatedDate\n"
    "00v5g00000Mem01,7015g00000Cmp01,0035g00000Con01,,Responded,2024-01-10,"
    "2024-01-05T00:00:00.000Z\n"
)
LOADER_TASKS = (
    "Id,WhoId,WhatId,AccountId,TaskSubtype,ActivityDate,CreatedDate\n"
    "00T5g00000Tsk01,0035g00000Con01,,,Call,2024-01-12,2024-01-12T00:00:00.000Z\n"
)
LOADER_EVENTS = (
    "Id,WhoId,WhatId,EventSubtype,StartDateTime\n"
    "00U5g00000Evt01,,0015g00000abcdeAAA,Event,2024-02-12T15:00:00.000Z\n"
)

# Report export ("Details Only" CSV): labels, US dates, footer lines.
REPORT_ACCOUNTS = (
    '"Account ID","Account Name","Website","Created Date"\n'
    '"0015g00000AbCdE","Acme","acme.com","1/5/2023"\n'
    '"0015g00000abcde","Beacon","beacon.io","2/5/2023"\n'
    '"","","",""\n'
    '"Total","","",""\n'
    '"Confidential Information - Do Not Distribute","","",""\n'
    '"Copyright (c) 2000-2024 salesforce.com, inc. All rights reserved.","","",""\n'
)
REPORT_OPPORTUNITIES = (
    '"Opportunity ID","Account ID","Opportunity Name","Stage","Amount",'
    '"Probability (%)","Close Date","Created Date"\n'
    '"0065g00000Opp01","0015g00000AbCdE","Acme one","Closed Won","$1,000.00",'
    '"100%","3/1/2024","1/2/2024"\n'
    '"0065g00000Opp02","0015g00000abcde","Beacon one","Negotiation/Review",'
    '"$2,000.00","90%","9/1/2024","2/2/2024"\n'
    '"0065g00000Opp03","0015G00000ABCDE","Acme two","Prospecting","$3,000.00",'
    '"10%","10/1/2024","3/2/2024"\n'
    '"","","","","","","",""\n'
    '"Grand Totals (3 records)","","","","$6,000.00","","",""\n'
)


def sf(id15: str) -> str:
    """Return the 18-character form of a 15-character test ID."""
    return id15 + compute_suffix(id15)


def loader_files() -> dict[str, str]:
    return {
        "Account.csv": LOADER_ACCOUNTS,
        "Opportunity.csv": LOADER_OPPORTUNITIES,
        "OpportunityHistory.csv": LOADER_HISTORY,
        "Contact.csv": LOADER_CONTACTS,
        "Campaign.csv": LOADER_CAMPAIGNS,
        "CampaignMember.csv": LOADER_MEMBERS,
        "Task.csv": LOADER_TASKS,
        "Event.csv": LOADER_EVENTS,
    }


def test_suffix_of_documented_ids() -> None:
    """The 18-character suffix encodes which letters are upper case."""
    assert compute_suffix("0015g00000AbCdE") == "AAV"
    assert compute_suffix("0015g00000abcde") == "AAA"
    assert normalize_id("0015G00000ABCDEAAV") == "0015g00000AbCdEAAV"
    assert normalize_id("0015g00000abcde") == "0015g00000abcdeAAA"
    assert normalize_id("001-bad") is None


def test_ids_join_case_insensitively(tmp_path: Path) -> None:
    """15- and 18-character IDs, one upper-cased, join to the right account."""
    intake = load(tmp_path, loader_files(), "salesforce")
    per_account = intake.tables["opportunities"]["account_id"].value_counts()
    assert per_account.to_dict() == {"0015g00000AbCdEAAV": 2, "0015g00000abcdeAAA": 1}
    assert intake.quarantine.count() == 0


def test_forecast_reason_names_export_header(tmp_path: Path) -> None:
    """A bad forecast category is named by the export's header."""
    files = loader_files()
    files["Opportunity.csv"] = LOADER_OPPORTUNITIES.replace(
        ",90,Pipeline,", ",90,Maybe,"
    )

    intake = load(tmp_path, files, "salesforce")

    frame = intake.quarantine.to_frame()
    assert frame["column"].tolist() == ["forecast_category"]
    assert frame["value"].tolist() == ["maybe"]
    assert (
        frame["reason"]
        .iloc[0]
        .startswith('column "ForecastCategoryName" (forecast_category) must be one of')
    )


def test_loader_export_tables(tmp_path: Path) -> None:
    """The data-loader export fills every canonical table it can."""
    intake = load(tmp_path, loader_files(), "salesforce")
    opportunities = intake.tables["opportunities"].set_index("opportunity_id")
    first = opportunities.loc[sf("0065g00000Opp01")]
    assert first["type"] == "new_business"
    assert first["forecast_category"] == "closed"
    assert first["probability"] == pytest.approx(1.0)
    assert opportunities.loc[sf("0065g00000Opp02"), "type"] == "expansion"
    history = intake.tables["stage_history"]
    assert list(history["stage"]) == ["Prospecting", "Closed Won"]
    touches = intake.tables["touchpoints"].set_index("touch_id")
    member = touches.loc["00v5g00000Mem01"]
    assert member["account_id"] == "0015g00000AbCdEAAV"
    assert member["channel"] == "webinar"
    assert member["campaign"] == "Spring webinar"
    assert member["function"] == "marketing"
    assert touches.loc["00T5g00000Tsk01", "channel"] == "sales_call"
    assert touches.loc["00U5g00000Evt01", "account_id"] == "0015g00000abcdeAAA"
    assert intake.reconciliation()["reconciled"].all()


def test_report_export_footer_and_corrupt_id(tmp_path: Path) -> None:
    """A report export loses its footer; an upper-cased 15-char ID is flagged."""
    files = {"Account.csv": REPORT_ACCOUNTS, "Opportunity.csv": REPORT_OPPORTUNITIES}
    intake = load(tmp_path, files, "salesforce")
    assert len(intake.tables["accounts"]) == 2
    amounts = intake.tables["opportunities"].set_index("opportunity_id")["amount"]
    assert amounts.to_dict() == {
        sf("0065g00000Opp01"): 1000.0,
        sf("0065g00000Opp02"): 2000.0,
    }
    bad = intake.quarantine.to_frame()
    assert list(bad["row"]) == [3]
    assert bad["column"].iloc[0] == "account_id"
    assert bad["file"].iloc[0].endswith("Opportunity.csv")
    assert "probably corrupted ID" in bad["reason"].iloc[0]
    assert any("footer" in note for note in intake.notes)


def test_corrupt_id_rejection_keeps_report_text(tmp_path: Path) -> None:
    """The rejected deal and its history keep the report's text and are linked."""
    history = (
        '"Opportunity ID","Stage","Edit Date"\n'
        '"0065g00000Opp03","Prospecting","3/2/2024"\n'
    )
    files = {
        "Account.csv": REPORT_ACCOUNTS,
        "Opportunity.csv": REPORT_OPPORTUNITIES,
        "OpportunityHistory.csv": history,
    }

    intake = load(tmp_path, files, "salesforce")

    deal = rejected_record(intake, "opportunities")
    assert deal["opportunity_id"] == "0065g00000Opp03"
    assert deal["account_id"] == "0015G00000ABCDE"
    assert deal["amount_original"] == "$3,000.00"
    assert deal["probability"] == "10%"
    assert deal["close_date"] == "10/1/2024"
    assert deal["created_at"] == "3/2/2024"
    stage = rejected_record(intake, "stage_history")
    assert stage["opportunity_id"] == "0065g00000Opp03"
    assert stage["entered_at"] == "3/2/2024"
    # The history row is matched to the rejected deal by the parsed ID.
    reasons = intake.quarantine.to_frame().set_index("table")["reason"]
    assert reasons["stage_history"].startswith(
        'column "Opportunity ID" (opportunity_id) points at a rejected'
    )


def test_child_of_rejected_parent_names_it(tmp_path: Path) -> None:
    """Children of rows rejected at parsing point at them, not at a missing ID."""
    files = loader_files()
    # Beacon loses its name, and the first deal its creation date.
    files["Account.csv"] = LOADER_ACCOUNTS.replace(",Beacon,", ",,")
    files["Opportunity.csv"] = LOADER_OPPORTUNITIES.replace(
        "2024-03-01,2024-01-02T09:00:00.000Z", "2024-03-01,not a date"
    )

    intake = load(tmp_path, files, "salesforce")

    frame = intake.quarantine.to_frame()
    reasons = frame.set_index(["table", "row"])["reason"]
    assert reasons["accounts", 2] == (
        'column "Name" (name) is empty but required'
        "; enter a value in the export or remove the row"
    )
    assert reasons["opportunities", 1].startswith(
        "column \"CreatedDate\" (created_at): invalid date 'not a date'"
    )
    assert reasons["opportunities", 2] == (
        'column "AccountId" (account_id) points at a rejected row of accounts '
        "(Account.csv row 2); "
        "fix that row, listed with its reason under accounts, and the next "
        "build keeps this row as well"
    )
    history = frame.loc[frame["table"] == "stage_history", "reason"]
    assert (
        history.tolist()
        == [
            'column "OpportunityId" (opportunity_id) points at a rejected row of '
            "opportunities (Opportunity.csv row 1); fix that row, listed with its "
            "reason under "
            "opportunities, and the next build keeps this row as well"
        ]
        * 2
    )
    touches = frame.loc[frame["table"] == "touchpoints", "reason"]
    assert touches.str.startswith(
        "account_id points at a rejected row of accounts (Account.csv row 2)"
    ).tolist() == [True]


@pytest.mark.realdata
@pytest.mark.skipif(not DEVORG.is_dir(), reason="shared datasets absent")
def test_devorg_export_counts(tmp_path: Path) -> None:
    """The developer-org export loads whole, with totals computed from the CSV."""
    from acctlib.intake import load_source
    from acctlib.params import resolve_params

    params = resolve_params(
        None, ["profile=salesforce", f"data_dir={DEVORG}", "as_of=2026-03-31"]
    )
    intake = load_source(params)
    source = pd.read_csv(DEVORG / "Opportunity.csv", dtype=str)
    counts = intake.reconciliation().set_index("table")
    assert counts.loc["opportunities", "accepted"] == len(source)
    assert counts.loc["accounts", "accepted"] == 18
    assert counts.loc["stage_history", "read"] == 48
    won = source[source["StageName"] == "Closed Won"]["Amount"].astype(float).sum()
    opportunities = intake.tables["opportunities"]
    got = opportunities.loc[opportunities["stage_category"] == "won", "amount"].sum()
    assert got == pytest.approx(won)
    assert counts["reconciled"].all()
    lint = intake.extras["stage_lint"]
    assert not (lint["level"] == "error").any()


@pytest.mark.realdata
@pytest.mark.skipif(not DEVORG.is_dir(), reason="shared datasets absent")
def test_devorg_wins_close_on_history_date() -> None:
    """Every deal won on 23 Feb 2026 closes then, whether lost later or not."""
    import datetime as dt

    from acctlib.asof import OpportunityHistory
    from acctlib.intake import load_source
    from acctlib.params import resolve_params

    params = resolve_params(
        None, ["profile=salesforce", f"data_dir={DEVORG}", "as_of=2026-03-31"]
    )
    tables = load_source(params).tables
    prepared = OpportunityHistory(
        tables["opportunities"], tables["stage_history"], params["stage_map"]
    )
    february = prepared.snapshot(dt.date(2026, 2, 28))
    march = prepared.snapshot(dt.date(2026, 3, 31))

    won_march = march[march["is_won"]]
    assert len(won_march) == 12
    assert won_march["amount"].sum() == 2_815_000.0
    assert (won_march["closed_on"] == pd.Timestamp("2026-02-23")).all()
    won_february = february[february["is_won"]].set_index("opportunity_id")
    still_won = won_february.loc[won_march["opportunity_id"], "closed_on"]
    assert (still_won == pd.Timestamp("2026-02-23")).all()
    lost_since = won_february.index.difference(won_march["opportunity_id"])
    assert len(lost_since) == 7
    assert won_february.loc[lost_since, "amount"].sum() == 830_000.0


def test_deleted_records_dropped(tmp_path: Path) -> None:
    """Recycle-bin rows of an "Export All" are dropped with a note."""
    accounts = (
        "Id,IsDeleted,Name,CreatedDate\n"
        "0015g00000AbCdE,FALSE,Acme,2023-01-05T10:00:00.000Z\n"
        "0015g00000Gone1,TRUE,Gone,2023-01-05T10:00:00.000Z\n"
    )
    files = {"Account.csv": accounts, "Opportunity.csv": LOADER_OPPORTUNITIES}
    intake = load(tmp_path, files, "salesforce")
    assert list(intake.tables["accounts"]["name"]) == ["Acme"]
    assert any(
        "Dropped 1 deleted record (IsDeleted true)" in note for note in intake.notes
    )


def test_account_created_date_read(tmp_path: Path) -> None:
    """Accounts keep their CreatedDate, in both export kinds, without a note."""
    loader = load(tmp_path / "loader", loader_files(), "salesforce")
    created = loader.tables["accounts"].set_index("name")["created_at"]
    assert created["Acme"] == pd.Timestamp("2023-01-05 10:00:00", tz="UTC")
    assert created["Beacon"] == pd.Timestamp("2023-02-05 10:00:00", tz="UTC")
    assert not any("No account creation date" in note for note in loader.notes)

    files = {"Account.csv": REPORT_ACCOUNTS, "Opportunity.csv": REPORT_OPPORTUNITIES}
    report = load(tmp_path / "report", files, "salesforce")
    created = report.tables["accounts"].set_index("name")["created_at"]
    assert created["Acme"] == pd.Timestamp("2023-01-05", tz="UTC")
    assert not any("No account creation date" in note for note in report.notes)


def test_account_created_date_invalid(tmp_path: Path) -> None:
    """An invalid account CreatedDate is rejected naming the header."""
    files = loader_files()
    files["Account.csv"] = LOADER_ACCOUNTS.replace(
        "2023-02-05T10:00:00.000Z", "someday"
    )

    intake = load(tmp_path, files, "salesforce")

    frame = intake.quarantine.to_frame().set_index(["table", "row"])
    reason = frame.loc[("accounts", 2), "reason"]
    assert reason.startswith(
        "column \"CreatedDate\" (created_at): invalid date 'someday'"
    )
    assert frame.loc[("accounts", 2), "column"] == "created_at"


def test_account_created_date_fallback(tmp_path: Path) -> None:
    """Blank or absent CreatedDate cells are dated by the earliest opportunity."""
    files = loader_files()
    files["Account.csv"] = LOADER_ACCOUNTS.replace("2023-02-05T10:00:00.000Z", "")
    blank = load(tmp_path / "blank", files, "salesforce")
    created = blank.tables["accounts"].set_index("name")["created_at"]
    assert created["Acme"] == pd.Timestamp("2023-01-05 10:00:00", tz="UTC")
    assert created["Beacon"] == pd.Timestamp("2024-02-02 09:00:00", tz="UTC")
    assert any("No account creation date for 1 account;" in n for n in blank.notes)

    files["Account.csv"] = "Id,Name\n0015g00000AbCdE,Acme\n0015g00000abcde,Beacon\n"
    absent = load(tmp_path / "absent", files, "salesforce")
    created = absent.tables["accounts"].set_index("name")["created_at"]
    assert created["Acme"] == pd.Timestamp("2024-01-02 09:00:00", tz="UTC")
    assert any("No account creation date for 2 accounts" in n for n in absent.notes)
