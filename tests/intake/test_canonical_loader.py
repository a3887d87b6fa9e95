"""Tests for reading a canonical data folder with acctlib.intake.load_source.

Each test writes a few rows per table into ``tmp_path`` and loads them with
the canonical profile. Valid rows start from the ``*_ROW`` dictionaries
below, and a case changes only the cells it is about.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from acctlib import schema
from acctlib.errors import InputError
from acctlib.intake import Intake, load_source
from acctlib.intake.canonical import (
    RawTable,
    canonicalize,
    is_mostly_failed,
    missing_columns_advice,
)
from acctlib.intake.files import csv_row_numbers
from acctlib.intake.quarantine import Quarantine
from acctlib.params import resolve_params

ACCOUNT_ROW = {
    "account_id": "A1",
    "name": "Acme",
    "industry": "Software",
    "country": "DE",
    "region": "EMEA",
    "employees": "120",
    "annual_revenue": "5000000",
    "owner": "Dana",
    "created_at": "2024-01-01T00:00:00Z",
}
OPPORTUNITY_ROW = {
    "opportunity_id": "O1",
    "account_id": "A1",
    "type": "new_business",
    "stage": "Discovery",
    "amount": "1000",
    "created_at": "2024-02-01T10:00:00Z",
    "close_date": "2024-06-30",
}
STAGE_HISTORY_ROW = {
    "opportunity_id": "O1",
    "stage": "Discovery",
    "entered_at": "2024-02-01T10:00:00Z",
}
TOUCHPOINT_ROW = {
    "touch_id": "T1",
    "account_id": "A1",
    "contact_id": "C1",
    "occurred_at": "2024-01-15T09:00:00Z",
    "channel": "webinar",
    "function": "marketing",
    "touch_type": "attend",
}
REVENUE_ROW = {"account_id": "A1", "month": "2024-07-01", "amount": "250"}
SIGNAL_ROW = {
    "account_id": "A1",
    "occurred_at": "2024-03-01T00:00:00Z",
    "signal_type": "funding",
    "value": "1",
}
VALID_ROWS = {
    "accounts": ACCOUNT_ROW,
    "opportunities": OPPORTUNITY_ROW,
    "stage_history": STAGE_HISTORY_ROW,
    "touchpoints": TOUCHPOINT_ROW,
    "revenue": REVENUE_ROW,
    "signals": SIGNAL_ROW,
}


def write_table(
    folder: Path, table: str, rows: list[dict], *, encoding: str = "utf-8"
) -> Path:
    """Write ``rows`` to ``folder/table.csv`` and return the path.

    The header is the union of the rows' keys in first-seen order, and a
    row without one of those keys gets a blank cell.
    """
    columns = list(dict.fromkeys(key for row in rows for key in row))
    path = folder / f"{table}.csv"
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_source(
    folder: Path,
    accounts: list[dict] | None = None,
    opportunities: list[dict] | None = None,
    **optional_tables: list[dict],
) -> None:
    """Write a canonical folder, with one valid account and opportunity by default."""
    write_table(folder, "accounts", accounts or [ACCOUNT_ROW])
    write_table(folder, "opportunities", opportunities or [OPPORTUNITY_ROW])
    for table, rows in optional_tables.items():
        write_table(folder, table, rows)


def load(folder: Path) -> Intake:
    params = resolve_params(None, [f"data_dir={folder}", "as_of=2024-12-31"])
    return load_source(params)


def rejected(intake: Intake, table: str) -> pd.DataFrame:
    """Return the quarantined rows of ``table`` with a fresh 0-based index."""
    frame = intake.quarantine.to_frame()
    return frame[frame["table"] == table].reset_index(drop=True)


# Each case writes two rows of ``table``: row 1 valid, row 2 the valid row
# with ``changes`` applied. Row 2 must land in the quarantine on ``column``
# with ``value`` and a reason matching ``reason``, and only row 1 is
# accepted. Accounts and opportunities get one valid row unless the case is
# about them; the other optional tables are left out.
INVALID_ROW_CASES = [
    pytest.param(
        "accounts",
        {"account_id": "A2", "created_at": "15/03/2024"},
        "created_at",
        "15/03/2024",
        r"^invalid timestamp; expected ISO 8601",
        id="unparseable-timestamp",
    ),
    pytest.param(
        "accounts",
        {"account_id": ""},
        "account_id",
        "",
        r"^account_id is empty but required; enter a value in the export or remove "
        r"the row$",
        id="empty-account-id",
    ),
    pytest.param(
        "opportunities",
        {"opportunity_id": ""},
        "opportunity_id",
        "",
        r"^opportunity_id is empty but required; enter a value in the export or remove "
        r"the row$",
        id="empty-opportunity-id",
    ),
    pytest.param(
        "accounts",
        {"account_id": "A2", "name": ""},
        "name",
        "",
        r"^name is empty but required; enter a value in the export or remove "
        r"the row$",
        id="empty-account-name",
    ),
    pytest.param(
        "opportunities",
        {"opportunity_id": "O2", "type": "upsell"},
        "type",
        "upsell",
        r"^type must be one of new_business, expansion, renewal$",
        id="opportunity-type-not-allowed",
    ),
    pytest.param(
        "touchpoints",
        {"touch_id": "T2", "function": "sales"},
        "function",
        "sales",
        r"^function must be one of marketing, sdr, ae, se, cs, partner$",
        id="touch-function-not-allowed",
    ),
    pytest.param(
        "accounts",
        {"name": "Acme again"},
        "account_id",
        "A1",
        r"^duplicate value of account_id; first seen on row 1; remove or merge the "
        r"repeated rows, or export one row per account_id$",
        id="duplicate-account-id",
    ),
    pytest.param(
        "touchpoints",
        {"channel": "email"},
        "touch_id",
        "T1",
        r"^duplicate value of touch_id; first seen on row 1; remove or merge the "
        r"repeated rows, or export one row per touch_id$",
        id="duplicate-touch-id",
    ),
    pytest.param(
        "revenue",
        {"amount": "300"},
        "account_id",
        "A1",
        r"^duplicate value of account_id/month; first seen on row 1; remove or merge "
        r"the repeated rows, or export one row per account_id and month$",
        id="duplicate-revenue-month",
    ),
    pytest.param(
        "opportunities",
        {"opportunity_id": "O2", "account_id": "ZZ"},
        "account_id",
        "ZZ",
        r"^account_id not found in accounts; add the accounts row or fix the ID$",
        id="opportunity-unknown-account",
    ),
    pytest.param(
        "opportunities",
        {"opportunity_id": "O2", "account_id": "a1"},
        "account_id",
        "a1",
        r"^account_id not found in accounts; add the accounts row or fix the ID\. "
        r"Did you mean 'A1'\? IDs match only when written alike, case included$",
        id="opportunity-account-in-other-case",
    ),
    pytest.param(
        "touchpoints",
        {"touch_id": "T2", "account_id": "ZZ"},
        "account_id",
        "ZZ",
        r"^account_id not found in accounts",
        id="touchpoint-unknown-account",
    ),
    pytest.param(
        "stage_history",
        {"opportunity_id": "O9"},
        "opportunity_id",
        "O9",
        r"^opportunity_id not found in opportunities",
        id="stage-history-unknown-opportunity",
    ),
    pytest.param(
        "opportunities",
        {"opportunity_id": "O2", "stage": "Verbal"},
        "stage",
        "Verbal",
        r"^stage 'Verbal' is not in the stage map; add it to the stage_map "
        r"parameter with its category \(open, won or lost\)\.$",
        id="stage-not-in-stage-map",
    ),
    pytest.param(
        "opportunities",
        {"opportunity_id": "O2", "stage": "closed  won"},
        "stage",
        "closed  won",
        r"^stage 'closed  won' is not in the stage map, which has 'Closed Won'; "
        r"write the stage as 'Closed Won', or add it to the stage_map",
        id="stage-differs-in-case-and-spaces",
    ),
    pytest.param(
        "opportunities",
        {"opportunity_id": "O2", "stage": "Negotiaton"},
        "stage",
        "Negotiaton",
        r"^stage 'Negotiaton' is not in the stage map; closest mapped stages: "
        r"'Negotiation'\. Correct the value, or add it to the stage_map",
        id="stage-close-to-mapped",
    ),
    pytest.param(
        "opportunities",
        {"opportunity_id": "O2", "stage": "", "stage_category": ""},
        "stage",
        "",
        r"^stage is empty but required; fill in the opportunity's stage",
        id="stage-empty",
    ),
]


@pytest.mark.parametrize(
    ("table", "changes", "column", "value", "reason"), INVALID_ROW_CASES
)
def test_invalid_row_goes_to_quarantine(
    tmp_path, table, changes, column, value, reason
):
    tables = {table: [VALID_ROWS[table], {**VALID_ROWS[table], **changes}]}
    write_source(tmp_path, **tables)

    intake = load(tmp_path)

    accepted = intake.tables[table]
    assert len(accepted) == 1
    key_column = next(iter(VALID_ROWS[table]))
    assert accepted[key_column].tolist() == [VALID_ROWS[table][key_column]]

    quarantined = rejected(intake, table)
    assert len(quarantined) == 1
    entry = quarantined.iloc[0]
    assert entry["file"] == str(tmp_path / f"{table}.csv")
    assert entry["row"] == 2
    assert entry["column"] == column
    assert entry["value"] == value
    assert re.search(reason, entry["reason"])
    assert intake.quarantine.to_frame()["table"].tolist() == [table]


@pytest.mark.parametrize(
    ("label", "accepted"),
    [
        ("New Business", "new_business"),
        ("new-business", "new_business"),
        ("NewBusiness", "new_business"),
        ("Renewal ", "renewal"),
        ("EXPANSION", "expansion"),
    ],
)
def test_deal_type_label_gets_hint(tmp_path, label, accepted):
    write_source(
        tmp_path,
        opportunities=[
            OPPORTUNITY_ROW,
            {**OPPORTUNITY_ROW, "opportunity_id": "O2", "type": label},
        ],
    )

    quarantined = rejected(load(tmp_path), "opportunities")

    assert quarantined["value"].tolist() == [label]
    assert quarantined["reason"].iloc[0] == (
        f"type {label.strip()!r} looks like a label of {accepted}, but type must "
        "be one of new_business, expansion, renewal; write "
        f"{accepted} in the file's type column, or read the export through a "
        "source profile whose type_map maps its deal-type labels (the salesforce "
        "and hubspot profiles have one)"
    )


@pytest.mark.parametrize(
    ("table", "changes", "column", "raw"),
    [
        (
            "accounts",
            {"account_id": "A2", "annual_revenue": "-1.50"},
            "annual_revenue",
            "-1.50",
        ),
        (
            "opportunities",
            {"opportunity_id": "O2", "type": " upsell "},
            "type",
            " upsell ",
        ),
        (
            "opportunities",
            {"opportunity_id": "O2", "account_id": " ZZ "},
            "account_id",
            " ZZ ",
        ),
    ],
    ids=["below-minimum", "not-allowed", "unknown-reference"],
)
def test_schema_failure_keeps_raw_value(tmp_path, table, changes, column, raw):
    write_source(
        tmp_path, **{table: [VALID_ROWS[table], {**VALID_ROWS[table], **changes}]}
    )

    quarantined = rejected(load(tmp_path), table)

    assert quarantined["column"].tolist() == [column]
    assert quarantined["value"].tolist() == [raw]


# Each case writes two rows of ``table``: row 1 valid, row 2 the valid row
# with a bad value in an optional column. Both rows are accepted, row 2's
# cell is blanked, and the quarantine lists the cell with its raw text.
BLANKED_CELL_CASES = [
    pytest.param(
        "opportunities",
        {"opportunity_id": "O2", "close_date": "2024-15-03"},
        "close_date",
        "2024-15-03",
        r"^invalid date; '2024-15-03' is not a day of the calendar; correct the "
        r"day or the month$",
        id="day-not-in-calendar",
    ),
    pytest.param(
        "opportunities",
        {"opportunity_id": "O2", "close_date": "15.03.2024"},
        "close_date",
        "15.03.2024",
        r"^invalid date '15\.03\.2024'; expected YYYY-MM-DD$",
        id="unparseable-date",
    ),
    pytest.param(
        "opportunities",
        {"opportunity_id": "O2", "amount": "1,000"},
        "amount",
        "1,000",
        r"^invalid amount; expected a plain decimal",
        id="non-numeric-amount",
    ),
    pytest.param(
        "accounts",
        {"account_id": "A2", "employees": "12.5"},
        "employees",
        "12.5",
        r"^invalid whole number '12\.5'; expected digits such as 12 or 1200$",
        id="fractional-employees",
    ),
    pytest.param(
        "accounts",
        {"account_id": "A2", "is_target": "maybe"},
        "is_target",
        "maybe",
        r"^invalid boolean; expected true/false, yes/no or 1/0$",
        id="invalid-boolean",
    ),
    pytest.param(
        "accounts",
        {"account_id": "A2", "employees": "-3"},
        "employees",
        "-3",
        r"^employees is below its minimum 0",
        id="negative-employees",
    ),
    pytest.param(
        "accounts",
        {"account_id": "A2", "annual_revenue": " -1.50 "},
        "annual_revenue",
        " -1.50 ",
        r"^annual_revenue is below its minimum 0",
        id="negative-annual-revenue",
    ),
    pytest.param(
        "opportunities",
        {"opportunity_id": "O2", "contract_months": "0"},
        "contract_months",
        "0",
        r"^contract_months is below its minimum 1",
        id="zero-contract-months",
    ),
    pytest.param(
        "touchpoints",
        {"touch_id": "T2", "contact_id": "   "},
        None,
        None,
        None,
        id="blank-optional-id-is-no-finding",
    ),
]


@pytest.mark.parametrize(
    ("table", "changes", "column", "value", "reason"), BLANKED_CELL_CASES
)
def test_bad_optional_cell_is_blanked(tmp_path, table, changes, column, value, reason):
    tables = {table: [VALID_ROWS[table], {**VALID_ROWS[table], **changes}]}
    write_source(tmp_path, **tables)

    intake = load(tmp_path)

    accepted = intake.tables[table]
    key_column = next(iter(VALID_ROWS[table]))
    second_key = changes[key_column]
    assert accepted[key_column].tolist() == [VALID_ROWS[table][key_column], second_key]
    assert intake.quarantine.count() == 0
    findings = intake.quarantine.to_frame()
    if column is None:
        assert findings.empty
        return
    assert pd.isna(accepted[column].iloc[1])
    assert len(findings) == 1
    entry = findings.iloc[0]
    assert entry["table"] == table
    assert entry["file"] == str(tmp_path / f"{table}.csv")
    assert entry["row"] == 2
    assert entry["column"] == column
    assert entry["value"] == value
    assert entry["action"] == "cell blanked"
    assert re.search(reason, entry["reason"])
    assert intake.quarantine.count_blanked(table) == 1


@pytest.mark.parametrize(
    ("column", "raw", "mapped"),
    [
        ("probability", "-0.5", pytest.approx(0.2)),
        ("forecast_category", "maybe", "pipeline"),
    ],
)
def test_blanked_stage_value_is_refilled(tmp_path, column, raw, mapped):
    opportunities = [
        OPPORTUNITY_ROW,
        {**OPPORTUNITY_ROW, "opportunity_id": "O2", column: raw},
    ]
    write_source(tmp_path, opportunities=opportunities)

    intake = load(tmp_path)

    assert intake.tables["opportunities"][column].tolist() == [mapped, mapped]
    findings = intake.quarantine.to_frame()
    assert findings["column"].tolist() == [column]
    assert findings["value"].tolist() == [raw]
    assert findings["action"].tolist() == ["cell blanked"]


def test_rejected_row_lists_no_blanked_cell(tmp_path):
    accounts = [
        ACCOUNT_ROW,
        {**ACCOUNT_ROW, "account_id": "A2", "employees": "x", "created_at": "bad"},
        {**ACCOUNT_ROW, "account_id": "A3", "employees": "-1", "name": ""},
    ]
    write_source(tmp_path, accounts=accounts)

    intake = load(tmp_path)

    assert intake.tables["accounts"]["account_id"].tolist() == ["A1"]
    quarantined = rejected(intake, "accounts")
    assert quarantined["row"].tolist() == [2, 3]
    assert quarantined["column"].tolist() == ["created_at", "name"]
    assert quarantined["action"].tolist() == ["row rejected", "row rejected"]
    assert intake.quarantine.count_blanked() == 0


def test_bad_opportunity_account_rejects_row(tmp_path):
    opportunities = [
        OPPORTUNITY_ROW,
        {**OPPORTUNITY_ROW, "opportunity_id": "O2", "account_id": "A9"},
    ]
    write_source(tmp_path, opportunities=opportunities)

    intake = load(tmp_path)

    assert intake.tables["opportunities"]["opportunity_id"].tolist() == ["O1"]
    quarantined = rejected(intake, "opportunities")
    assert quarantined["action"].tolist() == ["row rejected"]
    assert quarantined["value"].tolist() == ["A9"]


def test_closed_deal_without_any_date_is_rejected(tmp_path):
    """A lost deal with no close date must not fall back into the pipeline."""
    opportunities = [
        OPPORTUNITY_ROW,
        {**OPPORTUNITY_ROW, "opportunity_id": "O2", "stage": "Closed Lost"},
        {**OPPORTUNITY_ROW, "opportunity_id": "O3", "stage": "Closed Won"},
    ]
    for row in opportunities[1:]:
        row["close_date"] = ""
    history = [
        STAGE_HISTORY_ROW,
        {**STAGE_HISTORY_ROW, "opportunity_id": "O3", "stage": "Closed Won"},
    ]
    write_source(tmp_path, opportunities=opportunities, stage_history=history)

    intake = load(tmp_path)

    # O3 keeps its stage history, which dates the close.
    accepted = intake.tables["opportunities"]["opportunity_id"].tolist()
    assert accepted == ["O1", "O3"]
    quarantined = rejected(intake, "opportunities")
    assert quarantined["row"].tolist() == [2]
    assert quarantined["column"].tolist() == ["close_date"]
    assert quarantined["reason"].str.startswith("lost without a close date").all()
    record = json.loads(quarantined.loc[0, "record"])
    assert record["close_date"] == ""
    assert record["opportunity_id"] == "O2"


def test_open_stage_history_does_not_date_close(tmp_path):
    """A won deal whose history has only open stages has no known close date."""
    opportunities = [
        OPPORTUNITY_ROW,
        {**OPPORTUNITY_ROW, "opportunity_id": "O2", "stage": "Closed Won"},
        {**OPPORTUNITY_ROW, "opportunity_id": "O3", "stage": "Closed Won"},
    ]
    opportunities[1]["close_date"] = ""
    opportunities[2]["close_date"] = "11.03.2024"
    history = [
        STAGE_HISTORY_ROW,
        {**STAGE_HISTORY_ROW, "opportunity_id": "O2"},
        {**STAGE_HISTORY_ROW, "opportunity_id": "O3"},
    ]
    write_source(tmp_path, opportunities=opportunities, stage_history=history)

    intake = load(tmp_path)

    assert intake.tables["opportunities"]["opportunity_id"].tolist() == ["O1"]
    assert intake.tables["stage_history"]["opportunity_id"].tolist() == ["O1"]
    deals = rejected(intake, "opportunities")
    assert deals["row"].tolist() == [2, 3]
    assert deals["column"].tolist() == ["close_date", "close_date"]
    assert deals["value"].tolist() == ["", "11.03.2024"]
    assert deals["action"].tolist() == ["row rejected", "row rejected"]
    assert deals.loc[0, "reason"] == (
        "won without a close date or a won or lost stage in its stage history, "
        "so the date it closed is unknown; fill in close_date or export the "
        "stage history"
    )
    assert deals.loc[1, "reason"] == (
        "won with the invalid close date '11.03.2024' and no won or lost stage "
        "in its stage history, so the date it closed is unknown; correct "
        "close_date to a valid date"
    )
    entries = rejected(intake, "stage_history")
    assert entries["row"].tolist() == [2, 3]
    assert (
        entries["reason"]
        .str.startswith("opportunity_id points at a rejected row of opportunities")
        .all()
    )
    assert intake.quarantine.count("opportunities") == 2
    assert intake.quarantine.count("stage_history") == 2


def test_lost_stage_history_dates_won_close(tmp_path):
    """A history entry of any won or lost stage dates the close."""
    won = {**OPPORTUNITY_ROW, "stage": "Closed Won", "close_date": ""}
    history = [STAGE_HISTORY_ROW, {**STAGE_HISTORY_ROW, "stage": "Closed Lost"}]
    write_source(tmp_path, opportunities=[won], stage_history=history)

    intake = load(tmp_path)

    assert intake.tables["opportunities"]["opportunity_id"].tolist() == ["O1"]
    assert intake.quarantine.count() == 0


# Each case writes one row of ``table`` (the valid row with ``changes``)
# that the checks after parsing reject on ``column``. Its other cells are
# valid text that parsing rewrites: dates without a time, times without a
# zone, decimals with trailing zeros and a reference with a leading space.
LATE_REJECTION_CASES = [
    pytest.param(
        "opportunities",
        {
            "opportunity_id": "O2",
            "account_id": " A9",
            "amount": "1200.50",
            "created_at": "2024-02-01 10:00",
        },
        "account_id",
        id="opportunity-unknown-account",
    ),
    pytest.param(
        "opportunities",
        {
            "opportunity_id": "O2",
            "stage": "Closed Lost",
            "amount": "1200.50",
            "created_at": "2024-02-01",
            "close_date": "",
        },
        "close_date",
        id="lost-opportunity-without-date",
    ),
    pytest.param(
        "stage_history",
        {"opportunity_id": "O9", "entered_at": "2024-03-01"},
        "opportunity_id",
        id="stage-history-unknown-opportunity",
    ),
    pytest.param(
        "touchpoints",
        {"account_id": "A9", "occurred_at": "2024-01-15 09:00"},
        "account_id",
        id="touch-unknown-account",
    ),
    pytest.param(
        "revenue",
        {"account_id": "A9", "amount": "250.00"},
        "account_id",
        id="revenue-unknown-account",
    ),
    pytest.param(
        "signals",
        {"account_id": "A9", "occurred_at": "2024-03-01", "value": "1.50"},
        "account_id",
        id="signal-unknown-account",
    ),
]


@pytest.mark.parametrize(("table", "changes", "column"), LATE_REJECTION_CASES)
def test_late_rejection_keeps_file_text(tmp_path, table, changes, column):
    """A row rejected after parsing is recorded with the file's own text."""
    row = {**VALID_ROWS[table], **changes}
    if table == "opportunities":
        write_source(tmp_path, opportunities=[OPPORTUNITY_ROW, row])
    else:
        write_source(tmp_path, **{table: [row]})

    intake = load(tmp_path)

    quarantined = rejected(intake, table)
    assert quarantined["action"].tolist() == ["row rejected"]
    assert quarantined["column"].tolist() == [column]
    assert quarantined["value"].tolist() == [row[column]]
    assert json.loads(quarantined.loc[0, "record"]) == row


