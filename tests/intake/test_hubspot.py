"""The HubSpot profile on small exports written here."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pandas as pd
import pytest
import yaml

from acctlib import accountmap, asof, build, schema
from acctlib.dataquality import has_errors, summarize_account_amounts
from acctlib.errors import InputError, ParameterError
from acctlib.intake import PROFILES_DIR, describe_unreconciled
from acctlib.intake.hubspot import compute_account_amounts, stage_labels_by_id
from acctlib.intake.quarantine import Quarantine
from tests.intake.helpers import load, rejected_record

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


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("first", {"9001": 50000, "9002": 0, "9003": 20000}),
        ("equal", {"9001": 25000, "9002": 25000, "9003": 20000}),
    ],
)
def test_rejected_deal_rows_have_no_links(
    tmp_path: Path, rule: str, expected: dict
) -> None:
    """A repeated deal row and a deal of an unknown company credit no account."""
    files = hubspot_files()
    shared_deal = DEALS.splitlines()[1]
    files["deals.csv"] += (
        f"{shared_deal}\nD4,Lost,Closed Won,1200,2024-03-15,2024-01-09 10:00,9999,,,\n"
    )

    intake = load(tmp_path, files, "hubspot", f"shared_deal_split={rule}")

    links = intake.extras["deal_companies"]
    assert links["opportunity_id"].tolist() == ["D1", "D1", "D2"]
    amounts = compute_account_amounts(intake.tables["opportunities"], links)
    amounts = amounts.set_index("account_id")
    won = amounts.loc[list(expected), "won_amount"]
    assert won.to_dict() == expected
    assert amounts["won_amount"].sum() == 80000
    assert amounts.loc["9001", "shared_deals"] == 1
    assert amounts.loc["9002", "shared_deals"] == 1
    assert amounts.loc["9003", "shared_deals"] == 0


def test_account_amounts_show_names(tmp_path: Path) -> None:
    """The data-quality table of won amounts names each account."""
    intake = load(tmp_path, hubspot_files(), "hubspot")

    amounts = summarize_account_amounts(intake).set_index("account_id")

    assert amounts.loc["9001", "name"] == "Acme"
    assert amounts.loc["9003", "name"] == "Cobalt"
    assert amounts.loc[schema.NO_ACCOUNT, "name"] == ""


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


def test_missing_converted_amount_noted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Deals without the converted amount column get a log line and a note."""
    with caplog.at_level(logging.INFO, logger="acctlib.intake.mapped"):
        intake = load(tmp_path, hubspot_files(), "hubspot")

    notes = [note for note in intake.notes if "no column for amount" in note]
    assert notes == [
        "deals.csv has no column for amount ('Amount in company currency', "
        "'amount_in_home_currency'), so amounts come from 'Amount' "
        "(amount_original), converted where their currency is not the report "
        "currency."
    ]
    messages = [record.getMessage() for record in caplog.records]
    assert any(
        message.endswith(
            "deals.csv: no column for amount; left empty, so amounts come from "
            "amount_original ('Amount')"
        )
        for message in messages
    )
    won = intake.tables["opportunities"].set_index("opportunity_id")["amount"]
    assert won["D1"] == 50000


def test_converted_amount_column_no_note(tmp_path: Path) -> None:
    """Deals with the converted amount column read it without a note."""
    files = hubspot_files()
    files["deals.csv"] = (
        DEALS.replace("Amount,", "Amount,Amount in company currency,", 1)
        .replace(",50000,", ",50000,50000,")
        .replace(",20000,", ",20000,20000,")
    )
    files["deals.csv"] = files["deals.csv"].replace(",10000,", ",10000,10000,")

    intake = load(tmp_path, files, "hubspot")

    assert not [note for note in intake.notes if "no column for amount" in note]
    won = intake.tables["opportunities"].set_index("opportunity_id")["amount"]
    assert won["D1"] == 50000


