"""Parsing rules for real exports, each built from one small hard case."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

from acctlib.errors import InputError
from acctlib.intake.currency import convert_amounts
from acctlib.intake.dates import parse_datetimes
from acctlib.intake.files import escape_invisible
from acctlib.intake.mapped import read_export_file
from acctlib.intake.money import (
    ColumnFormatError,
    currency_mark_matches,
    currency_marks,
    parse_money,
)
from tests.intake.helpers import load, mapped_profile, opportunities_csv

ACCOUNTS = "Account ID,Account Name,Tier\nA1,Acme,1\nA2,Beacon,2\n"
OPPORTUNITIES = opportunities_csv(
    [
        ("O1", "A1", "Closed Won", "100", "2024-03-01"),
        ("O2", "A2", "Closed Won", "200", "2024-03-02"),
    ]
)


def rejected(intake, table: str) -> pd.DataFrame:
    frame = intake.quarantine.to_frame()
    return frame[frame["table"] == table].reset_index(drop=True)


# 1. Byte-order mark


@pytest.mark.parametrize(
    "header",
    ["Account ID,Account Name,Tier", '"Account ID","Account Name","Tier"'],
)
def test_bom_header_joins(tmp_path: Path, header: str) -> None:
    """A UTF-8 BOM before a plain or quoted header leaves the name intact."""
    body = header + "\nA1,Acme,1\nA2,Beacon,2\n"
    files = {
        "accounts.csv": b"\xef\xbb\xbf" + body.encode(),
        "opportunities.csv": OPPORTUNITIES,
    }
    frame, _ = read_export_file(_write(tmp_path / "raw", "accounts.csv", files))
    assert frame.columns[0] == "Account ID"
    intake = load(tmp_path, files, mapped_profile())
    assert len(intake.tables["opportunities"]) == 2
    assert intake.quarantine.count() == 0


def test_missing_column_names_found(tmp_path: Path) -> None:
    """A missing required column names the file, the column and the headers."""
    files = {
        "accounts.csv": "Account\u200bID,Account Name\nA1,Acme\n",
        "opportunities.csv": OPPORTUNITIES,
    }
    with pytest.raises(InputError, match="accounts.csv") as caught:
        load(tmp_path, files, mapped_profile())
    message = str(caught.value)
    assert "'Account ID'" in message
    assert "Account\\u200bID" in message
    assert "'Account Name'" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Währung", "Währung"),
        ("Créé le", "Créé le"),
        ("Straße", "Straße"),
        ("金额", "金额"),
        ("Amount (€)", "Amount (€)"),
        ("Account\u200bID", "Account\\u200bID"),
        ("\ufeffAccount ID", "\\ufeffAccount ID"),
        ("Account\u00a0ID", "Account\\xa0ID"),
        ("Account\u2009ID", "Account\\u2009ID"),
        ("Account\u2028ID", "Account\\u2028ID"),
        ("Account\u200dID", "Account\\u200dID"),
        ("Amount\x00", "Amount\\x00"),
        ("Amount\t", "Amount\\t"),
        ("Amount\r\n", "Amount\\r\\n"),
        ("Amount\x85", "Amount\\x85"),
        ("Amount\U000e0041", "Amount\\U000e0041"),
        ("Account ID", "Account ID"),
    ],
)
def test_escape_invisible_characters(text: str, expected: str) -> None:
    """Only invisible and control characters become escapes, not letters."""
    assert escape_invisible(text) == expected


# 2. Money strings


def test_money_us_strings() -> None:
    """US amounts with symbols, parentheses, dashes and codes."""
    raw = pd.Series(["$1,234.50", "($1,200.00)", "$-", "", "USD 2,000"])
    parsed = parse_money(raw, "en-US")
    assert parsed["value"].iloc[0] == 1234.50
    assert parsed["value"].iloc[1] == -1200.00
    assert parsed["value"].iloc[2] == 0.0
    assert pd.isna(parsed["value"].iloc[3])
    assert parsed["value"].iloc[4] == 2000.00
    assert parsed["error"].isna().all()


def test_money_german_strings() -> None:
    """de-DE amounts use the dot for thousands and the comma for decimals."""
    parsed = parse_money(pd.Series(["1.234,50 €", "1,5", "-300,00 €"]), "de-DE")
    assert list(parsed["value"]) == [1234.50, 1.50, -300.00]


def test_money_blank_is_counted_missing(tmp_path: Path) -> None:
    """A blank amount stays missing and is counted, never read as zero."""
    rows = [
        ("O1", "A1", "Closed Won", "$1,234.50", "2024-03-01"),
        ("O2", "A2", "Proposal", "", "2024-03-02"),
    ]
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": opportunities_csv(rows)}
    intake = load(tmp_path, files, mapped_profile(locale="en-US"))
    amounts = intake.tables["opportunities"].set_index("opportunity_id")["amount"]
    assert pd.isna(amounts["O2"])
    findings = intake.extras["quality_findings"].set_index("check")
    assert findings.loc["no amount", "rows"] == 1


def test_money_invalid_names_row(tmp_path: Path) -> None:
    """``1.2.3`` on data row 7 is rejected with file, row, column and text."""
    rows = [
        (f"O{n}", "A1", "Closed Won", "1.234,50 €", "2024-03-01") for n in range(1, 7)
    ]
    rows.append(("O7", "A1", "Closed Won", "1.2.3", "2024-03-01"))
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": opportunities_csv(rows)}
    # The cells are marked €, so the report is in EUR to keep them.
    intake = load(
        tmp_path, files, mapped_profile(locale="de-DE"), "report_currency=EUR"
    )
    bad = rejected(intake, "opportunities")
    assert list(bad["row"]) == [7]
    assert bad["file"].iloc[0].endswith("opportunities.csv")
    assert bad["column"].iloc[0] == "amount_original"
    assert bad["value"].iloc[0] == "1.2.3"
    assert "'1.2.3'" in bad["reason"].iloc[0]


def test_money_without_locale_stops(tmp_path: Path) -> None:
    """``1,234`` without a locale or evidence raises, requesting the locale."""
    rows = [("O1", "A1", "Closed Won", "1,234", "2024-03-01")]
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": opportunities_csv(rows)}
    with pytest.raises(InputError, match="declare the number locale") as caught:
        load(tmp_path, files, mapped_profile())
    assert "(ambiguous on row 1)" in str(caught.value)


def test_money_evidence_decides_locale() -> None:
    """``1,234.50`` in the same column proves en-US for ``1,234``."""
    parsed = parse_money(pd.Series(["1,234", "1,234.50"]))
    assert list(parsed["value"]) == [1234.0, 1234.5]


@pytest.mark.parametrize(
    ("locale", "cells", "other"),
    [
        ("de-DE", ["8,620 $", "4,978.80 $", "12,50"], "en-US"),
        ("en-US", ["15.000", "1.234,50", "20.00"], "de-DE"),
    ],
)
def test_declared_locale_contradicted_stops(locale, cells, other) -> None:
    """Values proving the other separators stop rather than read 8,620 as 8.62."""
    with pytest.raises(ColumnFormatError, match=f"locale: {other}") as caught:
        parse_money(pd.Series(cells, index=[1, 2, 3]), locale)

    assert caught.value.evidence == {other: [2]}


def test_declared_locale_odd_cell_invalid() -> None:
    """One de-DE cell among en-US amounts is invalid; the rest are read."""
    cells = [f"USD {amount:,}.00" for amount in range(1000, 11000, 1000)]
    cells.append("USD 1.234,50")

    parsed = parse_money(pd.Series(cells), "en-US")

    assert list(parsed["value"].iloc[:10]) == list(range(1000, 11000, 1000))
    assert pd.isna(parsed["value"].iloc[10])
    assert parsed["error"].iloc[10] == (
        "invalid amount 'USD 1.234,50', written with the de-DE separators; "
        "expected an amount in en-US such as 1,234.50, as the rest of the "
        "column is written"
    )
    assert parsed["error"].iloc[:10].isna().all()


def test_declared_locale_other_column_stops() -> None:
    """A column mostly in the other locale stops, naming where locale is set."""
    cells = ["1.234,50", "2.000,00", "350,00", "1,200.00"]

    with pytest.raises(ColumnFormatError) as caught:
        parse_money(pd.Series(cells), "en-US")

    message = str(caught.value)
    assert "but 3 of the 4 values that read in only one of" in message
    assert "set locale: de-DE under options: in the source profile" in message
    assert "--set profile=path/to/the/copy.yaml" in message
    assert caught.value.evidence == {"de-DE": [0, 1, 2]}


def test_odd_locale_cell_blanked_in_file(tmp_path: Path) -> None:
    """rejected_rows lists the odd cell, and its deal is kept without amount."""
    rows = [
        (f"O{n}", "A1", "Closed Lost", f"{n},250.00", "2024-03-01")
        for n in range(1, 11)
    ]
    rows.append(("O11", "A1", "Closed Won", "1.234,50", "2024-03-01"))
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": opportunities_csv(rows)}

    intake = load(tmp_path, files, mapped_profile(locale="en-US"))

    amounts = intake.tables["opportunities"].set_index("opportunity_id")["amount"]
    assert len(amounts) == 11
    assert pd.isna(amounts["O11"])
    assert amounts["O10"] == 10250.0
    cells = rejected(intake, "opportunities")
    assert len(cells) == 1
    assert cells["action"].iloc[0] == "cell blanked"
    assert cells["row"].iloc[0] == 11
    assert cells["column"].iloc[0] == "amount_original"
    assert cells["value"].iloc[0] == "1.234,50"
    assert "written with the de-DE separators" in cells["reason"].iloc[0]
    assert cells["file"].iloc[0].endswith("opportunities.csv")


def test_declared_locale_without_contrary_values_reads() -> None:
    parsed = parse_money(pd.Series(["8.620,00 €", "12,50"]), "de-DE")
    assert list(parsed["value"]) == [8620.0, 12.5]


# 3. Ambiguous dates

DAY_FIRST = ["03/09/2024", "14/09/2024", "25/12/2024", "01/02/2024"]
EXPECTED_DAYS = ["2024-09-03", "2024-09-14", "2024-12-25", "2024-02-01"]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_dates_day_first_any_order(seed: int) -> None:
    """Values 14 and 25 in the first place prove day-first in any row order."""
    order = list(range(4))
    random.Random(seed).shuffle(order)
    raw = pd.Series([DAY_FIRST[i] for i in order])
    parsed = parse_datetimes(raw)
    got = list(parsed["value"].dt.strftime("%Y-%m-%d"))
    assert got == [EXPECTED_DAYS[i] for i in order]


def test_dates_conflict_names_rows(tmp_path: Path) -> None:
    """``01/13/2024`` on row 5 contradicts the day-first rows 2 and 3."""
    dates = [*DAY_FIRST, "01/13/2024"]
    rows = [(f"O{n}", "A1", "Closed Won", "10", d) for n, d in enumerate(dates, 1)]
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": opportunities_csv(rows)}
    with pytest.raises(InputError, match="close_date") as caught:
        load(tmp_path, files, mapped_profile())
    message = str(caught.value)
    assert "day-first on rows 2, 3" in message
    assert "month-first on row 5" in message


def test_dates_declared_format_wins() -> None:
    """A declared month-first format reads ``03/09/2024`` as 9 March."""
    parsed = parse_datetimes(pd.Series(["03/09/2024", "2024-01-05"]), "%m/%d/%Y")
    assert list(parsed["value"].dt.strftime("%Y-%m-%d")) == ["2024-03-09", "2024-01-05"]


def test_dates_iso_always_parse() -> None:
    """ISO dates and timestamps parse whatever format is declared."""
    raw = pd.Series(["2024-02-29", "2024-02-29T23:30:00+02:00"])
    parsed = parse_datetimes(raw, "%d.%m.%Y")
    assert parsed["value"].iloc[0] == pd.Timestamp("2024-02-29", tz="UTC")
    assert parsed["value"].iloc[1] == pd.Timestamp("2024-02-29 21:30", tz="UTC")


def test_dates_excel_serial_by_declaration() -> None:
    """Serial 45292 is 2024-01-01 when declared, and rejected otherwise."""
    declared = parse_datetimes(pd.Series(["45292", "45292.75"]), "excel")
    assert declared["value"].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert declared["value"].iloc[1] == pd.Timestamp("2024-01-01 18:00", tz="UTC")
    undeclared = parse_datetimes(pd.Series(["45292"]))
    assert "date_format: excel" in undeclared["error"].iloc[0]


def test_dates_two_digit_year_by_declaration() -> None:
    """``02/03/24`` needs a declared format; ``%m/%d/%y`` reads 3 Feb 2024."""
    undeclared = parse_datetimes(pd.Series(["02/03/24"]))
    assert "two-digit year" in undeclared["error"].iloc[0]
    declared = parse_datetimes(pd.Series(["02/03/24"]), "%m/%d/%y")
    assert declared["value"].iloc[0] == pd.Timestamp("2024-02-03", tz="UTC")


# 6. Multi-currency

CURRENCY_ROWS = (
    "Opportunity ID,Account ID,Stage,Amount,Currency,Close Date{extra}\n"
    "O1,A1,Closed Won,5000,EUR,2024-03-01{eur}\n"
    "O2,A1,Closed Won,2000,USD,2024-03-01{usd}\n"
    "O3,A2,Closed Won,100000,JPY,2024-06-30{jpy}\n"
)


def test_currency_converted_columns(tmp_path: Path) -> None:
    """The export's converted column gives the report-currency total."""
    csv = CURRENCY_ROWS.format(
        extra=",Amount (converted)", eur=",5500.00", usd=",2000.00", jpy=",650.00"
    )
    intake = load(
        tmp_path, {"accounts.csv": ACCOUNTS, "opportunities.csv": csv}, mapped_profile()
    )
    assert intake.tables["opportunities"]["amount"].sum() == pytest.approx(8150.00)
    assert intake.currency_basis["source"] == 3