def test_duplicate_key_keeps_first_row(tmp_path):
    accounts = [
        ACCOUNT_ROW,
        {**ACCOUNT_ROW, "account_id": "A2", "name": "Beta"},
        {**ACCOUNT_ROW, "name": "Acme again"},
    ]
    write_source(tmp_path, accounts=accounts)

    intake = load(tmp_path)

    names = intake.tables["accounts"].set_index("account_id")["name"]
    assert names.to_dict() == {"A1": "Acme", "A2": "Beta"}
    quarantined = rejected(intake, "accounts")
    assert quarantined["row"].tolist() == [3]
    assert quarantined["reason"].tolist() == [
        "duplicate value of account_id; first seen on row 1; remove or merge the "
        "repeated rows, or export one row per account_id"
    ]


@pytest.mark.parametrize(
    "first_row_changes",
    [
        pytest.param({"created_at": "not a timestamp"}, id="first-row-unparseable"),
        pytest.param({"name": ""}, id="first-row-fails-schema"),
        pytest.param({"created_at": ""}, id="first-row-missing-timestamp"),
    ],
)
def test_duplicate_of_rejected_row_is_accepted(tmp_path, first_row_changes):
    accounts = [{**ACCOUNT_ROW, **first_row_changes}, ACCOUNT_ROW]
    write_source(tmp_path, accounts=accounts)

    intake = load(tmp_path)

    assert intake.tables["accounts"]["account_id"].tolist() == ["A1"]
    assert rejected(intake, "accounts")["row"].tolist() == [1]
    assert intake.tables["opportunities"]["opportunity_id"].tolist() == ["O1"]


