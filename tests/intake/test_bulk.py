"""Bulk intake in DuckDB accepts and rejects exactly what pandas intake does.

Each case loads the same folder twice, once with bulk intake forced on
(``bulk_intake_min_mb=0``) and once with it off (``-1``), and compares the
accepted touchpoints and the rejected rows.
"""

from __future__ import annotations

import csv
import gc
import json
from pathlib import Path

import pandas as pd
import pytest

from acctlib import engine
from acctlib.errors import InputError
from acctlib.intake import load_source
from acctlib.intake.bulk import BulkRawTable, use_bulk, validate_bulk_table
from acctlib.intake.bulktable import BulkTable
from acctlib.intake.canonical import canonicalize, check_references
from acctlib.intake.mapped import build_raw_table, read_export_file
from acctlib.intake.quarantine import Quarantine
from acctlib.params import resolve_params


def account(account_id: str, created_at: str = "2024-01-01T00:00:00Z"):
    return {
        "account_id": account_id,
        "name": f"Account {account_id}",
        "industry": "Software",
        "country": "DE",
        "region": "EMEA",
        "employees": "120",
        "annual_revenue": "5000000",
        "owner": "Dana",
        "created_at": created_at,
    }


# A3 is rejected itself (bad timestamp), so touches of A3 point nowhere.
ACCOUNTS = [account("A1"), account("A2"), account("A3", "not a date")]
OPPORTUNITIES = [
    {
        "opportunity_id": "O1",
        "account_id": "A1",
        "type": "new_business",
        "stage": "Discovery",
        "amount": "1000",
        "created_at": "2024-02-01T10:00:00Z",
        "close_date": "2024-06-30",
    }
]


def touch(touch_id: str, **changes: str) -> dict[str, str]:
    row = {
        "touch_id": touch_id,
        "account_id": "A1",
        "contact_id": "C1",
        "occurred_at": "2024-01-15T09:00:00Z",
        "channel": "webinar",
        "function": "marketing",
        "campaign": "Spring",
        "touch_type": "attend",
    }
    return {**row, **changes}


TOUCHES = [
    touch("T1"),
    touch("T2", occurred_at="2024-01-16", campaign=""),  # date only, no campaign
    touch("T3", occurred_at=" 2024-01-17T10:00:00 ", contact_id=" "),  # naive, UTC
    touch("T4", occurred_at="yesterday"),  # invalid timestamp
    touch("T1", channel="email"),  # duplicate of row 1
    touch("T5", channel=""),  # required channel empty
    touch("T6", function="finance"),  # not an allowed function
    touch("T7", account_id="A9"),  # unknown account
    touch("T8", account_id="A3"),  # account rejected by intake
    touch("", account_id="A2"),  # empty touch_id
    touch("T4", account_id="A2"),  # first valid T4, since row 4 failed to parse
    touch("T9", occurred_at="2024-13-45T00:00:00Z", function="finance"),
]


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    write_csv(tmp_path / "accounts.csv", ACCOUNTS)
    write_csv(tmp_path / "opportunities.csv", OPPORTUNITIES)
    write_csv(tmp_path / "touchpoints.csv", TOUCHES)
    return tmp_path


def load(folder: Path, min_mb: int):
    params = resolve_params(
        None, [f"data_dir={folder}", f"bulk_intake_min_mb={min_mb}"]
    )
    return load_source(params)


def rejected_touches(intake) -> pd.DataFrame:
    frame = intake.quarantine.to_frame()
    frame = frame[frame["table"] == "touchpoints"]
    columns = ["file", "row", "column", "value", "reason"]
    return frame[columns].reset_index(drop=True)


def test_bulk_matches_pandas_on_csv(source):
    """Accepted rows, dtypes and rejected rows agree on a CSV file."""
    bulk = load(source, 0)
    pandas_path = load(source, -1)

    pd.testing.assert_frame_equal(
        bulk.tables["touchpoints"].to_pandas(), pandas_path.tables["touchpoints"]
    )
    pd.testing.assert_frame_equal(rejected_touches(bulk), rejected_touches(pandas_path))
    assert bulk.counts().equals(pandas_path.counts())


