"""Adapter for the canonical layout: one file per table, canonical columns.

The data folder holds ``accounts``, ``opportunities`` and optionally
``stage_history``, ``touchpoints``, ``revenue`` and ``signals``, each as
``.csv``, ``.parquet`` or ``.xlsx``. A CSV file with a UTF-16 or UTF-32
byte-order mark is read in that encoding, and one that is not valid UTF-8
as Windows-1252, with a note, unless it is mostly UTF-8 (see
:func:`acctlib.intake.files.check_mixed_encoding`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from acctlib import schema
from acctlib.errors import InputError
from acctlib.intake import bulk
from acctlib.intake.canonical import ROW, SHORT_ROW, RawTable
from acctlib.intake.files import (
    SUFFIXES,
    InputFile,
    find_table_file,
    is_empty_file,
    read_text_frame,
    sha256_file,
)


def read_source(
    data_dir: Path, profile: dict[str, Any], params: Any
) -> tuple[list[RawTable], list[InputFile]]:
    """Read every canonical table file present in ``data_dir``."""
    raw_tables = []
    inputs = []
    for name in schema.TABLES:
        path = find_table_file(data_dir, name)
        if path is None:
            continue
        if is_empty_file(path):
            raw_tables.append(_empty_table(name, path))
            inputs.append(InputFile(name, str(path), sha256_file(path), 0))
            continue
        if bulk.use_bulk(name, path, params):
            # Large tables are read and validated in DuckDB during assembly.
            # NOTE: DuckDB reads them as UTF-8 only, without the Windows-1252
            # fallback of smaller files, and rows with fewer fields than the
            # header are not rejected as short rows.
            raw_tables.append(bulk.BulkRawTable(table=name, file=str(path)))
            rows = bulk.count_rows(path)
            inputs.append(InputFile(name, str(path), sha256_file(path), rows))
            continue
        notes = _ignored_twins(data_dir, name, path)
        frame = read_text_frame(
            path,
            encoding=None,
            notes=notes,
            row_column=ROW,
            short_row_column=SHORT_ROW,
        )
        raw_tables.append(
            RawTable(table=name, file=str(path), frame=frame, notes=notes)
        )
        inputs.append(
            InputFile(
                table=name, path=str(path), sha256=sha256_file(path), rows=len(frame)
            )
        )
    return raw_tables, inputs


def _ignored_twins(data_dir: Path, name: str, path: Path) -> list[str]:
    """Return a note naming the other files of table ``name`` left unread.

    A folder with both accounts.csv and accounts.xlsx is read from the
    first suffix of :data:`~acctlib.intake.files.SUFFIXES` alone, so the
    other file's rows would otherwise be missing without a word.
    """
    twins = []
    for suffix in SUFFIXES:
        candidate = data_dir / f"{name}{suffix}"
        if candidate != path and candidate.is_file():
            twins.append(candidate.name)
    if not twins:
        return []
    return [
        f"{path.name} is read and {', '.join(twins)} beside it is not: a table "
        f"is read from one file, the first of {', '.join(SUFFIXES)} that "
        "exists. Remove the file you do not mean to use."
    ]


def _empty_table(name: str, path: Path) -> RawTable:
    """Return an optional table without rows for an empty file.

    Raises
    ------
    InputError
        When ``name`` is a required table.
    """
    if not schema.TABLES[name].optional:
        raise InputError(
            f"input file {path} is empty, but table {name} is required; export "
            f"{name} again with its header row and data rows, then run again",
            file=str(path),
        )
    frame = pd.DataFrame(
        {column: pd.Series(dtype="str") for column in schema.TABLES[name].column_names}
    )
    note = (
        f"{path.name} is empty, so {name} has no rows; export {name} again to "
        "include them."
    )
    return RawTable(table=name, file=str(path), frame=frame, notes=[note])