def test_blank_opportunity_account_is_accepted(tmp_path):
    opportunities = [
        OPPORTUNITY_ROW,
        {**OPPORTUNITY_ROW, "opportunity_id": "O2", "account_id": ""},
    ]
    write_source(tmp_path, opportunities=opportunities)

    intake = load(tmp_path)

    accepted = intake.tables["opportunities"].set_index("opportunity_id")
    assert accepted.index.tolist() == ["O1", "O2"]
    assert accepted.loc["O1", "account_id"] == "A1"
    assert pd.isna(accepted.loc["O2", "account_id"])
    assert intake.quarantine.to_frame().empty


def test_unknown_stage_with_category_is_accepted(tmp_path):
    opportunities = [
        {**OPPORTUNITY_ROW, "stage": "Verbal", "stage_category": "open"},
        {**OPPORTUNITY_ROW, "opportunity_id": "O2", "stage_category": ""},
    ]
    write_source(tmp_path, opportunities=opportunities)

    intake = load(tmp_path)

    categories = intake.tables["opportunities"].set_index("opportunity_id")
    assert categories["stage_category"].to_dict() == {"O1": "open", "O2": "open"}
    assert categories.loc["O2", "probability"] == pytest.approx(0.2)
    assert categories.loc["O2", "forecast_category"] == "pipeline"
    assert pd.isna(categories.loc["O1", "probability"])
    assert intake.quarantine.to_frame().empty


def test_counts_add_up_for_every_table(tmp_path):
    tables = {
        "accounts": [
            ACCOUNT_ROW,
            {**ACCOUNT_ROW, "account_id": "A2", "created_at": "bad", "name": ""},
            {**ACCOUNT_ROW, "account_id": "A3", "employees": "-1"},
        ],
        "opportunities": [
            OPPORTUNITY_ROW,
            {**OPPORTUNITY_ROW, "opportunity_id": "O2", "account_id": "A2"},
            {**OPPORTUNITY_ROW, "opportunity_id": "O3", "amount": "x", "type": "y"},
            {**OPPORTUNITY_ROW, "opportunity_id": "O4", "account_id": ""},
        ],
        "stage_history": [
            STAGE_HISTORY_ROW,
            {**STAGE_HISTORY_ROW, "opportunity_id": "O2"},
        ],
        "touchpoints": [
            TOUCHPOINT_ROW,
            {**TOUCHPOINT_ROW, "touch_id": "T2", "function": "sales"},
            {**TOUCHPOINT_ROW, "touch_id": "T3", "account_id": "A3"},
        ],
        "revenue": [REVENUE_ROW, {**REVENUE_ROW, "month": "soon"}],
        "signals": [SIGNAL_ROW, {**SIGNAL_ROW, "value": "lots"}],
    }
    write_source(tmp_path, **tables)

    intake = load(tmp_path)
    counts = intake.counts().set_index("table")

    assert counts.index.tolist() == list(schema.TABLES)
    for table, rows in tables.items():
        read, accepted, rejected_rows, merged = counts.loc[table]
        assert read == len(rows), table
        assert accepted + rejected_rows + merged == read, table
    assert counts["accepted"].to_dict() == {
        "accounts": 2,
        "opportunities": 2,
        "stage_history": 1,
        "touchpoints": 2,
        "revenue": 1,
        "signals": 1,
    }
    blanked = intake.reconciliation().set_index("table")["cells_blanked"]
    assert blanked.to_dict() == {
        "accounts": 1,
        "opportunities": 0,
        "stage_history": 0,
        "touchpoints": 0,
        "revenue": 0,
        "signals": 0,
    }