def test_currency_rates_table(tmp_path: Path) -> None:
    """A dated rates table converts at the close-date rate."""
    csv = CURRENCY_ROWS.format(extra="", eur="", usd="", jpy="")
    rates = (
        "date,currency,rate\n"
        "2024-01-01,EUR,1.00\n2024-02-15,EUR,1.10\n2024-04-01,EUR,1.30\n"
        "2024-06-01,JPY,0.0065\n2024-07-01,JPY,0.0070\n"
    )
    profile = {**mapped_profile(), "rates_file": "rates.csv"}
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": csv, "rates.csv": rates}
    intake = load(tmp_path, files, profile)
    amounts = intake.tables["opportunities"].set_index("opportunity_id")["amount"]
    assert amounts["O1"] == pytest.approx(5500.00)
    assert amounts["O3"] == pytest.approx(650.00)
    assert amounts.sum() == pytest.approx(8150.00)
    assert intake.currency_basis["rates_table"] == 2
    assert intake.currency_basis["report_currency"] == "USD"


def test_currency_rates_for_several_currencies(tmp_path: Path) -> None:
    """Rates of two currencies on two dates each convert at the dated rate."""
    csv = (
        "Opportunity ID,Account ID,Stage,Amount,Currency,Close Date\n"
        "O1,A1,Closed Won,1000,EUR,2021-06-30\n"
        "O2,A1,Closed Won,1000,EUR,2024-06-30\n"
        "O3,A2,Closed Won,1000,GBP,2021-06-30\n"
        "O4,A2,Closed Won,1000,GBP,2024-01-01\n"
        "O5,A2,Closed Won,1000,USD,2024-06-30\n"
    )
    rates = (
        "date,currency,rate\n"
        "2020-01-01,EUR,1.10\n2024-01-01,EUR,1.20\n"
        "2020-01-01,GBP,1.30\n2024-01-01,GBP,1.40\n"
    )
    profile = {**mapped_profile(), "rates_file": "rates.csv"}
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": csv, "rates.csv": rates}
    intake = load(tmp_path, files, profile)
    amounts = intake.tables["opportunities"].set_index("opportunity_id")["amount"]
    assert amounts["O1"] == pytest.approx(1100.00)
    assert amounts["O2"] == pytest.approx(1200.00)
    assert amounts["O3"] == pytest.approx(1300.00)
    assert amounts["O4"] == pytest.approx(1400.00)
    assert amounts["O5"] == pytest.approx(1000.00)
    assert intake.currency_basis["rates_table"] == 4


