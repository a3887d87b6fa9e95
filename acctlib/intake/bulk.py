"""Bulk intake: large canonical tables read and validated inside DuckDB.

A touchpoints file of tens of millions of rows is too slow and too big for
the row-by-row pandas parsers and the pandera schema. When its file is at
least ``bulk_intake_min_mb`` megabytes, the canonical-files adapter hands
it to this module as a :class:`BulkRawTable` instead of reading it, and
:func:`validate_bulk_table` then:

1. reads the CSV (every cell as text) or Parquet file with DuckDB;
2. parses every column with SQL that follows the pandas parsers: text and
   IDs are trimmed and blanks become missing; timestamps are ISO 8601 and
   naive values are taken as UTC;
3. stops, as the pandas path does, when most non-empty cells of a
   timestamp column fail to parse;
4. rejects rows without text in any cell as "empty row", then, per row
   and in column order, the first cell that does not parse, then
   duplicate primary keys (the first row is kept), then empty
   required cells and values outside the allowed list, then references to
   accounts that intake did not accept;
5. records every rejected row in the quarantine with its file, 1-based data
   row, column, value and the same reason the pandas path gives, which
   names a column by the file's header where :attr:`RawTable.headers` maps
   it onto another one;
6. keeps the accepted rows in the in-memory DuckDB database of the check
   and returns a :class:`BulkTable` that owns it.

In a build the accepted rows never reach pandas. The workspace copies
them through an Arrow stream, and the touchpoint-scale prepare steps read them there
through Ibis. Parsing, checking and the duplicate and
reference joins run in DuckDB on all cores and spill to disk when memory
runs short.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from acctlib import schema
from acctlib.errors import InputError
from acctlib.intake.bulktable import BulkTable
from acctlib.intake.canonical import (
    EMPTY,
    EMPTY_ROW_REASON,
    FAILED_EXAMPLES,
    RawTable,
    case_variant_hint,
    column_label,
    duplicate_key_advice,
    empty_required_reason,
    ids_by_fold,
    is_mostly_failed,
    key_label,
    missing_columns_advice,
    missing_columns_phrase,
    mostly_failed_error,
    reason_prefix,
    rejected_reference_reason,
    stops_when_mostly_failed,
    unknown_reference_reason,
)
from acctlib.intake.files import (
    csv_row_offsets,
    file_line_count,
    first_invalid_utf8_line,
)
from acctlib.intake.parsers import IMPOSSIBLE_DAY, TIMESTAMP_REASON
from acctlib.intake.quarantine import Quarantine

logger = logging.getLogger(__name__)

BULK_TABLES = ("touchpoints",)
"""Tables that may take the bulk path; each references only ``accounts``."""

MIN_MB_PARAMETER = "bulk_intake_min_mb"
_MB = 1024 * 1024
_WHITESPACE = " \t\n\r\x0b\x0c"


@dataclass
class BulkRawTable(RawTable):
    """A table file left unread for :func:`validate_bulk_table`.

    ``headers`` maps a canonical column onto the file's header it is read
    from. Columns it lacks are read by their canonical names. Bulk intake
    has no cells to fill a profile's constants with, so a column mapped
    onto None is read and named by its canonical name as well.

    Bulk intake reads no parser options. Only the canonical layout takes
    this path, and its profile takes no ``options`` or ``column_options``
    (see :mod:`acctlib.intake.profiles`), so its files hold ISO 8601
    timestamps as the layout prescribes.
    """

    frame: pd.DataFrame = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.frame is None:
            self.frame = pd.DataFrame()


def use_bulk(table: str, path: Path, params: Any) -> bool:
    """Return whether ``path`` of ``table`` goes through bulk intake.

    CSV and Parquet files of a table in :data:`BULK_TABLES` qualify when
    they are at least ``params["bulk_intake_min_mb"]`` megabytes; a
    negative value turns bulk intake off.
    """
    minimum = float(params.get(MIN_MB_PARAMETER, -1)) if params else -1
    if table not in BULK_TABLES or minimum < 0:
        return False
    if path.suffix.lower() not in (".csv", ".parquet"):
        return False
    return path.stat().st_size >= minimum * _MB


def count_rows(path: Path) -> int:
    """Return the data rows of a CSV or Parquet file, read by DuckDB."""
    con = _connect()
    try:
        return con.execute(f"SELECT COUNT(*) FROM {_scan(path)}").fetchall()[0][0]
    except duckdb.Error as error:
        raise _read_error(path, error) from error
    finally:
        con.close()


def validate_bulk_table(
    raw: BulkRawTable, tables: dict[str, pd.DataFrame], quarantine: Quarantine
) -> BulkTable:
    """Read, parse and validate ``raw`` in DuckDB; return the accepted rows.

    ``tables`` holds the tables intake already accepted; the references of
    ``raw`` are checked against them. Rejected rows go to ``quarantine``.
    The accepted rows stay in the DuckDB database of the check.
    """
    spec = schema.TABLES[raw.table]
    path = Path(raw.file)
    headers = {column: header for column, header in raw.headers.items() if header}
    con = _connect()
    try:
        raw_query = _load_raw(con, path, spec, headers)
        failable = _parse(con, spec)
        _check_mostly_failed(con, raw, spec, failable, headers)
        parents = _register_parents(con, spec, tables, quarantine, headers)
        _flag_rejections(con, spec, parents, headers)
        hints = _case_variant_hints(spec, tables, headers)
        _record_rejections(con, spec, raw.file, quarantine, hints)
        rows = _keep_accepted(con)
    except duckdb.Error as error:
        con.close()
        raise _read_error(path, error) from error
    except BaseException:
        con.close()
        raise
    accepted = BulkTable(raw.table, raw.file, con, "parsed", rows, raw_query)
    logger.info(
        "bulk intake of %s: %d rows accepted, %d rejected",
        raw.table,
        len(accepted),
        quarantine.count(raw.table),
    )
    return accepted


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def _scan(path: Path) -> str:
    quoted = str(path).replace("'", "''")
    if path.suffix.lower() == ".parquet":
        return f"read_parquet('{quoted}', file_row_number = true)"
    return (
        f"read_csv('{quoted}', header = true, all_varchar = true, "
        "auto_detect = true, encoding = 'utf-8')"
    )


def _load_raw(
    con, path: Path, spec: schema.TableSpec, headers: Mapping[str, str]
) -> str:
    """Define ``raw``: the canonical columns, as text for CSV, and ``_row``.

    Each canonical column is read from its header in ``headers``, or else
    from the column of its own name.

    ``_row`` is the 1-based data row, in which blank lines of a CSV file
    count (see :func:`_count_blank_lines`). A Parquet file stays a view
    that each later query scans again. A CSV file is read once into a
    table, because its row numbers come from the order in which DuckDB
    reads it. Returns the query that defines ``raw``, which reads the file
    again.
    """
    found = [
        name
        for name, *_ in con.execute(f"DESCRIBE SELECT * FROM {_scan(path)}").fetchall()
    ]
    sources = {c.name: headers.get(c.name, c.name) for c in spec.columns}
    missing = [
        sources[column.name]
        for column in spec.columns
        if column.required and sources[column.name] not in found
    ]
    if missing:
        listed = ", ".join(c for c in found if c != "file_row_number")
        raise InputError(
            f"{path}: {missing_columns_phrase(missing, spec.name)}; columns "
            f"found: {listed}. "
            f"{missing_columns_advice(missing, spec, mapped=bool(headers))}",
            file=str(path),
            column=missing[0],
        )
    selects = [
        f'{_sql_name(sources[c.name])} AS "{c.name}"'
        if sources[c.name] in found
        else f'NULL::VARCHAR AS "{c.name}"'
        for c in spec.columns
    ]
    selects.append(f"{_empty_expression(found)} AS {EMPTY}")
    if path.suffix.lower() == ".parquet":
        selects.append("file_row_number + 1 AS _row")
        kind = "VIEW"
    else:
        selects.append("row_number() OVER () AS _row")
        kind = "TABLE"
    query = f"SELECT {', '.join(selects)} FROM {_scan(path)}"
    con.execute(f"CREATE {kind} raw AS {query}")
    if kind == "TABLE":
        query = _count_blank_lines(con, path, query)
    return query


def _empty_expression(found: list[str]) -> str:
    """Return SQL that is true where every cell of the file's row is blank.

    Every column of the file counts, not only the canonical ones, as in the
    pandas path.
    """
    cells = [name for name in found if name != "file_row_number"]
    blank = [
        f"NULLIF(trim(CAST({_sql_name(name)} AS VARCHAR), '{_WHITESPACE}'), '') IS NULL"
        for name in cells
    ]
    if not blank:
        return "false"
    # CASE reads the other cells only of rows whose first cell is blank, so
    # a table of millions of rows is not scanned once per column.
    return f"CASE WHEN {blank[0]} THEN {' AND '.join(blank)} ELSE false END"


def _count_blank_lines(con, path: Path, query: str) -> str:
    """Renumber ``raw._row`` so that blank lines of the CSV file count.

    DuckDB's CSV reader skips blank lines, so ``row_number()`` numbers the
    data rows only. A file with more lines than the header and its data
    rows is read once more in Python to find the blank lines, and
    ``_row_offsets`` keeps, per data row where the count of blank lines
    above it grows, that count. Returns ``query`` with the same
    renumbering.
    """
    count = con.execute("SELECT count(*) FROM raw").fetchall()[0][0]
    if file_line_count(path) == count + 1:
        return query
    with path.open(encoding="utf-8-sig", newline="") as handle:
        offsets = csv_row_offsets(handle, _delimiter(con, path), count)
    if not offsets:
        return query
    frame = pd.DataFrame(offsets, columns=["_from", "_offset"], dtype="int64")
    con.register("_offsets_frame", frame)
    con.execute("CREATE TABLE _row_offsets AS SELECT * FROM _offsets_frame")
    con.unregister("_offsets_frame")
    renumbered = (
        "SELECT q.* EXCLUDE (_row), q._row + coalesce(o._offset, 0) AS _row "
        "FROM ({}) q ASOF LEFT JOIN _row_offsets o ON q._row >= o._from"
    )
    # ORDER BY keeps the input order, which the join may change.
    con.execute(
        f"CREATE OR REPLACE TABLE raw AS {renumbered.format('SELECT * FROM raw')} "
        "ORDER BY _row"
    )
    return renumbered.format(query)


def _delimiter(con, path: Path) -> str:
    """Return the delimiter DuckDB's CSV sniffer finds in ``path``."""
    quoted = str(path).replace("'", "''")
    return con.execute(f"SELECT Delimiter FROM sniff_csv('{quoted}')").fetchall()[0][0]


