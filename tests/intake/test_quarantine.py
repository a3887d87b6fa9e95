"""Tests for acctlib.intake.quarantine: rejected rows, counts and safe CSV."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

from acctlib.intake.quarantine import (
    REJECTED_COLUMNS,
    Quarantine,
    neutralize_formula,
    write_csv_safely,
)


def read_csv_cells(path) -> list[list[str]]:
    """Return every row of a CSV file as a list of text cells, header first."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def filled_quarantine() -> Quarantine:
    """Return a quarantine with two rows of accounts and one of opportunities.

    Row 3 of accounts.csv is rejected twice, once per column.
    """
    quarantine = Quarantine()
    quarantine.reject(
        "accounts",
        "accounts.csv",
        [3, 1],
        "name",
        ["=HYPERLINK(1)", None],
        "name is empty but required",
        [{"account_id": "A3"}, {"account_id": "A1"}],
    )
    quarantine.reject(
        "accounts", "accounts.csv", [3], "employees", ["-3"], "below minimum"
    )
    quarantine.reject(
        "opportunities", "opportunities.csv", [2], "amount", [np.nan], "bad amount"
    )
    return quarantine


@pytest.mark.parametrize(
    "cell",
    ["=SUM(A1:A9)", "+1-555-0100", "-2+3", "@SUM(A1)", "\tcmd", "=", "-"],
)
def test_formula_cell_gets_apostrophe(tmp_path, cell):
    path = tmp_path / "rejected_rows.csv"
    frame = pd.DataFrame({"value": [cell], "row": [1]})

    write_csv_safely(frame, path)

    rows = read_csv_cells(path)
    assert rows == [["value", "row"], ["'" + cell, "1"]]


@pytest.mark.parametrize(
    "cell",
    ["plain text", "1234.50", "a=b", " =not first", "'=already quoted", "O'Brien"],
)
def test_harmless_cell_is_unchanged(tmp_path, cell):
    path = tmp_path / "rejected_rows.csv"

    write_csv_safely(pd.DataFrame({"value": [cell]}), path)

    assert read_csv_cells(path) == [["value"], [cell]]


def test_numeric_columns_are_not_prefixed(tmp_path):
    path = tmp_path / "rejected_rows.csv"
    frame = pd.DataFrame({"amount": [-1.5, 2.0], "row": [-1, 2]})

    write_csv_safely(frame, path)

    assert read_csv_cells(path) == [["amount", "row"], ["-1.5", "-1"], ["2.0", "2"]]


def test_write_csv_safely_keeps_input(tmp_path):
    frame = pd.DataFrame({"value": ["=1+1", None], "row": [1, 2]})
    before = frame.copy()

    write_csv_safely(frame, tmp_path / "rejected_rows.csv")

    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize("cell", ["\rcmd", "line one\rline two"])
def test_carriage_return_stays_in_one_row(tmp_path, cell):
    path = tmp_path / "rejected_rows.csv"

    write_csv_safely(pd.DataFrame({"value": [cell], "row": [1]}), path)

    rows = read_csv_cells(path)
    assert len(rows) == 2
    assert rows[1][1] == "1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("safe", "safe"),
        ("", ""),
        (-5, -5),
        (None, None),
    ],
)
def test_neutralize_formula(value, expected):
    assert neutralize_formula(value) == expected


def test_to_frame_sorts_and_fills_values():
    frame = filled_quarantine().to_frame()

    assert frame.columns.tolist() == REJECTED_COLUMNS
    assert frame[["table", "row", "column"]].values.tolist() == [
        ["accounts", 1, "name"],
        ["accounts", 3, "employees"],
        ["accounts", 3, "name"],
        ["opportunities", 2, "amount"],
    ]
    assert frame["value"].tolist() == ["", "-3", "=HYPERLINK(1)", ""]
    assert frame["row"].dtype == "int64"
    records = [json.loads(record) for record in frame["record"]]
    assert records == [{"account_id": "A1"}, {}, {"account_id": "A3"}, {}]


