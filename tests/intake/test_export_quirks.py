"""Export quirks: line endings, delimiters, encodings, booleans, duplicates."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from acctlib.errors import InputError
from acctlib.intake import load_profile
from acctlib.intake.journeys import load_paths
from acctlib.intake.stagelint import lint_stage_map
from tests.intake.helpers import (
    load,
    mapped_profile,
    opportunities_csv,
    rejected_record,
)

OPPORTUNITIES = opportunities_csv(
    [
        ("O1", "A1", "Closed Won", "100", "2024-03-01"),
        ("O2", "A2", "Closed Won", "200", "2024-03-02"),
    ]
)


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_crlf_and_delimiters(tmp_path: Path, delimiter: str) -> None:
    """CRLF line endings and ; tab | delimiters read like plain CSV."""
    accounts = delimiter.join(["Account ID", "Account Name"]) + "\r\n"
    accounts += f"A1{delimiter}Acme\r\nA2{delimiter}Beacon\r\n"
    files = {"accounts.csv": accounts, "opportunities.csv": OPPORTUNITIES}
    intake = load(tmp_path, files, mapped_profile())
    assert list(intake.tables["accounts"]["name"]) == ["Acme", "Beacon"]
    assert intake.quarantine.count() == 0


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_blank_lines_count_in_row_numbers(tmp_path: Path, line_end: str) -> None:
    """A row's number is its line below the header, blank lines included."""
    lines = [
        "Account ID,Account Name",
        "A1,Acme",
        "",
        "   ",
        "A2,",  # row 4: the name is required
        "A3,Beacon",
        "",
        "",
    ]
    files = {"accounts.csv": line_end.join(lines), "opportunities.csv": OPPORTUNITIES}

    intake = load(tmp_path, files, mapped_profile())

    assert list(intake.tables["accounts"]["account_id"]) == ["A1", "A3"]
    bad = intake.quarantine.to_frame().set_index("table")
    assert bad.loc["accounts", "row"] == 4
    assert bad.loc["accounts", "column"] == "name"
    # O2 points at A2, so its reason names the account's row.
    assert "(accounts.csv row 4)" in bad.loc["opportunities", "reason"]


def test_journey_rows_count_blank_lines(tmp_path: Path) -> None:
    """The journeys adapter numbers touch rows as the mapped reader does."""
    journeys = (
        "journey_id,timestamp,channel,conversion,value\n"
        "J1,2024-01-01T00:00:00Z,email,0,\n"
        "\n"
        "J1,2024-01-02T00:00:00Z,,0,\n"  # row 3: the channel is required
        "J1,2024-01-03T00:00:00Z,search,1,abc\n"  # row 4: the value is blanked
        "\n"
    )

    intake = load(tmp_path, {"journeys.csv": journeys}, "journeys")

    rows = intake.quarantine.to_frame().set_index("table")["row"]
    assert rows["touchpoints"] == 3
    assert rows["opportunities"] == 4


def test_journey_bad_timestamp_rejected(tmp_path: Path) -> None:
    """A touch row whose time does not parse is rejected, not a crash."""
    journeys = (
        "journey_id,timestamp,channel,conversion,value\n"
        "J1,2024-01-01T00:00:00Z,email,0,\n"
        "J1,yesterday,search,0,\n"
        "J1,2024-01-03T00:00:00Z,search,1,120\n"
        "J2,2024-02-01T00:00:00Z,email,0,\n"
    )

    intake = load(tmp_path, {"journeys.csv": journeys}, "journeys")

    rejected = intake.quarantine.to_frame()
    assert list(rejected["table"]) == ["touchpoints"]
    assert list(rejected["row"]) == [2]
    assert list(rejected["column"]) == ["occurred_at"]
    assert list(rejected["value"]) == ["yesterday"]
    opportunities = intake.tables["opportunities"]
    assert sorted(opportunities["opportunity_id"]) == ["J1-1", "J2-open-end"]
    assert len(intake.tables["touchpoints"]) == 3


def test_path_number_error_names_column(tmp_path: Path) -> None:
    """A path count that is not a number names its row and the export's column."""
    path = tmp_path / "paths.csv"
    path.write_text(
        "path;total_conversions;total_conversion_value;total_null\n"
        "a > b;1;2.5;3\n"
        "\n"
        "a;x;1;0\n",
        encoding="utf-8",
    )

    with pytest.raises(InputError) as raised:
        load_paths(path, load_profile("paths"))

    error = raised.value
    assert error.row == 3
    assert error.column == "total_conversions"
    assert error.value == "x"
    assert "column \"total_conversions\" (conversions) is 'x'" in str(error)


