"""Reading export files through a profile's column map.

A profile's ``tables`` section names, per canonical table, the candidate
file names and the candidate source headers of every canonical column.
The first file that exists is read and the first header present wins, so
one profile reads both report exports (labels) and data-loader exports
(API names). Constant values and parser options complete the map. The
README section "Source profiles" shows the layout.

Files are read as text: the delimiter is declared (``read.delimiter``) or
taken from the header line, the encoding is declared (``read.encoding``),
UTF-16 or UTF-32 as a byte-order mark declares, or UTF-8 with a fallback to
Windows-1252 (a superset of Latin-1's printable characters) that adds a
note. Line endings may be LF or CRLF.
"""

from __future__ import annotations

import csv
import difflib
import io
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from acctlib import schema
from acctlib.errors import InputError, ParameterError
from acctlib.intake.canonical import (
    EMPTY,
    FILE,
    MODIFIED,
    ROW,
    SHORT_ROW,
    RawTable,
    blank_rows,
)
from acctlib.intake.files import (
    FALLBACK_ENCODING,
    InputFile,
    check_repeated_headers,
    csv_parse_error,
    decode_file,
    escape_invisible,
    is_empty_file,
    not_utf8_note,
    read_text_frame,
    sha256_file,
    short_row_reasons,
    text_row_numbers,
)

logger = logging.getLogger(__name__)

DELIMITERS = (",", ";", "\t", "|")

# Key under which load_profile records the file a profile was read from.
PROFILE_PATH = "_path"

# Table key naming the headers of the last-modified date. A table may list
# it under ``optional_columns`` when the export may lack that column.
MODIFIED_KEY = "modified_column"

# Keys of a profile's ``read`` section. A table may set the same keys
# directly, and they take precedence over ``read``.
READ_KEYS = frozenset({"encoding", "delimiter"})


