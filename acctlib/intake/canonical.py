"""Turning raw text tables into validated canonical tables.

The steps, per table: check the required columns, parse every column by its
kind, fill stage categories from the stage map, validate with the table's
pandera schema, reject duplicated keys, and finally reject rows whose
references (an opportunity's account, a touch's account) point nowhere.
Each rejected row lands in the :class:`Quarantine` with its reason, the
raw text of the failing cell and the whole row as the file had it.

A value that fails to parse or fails a check in an optional column (one
whose cells may be empty, other than a key or a reference) does not reject
its row: the cell is blanked, the row is kept, and the quarantine records
the cell with the action ``cell blanked``. An opportunity's account_id is a
reference, so a bad one still rejects the row: blanking it would move the
deal to "No account".
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from acctlib import schema
from acctlib.errors import InputError, closest_hint
from acctlib.intake.bulktable import BulkTable
from acctlib.intake.files import escape_invisible, foreign_delimiter_hint
from acctlib.intake.money import ColumnFormatError, find_point_as_thousands
from acctlib.intake.parsers import PARSERS, Parsed
from acctlib.intake.quarantine import ROW_REJECTED, Quarantine
from acctlib.intake.stagelint import replaced_default_note, similar_stages

logger = logging.getLogger(__name__)

ROW = "_row"
FILE = "_file"
# Position of a parsed row in its RawTable frame, to look up raw cell text.
SOURCE = "_source"
# Prefix of the columns that keep the raw text of every cell, so that
# check_references and reject_undated_closed, which run after the raw
# frames are gone, can record the rows they reject as the file had them.
RAW_PREFIX = "_raw_"
# Optional raw column: when a record was last modified, so that a repeated
# primary key keeps the latest version.
MODIFIED = "_modified"
# Optional raw column: True where the file's row has no text in any cell.
# A frame mapped through a column map sets it, because a profile's
# constants fill cells that the file's row leaves empty.
EMPTY = "_empty"
# Optional raw column: why the file's row has fewer fields than the header,
# or "" (see acctlib.intake.files.short_row_reasons).
SHORT_ROW = "_short_row"
# Columns that locate a row rather than contain one of its cells.
PROVENANCE = (ROW, FILE, SOURCE, MODIFIED, EMPTY, SHORT_ROW)
# Reason of a rejected row whose cells are all blank, such as ",,,,".
EMPTY_ROW_REASON = "empty row"

# ID columns that contain record IDs of the source CRM. An id_format such
# as salesforce applies to them only, because adapters build other IDs
# (such as touch IDs) that must stay as written.
ID_FORMAT_COLUMNS = {
    "accounts": ("account_id", "parent_account_id"),
    "opportunities": ("opportunity_id", "account_id"),
    "stage_history": ("opportunity_id",),
    "touchpoints": ("account_id", "contact_id"),
    "revenue": ("account_id",),
    "signals": ("account_id",),
}


@dataclass
class RawTable:
    """Text cells of one canonical table as a source supplies them.

    ``frame`` has canonical column names (other columns are ignored) and a
    ``_row`` column with the 1-based data row in ``file``; ``_file`` may name
    a different file per row when a table is assembled from several files.
    ``options`` contains parser options (``notation``, ``locale``,
    ``date_format``, ``id_format``, ...) for every column, and
    ``column_options`` overrides them per canonical column. ``headers``
    maps each canonical column read through a profile's column map onto its
    header in ``file``, or onto None where the profile supplies a constant.
    It is empty for tables not read through a column map, such as files
    with canonical headers, and reasons and errors then name the canonical
    columns alone.
    """

    table: str
    file: str
    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    column_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    headers: dict[str, str | None] = field(default_factory=dict)

    def parser_options(self, column: str) -> dict[str, Any]:
        """Return the parser options of one canonical column."""
        return {**self.options, **self.column_options.get(column, {})}

    def __post_init__(self) -> None:
        if ROW not in self.frame.columns:
            self.frame = self.frame.assign(**{ROW: range(1, len(self.frame) + 1)})
        if FILE not in self.frame.columns:
            self.frame = self.frame.assign(**{FILE: self.file})


def canonicalize(
    raw: RawTable,
    quarantine: Quarantine,
    stage_map: Mapping[str, Mapping],
    report_currency: str | None = None,
) -> pd.DataFrame:
    """Parse and validate one raw table; rejected rows go to ``quarantine``.

    ``report_currency`` is the currency of amounts without one of their
    own. It decides which amounts may have three decimals.

    Returns the accepted rows with the canonical columns and dtypes, plus
    the ``_row`` and ``_file`` provenance columns and, for each column of
    ``raw.frame``, a ``_raw_`` column with its raw text.
    :func:`check_references` and :func:`reject_undated_closed` record the
    rows they reject from these columns, and :func:`finish` drops them.
    """
    spec = schema.TABLES[raw.table]
    _check_required_columns(raw, spec)
    source = _reject_empty_rows(raw, raw.frame.reset_index(drop=True), quarantine)
    source = _reject_short_rows(raw, source, quarantine)
    frame = _parse_columns(raw, source, spec, quarantine, report_currency)
    if raw.table == "opportunities":
        frame = _apply_stage_map(frame, stage_map, quarantine, source, raw.headers)
    if raw.table == "revenue":
        # A month dated on another day, such as an export's month-end,
        # counts for that month. Otherwise, as of a date inside the month,
        # the row would fall after the as-of date and drop out.
        frame["month"] = frame["month"].dt.to_period("M").dt.to_timestamp()
    # Validate before removing duplicate keys, so that a valid row is kept
    # when an earlier row with the same key fails a check.
    frame = _validate(frame, spec, quarantine, source, raw.headers)
    if raw.table == "opportunities":
        # Refill a probability or forecast category that validation blanked.
        _fill_from_stage_map(frame, stage_map)
    frame = _reject_duplicate_keys(frame, spec, quarantine, source, raw.headers)
    _store_rejected_ids(raw, source, frame, quarantine)
    return _keep_raw_cells(frame, source)


def _reject_empty_rows(
    raw: RawTable, source: pd.DataFrame, quarantine: Quarantine
) -> pd.DataFrame:
    """Reject the rows of ``source`` without text in any cell and return the rest.

    Such a row gets one reason, "empty row", instead of one for each
    required cell it leaves empty.
    """
    empty = blank_rows(source)
    if empty.any():
        _reject(quarantine, raw.table, source[empty], "", EMPTY_ROW_REASON)
    return source[~empty].reset_index(drop=True)


def _reject_short_rows(
    raw: RawTable, source: pd.DataFrame, quarantine: Quarantine
) -> pd.DataFrame:
    """Reject the rows of ``source`` that its file cuts short and return the rest.

    The reasons come from the ``_short_row`` column (see :data:`SHORT_ROW`).
    """
    if SHORT_ROW not in source.columns:
        return source
    reasons = source[SHORT_ROW].fillna("").astype(str)
    short = reasons.ne("")
    if short.any():
        _reject(quarantine, raw.table, source[short], "", reasons[short])
    return source[~short].reset_index(drop=True)


def blank_rows(frame: pd.DataFrame) -> pd.Series:
    """Flag the rows of ``frame`` whose cells are all missing or whitespace.

    Provenance columns such as ``_row`` do not count. A frame with an
    ``_empty`` column (see :data:`EMPTY`) is flagged by that column.
    """
    if EMPTY in frame.columns:
        return frame[EMPTY].astype(bool)
    cells = frame.drop(columns=list(PROVENANCE), errors="ignore")
    blank = pd.Series(False, index=frame.index)
    if cells.columns.empty:
        return blank
    # Each column is checked only on the rows still blank so far, which after
    # the first column are few, so large tables are not scanned per column.
    candidates = frame.index
    for column in cells.columns:
        values = cells.loc[candidates, column]
        still = values.isna() | values.astype(str).str.strip().eq("")
        candidates = still.index[still.to_numpy()]
        if candidates.empty:
            return blank
    blank[candidates] = True
    return blank


def _store_rejected_ids(
    raw: RawTable, source: pd.DataFrame, frame: pd.DataFrame, quarantine: Quarantine
) -> None:
    """Store the parsed IDs of rejected rows that other tables refer to.

    A child row refers to its parent by the parsed ID, which an
    ``id_format`` may rewrite (a 15-character Salesforce ID becomes 18
    characters), so the file's text alone would not find the rejected
    parent.
    """
    rejected = source[~source.index.isin(frame[SOURCE])]
    if rejected.empty:
        return
    referenced = {
        parent_column
        for spec in schema.TABLES.values()
        for parent, parent_column in spec.references.values()
        if parent == raw.table
    }
    for column in schema.TABLES[raw.table].columns:
        if column.name not in referenced or column.name not in rejected.columns:
            continue
        parsed = _parse_column(raw, rejected, column)
        ids = rejected.assign(_id=parsed.values)[~parsed.failed]
        ids = ids[ids["_id"].notna()]
        locations = zip(ids[FILE].astype(str), ids[ROW].astype(int), strict=True)
        quarantine.add_rejected_ids(
            raw.table, column.name, dict(zip(ids["_id"], locations, strict=True))
        )


def is_blankable(spec: schema.TableSpec, column: schema.ColumnSpec) -> bool:
    """Tell whether a bad value in ``column`` blanks the cell, not the row."""
    return (
        column.nullable
        and column.name not in spec.primary_key
        and column.name not in spec.references
    )


def _keep_raw_cells(frame: pd.DataFrame, source: pd.DataFrame) -> pd.DataFrame:
    """Add the raw text of every source column and drop the source position."""
    cells = source.drop(columns=list(PROVENANCE), errors="ignore")
    # take() keeps the text columns in their own (Arrow) arrays, where
    # to_numpy() would build one Python string per cell.
    raw = cells.take(frame[SOURCE].to_numpy()).set_axis(frame.index)
    return pd.concat([frame.drop(columns=[SOURCE]), raw.add_prefix(RAW_PREFIX)], axis=1)


def _check_required_columns(raw: RawTable, spec: schema.TableSpec) -> None:
    found = [column for column in raw.frame.columns if column not in PROVENANCE]
    missing = [
        column.name
        for column in spec.columns
        if column.required and column.name not in found
    ]
    if missing:
        listed = ", ".join(escape_invisible(name) for name in found) or "none"
        hint = foreign_delimiter_hint(found) or missing_columns_advice(
            missing, spec, mapped=bool(raw.headers)
        )
        raise InputError(
            f"{raw.file}: {missing_columns_phrase(missing, spec.name)}; "
            f"columns found: {listed}. {hint}",
            file=raw.file,
            column=missing[0],
        )


def missing_columns_phrase(names: list[str], table: str) -> str:
    """Return "required column 'a' of table T is missing", or the plural."""
    quoted = ", ".join(repr(name) for name in names)
    if len(names) == 1:
        return f"required column {quoted} of table {table} is missing"
    return f"required columns {quoted} of table {table} are missing"


def empty_required_reason(label: str) -> str:
    """Return the rejection reason of an empty cell in the required ``label``."""
    return (
        f"{label} is empty but required; enter a value in the export or remove the row"
    )


def missing_columns_advice(
    names: list[str], spec: schema.TableSpec, *, mapped: bool
) -> str:
    """Return what to do about the missing required columns ``names``.

    A file read through a profile's column map (``mapped``) can have its
    header renamed or mapped. A file with canonical headers has no column
    map, so the advice is to add the column, or to read the file through a
    mapped profile whose ``constants`` give the column one value on every
    row.
    """
    if mapped:
        return "Rename the column or map it in the source profile."
    columns = {column.name: column for column in spec.columns}
    allowed = [
        f"{name} takes {_or_list(columns[name].allowed)}"
        for name in names
        if name in columns and columns[name].allowed
    ]
    values = f" ({'; '.join(allowed)})" if allowed else ""
    if len(names) == 1:
        return (
            f"Add the column to the file, with a value on every row{values}, "
            "or read the file through a mapped source profile that sets it "
            "under constants."
        )
    return (
        f"Add the columns to the file, with a value on every row{values}, "
        "or read the file through a mapped source profile that sets them "
        "under constants."
    )


def _or_list(values: tuple[str, ...]) -> str:
    """Return "a, b or c" for ``values``."""
    if len(values) == 1:
        return values[0]
    return f"{', '.join(values[:-1])} or {values[-1]}"


def _parse_columns(
    raw: RawTable,
    frame: pd.DataFrame,
    spec: schema.TableSpec,
    quarantine: Quarantine,
    report_currency: str | None = None,
) -> pd.DataFrame:
    """Parse every column of ``frame``, the raw table with a 0-based index.

    A row whose cell fails in a column that is not blankable is rejected on
    its first such column. Failed cells of blankable columns are blanked
    and recorded once the rejected rows are known.
    """
    parsed = {
        ROW: frame[ROW].astype("int64"),
        FILE: frame[FILE].astype("str"),
        SOURCE: pd.Series(frame.index, index=frame.index, dtype="int64"),
    }
    failed_rows = pd.Series(False, index=frame.index)
    blanked: list[tuple[str, Parsed]] = []
    if MODIFIED in frame.columns:
        modified = PARSERS["timestamp"](frame[MODIFIED], **raw.parser_options(""))
        parsed[MODIFIED] = modified.values
    for column in spec.columns:
        if column.name not in frame.columns:
            parsed[column.name] = _empty_column(column.kind, frame.index)
            continue
        currencies = None
        if column.kind == "amount":
            currencies = _row_currencies(frame, report_currency)
        result = _parse_column(raw, frame, column, currencies)
        _check_mostly_failed(raw, frame, column, result)
        if column.kind == "amount":
            _note_point_as_thousands(raw, frame, column, result, currencies)
        parsed[column.name] = result.values.astype(schema.pandas_dtype(column.kind))
        if is_blankable(spec, column):
            if result.failed.any():
                blanked.append((column.name, result))
            continue
        bad = result.failed & ~failed_rows
        if bad.any():
            reasons = _name_column(result.errors[bad], column.name, raw.headers)
            _reject(quarantine, spec.name, frame[bad], column.name, reasons)
        failed_rows |= result.failed
    result_frame = pd.DataFrame(parsed)
    for name, result in blanked:
        bad = result.failed & ~failed_rows
        if bad.any():
            reasons = _name_column(result.errors[bad], name, raw.headers)
            _blank(quarantine, spec.name, frame[bad], name, reasons, raw.headers)
            result_frame.loc[bad, name] = None
    return result_frame[~failed_rows].reset_index(drop=True)


def column_label(column: str, headers: Mapping[str, str | None]) -> str:
    """Name ``column`` as the file's header does, with the canonical name.

    ``headers`` is a :attr:`RawTable.headers` map. The label is
    ``column "Close Date" (close_date)`` for a mapped header and
    ``close_date (a constant in the source profile)`` for a constant. It is
    the canonical name alone where the header is that name or ``headers``
    lacks the column.
    """
    if column not in headers:
        return column
    header = headers[column]
    if header is None:
        return f"{column} (a constant in the source profile)"
    if header == column:
        return column
    return f'column "{escape_invisible(header)}" ({column})'


def reason_prefix(column: str, headers: Mapping[str, str | None]) -> str:
    """Return the start of a parser reason: the column's label and ": ", or "".

    Reasons name a column only where the file's header is not its
    canonical name, because the parser reasons do not name it.
    """
    label = column_label(column, headers)
    return "" if label == column else f"{label}: "


def _name_column(
    reasons: pd.Series, column: str, headers: Mapping[str, str | None]
) -> pd.Series:
    """Prefix parser reasons with the column's label where it is not canonical."""
    prefix = reason_prefix(column, headers)
    if not prefix:
        return reasons
    return prefix + reasons.astype(str)