def test_journey_reasons_name_export_columns(tmp_path: Path) -> None:
    """Reasons name the export's columns that the profile maps onto fields."""
    journeys = (
        "journey_id,timestamp,channel,conversion,value\n"
        "J1,2024-01-01T00:00:00Z,email,0,\n"
        "J1,yesterday,search,0,\n"  # row 2: the touch is rejected
        "J1,2024-01-03T00:00:00Z,search,1,abc\n"  # row 3: the amount is blanked
        "J2,someday,email,0,\n"  # row 4: J2 has no valid time
    )

    intake = load(tmp_path, {"journeys.csv": journeys}, "journeys")

    rejected = intake.quarantine.to_frame().set_index(["table", "row"])
    touch = rejected.loc[("touchpoints", 2), "reason"]
    assert touch.startswith('column "timestamp" (occurred_at): ')
    amount = rejected.loc[("opportunities", 3), "reason"]
    assert amount.startswith('column "value" (amount): ')
    account = rejected.loc[("accounts", 4), "reason"]
    assert account.startswith('column "timestamp" (created_at): ')


def test_latin1_file(tmp_path: Path) -> None:
    """A Latin-1 file keeps its accents and a note names the encoding used."""
    accounts = "Account ID,Account Name\nA1,Société Générale\nA2,Müller\n"
    files = {
        "accounts.csv": accounts.encode("latin-1"),
        "opportunities.csv": OPPORTUNITIES,
    }
    intake = load(tmp_path, files, mapped_profile())
    assert list(intake.tables["accounts"]["name"]) == ["Société Générale", "Müller"]
    assert any("not valid UTF-8" in note for note in intake.notes)


def test_mixed_utf8_file_stops(tmp_path: Path) -> None:
    """A UTF-8 file with one Windows-1252 byte stops, naming the line."""
    accounts = "Account ID,Account Name\nA1,Société Générale\nA2,Müller\n"
    files = {
        "accounts.csv": accounts.encode("utf-8") + b"A3,Caf\xe9 Nord\n",
        "opportunities.csv": OPPORTUNITIES,
    }
    with pytest.raises(InputError) as caught:
        load(tmp_path, files, mapped_profile())
    message = str(caught.value)
    assert "accounts.csv: line 4 has the byte 0xE9" in message
    assert "declare read.encoding: cp1252 in the source profile" in message


def test_mixed_utf8_file_declared_cp1252(tmp_path: Path) -> None:
    """Declaring read.encoding reads a mixed file in that encoding."""
    accounts = "Account ID,Account Name\nA1,Müller\n"
    files = {
        "accounts.csv": accounts.encode("utf-8") + b"A2,Caf\xe9 Nord\n",
        "opportunities.csv": OPPORTUNITIES,
    }
    profile = {**mapped_profile(), "read": {"encoding": "cp1252"}}
    intake = load(tmp_path, files, profile)
    names = list(intake.tables["accounts"]["name"])
    assert names == ["MÃ¼ller", "Café Nord"]


@pytest.mark.parametrize(
    ("cells", "blank_is_false", "expected"),
    [
        (["TRUE", "FALSE"], False, [True, False]),
        (["yes", "No"], False, [True, False]),
        (["1", ""], True, [True, False]),
        (["1", ""], False, [True, None]),
    ],
)
def test_boolean_spellings(
    tmp_path: Path, cells: list[str], blank_is_false: bool, expected: list
) -> None:
    """TRUE/FALSE, yes/no and 1/blank booleans."""
    accounts = (
        f"Account ID,Account Name,Target\nA1,Acme,{cells[0]}\nA2,Beacon,{cells[1]}\n"
    )
    profile = mapped_profile()
    options = {"is_target": {"blank_is_false": blank_is_false}}
    profile["tables"]["accounts"]["column_options"] = options
    files = {"accounts.csv": accounts, "opportunities.csv": OPPORTUNITIES}
    intake = load(tmp_path, files, profile)
    got = [
        None if pd.isna(v) else bool(v) for v in intake.tables["accounts"]["is_target"]
    ]
    assert got == expected


