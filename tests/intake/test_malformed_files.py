"""Malformed input files: stray delimiters, UTF-16, repeated headers, 0 bytes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from acctlib.errors import InputError
from tests.intake.helpers import load, mapped_profile, opportunities_csv

ACCOUNTS = (
    "account_id,name,industry,country,region,employees,annual_revenue,owner,"
    "created_at\n"
    "A1,Acme,Software,DE,EMEA,120,5000000,Dana,2024-01-01T00:00:00Z\n"
    "A2,Beacon,Retail,US,AMER,80,1000000,Dana,2024-01-01T00:00:00Z\n"
)
OPPORTUNITIES = (
    "opportunity_id,account_id,type,stage,amount,created_at,close_date\n"
    "O1,A1,new_business,Closed Won,1000,2024-02-01T10:00:00Z,2024-06-30\n"
)
MAPPED_ACCOUNTS = "Account ID,Account Name\nA1,Acme\nA2,Beacon\n"
MAPPED_OPPORTUNITIES = opportunities_csv(
    [("O1", "A1", "Closed Won", "100", "2024-03-01")]
)


def canonical_files(**changes: str | bytes) -> dict[str, str | bytes]:
    return {"accounts.csv": ACCOUNTS, "opportunities.csv": OPPORTUNITIES, **changes}


def mapped_files(**changes: str | bytes) -> dict[str, str | bytes]:
    files = {"accounts.csv": MAPPED_ACCOUNTS, "opportunities.csv": MAPPED_OPPORTUNITIES}
    return {**files, **changes}


def test_extra_field_canonical(tmp_path: Path) -> None:
    """An unquoted comma names the line, both field counts and the fix."""
    accounts = ACCOUNTS.replace("A2,Beacon,", "A2,Beacon, Inc.,")

    with pytest.raises(InputError) as caught:
        load(tmp_path, canonical_files(**{"accounts.csv": accounts}), "canonical")

    message = str(caught.value)
    assert "accounts.csv: line 3 has 10 fields, but the header has 9" in message
    assert "Put double quotes around each field that contains the delimiter" in message
    assert "Error tokenizing" not in message


def test_semicolon_file_with_decimal_commas(tmp_path: Path) -> None:
    """Decimal commas in a semicolon file do not hide its delimiter."""
    opportunities = OPPORTUNITIES.replace(",", ";").replace(";1000;", ";1000,50;")
    opportunities += "O2;A1;new_business;Closed Won;12,5;2024-02-01T10:00:00Z;x,y\n"

    with pytest.raises(InputError) as caught:
        files = canonical_files(**{"opportunities.csv": opportunities})
        load(tmp_path, files, "canonical")

    message = str(caught.value)
    assert "opportunities.csv: The header is separated by semicolons" in message
    assert "fields, but the header has" not in message


def test_unclosed_quote_names_its_line(tmp_path: Path) -> None:
    accounts = ACCOUNTS.replace("A2,Beacon,", 'A2,"Beacon,')

    with pytest.raises(InputError) as caught:
        load(tmp_path, canonical_files(**{"accounts.csv": accounts}), "canonical")

    message = str(caught.value)
    assert "accounts.csv: the double quote on line 3 is never closed" in message
    assert "Error tokenizing" not in message


def test_csv_named_xlsx_says_so(tmp_path: Path) -> None:
    files = {"accounts.xlsx": ACCOUNTS, "opportunities.csv": OPPORTUNITIES}

    with pytest.raises(InputError) as caught:
        load(tmp_path, files, "canonical")

    message = str(caught.value)
    assert "accounts.xlsx is not an Excel workbook" in message
    assert "rename it to .csv" in message


def test_second_table_file_noted(tmp_path: Path) -> None:
    files = canonical_files(**{"accounts.xlsx": b"not read"})

    intake = load(tmp_path, files, "canonical")

    assert any(
        "accounts.csv is read and accounts.xlsx beside it is not" in note
        for note in intake.notes
    )


def test_extra_field_mapped(tmp_path: Path) -> None:
    """A mapped file's error also points at the profile's delimiter setting."""
    accounts = MAPPED_ACCOUNTS.replace("A2,Beacon", "A2,Beacon,Inc.")

    with pytest.raises(InputError) as caught:
        load(tmp_path, mapped_files(**{"accounts.csv": accounts}), mapped_profile())

    message = str(caught.value)
    assert "accounts.csv: line 3 has 3 fields, but the header has 2" in message
    assert "read.delimiter" in message


def test_short_row_canonical_rejected(tmp_path: Path) -> None:
    """A row cut short is rejected with both field counts, not padded."""
    row = "O{n},A1,new_business,Closed Won,1000,2024-02-01T10:00:00Z,2024-06-30\n"
    opportunities = OPPORTUNITIES + "".join(row.format(n=n) for n in range(2, 5))
    opportunities += "O5,A1,new_business,Closed Won\n"

    files = canonical_files(**{"opportunities.csv": opportunities})
    intake = load(tmp_path, files, "canonical")

    accepted = intake.tables["opportunities"]["opportunity_id"].tolist()
    assert accepted == ["O1", "O2", "O3", "O4"]
    rejected = intake.quarantine.to_frame()
    assert rejected["row"].tolist() == [5]
    assert rejected["action"].tolist() == ["row rejected"]
    reason = rejected["reason"].iloc[0]
    assert reason.startswith(
        "opportunities.csv line 6 has 4 fields, but the header has 7, so the "
        "row looks cut short"
    )
    assert '"opportunity_id": "O5"' in rejected["record"].iloc[0]
    assert intake.quarantine.count("opportunities") == 1


def test_short_row_after_blank_line(tmp_path: Path) -> None:
    """Blank lines count in the row number and the line of a short row."""
    opportunities = OPPORTUNITIES + "\nO2,A1\n"

    files = canonical_files(**{"opportunities.csv": opportunities})
    intake = load(tmp_path, files, "canonical")

    rejected = intake.quarantine.to_frame()
    assert rejected["row"].tolist() == [3]
    assert rejected["reason"].iloc[0].startswith("opportunities.csv line 4 has 2")


def test_short_row_mapped_rejected(tmp_path: Path) -> None:
    accounts = MAPPED_ACCOUNTS + "A3\n"

    files = mapped_files(**{"accounts.csv": accounts})
    intake = load(tmp_path, files, mapped_profile())

    assert intake.tables["accounts"]["account_id"].tolist() == ["A1", "A2"]
    rejected = intake.quarantine.to_frame()
    assert rejected["table"].tolist() == ["accounts"]
    assert rejected["row"].tolist() == [3]
    assert (
        rejected["reason"]
        .iloc[0]
        .startswith("accounts.csv line 4 has 1 field, but the header has 2")
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_file_read(tmp_path: Path, encoding: str) -> None:
    """Files with a UTF-16 or UTF-32 byte-order mark are read in that encoding."""
    # Python's utf-16 and utf-32 codecs write a byte-order mark, utf-16-be none.
    mark = "\ufeff" if encoding == "utf-16-be" else ""
    accounts = (mark + ACCOUNTS.replace("Acme", "Acmé")).encode(encoding)

    intake = load(tmp_path, canonical_files(**{"accounts.csv": accounts}), "canonical")

    assert list(intake.tables["accounts"]["name"]) == ["Acmé", "Beacon"]
    assert intake.quarantine.count() == 0
    assert not any("not valid UTF-8" in note for note in intake.notes)


def test_utf16_file_read_mapped(tmp_path: Path) -> None:
    """A mapped UTF-16 export with tabs, as Excel saves "Unicode Text", is read."""
    accounts = MAPPED_ACCOUNTS.replace(",", "\t").encode("utf-16")

    intake = load(
        tmp_path, mapped_files(**{"accounts.csv": accounts}), mapped_profile()
    )

    assert list(intake.tables["accounts"]["name"]) == ["Acme", "Beacon"]
    assert not any("not valid UTF-8" in note for note in intake.notes)


def test_repeated_header_canonical(tmp_path: Path) -> None:
    """A header that appears twice is named with both column positions."""
    accounts = ACCOUNTS.replace("owner,created_at", "name,created_at")

    with pytest.raises(InputError) as caught:
        load(tmp_path, canonical_files(**{"accounts.csv": accounts}), "canonical")

    message = str(caught.value)
    assert (
        'accounts.csv: header "name" appears 2 times, in columns 2 (B) and 8 (H)'
        in (message)
    )
    assert "Rename or delete the repeated columns" in message
    assert "name.1" not in message
    assert caught.value.column == "name"


def test_repeated_header_mapped(tmp_path: Path) -> None:
    """A CRM export's repeated header gets a note, and its first column is read."""
    accounts = "Account ID;Account Name;Account ID\nA1;Acme;X1\nA2;Beacon;X2\n"

    intake = load(
        tmp_path, mapped_files(**{"accounts.csv": accounts}), mapped_profile()
    )

    assert sorted(intake.tables["accounts"]["account_id"]) == ["A1", "A2"]
    expected = (
        'accounts.csv: header "Account ID" appears 2 times, in columns 1 (A) '
        "and 3 (C); only the first of them is read."
    )
    assert expected in intake.notes