def _row_currencies(
    frame: pd.DataFrame, report_currency: str | None
) -> pd.Series | None:
    """Return each row's currency: its currency cell, else ``report_currency``."""
    fallback = pd.Series(report_currency, index=frame.index, dtype="object")
    if "currency" not in frame.columns:
        return None if report_currency is None else fallback
    own = frame["currency"].astype("object")
    own = own.where(own.notna() & (own.astype("str").str.strip() != ""))
    return own.fillna(fallback)


def _parse_column(
    raw: RawTable,
    frame: pd.DataFrame,
    column: schema.ColumnSpec,
    currencies: pd.Series | None = None,
) -> Parsed:
    """Parse one column; a column-wide ambiguity raises naming its rows.

    ``currencies`` (each row's currency code) marks the rows of an amount
    column that may write three decimals.
    """
    options = column_parser_options(raw, column)
    if currencies is not None:
        options["currencies"] = currencies
    try:
        return PARSERS[column.kind](frame[column.name], **options)
    except ColumnFormatError as error:
        rows = frame[ROW]
        evidence = "; ".join(
            f"{label} on {'row' if len(indexes) == 1 else 'rows'} "
            f"{', '.join(str(rows[index]) for index in indexes[:10])}"
            + (f" and {len(indexes) - 10} more" if len(indexes) > 10 else "")
            for label, indexes in error.evidence.items()
        )
        first = next(iter(error.evidence.values()), [None])[0]
        raise InputError(
            f"{raw.file}, {_column_phrase(column.name, raw.headers)}: {error} "
            f"({evidence})",
            file=raw.file,
            column=column.name,
            row=None if first is None else int(rows[first]),
        ) from error