def test_ids_stay_text(tmp_path):
    accounts = [
        {**ACCOUNT_ROW, "account_id": "00123"},
        {**ACCOUNT_ROW, "account_id": "1e3"},
    ]
    opportunities = [
        {**OPPORTUNITY_ROW, "opportunity_id": "9001", "account_id": "00123"},
        {**OPPORTUNITY_ROW, "opportunity_id": "0042", "account_id": "1e3"},
    ]
    write_source(tmp_path, accounts=accounts, opportunities=opportunities)

    intake = load(tmp_path)

    accounts_frame = intake.tables["accounts"]
    opportunities_frame = intake.tables["opportunities"]
    assert accounts_frame["account_id"].tolist() == ["00123", "1e3"]
    assert opportunities_frame["opportunity_id"].tolist() == ["9001", "0042"]
    assert opportunities_frame["account_id"].tolist() == ["00123", "1e3"]
    assert pd.api.types.is_string_dtype(accounts_frame["account_id"])
    assert pd.api.types.is_string_dtype(opportunities_frame["opportunity_id"])


def test_optional_columns_are_added_empty(tmp_path):
    write_source(tmp_path)

    intake = load(tmp_path)

    for table, frame in intake.tables.items():
        assert frame.columns.tolist() == schema.TABLES[table].column_names, table
    accounts = intake.tables["accounts"]
    assert accounts["parent_account_id"].isna().all()
    assert accounts["is_target"].dtype == "boolean"
    assert accounts["is_target"].isna().all()
    opportunities = intake.tables["opportunities"]
    for column in ("name", "amount_original", "currency", "contract_months", "owner"):
        assert opportunities[column].isna().all(), column
    assert opportunities["contract_months"].dtype == "Int64"


def test_missing_optional_tables_are_noted(tmp_path):
    write_source(tmp_path, touchpoints=[TOUCHPOINT_ROW])

    intake = load(tmp_path)

    assert sorted(intake.tables) == ["accounts", "opportunities", "touchpoints"]
    assert intake.notes == [
        "No stage history table in the source: stage durations, conversion and "
        "stalled opportunities are left out.",
        "No revenue table in the source; figures that need it are left out.",
        "No signals table in the source; figures that need it are left out.",
    ]


def test_missing_touchpoints_note_names_what_is_left_out(tmp_path):
    write_source(tmp_path)

    intake = load(tmp_path)

    touch_notes = [note for note in intake.notes if "touchpoints" in note]
    assert touch_notes[0].startswith(
        "No touchpoints table in the source: attribution is omitted, and "
        "engagement, marketing touches, expansion-ready flags"
    )


def test_child_of_rejected_account_names_that_row(tmp_path):
    """Rows of a rejected account point at its rejection, not at a missing ID."""
    orphan = {**TOUCHPOINT_ROW, "touch_id": "T3", "account_id": "A9"}
    write_source(
        tmp_path,
        accounts=[ACCOUNT_ROW, {**ACCOUNT_ROW, "account_id": "A2", "name": ""}],
        opportunities=[
            OPPORTUNITY_ROW,
            {**OPPORTUNITY_ROW, "opportunity_id": "O2", "account_id": "A2"},
        ],
        touchpoints=[
            TOUCHPOINT_ROW,
            {**TOUCHPOINT_ROW, "touch_id": "T2", "account_id": "A2"},
            orphan,
        ],
    )

    intake = load(tmp_path)

    assert rejected(intake, "accounts")["reason"].tolist() == [
        "name is empty but required; enter a value in the export or remove the row"
    ]
    opportunity = rejected(intake, "opportunities")
    assert opportunity["value"].tolist() == ["A2"]
    assert opportunity["reason"].iloc[0] == (
        "account_id points at a rejected row of accounts (accounts.csv row 2); "
        "fix that row, listed with its reason under accounts, and the next "
        "build keeps this row as well"
    )
    touches = rejected(intake, "touchpoints").set_index("value")["reason"]
    assert touches["A2"].startswith("account_id points at a rejected row of accounts")
    assert touches["A9"] == (
        "account_id not found in accounts; add the accounts row or fix the ID"
    )


def test_semicolon_header_gets_delimiter_hint(tmp_path):
    write_source(tmp_path, accounts=[VALID_ROWS["accounts"]])
    path = tmp_path / "accounts.csv"
    path.write_text(path.read_text().replace(",", ";"))

    with pytest.raises(
        InputError, match="required columns 'account_id', 'name'"
    ) as raised:
        load(tmp_path)

    message = str(raised.value)
    assert "The header is separated by semicolons" in message
    assert "save the file as comma-separated CSV" in message
    assert "Rename the column" not in message


def test_missing_required_columns_all_named(tmp_path):
    """Every missing required column is named at once, not one per run."""
    row = {
        name: cell
        for name, cell in VALID_ROWS["accounts"].items()
        if name not in ("name", "created_at")
    }
    write_source(tmp_path, accounts=[row])

    with pytest.raises(InputError) as raised:
        load(tmp_path)

    assert "required columns 'name', 'created_at' of table accounts are missing" in str(
        raised.value
    )
    assert raised.value.column == "name"


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("accounts", "name"),
        ("accounts", "created_at"),
        ("opportunities", "stage"),
        ("touchpoints", "function"),
    ],
)
def test_missing_required_column_raises(tmp_path, table, column):
    row = {name: cell for name, cell in VALID_ROWS[table].items() if name != column}
    write_source(tmp_path, **{table: [row]})
    path = tmp_path / f"{table}.csv"
    found = ", ".join(row)

    expected = (
        f"{re.escape(str(path))}: required column '{column}' of table {table} "
        f"is missing; columns found: {re.escape(found)}. Add the column to the "
        "file, with a value on every row"
    )
    with pytest.raises(InputError, match=expected) as raised:
        load(tmp_path)

    assert raised.value.file == str(path)
    assert raised.value.column == column
    assert "Rename the column" not in str(raised.value)
    assert "a mapped source profile that sets it under constants" in str(raised.value)


def test_missing_type_column_lists_types(tmp_path):
    row = {name: cell for name, cell in VALID_ROWS["opportunities"].items()}
    del row["type"]
    write_source(tmp_path, opportunities=[row])

    with pytest.raises(InputError) as raised:
        load(tmp_path)

    assert "(type takes new_business, expansion or renewal)" in str(raised.value)


def test_missing_mapped_column_advice():
    spec = schema.TABLES["opportunities"]

    advice = missing_columns_advice(["Deal Type"], spec, mapped=True)

    assert advice == "Rename the column or map it in the source profile."


def test_missing_columns_advice_plural():
    spec = schema.TABLES["opportunities"]

    advice = missing_columns_advice(["stage", "type"], spec, mapped=False)

    assert advice.startswith("Add the columns to the file, with a value on every row")
    assert "(type takes new_business, expansion or renewal)" in advice
    assert advice.endswith("a mapped source profile that sets them under constants.")


@pytest.mark.parametrize(
    ("file_name", "content", "message"),
    [
        pytest.param(
            "accounts.csv",
            b"",
            r"input file .*accounts\.csv is empty, but table accounts is required",
            id="empty-csv",
        ),
        pytest.param(
            "accounts.parquet",
            b"not a parquet file",
            r"cannot read input file .*accounts\.parquet as PARQUET",
            id="corrupt-parquet",
        ),
    ],
)
def test_unreadable_file_raises(tmp_path, file_name, content, message):
    write_table(tmp_path, "opportunities", [OPPORTUNITY_ROW])
    path = tmp_path / file_name
    path.write_bytes(content)

    with pytest.raises(InputError, match=message) as raised:
        load(tmp_path)

    assert raised.value.file == str(path)


@pytest.mark.parametrize("table", ["accounts", "opportunities"])
def test_missing_required_table_raises(tmp_path, table):
    write_source(tmp_path)
    (tmp_path / f"{table}.csv").unlink()

    expected = (
        f"required table {table} is missing from the source; "
        rf"provide {table}\.csv \(or \.parquet, \.xlsx\) with columns"
    )
    with pytest.raises(InputError, match=expected):
        load(tmp_path)


@pytest.mark.parametrize("table", ["accounts", "opportunities"])
def test_header_only_required_table_raises(tmp_path, table):
    write_source(tmp_path)
    path = tmp_path / f"{table}.csv"
    path.write_text(",".join(VALID_ROWS[table]) + "\n", encoding="utf-8")

    expected = (
        f"required table {table} has a header row but no data rows in "
        f"{re.escape(str(path))}; export it again with its data rows"
    )
    with pytest.raises(InputError, match=expected) as raised:
        load(tmp_path)

    assert raised.value.file == str(path)


# Each case rejects every row of a required table: at parsing, at the
# schema check, or at the reference check that runs after all tables.
FULLY_REJECTED_CASES = [
    pytest.param(
        "accounts",
        {"created_at": "yesterday"},
        "created_at",
        "yesterday",
        "invalid timestamp; expected ISO 8601",
        id="accounts-unparseable",
    ),
    pytest.param(
        "opportunities",
        {"type": "upsell"},
        "type",
        "upsell",
        "type must be one of new_business, expansion, renewal",
        id="opportunities-schema",
    ),
    pytest.param(
        "opportunities",
        {"account_id": "A9"},
        "account_id",
        "A9",
        "account_id not found in accounts; add the accounts row or fix the ID",
        id="opportunities-reference",
    ),
]