def read_export_file(
    path: Path, *, encoding: str | None = None, delimiter: str | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Read one export file as text, with a 1-based ``_row`` column.

    In a CSV file, blank lines count in ``_row`` (see
    :func:`acctlib.intake.files.csv_row_numbers`).

    Returns the frame and notes on what was inferred (encoding fallback).
    Headers lose a byte-order mark and surrounding whitespace. A CSV file
    also gets a ``_short_row`` column with the reason of each row that has
    fewer fields than the header, or "" (see
    :func:`acctlib.intake.files.short_row_reasons`).
    """
    notes: list[str] = []
    if path.suffix.lower() != ".csv":
        frame = read_text_frame(path, notes=notes, repeated_headers="note")
    else:
        encoding_fix = (
            ", or, to read it as Windows-1252 all the same, declare "
            "read.encoding: cp1252 in the source profile"
        )
        text, used = decode_file(path, encoding, encoding_fix)
        if not encoding and used == FALLBACK_ENCODING:
            notes.append(
                not_utf8_note(
                    path,
                    used,
                    "declare read.encoding in the profile to silence this note",
                )
            )
        separator = delimiter or _sniff_delimiter(text)
        try:
            frame = pd.read_csv(
                io.StringIO(text),
                dtype=str,
                keep_default_na=False,
                sep=separator,
                skip_blank_lines=True,
            )
        except pd.errors.ParserError as error:
            fix = (
                ", or declare the file's delimiter as read.delimiter in the "
                "source profile"
            )
            raise csv_parse_error(path, error, separator, fix) from error
        except pd.errors.EmptyDataError as error:
            raise InputError(
                f"cannot read {path} as CSV with delimiter {separator!r}: {error}",
                file=str(path),
            ) from error
        check_repeated_headers(
            path, frame.columns, text=text, sep=separator, notes=notes
        )
    frame.columns = [_clean_header(column) for column in frame.columns]
    frame = frame.astype("str")
    if path.suffix.lower() == ".csv":
        lines = io.StringIO(text, newline="")
        reasons = short_row_reasons(lines, path, separator, frame)
        frame[ROW] = text_row_numbers(text, separator, len(frame))
        frame[SHORT_ROW] = reasons
    else:
        frame[ROW] = range(1, len(frame) + 1)
    return frame, notes


def _sniff_delimiter(text: str) -> str:
    """Return the delimiter that splits the header line into most fields."""
    header = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    counts = {
        delimiter: len(next(csv.reader([header], delimiter=delimiter), []))
        for delimiter in DELIMITERS
    }
    return max(DELIMITERS, key=lambda delimiter: counts[delimiter])


def _clean_header(column: object) -> str:
    """Return a header without byte-order mark, outer spaces and stray quotes.

    Quotes that wrap the whole header, or an unpaired quote at either end,
    go. Paired quotes inside a header stay, as in HubSpot's
    ``Date entered "Closed Won (Sales Pipeline)"``.
    """
    header = str(column).replace("\ufeff", "").strip()
    if len(header) >= 2 and header.startswith('"') and header.endswith('"'):
        return header[1:-1].strip()
    if header.count('"') % 2 == 1:
        return header.strip('"').strip()
    return header


def find_file(data_dir: Path, candidates: str | Sequence[str]) -> Path | None:
    """Return the first candidate file name that exists in ``data_dir``."""
    names = [candidates] if isinstance(candidates, str) else list(candidates)
    for name in names:
        if (data_dir / name).is_file():
            return data_dir / name
    return None


def pick_column(frame: pd.DataFrame, candidates: str | Sequence[str]) -> str | None:
    """Return the first candidate header present in ``frame``.

    Headers compare without regard to case and surrounding spaces.
    """
    names = [candidates] if isinstance(candidates, str) else list(candidates)
    folded = {column.casefold().strip(): column for column in frame.columns}
    for name in names:
        if name in frame.columns:
            return name
        if name.casefold().strip() in folded:
            return folded[name.casefold().strip()]
    return None


def map_columns(
    frame: pd.DataFrame,
    table: str,
    spec: Mapping[str, Any],
    path: Path,
    profile: Mapping[str, Any] | None = None,
    derived: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, dict[str, str | None]]:
    """Return a frame of canonical columns taken from ``frame`` per ``spec``.

    A canonical column that the column map names must be found in the file,
    unless the table lists it under ``optional_columns``, the profile gives
    it a constant, or it is an ``amount`` filled from ``amount_original``.
    An optional column without a source column is left empty. Also returns
    the header each canonical column was read from, or None for a constant
    of the profile (see :attr:`RawTable.headers`). Columns that an adapter
    prepares, named with a leading underscore, are not in the file. Such a
    column has no header unless ``derived`` maps its canonical column onto
    the column-map key it is derived from, such as ``account_id`` onto
    HubSpot's ``company_ids``, and then has that key's header. The headers
    that ``modified_column`` names must be found in the same way, unless
    ``optional_columns`` lists ``modified_column``. The ``_empty`` column
    of the result flags the rows without text in any of the file's cells.

    Raises
    ------
    InputError
        When a mapped column, a required canonical column or the
        ``modified_column`` has no source column, naming the profile, the
        file, the column, the candidate headers and the headers found with
        invisible characters escaped.
    """
    columns = spec.get("columns") or {}
    constants = spec.get("constants") or {}
    optional = set(spec.get("optional_columns") or ())
    result = pd.DataFrame(index=frame.index)
    headers: dict[str, str | None] = {}
    for column in schema.TABLES[table].columns:
        if column.name in columns:
            source = pick_column(frame, columns[column.name])
            if source is not None:
                result[column.name] = frame[source]
                if source.startswith("_"):
                    source = _derived_header(frame, columns, derived, column.name)
                if source is not None:
                    headers[column.name] = source
                continue
            if _converted_later(column.name, columns, frame):
                logger.info(
                    "%s: no column for amount; left empty, so amounts come from "
                    "amount_original (%r)",
                    path,
                    pick_column(frame, columns["amount_original"]),
                )
                result[column.name] = ""
                continue
            if column.name in optional and column.name not in constants:
                # The profile marks this attribute as one an export may lack.
                logger.info("%s: no column for %s; left empty", path, column.name)
                result[column.name] = ""
                continue
            if column.name not in constants:
                # A column that every row must fill cannot be left empty.
                may_be_empty = column.nullable or not column.required
                _raise_missing(
                    frame,
                    path,
                    spec,
                    column.name,
                    profile,
                    if_optional="to leave it empty" if may_be_empty else None,
                )
        if column.name in constants:
            result[column.name] = str(constants[column.name])
            headers[column.name] = None
        elif column.required and column.nullable:
            result[column.name] = ""
    if spec.get("modified_column"):
        _add_modified(result, frame, spec, path, profile, optional)
    result[ROW] = frame[ROW]
    result[FILE] = str(path)
    if SHORT_ROW in frame.columns:
        result[SHORT_ROW] = frame[SHORT_ROW]
    # Constants fill cells the file leaves empty, so whether a row is empty
    # is decided on the file's own columns.
    result[EMPTY] = blank_file_rows(frame)
    return result, headers


def blank_file_rows(frame: pd.DataFrame) -> pd.Series:
    """Flag the rows of a read export without text in any of the file's cells.

    Columns that an adapter adds, named with a leading underscore, do not
    count. Adapters that build a canonical frame with constants store the
    result in its ``_empty`` column.
    """
    file_columns = [column for column in frame.columns if not column.startswith("_")]
    return blank_rows(frame[file_columns])


def _derived_header(
    frame: pd.DataFrame,
    columns: Mapping[str, Any],
    derived: Mapping[str, str] | None,
    name: str,
) -> str | None:
    """Return the header that an adapter derives the column ``name`` from."""
    key = (derived or {}).get(name)
    if key is None or key not in columns:
        return None
    return pick_column(frame, columns[key])


def fill_optional_columns(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Add every missing canonical column that may be empty, as blanks."""
    result = frame.copy()
    for column in schema.TABLES[table].columns:
        if column.name not in result.columns and column.nullable:
            result[column.name] = ""
    return result


def _converted_later(
    name: str, columns: Mapping[str, Any], frame: pd.DataFrame
) -> bool:
    """Tell whether a missing ``amount`` is filled from ``amount_original``."""
    return (
        name == "amount"
        and "amount_original" in columns
        and pick_column(frame, columns["amount_original"]) is not None
    )


def _add_modified(
    result: pd.DataFrame,
    frame: pd.DataFrame,
    spec: Mapping[str, Any],
    path: Path,
    profile: Mapping[str, Any] | None,
    optional: set[str],
) -> None:
    """Copy the column that ``modified_column`` names into ``result``.

    Without that column, a repeated primary key keeps its first row instead
    of the row modified last, so a missing header stops intake unless the
    table lists ``modified_column`` under ``optional_columns``.
    """
    source = pick_column(frame, spec[MODIFIED_KEY])
    if source is not None:
        result[MODIFIED] = frame[source]
        return
    if MODIFIED_KEY in optional:
        logger.info(
            "%s: no column for %s, so a repeated key keeps its first row",
            path,
            MODIFIED_KEY,
        )
        return
    _raise_missing(
        frame,
        path,
        spec,
        MODIFIED_KEY,
        profile,
        if_optional="so that a repeated key keeps its first row",
    )


def _raise_missing(
    frame: pd.DataFrame,
    path: Path,
    spec: Mapping[str, Any],
    key: str,
    profile: Mapping[str, Any] | None,
    if_optional: str | None,
) -> None:
    """Raise for the ``key`` of the table ``spec`` that no header of ``frame`` has.

    ``key`` is a canonical column of the column map or ``modified_column``.
    The error suggests listing it under ``optional_columns`` only when
    ``if_optional`` is given, as the effect of doing so.
    """
    names = _candidate_names(_header_candidates(spec, key))
    # Columns that an adapter adds start with "_" and are not in the file.
    found = [column for column in frame.columns if not column.startswith("_")]
    listed = ", ".join(f"'{escape_invisible(column)}'" for column in found)
    claimed = _claimed_headers(frame, spec)
    hint = closest_header(names, [column for column in found if column not in claimed])
    closest = f" The closest header is {hint!r}." if hint else ""
    optional = (
        f" If the export may lack the column, list {key} under optional_columns "
        f"of the table {if_optional}."
        if if_optional
        else ""
    )
    raise InputError(
        f"{path}: column {names[0]!r} (for {key}) is missing; "
        f"{describe_profile(profile)} maps {key} to the headers "
        f"{', '.join(repr(name) for name in names)}, and the file has none of "
        f"them; columns found: {listed or 'none'}.{closest} Rename the column "
        f"or add its header to the profile's list.{optional}",
        file=str(path),
        column=names[0],
    )


def _header_candidates(spec: Mapping[str, Any], key: str) -> Any:
    """Return the candidate headers of ``key`` in the table ``spec``."""
    if key == MODIFIED_KEY:
        return spec[MODIFIED_KEY]
    return (spec.get("columns") or {})[key]


def _candidate_names(candidates: Any) -> list[str]:
    return [candidates] if isinstance(candidates, str) else list(candidates)


def _claimed_headers(frame: pd.DataFrame, spec: Mapping[str, Any]) -> set[str]:
    """Return the headers of ``frame`` that the column map of ``spec`` reads.

    Every key of ``columns`` counts, including those an adapter reads
    itself, such as HubSpot's ``company_ids``, and so does ``modified_column``.
    """
    keys = dict(spec.get("columns") or {})
    if spec.get(MODIFIED_KEY):
        keys[MODIFIED_KEY] = spec[MODIFIED_KEY]
    headers = (pick_column(frame, candidates) for candidates in keys.values())
    return {header for header in headers if header is not None}


def closest_header(candidates: Sequence[str], headers: Sequence[str]) -> str | None:
    """Return the header most like one of ``candidates``, ignoring case.

    A header at a similarity ratio of 0.7 or more wins. Failing that, a
    header at 0.6 or more that shares a word with the candidate does, such
    as "Pipeline Stage" for "Deal Stage" (0.67).
    """
    folded = {header.casefold(): header for header in headers}
    for candidate in candidates:
        # A cutoff of 0.7 keeps "Close Date" for "Closing Date" (0.82) but
        # drops chance likenesses such as "Amount" for "Account ID" (0.63).
        matches = difflib.get_close_matches(
            candidate.casefold(), list(folded), n=1, cutoff=0.7
        )
        if matches:
            return folded[matches[0]]
    for candidate in candidates:
        words = _words(candidate)
        sharing = [header for header in folded if words & _words(header)]
        matches = difflib.get_close_matches(
            candidate.casefold(), sharing, n=1, cutoff=0.6
        )
        if matches:
            return folded[matches[0]]
    return None


def _words(header: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", header.casefold()))


def describe_profile(profile: Mapping[str, Any] | None) -> str:
    """Name a profile and, when known, the file it was read from."""
    if profile is None:
        return "the source profile"
    name = profile.get("name")
    path = profile.get(PROFILE_PATH)
    if path:
        return f"the {name} profile ({path})"
    return f"the {name} profile"


def read_mapped_tables(
    data_dir: Path, profile: Mapping[str, Any]
) -> tuple[dict[str, tuple[pd.DataFrame, Path]], list[InputFile], list[str]]:
    """Read every file the profile's ``tables`` section names.

    Returns, per table key, the source frame and its path, the input
    fingerprints and notes. Tables marked ``optional: true`` may be absent.
    """
    read = profile.get("read") or {}
    frames = {}
    inputs = []
    notes = []
    for key, spec in (profile.get("tables") or {}).items():
        candidates = spec.get("files") or spec.get("file")
        if candidates is None:
            raise ParameterError(f"profile table {key!r} names no files")
        path = find_file(data_dir, candidates)
        if path is None:
            if spec.get("optional"):
                continue
            raise InputError(
                f"none of {candidates} found in {data_dir}; the "
                f"{profile.get('name')} profile needs one for {key}",
                file=str(data_dir),
            )
        if is_empty_file(path):
            if not spec.get("optional"):
                raise InputError(
                    f"{path} is empty, but the {profile.get('name')} profile "
                    f"needs it for {key}; export it again with its header row "
                    "and data rows, then run again",
                    file=str(path),
                )
            notes.append(
                f"{path.name} is empty, so {key} has no rows; export it again "
                "to include them."
            )
            continue
        frame, file_notes = read_export_file(
            path,
            encoding=spec.get("encoding") or read.get("encoding"),
            delimiter=spec.get("delimiter") or read.get("delimiter"),
        )
        frames[key] = (frame, path)
        notes += file_notes
        inputs.append(
            InputFile(
                table=str(spec.get("table", key)),
                path=str(path),
                sha256=sha256_file(path),
                rows=len(frame),
            )
        )
    return frames, inputs, notes


def build_raw_table(
    table: str,
    frame: pd.DataFrame,
    path: Path,
    spec: Mapping[str, Any],
    profile: Mapping[str, Any],
    notes: list[str] | None = None,
    derived: Mapping[str, str] | None = None,
) -> RawTable:
    """Map a source frame onto a canonical table with the profile's options.

    ``derived`` is as in :func:`map_columns`.
    """
    mapped, headers = map_columns(frame, table, spec, path, profile, derived)
    notes = list(notes or [])
    columns = spec.get("columns") or {}
    if "amount" not in headers and _converted_later("amount", columns, frame):
        names = ", ".join(repr(name) for name in _candidate_names(columns["amount"]))
        original = pick_column(frame, columns["amount_original"])
        notes.append(
            f"{path.name} has no column for amount ({names}), so amounts come "
            f"from {original!r} (amount_original), converted where their "
            "currency is not the report currency."
        )
    return RawTable(
        table=table,
        file=str(path),
        frame=mapped,
        notes=notes,
        options=export_options(profile, spec),
        column_options=dict(spec.get("column_options") or {}),
        headers=headers,
    )


def export_options(
    profile: Mapping[str, Any], spec: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return the parser options of a profile's table, in export notation."""
    return {
        "notation": "export",
        **(profile.get("options") or {}),
        **((spec or {}).get("options") or {}),
    }


def read_source(
    data_dir: Path, profile: dict[str, Any], params: Any
) -> tuple[list[RawTable], list[InputFile]]:
    """Read a source whose profile maps files onto canonical tables directly.

    Each key of ``tables`` is a canonical table name, or names one with
    ``table:``. With ``modified_column``, a repeated primary key keeps the
    row modified last and rejects the others; without it, every repeat
    after the first is rejected. The profile's ``type_map`` translates the
    deal-type labels of the opportunities' ``type`` column.
    """
    frames, inputs, notes = read_mapped_tables(data_dir, profile)
    raw_tables = []
    for key, (frame, path) in frames.items():
        spec = profile["tables"][key]
        table = str(spec.get("table", key))
        if table == "opportunities":
            frame = apply_type_map(frame, spec, profile.get("type_map") or {})
        raw_tables.append(
            build_raw_table(table, frame, path, spec, profile, notes=notes)
        )
        notes = []
    return raw_tables, inputs


def apply_type_map(
    frame: pd.DataFrame, spec: Mapping[str, Any], type_map: Mapping[str, Any]
) -> pd.DataFrame:
    """Replace deal-type labels in the column mapped onto ``type``.

    Labels compare without regard to case and surrounding spaces. A value
    that ``type_map`` does not list is kept, so validation rejects it unless
    it is a canonical type already.
    """
    candidates = (spec.get("columns") or {}).get("type")
    source = pick_column(frame, candidates) if candidates else None
    if source is None or not type_map:
        return frame
    folded = {
        str(label).casefold().strip(): str(value) for label, value in type_map.items()
    }
    values = frame[source]
    mapped = values.str.casefold().str.strip().map(folded)
    result = frame.copy()
    result[source] = mapped.where(mapped.notna(), values)
    return result