def test_unreadable_converted_amount_stays_missing(tmp_path: Path) -> None:
    """A bad converted cell on a foreign row is blanked, not converted or raised."""
    csv = CURRENCY_ROWS.format(
        extra=",Amount (converted)", eur=",12k", usd=",2000.00", jpy=",650.00"
    )
    intake = load(
        tmp_path, {"accounts.csv": ACCOUNTS, "opportunities.csv": csv}, mapped_profile()
    )
    amounts = intake.tables["opportunities"].set_index("opportunity_id")["amount"]
    assert pd.isna(amounts["O1"])
    assert amounts.sum() == pytest.approx(2650.00)
    blanked = intake.quarantine.to_frame()
    assert blanked["value"].tolist() == ["12k"]
    assert blanked["row"].tolist() == [1]
    findings = intake.extras["quality_findings"].set_index("check")
    assert findings.loc["won without converted amount", "rows"] == 1
    assert findings.loc["won without converted amount", "message"] == (
        "1 deal won with EUR 5,000 but no converted amount; bookings leave out "
        "EUR 5,000 not converted to USD."
    )


def test_currency_without_rates_raises(tmp_path: Path) -> None:
    """Foreign amounts without a conversion name the currencies and counts."""
    csv = CURRENCY_ROWS.format(extra="", eur="", usd="", jpy="")
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": csv}
    with pytest.raises(InputError, match="opportunities.csv") as caught:
        load(tmp_path, files, mapped_profile())
    message = str(caught.value)
    assert "amount_original" in message
    assert "EUR (1 row, first row 1)" in message
    assert "JPY (1 row, first row 3)" in message