def _note_point_as_thousands(
    raw: RawTable,
    frame: pd.DataFrame,
    column: schema.ColumnSpec,
    result: Parsed,
    currencies: pd.Series | None = None,
) -> None:
    """Add a note on amounts such as ``12.500`` read with a decimal point.

    Too few of them, or a column whose other cells show the point to be a
    decimal point, do not stop intake (see
    :func:`acctlib.intake.money.check_point_as_thousands`). The amounts are
    kept as read, but de-DE writes thousands that way, so the note names
    them for the user to check.
    """
    cells = frame[column.name]
    if pd.api.types.is_numeric_dtype(cells):
        return
    locale = column_parser_options(raw, column).get("locale")
    found = find_point_as_thousands(cells, locale, currencies)
    if not found:
        return
    examples = ", ".join(
        f"{str(cells[index]).strip()!r} on row {frame[ROW][index]} read as "
        f"{result.values[index]:g}"
        for index in found[:3]
    )
    count = len(found)
    amounts = "amount has" if count == 1 else "amounts have"
    raw.notes.append(
        f"{raw.file}, {_column_phrase(column.name, raw.headers)}: {count:,} "
        f"{amounts} exactly three digits after the point ({examples}), as "
        "de-DE writes thousands. If they are thousands, declare the locale "
        "the file writes, such as locale: de-DE, in a source profile's "
        "options (see Source profiles in the README)."
    )


def column_parser_options(raw: RawTable, column: schema.ColumnSpec) -> dict[str, Any]:
    """Return the options that parse ``column`` of ``raw``.

    An ``id_format`` applies only to the ID columns of
    :data:`ID_FORMAT_COLUMNS`.
    """
    options = raw.parser_options(column.name)
    if column.kind == "id" and column.name not in ID_FORMAT_COLUMNS.get(raw.table, ()):
        options.pop("id_format", None)
    return options


MOSTLY_FAILED_SHARE = 0.5
"""Share of a column's non-empty cells that, failing, stops intake."""
MOSTLY_FAILED_MIN_CELLS = 20
"""Fewest failed cells that stop intake while some cells of the column parse."""
ALL_FAILED_MIN_CELLS = 3
"""Fewest failed cells that stop intake when no non-empty cell of the column parses.

A small export whose amounts all use decimal commas falls under
:data:`MOSTLY_FAILED_MIN_CELLS`, yet none of its amounts is usable. One or
two odd cells of a column that is otherwise empty are only blanked.
"""
FAILED_EXAMPLES = 3
"""Failed cells, first rows first, that the error lists with their values."""

# The kinds whose mostly failed columns stop intake. For each: the parser
# option that reads it, what to do when the profile declares no such
# option, and what to do when the declared one still fails.
_FORMAT_ADVICE = {
    "amount": (
        "locale",
        "If the file writes amounts such as 1.234,50 or $1,200, read it "
        "through a profile with options such as locale: de-DE (see Source "
        "profiles in the README); otherwise convert the column to plain "
        "decimals such as 1234.50",
        "Correct the locale to the one the file writes, such as de-DE for "
        "1.234,50 (see Source profiles in the README), or convert the "
        "column to plain decimals such as 1234.50",
    ),
    "date": (
        "date_format",
        "If the file writes dates such as 31/12/2025, read it through a "
        "profile with options such as date_format: day-first (see Source "
        "profiles in the README); otherwise convert the column to ISO dates "
        "such as 2025-12-31",
        "Correct the date_format to the form the file writes, such as "
        '"%d/%m/%Y" or day-first (see Source profiles in the README), or '
        "convert the column to ISO dates such as 2025-12-31",
    ),
}
_FORMAT_ADVICE["timestamp"] = _FORMAT_ADVICE["date"]


def stops_when_mostly_failed(column: schema.ColumnSpec) -> bool:
    """Tell whether ``column`` stops intake when most of its cells fail.

    Only amounts, dates and timestamps do, because blanking or rejecting
    all of them silently leaves a report without bookings or dates. Other
    kinds, such as an ``employees`` column of ranges like ``51-200``, are
    blanked or rejected cell by cell, whatever their share.
    """
    return column.kind in _FORMAT_ADVICE