DUPLICATED = (
    "Opportunity ID,Account ID,Stage,Amount,Close Date,Modified\n"
    "O1,A1,Proposal,100,2024-03-01,2024-02-01T10:00:00Z\n"
    "O1,A1,Closed Won,150,2024-03-01,2024-03-01T10:00:00Z\n"
    "O1,A1,Negotiation,120,2024-03-01,2024-02-15T10:00:00Z\n"
)


def test_duplicated_key_rejected(tmp_path: Path) -> None:
    """Without a modified column, repeats after the first row are rejected."""
    files = {
        "accounts.csv": "Account ID,Account Name\nA1,Acme\n",
        "opportunities.csv": DUPLICATED,
    }
    intake = load(tmp_path, files, mapped_profile())
    assert list(intake.tables["opportunities"]["amount"]) == [100]
    reasons = intake.quarantine.to_frame()["reason"]
    assert reasons.str.contains("first seen on row 1").all()


def test_duplicated_key_keeps_latest(tmp_path: Path) -> None:
    """With modified_column, the row modified last wins whatever its place."""
    profile = mapped_profile()
    profile["tables"]["opportunities"]["modified_column"] = ["Modified"]
    files = {
        "accounts.csv": "Account ID,Account Name\nA1,Acme\n",
        "opportunities.csv": DUPLICATED,
    }
    intake = load(tmp_path, files, profile)
    kept = intake.tables["opportunities"]
    assert list(kept["amount"]) == [150]
    rejected = intake.quarantine.to_frame()
    assert sorted(rejected["row"]) == [1, 3]
    assert rejected["reason"].str.contains("kept row 2").all()


def test_exact_repeat_named_as_repeat(tmp_path: Path) -> None:
    """A row repeated cell for cell is not called an older version."""
    profile = mapped_profile()
    profile["tables"]["opportunities"]["modified_column"] = ["Modified"]
    csv = (
        "Opportunity ID,Account ID,Stage,Amount,Close Date,Modified\n"
        "O1,A1,Proposal,100,2024-03-01,2024-02-01T10:00:00Z\n"
        "O2,A1,Proposal,200,2024-03-01,2024-02-01T10:00:00Z\n"
        "O1,A1,Proposal,100,2024-03-01,2024-02-01T10:00:00Z\n"
        "O2,A1,Closed Won,200,2024-03-01,2024-02-01T10:00:00Z\n"
    )
    files = {
        "accounts.csv": "Account ID,Account Name\nA1,Acme\n",
        "opportunities.csv": csv,
    }

    intake = load(tmp_path, files, profile)

    reasons = intake.quarantine.to_frame().set_index("row")["reason"]
    assert sorted(reasons.index) == [1, 2]
    assert reasons[1] == (
        'exact repeat of row 3: same column "Opportunity ID" (opportunity_id) '
        "O1, modified date and value in every column read; kept row 3"
    )
    assert reasons[2] == (
        'another version of the row with column "Opportunity ID" '
        "(opportunity_id) O2, modified at the same time as row 4; kept row 4, "
        "the later in the file"
    )


def test_missing_modified_column_stops(tmp_path: Path) -> None:
    """A modified_column header missing from the file stops with the fix."""
    profile = mapped_profile()
    profile["tables"]["opportunities"]["modified_column"] = ["Last Modified"]
    files = {
        "accounts.csv": "Account ID,Account Name\nA1,Acme\n",
        "opportunities.csv": DUPLICATED,
    }

    with pytest.raises(InputError) as caught:
        load(tmp_path, files, profile)

    message = str(caught.value)
    assert str(tmp_path / "data" / "opportunities.csv") in message
    assert str(tmp_path / "profile.yaml") in message
    assert "column 'Last Modified' (for modified_column) is missing" in message
    assert "The closest header is 'Modified'." in message
    assert "list modified_column under optional_columns" in message
    assert caught.value.column == "Last Modified"


def test_optional_modified_column_passes(tmp_path: Path) -> None:
    """Listed under optional_columns, a missing modified column keeps first rows."""
    profile = mapped_profile()
    opportunities = profile["tables"]["opportunities"]
    opportunities["modified_column"] = ["Last Modified"]
    opportunities["optional_columns"] = ["currency", "modified_column"]
    files = {
        "accounts.csv": "Account ID,Account Name\nA1,Acme\n",
        "opportunities.csv": DUPLICATED,
    }

    intake = load(tmp_path, files, profile)

    assert list(intake.tables["opportunities"]["amount"]) == [100]
    reasons = intake.quarantine.to_frame()["reason"]
    assert reasons.str.contains("first seen on row 1").all()