@pytest.mark.parametrize(
    ("table", "changes", "column", "value", "reason"), FULLY_REJECTED_CASES
)
def test_fully_rejected_required_table_raises(
    tmp_path, table, changes, column, value, reason
):
    key = schema.TABLES[table].primary_key[0]
    rows = [
        {**VALID_ROWS[table], **changes, key: f"{VALID_ROWS[table][key]}-{number}"}
        for number in (1, 2)
    ]
    write_source(tmp_path, **{table: rows})
    path = tmp_path / f"{table}.csv"

    with pytest.raises(InputError) as raised:
        load(tmp_path)

    message = str(raised.value)
    assert message.startswith(
        f"every row of required table {table} was rejected (2 of 2 rows in {path})"
    )
    assert f'"{reason}' in message
    assert f"on 2 rows, first on row 1, column {column}, value {value!r}" in message
    assert "run `acctlib check` again" in message
    assert raised.value.file == str(path)
    assert raised.value.row == 1
    assert raised.value.column == column
    assert raised.value.value == value


def test_fully_rejected_table_lists_reasons_by_count(tmp_path):
    """The most common reason comes first, each with its first row."""
    write_source(
        tmp_path,
        opportunities=[
            {**OPPORTUNITY_ROW, "opportunity_id": "O1", "account_id": "A9"},
            {**OPPORTUNITY_ROW, "opportunity_id": "O2", "type": "upsell"},
            {**OPPORTUNITY_ROW, "opportunity_id": "O3", "type": "upsell"},
        ],
    )

    with pytest.raises(InputError) as raised:
        load(tmp_path)

    assert "Most common reasons: " + (
        '"type must be one of new_business, expansion, renewal" on 2 rows, '
        "first on row 2, column type, value 'upsell'; "
        '"account_id not found in accounts; add the accounts row or fix the ID" '
        "on 1 row, first on row 1, column account_id, value 'A9'."
    ) in str(raised.value)


def test_partly_rejected_required_table_loads(tmp_path):
    write_source(
        tmp_path,
        opportunities=[
            OPPORTUNITY_ROW,
            {**OPPORTUNITY_ROW, "opportunity_id": "O2", "type": "upsell"},
        ],
    )

    intake = load(tmp_path)

    assert intake.tables["opportunities"]["opportunity_id"].tolist() == ["O1"]
    assert len(rejected(intake, "opportunities")) == 1


@pytest.mark.parametrize(
    "table", ["stage_history", "touchpoints", "revenue", "signals"]
)
def test_header_only_optional_table_is_omitted(tmp_path, table):
    write_source(tmp_path)
    path = tmp_path / f"{table}.csv"
    path.write_text(",".join(VALID_ROWS[table]) + "\n", encoding="utf-8")

    intake = load(tmp_path)

    assert table not in intake.tables
    assert table not in intake.counts()["table"].tolist()
    expected = (
        f"The {table.replace('_', ' ')} table from {path.name} has no data rows; "
        "figures that need it are left out."
    )
    assert expected in intake.notes
    # Notes appear on report pages, which carry no absolute path.
    assert not [note for note in intake.notes if str(tmp_path) in note]


@pytest.mark.parametrize(
    "table", ["stage_history", "touchpoints", "revenue", "signals"]
)
def test_fully_rejected_optional_table_is_omitted(tmp_path, table):
    # Every row points at an account or opportunity that does not exist.
    row = dict(VALID_ROWS[table])
    key = "opportunity_id" if table == "stage_history" else "account_id"
    row[key] = "MISSING"
    write_source(tmp_path, **{table: [row, row]})

    intake = load(tmp_path)

    assert table not in intake.tables
    counts = intake.reconciliation().set_index("table").loc[table]
    assert (counts["read"], counts["accepted"], counts["rejected"]) == (2, 0, 2)
    assert bool(counts["reconciled"])
    expected = (
        f"Every row of the {table.replace('_', ' ')} table was rejected (see "
        "rejected_rows.csv); "
        "figures that need it are left out."
    )
    assert expected in intake.notes


def test_blank_lines_count_in_row_numbers(tmp_path):
    """Rejected rows keep the row number a spreadsheet shows, minus the header."""
    write_source(tmp_path)
    bad = {**OPPORTUNITY_ROW, "opportunity_id": "O2", "type": "upsell"}
    path = write_table(tmp_path, "opportunities", [OPPORTUNITY_ROW, bad])
    header, first, second = path.read_text(encoding="utf-8").splitlines()
    path.write_text(
        "\r\n".join([header, "", first, "", " ", second, "", ""]), encoding="utf-8"
    )

    intake = load(tmp_path)

    assert intake.tables["opportunities"]["opportunity_id"].tolist() == ["O1"]
    quarantined = rejected(intake, "opportunities")
    assert quarantined["row"].tolist() == [5]
    assert quarantined["value"].tolist() == ["upsell"]
    assert intake.reconciliation()["reconciled"].all()


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("a,b\n1,2\n3,4\n", [1, 2]),
        ("a,b\n1,2\n\n3,4\n\n\n", [1, 3]),
        ("a,b\r\n\r\n1,2\r\n \t\r\n3,4", [2, 4]),
        ("\n\na,b\n1,2\n\n3,4\n", [1, 3]),  # blank lines above the header
        ('a,b\n1,"x\n\ny"\n\n3,4\n', [1, 3]),  # a quoted cell spans lines
        ('a\n1\n""\n\n2\n', [1, 2, 4]),  # a quoted empty cell is a row
    ],
)
def test_csv_row_numbers(text, rows):
    count = len(pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False))

    assert count == len(rows)
    assert csv_row_numbers(io.StringIO(text, newline=""), ",", count) == rows


def test_csv_row_numbers_fall_back_in_order():
    """A count that disagrees with the file numbers the rows in order."""
    lines = io.StringIO("a,b\n1,2\n\n3,4\n", newline="")

    assert csv_row_numbers(lines, ",", 3) == [1, 2, 3]


def test_missing_data_folder_raises(tmp_path):
    folder = tmp_path / "absent"

    with pytest.raises(InputError, match=r"data folder .*absent not found") as raised:
        load(folder)

    assert raised.value.file == str(folder)


def test_missing_relative_folder_names_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    with pytest.raises(InputError, match="data folder absent not found") as raised:
        load(Path("absent"))

    assert f"(from {tmp_path})" in str(raised.value)


def test_missing_sample_folder_names_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    with pytest.raises(InputError) as raised:
        load(Path("data/sample"))

    assert "run 'acctlib sample --out data/sample' or 'make sample'" in str(
        raised.value
    )


def test_parquet_matches_csv(tmp_path):
    tables = {name: [row] for name, row in VALID_ROWS.items()}
    tables["accounts"] = [
        ACCOUNT_ROW,
        {**ACCOUNT_ROW, "account_id": "00123", "is_target": "yes"},
        {**ACCOUNT_ROW, "account_id": "A2", "employees": "", "is_target": ""},
        {**ACCOUNT_ROW, "account_id": "A3", "employees": "1.5"},
    ]
    tables["opportunities"] = [
        {**OPPORTUNITY_ROW, "account_id": "00123"},
        {**OPPORTUNITY_ROW, "opportunity_id": "O2", "account_id": "", "amount": ""},
    ]
    tables["stage_history"] = [{**STAGE_HISTORY_ROW, "opportunity_id": "O9"}]
    csv_dir = tmp_path / "csv"
    parquet_dir = tmp_path / "parquet"
    csv_dir.mkdir()
    parquet_dir.mkdir()
    for table, rows in tables.items():
        frame = pd.DataFrame(rows).fillna("")
        frame.to_csv(csv_dir / f"{table}.csv", index=False)
        frame.to_parquet(parquet_dir / f"{table}.parquet")

    from_csv = load(csv_dir)
    from_parquet = load(parquet_dir)

    assert sorted(from_parquet.tables) == sorted(from_csv.tables)
    for table, frame in from_csv.tables.items():
        pd.testing.assert_frame_equal(from_parquet.tables[table], frame)
    where = ["table", "row", "column", "value", "reason"]
    pd.testing.assert_frame_equal(
        from_parquet.quarantine.to_frame()[where].reset_index(drop=True),
        from_csv.quarantine.to_frame()[where].reset_index(drop=True),
    )
    assert len(from_csv.quarantine.to_frame()) == 2


def test_typed_parquet_matches_csv(tmp_path):
    accounts = pd.DataFrame(
        {
            "account_id": ["A1"],
            "name": ["Acme"],
            "industry": ["Software"],
            "country": ["DE"],
            "region": ["EMEA"],
            "employees": pd.array([120], dtype="Int64"),
            "annual_revenue": [5_000_000.0],
            "owner": ["Dana"],
            "created_at": pd.to_datetime(["2024-01-01T00:00:00Z"]),
            "is_target": [True],
        }
    )
    opportunities = pd.DataFrame(
        {
            "opportunity_id": ["O1"],
            "account_id": ["A1"],
            "type": ["new_business"],
            "stage": ["Discovery"],
            "amount": [1000.0],
            "created_at": pd.to_datetime(["2024-02-01T10:00:00"]),
            "close_date": pd.to_datetime(["2024-06-30"]),
        }
    )
    accounts.to_parquet(tmp_path / "accounts.parquet")
    opportunities.to_parquet(tmp_path / "opportunities.parquet")
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    write_source(csv_dir, accounts=[{**ACCOUNT_ROW, "is_target": "true"}])

    from_parquet = load(tmp_path)
    from_csv = load(csv_dir)

    for table in ("accounts", "opportunities"):
        pd.testing.assert_frame_equal(
            from_parquet.tables[table], from_csv.tables[table]
        )
    assert from_parquet.quarantine.to_frame().empty