def is_mostly_failed(failed: int, filled: int) -> bool:
    """Tell whether ``failed`` of ``filled`` non-empty cells are enough to stop.

    They are when at least half fail and at least
    :data:`MOSTLY_FAILED_MIN_CELLS` do, or when every non-empty cell fails
    and at least :data:`ALL_FAILED_MIN_CELLS` do.
    """
    if failed >= ALL_FAILED_MIN_CELLS and failed == filled:
        return True
    return failed >= MOSTLY_FAILED_MIN_CELLS and failed >= MOSTLY_FAILED_SHARE * filled


def mostly_failed_error(
    file: str,
    column: schema.ColumnSpec,
    headers: Mapping[str, str | None],
    options: Mapping[str, Any],
    counts: tuple[int, int],
    examples: Sequence[tuple[int, object, str]],
) -> InputError:
    """Return the error that stops intake on a column in another format.

    ``counts`` is the failed and the non-empty cells of the column, and
    ``examples`` the 1-based data row, raw value and parser reason of its
    first failed cells, at least one. The message shows the reason of the
    first only. ``options`` is the column's parser options, so that the
    hint names a ``locale`` or ``date_format`` the profile declares.
    """
    failed, filled = counts
    row, value, reason = examples[0]
    further = [f"row {other} {text!r}" for other, text, _ in examples[1:]]
    listed = f"row {row} has {value!r} ({reason})"
    if further:
        listed = ", ".join([listed, *further[:-1]]) + f" and {further[-1]}"
    hint = _format_hint(column.kind, options)
    return InputError(
        f"{file}, {_column_phrase(column.name, headers)}: {failed:,} of "
        f"{filled:,} values could not be read, so the column is in another "
        f"format than expected; {listed}. {hint}",
        file=file,
        column=column.name,
        row=row,
        value=str(value),
    )


def _format_hint(kind: str, options: Mapping[str, Any]) -> str:
    """Return what to do about a column of ``kind`` in another format."""
    option, undeclared_hint, declared_hint = _FORMAT_ADVICE[kind]
    declared = options.get(option)
    if not declared:
        return undeclared_hint
    if isinstance(declared, list | tuple):
        declared = "[" + ", ".join(str(item) for item in declared) + "]"
    return (
        f"The source profile declares {option}: {declared}, which does not "
        f"read these values. {declared_hint}"
    )


def _check_mostly_failed(
    raw: RawTable, frame: pd.DataFrame, column: schema.ColumnSpec, result: Parsed
) -> None:
    """Raise when most or all non-empty cells of a column fail to parse.

    :func:`is_mostly_failed` gives the rule. Such a column is in another
    format than the one read, such as decimal commas or day-first dates in
    a canonical file. Blanking every cell would leave a report of zero
    bookings that looks valid. Only the columns that
    :func:`stops_when_mostly_failed` covers raise.
    """
    if not stops_when_mostly_failed(column):
        return
    failed = int(result.failed.sum())
    if failed < ALL_FAILED_MIN_CELLS:
        return
    text = frame[column.name].astype("string").str.strip()
    filled = int(text.fillna("").ne("").sum())
    if not is_mostly_failed(failed, filled):
        return
    first = result.failed[result.failed].index[:FAILED_EXAMPLES]
    examples = [
        (
            int(frame.at[index, ROW]),
            frame.at[index, column.name],
            str(result.errors[index]),
        )
        for index in first
    ]
    raise mostly_failed_error(
        raw.file,
        column,
        raw.headers,
        raw.parser_options(column.name),
        (failed, filled),
        examples,
    )


def _column_phrase(column: str, headers: Mapping[str, str | None]) -> str:
    """Return "column NAME", or the label of a column that is not canonical."""
    label = column_label(column, headers)
    return f"column {column}" if label == column else label


def _empty_column(kind: str, index: pd.Index) -> pd.Series:
    dtype = schema.pandas_dtype(kind)
    if dtype in (str, "Int64", "boolean"):
        return pd.Series(None, index=index, dtype=dtype)
    return pd.Series(float("nan"), index=index).astype(dtype)


def _reject(
    quarantine: Quarantine,
    table: str,
    rows: pd.DataFrame,
    column: str,
    reasons: pd.Series | str,
) -> None:
    """Record ``rows`` as rejected on ``column`` with one reason or one per row.

    ``rows`` contains the raw text cells of the rejected rows, so the
    quarantine shows each value as the file had it.
    """
    _record(quarantine.reject, table, rows, column, reasons)


def _blank(
    quarantine: Quarantine,
    table: str,
    rows: pd.DataFrame,
    column: str,
    reasons: pd.Series | str,
    headers: Mapping[str, str | None] | pd.Series | None = None,
) -> None:
    """Record the ``column`` cells of ``rows`` as blanked in kept rows.

    ``headers`` is the :attr:`RawTable.headers` map of the rows' file, or a
    map per row aligned with ``rows``. A cell whose header another column of
    the row already blanked is not recorded twice (see
    :meth:`Quarantine.blank`).
    """
    if headers is None:
        headers = {}
    if isinstance(headers, pd.Series):
        row_headers = headers.map(lambda file_headers: file_headers.get(column))
    else:
        row_headers = pd.Series(headers.get(column), index=rows.index, dtype=object)
    for header, group in rows.groupby(row_headers.fillna(""), sort=False):
        blank = functools.partial(quarantine.blank, header=str(header) or None)
        group_reasons = reasons if isinstance(reasons, str) else reasons[group.index]
        _record(blank, table, group, column, group_reasons)


def _record(
    add: Callable[..., None],
    table: str,
    rows: pd.DataFrame,
    column: str,
    reasons: pd.Series | str,
) -> None:
    if isinstance(reasons, str):
        reasons = pd.Series(reasons, index=rows.index)
    cells = rows.drop(columns=list(PROVENANCE), errors="ignore").astype(object)
    # Missing cells become None, so each record is valid JSON without NaN.
    records = cells.where(cells.notna(), None).to_dict("records")
    for (index, row), record in zip(rows.iterrows(), records, strict=True):
        add(
            table,
            str(row[FILE]),
            [row[ROW]],
            column,
            [row.get(column)],
            str(reasons[index]),
            [record],
        )


def _source_rows(frame: pd.DataFrame, source: pd.DataFrame) -> pd.DataFrame:
    """Return the raw rows of the parsed rows in ``frame``, indexed like it."""
    rows = source.iloc[frame[SOURCE].to_numpy()]
    return rows.set_axis(frame.index)


def _apply_stage_map(
    frame: pd.DataFrame,
    stage_map: Mapping[str, Mapping],
    quarantine: Quarantine,
    source: pd.DataFrame,
    headers: Mapping[str, str | None],
) -> pd.DataFrame:
    """Fill stage_category, probability and forecast_category from the stage map.

    Values supplied by the source win over the map. A row whose stage is
    not in the map, or empty, and that has no stage_category of its own is
    rejected.
    """
    _fill_from_stage_map(frame, stage_map)
    unknown = frame["stage_category"].isna()
    if unknown.any():
        label = column_label("stage", headers)
        reasons = frame.loc[unknown, "stage"].map(
            functools.cache(
                lambda stage: _describe_unmapped_stage(stage, label, stage_map)
            )
        )
        rows = _source_rows(frame[unknown], source)
        _reject(quarantine, "opportunities", rows, "stage", reasons)
    return frame[~unknown].reset_index(drop=True)