def test_repeated_header_xlsx(tmp_path: Path) -> None:
    """A repeated header of an XLSX export is named with its column letters."""
    data = tmp_path / "data"
    data.mkdir()
    rows = [["A1", "Acme", "x"], ["A2", "Beacon", "y"]]
    sheet = pd.DataFrame(rows, columns=["Account ID", "Account Name", "Account Name"])
    sheet.to_excel(data / "accounts.xlsx", index=False)

    intake = load(
        tmp_path, {"opportunities.csv": MAPPED_OPPORTUNITIES}, mapped_profile()
    )

    assert sorted(intake.tables["accounts"]["name"]) == ["Acme", "Beacon"]
    expected = (
        'accounts.xlsx: header "Account Name" appears 2 times, in columns 2 (B) '
        "and 3 (C); only the first of them is read."
    )
    assert expected in intake.notes


def test_header_like_renamed_repeat(tmp_path: Path) -> None:
    """Headers "name" and "name.1" that the file really has are read."""
    accounts = ACCOUNTS.replace("owner,created_at", "owner,created_at,name.1")
    accounts = accounts.replace(
        "Dana,2024-01-01T00:00:00Z", "Dana,2024-01-01T00:00:00Z,x"
    )

    intake = load(tmp_path, canonical_files(**{"accounts.csv": accounts}), "canonical")

    assert list(intake.tables["accounts"]["name"]) == ["Acme", "Beacon"]