def test_converted_column_in_other_currency_raises(tmp_path: Path) -> None:
    """Converted amounts in USD are not relabelled as EUR."""
    csv = CURRENCY_ROWS.format(
        extra=",Amount (converted)", eur=",5500.00", usd=",2000.00", jpy=",650.00"
    )
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": csv}
    with pytest.raises(InputError, match="opportunities.csv") as caught:
        load(tmp_path, files, mapped_profile(), "report_currency=EUR")
    message = str(caught.value)
    assert "in USD, not in the report currency EUR" in message
    assert "rates_file" in message


@pytest.mark.parametrize("report_currency", ["EUR", "GBP"])
def test_supplied_amount_in_other_currency_raises(report_currency: str) -> None:
    """Supplied USD amounts are not relabelled, with or without rows in EUR."""
    opportunities = pd.DataFrame(
        {
            "amount": [5500.0, 2000.0, 3000.0],
            "amount_original": [5000.0, 2000.0, 3000.0],
            "currency": ["EUR", "USD", "usd "],
            "close_date": pd.to_datetime(["2024-03-01"] * 3),
            "created_at": pd.to_datetime(["2024-01-01"] * 3, utc=True),
        }
    )
    with pytest.raises(InputError, match="opportunities.csv") as caught:
        convert_amounts(opportunities, report_currency, None, "opportunities.csv")
    message = str(caught.value)
    assert f"in USD, not in the report currency {report_currency}" in message
    assert "(2 rows)" in message


def test_supplied_amount_at_par_passes() -> None:
    """A currency fixed at par with USD agrees on every row without raising."""
    opportunities = pd.DataFrame(
        {
            "amount": [1080.0, 700.0, 800.0, 900.0],
            "amount_original": [1000.0, 700.0, 800.0, 900.0],
            "currency": ["EUR", "PAB", "PAB", "PAB"],
            "close_date": pd.to_datetime(["2024-03-01"] * 4),
            "created_at": pd.to_datetime(["2024-01-01"] * 4, utc=True),
        }
    )
    converted, _ = convert_amounts(opportunities, "USD", None, "opportunities.csv")
    assert converted["amount"].tolist() == [1080.0, 700.0, 800.0, 900.0]