def test_bulk_trims_text_cells_as_pandas_does(source):
    """Cells with spaces, tabs or line breaks at either end read alike on both paths."""
    write_csv(
        source / "touchpoints.csv",
        [
            touch("T1", campaign=" Spring\t"),
            touch("T2", channel="webinar\n", campaign="\x0bS"),
            touch("T3", campaign="é "),
            touch("T4", campaign="x"),
            touch("T5", campaign="\x0c Q\r"),
            touch("\tT6 ", campaign="  "),
        ],
    )
    bulk = load(source, 0).tables["touchpoints"].to_pandas()
    pandas_path = load(source, -1).tables["touchpoints"]

    pd.testing.assert_frame_equal(bulk, pandas_path)
    assert bulk["campaign"].tolist()[:5] == ["Spring", "S", "é", "x", "Q"]
    assert bulk["touch_id"].tolist()[-1] == "T6"


def test_bulk_missing_column_advice(source):
    """A canonical file without a required column gets the canonical advice."""
    rows = [{name: cell for name, cell in touch("T1").items() if name != "function"}]
    write_csv(source / "touchpoints.csv", rows)

    with pytest.raises(InputError) as raised:
        load(source, 0)

    message = str(raised.value)
    assert "required column 'function' of table touchpoints is missing" in message
    assert "Add the column to the file, with a value on every row" in message
    assert "Rename the column" not in message


def test_bulk_matches_pandas_without_rejections(source):
    """A clean file keeps its row order on both paths."""
    clean = [
        touch(f"T{number}", occurred_at=f"2024-01-{number:02d}")
        for number in (5, 3, 9, 1)
    ]
    write_csv(source / "touchpoints.csv", clean)

    bulk = load(source, 0)
    pandas_path = load(source, -1)

    assert bulk.tables["touchpoints"].to_pandas()["touch_id"].tolist() == [
        "T5",
        "T3",
        "T9",
        "T1",
    ]
    assert rejected_touches(bulk).empty
    pd.testing.assert_frame_equal(
        bulk.tables["touchpoints"].to_pandas(), pandas_path.tables["touchpoints"]
    )


def test_bulk_rejections_by_hand(source):
    """Each broken row is rejected on its column with the stated reason."""
    rejected = rejected_touches(load(source, 0)).set_index("row")

    assert bulk_accepted_ids(source) == ["T1", "T2", "T3", "T4"]
    assert rejected.loc[4, "reason"].startswith("invalid timestamp")
    assert rejected.loc[5, "reason"] == (
        "duplicate value of touch_id; first seen on row 1; remove or merge the "
        "repeated rows, or export one row per touch_id"
    )
    assert (
        rejected.loc[6, "reason"]
        == "channel is empty but required; enter a value in the export or remove "
        "the row"
    )
    assert rejected.loc[7, "column"] == "function"
    assert rejected.loc[8, "reason"] == (
        "account_id not found in accounts; add the accounts row or fix the ID"
    )
    assert rejected.loc[9, "column"] == "account_id"
    assert rejected.loc[9, "reason"].startswith(
        "account_id points at a rejected row of accounts (accounts.csv row 3); "
    )
    assert (
        rejected.loc[10, "reason"]
        == "touch_id is empty but required; enter a value in the export or remove "
        "the row"
    )
    assert rejected.loc[12, "column"] == "occurred_at"  # parse fails first
    assert rejected.loc[12, "reason"] == (
        "invalid timestamp; '2024-13-45' is not a day of the calendar; correct "
        "the day or the month"
    )
    assert len(rejected) == 8


def bulk_accepted_ids(folder: Path) -> list[str]:
    return load(folder, 0).tables["touchpoints"].to_pandas()["touch_id"].tolist()