def _describe_unmapped_stage(
    stage: object, label: str, stage_map: Mapping[str, Any]
) -> str:
    """Return the rejection reason of a stage missing from ``stage_map``.

    For a stage that differs from a mapped one only in case or spaces, or
    that is close to some, the reason names them, because such a value is
    more likely a typo than a new stage.
    """
    if pd.isna(stage) or not str(stage).strip():
        return (
            f"{label} is empty but required; fill in the opportunity's stage "
            "or its stage_category (open, won or lost)"
        )
    add = "add it to the stage_map parameter with its category (open, won or lost)"
    same, close = similar_stages(stage, stage_map)
    if same is not None:
        return (
            f"{label} {stage!r} is not in the stage map, which has {same!r}; "
            f"write the stage as {same!r}, or {add}"
        )
    if close:
        names = ", ".join(repr(name) for name in close)
        return (
            f"{label} {stage!r} is not in the stage map; closest mapped stages: "
            f"{names}. Correct the value, or {add}"
        )
    note = replaced_default_note(stage)
    return f"{label} {stage!r} is not in the stage map; {add}.{note}"


def _fill_from_stage_map(frame: pd.DataFrame, stage_map: Mapping[str, Mapping]) -> None:
    """Fill missing stage_category, probability and forecast_category in place."""

    # Dictionaries, because Series.map calls a function once per row. A
    # stage missing from the map becomes a missing value either way.
    def index_by_stage(key: str) -> dict:
        return {stage: entry.get(key) for stage, entry in stage_map.items()}

    mapped = frame["stage"].map(index_by_stage("category"))
    frame["stage_category"] = frame["stage_category"].fillna(mapped)
    probability = frame["stage"].map(index_by_stage("probability"))
    frame["probability"] = frame["probability"].fillna(probability.astype("float64"))
    forecast = frame["stage"].map(index_by_stage("forecast_category"))
    frame["forecast_category"] = frame["forecast_category"].fillna(forecast)


def key_label(key: Sequence[str], headers: Mapping[str, str | None]) -> str:
    """Return the label of a primary key as the file's headers name it.

    Canonical columns join with "/" as in ``account_id/month``, and mapped
    headers with "and".
    """
    labels = [column_label(column, headers) for column in key]
    if labels == list(key):
        return "/".join(key)
    return " and ".join(labels)


def duplicate_key_advice(key: Sequence[str]) -> str:
    """Return what to do about rows that repeat a primary key."""
    columns = " and ".join(key)
    return f"remove or merge the repeated rows, or export one row per {columns}"


def _reject_duplicate_keys(
    frame: pd.DataFrame,
    spec: schema.TableSpec,
    quarantine: Quarantine,
    source: pd.DataFrame,
    headers: Mapping[str, str | None],
) -> pd.DataFrame:
    if not spec.primary_key:
        return frame
    key = list(spec.primary_key)
    if MODIFIED in frame.columns:
        return _keep_latest_versions(frame, key, spec, quarantine, source, headers)
    complete = frame[key].notna().all(axis=1)
    duplicated = frame.duplicated(key, keep="first") & complete
    if duplicated.any():
        first_rows = frame[complete].drop_duplicates(key).set_index(key)[ROW]
        label = key_label(key, headers)
        advice = duplicate_key_advice(key)
        reasons = frame.loc[duplicated, key].apply(
            lambda values: (
                f"duplicate value of {label}; first seen on row "
                f"{first_rows.loc[_key_value(values, key)]}; {advice}"
            ),
            axis=1,
        )
        rows = _source_rows(frame[duplicated], source)
        _reject(quarantine, spec.name, rows, key[0], reasons)
    return frame[~duplicated].reset_index(drop=True)


def _keep_latest_versions(
    frame: pd.DataFrame,
    key: list[str],
    spec: schema.TableSpec,
    quarantine: Quarantine,
    source: pd.DataFrame,
    headers: Mapping[str, str | None],
) -> pd.DataFrame:
    """Keep the row modified last per key; reject older versions.

    Rows without a modified date rank oldest; a tie keeps the later row.
    The reason of a rejected row states whether it repeats the kept row
    exactly, ties with it on the modified date, or is older.
    """
    ordered = frame.sort_values(
        [*key, MODIFIED, ROW], na_position="first", kind="stable"
    )
    complete = ordered[key].notna().all(axis=1)
    older = ordered.duplicated(key, keep="last") & complete
    if older.any():
        latest = ordered[complete].drop_duplicates(key, keep="last")
        latest_index = pd.Series(latest.index, index=latest.set_index(key).index)
        kept_indexes = ordered.loc[older, key].apply(
            lambda values: latest_index.loc[_key_value(values, key)], axis=1
        )
        label = key_label(key, headers)
        reasons = pd.Series(
            [
                _describe_replaced_version(
                    ordered, source, index, kept_index, key, label
                )
                for index, kept_index in kept_indexes.items()
            ],
            index=kept_indexes.index,
            dtype="object",
        )
        rows = _source_rows(ordered[older], source)
        _reject(quarantine, spec.name, rows, key[0], reasons)
    return frame.loc[sorted(ordered.index[~older])].reset_index(drop=True)


def _describe_replaced_version(
    frame: pd.DataFrame,
    source: pd.DataFrame,
    index: int,
    kept_index: int,
    key: list[str],
    label: str,
) -> str:
    """Return the reason that the row at ``index`` gave way to ``kept_index``.

    Both are rows of ``frame`` with the same key. Their raw cells in
    ``source`` tell an exact repeat, as an export writes when it lists a
    record twice, from a second version of the record.
    """
    value = "/".join(str(frame.at[index, column]) for column in key)
    kept_row = frame.at[kept_index, ROW]
    if _same_cells(source, frame.at[index, SOURCE], frame.at[kept_index, SOURCE]):
        return (
            f"exact repeat of row {kept_row}: same {label} {value}, modified "
            f"date and value in every column read; kept row {kept_row}"
        )
    modified = frame.at[index, MODIFIED]
    kept_modified = frame.at[kept_index, MODIFIED]
    if pd.isna(modified) and pd.isna(kept_modified):
        return (
            f"another version of the row with {label} {value}; neither it nor "
            f"row {kept_row} has a modified date, so the later row {kept_row} "
            "is kept"
        )
    if modified == kept_modified:
        return (
            f"another version of the row with {label} {value}, modified at the "
            f"same time as row {kept_row}; kept row {kept_row}, the later in "
            "the file"
        )
    return (
        f"older version of the row with {label} {value}; kept row {kept_row}, "
        "modified later"
    )


def _same_cells(source: pd.DataFrame, first: int, second: int) -> bool:
    """Tell whether two rows of ``source`` have the same text in every cell.

    Provenance columns other than the raw modified date do not count, and
    an empty cell equals a missing one.
    """
    ignored = [ROW, FILE, SOURCE, EMPTY, SHORT_ROW]
    cells = source.drop(columns=ignored, errors="ignore").iloc[[first, second]]
    text = cells.astype("str").where(cells.notna(), "")
    return bool((text.iloc[0] == text.iloc[1]).all())