@pytest.mark.parametrize("content", [b"", b"\n", b"\xef\xbb\xbf\r\n"])
def test_empty_optional_file_canonical(tmp_path: Path, content: bytes) -> None:
    """An empty optional table file is read as a table without rows, with a note."""
    intake = load(tmp_path, canonical_files(**{"signals.csv": content}), "canonical")

    # A table without rows is left out, as a header-only file is.
    signals = intake.tables.get("signals")
    assert signals is None or signals.empty
    assert len(intake.tables["accounts"]) == 2
    assert "signals.csv is empty, so signals has no rows" in " ".join(intake.notes)


def test_empty_required_file_canonical(tmp_path: Path) -> None:
    """An empty required table file raises with what to do."""
    with pytest.raises(InputError) as caught:
        load(tmp_path, canonical_files(**{"accounts.csv": b""}), "canonical")

    message = str(caught.value)
    assert "accounts.csv is empty, but table accounts is required" in message
    assert "export accounts again with its header row and data rows" in message


def test_empty_optional_file_mapped(tmp_path: Path) -> None:
    """An empty optional file of a profile is skipped with a note."""
    files = mapped_files(**{"history.csv": b""})

    intake = load(tmp_path, files, mapped_profile())

    history = intake.tables.get("stage_history")
    assert history is None or history.empty
    assert "history.csv is empty, so stage_history has no rows" in " ".join(
        intake.notes
    )


def test_empty_required_file_mapped(tmp_path: Path) -> None:
    """An empty required file of a profile raises with what to do."""
    with pytest.raises(InputError) as caught:
        load(tmp_path, mapped_files(**{"accounts.csv": b""}), mapped_profile())

    message = str(caught.value)
    assert "accounts.csv is empty, but the test profile needs it for accounts" in (
        message
    )
    assert "export it again with its header row and data rows" in message