def _parse(con, spec: schema.TableSpec) -> list[schema.ColumnSpec]:
    """Create ``parsed``: typed columns plus ``_bad_<column>`` parse flags.

    Returns the columns whose cells can fail to parse.
    """
    types = dict(
        con.execute("SELECT column_name, column_type FROM (DESCRIBE raw)").fetchall()
    )
    selects = ["_row", EMPTY]
    failable = []
    for column in spec.columns:
        value, failed = _parse_expression(column, types[column.name])
        if failed != "false":
            failable.append(column)
        selects.append(f'{value} AS "{column.name}"')
        selects.append(f'{failed} AS "_bad_{column.name}"')
        if column.kind == "timestamp":
            day = _impossible_day(column, failed)
            selects.append(f'{day} AS "_day_{column.name}"')
    # A table, not a view: the checks scan it several times, and parsing
    # 15 million rows once is cheaper than parsing them on every scan.
    con.execute(f"CREATE TABLE parsed AS SELECT {', '.join(selects)} FROM raw")
    return failable


def _check_mostly_failed(
    con,
    raw: BulkRawTable,
    spec: schema.TableSpec,
    failable: list[schema.ColumnSpec],
    headers: Mapping[str, str],
) -> None:
    """Raise when most non-empty cells of a timestamp column fail to parse.

    This is the rule and the error of the pandas path. One scan of
    ``parsed`` counts the failed and the non-empty cells of every column in
    ``failable`` that the rule covers, with the first failed row. The raw
    values of the first failed rows are read only when the rule fires.
    """
    columns = [column for column in failable if stops_when_mostly_failed(column)]
    if not columns:
        return
    aggregates = []
    for column in columns:
        bad = _sql_name(f"_bad_{column.name}")
        # A cell is non-empty when it parsed or failed; see _parse_expression.
        aggregates += [
            f"count(*) FILTER (WHERE {bad})",
            f"count({_sql_name(column.name)}) + count(*) FILTER (WHERE {bad})",
            f"min(_row) FILTER (WHERE {bad})",
        ]
    counts = con.execute(f"SELECT {', '.join(aggregates)} FROM parsed").fetchall()[0]
    for index, column in enumerate(columns):
        failed, filled, row = counts[3 * index : 3 * index + 3]
        if not is_mostly_failed(failed, filled):
            continue
        rows = con.execute(
            f"SELECT _row, r.{_sql_name(column.name)}, "
            f"p.{_sql_name(f'_day_{column.name}')} "
            "FROM raw r JOIN parsed p USING (_row) "
            f"WHERE _row >= ? AND p.{_sql_name(f'_bad_{column.name}')} "
            "ORDER BY _row LIMIT ?",
            [row, FAILED_EXAMPLES],
        ).fetchall()
        examples = [
            (int(number), value, _failed_reason(column, day))
            for number, value, day in rows
        ]
        raise mostly_failed_error(
            raw.file,
            column,
            headers,
            raw.parser_options(column.name),
            (failed, filled),
            examples,
        )