@pytest.mark.parametrize(
    ("currency", "converted_column", "expected"),
    [
        (None, True, "same_currency"),
        (None, False, "same_currency"),
        ("USD", True, "source"),
        ("USD", False, "same_currency"),
        ("EUR", True, "source"),
        ("EUR", False, "source"),
    ],
)
def test_supplied_amount_basis(currency, converted_column, expected) -> None:
    """Only a row with a currency can have an amount the export converted."""
    opportunities = pd.DataFrame(
        {
            "amount": [1000.0],
            "amount_original": [float("nan")],
            "currency": pd.Series([currency], dtype="object"),
            "close_date": pd.to_datetime(["2024-03-01"]),
            "created_at": pd.to_datetime(["2024-01-01"], utc=True),
        }
    )

    _, basis = convert_amounts(
        opportunities,
        "USD",
        None,
        "opportunities.csv",
        converted_column=converted_column,
    )

    assert basis.tolist() == [expected]


def test_converted_column_leaves_amount_open_empty() -> None:
    """A converted amount without an original gives amount_open no rate."""
    opportunities = pd.DataFrame(
        {
            "amount": [1100.0, 2000.0],
            "amount_original": [float("nan"), 2000.0],
            "amount_open": [800.0, 1500.0],
            "currency": ["EUR", "USD"],
            "close_date": pd.to_datetime(["2024-03-01"] * 2),
            "created_at": pd.to_datetime(["2024-01-01"] * 2, utc=True),
        }
    )

    converted, _ = convert_amounts(
        opportunities, "USD", None, "opportunities.csv", converted_column=True
    )

    assert pd.isna(converted["amount_open"].iloc[0])
    assert converted["amount_open"].iloc[1] == 1500.0


def test_profile_without_currency_column_basis(tmp_path: Path) -> None:
    """Amounts of a mapped column with no currency column are not converted."""
    profile = mapped_profile(locale="de-DE")
    opportunities = profile["tables"]["opportunities"]
    del (
        opportunities["columns"]["currency"],
        opportunities["columns"]["amount_original"],
    )
    opportunities["columns"]["amount"] = ["Amount"]
    opportunities["optional_columns"] = []
    csv = (
        "Opportunity ID,Account ID,Stage,Amount,Close Date,Created\n"
        'O1,A1,Closed Won,"1.000,00",2024-03-01,2024-01-01\n'
        'O2,A1,Closed Won,"2.500,50",2024-03-01,2024-01-01\n'
    )
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": csv}

    intake = load(tmp_path, files, profile, "report_currency=EUR")

    assert intake.currency_basis["same_currency"] == 2
    assert intake.currency_basis["source"] == 0


def test_supplied_amount_in_report_currency_passes(tmp_path: Path) -> None:
    """Converted amounts agree with the originals of report-currency rows."""
    csv = CURRENCY_ROWS.format(
        extra=",Amount (converted)", eur=",5500.00", usd=",2000.00", jpy=",650.00"
    )
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": csv}
    intake = load(tmp_path, files, mapped_profile(), "report_currency=USD")
    assert intake.currency_basis["source"] == 3


MARKED_ROWS = (
    "Opportunity ID,Account ID,Stage,Amount,Currency,Close Date\n"
    'O1,A1,Closed Won,"EUR 15,000.00",USD,2024-03-01\n'
    'O2,A1,Closed Won,"$8,620.00",EUR,2024-03-01\n'
    'O3,A2,Closed Won,"USD 2,000.00",USD,2024-03-01\n'
    'O4,A2,Closed Won,"$3,000.00",CAD,2024-03-01\n'
    'O5,A2,Closed Won,"1,000.00 €",EUR,2024-03-01\n'
    'O6,A2,Closed Won,"£500.00",,2024-03-01\n'
)
MARKED_RATES = "date,currency,rate\n2024-01-01,EUR,1.10\n2024-01-01,CAD,0.75\n"


def test_currency_mark_contradiction_blanks_cell(tmp_path: Path) -> None:
    """A code or symbol that contradicts the row's currency blanks the amount."""
    profile = {**mapped_profile(locale="en-US"), "rates_file": "rates.csv"}
    files = {
        "accounts.csv": ACCOUNTS,
        "opportunities.csv": MARKED_ROWS,
        "rates.csv": MARKED_RATES,
    }
    intake = load(tmp_path, files, profile)

    amounts = intake.tables["opportunities"].set_index("opportunity_id")["amount"]
    assert len(amounts) == 6
    assert pd.isna(amounts["O1"])
    assert pd.isna(amounts["O2"])
    assert pd.isna(amounts["O6"])
    assert amounts["O3"] == pytest.approx(2000.00)
    assert amounts["O4"] == pytest.approx(2250.00)
    assert amounts["O5"] == pytest.approx(1100.00)

    blanked = rejected(intake, "opportunities").set_index("row")
    assert blanked.index.tolist() == [1, 2, 6]
    assert (blanked["action"] == "cell blanked").all()
    assert (blanked["column"] == "amount_original").all()
    assert blanked.loc[1, "value"] == "EUR 15,000.00"
    assert "marked EUR" in blanked.loc[1, "reason"]
    assert 'column "Currency" (currency) of the row is USD' in blanked.loc[1, "reason"]
    assert "marked $ (a dollar or peso)" in blanked.loc[2, "reason"]
    assert "of the row is EUR" in blanked.loc[2, "reason"]
    assert "marked £ (GBP" in blanked.loc[6, "reason"]
    assert "report currency USD" in blanked.loc[6, "reason"]

    counts = intake.reconciliation().set_index("table")
    assert counts.loc["opportunities", "cells_blanked"] == 3