def test_parquet_float_ids_stay_whole(tmp_path):
    accounts = pd.DataFrame({k: [v] for k, v in ACCOUNT_ROW.items()})
    accounts["account_id"] = [9001]
    opportunities = pd.DataFrame(
        {k: [v, v] for k, v in OPPORTUNITY_ROW.items()}
    ).assign(opportunity_id=["O1", "O2"], account_id=[9001.0, np.nan])
    accounts.to_parquet(tmp_path / "accounts.parquet")
    opportunities.to_parquet(tmp_path / "opportunities.parquet")

    intake = load(tmp_path)

    accepted = intake.tables["opportunities"]
    assert accepted["opportunity_id"].tolist() == ["O1", "O2"]
    assert accepted["account_id"].iloc[0] == "9001"
    assert intake.quarantine.to_frame().empty


def test_parquet_infinite_amount_is_blanked(tmp_path):
    accounts = pd.DataFrame({k: [v] for k, v in ACCOUNT_ROW.items()})
    opportunities = pd.DataFrame(
        {k: [v, v] for k, v in OPPORTUNITY_ROW.items()}
    ).assign(opportunity_id=["O1", "O2"], amount=[1000.0, np.inf])
    accounts.to_parquet(tmp_path / "accounts.parquet")
    opportunities.to_parquet(tmp_path / "opportunities.parquet")

    intake = load(tmp_path)

    accepted = intake.tables["opportunities"]
    assert accepted["opportunity_id"].tolist() == ["O1", "O2"]
    assert pd.isna(accepted["amount"].iloc[1])
    quarantined = rejected(intake, "opportunities")
    assert quarantined["row"].tolist() == [2]
    assert quarantined["column"].tolist() == ["amount"]
    assert quarantined["action"].tolist() == ["cell blanked"]


