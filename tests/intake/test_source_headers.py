"""Rejection reasons and errors of mapped files name the file's headers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from acctlib.errors import InputError
from tests.intake.helpers import load, mapped_profile, opportunities_csv

ACCOUNTS = "Account ID,Account Name\nA1,Acme\nA2,Beacon\n"
GOOD_DEAL = ("O1", "A1", "Closed Won", "100", "2024-03-01")


def rejected(intake, table: str) -> pd.DataFrame:
    frame = intake.quarantine.to_frame()
    return frame[frame["table"] == table].reset_index(drop=True)


@pytest.mark.parametrize(
    ("deal", "column", "reason"),
    [
        (
            ("O2", "A2", "Proposal", "200", "someday"),
            "close_date",
            "column \"Close Date\" (close_date): invalid date 'someday'",
        ),
        (
            ("O2", "A2", "Closed Won", "lots", "2024-03-02"),
            "amount_original",
            "column \"Amount\" (amount_original): invalid amount 'lots'",
        ),
        (
            ("O2", "A9", "Closed Won", "200", "2024-03-02"),
            "account_id",
            'column "Account ID" (account_id) not found in accounts',
        ),
        (
            ("O2", "A2", "Daydreaming", "200", "2024-03-02"),
            "stage",
            "column \"Stage\" (stage) 'Daydreaming' is not in the stage map",
        ),
    ],
    ids=["date", "amount", "reference", "stage"],
)
def test_bad_deal_cell_names_header(tmp_path: Path, deal, column, reason) -> None:
    """A bad cell of a deal names the file's header and the canonical column."""
    rows = [GOOD_DEAL, deal]
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": opportunities_csv(rows)}

    intake = load(tmp_path, files, mapped_profile())

    bad = rejected(intake, "opportunities")
    assert list(bad["row"]) == [2]
    assert bad["column"].iloc[0] == column
    assert bad["reason"].iloc[0].startswith(reason)


@pytest.mark.parametrize("header", ["Abschlußdatum", "Fecha de cierre é", "Дата"])
def test_non_ascii_header_unescaped(tmp_path: Path, header: str) -> None:
    """A header with letters beyond ASCII appears in the reason as written."""
    profile = mapped_profile()
    profile["tables"]["opportunities"]["columns"]["close_date"] = [header]
    deals = opportunities_csv([GOOD_DEAL, ("O2", "A2", "Proposal", "200", "soon")])
    files = {
        "accounts.csv": ACCOUNTS,
        "opportunities.csv": deals.replace("Close Date", header, 1),
    }

    intake = load(tmp_path, files, profile)

    bad = rejected(intake, "opportunities")
    assert list(bad["row"]) == [2]
    assert bad["reason"].iloc[0].startswith(f'column "{header}" (close_date)')


def test_empty_required_names_header(tmp_path: Path) -> None:
    """An empty required cell names its header in the check's reason."""
    accounts = "Account ID,Account Name\nA1,Acme\nA2,\n"
    files = {
        "accounts.csv": accounts,
        "opportunities.csv": opportunities_csv([GOOD_DEAL]),
    }

    intake = load(tmp_path, files, mapped_profile())

    bad = rejected(intake, "accounts")
    assert bad["column"].iloc[0] == "name"
    assert bad["reason"].iloc[0] == (
        'column "Account Name" (name) is empty but required'
        "; enter a value in the export or remove the row"
    )


def test_bad_constant_names_profile(tmp_path: Path) -> None:
    """A bad constant is named as a value from the source profile."""
    profile = mapped_profile()
    profile["tables"]["accounts"]["constants"]["created_at"] = "someday"
    files = {
        "accounts.csv": ACCOUNTS,
        "opportunities.csv": opportunities_csv([GOOD_DEAL]),
    }

    # The constant fills every row, so every account is rejected.
    with pytest.raises(InputError) as caught:
        load(tmp_path, files, profile)

    assert caught.value.column == "created_at"
    assert (
        "created_at (a constant in the source profile): invalid date 'someday'"
        in str(caught.value)
    )


def test_ambiguous_dates_error_names_header(tmp_path: Path) -> None:
    """A column-wide date conflict raises naming "Close Date" and close_date."""
    dates = ["14/09/2024", "01/13/2024"]
    rows = [(f"O{n}", "A1", "Closed Won", "10", d) for n, d in enumerate(dates, 1)]
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": opportunities_csv(rows)}

    with pytest.raises(InputError) as caught:
        load(tmp_path, files, mapped_profile())

    assert 'column "Close Date" (close_date)' in str(caught.value)
    assert caught.value.column == "close_date"