def test_closed_before_created_and_won_without_amount(tmp_path: Path) -> None:
    """Both are kept and reported as data-quality findings."""
    csv = (
        "Opportunity ID,Account ID,Stage,Amount,Close Date,Created\n"
        "O1,A1,Closed Won,,2024-03-01,2024-01-01\n"
        "O2,A1,Closed Won,500,2023-12-01,2024-01-01\n"
    )
    files = {
        "accounts.csv": "Account ID,Account Name\nA1,Acme\n",
        "opportunities.csv": csv,
    }
    intake = load(tmp_path, files, mapped_profile())
    assert len(intake.tables["opportunities"]) == 2
    findings = intake.extras["quality_findings"].set_index("check")["rows"]
    assert findings["won without amount"] == 1
    assert findings["closed before created"] == 1


def test_negative_open_amount_is_flagged(tmp_path: Path) -> None:
    """An open deal with a negative amount is kept, flagged and counted."""
    csv = (
        "Opportunity ID,Account ID,Stage,Amount,Close Date,Created\n"
        "O1,A1,Qualification,-250,2025-03-01,2024-01-01\n"
        "O2,A1,Qualification,400,2025-03-01,2024-01-01\n"
        "O3,A1,Closed Lost,-90,2024-03-01,2024-01-01\n"
    )
    files = {
        "accounts.csv": "Account ID,Account Name\nA1,Acme\n",
        "opportunities.csv": csv,
    }
    intake = load(tmp_path, files, mapped_profile())
    kept = intake.tables["opportunities"].set_index("opportunity_id")["amount"]
    assert kept.to_dict() == {"O1": -250.0, "O2": 400.0, "O3": -90.0}
    findings = intake.extras["quality_findings"].set_index("check")
    assert findings.loc["negative open amount", "rows"] == 1
    assert findings.loc["negative open amount", "amount"] == -250.0
    assert findings.loc["negative open amount", "message"] == (
        "1 deal open with a negative amount, kept in the pipeline as exported."
    )
    assert intake.quarantine.count() == 0


def test_negative_won_amount_is_flagged(tmp_path: Path) -> None:
    """A won deal with a negative amount is kept and flagged; a lost one is not."""
    csv = (
        "Opportunity ID,Account ID,Stage,Amount,Close Date,Created\n"
        "O1,A1,Closed Won,-5000,2024-03-01,2024-01-01\n"
        "O2,A1,Closed Won,400,2024-03-01,2024-01-01\n"
        "O3,A1,Closed Lost,-90,2024-03-01,2024-01-01\n"
    )
    files = {
        "accounts.csv": "Account ID,Account Name\nA1,Acme\n",
        "opportunities.csv": csv,
    }
    intake = load(tmp_path, files, mapped_profile())
    assert len(intake.tables["opportunities"]) == 3
    findings = intake.extras["quality_findings"].set_index("check")
    assert findings.loc["negative won amount", "rows"] == 1
    assert findings.loc["negative won amount", "amount"] == -5000.0
    assert findings.loc["negative won amount", "message"] == (
        "1 deal won with a negative amount, which lowers bookings and the "
        "account's value as exported."
    )
    assert "negative open amount" not in findings.index


def test_history_out_of_order(tmp_path: Path) -> None:
    """History rows are sorted by time; the backward move is reported."""
    history = (
        "Opportunity ID,Stage,Entered\n"
        "O1,Closed Won,2024-03-01\n"
        "O1,Qualification,2024-01-01\n"
        "O1,Proposal,2024-01-20\n"
        "O1,Discovery,2024-02-01\n"
    )
    files = {
        "accounts.csv": "Account ID,Account Name\nA1,Acme\nA2,Beacon\n",
        "opportunities.csv": OPPORTUNITIES,
        "history.csv": history,
    }
    intake = load(tmp_path, files, mapped_profile())
    stages = list(intake.tables["stage_history"]["stage"])
    assert stages == ["Qualification", "Proposal", "Discovery", "Closed Won"]
    lint = intake.extras["stage_lint"].set_index("check")
    assert lint.loc["backward move", "stage"] == "Discovery"
    assert lint.loc["skipped stages", "message"] == (
        "1 opportunity skipped from 'Qualification' to 'Proposal'"
    )