def test_windows_1252_csv_is_read_with_note(tmp_path):
    write_source(tmp_path)
    name = "Zénith Dätä Inc. – Müller"
    row = {**ACCOUNT_ROW, "name": name}
    path = write_table(tmp_path, "accounts", [row], encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")

    intake = load(tmp_path)

    assert intake.tables["accounts"]["name"].tolist() == [name]
    assert intake.quarantine.to_frame().empty
    expected = (
        "accounts.csv is not valid UTF-8 (the first invalid byte is on line 2); "
        "read it as cp1252"
    )
    assert any(note.startswith(expected) for note in intake.notes)


def test_mostly_utf8_csv_stops(tmp_path):
    write_source(tmp_path)
    rows = [
        {**ACCOUNT_ROW, "account_id": "A1", "name": "Société Générale Zoë"},
        {**ACCOUNT_ROW, "account_id": "A2", "name": "Müller GmbH"},
        {**ACCOUNT_ROW, "account_id": "A3", "name": "Café Nord"},
    ]
    path = write_table(tmp_path, "accounts", rows)
    # Line 4 gets a lone Windows-1252 "é" (0xE9), as a hand edit leaves it.
    path.write_bytes(path.read_bytes().replace("Café".encode(), b"Caf\xe9"))

    with pytest.raises(InputError) as caught:
        load(tmp_path)

    message = str(caught.value)
    assert "accounts.csv: line 4 has the byte 0xE9" in message
    assert "not valid UTF-8" in message
    assert "(2 lines are UTF-8, and 1 not: line 4)" in message
    assert "save the file as UTF-8" in message
    assert caught.value.file == str(path)
    assert caught.value.row == 3


def test_mostly_utf8_csv_with_bom_stops(tmp_path):
    write_source(tmp_path)
    rows = [
        {**ACCOUNT_ROW, "account_id": "A1", "name": "Zoë"},
        {**ACCOUNT_ROW, "account_id": "A2", "name": "Café Nord"},
    ]
    path = write_table(tmp_path, "accounts", rows, encoding="utf-8-sig")
    path.write_bytes(path.read_bytes().replace("Café".encode(), b"Caf\xe9"))

    with pytest.raises(InputError) as caught:
        load(tmp_path)

    message = str(caught.value)
    assert "accounts.csv: line 3 has the byte 0xE9" in message
    assert "(1 line is UTF-8, and 1 not: line 3)" in message


def test_mostly_cp1252_csv_is_read_with_note(tmp_path):
    write_source(tmp_path)
    rows = [
        {**ACCOUNT_ROW, "account_id": "A1", "name": "Zénith"},
        {**ACCOUNT_ROW, "account_id": "A2", "name": "Müller GmbH"},
        # "Ã©" in Windows-1252 is the bytes C3 A9, which also decode as UTF-8.
        {**ACCOUNT_ROW, "account_id": "A3", "name": "Ã©cole"},
    ]
    write_table(tmp_path, "accounts", rows, encoding="cp1252")

    intake = load(tmp_path)

    names = intake.tables["accounts"]["name"].tolist()
    assert names == ["Zénith", "Müller GmbH", "Ã©cole"]
    expected = (
        "accounts.csv is not valid UTF-8 (the first invalid byte is on line 2); "
        "read it as cp1252"
    )
    assert any(note.startswith(expected) for note in intake.notes)


def test_bom_header_is_stripped(tmp_path):
    write_source(tmp_path)
    path = write_table(tmp_path, "accounts", [ACCOUNT_ROW], encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfaccount_id,")

    intake = load(tmp_path)

    accounts = intake.tables["accounts"]
    assert accounts.columns[0] == "account_id"
    assert accounts["account_id"].tolist() == ["A1"]
    assert intake.quarantine.to_frame().empty


def test_revenue_month_counts_for_its_month(tmp_path):
    rows = [
        {"account_id": ACCOUNT_ROW["account_id"], "month": month, "amount": "100.00"}
        for month in ("2024-04-30", "2024-05-01", "2024-06-15")
    ]
    write_source(tmp_path, revenue=rows)

    intake = load(tmp_path)

    months = intake.tables["revenue"]["month"].dt.strftime("%Y-%m-%d").tolist()
    assert months == ["2024-04-01", "2024-05-01", "2024-06-01"]
    assert rejected(intake, "revenue").empty


def test_revenue_months_that_meet_are_duplicates(tmp_path):
    account = ACCOUNT_ROW["account_id"]
    rows = [
        {"account_id": account, "month": "2024-04-01", "amount": "100.00"},
        {"account_id": account, "month": "2024-04-30", "amount": "50.00"},
    ]
    write_source(tmp_path, revenue=rows)

    intake = load(tmp_path)

    assert len(intake.tables["revenue"]) == 1
    assert len(rejected(intake, "revenue")) == 1


def test_currency_basis_canonical_amounts(tmp_path: Path) -> None:
    """Canonical amounts count as converted by the export only in another currency."""
    opportunities = [
        OPPORTUNITY_ROW,
        {
            **OPPORTUNITY_ROW,
            "opportunity_id": "O2",
            "amount": "1080",
            "amount_original": "1000",
            "currency": "EUR",
        },
        {
            **OPPORTUNITY_ROW,
            "opportunity_id": "O3",
            "amount": "",
            "amount_original": "500",
            "currency": "USD",
        },
    ]
    write_source(tmp_path, opportunities=opportunities)

    basis = load(tmp_path).currency_basis

    assert basis["same_currency"] == 2
    assert basis["source"] == 1
    assert basis["rates_table"] == 0


def foreign_deals(count: int, currency: str, amount: str, original: str) -> list:
    """Return ``count`` deals of account A1 in ``currency``, such as FEUR1."""
    return [
        {
            **OPPORTUNITY_ROW,
            "opportunity_id": f"F{currency}{number}",
            "amount": amount,
            "amount_original": original,
            "currency": currency,
        }
        for number in range(1, count + 1)
    ]


def test_currency_empty_amount_without_rates_raises(tmp_path: Path) -> None:
    """Foreign rows without amount stop intake though other rows have one."""
    deals = [OPPORTUNITY_ROW, *foreign_deals(2, "EUR", "", "900")]
    deals += foreign_deals(1, "GBP", "", "800")
    write_source(tmp_path, opportunities=deals)

    with pytest.raises(InputError) as caught:
        load(tmp_path)

    message = str(caught.value)
    assert "opportunities.csv" in message
    assert "column amount_original" in message
    assert "EUR (2 rows, first row 2)" in message
    assert "GBP (1 row, first row 4)" in message
    assert "add rates.csv (columns date, currency, rate" in message
    assert caught.value.column == "amount_original"


@pytest.mark.parametrize("amount", ["1.2.3", "1e308", "NaN"])
def test_currency_blanked_amount_stays_missing(tmp_path: Path, amount: str) -> None:
    """An unreadable amount on a foreign row is blanked, not sent for a rate."""
    deals = [OPPORTUNITY_ROW, *foreign_deals(1, "EUR", amount, "900")]
    deals += foreign_deals(1, "USD", amount, "800")
    write_source(tmp_path, opportunities=deals)

    intake = load(tmp_path)

    amounts = intake.tables["opportunities"].set_index("opportunity_id")["amount"]
    assert len(amounts) == 3
    assert amounts["O1"] == pytest.approx(1000.0)
    assert pd.isna(amounts["FEUR1"])
    assert pd.isna(amounts["FUSD1"])
    blanked = rejected(intake, "opportunities")
    assert blanked["row"].tolist() == [2, 3]
    assert (blanked["column"] == "amount").all()
    assert (blanked["value"] == amount).all()
    assert (blanked["action"] == "cell blanked").all()
    findings = intake.extras["quality_findings"].set_index("check")["rows"]
    assert findings["no amount"] == 2
    assert intake.currency_basis["same_currency"] == 1


def test_currency_blanked_amount_needs_no_rate(tmp_path: Path) -> None:
    """Only foreign rows whose amount cell is empty are named as needing a rate."""
    deals = [OPPORTUNITY_ROW, *foreign_deals(1, "EUR", "1.2.3", "900")]
    deals += foreign_deals(1, "GBP", "", "800")
    write_source(tmp_path, opportunities=deals)

    with pytest.raises(InputError) as caught:
        load(tmp_path)

    message = str(caught.value)
    assert "GBP (1 row, first row 3)" in message
    assert "EUR" not in message
    assert caught.value.row == 3


def test_currency_blanked_amount_not_converted(tmp_path: Path) -> None:
    """A rates table converts empty amount cells but not blanked ones."""
    deals = [OPPORTUNITY_ROW, *foreign_deals(1, "EUR", "1.2.3", "900")]
    deals += foreign_deals(1, "GBP", "", "800")
    write_source(tmp_path, opportunities=deals)
    (tmp_path / "rates.csv").write_text(
        "date,currency,rate\n2024-01-01,EUR,1.10\n2024-01-01,GBP,1.25\n",
        encoding="utf-8",
    )

    intake = load(tmp_path)

    amounts = intake.tables["opportunities"].set_index("opportunity_id")["amount"]
    assert pd.isna(amounts["FEUR1"])
    assert amounts["FGBP1"] == pytest.approx(1000.0)
    assert intake.currency_basis["rates_table"] == 1


def test_currency_rates_file_in_data_folder(tmp_path: Path) -> None:
    """The canonical layout converts through rates.csv in the data folder."""
    deals = [OPPORTUNITY_ROW, *foreign_deals(2, "EUR", "", "900")]
    write_source(tmp_path, opportunities=deals)
    (tmp_path / "rates.csv").write_text(
        "date,currency,rate\n2024-01-01,EUR,1.10\n", encoding="utf-8"
    )

    intake = load(tmp_path)

    amounts = intake.tables["opportunities"].set_index("opportunity_id")["amount"]
    assert amounts["FEUR1"] == pytest.approx(990.0)
    assert intake.currency_basis["rates_table"] == 2
    assert intake.currency_basis["same_currency"] == 1
    rates = [item for item in intake.inputs if item.table == "rates"]
    assert [(item.path, item.rows) for item in rates] == [
        (str(tmp_path / "rates.csv"), 1)
    ]
    assert all(row["table"] != "rates" for row in intake.counts().to_dict("records"))


def test_currency_converts_amount_open(tmp_path: Path) -> None:
    """amount_open converts at the deal's own rate, else through rates.csv."""
    report_deal = {**OPPORTUNITY_ROW, "amount_open": "900"}
    [rated] = foreign_deals(1, "EUR", "", "900")
    [own_rate] = foreign_deals(1, "GBP", "1250", "1000")
    deals = [
        report_deal,
        {**rated, "amount_open": "800"},
        {**own_rate, "amount_open": "600"},
    ]
    write_source(tmp_path, opportunities=deals)
    (tmp_path / "rates.csv").write_text(
        "date,currency,rate\n2024-01-01,EUR,1.10\n", encoding="utf-8"
    )

    intake = load(tmp_path)

    open_amounts = intake.tables["opportunities"].set_index("opportunity_id")[
        "amount_open"
    ]
    assert open_amounts["O1"] == pytest.approx(900.0)
    assert open_amounts["FEUR1"] == pytest.approx(880.0)
    assert open_amounts["FGBP1"] == pytest.approx(750.0)


def test_currency_amount_open_without_rate_raises(tmp_path: Path) -> None:
    """A foreign amount_open with no rate to convert it stops intake."""
    [deal] = foreign_deals(1, "EUR", "1100", "")
    write_source(
        tmp_path, opportunities=[OPPORTUNITY_ROW, {**deal, "amount_open": "800"}]
    )

    with pytest.raises(InputError) as caught:
        load(tmp_path)

    message = str(caught.value)
    assert "column amount_open" in message
    assert "EUR (1 row, first row 2)" in message
    assert "add rates.csv" in message
    assert caught.value.column == "amount_open"
    assert caught.value.row == 2


def test_currency_amount_open_rate_too_late_raises(tmp_path: Path) -> None:
    """A rates table that starts after the deal's close date stops intake."""
    [deal] = foreign_deals(1, "EUR", "1100", "")
    write_source(
        tmp_path, opportunities=[OPPORTUNITY_ROW, {**deal, "amount_open": "800"}]
    )
    (tmp_path / "rates.csv").write_text(
        "date,currency,rate\n2024-12-01,EUR,1.10\n", encoding="utf-8"
    )

    with pytest.raises(
        InputError, match="EUR needs a rate dated on or before 2024-06-30"
    ):
        load(tmp_path)


def test_currency_conflicting_rates_raise(tmp_path: Path) -> None:
    """Two different rates for one currency and date name both rows."""
    deals = [OPPORTUNITY_ROW, *foreign_deals(1, "EUR", "", "900")]
    write_source(tmp_path, opportunities=deals)
    (tmp_path / "rates.csv").write_text(
        "date,currency,rate\n2020-01-01,EUR,1.08\n"
        "2024-01-01, eur ,1.10\n2024-01-01,GBP,1.25\n2024-01-01,EUR,1.11\n",
        encoding="utf-8",
    )

    with pytest.raises(InputError) as caught:
        load(tmp_path)

    message = str(caught.value)
    assert str(tmp_path / "rates.csv") in message
    assert "rows 2 and 4" in message
    assert "EUR on 2024-01-01" in message
    assert "'1.10'" in message
    assert "'1.11'" in message
    assert caught.value.file == str(tmp_path / "rates.csv")
    assert caught.value.row == 4
    assert caught.value.column == "rate"


def test_currency_repeated_equal_rate_passes(tmp_path: Path) -> None:
    """The same rate given twice for one currency and date is accepted."""
    deals = [OPPORTUNITY_ROW, *foreign_deals(1, "EUR", "", "900")]
    write_source(tmp_path, opportunities=deals)
    (tmp_path / "rates.csv").write_text(
        "date,currency,rate\n2024-01-01,EUR,1.10\n2024-01-01,EUR,1.1\n",
        encoding="utf-8",
    )

    intake = load(tmp_path)

    amounts = intake.tables["opportunities"].set_index("opportunity_id")["amount"]
    assert amounts["FEUR1"] == pytest.approx(990.0)


def test_currency_missing_rate_names_dates(tmp_path: Path) -> None:
    """A deal closed before the first rate names its row and the date needed."""
    deals = [OPPORTUNITY_ROW, *foreign_deals(2, "EUR", "", "900")]
    deals += foreign_deals(1, "GBP", "", "800")
    deals[2] = {**deals[2], "close_date": "2024-03-15"}
    write_source(tmp_path, opportunities=deals)
    (tmp_path / "rates.csv").write_text(
        "date,currency,rate\n2024-07-01,EUR,1.10\n2025-01-01,EUR,1.12\n",
        encoding="utf-8",
    )

    with pytest.raises(InputError) as caught:
        load(tmp_path)

    message = str(caught.value)
    assert "opportunities.csv" in message
    assert "for 3 opportunities, first row 2" in message
    assert "EUR needs a rate dated on or before 2024-03-15" in message
    assert "2 opportunities, first row 2" in message
    assert "earliest EUR rate is dated 2024-07-01" in message
    assert "GBP needs a rate dated on or before 2024-06-30" in message
    assert "no GBP rate" in message
    assert caught.value.row == 2
    assert caught.value.column == "currency"


def test_currency_unconverted_amounts_raise(tmp_path: Path) -> None:
    """Amounts copied from amount_original on EUR rows are not taken as USD."""
    deals = [OPPORTUNITY_ROW, *foreign_deals(3, "EUR", "900", "900")]
    deals += foreign_deals(3, "GBP", "1270", "1000")
    write_source(tmp_path, opportunities=deals)

    with pytest.raises(InputError) as caught:
        load(tmp_path)

    message = str(caught.value)
    assert "opportunities.csv" in message
    assert "amounts in EUR, not in the report currency USD" in message
    assert "EUR (3 rows, first row 2)" in message
    assert "GBP" not in message
    assert "add rates.csv" in message
    assert caught.value.column == "amount"


def _copied_deals(count: int, currency: str, amount: str) -> list:
    """Return ``count`` deals whose amount was copied from amount_original."""
    return [
        {**deal, "opportunity_id": f"C{currency}{number}"}
        for number, deal in enumerate(
            foreign_deals(count, currency, amount, amount), start=1
        )
    ]


def test_currency_partly_unconverted_raises(tmp_path: Path) -> None:
    """EUR amounts copied on some rows stop intake though others were converted."""
    deals = [OPPORTUNITY_ROW, *foreign_deals(6, "EUR", "990", "900")]
    deals += _copied_deals(4, "EUR", "900")
    write_source(tmp_path, opportunities=deals)

    with pytest.raises(InputError) as caught:
        load(tmp_path)

    message = str(caught.value)
    assert "opportunities.csv, row 8" in message
    assert "amount '900' equals amount_original" in message
    assert "on 4 of 10 opportunities in EUR" in message
    assert "not in the report currency USD" in message
    assert "add rates.csv" in message
    assert caught.value.row == 8
    assert caught.value.column == "amount"
    assert caught.value.value == "900"


def test_currency_few_copied_amounts_pass(tmp_path: Path) -> None:
    """Two EUR amounts equal to their originals may be rounding and pass."""
    deals = [OPPORTUNITY_ROW, *foreign_deals(6, "EUR", "990", "900")]
    deals += _copied_deals(2, "EUR", "1")
    write_source(tmp_path, opportunities=deals)

    intake = load(tmp_path)

    assert len(intake.tables["opportunities"]) == 9


def test_currency_at_par_partly_equal_passes(tmp_path: Path) -> None:
    """A currency at par with USD may equal amount_original on some rows."""
    deals = [OPPORTUNITY_ROW, *foreign_deals(3, "PAB", "901", "900")]
    deals += _copied_deals(4, "PAB", "900")
    write_source(tmp_path, opportunities=deals)

    intake = load(tmp_path)

    assert len(intake.tables["opportunities"]) == 8


def test_currency_coincidence_and_zero_pass(tmp_path: Path) -> None:
    """Zero amounts and a single agreeing row do not stop intake."""
    deals = [*foreign_deals(1, "USD", "1000", "1000")]
    deals += foreign_deals(3, "EUR", "0", "0")
    deals += foreign_deals(1, "GBP", "1000", "1000")
    write_source(tmp_path, opportunities=deals)

    intake = load(tmp_path)

    assert len(intake.tables["opportunities"]) == 5


def test_currency_basis_leaves_out_rejected_deals(tmp_path: Path) -> None:
    """A deal rejected for its unknown account is not counted by basis."""
    opportunities = [
        OPPORTUNITY_ROW,
        {**OPPORTUNITY_ROW, "opportunity_id": "O2", "account_id": "A404"},
    ]
    write_source(tmp_path, opportunities=opportunities)

    intake = load(tmp_path)

    assert len(rejected(intake, "opportunities")) == 1
    assert intake.currency_basis["same_currency"] == 1


def opportunities_with_amounts(amounts: list[str]) -> list[dict]:
    return [
        {**OPPORTUNITY_ROW, "opportunity_id": f"O{number}", "amount": amount}
        for number, amount in enumerate(amounts, start=1)
    ]


def test_column_in_another_format_stops(tmp_path):
    write_source(tmp_path, opportunities=opportunities_with_amounts(["1234,50"] * 25))

    with pytest.raises(InputError, match="25 of 25 values could not be read") as error:
        load(tmp_path)

    assert "row 1 has '1234,50'" in str(error.value)
    assert "locale: de-DE" in str(error.value)
    assert (error.value.column, error.value.row) == ("amount", 1)


def test_few_failed_cells_are_blanked(tmp_path):
    amounts = ["1234,50"] * 3 + ["1000"] * 22
    write_source(tmp_path, opportunities=opportunities_with_amounts(amounts))

    intake = load(tmp_path)

    assert intake.quarantine.count_blanked("opportunities") == 3


def test_small_column_all_failed_stops(tmp_path):
    """A small export whose amounts all fail stops below the 20-cell minimum."""
    amounts = [f"{number}000,50" for number in range(1, 17)]
    write_source(tmp_path, opportunities=opportunities_with_amounts(amounts))

    with pytest.raises(InputError, match="16 of 16 values could not be read") as error:
        load(tmp_path)

    message = str(error.value)
    assert "opportunities.csv, column amount" in message
    assert "row 1 has '1000,50' (invalid amount" in message
    assert "row 2 '2000,50' and row 3 '3000,50'." in message
    assert "4000,50" not in message
    assert "locale: de-DE" in message
    assert (error.value.column, error.value.row) == ("amount", 1)


def test_small_column_all_failed_ignores_blanks(tmp_path):
    """Empty cells do not keep a column whose other cells all fail."""
    amounts = ["", "1234,50", "", "99,00", "5,25", ""]
    write_source(tmp_path, opportunities=opportunities_with_amounts(amounts))

    with pytest.raises(InputError, match="3 of 3 values could not be read") as error:
        load(tmp_path)

    assert "row 2 has '1234,50'" in str(error.value)
    assert "row 4 '99,00' and row 5 '5,25'." in str(error.value)


@pytest.mark.parametrize(
    "amounts",
    [
        ["1234,50", "99,00", "", ""],
        ["1234,50", "99,00", "5,25", "1000"],
        ["1234,50"] * 15 + ["1000"],
    ],
    ids=["two-of-two", "three-of-four", "fifteen-of-sixteen"],
)
def test_small_column_partly_failed_blanked(tmp_path, amounts):
    """Under 20 failed cells, a column with a parsed cell or under 3 failed is kept."""
    write_source(tmp_path, opportunities=opportunities_with_amounts(amounts))

    intake = load(tmp_path)

    failed = sum(1 for amount in amounts if "," in amount)
    assert intake.quarantine.count_blanked("opportunities") == failed


@pytest.mark.parametrize(
    ("failed", "filled", "stops"),
    [
        (2, 2, False),
        (3, 3, True),
        (16, 16, True),
        (16, 17, False),
        (19, 20, False),
        (20, 40, True),
        (20, 41, False),
        (0, 0, False),
    ],
)
def test_is_mostly_failed_rule(failed, filled, stops):
    assert is_mostly_failed(failed, filled) is stops


def test_integer_column_of_ranges_is_blanked(tmp_path):
    """An integer column of ranges is blanked, however many cells fail."""
    accounts = [
        {**ACCOUNT_ROW, "account_id": f"A{number}", "employees": "51-200"}
        for number in range(1, 26)
    ]
    write_source(tmp_path, accounts=accounts)

    intake = load(tmp_path)

    assert len(intake.tables["accounts"]) == 25
    assert intake.tables["accounts"]["employees"].isna().all()
    assert intake.quarantine.count_blanked("accounts") == 25


def raw_opportunities(column: str, values: list[str], **options) -> RawTable:
    rows = [
        {**OPPORTUNITY_ROW, "opportunity_id": f"O{number}", column: value}
        for number, value in enumerate(values, start=1)
    ]
    frame = pd.DataFrame(rows, dtype="str")
    return RawTable("opportunities", "deals.csv", frame, options=options)


def test_declared_locale_named_in_hint():
    raw = raw_opportunities(
        "amount", ["29 770,00"] * 25, notation="export", locale="en-US"
    )

    with pytest.raises(InputError, match="25 of 25 values could not be read") as error:
        canonicalize(raw, Quarantine(), {})

    message = str(error.value)
    assert "The source profile declares locale: en-US" in message
    assert "Correct the locale" in message
    assert "read it through a profile" not in message


@pytest.mark.parametrize(
    ("date_format", "named"),
    [("%d/%m/%Y", "%d/%m/%Y"), (["%d/%m/%Y", "%m-%d-%Y"], "[%d/%m/%Y, %m-%d-%Y]")],
)
def test_declared_date_format_named_in_hint(date_format, named):
    raw = raw_opportunities(
        "close_date", ["31.12.2025"] * 25, notation="export", date_format=date_format
    )

    with pytest.raises(InputError, match="25 of 25 values could not be read") as error:
        canonicalize(raw, Quarantine(), {})

    message = str(error.value)
    assert f"The source profile declares date_format: {named}," in message
    assert "Correct the date_format" in message
    assert "read it through a profile" not in message
    assert error.value.column == "close_date"


@pytest.mark.parametrize("line", [",,,,,,,,", " , ,\t,,,,,,"])
def test_empty_row_is_rejected_once(tmp_path, line):
    """A row of separators alone gets one "empty row" reason and counts."""
    write_source(tmp_path)
    path = tmp_path / "accounts.csv"
    path.write_text(
        path.read_text(encoding="utf-8") + f"{line}\r\n{line}\r\n", encoding="utf-8"
    )

    intake = load(tmp_path)

    rows = rejected(intake, "accounts")
    assert rows["row"].tolist() == [2, 3]
    assert rows["reason"].tolist() == ["empty row", "empty row"]
    assert rows["column"].tolist() == ["", ""]
    assert rows["action"].tolist() == ["row rejected", "row rejected"]
    counts = intake.counts().set_index("table").loc["accounts"]
    assert counts["read"] == 3
    assert counts["accepted"] == 1
    assert counts["rejected"] == 2


def test_few_point_thousands_amounts_noted(tmp_path: Path) -> None:
    amounts = ["48.000", "12.500", "9000", "15000"]
    opportunities = [
        {**OPPORTUNITY_ROW, "opportunity_id": f"O{number}", "amount": amount}
        for number, amount in enumerate(amounts, start=1)
    ]
    write_source(tmp_path, opportunities=opportunities)

    intake = load(tmp_path)

    deals = intake.tables["opportunities"].set_index("opportunity_id")
    assert deals.loc["O2", "amount"] == 12.5
    notes = [note for note in intake.notes if "three digits after the point" in note]
    assert len(notes) == 1
    assert "column amount: 2 amounts have exactly three digits" in notes[0]
    assert "'12.500' on row 2 read as 12.5" in notes[0]
    assert "locale: de-DE" in notes[0]


def test_three_decimal_report_currency_reads_decimals(tmp_path: Path) -> None:
    """Amounts in dinars keep their three decimals without a note."""
    amounts = ["48.000", "12.500", "9.250", "950"]
    opportunities = [
        {**OPPORTUNITY_ROW, "opportunity_id": f"O{number}", "amount": amount}
        for number, amount in enumerate(amounts, start=1)
    ]
    write_source(tmp_path, opportunities=opportunities)
    params = resolve_params(
        None, [f"data_dir={tmp_path}", "as_of=2024-12-31", "report_currency=KWD"]
    )

    intake = load_source(params)

    deals = intake.tables["opportunities"].set_index("opportunity_id")
    assert deals["amount"].tolist() == [48.0, 12.5, 9.25, 950.0]
    assert not [note for note in intake.notes if "three digits" in note]
