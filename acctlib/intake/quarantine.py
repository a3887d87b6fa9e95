"""Rejected rows and blanked cells, kept with the reason for each.

No input row is dropped silently: every row that intake cannot accept is
recorded here with its file, 1-based data row (header excluded, blank
lines counted), column, raw cell text, reason and the whole row as the
file had it (``record``), then written to ``rejected_rows.csv`` in the run
folder and counted in the report. A cell of an optional column that
cannot be used is blanked instead: the row is kept and the cell is
recorded the same way, with the action ``cell blanked``. A row with no
text in any cell is rejected once, with the reason "empty row" and no
column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from acctlib import schema

REJECTED_COLUMNS = [
    "table",
    "file",
    "row",
    "column",
    "value",
    "reason",
    "action",
    "record",
]
SUMMARY_COLUMNS = ["table", "action", "reason", "rows"]
ROW_REJECTED = "row rejected"
CELL_BLANKED = "cell blanked"

# Columns that tell apart the rows an adapter derives from one line, for
# tables without a one-column primary key. Adapters write one stage-history
# row per deal and stage.
DERIVED_ROW_KEYS = {"stage_history": ("opportunity_id", "stage")}

# A cell starting with one of these is read as a formula by spreadsheet
# programs, so CSV output prefixes it with an apostrophe.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Quarantine:
    """Collector of rejected rows and blanked cells for one intake run."""

    records: list[dict] = field(default_factory=list)
    # Parsed IDs of rejected rows per (table, column), with file and row.
    parsed_ids: dict[tuple[str, str], dict[str, tuple[str, int]]] = field(
        default_factory=dict
    )
    # Table, file, row and header of each file cell recorded as blanked.
    blanked_headers: set[tuple[str, str, int, str]] = field(default_factory=set)

    def reject(
        self,
        table: str,
        file: str,
        rows: Iterable[int],
        column: str,
        values: Iterable[object],
        reason: str,
        records: Iterable[dict] | None = None,
    ) -> None:
        """Record rejected rows; ``rows``, ``values`` and ``records`` align."""
        self._add(ROW_REJECTED, table, file, rows, column, values, reason, records)

    def blank(
        self,
        table: str,
        file: str,
        rows: Iterable[int],
        column: str,
        values: Iterable[object],
        reason: str,
        records: Iterable[dict] | None = None,
        header: str | None = None,
    ) -> None:
        """Record cells blanked in kept rows; arguments as for :meth:`reject`.

        ``header`` is the file's column the cells were read from, or None
        for cells without one. Where several canonical columns copy the same
        file cell, such as Maven's close_value in amount and
        amount_original, only the first column blanked records the cell.
        """
        rows = list(rows)
        values = list(values)
        records = list(records) if records is not None else None
        if header is not None:
            keys = [(table, file, int(row), header) for row in rows]
            first = [key not in self.blanked_headers for key in keys]
            self.blanked_headers.update(keys)
            rows = [row for row, keep in zip(rows, first, strict=True) if keep]
            values = [value for value, keep in zip(values, first, strict=True) if keep]
            if records is not None:
                records = [
                    record for record, keep in zip(records, first, strict=True) if keep
                ]
        self._add(CELL_BLANKED, table, file, rows, column, values, reason, records)

    def _add(
        self,
        action: str,
        table: str,
        file: str,
        rows: Iterable[int],
        column: str,
        values: Iterable[object],
        reason: str,
        records: Iterable[dict] | None,
    ) -> None:
        records = list(records) if records is not None else None
        for position, (row, value) in enumerate(zip(rows, values, strict=True)):
            record = records[position] if records is not None else {}
            self.records.append(
                {
                    "table": table,
                    "file": file,
                    "row": int(row),
                    "column": column,
                    "value": "" if _is_missing(value) else str(value),
                    "reason": reason,
                    "action": action,
                    "record": json.dumps(record, default=str, sort_keys=True),
                    "_key": _derived_key(table, record),
                }
            )

    def add_rejected_ids(
        self, table: str, column: str, ids: Mapping[str, tuple[str, int]]
    ) -> None:
        """Store the parsed ``column`` IDs of rejected rows of ``table``.

        ``ids`` maps each ID, as the parser rewrote it, to the file and row
        of its rejected row. An ID already stored keeps its first row.
        """
        stored = self.parsed_ids.setdefault((table, column), {})
        for value, location in ids.items():
            stored.setdefault(value, location)

    def rejected_ids(self, table: str, column: str) -> dict[str, tuple[str, int]]:
        """Return the ``column`` IDs of the rows of ``table`` rejected so far.

        Each ID maps to the file and row of the first rejected row with it.
        The IDs are those stored by :meth:`add_rejected_ids`, as the parser
        rewrote them (a 15-character Salesforce ID in its 18-character
        form), plus the column's text in each rejected row's raw record.
        """
        ids = dict(self.parsed_ids.get((table, column), {}))
        for record in self.records:
            if record["table"] != table or record["action"] != ROW_REJECTED:
                continue
            value = json.loads(record["record"]).get(column)
            if not _is_missing(value) and str(value).strip():
                ids.setdefault(str(value).strip(), (record["file"], record["row"]))
        return ids

    def to_frame(self) -> pd.DataFrame:
        """Return rejected rows and blanked cells sorted by table, file and row.

        A blanked cell of a row that a later check rejected is left out,
        because the row's rejection already covers it.
        """
        rejected = self._rejected_keys()
        kept = [
            record
            for record in self.records
            if record["action"] == ROW_REJECTED or not _is_rejected(record, rejected)
        ]
        frame = pd.DataFrame(kept, columns=REJECTED_COLUMNS)
        frame = frame.astype({column: "str" for column in REJECTED_COLUMNS})
        frame["row"] = frame["row"].astype("int64")
        return frame.sort_values(["table", "file", "row", "column"], kind="stable")

    def count(self, table: str | None = None) -> int:
        """Return the number of distinct rejected input rows (of one table)."""
        rejected = self._rejected_keys()
        return sum(
            _count_rows(keys)
            for (name, _, _), keys in rejected.items()
            if table is None or name == table
        )

    def blanked_cells(self, table: str, column: str) -> set[tuple[str, int]]:
        """Return the file and row of each blanked ``column`` cell of ``table``."""
        return {
            (record["file"], record["row"])
            for record in self.records
            if record["action"] == CELL_BLANKED
            and record["table"] == table
            and record["column"] == column
        }

    def count_blanked(self, table: str | None = None) -> int:
        """Return the number of cells blanked in kept rows (of one table)."""
        rejected = self._rejected_keys()
        cells = {
            (*_row_key(record), record["column"])
            for record in self.records
            if record["action"] == CELL_BLANKED
            and (table is None or record["table"] == table)
            and not _is_rejected(record, rejected)
        }
        return len(cells)

    def summary(self) -> pd.DataFrame:
        """Return row counts per table, action and reason.

        ``rows`` counts distinct input rows: rows rejected for the reason,
        or kept rows with a cell blanked for it. Rows an adapter derives from
        one line count once per primary key, as in :meth:`count`. Reasons
        that differ only in their quoted values or row numbers are counted
        together, under :func:`reason_pattern` of them.
        """
        rejected = self._rejected_keys()
        kept = [
            record
            for record in self.records
            if record["action"] == ROW_REJECTED or not _is_rejected(record, rejected)
        ]
        if not kept:
            return pd.DataFrame(columns=SUMMARY_COLUMNS)
        frame = pd.DataFrame(kept, columns=[*REJECTED_COLUMNS, "_key"])
        # Each line counts as many rows as it has keys, as in count().
        lines = frame.groupby(
            ["table", "file", "row", "action", "reason"], sort=False, dropna=False
        )["_key"].agg(lambda keys: _count_rows(set(keys.dropna())))
        distinct = lines.rename("rows").reset_index()
        # Otherwise a file with a thousand bad dates would list a thousand
        # reasons.
        distinct = distinct.assign(pattern=distinct["reason"].map(reason_pattern))
        grouped = distinct.groupby(["table", "action", "pattern"], sort=True)
        summary = grouped.agg(
            rows=("rows", "sum"),
            reasons=("reason", "nunique"),
            reason=("reason", "first"),
        ).reset_index()
        several = summary["reasons"] > 1
        summary.loc[several, "reason"] = summary.loc[several, "pattern"]
        summary = summary.sort_values(["table", "action", "reason"], kind="stable")
        return summary[SUMMARY_COLUMNS].reset_index(drop=True)

    def _rejected_keys(self) -> dict[tuple[str, str, int], set[str | None]]:
        """Map the table, file and row of each rejection to its rows' keys."""
        keys: dict[tuple[str, str, int], set[str | None]] = {}
        for record in self.records:
            if record["action"] == ROW_REJECTED:
                keys.setdefault(_row_key(record), set()).add(record.get("_key"))
        return keys