def test_point_thousands_amounts_stop(tmp_path: Path) -> None:
    """Amounts such as 12.500 stop intake instead of reading as 12.5."""
    files = hubspot_files()
    deals = files["deals.csv"].replace(",50000,", ",50.000,")
    deals = deals.replace(",20000,", ",20.000,").replace(",10000,", ",10.000,")
    files["deals.csv"] = deals

    with pytest.raises(InputError, match="exactly three digits") as error:
        load(tmp_path, files, "hubspot")

    message = str(error.value)
    assert 'deals.csv, column "Amount"' in message
    assert "'50.000', '20.000', '10.000'" in message
    assert "declared locale en-US" in message
    assert "locale: de-DE" in message
    assert "on rows 1, 2, 3" in message
    assert error.value.row == 1


def test_date_entered_columns_history(tmp_path: Path) -> None:
    """Each filled "Date entered" cell is one stage-history row."""
    intake = load(tmp_path, hubspot_files(), "hubspot")
    history = intake.tables["stage_history"]
    assert len(history) == 5
    d1 = history[history["opportunity_id"] == "D1"]
    assert list(d1["stage"]) == ["Appointment Scheduled", "Closed Won"]


def test_unknown_company_rejection_keeps_export_text(tmp_path: Path) -> None:
    """A deal of an unknown company and its history keep the export's text."""
    files = hubspot_files()
    files["deals.csv"] += (
        'D4,Lost,Closed Won,"1,200.50",3/15/2026,2024-01-09 10:00,9999,'
        "New Business,,3/15/2026\n"
    )

    intake = load(tmp_path, files, "hubspot")

    deal = rejected_record(intake, "opportunities")
    assert deal["opportunity_id"] == "D4"
    assert deal["amount_original"] == "1,200.50"
    assert deal["close_date"] == "3/15/2026"
    assert deal["created_at"] == "2024-01-09 10:00"
    stage = rejected_record(intake, "stage_history")
    assert stage == {
        "opportunity_id": "D4",
        "stage": "Closed Won",
        "entered_at": "3/15/2026",
    }


def test_rejected_deal_history_rows_each_count(tmp_path: Path) -> None:
    """Each history row derived from a rejected deal counts as one rejection."""
    files = hubspot_files()
    files["deals.csv"] += (
        "D4,Lost,Closed Won,1200,2024-03-15,2024-01-09 10:00,9999,"
        "New Business,2024-01-09 10:00,2024-03-15 12:00\n"
    )

    intake = load(tmp_path, files, "hubspot")

    counts = intake.reconciliation().set_index("table")
    assert counts.loc["stage_history", "read"] == 7
    assert counts.loc["stage_history", "accepted"] == 5
    assert counts.loc["stage_history", "rejected"] == 2
    assert counts["reconciled"].all()
    summary = intake.quarantine.summary().set_index("table")
    assert summary.loc["stage_history", "rows"] == 2


def test_repeated_deal_history_is_rejected(tmp_path: Path) -> None:
    """History rows of a repeated deal row are read and rejected with it."""
    files = hubspot_files()
    files["deals.csv"] += DEALS.splitlines()[2] + "\n"

    intake = load(tmp_path, files, "hubspot")

    counts = intake.reconciliation().set_index("table")
    assert counts.loc["stage_history", "read"] == 7
    assert counts.loc["stage_history", "accepted"] == 5
    assert counts.loc["stage_history", "rejected"] == 2
    assert counts["reconciled"].all()
    frame = intake.quarantine.to_frame()
    history = frame[frame["table"] == "stage_history"]
    assert history["row"].tolist() == [4, 4]
    assert history["value"].tolist() == ["D2", "D2"]
    for reason in history["reason"]:
        assert reason.startswith("derived from deals.csv row 4, whose opportunities")
        assert 'duplicate value of column "Record ID"' in reason