def _failed_reason(column: schema.ColumnSpec, day: object) -> str:
    """Return the parser reason of a failed cell, naming its impossible day if any."""
    if day is None:
        return _parse_reason(column)
    return IMPOSSIBLE_DAY.format(kind=column.kind, day=day)


def _parse_expression(column: schema.ColumnSpec, source_type: str) -> tuple[str, str]:
    name = f'"{column.name}"'
    text = _text_expression(column)
    if column.kind in ("id", "text"):
        return text, "false"
    if column.kind == "timestamp":
        if source_type.startswith("TIMESTAMP WITH TIME ZONE"):
            return name, "false"
        if source_type.startswith("TIMESTAMP"):
            return f"CAST({name} AS TIMESTAMPTZ)", "false"
        parsed = f"TRY_CAST({text} AS TIMESTAMPTZ)"
        return parsed, f"({text} IS NOT NULL AND {parsed} IS NULL)"
    raise InputError(
        f"bulk intake cannot parse column {column.name!r} of kind {column.kind!r}; "
        "set bulk_intake_min_mb to -1 to read this table with pandas"
    )


def _text_expression(column: schema.ColumnSpec) -> str:
    """Return SQL for the cell's text without surrounding spaces, or missing.

    Every character of :data:`_WHITESPACE` has a code of 32 or less, so a
    cell whose first and last characters are above 32 is kept as it is
    without trimming. Most cells are, and on 10 million touchpoints this
    took 5.7 CPU s where trimming every cell took 9.1.
    """
    text = f'CAST("{column.name}" AS VARCHAR)'
    return (
        f"CASE WHEN ascii({text}) > 32 AND ascii(right({text}, 1)) > 32 "
        f"THEN {text} ELSE NULLIF(trim({text}, '{_WHITESPACE}'), '') END"
    )