def _key_value(values: pd.Series, key: list[str]) -> object:
    """Return a row's key as the index of a frame indexed by ``key``."""
    return tuple(values) if len(key) > 1 else values.iloc[0]


def _validate(
    frame: pd.DataFrame,
    spec: schema.TableSpec,
    quarantine: Quarantine,
    source: pd.DataFrame,
    headers: Mapping[str, str | None],
) -> pd.DataFrame:
    """Check ``frame`` against the table's schema.

    A row failing a check on a column that is not blankable is rejected on
    its first such check. Failing cells of blankable columns in the other
    rows are blanked.
    """
    # Repeated keys are handled by _reject_duplicate_keys, which keeps the
    # first valid row and names it in the reason of the others, so the
    # schema does not look for them.
    schema.load_pandera()
    from pandera.errors import SchemaErrors

    try:
        schema.validate(spec.name, frame, check_unique=False)
        return frame
    except SchemaErrors as errors:
        cases = errors.failure_cases
    row_cases = cases[cases["index"].notna()]
    table_cases = cases[cases["index"].isna()]
    if not table_cases.empty:
        problems = "; ".join(
            f"{case.column}: {case.check} ({case.failure_case})"
            for case in table_cases.itertuples()
        )
        raise InputError(
            f"table {spec.name} does not match its schema: {problems}",
            column=str(table_cases["column"].iloc[0]),
        )
    columns = {column.name: column for column in spec.columns}
    blankable = row_cases["column"].map(
        lambda name: name in columns and is_blankable(spec, columns[name])
    )
    bad_index = set()
    for case in row_cases[~blankable].drop_duplicates(["index"]).itertuples():
        index = int(case.index)
        bad_index.add(index)
        reason = _describe_check(
            str(case.column), str(case.check), case.failure_case, headers
        )
        rows = _source_rows(frame.loc[[index]], source)
        _reject(quarantine, spec.name, rows, str(case.column), reason)
    result = frame.copy()
    cell_cases = row_cases[blankable].drop_duplicates(["index", "column"])
    for case in cell_cases.itertuples():
        index = int(case.index)
        if index in bad_index:
            continue
        reason = _describe_check(str(case.column), str(case.check), headers=headers)
        rows = _source_rows(frame.loc[[index]], source)
        _blank(quarantine, spec.name, rows, str(case.column), reason, headers)
        result.loc[index, str(case.column)] = None
    return result.drop(index=sorted(bad_index)).reset_index(drop=True)


def _describe_check(
    column: str,
    check: str,
    value: object = None,
    headers: Mapping[str, str | None] | None = None,
) -> str:
    spec_columns = {
        column.name: column
        for table in schema.TABLES.values()
        for column in table.columns
    }
    spec = spec_columns.get(column)
    label = column_label(column, headers or {})
    if check == "not_nullable":
        return empty_required_reason(label)
    if check.startswith("isin") and spec is not None and spec.allowed:
        if column == "type" and (headers or {}).get("type"):
            return _describe_unmapped_type(value, label, spec.allowed)
        label_of = _allowed_value_of_label(value, spec.allowed)
        if column == "type" and label_of is not None:
            return _describe_type_label(value, label_of, spec.allowed)
        return f"{label} must be one of {', '.join(spec.allowed)}"
    if check.startswith("greater_than_or_equal_to"):
        return f"{label} is below its minimum {spec.minimum if spec else ''}".strip()
    if check == "empty text":
        return f"{label} is blank but required"
    return f"{label} failed check {check}"


def _allowed_value_of_label(value: object, allowed: tuple[str, ...]) -> str | None:
    """Return the allowed value of which ``value`` is a label, or None.

    A label differs from its value only in case, surrounding spaces, and
    spaces, hyphens or nothing in place of underscores, such as "New
    Business", "new-business" or "NewBusiness" for new_business.
    """
    if not isinstance(value, str):
        return None
    folded = re.sub(r"[\s_-]+", "_", value.strip().casefold())
    for candidate in allowed:
        if folded == candidate or folded == candidate.replace("_", ""):
            return candidate
    return None


def _describe_type_label(value: str, label_of: str, allowed: tuple[str, ...]) -> str:
    """Explain a deal type written as a label and how to fix it."""
    return (
        f"type {value!r} looks like a label of {label_of}, but type must be one "
        f"of {', '.join(allowed)}; write {label_of} in the file's type column, "
        "or read the export through a source profile whose type_map maps its "
        "deal-type labels (the salesforce and hubspot profiles have one)"
    )


def _describe_unmapped_type(value: object, label: str, allowed: tuple[str, ...]) -> str:
    """Explain a deal-type label that the profile's type_map does not list."""
    return (
        f"{label} value {value!r} is not a deal type; add it to type_map in the "
        f"source profile, mapped onto one of {', '.join(allowed)} (for example "
        f"'{value}: new_business'), or write one of those in the file"
    )


def check_references(
    tables: dict[str, pd.DataFrame],
    quarantine: Quarantine,
    headers: Mapping[tuple[str, str], Mapping[str, str | None]] | None = None,
) -> dict[str, pd.DataFrame]:
    """Reject rows whose foreign keys point at no accepted parent row.

    Opportunities with an empty account_id are kept: they belong to no
    account and are reported under "No account". ``headers`` maps a table
    and file onto the :attr:`RawTable.headers` of the file, so that reasons
    name the reference column as that file's header does.
    """
    checked = dict(tables)
    # Parsed rows rejected here, per table, whose keys a child's reference
    # may point at.
    rejected_rows: dict[str, pd.DataFrame] = {}
    order = ["opportunities", "stage_history", "touchpoints", "revenue", "signals"]
    for name in order:
        if name not in checked:
            continue
        for column, (parent, parent_column) in schema.TABLES[name].references.items():
            if parent not in checked:
                continue
            frame = checked[name]
            # tolist converts Arrow text in one call, where iterating a
            # Series converts one value at a time.
            known = set(checked[parent][parent_column].dropna().tolist())
            rejected = quarantine.rejected_ids(parent, parent_column)
            if parent in rejected_rows:
                rejected.update(_row_locations(rejected_rows[parent], parent_column))
            if isinstance(frame, BulkTable):
                label = column_label(
                    column, (headers or {}).get((name, frame.file), {})
                )
                _reject_unknown_bulk(
                    frame, column, label, parent, known, quarantine, rejected
                )
                continue
            # On object values: pandas' isin on text columns is slower.
            found = frame[column].astype(object).isin(known)
            unknown = frame[column].notna() & ~found
            if unknown.any():
                describe = functools.partial(
                    _describe_unknown_reference,
                    known=known,
                    parent=parent,
                    rejected=rejected,
                    variants=ids_by_fold(known),
                )
                labels = _labels_by_file(frame[unknown], name, column, headers or {})
                values = frame.loc[unknown, column]
                reasons = pd.Series(
                    [
                        describe(value, column=label)
                        for value, label in zip(values, labels, strict=True)
                    ],
                    index=values.index,
                )
                rows = _raw_rows(frame[unknown])
                _reject(quarantine, name, rows, column, reasons)
                parts = [rejected_rows.get(name), frame[unknown]]
                rejected_rows[name] = pd.concat(parts, ignore_index=True)
                checked[name] = frame[~unknown].reset_index(drop=True)
    return checked