def test_unreconciled_counts_warn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A table whose counts do not add up gets a run note and a build warning."""
    files = hubspot_files()
    files["deals.csv"] += (
        "D4,Lost,Closed Won,1200,2024-03-15,2024-01-09 10:00,9999,"
        "New Business,2024-01-09 10:00,2024-03-15 12:00\n"
    )
    count = Quarantine.count

    def count_no_history(self: Quarantine, table: str | None = None) -> int:
        return 0 if table == "stage_history" else count(self, table)

    monkeypatch.setattr(Quarantine, "count", count_no_history)

    intake = load(tmp_path, files, "hubspot")
    with caplog.at_level(logging.WARNING, logger="acctlib.build"):
        build._log_intake({"data_dir": str(tmp_path)}, intake)

    expected = (
        "The row counts of the stage history table do not reconcile: 7 read, "
        "5 accepted, 0 rejected and 0 merged, so 2 rows were neither accepted, "
        "rejected nor merged."
    )
    notes = [note for note in intake.notes if "do not reconcile" in note]
    assert len(notes) == 1
    assert notes[0].startswith(expected)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(message.startswith(expected) for message in warnings)


def test_unreconciled_overcount_wording() -> None:
    """More rows counted than read are named as such."""
    counts = pd.DataFrame(
        [
            {
                "table": "accounts",
                "read": 3,
                "accepted": 3,
                "rejected": 1,
                "merged": 0,
                "reconciled": False,
            },
            {
                "table": "opportunities",
                "read": 2,
                "accepted": 2,
                "rejected": 0,
                "merged": 0,
                "reconciled": True,
            },
        ]
    )

    notes = describe_unreconciled(counts)

    assert len(notes) == 1
    assert "of the accounts table" in notes[0]
    assert "so 1 more row was counted than read." in notes[0]


def test_empty_rows_are_rejected_once(tmp_path: Path) -> None:
    """Rows of separators alone get one "empty row" reason each."""
    files = hubspot_files()
    files["companies.csv"] += ",,,,\n"
    files["deals.csv"] += ",,,,,,,,,\n"
    files["engagements.csv"] += ",,,,\n"

    intake = load(tmp_path, files, "hubspot")

    frame = intake.quarantine.to_frame()
    reasons = frame.set_index("table")["reason"].to_dict()
    assert reasons == {
        "accounts": "empty row",
        "opportunities": "empty row",
        "touchpoints": "empty row",
    }
    assert frame["row"].tolist() == [4, 4, 3]
    assert frame["column"].tolist() == ["", "", ""]
    counts = intake.counts().set_index("table")["rejected"]
    assert counts["accounts"] == 1
    assert counts["opportunities"] == 1
    assert counts["touchpoints"] == 1


def test_renamed_stage_header_error(tmp_path: Path) -> None:
    """A renamed required header is named among the file's own headers only."""
    files = hubspot_files()
    files["deals.csv"] = DEALS.replace("Deal Stage", "Pipeline Stage")

    with pytest.raises(InputError) as caught:
        load(tmp_path, files, "hubspot")

    message = str(caught.value)
    assert "column 'Deal Stage' (for stage) is missing" in message
    assert "'Pipeline Stage'" in message
    assert "_account" not in message
    assert "_type" not in message
    assert "The closest header is 'Pipeline Stage'." in message
    assert "optional_columns" not in message
    assert """'Date entered "Closed Won (Sales Pipeline)"'""" in message


@pytest.mark.parametrize("header", ['"""Record ID"""', '"""Record ID"', 'Record ID"'])
def test_stray_header_quotes_are_removed(tmp_path: Path, header: str) -> None:
    """Quotes around a header, or unpaired at one end, are not part of it."""
    files = hubspot_files()
    files["companies.csv"] = COMPANIES.replace("Record ID", header, 1)

    intake = load(tmp_path, files, "hubspot")

    assert sorted(intake.tables["accounts"]["account_id"]) == ["9001", "9002", "9003"]