def test_empty_quarantine():
    quarantine = Quarantine()

    assert quarantine.to_frame().columns.tolist() == REJECTED_COLUMNS
    assert quarantine.to_frame().empty
    assert quarantine.count() == 0
    assert quarantine.summary().columns.tolist() == [
        "table",
        "action",
        "reason",
        "rows",
    ]
    assert quarantine.summary().empty


@pytest.mark.parametrize(
    ("table", "expected"),
    [(None, 3), ("accounts", 2), ("opportunities", 1), ("revenue", 0)],
)
def test_count_distinct_rows(table, expected):
    assert filled_quarantine().count(table) == expected


def test_count_separates_files():
    quarantine = Quarantine()
    quarantine.reject("revenue", "2024.csv", [1], "amount", ["x"], "bad amount")
    quarantine.reject("revenue", "2025.csv", [1], "amount", ["y"], "bad amount")

    assert quarantine.count("revenue") == 2


def test_summary_counts_rows_per_reason():
    quarantine = filled_quarantine()
    quarantine.reject(
        "accounts", "accounts.csv", [3], "owner", [""], "name is empty but required"
    )

    summary = quarantine.summary()

    assert summary.values.tolist() == [
        ["accounts", "row rejected", "below minimum", 1],
        ["accounts", "row rejected", "name is empty but required", 2],
        ["opportunities", "row rejected", "bad amount", 1],
    ]


def test_reject_requires_aligned_values():
    quarantine = Quarantine()

    with pytest.raises(ValueError, match="zip"):
        quarantine.reject("accounts", "accounts.csv", [1, 2], "name", ["x"], "bad")


def test_blanked_cell_is_not_a_rejection():
    quarantine = Quarantine()
    quarantine.blank(
        "accounts", "accounts.csv", [2], "employees", ["-3"], "below minimum"
    )

    frame = quarantine.to_frame()

    assert frame["action"].tolist() == ["cell blanked"]
    assert frame["value"].tolist() == ["-3"]
    assert quarantine.count() == 0
    assert quarantine.count_blanked() == 1
    assert quarantine.count_blanked("opportunities") == 0
    assert quarantine.summary().values.tolist() == [
        ["accounts", "cell blanked", "below minimum", 1]
    ]


def test_rejection_hides_blanked_cells_of_its_row():
    quarantine = Quarantine()
    quarantine.blank("accounts", "accounts.csv", [2], "employees", ["x"], "bad")
    quarantine.blank("accounts", "accounts.csv", [3], "employees", ["y"], "bad")
    quarantine.reject("accounts", "accounts.csv", [2], "name", [""], "empty name")

    frame = quarantine.to_frame()

    assert frame[["row", "action"]].values.tolist() == [
        [2, "row rejected"],
        [3, "cell blanked"],
    ]
    assert quarantine.count() == 1
    assert quarantine.count_blanked() == 1


def test_summary_groups_reasons_by_value():
    quarantine = Quarantine()
    for row, value in ((1, "soon"), (2, "later")):
        quarantine.reject(
            "opportunities",
            "deals.csv",
            [row],
            "close_date",
            [value],
            f"invalid date '{value}'",
        )
    quarantine.reject(
        "opportunities", "deals.csv", [3], "amount", ["x"], "invalid amount 'x'"
    )
    quarantine.reject(
        "touchpoints",
        "touches.csv",
        [4, 5],
        "account_id",
        ["A9", "A9"],
        "account_id 'A9' refers to rejected row 7 of accounts.csv",
    )

    summary = quarantine.summary()

    assert summary.values.tolist() == [
        ["opportunities", "row rejected", "invalid amount 'x'", 1],
        ["opportunities", "row rejected", "invalid date '…'", 2],
        [
            "touchpoints",
            "row rejected",
            "account_id 'A9' refers to rejected row 7 of accounts.csv",
            2,
        ],
    ]