def _labels_by_file(
    rows: pd.DataFrame,
    table: str,
    column: str,
    headers: Mapping[tuple[str, str], Mapping[str, str | None]],
) -> pd.Series:
    """Return the label of ``column`` in the file of each of ``rows``."""
    files = rows[FILE].astype(str)
    labels = {
        file: column_label(column, headers.get((table, file), {}))
        for file in files.unique()
    }
    return files.map(labels)


def _row_locations(rows: pd.DataFrame, column: str) -> dict[str, tuple[str, int]]:
    """Return each ``column`` key of ``rows`` with the file and row of its first row."""
    rows = rows[rows[column].notna()].drop_duplicates(column)
    locations = zip(rows[FILE].astype(str), rows[ROW].astype(int), strict=True)
    return dict(zip(rows[column], locations, strict=True))


def reject_undated_closed(
    tables: dict[str, pd.DataFrame],
    quarantine: Quarantine,
    stage_map: Mapping[str, Mapping],
    headers: Mapping[tuple[str, str], Mapping[str, str | None]] | None = None,
) -> dict[str, pd.DataFrame]:
    """Reject won or lost opportunities whose close date cannot be known.

    Such a deal has no ``close_date`` and no stage-history entry of a won or
    lost stage (by ``stage_map``, or the deal's own stage), so no as-of date
    can tell whether it was still open then. Counting it as open would put
    a lost deal into the pipeline, so the row is rejected with the fix
    instead. Entries of open stages do not date the close: a won deal whose
    close date was blanked as invalid would otherwise count as open in its
    last open stage. ``headers`` is as in :func:`check_references`, so that
    the fix names the close-date column as each file's header does.
    """
    opportunities = tables["opportunities"]
    history = tables.get("stage_history")
    dated = _deals_with_close_entry(opportunities, history, stage_map)
    undated = (
        opportunities["stage_category"].isin(["won", "lost"])
        & opportunities["close_date"].isna()
        & ~dated
    )
    if not undated.any():
        return tables
    headers = headers or {}
    rejected = opportunities[undated]
    has_history = (
        pd.Series(False, index=rejected.index)
        if history is None
        else rejected["opportunity_id"]
        .astype(object)
        .isin(set(history["opportunity_id"].tolist()))
    )
    raw_text = _raw_text(rejected, "close_date")
    reasons = pd.Series(
        [
            _undated_closed_reason(
                category,
                text,
                has_entries,
                headers.get(("opportunities", file), {}),
            )
            for category, text, has_entries, file in zip(
                rejected["stage_category"],
                raw_text,
                has_history,
                rejected[FILE].astype(str),
                strict=True,
            )
        ],
        index=rejected.index,
    )
    _reject(quarantine, "opportunities", _raw_rows(rejected), "close_date", reasons)
    tables = {**tables, "opportunities": opportunities[~undated].reset_index(drop=True)}
    if history is not None and not history.empty:
        tables["stage_history"] = _reject_history_of(
            history, rejected, quarantine, headers
        )
    return tables


def _reject_history_of(
    history: pd.DataFrame,
    deals: pd.DataFrame,
    quarantine: Quarantine,
    headers: Mapping[tuple[str, str], Mapping[str, str | None]],
) -> pd.DataFrame:
    """Reject the stage-history rows of the rejected ``deals`` and return the rest.

    Rows that share their deal's file and row, which an adapter derived
    from the deal's row, are left to :func:`reject_history_of_rejected_deals`,
    whose reason names the deal's row.
    """
    locations = _row_locations(deals, "opportunity_id")
    ids = history["opportunity_id"].astype(object)
    own_rows = set(zip(deals[FILE].astype(str), deals[ROW].astype(int), strict=True))
    derived = pd.Series(
        [
            location in own_rows
            for location in zip(
                history[FILE].astype(str), history[ROW].astype(int), strict=True
            )
        ],
        index=history.index,
    )
    orphaned = ids.isin(set(locations)) & ~derived
    if not orphaned.any():
        return history
    labels = _labels_by_file(
        history[orphaned], "stage_history", "opportunity_id", headers
    )
    reasons = pd.Series(
        [
            rejected_reference_reason(label, "opportunities", *locations[value])
            for value, label in zip(ids[orphaned], labels, strict=True)
        ],
        index=labels.index,
    )
    rows = _raw_rows(history[orphaned])
    _reject(quarantine, "stage_history", rows, "opportunity_id", reasons)
    return history[~orphaned].reset_index(drop=True)


def _deals_with_close_entry(
    opportunities: pd.DataFrame,
    history: pd.DataFrame | None,
    stage_map: Mapping[str, Mapping],
) -> pd.Series:
    """Flag the opportunities whose stage history dates their close.

    An entry dates the close when its stage is won or lost in
    ``stage_map``, or is the deal's current stage, which covers a closed
    stage missing from the map that the row's own stage_category closes.
    """
    ids = opportunities["opportunity_id"].astype(object)
    if history is None or history.empty:
        return pd.Series(False, index=opportunities.index)
    closed_stages = {
        stage
        for stage, entry in stage_map.items()
        if entry.get("category") in ("won", "lost")
    }
    entries = history[["opportunity_id", "stage"]].astype(object)
    closing = entries[entries["stage"].isin(closed_stages)]
    by_closed_stage = ids.isin(set(closing["opportunity_id"].tolist()))
    own_stage = set(zip(entries["opportunity_id"], entries["stage"], strict=True))
    by_own_stage = pd.Series(
        [
            pair in own_stage
            for pair in zip(ids, opportunities["stage"].astype(object), strict=True)
        ],
        index=opportunities.index,
    )
    return by_closed_stage | by_own_stage


def _raw_text(rows: pd.DataFrame, column: str) -> pd.Series:
    """Return the stripped raw text of ``column`` in parsed ``rows``, "" if absent."""
    raw = RAW_PREFIX + column
    if raw not in rows.columns:
        return pd.Series("", index=rows.index)
    return rows[raw].astype(object).fillna("").astype(str).str.strip()


def _undated_closed_reason(
    category: str,
    close_text: str,
    has_history: bool,
    headers: Mapping[str, str | None],
) -> str:
    """Return why a won or lost deal without a close date is rejected.

    ``close_text`` is the raw close-date cell, not empty where intake
    blanked it as invalid, and ``has_history`` is True when the deal has
    stage-history entries, none of them of a won or lost stage.
    """
    if close_text:
        label = column_label("close_date", headers)
        history = (
            "no won or lost stage in its stage history"
            if has_history
            else "no stage history"
        )
        return (
            f"{category} with the invalid close date {close_text!r} and "
            f"{history}, so the date it closed is unknown; correct {label} "
            "to a valid date"
        )
    if has_history:
        return (
            f"{category} without a close date or a won or lost stage in its "
            "stage history, so the date it closed is unknown; "
            f"{_close_date_fix(headers)}"
        )
    return (
        f"{category} without a close date or stage history, so the date it "
        f"closed is unknown; {_close_date_fix(headers)}"
    )