def test_optional_header_error_suggests_optional(tmp_path: Path) -> None:
    """A missing header of a column that may be empty suggests optional_columns."""
    files = hubspot_files()
    files["deals.csv"] = DEALS.replace("Close Date", "Expected")

    with pytest.raises(InputError) as caught:
        load(tmp_path, files, "hubspot")

    message = str(caught.value)
    assert "(for close_date) is missing" in message
    assert "list close_date under optional_columns of the table" in message


def test_unknown_company_reason_names_header(tmp_path: Path) -> None:
    """A deal of an unknown company is named by the associations header."""
    files = hubspot_files()
    files["deals.csv"] += (
        "D4,Lost,Closed Won,1200,2024-03-15,2024-01-09 10:00,9999,,,\n"
    )

    intake = load(tmp_path, files, "hubspot")

    frame = intake.quarantine.to_frame()
    reason = frame.loc[frame["table"] == "opportunities", "reason"].tolist()
    assert reason == [
        'column "Associated Company IDs" (account_id) not found in accounts; '
        "add the accounts row or fix the ID"
    ]


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


# Exports with HubSpot's internal property names (API, warehouse syncs):
# stage IDs in dealstage and in hs_date_entered_<id> / hs_date_exited_<id>.

INTERNAL_COMPANIES = (
    "hs_object_id,name,domain,createdate\n"
    "9001,Acme,acme.com,2023-01-01T09:00:00.000Z\n"
    "9002,Beacon,beacon.io,2023-01-02T09:00:00.000Z\n"
)
INTERNAL_DEALS = (
    "hs_object_id,dealname,pipeline,dealstage,amount,closedate,createdate,"
    "associatedcompanyid,hs_date_entered_appointmentscheduled,"
    "hs_date_exited_appointmentscheduled,hs_date_entered_1234567,"
    "hs_date_exited_1234567,hs_date_entered_closedwon,hs_date_entered_7654321,"
    "hs_date_exited_7654321,hs_date_entered_555\n"
    "D1,Big,default,closedwon,50000,2024-03-01T00:00:00.000Z,"
    "2024-01-01T10:00:00.000Z,9001,2024-01-01T10:00:00.000Z,"
    "2024-02-01T10:00:00.000Z,2024-02-01T10:00:00.000Z,"
    "2024-03-01T12:00:00.000Z,2024-03-01T12:00:00.000Z,"
    "2024-01-15T10:00:00.000Z,2024-01-20T10:00:00.000Z,\n"
    "D2,Mid,default,1234567,20000,2024-09-01T00:00:00.000Z,"
    "2024-02-01T10:00:00.000Z,9002,2024-02-01T10:00:00.000Z,"
    "2024-03-01T10:00:00.000Z,2024-03-01T10:00:00.000Z,,,"
    "2024-02-15T10:00:00.000Z,,\n"
    "D3,Small,default,appointmentscheduled,5000,2024-10-01T00:00:00.000Z,"
    "2024-04-01T10:00:00.000Z,9002,2024-04-01T10:00:00.000Z,,,,,,,\n"
)


def profile_with_custom_stage(tmp_path: Path) -> str:
    """Write the HubSpot profile plus a custom stage with the ID 1234567."""
    profile = yaml.safe_load(
        (PROFILES_DIR / "hubspot.yaml").read_text(encoding="utf-8")
    )
    profile["stage_map"]["Demo Booked"] = {
        "category": "open",
        "probability": 0.3,
        "forecast_category": "pipeline",
        "order": 2,
        "ids": ["1234567"],
    }
    path = tmp_path / "hubspot-custom.yaml"
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    return str(path)


def internal_files() -> dict[str, str]:
    return {"companies.csv": INTERNAL_COMPANIES, "deals.csv": INTERNAL_DEALS}