def _impossible_day(column: schema.ColumnSpec, failed: str) -> str:
    """Return SQL for the date of a failed ISO 8601 cell that names no real day.

    The value is the date where the pandas path gives
    :data:`acctlib.intake.parsers.IMPOSSIBLE_DAY`, and missing elsewhere.
    """
    if failed == "false":
        return "NULL::VARCHAR"
    text = _text_expression(column)
    day = f"left({text}, 10)"
    written = f"regexp_matches({text}, '^\\d{{4}}-\\d{{2}}-\\d{{2}}($|[T ])')"
    return (
        f"CASE WHEN {failed} AND {written} AND TRY_CAST({day} AS DATE) IS NULL "
        f"THEN {day} END"
    )


def _sql_text(text: str) -> str:
    """Return ``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _sql_name(name: str) -> str:
    """Return ``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _register_parents(
    con,
    spec: schema.TableSpec,
    tables,
    quarantine: Quarantine,
    headers: Mapping[str, str | None],
) -> list[str]:
    """Register the accepted and the rejected parent keys of each reference.

    A rejected key comes with the reason its child rows get, which names
    the rejected parent row. Returns the columns whose parents are
    registered.
    """
    registered = []
    for column, (parent, parent_column) in spec.references.items():
        if parent not in tables:
            continue
        keys = pd.DataFrame({"key": tables[parent][parent_column].dropna().unique()})
        con.register(f"_parent_{column}", keys)
        rejected = quarantine.rejected_ids(parent, parent_column)
        reasons = {
            key: rejected_reference_reason(
                column_label(column, headers), parent, file, row
            )
            for key, (file, row) in sorted(rejected.items())
        }
        frame = pd.DataFrame(
            {"key": list(reasons), "reason": list(reasons.values())}, dtype="str"
        )
        con.register(f"_rejected_parent_{column}", frame)
        registered.append(column)
    return registered