def test_currency_mark_without_currency_column(tmp_path: Path) -> None:
    """Without a currency column a marked amount must be in the report currency."""
    profile = mapped_profile(locale="en-US")
    del profile["tables"]["opportunities"]["columns"]["currency"]
    profile["tables"]["opportunities"]["optional_columns"].remove("currency")
    csv = (
        "Opportunity ID,Account ID,Stage,Amount,Close Date\n"
        'O1,A1,Closed Won,"EUR 15,000.00",2024-03-01\n'
        'O2,A2,Closed Won,"$2,000.00",2024-03-01\n'
    )
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": csv}
    intake = load(tmp_path, files, profile)
    amounts = intake.tables["opportunities"].set_index("opportunity_id")["amount"]
    assert pd.isna(amounts["O1"])
    assert amounts["O2"] == pytest.approx(2000.00)
    reason = rejected(intake, "opportunities")["reason"].tolist()
    assert len(reason) == 1
    assert "marked EUR" in reason[0]
    assert "no currency column" in reason[0]
    assert "report currency USD" in reason[0]


def test_currency_mark_in_converted_amount(tmp_path: Path) -> None:
    """A converted amount marked in another currency than the report's is blanked."""
    csv = CURRENCY_ROWS.format(
        extra=",Amount (converted)",
        eur=',"EUR 5,500.00"',
        usd=',"USD 2,000.00"',
        jpy=",650.00",
    )
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": csv}
    intake = load(tmp_path, files, mapped_profile(locale="en-US"))
    amounts = intake.tables["opportunities"].set_index("opportunity_id")["amount"]
    assert pd.isna(amounts["O1"])
    assert amounts["O2"] == pytest.approx(2000.00)
    blanked = rejected(intake, "opportunities")
    assert blanked["column"].tolist() == ["amount"]
    assert "marked EUR" in blanked["reason"].iloc[0]
    assert "report currency USD" in blanked["reason"].iloc[0]


@pytest.mark.parametrize(
    ("mark", "code", "matches"),
    [
        ("EUR", "EUR", True),
        ("EUR", "USD", False),
        ("€", "EUR", True),
        ("€", "USD", False),
        ("£", "GBP", True),
        ("$", "USD", True),
        ("$", "CAD", True),
        ("$", "MXN", True),
        ("$", "EUR", False),
        ("$", "SGD", True),
        ("$", "XCD", True),
        ("$", "TWD", True),
        ("$", "AED", False),
        ("$", "KWD", False),
        ("$", "BHD", False),
        ("$", "JOD", False),
        ("$", "RSD", False),
        ("$", "TND", False),
        ("US$", "USD", True),
        ("US$", "CAD", False),
        ("CA$", "CAD", True),
        ("CA$", "USD", False),
        ("C$", "CAD", True),
        ("C$", "USD", False),
        ("C$", "NIO", True),
        ("A$", "AUD", True),
        ("AU$", "AUD", True),
        ("AU$", "NZD", False),
        ("NZ$", "NZD", True),
        ("HK$", "HKD", True),
        ("S$", "SGD", True),
        ("MX$", "MXN", True),
        ("MX$", "USD", False),
        ("NT$", "TWD", True),
        ("R$", "BRL", True),
        ("¥", "JPY", True),
        ("¥", "CNY", True),
    ],
)
def test_currency_mark_matches(mark: str, code: str, matches: bool) -> None:
    assert currency_mark_matches(mark, code) is matches


def test_currency_marks_found() -> None:
    cells = pd.Series(["EUR 15,000.00", "1.234,50 €", "1234.50", None, "R$ 10"])
    marks = currency_marks(cells).tolist()
    assert marks == ["EUR", "€", None, None, "R$"]


def test_currency_marks_prefixed_dollars() -> None:
    cells = pd.Series(["CA$11,191.78", "C$ 5", "NT$300", "HK$ 2,000", "$12"])
    marks = currency_marks(cells).tolist()
    assert marks == ["CA$", "C$", "NT$", "HK$", "$"]


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("CA$11,191.78", 11191.78),
        ("C$ 5.00", 5.0),
        ("US$1,000.00", 1000.0),
        ("A$10", 10.0),
        ("AU$9.50", 9.5),
        ("NZ$7", 7.0),
        ("HK$ 2,000.00", 2000.0),
        ("S$12", 12.0),
        ("MX$1,500.50", 1500.5),
        ("NT$300", 300.0),
        ("(CA$1,200.00)", -1200.0),
    ],
)
def test_money_prefixed_dollars(cell: str, value: float) -> None:
    parsed = parse_money(pd.Series([cell]), "en-US")
    assert parsed["error"].iloc[0] is None
    assert parsed["value"].iloc[0] == pytest.approx(value)