def test_internal_stage_ids_become_labels(tmp_path: Path) -> None:
    """dealstage IDs of the default and a custom pipeline map to labels."""
    intake = load(tmp_path, internal_files(), profile_with_custom_stage(tmp_path))
    deals = intake.tables["opportunities"].set_index("opportunity_id")
    assert deals["stage"].to_dict() == {
        "D1": "Closed Won",
        "D2": "Demo Booked",
        "D3": "Appointment Scheduled",
    }
    assert deals["stage_category"].to_dict() == {
        "D1": "won",
        "D2": "open",
        "D3": "open",
    }
    assert intake.quarantine.count() == 0


def test_internal_date_entered_history(tmp_path: Path) -> None:
    """hs_date_entered_<id> columns become history rows under stage labels."""
    intake = load(tmp_path, internal_files(), profile_with_custom_stage(tmp_path))
    history = intake.tables["stage_history"]
    entries = {
        (row.opportunity_id, row.stage): row.entered_at.isoformat()
        for row in history.itertuples()
    }
    assert entries == {
        ("D1", "Appointment Scheduled"): "2024-01-01T10:00:00+00:00",
        ("D1", "Demo Booked"): "2024-02-01T10:00:00+00:00",
        ("D1", "Closed Won"): "2024-03-01T12:00:00+00:00",
        ("D2", "Appointment Scheduled"): "2024-02-01T10:00:00+00:00",
        ("D2", "Demo Booked"): "2024-03-01T10:00:00+00:00",
        ("D3", "Appointment Scheduled"): "2024-04-01T10:00:00+00:00",
    }
    assert "1234567" not in set(history["stage"])


def test_unknown_stage_id_is_linted(tmp_path: Path) -> None:
    """An ID no stage lists is reported with its column and deal count."""
    intake = load(tmp_path, internal_files(), profile_with_custom_stage(tmp_path))
    lint = intake.extras["stage_lint"]
    errors = lint[lint["check"] == "unmapped stage id"]
    assert errors["level"].tolist() == ["error", "error"]
    assert errors["stage"].tolist() == ["7654321", "7654321"]
    assert errors["rows"].tolist() == [2, 1]
    assert errors["message"].tolist() == [
        "stage id '7654321' of column 'hs_date_entered_7654321' is not in the "
        "stage map but 2 deals have dates there; add ids: ['7654321'] to the "
        "stage it names",
        "stage id '7654321' of column 'hs_date_exited_7654321' is not in the "
        "stage map but 1 deal has a date there; add ids: ['7654321'] to the "
        "stage it names",
    ]
    assert "7654321" not in set(intake.tables["stage_history"]["stage"])
    assert "555" not in set(lint["stage"])
    assert has_errors(intake)


def test_custom_stage_id_without_entry(tmp_path: Path) -> None:
    """With the stock profile the custom ID is linted and its deal rejected."""
    intake = load(tmp_path, internal_files(), "hubspot")
    lint = intake.extras["stage_lint"].set_index(["check", "stage"])
    assert lint.loc[("unmapped stage id", "1234567"), "rows"].tolist() == [2, 1]
    assert lint.loc[("unmapped stage", "1234567"), "rows"] == 1
    rejected = intake.quarantine.to_frame().set_index("table")
    assert rejected.loc["opportunities", "column"] == "stage"
    assert rejected.loc["opportunities", "value"] == "1234567"
    assert rejected.loc["stage_history", "value"] == "D2"
    assert intake.tables["opportunities"]["opportunity_id"].tolist() == ["D1", "D3"]