# A value quoted by repr() in a reason, and a row number it names.
_QUOTED_VALUE = re.compile(r"'(?:[^'\\]|\\.)*'")
_ROW_NUMBER = re.compile(r"\b(rows?) \d+\b")


def reason_pattern(reason: str) -> str:
    """Return ``reason`` with its quoted values and row numbers as "…".

    Reasons quote the rejected value with single quotes, so "invalid date
    'soon'" and "invalid date 'later'" share the pattern "invalid date '…'".
    Headers, which reasons put in double quotes, stay.
    """
    pattern = _QUOTED_VALUE.sub("'…'", str(reason))
    return _ROW_NUMBER.sub(r"\1 …", pattern)


def _row_key(record: dict) -> tuple[str, str, int]:
    return (record["table"], record["file"], record["row"])


def _count_rows(keys: set[str | None]) -> int:
    """Return how many rows one line's rejections stand for.

    Each primary key counts as a row of its own. A rejection recorded
    without its row's cells has no key and counts only on a line without
    any key.
    """
    return max(1, len(keys - {None}))


def _is_rejected(
    record: dict, rejected: Mapping[tuple[str, str, int], set[str | None]]
) -> bool:
    """Tell whether a rejection covers the row of ``record``."""
    keys = rejected.get(_row_key(record))
    if keys is None:
        return False
    key = record.get("_key")
    return key is None or None in keys or key in keys