def _flag_rejections(
    con,
    spec: schema.TableSpec,
    parents: list[str],
    headers: Mapping[str, str | None],
) -> None:
    """Create ``rejected``: the row, first failed column and reason of each.

    The checks run in the order of the pandas path, and a row takes the
    reason of the first one it fails. Reasons name each column by its
    :func:`column_label` in ``headers``.
    """
    labels = {
        column.name: column_label(column.name, headers) for column in spec.columns
    }
    # A row without text gets one reason rather than one per empty column.
    cases = [(EMPTY, "", _sql_text(EMPTY_ROW_REASON))]
    for column in spec.columns:
        prefix = reason_prefix(column.name, headers)
        reason = _sql_text(prefix + _parse_reason(column))
        if column.kind == "timestamp":
            reason = _impossible_day_reason(column, prefix, reason)
        cases.append((f'"_bad_{column.name}"', column.name, reason))

    # Duplicates are looked for among the rows that parsed, keeping the
    # first of each complete key. Grouping by a 64-bit hash of the key is
    # much cheaper than grouping by the text; only keys whose hash repeats
    # are then grouped exactly.
    key = list(spec.primary_key)
    key_sql = ", ".join(f'"{k}"' for k in key)
    parsed_ok = " AND ".join(
        [f'NOT "_bad_{c.name}"' for c in spec.columns]
        + [f'"{k}" IS NOT NULL' for k in key]
    )
    con.execute(
        f"""
        CREATE TEMP TABLE duplicate_keys AS
        WITH repeated AS (
            SELECT hash({key_sql}) AS _key_hash
            FROM parsed WHERE {parsed_ok}
            GROUP BY _key_hash HAVING count(*) > 1
        )
        SELECT {key_sql}, min(_row) AS _first_row
        FROM parsed
        WHERE {parsed_ok} AND hash({key_sql}) IN (SELECT _key_hash FROM repeated)
        GROUP BY {key_sql} HAVING count(*) > 1
        """
    )
    duplicate = "(_first_row IS NOT NULL AND _row > _first_row)"
    advice = _sql_text(duplicate_key_advice(key))
    duplicate_label = _sql_text(f"duplicate value of {key_label(key, headers)}")
    reason = (
        f"{duplicate_label} || '; first seen on row ' || _first_row || '; ' || {advice}"
    )
    cases.append((duplicate, key[0], reason))

    for column in spec.columns:
        if not column.nullable:
            cases.append(
                (
                    f'"{column.name}" IS NULL',
                    column.name,
                    _sql_text(empty_required_reason(labels[column.name])),
                )
            )
    for column in spec.columns:
        if column.allowed:
            allowed = ", ".join(f"'{value}'" for value in column.allowed)
            reason = f"{labels[column.name]} must be one of {', '.join(column.allowed)}"
            cases.append(
                (
                    f'("{column.name}" IS NOT NULL '
                    f'AND "{column.name}" NOT IN ({allowed}))',
                    column.name,
                    _sql_text(reason),
                )
            )
    joins = [f"LEFT JOIN duplicate_keys USING ({key_sql})"]
    for column, (parent, _) in spec.references.items():
        if column in parents:
            # A left join on the parent keys is a plain hash join; NOT IN
            # would also have to handle missing keys and is far slower.
            joins.append(
                f"LEFT JOIN (SELECT key AS _key_{column}, true AS _known_{column} "
                f'FROM _parent_{column}) ON "{column}" = _key_{column}'
            )
            joins.append(
                f"LEFT JOIN (SELECT key AS _rkey_{column}, reason AS _rreason_{column} "
                f'FROM _rejected_parent_{column}) ON "{column}" = _rkey_{column}'
            )
            unknown = _sql_text(unknown_reference_reason(labels[column], parent))
            cases.append(
                (
                    f'("{column}" IS NOT NULL AND _known_{column} IS NULL)',
                    column,
                    f"coalesce(_rreason_{column}, {unknown})",
                )
            )
    reject_column = " ".join(f"WHEN {cond} THEN '{name}'" for cond, name, _ in cases)
    reasons = " ".join(f"WHEN {cond} THEN {text}" for cond, _, text in cases)
    con.execute(
        f"""
        CREATE TEMP TABLE rejected AS
        SELECT _row, _reject_column, _reason FROM (
            SELECT _row,
                   CASE {reject_column} END AS _reject_column,
                   CASE {reasons} END AS _reason
            FROM parsed {" ".join(joins)}
        )
        WHERE _reason IS NOT NULL
        """
    )