def test_currency_prefixed_dollar_checked(tmp_path: Path) -> None:
    """CA$ agrees with CAD rows, and $ is blanked on a dirham row."""
    csv = (
        "Opportunity ID,Account ID,Stage,Amount,Currency,Close Date\n"
        'O1,A1,Closed Won,"CA$11,191.78",CAD,2024-03-01\n'
        'O2,A1,Closed Won,"CA$1,000.00",USD,2024-03-01\n'
        'O3,A2,Closed Won,"$2,000.00",AED,2024-03-01\n'
        'O4,A2,Closed Won,"$3,000.00",SGD,2024-03-01\n'
    )
    rates = (
        "date,currency,rate\n"
        "2024-01-01,CAD,0.75\n2024-01-01,AED,0.27\n2024-01-01,SGD,0.74\n"
    )
    profile = {**mapped_profile(locale="en-US"), "rates_file": "rates.csv"}
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": csv, "rates.csv": rates}
    intake = load(tmp_path, files, profile)

    amounts = intake.tables["opportunities"].set_index("opportunity_id")["amount"]
    assert amounts["O1"] == pytest.approx(8393.835)
    assert pd.isna(amounts["O2"])
    assert pd.isna(amounts["O3"])
    assert amounts["O4"] == pytest.approx(2220.0)
    blanked = rejected(intake, "opportunities").set_index("row")
    assert blanked.index.tolist() == [2, 3]
    assert "marked CA$ (CAD)" in blanked.loc[2, "reason"]
    assert "of the row is USD" in blanked.loc[2, "reason"]
    assert "marked $ (a dollar or peso)" in blanked.loc[3, "reason"]
    assert "of the row is AED" in blanked.loc[3, "reason"]


# 8. Duplicate accounts

DUPLICATES = [
    ("A1", "Acme Widgets Inc.", "https://acmewidgets.com", "60000"),
    ("A2", '"ACME WIDGETS, INC"', "www.acmewidgets.com/", "50000"),
    ("A3", "Acme Widgets", "", "5000"),
    ("B1", "Beacon Labs Inc.", "beaconlabs.io", "10000"),
    ("B2", "Beacon Labs Corp.", "beaconlabs-corp.com", "10000"),
]


def _duplicate_files(order: list[int]) -> dict[str, str]:
    accounts = ["Account ID,Account Name,Website"]
    opportunities = ["Opportunity ID,Account ID,Stage,Amount,Close Date"]
    for index in order:
        account_id, name, website, amount = DUPLICATES[index]
        accounts.append(f"{account_id},{name},{website}")
        opportunities.append(
            f"O{account_id},{account_id},Closed Won,{amount},2024-05-01"
        )
    return {
        "accounts.csv": "\n".join(accounts) + "\n",
        "opportunities.csv": "\n".join(opportunities) + "\n",
    }


@pytest.mark.parametrize("order", [[0, 1, 2, 3, 4], [4, 2, 1, 3, 0], [2, 1, 0, 4, 3]])
def test_duplicates_merge_by_domain(tmp_path: Path, order: list[int]) -> None:
    """Same domain merges; same name without website is only suggested."""
    intake = load(tmp_path, _duplicate_files(order), mapped_profile())
    opportunities = intake.tables["opportunities"]
    won = opportunities.groupby("account_id")["amount"].sum()
    assert won.to_dict() == {"A1": 110000, "A3": 5000, "B1": 10000, "B2": 10000}
    assert sorted(intake.tables["accounts"]["account_id"]) == ["A1", "A3", "B1", "B2"]
    audit = intake.extras["account_merges"]
    merged = audit[audit["action"] == "merged"]
    assert list(zip(merged["account_id"], merged["into_account_id"], strict=True)) == [
        ("A2", "A1")
    ]
    suggested = audit[audit["action"] == "suggested"]
    assert list(
        zip(suggested["account_id"], suggested["into_account_id"], strict=True)
    ) == [("A3", "A1")]
    counts = intake.reconciliation().set_index("table")
    assert counts.loc["accounts", "merged"] == 1
    assert counts["reconciled"].all()


def test_duplicates_merge_off(tmp_path: Path) -> None:
    """merge_duplicate_accounts=false keeps every account apart."""
    files = _duplicate_files([0, 1, 2, 3, 4])
    intake = load(tmp_path, files, mapped_profile(), "merge_duplicate_accounts=false")
    assert len(intake.tables["accounts"]) == 5
    assert "account_merges" not in intake.extras


def _write(folder: Path, name: str, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    content = files[name]
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_late_close_stage_is_finding() -> None:
    from acctlib.intake.quality import check_opportunities

    opportunities = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3"],
            "account_id": "A1",
            "stage": ["Closed Won", "Closed Won", "Proposal"],
            "stage_category": ["won", "won", "open"],
            "amount": [100.0, 200.0, 300.0],
            "created_at": pd.Timestamp("2024-01-01", tz="UTC"),
            "close_date": pd.to_datetime(["2024-02-01", "2026-02-01", "2024-02-01"]),
        }
    )
    history = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3"],
            "stage": ["Closed Won", "Closed Won", "Proposal"],
            "entered_at": pd.to_datetime(
                ["2026-02-23", "2026-02-23", "2026-02-23"], utc=True
            ),
        }
    )

    findings = check_opportunities(opportunities, {}, history).set_index("check")

    # O1 closed two years before it entered Closed Won; O2 within the 30
    # days, and O3 is open.
    assert findings.loc["closed before close stage", "rows"] == 1
    assert findings.loc["closed before close stage", "amount"] == 100.0
    message = findings.loc["closed before close stage", "message"]
    assert message.startswith("1 deal won or lost with a close_date over 30 days")
    assert "dates each such close by that entry" in message