def test_late_rejection_keeps_export_text(tmp_path: Path) -> None:
    """Rows rejected for their references keep the export's date and amount text."""
    opportunities = (
        "Opportunity ID,Account ID,Stage,Amount,Close Date\n"
        "O1,A1,Closed Won,100,3/1/2026\n"
        'O2,A9,Closed Won,"1,200.50",3/1/2026\n'
    )
    history = "Opportunity ID,Stage,Entered\nO9,Closed Won,3/1/2026\n"
    files = {
        "accounts.csv": "Account ID,Account Name\nA1,Acme\n",
        "opportunities.csv": opportunities,
        "history.csv": history,
    }

    intake = load(tmp_path, files, mapped_profile(date_format="month-first"))

    deal = rejected_record(intake, "opportunities")
    assert deal["opportunity_id"] == "O2"
    assert deal["account_id"] == "A9"
    assert deal["amount_original"] == "1,200.50"
    assert deal["close_date"] == "3/1/2026"
    stage = rejected_record(intake, "stage_history")
    assert stage == {
        "opportunity_id": "O9",
        "stage": "Closed Won",
        "entered_at": "3/1/2026",
    }


def test_xlsx_input(tmp_path: Path) -> None:
    """XLSX files read as text, so IDs with leading zeros survive."""
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame(
        {"Account ID": ["007", "008"], "Account Name": ["Acme", "Beacon"]}
    ).to_excel(data / "accounts.xlsx", index=False)
    csv = opportunities_csv([("O1", "007", "Closed Won", "100", "2024-03-01")])
    intake = load(tmp_path, {"opportunities.csv": csv}, mapped_profile())
    assert list(intake.tables["accounts"]["account_id"]) == ["007", "008"]
    assert list(intake.tables["opportunities"]["account_id"]) == ["007"]


def test_lint_unmapped_stage_and_falling_probability() -> None:
    """An unknown stage names its row count; a falling probability warns."""
    stage_map = {
        "Discovery": {"category": "open", "probability": 0.3, "order": 1},
        "Proposal": {"category": "open", "probability": 0.2, "order": 2},
        "Won": {"category": "won", "probability": 1.0, "order": 3},
    }
    stages = pd.Series(["Discovery", "Legal Review", "Legal Review", "Won"])
    lint = lint_stage_map(stage_map, stages, None).set_index("check")
    assert lint.loc["unmapped stage", "level"] == "error"
    assert lint.loc["unmapped stage", "rows"] == 2
    message = lint.loc["unmapped stage", "message"]
    assert "'Legal Review' is not in the stage map but 2 opportunity rows" in message
    assert lint.loc["falling probability", "level"] == "warning"
    assert lint.loc["falling probability", "stage"] == "Proposal"


def test_lint_stage_map_replaces_default() -> None:
    stage_map = {"Demo": {"category": "open", "probability": 0.3, "order": 1}}
    stages = pd.Series(["Demo", "Closed Won", "Legal Review"])
    lint = lint_stage_map(stage_map, stages, None).set_index("stage")

    replaced = "a stage_map parameter replaces that map in full"
    assert replaced in lint.loc["Closed Won", "message"]
    assert replaced not in lint.loc["Legal Review", "message"]


def test_lint_names_misspelt_stage() -> None:
    stage_map = {
        "Proposal": {"category": "open", "probability": 0.5, "order": 1},
        "Closed Won": {"category": "won", "probability": 1.0, "order": 2},
    }
    stages = pd.Series(["proposal", "Closed Wonn", "Verbal"])
    lint = lint_stage_map(stage_map, stages, None).set_index("stage")

    assert (
        "the map has 'Proposal', so write the stage as 'Proposal'"
        in (lint.loc["proposal", "message"])
    )
    assert "closest mapped stages: 'Closed Won'" in lint.loc["Closed Wonn", "message"]
    assert "add it with its category" in lint.loc["Verbal", "message"]


def test_lint_ignores_spaces_around_stage() -> None:
    """A stage that intake reads as a mapped one after stripping is no error."""
    stage_map = {
        "Proposal": {"category": "open", "probability": 0.5, "order": 1},
        "Closed Won": {"category": "won", "probability": 1.0, "order": 2},
    }
    stages = pd.Series(["Closed Won ", " Proposal", "Verbal ", "Verbal", "  "])

    lint = lint_stage_map(stage_map, stages, None)

    assert list(lint["stage"]) == ["Verbal"]
    assert list(lint["rows"]) == [2]