def test_label_and_internal_columns_once(tmp_path: Path) -> None:
    """A stage with both a label and an internal column gives one row."""
    deals = (
        "Record ID,Deal Stage,Amount,Close Date,Create Date,"
        'Date entered "Closed Won (Sales Pipeline)",hs_date_entered_closedwon\n'
        "D1,Closed Won,100,2024-03-01,2024-01-01,2024-03-01 12:00,"
        "2024-03-01T12:00:00.000Z\n"
    )
    files = {"companies.csv": COMPANIES, "deals.csv": deals}
    intake = load(tmp_path, files, "hubspot")
    history = intake.tables["stage_history"]
    assert history["stage"].tolist() == ["Closed Won"]
    assert intake.reconciliation().set_index("table").loc["stage_history", "read"] == 1


def test_upper_case_stage_id_columns(tmp_path: Path) -> None:
    """A sync that upper-cases IDs in headers and values still maps them."""
    deals = (
        "HS_OBJECT_ID,DEALSTAGE,AMOUNT,CLOSEDATE,CREATEDATE,"
        "HS_DATE_ENTERED_QUALIFIEDTOBUY,HS_DATE_ENTERED_CLOSEDLOST\n"
        "D1,CLOSEDLOST,100,2024-03-01,2024-01-01,2024-01-02,2024-03-01\n"
    )
    files = {"companies.csv": COMPANIES, "deals.csv": deals}
    intake = load(tmp_path, files, "hubspot")
    assert intake.tables["opportunities"]["stage"].tolist() == ["Closed Lost"]
    history = intake.tables["stage_history"]
    assert history["stage"].tolist() == ["Qualified To Buy", "Closed Lost"]
    assert intake.extras["unmapped_stage_ids"].empty


def test_stage_id_under_two_stages_raises() -> None:
    stage_map = {
        "Demo": {"category": "open", "ids": ["123"]},
        "Trial": {"category": "open", "ids": [123]},
    }
    with pytest.raises(ParameterError, match="stage id '123' is listed under both"):
        stage_labels_by_id(stage_map)


NO_WON_DATE_DEALS = (
    "Record ID,Deal Name,Deal Stage,Amount,Close Date,Create Date,"
    "Associated Company IDs,Last Modified Date,"
    'Date entered "Appointment Scheduled (Sales Pipeline)"\n'
    "D1,Won,Closed Won,50000,2024-03-01,2024-01-01 10:00,9001,"
    "2024-12-20 09:00,2024-01-01 10:00\n"
    "D2,Sent,Contract Sent,20000,2025-02-01,2024-01-05 10:00,9002,"
    "2024-12-20 09:00,2024-01-05 10:00\n"
    "D3,Booked,Appointment Scheduled,10000,2025-03-01,2024-12-18 10:00,9003,"
    "2024-12-20 09:00,2024-12-18 10:00\n"
)


def test_export_without_won_date_column(tmp_path: Path) -> None:
    """Won and later-stage deals count in their CRM stage on the report date."""
    files = {"companies.csv": COMPANIES, "deals.csv": NO_WON_DATE_DEALS}
    intake = load(tmp_path, files, "hubspot")
    tables = intake.tables

    snapshot = asof.snapshot_opportunities(
        tables["opportunities"],
        tables["stage_history"],
        intake.stage_map,
        dt.date(2024, 12, 31),
    ).set_index("opportunity_id")
    before = asof.snapshot_opportunities(
        tables["opportunities"],
        tables["stage_history"],
        intake.stage_map,
        dt.date(2024, 2, 29),
    ).set_index("opportunity_id")

    assert bool(snapshot.loc["D1", "is_won"])
    assert snapshot.loc["D1", "closed_on"] == pd.Timestamp("2024-03-01")
    assert snapshot.loc["D2", "stage_asof"] == "Contract Sent"
    assert snapshot.loc["D2", "forecast_category_asof"] == "commit"
    assert snapshot.loc["D2", "history_stage_asof"] == "Appointment Scheduled"
    assert snapshot.loc["D3", "stage_asof"] == "Appointment Scheduled"
    assert before.loc["D1", "stage_asof"] == "Appointment Scheduled"
    assert before.loc["D2", "stage_asof"] == "Appointment Scheduled"