def _parse_reason(column: schema.ColumnSpec) -> str:
    """Return the reason for a cell of ``column`` that does not parse."""
    return TIMESTAMP_REASON if column.kind == "timestamp" else f"invalid {column.kind}"


def _impossible_day_reason(column: schema.ColumnSpec, prefix: str, reason: str) -> str:
    """Return SQL choosing the no-such-day reason over ``reason`` where it applies.

    ``prefix`` starts both reasons, as :func:`reason_prefix` gives it.
    """
    before, after = IMPOSSIBLE_DAY.format(kind="timestamp", day="\0").split("\0")
    day = f'"_day_{column.name}"'
    named = f"{_sql_text(prefix + before)} || {day} || {_sql_text(after)}"
    return f"CASE WHEN {day} IS NOT NULL THEN {named} ELSE {reason} END"


def _case_variant_hints(
    spec: schema.TableSpec, tables, headers: Mapping[str, str | None]
) -> dict[str, Callable[[str, object], str]]:
    """Return, per reference column, a function that adds the case hint.

    The function takes a rejection reason and the cell, and returns the
    reason with :func:`case_variant_hint` appended when the reason is the
    column's unknown-reference reason, as the pandas path gives it.
    """
    hints = {}
    for column, (parent, parent_column) in spec.references.items():
        if parent not in tables:
            continue
        unknown = unknown_reference_reason(column_label(column, headers), parent)
        known = tables[parent][parent_column].dropna().tolist()
        hints[column] = functools.partial(
            _add_case_variant_hint, unknown=unknown, known=known, variants={}
        )
    return hints


def _add_case_variant_hint(
    reason: str, value: object, unknown: str, known: list[str], variants: dict
) -> str:
    """Append :func:`case_variant_hint` to ``reason`` if it is ``unknown``.

    ``variants`` is filled with :func:`ids_by_fold` of ``known`` on the
    first call that needs it, so tables without such rejections skip it.
    """
    if reason != unknown or value is None or pd.isna(value):
        return reason
    if not variants:
        variants.update(ids_by_fold(known))
    return reason + case_variant_hint(str(value).strip(), variants)


def _record_rejections(
    con,
    spec,
    file: str,
    quarantine: Quarantine,
    hints: Mapping[str, Callable[[str, object], str]],
) -> None:
    """Record the rows of ``rejected``, with ``hints`` added to their reasons."""
    columns = ", ".join(f'r."{c.name}"' for c in spec.columns)
    rejected = con.execute(
        f"""
        SELECT c._row, c._reject_column, c._reason, {columns}
        FROM rejected c JOIN raw r USING (_row)
        ORDER BY c._row
        """
    ).df()
    names = [c.name for c in spec.columns]
    for row in rejected.itertuples(index=False, name=None):
        data_row, column, reason, *values = row
        record = dict(zip(names, values, strict=True))
        # An empty row is rejected on no column, so it has no value.
        value = record.get(column)
        if column in hints:
            reason = hints[column](reason, value)
        quarantine.reject(
            spec.name, file, [data_row], column, [value], reason, [record]
        )


def _keep_accepted(con) -> int:
    """Delete the rejected rows from ``parsed``; return the rows left.

    A delete keeps the input order of the remaining rows. ``raw`` is
    dropped, because nothing reads it afterwards.
    """
    con.execute("DELETE FROM parsed WHERE _row IN (SELECT _row FROM rejected)")
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = 'raw'"
    ).fetchall()[0][0]
    con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} raw")
    return con.execute("SELECT count(*) FROM parsed").fetchall()[0][0]


def _read_error(path: Path, error: Exception) -> InputError:
    detail = str(error).splitlines()[0]
    if path.suffix.lower() == ".csv":
        line = first_invalid_utf8_line(path)
        if line is not None:
            size_mb = path.stat().st_size / 2**20
            return InputError(
                f"{path} is not valid UTF-8 (the first invalid byte is on line "
                f"{line:,}), and a file read by bulk intake must be UTF-8. Save "
                "it as UTF-8 (CSV UTF-8 in Excel), or set bulk_intake_min_mb "
                f"above the file's {size_mb:,.0f} MB, so that pandas reads it "
                "and takes a file that is not UTF-8 as Windows-1252, with a note.",
                file=str(path),
                row=max(line - 1, 1),
            )
    return InputError(
        f"cannot read input file {path} with DuckDB: {detail}. Expected a "
        f"{path.suffix} file with one header row.",
        file=str(path),
    )