def test_missing_column_lists_candidates(tmp_path: Path) -> None:
    """A missing required column lists every header the profile looked for."""
    profile = mapped_profile()
    profile["tables"]["accounts"]["columns"]["name"] = ["Account Name", "Name"]
    files = {
        "accounts.csv": "Account ID\nA1\n",
        "opportunities.csv": opportunities_csv([GOOD_DEAL]),
    }

    with pytest.raises(InputError, match="accounts.csv") as caught:
        load(tmp_path, files, profile)

    message = str(caught.value)
    assert "(for name)" in message
    assert "'Account Name', 'Name', and the file has none of them" in message
    assert "columns found: 'Account ID'" in message


def test_duplicate_key_names_header(tmp_path: Path) -> None:
    """A repeated opportunity ID names the "Opportunity ID" header and the fix."""
    rows = [GOOD_DEAL, ("O1", "A2", "Closed Won", "200", "2024-03-02")]
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": opportunities_csv(rows)}

    intake = load(tmp_path, files, mapped_profile())

    bad = rejected(intake, "opportunities")
    assert list(bad["row"]) == [2]
    assert bad["column"].iloc[0] == "opportunity_id"
    assert bad["reason"].iloc[0] == (
        'duplicate value of column "Opportunity ID" (opportunity_id); first seen on '
        "row 1; remove or merge the repeated rows, or export one row per "
        "opportunity_id"
    )


def test_undated_closed_names_header(tmp_path: Path) -> None:
    """A won deal without a close date names the "Close Date" header."""
    rows = [GOOD_DEAL, ("O2", "A2", "Closed Won", "200", "")]
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": opportunities_csv(rows)}

    intake = load(tmp_path, files, mapped_profile())

    bad = rejected(intake, "opportunities")
    assert list(bad["row"]) == [2]
    assert bad["column"].iloc[0] == "close_date"
    assert bad["reason"].iloc[0] == (
        "won without a close date or stage history, so the date it closed is "
        'unknown; fill in column "Close Date" (close_date) or export the stage '
        "history"
    )
    assert "CloseDate" not in bad["reason"].iloc[0]


def test_undated_closed_without_column(tmp_path: Path) -> None:
    """A reason for a file without a close-date column asks to export and map one."""
    opportunities = (
        "Opportunity ID,Account ID,Stage,Amount\n"
        "O1,A1,Proposal,100\n"
        "O2,A2,Closed Won,200\n"
    )
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": opportunities}
    profile = mapped_profile()
    del profile["tables"]["opportunities"]["columns"]["close_date"]

    intake = load(tmp_path, files, profile)

    bad = rejected(intake, "opportunities")
    assert list(bad["row"]) == [2]
    assert bad["column"].iloc[0] == "close_date"
    assert (
        bad["reason"]
        .iloc[0]
        .endswith(
            "export the close date and map its column onto close_date in the source "
            "profile, or export the stage history"
        )
    )


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("lots", "column \"Amount\" (amount): invalid amount 'lots'"),
        ("EUR 200", 'column "Amount" (amount): '),
    ],
    ids=["invalid", "other currency"],
)
def test_shared_header_cell_recorded_once(tmp_path: Path, amount, reason) -> None:
    """A bad cell that two columns read is one blanked cell under its header."""
    profile = mapped_profile()
    profile["tables"]["opportunities"]["columns"]["amount"] = ["Amount"]
    deal = ("O2", "A2", "Closed Won", amount, "2024-03-02")
    files = {
        "accounts.csv": ACCOUNTS,
        "opportunities.csv": opportunities_csv([GOOD_DEAL, deal]),
    }

    intake = load(tmp_path, files, profile)

    bad = rejected(intake, "opportunities")
    assert list(bad["row"]) == [2]
    assert list(bad["column"]) == ["amount"]
    assert bad["reason"].iloc[0].startswith(reason)
    assert intake.quarantine.count_blanked() == 1
    deals = intake.tables["opportunities"].set_index("opportunity_id")
    assert pd.isna(deals.loc["O2", "amount"])
    assert pd.isna(deals.loc["O2", "amount_original"])
