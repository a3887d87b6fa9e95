"""Rejected rows, kept with the reason each was rejected.

No input row is dropped silently: every row that intake cannot accept is
recorded here with its file, 1-based data row (header excluded), column,
raw value and reason, then written to ``rejected_rows.csv`` in the run
folder and counted in the report.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

REJECTED_COLUMNS = ["table", "file", "row", "column", "value", "reason", "record"]

# A cell starting with one of these is read as a formula by spreadsheet
# programs, so CSV output prefixes it with an apostrophe.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Quarantine:
    """Collector of rejected rows for one intake run."""

    records: list[dict] = field(default_factory=list)

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
                    "record": json.dumps(record, default=str, sort_keys=True),
                }
            )

    def to_frame(self) -> pd.DataFrame:
        """Return the rejected rows sorted by table, file and row."""
        frame = pd.DataFrame(self.records, columns=REJECTED_COLUMNS)
        frame = frame.astype({column: "str" for column in REJECTED_COLUMNS})
        frame["row"] = frame["row"].astype("int64")
        return frame.sort_values(["table", "file", "row", "column"], kind="stable")

    def count(self, table: str | None = None) -> int:
        """Return the number of distinct rejected input rows (of one table)."""
        keys = {
            (record["table"], record["file"], record["row"])
            for record in self.records
            if table is None or record["table"] == table
        }
        return len(keys)

    def summary(self) -> pd.DataFrame:
        """Return rejected-row counts per table and reason."""
        frame = self.to_frame()
        if frame.empty:
            return pd.DataFrame(columns=["table", "reason", "rows"])
        distinct = frame.drop_duplicates(["table", "file", "row", "reason"])
        summary = distinct.groupby(["table", "reason"], as_index=False).size()
        return summary.rename(columns={"size": "rows"})


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