def test_check_command_prints_summary(tmp_path: Path, capsys) -> None:
    """check prints counts, reasons, merges and lint, and exits 1 on lint errors."""
    import yaml

    from acctlib.cli import main
    from tests.intake.helpers import write_files

    rows = [
        ("O1", "A1", "Closed Won", "100", "2024-03-01"),
        ("O2", "A1", "Legal Review", "200", "2024-03-02"),
        ("O3", "A9", "Closed Won", "300", "2024-03-03"),
    ]
    data = write_files(
        tmp_path / "data",
        {
            "accounts.csv": "Account ID,Account Name,Website,Target\n"
            "A1,Acme,acme.com,maybe\nA2,Acme Inc,https://www.acme.com/,yes\n",
            "opportunities.csv": opportunities_csv(rows),
        },
    )
    profile = tmp_path / "profile.yaml"
    profile.write_text(yaml.safe_dump(mapped_profile()), encoding="utf-8")
    code = main(
        [
            "-q",
            "check",
            "--set",
            f"data_dir={data}",
            "--set",
            f"profile={profile}",
            "--set",
            "as_of=2024-12-31",
        ]
    )
    output = capsys.readouterr().out
    assert code == 1
    assert "5 rows read from 2 files, 2 accepted, 2 rejected, 1 merged" in output
    assert "optional columns blanked in accepted rows: 1." in output
    assert "cell blanked" in output
    assert "invalid boolean" in output
    assert 'column "Account ID" (account_id) not found in accounts' in output
    assert (
        "stage 'Legal Review' is not in the stage map but 1 opportunity row" in output
    )
    assert "merged" in output
    assert "already in the report currency" in output


def test_check_lists_rows_and_writes_them(tmp_path: Path, capsys) -> None:
    """check names file, row, column and value, and can write the full list."""
    import yaml

    from acctlib.cli import main
    from tests.intake.helpers import write_files

    rows = [
        ("O1", "A1", "Closed Won", "100", "2024-03-01"),
        ("O2", "A9", "Closed Won", "200", "2024-03-02"),
        ("O3", "A8", "Closed Won", "300", "2024-03-03"),
    ]
    data = write_files(
        tmp_path / "data",
        {
            "accounts.csv": "Account ID,Account Name\nA1,Acme\n",
            "opportunities.csv": opportunities_csv(rows),
        },
    )
    profile = tmp_path / "profile.yaml"
    profile.write_text(yaml.safe_dump(mapped_profile()), encoding="utf-8")
    target = tmp_path / "rejected.csv"
    settings = [f"data_dir={data}", f"profile={profile}", "as_of=2024-12-31"]
    overrides = [part for item in settings for part in ("--set", item)]

    main(["-q", "check", *overrides, "--show", "1", "--rejected", str(target)])

    output = capsys.readouterr().out
    assert "Rejected rows and blanked cells, first 1 (1 more in the full list)" in (
        output
    )
    listed = output.split("(1 more in the full list):")[1].split("\n\n")[0]
    assert "opportunities.csv" in listed
    assert "account_id" in listed
    assert "A9" in listed
    assert "A8" not in listed
    written = pd.read_csv(target, dtype=str)
    assert written["value"].tolist() == ["A9", "A8"]
    assert written["row"].tolist() == ["2", "3"]


def test_journey_folder_names_unread_files(tmp_path: Path) -> None:
    """A second journey export beside the one read is named in a run note."""
    journeys = (
        "journey_id,timestamp,channel,conversion,value\n"
        "J1,2024-01-01T00:00:00Z,email,1,\n"
    )
    files = {
        "journeys.csv": journeys,
        "journeys_variant.csv": journeys,
        "SOURCE.md": "# Where the exports came from\n",
    }

    intake = load(tmp_path, files, "journeys")

    unread = [note for note in intake.notes if "journeys_variant.csv" in note]
    assert len(unread) == 1
    assert unread[0].startswith(
        "journeys.csv is read and journeys_variant.csv in the same folder is not"
    )
    assert unread[0].endswith(
        "list it first under files: journeys in a copy of the profile and set "
        "the profile parameter to that copy's path."
    )
    assert not any("SOURCE.md" in note for note in intake.notes)


def test_journey_folder_of_one_file_has_no_note(tmp_path: Path) -> None:
    journeys = (
        "journey_id,timestamp,channel,conversion,value\n"
        "J1,2024-01-01T00:00:00Z,email,1,\n"
    )

    intake = load(tmp_path, {"journeys.csv": journeys}, "journeys")

    assert not any("is read and" in note for note in intake.notes)