def test_bulk_matches_pandas_on_parquet(source):
    """A typed Parquet file gives the same accepted rows on both paths."""
    frame = pd.read_csv(source / "touchpoints.csv", dtype=str, keep_default_na=False)
    frame = frame[~frame["touch_id"].isin(["T4", "T9"])]
    frame["occurred_at"] = pd.to_datetime(
        frame["occurred_at"].str.strip(), utc=True, format="ISO8601"
    )
    (source / "touchpoints.csv").unlink()
    frame.to_parquet(source / "touchpoints.parquet", index=False)

    bulk = load(source, 0)
    pandas_path = load(source, -1)

    pd.testing.assert_frame_equal(
        bulk.tables["touchpoints"].to_pandas(), pandas_path.tables["touchpoints"]
    )
    assert rejected_touches(bulk)["row"].tolist() == [4, 5, 6, 7, 8, 9]
    assert rejected_touches(bulk)["reason"].tolist() == (
        rejected_touches(pandas_path)["reason"].tolist()
    )


def test_bulk_fully_rejected_accounts_raise(source, monkeypatch):
    """Intake stops on the accounts before it reads the bulk touchpoints."""
    write_csv(source / "accounts.csv", [account("A1", "not a date")])

    def fail(*args, **kwargs):
        raise AssertionError("bulk touchpoints read after every account failed")

    monkeypatch.setattr("acctlib.intake.validate_bulk_table", fail)

    with pytest.raises(InputError, match="every row of required table accounts"):
        load(source, 0)


def test_bulk_fully_rejected_opportunities_raise(source):
    """Opportunities rejected by the reference check stop intake too."""
    write_csv(source / "opportunities.csv", [{**OPPORTUNITIES[0], "account_id": "A9"}])

    with pytest.raises(InputError) as raised:
        load(source, 0)

    assert str(raised.value).startswith(
        "every row of required table opportunities was rejected (1 of 1 rows"
    )
    assert raised.value.file == str(source / "opportunities.csv")