def _derived_key(table: str, record: Mapping[str, object]) -> str | None:
    """Return the key cells of ``record``, which distinguish rows of one line.

    An adapter may derive several rows of a table from one line of a file,
    such as the SDR and the AE touch of one Olist deal, or the stage-history
    rows of a HubSpot deal's "Date entered" columns. They share the file and
    row, so the key counts each as its own rejected row. The key is the
    one-column primary key, or the :data:`DERIVED_ROW_KEYS` of the table.
    Rows of other tables are identified by file and row alone.
    """
    spec = schema.TABLES.get(table)
    if table in DERIVED_ROW_KEYS:
        columns = DERIVED_ROW_KEYS[table]
    elif spec is not None and len(spec.primary_key) == 1:
        columns = spec.primary_key
    else:
        return None
    values = [record.get(column) for column in columns]
    if any(value is None or _is_missing(value) for value in values):
        return None
    if len(values) == 1:
        return str(values[0])
    return json.dumps([str(value) for value in values])


def _is_missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def neutralize_formula(value: object) -> object:
    """Prefix text that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv_safely(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV with every formula-like text cell neutralized."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralize_formula)
    # CRLF line ends make the csv writer quote fields that contain a bare
    # carriage return, so a spreadsheet keeps such a row in one piece.
    safe.to_csv(path, index=False, lineterminator="\r\n")