def _won_deals(currencies: list[str], converted: list[float | None]) -> pd.DataFrame:
    """Won deals of 150,000 each in ``currencies``, closed on 1 Feb 2024."""
    return pd.DataFrame(
        {
            "opportunity_id": [f"O{number}" for number in range(len(currencies))],
            "account_id": "A1",
            "stage_category": "won",
            "amount": pd.Series(converted, dtype="float64"),
            "amount_original": 150_000.0,
            "currency": currencies,
            "created_at": pd.Timestamp("2024-01-01", tz="UTC"),
            "close_date": pd.Timestamp("2024-02-01"),
        }
    )


def test_unconverted_win_names_original_amount() -> None:
    from acctlib.intake.quality import check_opportunities

    deals = _won_deals(["EUR", "USD"], [None, 150_000.0])

    findings = check_opportunities(deals, {}, report_currency="USD")

    finding = findings.set_index("check").loc["won without converted amount"]
    assert finding["rows"] == 1
    assert pd.isna(finding["amount"])
    assert finding["unconverted_amount"] == "EUR 150,000"
    assert finding["message"] == (
        "1 deal won with EUR 150,000 but no converted amount; bookings leave "
        "out EUR 150,000 not converted to USD."
    )
    assert "won without amount" not in set(findings["check"])


def test_unconverted_win_converts_at_rates() -> None:
    from acctlib.intake.quality import check_opportunities

    deals = _won_deals(["EUR", "GBP", ""], [None, None, None])
    rates = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-01", "2024-03-01"]),
            "currency": ["EUR", "EUR"],
            "rate": [1.08, 1.20],
        }
    )

    findings = check_opportunities(deals, {}, report_currency="USD", rates=rates)

    finding = findings.set_index("check").loc["won without converted amount"]
    assert finding["rows"] == 3
    # EUR at the January rate plus the deal without a currency, in USD.
    assert finding["amount"] == pytest.approx(312_000.0)
    assert finding["unconverted_amount"] == "GBP 150,000"
    assert finding["message"] == (
        "3 deals won with EUR 150,000, GBP 150,000 and USD 150,000 but no "
        "converted amount; bookings leave out USD 312,000 at the rates "
        "table's close-date rate plus GBP 150,000 not converted to USD."
    )


def test_win_without_any_amount_unchanged() -> None:
    from acctlib.intake.quality import check_opportunities

    deals = _won_deals(["EUR"], [None]).assign(amount_original=float("nan"))

    findings = check_opportunities(deals, {}, report_currency="USD")

    assert list(findings["check"]) == ["won without amount"]
    assert findings["message"].iloc[0] == (
        "1 deal won without an amount (nothing added to bookings)."
    )


def test_unconverted_win_from_export(tmp_path: Path) -> None:
    """An empty converted cell of a won EUR deal is a finding with its amount."""
    csv = (
        "Opportunity ID,Account ID,Stage,Amount,Amount (converted),Currency,"
        "Close Date\n"
        'O1,A1,Closed Won,"150,000.00",,EUR,2024-03-01\n'
        'O2,A1,Closed Won,"1,000.00","1,100.00",EUR,2024-03-01\n'
    )
    files = {"accounts.csv": ACCOUNTS, "opportunities.csv": csv}

    intake = load(tmp_path, files, mapped_profile(locale="en-US"))

    findings = intake.extras["quality_findings"].set_index("check")["message"]
    assert findings["won without converted amount"] == (
        "1 deal won with EUR 150,000 but no converted amount; bookings leave "
        "out EUR 150,000 not converted to USD."
    )
    assert "won without amount" not in findings.index


def test_outlier_amount_is_a_finding() -> None:
    from acctlib.intake.quality import check_opportunities

    amounts = [1000.0] * 25 + [2_000_000.0, 20_000_000.0, 1e15]
    opportunities = pd.DataFrame(
        {
            "opportunity_id": [f"O{number}" for number in range(len(amounts))],
            "account_id": "A1",
            "stage_category": "won",
            "amount": amounts,
            "created_at": pd.Timestamp("2024-01-01", tz="UTC"),
            "close_date": pd.Timestamp("2024-02-01"),
        }
    )

    findings = check_opportunities(opportunities, {}).set_index("check")

    assert findings.loc["outlier amount", "rows"] == 2
    message = findings.loc["outlier amount", "message"]
    assert "over 10,000 times the median deal amount (1,000.00)" in message
    assert "the largest is deal O27 at 1,000,000,000,000,000.00" in message


@pytest.mark.parametrize(
    ("locale", "repeated", "other"),
    [("en-US", "25.000.000,00", "1.500.000,50"), (None, "1,234", "5,678")],
)
def test_locale_error_quotes_each_value_once(locale, repeated, other) -> None:
    """A value repeated in the column is quoted once among the examples."""
    raw = pd.Series([repeated, repeated, other])

    with pytest.raises(ColumnFormatError) as caught:
        parse_money(raw, locale=locale)

    message = str(caught.value)
    assert message.count(repr(repeated)) == 1
    assert repr(other) in message