def test_bulk_counts_blank_lines_in_rows(source):
    """Both paths number rows as the file's lines below the header."""
    path = source / "touchpoints.csv"
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    # Two blank lines after data row 1, one after row 6 and one at the end.
    lines = [header, rows[0], "", "", *rows[1:6], "", *rows[6:], ""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    bulk = load(source, 0)
    pandas_path = load(source, -1)

    expected = [6, 7, 8, 10, 11, 12, 13, 15]  # rows 4 to 10 and 12, shifted
    assert rejected_touches(bulk)["row"].tolist() == expected
    pd.testing.assert_frame_equal(rejected_touches(bulk), rejected_touches(pandas_path))
    pd.testing.assert_frame_equal(
        bulk.tables["touchpoints"].to_pandas(), pandas_path.tables["touchpoints"]
    )
    assert bulk_accepted_ids(source) == ["T1", "T2", "T3", "T4"]
    # The raw record of a reference rejection is read again by row number.
    records = bulk.quarantine.to_frame().set_index("row")["record"]
    assert json.loads(records[11])["touch_id"] == "T7"


def test_bulk_missing_required_column(source):
    """A file without a required column is an input error naming it."""
    rows = [{k: v for k, v in row.items() if k != "channel"} for row in TOUCHES]
    write_csv(source / "touchpoints.csv", rows)

    with pytest.raises(InputError, match="required column 'channel'"):
        load(source, 0)


def test_bulk_windows_1252_file_names_encoding(source):
    """A touchpoints file that is not UTF-8 gets an error naming the encoding."""
    path = source / "touchpoints.csv"
    text = path.read_text(encoding="utf-8").splitlines(keepends=True)
    text[3] = text[3].replace("Spring", "Café", 1)
    path.write_bytes("".join(text).encode("cp1252"))

    with pytest.raises(InputError, match="is not valid UTF-8") as caught:
        load(source, 0)

    message = str(caught.value)
    assert "the first invalid byte is on line 4" in message
    assert "bulk_intake_min_mb" in message
    assert caught.value.row == 3
    assert "Café" in load(source, -1).tables["touchpoints"]["campaign"].tolist()


@pytest.mark.parametrize(
    ("table", "min_mb", "expected"),
    [
        ("touchpoints", 0, True),
        ("touchpoints", -1, False),
        ("touchpoints", 1, False),  # the file is far below 1 MB
        ("accounts", 0, False),  # only touchpoints take the bulk path
    ],
)
def test_use_bulk(source, table, min_mb, expected):
    params = {"bulk_intake_min_mb": min_mb}
    assert use_bulk(table, source / "touchpoints.csv", params) is expected


def test_bulk_table_stays_out_of_pandas(source):
    """Bulk intake keeps the accepted rows in DuckDB and counts them."""
    touches = load(source, 0).tables["touchpoints"]

    assert isinstance(touches, BulkTable)
    assert len(touches) == 4
    assert touches.columns == [
        "touch_id",
        "account_id",
        "contact_id",
        "occurred_at",
        "channel",
        "function",
        "campaign",
        "touch_type",
    ]


def test_bulk_merge_repoints_touches(source):
    """Touches of a merged account point at the survivor on both paths."""
    accounts = [
        {**account("A1"), "website": "https://www.acme-widgets.com/"},
        {**account("A2"), "website": "acme-widgets.com"},
        {**account("A3"), "website": ""},
    ]
    write_csv(source / "accounts.csv", accounts)
    write_csv(
        source / "touchpoints.csv",
        [touch("T1"), touch("T2", account_id="A2"), touch("T3", account_id="A3")],
    )

    bulk = load(source, 0).tables["touchpoints"].to_pandas()
    pandas_path = load(source, -1).tables["touchpoints"]

    assert bulk["account_id"].tolist() == ["A1", "A1", "A3"]
    pd.testing.assert_frame_equal(bulk, pandas_path)


def test_bulk_reject_unknown_deletes_rows(source):
    touches = load(source, 0).tables["touchpoints"]

    rejected = touches.reject_unknown("account_id", {"A2"})

    assert rejected["touch_id"].tolist() == ["T1", "T2", "T3"]
    assert rejected["_row"].tolist() == [1, 2, 3]
    assert set(rejected["_file"]) == {str(source / "touchpoints.csv")}
    assert len(touches) == 1
    assert touches.to_pandas()["touch_id"].tolist() == ["T4"]


def test_bulk_late_rejection_keeps_file_text(source):
    """A row rejected after bulk validation is recorded as the file has it."""
    row = touch("T1", account_id=" A1", occurred_at="2024-01-15 09:00")
    write_csv(source / "touchpoints.csv", [row, touch("T2", account_id="A2")])
    intake = load(source, 0)
    accounts = intake.tables["accounts"]
    tables = {
        "accounts": accounts[accounts["account_id"] != "A1"],
        "touchpoints": intake.tables["touchpoints"],
    }
    quarantine = Quarantine()

    check_references(tables, quarantine)

    rejected = quarantine.to_frame().reset_index(drop=True)
    assert rejected["row"].tolist() == [1]
    assert rejected["value"].tolist() == [" A1"]
    assert json.loads(rejected.loc[0, "record"]) == row
    assert rejected.loc[0, "reason"].startswith("account_id not found in accounts")


def test_bulk_table_copied_into_workspace(source):
    """The workspace table has the rows, order and types of the pandas path."""
    bulk = load(source, 0).tables["touchpoints"]
    pandas_path = load(source, -1).tables["touchpoints"]
    con = engine.connect()
    engine.write_table(con, "from_bulk", bulk)
    engine.write_table(con, "from_pandas", pandas_path)

    described = [
        con.con.execute(f"DESCRIBE {name}").fetchall()
        for name in ("from_bulk", "from_pandas")
    ]
    assert described[0] == described[1]
    pd.testing.assert_frame_equal(
        engine.read_table(con, "from_bulk"), engine.read_table(con, "from_pandas")
    )


def test_bulk_rows_leave_memory_once_copied(source):
    """After the copy the bulk database is capped and keeps its rows on disk."""
    bulk = load(source, 0).tables["touchpoints"]
    expected = bulk.to_pandas()
    engine.write_table(engine.connect(), "touchpoints", bulk)

    settings = bulk._con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchall()[0]
    assert settings[0] == "61.0 MiB"
    folder = Path(settings[1])
    assert folder.is_dir()
    assert folder.name.startswith("acctlib-bulk-")
    # A second copy, as the previous month's workspace makes, reads the rows back.
    con = engine.connect()
    engine.write_table(con, "again", bulk)
    pd.testing.assert_frame_equal(engine.read_table(con, "again"), expected)

    del bulk
    gc.collect()
    assert not folder.exists()


# Export headers of the touchpoint columns, as a profile's column map names them.
TOUCH_HEADERS = {
    "touch_id": "Touch ID",
    "account_id": "Account ID",
    "contact_id": "Contact ID",
    "occurred_at": "Occurred At",
    "channel": "Channel",
    "function": "Function",
    "campaign": "Campaign",
    "touch_type": "Touch Type",
}


def mapped_touch_reasons(path: Path, bulk: bool) -> pd.DataFrame:
    """Validate a touchpoints file with export headers; return its rejected rows."""
    quarantine = Quarantine()
    quarantine.add_rejected_ids("accounts", "account_id", {"A3": ("accounts.csv", 3)})
    accounts = pd.DataFrame({"account_id": ["A1", "A2"]})
    tables = {"accounts": accounts}
    if bulk:
        raw = BulkRawTable(table="touchpoints", file=str(path), headers=TOUCH_HEADERS)
        tables["touchpoints"] = validate_bulk_table(raw, tables, quarantine)
    else:
        frame, _ = read_export_file(path)
        spec = {"columns": TOUCH_HEADERS}
        # Bulk intake parses ISO 8601 timestamps only, as the canonical
        # notation does.
        profile = {"options": {"notation": "canonical"}}
        raw = build_raw_table("touchpoints", frame, path, spec, profile)
        tables["touchpoints"] = canonicalize(raw, quarantine, {})
    headers = {("touchpoints", str(path)): raw.headers}
    check_references(tables, quarantine, headers)
    frame = quarantine.to_frame()
    frame = frame[frame["table"] == "touchpoints"].sort_values("row")
    return frame[["row", "column", "reason"]].reset_index(drop=True)


def test_bulk_reasons_name_export_headers(tmp_path):
    """Reasons name the export's header next to the canonical column."""
    path = tmp_path / "touches.csv"
    rows = [
        {TOUCH_HEADERS[column]: value for column, value in row.items()}
        for row in TOUCHES
    ]
    write_csv(path, rows)

    rejected = mapped_touch_reasons(path, bulk=True).set_index("row")

    assert rejected.loc[4, "reason"].startswith(
        'column "Occurred At" (occurred_at): invalid timestamp'
    )
    assert rejected.loc[5, "reason"].startswith(
        'duplicate value of column "Touch ID" (touch_id); first seen on row 1'
    )
    assert rejected.loc[6, "reason"] == (
        'column "Channel" (channel) is empty but required'
        "; enter a value in the export or remove the row"
    )
    assert rejected.loc[7, "reason"].startswith(
        'column "Function" (function) must be one of'
    )
    assert rejected.loc[8, "reason"].startswith(
        'column "Account ID" (account_id) not found in accounts'
    )
    assert rejected.loc[9, "reason"].startswith(
        'column "Account ID" (account_id) points at a rejected row of accounts'
    )
    assert rejected.loc[10, "reason"] == (
        'column "Touch ID" (touch_id) is empty but required'
        "; enter a value in the export or remove the row"
    )
    pd.testing.assert_frame_equal(
        rejected.reset_index(), mapped_touch_reasons(path, bulk=False)
    )


def test_bulk_late_rejection_names_export_header(tmp_path):
    """A reference rejected after bulk validation names the export's header."""
    path = tmp_path / "touches.csv"
    rows = [
        {TOUCH_HEADERS[column]: value for column, value in touch(touch_id).items()}
        for touch_id in ("T1", "T2")
    ]
    write_csv(path, rows)
    raw = BulkRawTable(table="touchpoints", file=str(path), headers=TOUCH_HEADERS)
    accounts = pd.DataFrame({"account_id": ["A1"]})
    touches = validate_bulk_table(raw, {"accounts": accounts}, Quarantine())
    quarantine = Quarantine()
    headers = {("touchpoints", str(path)): TOUCH_HEADERS}

    check_references(
        {"accounts": accounts.iloc[:0], "touchpoints": touches}, quarantine, headers
    )

    reasons = quarantine.to_frame()["reason"].tolist()
    assert len(reasons) == 2
    assert reasons[0].startswith(
        'column "Account ID" (account_id) not found in accounts'
    )


@pytest.mark.parametrize("written", ["11/04/2023 13:45", "2024-02-30T10:00:00Z"])
def test_bulk_mostly_failed_timestamps_stop(source, written):
    """Bulk intake stops on a timestamp column in another format, as pandas does."""
    touches = [touch("T1"), touch("T2")]
    touches += [touch(f"T{number}", occurred_at=written) for number in range(3, 28)]
    write_csv(source / "touchpoints.csv", touches)

    with pytest.raises(InputError) as bulk_error:
        load(source, 0)
    with pytest.raises(InputError) as pandas_error:
        load(source, -1)

    message = str(bulk_error.value)
    assert "column occurred_at: 25 of 27 values could not be read" in message
    assert f"row 3 has '{written}'" in message
    assert "date_format: day-first" in message
    assert message == str(pandas_error.value)
    assert bulk_error.value.column == "occurred_at"
    assert bulk_error.value.row == 3
    assert bulk_error.value.value == written


def test_bulk_few_failed_timestamps_rejected(source):
    """Fewer than 20 failed timestamps reject their rows without stopping."""
    touches = [touch(f"T{number}") for number in range(1, 21)]
    touches += [
        touch(f"T{number}", occurred_at="11/04/2023 13:45") for number in range(21, 40)
    ]
    write_csv(source / "touchpoints.csv", touches)

    rejected = rejected_touches(load(source, 0))

    assert len(rejected) == 19
    assert set(rejected["column"]) == {"occurred_at"}


def test_bulk_finds_rows_after_time(source):
    bulk = load(source, 0).tables["touchpoints"]
    frame = bulk.to_pandas()
    start = pd.Timestamp("2024-01-16T12:00:00Z")
    later = frame[frame["occurred_at"] >= start]
    first = later.sort_values("touch_id").iloc[0]

    count, first_id, first_time = bulk.first_at_or_after(
        "occurred_at", start, "touch_id"
    )

    assert 0 < len(later) < len(frame)
    assert count == len(later)
    assert first_id == first["touch_id"]
    assert first_time == first["occurred_at"]


def test_bulk_empty_rows_match_pandas(source):
    """Rows of separators alone are rejected once, as "empty row", on both paths.

    Row 4 leaves its first cell blank but not its last, so it is no empty row.
    """
    path = source / "touchpoints.csv"
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    lines = [header, rows[0], ",,,,,,,", " , ,,,,,,", ",,,,,,,x", *rows[1:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    bulk = load(source, 0)
    pandas_path = load(source, -1)

    empty = rejected_touches(bulk).query("reason == 'empty row'")
    assert empty["row"].tolist() == [2, 3]
    assert empty["column"].tolist() == ["", ""]
    pd.testing.assert_frame_equal(rejected_touches(bulk), rejected_touches(pandas_path))
    assert bulk.counts().equals(pandas_path.counts())


def test_bulk_case_variant_hint_matches_pandas(source):
    """A touch of an account written in another case names it on both paths."""
    write_csv(source / "touchpoints.csv", [touch("T1"), touch("T2", account_id="a2")])

    bulk = load(source, 0)
    pandas_path = load(source, -1)

    reasons = rejected_touches(bulk)["reason"].tolist()
    assert reasons == [
        "account_id not found in accounts; add the accounts row or fix the ID. "
        "Did you mean 'A2'? IDs match only when written alike, case included"
    ]
    pd.testing.assert_frame_equal(rejected_touches(bulk), rejected_touches(pandas_path))