def reject_history_of_rejected_deals(
    tables: dict[str, pd.DataFrame], quarantine: Quarantine
) -> dict[str, pd.DataFrame]:
    """Reject stage-history rows derived from a rejected opportunities row.

    Adapters such as HubSpot's derive stage-history rows from the columns of
    a deal's row, so those rows share its file and row number. A deal row
    rejected as a repeat of an accepted ID would otherwise leave its history
    under the accepted deal. Each such row is rejected with the reason of
    its deal row.
    """
    history = tables.get("stage_history")
    if history is None or isinstance(history, BulkTable) or history.empty:
        return tables
    deal_reasons: dict[tuple[str, int], str] = {}
    for record in quarantine.records:
        if record["table"] == "opportunities" and record["action"] == ROW_REJECTED:
            deal_reasons.setdefault((record["file"], record["row"]), record["reason"])
    if not deal_reasons:
        return tables
    locations = list(
        zip(history[FILE].astype(str), history[ROW].astype(int), strict=True)
    )
    derived = pd.Series(
        [location in deal_reasons for location in locations], index=history.index
    )
    if not derived.any():
        return tables
    reasons = pd.Series(
        [
            f"derived from {Path(file).name} row {row}, whose opportunities row "
            f"is rejected: {deal_reasons[(file, row)]}"
            for (file, row), keep in zip(locations, derived, strict=True)
            if keep
        ],
        index=history.index[derived],
    )
    rows = _raw_rows(history[derived])
    _reject(quarantine, "stage_history", rows, "opportunity_id", reasons)
    return {**tables, "stage_history": history[~derived].reset_index(drop=True)}


def _close_date_fix(headers: Mapping[str, str | None]) -> str:
    """Return how to date a closed deal of a file with these ``headers``."""
    if headers and "close_date" not in headers:
        return (
            "export the close date and map its column onto close_date in the "
            "source profile, or export the stage history"
        )
    label = column_label("close_date", headers)
    return f"fill in {label} or export the stage history"


def blank_parsed_cells(
    quarantine: Quarantine,
    table: str,
    rows: pd.DataFrame,
    column: str,
    reasons: pd.Series,
    headers: Mapping[tuple[str, str], Mapping[str, str | None]] | None = None,
) -> None:
    """Record the ``column`` cells of parsed ``rows`` as blanked.

    ``rows`` are rows of a :func:`canonicalize` result, so the quarantine
    gets each cell and record as the file had them. ``headers`` is as in
    :func:`check_references`. The caller blanks the parsed cells.
    """
    headers = headers or {}
    row_headers = rows[FILE].map(lambda file: headers.get((table, str(file)), {}))
    _blank(quarantine, table, _raw_rows(rows), column, reasons, row_headers)


def _raw_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Return parsed ``rows`` of :func:`canonicalize` as the file had them."""
    raw_columns = [column for column in rows.columns if column.startswith(RAW_PREFIX)]
    raw = rows[raw_columns].rename(columns=lambda name: name.removeprefix(RAW_PREFIX))
    return pd.concat([rows[[ROW, FILE]], raw], axis=1)


def _reject_unknown_bulk(
    table: BulkTable,
    column: str,
    label: str,
    parent: str,
    known: set[str],
    quarantine,
    rejected_parents: Mapping[str, tuple[str, int]],
) -> None:
    """Reject the rows of ``table`` whose ``column`` is not in ``known``.

    ``label`` names the column in the reasons, as :func:`column_label` does.
    """
    rejected = table.reject_unknown(column, known)
    if rejected.empty:
        return
    variants = ids_by_fold(known)
    reasons = rejected[column].map(
        lambda value: _describe_unknown_reference(
            value, known, label, parent, rejected_parents, variants
        )
    )
    _reject(quarantine, table.table, table.raw_rows(rejected), column, reasons)


def _describe_unknown_reference(
    value: str,
    known: set[str],
    column: str,
    parent: str,
    rejected: Mapping[str, tuple[str, int]] | None = None,
    variants: Mapping[str, list[str]] | None = None,
) -> str:
    """Explain a reference that matches no parent row.

    ``column`` names the reference column in the reason, by its label
    where the file's header differs.

    A value in ``rejected`` (IDs of parent rows that intake rejected, with
    the file and row of each) points at that row's own problem. A value
    of 15 or 18 characters that matches a parent ID only when case is
    ignored is reported as a probably corrupted Salesforce ID
    (spreadsheets upper-case cells). Any other value that matches a parent
    ID when case and surrounding spaces are ignored gets a "Did you mean"
    hint naming it. Neither is joined, because case-sensitive IDs that
    differ in case are different records. ``variants`` is
    :func:`ids_by_fold` of ``known``, computed here when not given.
    """
    if rejected and value in rejected:
        return rejected_reference_reason(column, parent, *rejected[value])
    folded = value.casefold()
    matches = sorted(
        key
        for key in known
        if key.casefold() == folded or key[:15].casefold() == folded[:15]
    )
    if len(value) in (15, 18) and matches:
        return (
            f"probably corrupted ID: {column} {value!r} matches "
            f"{', '.join(repr(key) for key in matches)} in {parent} only when "
            "case is ignored; export the 18-character ID or fix the cell"
        )
    if variants is None:
        variants = ids_by_fold(known)
    return unknown_reference_reason(column, parent) + case_variant_hint(value, variants)


def fold_id(value: str) -> str:
    """Return ``value`` without surrounding spaces and case-folded."""
    return value.strip().casefold()


def ids_by_fold(ids: Iterable[str]) -> dict[str, list[str]]:
    """Group ``ids`` by :func:`fold_id`, each group in sorted order."""
    groups: dict[str, list[str]] = {}
    for value in sorted(ids):
        groups.setdefault(fold_id(value), []).append(value)
    return groups


def case_variant_hint(value: str, variants: Mapping[str, list[str]]) -> str:
    """Return the hint for an unknown ID that differs from known IDs in case.

    ``variants`` is :func:`ids_by_fold` of the known IDs. The hint, such as
    ". Did you mean 'C002'? …", follows an unknown-reference reason, and is
    "" when no known ID differs from ``value`` only in case or surrounding
    spaces.
    """
    matches = variants.get(fold_id(value))
    if not matches:
        return ""
    return (
        f".{closest_hint(value, matches)} IDs match only when written "
        "alike, case included"
    )


def unknown_reference_reason(column: str, parent: str) -> str:
    """Return the reason for a reference to an ID that no ``parent`` row has."""
    return f"{column} not found in {parent}; add the {parent} row or fix the ID"


def rejected_reference_reason(
    column: str, parent: str, file: str | None = None, row: int | None = None
) -> str:
    """Return the reason for a reference to a ``parent`` row that was rejected.

    ``file`` and ``row`` locate the rejected parent row when known.
    """
    where = f" ({Path(file).name} row {row})" if file and row is not None else ""
    return (
        f"{column} points at a rejected row of {parent}{where}; fix that row, "
        f"listed with its reason under {parent}, and the next build keeps this "
        "row as well"
    )


def finish(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Drop provenance columns and order the canonical columns.

    A :class:`BulkTable` is returned as it is, because it already has them.
    """
    if isinstance(frame, BulkTable):
        return frame
    columns = schema.TABLES[table].column_names
    if table == "stage_history":
        # Exports list stage changes in any order; keep them chronological.
        frame = frame.sort_values(["opportunity_id", "entered_at"], kind="stable")
    return frame[columns].reset_index(drop=True)
