"""A validated canonical table kept in DuckDB instead of pandas.

Bulk intake (:mod:`acctlib.intake.bulk`) leaves the accepted rows of a
large table in its own in-memory DuckDB database, so tens of millions of
touchpoints never become a pandas frame. The workspace copies them into a
temporary table of its connection through an Arrow stream, and the prepare
steps read them there through Ibis. Once copied, the bulk database moves
its rows out of memory into a temporary folder, so the machine does not
hold them twice while the report is prepared.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Mapping

import duckdb
import pandas as pd
import pyarrow as pa

from acctlib import schema

logger = logging.getLogger(__name__)

SPILLED_MEMORY_LIMIT = "64MB"
"""Memory the bulk database keeps once its rows are copied; the rest goes to disk."""
ARROW_BATCH_ROWS = 1_000_000
"""Rows per Arrow record batch when a bulk table is copied to another database."""


class BulkTable:
    """An accepted canonical table kept in an in-memory DuckDB database.

    ``con`` is the database of bulk intake, and ``source`` is its table
    with the canonical columns, ``_row`` (the 1-based data row of the input
    file) and any helper columns, in input order. ``raw_query`` is a query
    on ``con`` that reads the input file's rows with the same ``_row``
    numbers, as CSV text or Parquet values. The object owns ``con`` and
    closes it when it is garbage collected. ``len()`` is the number of
    rows and ``columns`` the canonical column names, as for a pandas frame.

    The methods that change rows (:meth:`replace_values`,
    :meth:`reject_unknown`) change the table in place, because intake owns
    it until it returns.
    """

    def __init__(
        self,
        table: str,
        file: str,
        con: duckdb.DuckDBPyConnection,
        source: str,
        rows: int,
        raw_query: str,
    ) -> None:
        self.table = table
        self.file = file
        self.rows = rows
        self.columns = list(schema.TABLES[table].column_names)
        self._con = con
        self._source = source
        self._raw_query = raw_query
        # A list, so the finalizer also removes a folder that _spill adds later.
        self._spill_folder: list[str] = []
        self._close = weakref.finalize(self, _close, con, self._spill_folder)

    def __len__(self) -> int:
        return self.rows

    def __repr__(self) -> str:
        return f"BulkTable({self.table!r}, {self.rows} rows)"

    def _select(self) -> str:
        columns = ", ".join(f'"{c}"' for c in self.columns)
        return f"SELECT {columns} FROM {self._source}"

    def to_arrow(self) -> pa.Table:
        """Return the rows as an Arrow table in input order."""
        return self._con.sql(self._select()).to_arrow_table()

    def to_arrow_reader(self) -> pa.RecordBatchReader:
        """Return the rows as a stream of Arrow record batches in input order."""
        return self._con.sql(self._select()).to_arrow_reader(ARROW_BATCH_ROWS)

    def to_pandas(self) -> pd.DataFrame:
        """Return the rows as a pandas frame with the canonical dtypes."""
        spec = schema.TABLES[self.table]
        dtypes = {c.name: schema.pandas_dtype(c.kind) for c in spec.columns}
        return self.to_arrow().to_pandas().astype(dtypes)

    def first_at_or_after(
        self, column: str, start: pd.Timestamp, key: str
    ) -> tuple[int, str | None, pd.Timestamp | None]:
        """Return how many rows have ``column`` at or after ``start``, and the first.

        The first is the row with the smallest ``key``, given as its ``key``
        and ``column`` values; both are None when no row qualifies.
        """
        query = (
            f'SELECT count(*), min("{key}"), arg_min("{column}", "{key}") '
            f'FROM {self._source} WHERE "{column}" >= ?'
        )
        count, first_key, first_time = self._con.execute(
            query, [start.to_pydatetime()]
        ).fetchone()
        if not count:
            return 0, None, None
        return int(count), str(first_key), pd.Timestamp(first_time).tz_convert("UTC")

    def copy_into(self, con: duckdb.DuckDBPyConnection, name: str) -> None:
        """Create (or replace) temporary table ``name`` on ``con`` with the rows.

        The table is temporary, so it lives as long as ``con`` and is not
        written to ``con``'s database file. The rows keep their input order,
        because DuckDB preserves insertion order for a plain scan (its
        ``preserve_insertion_order`` setting, on by default).
        """
        alias = f"_acctlib_bulk_{name}"
        reader = self.to_arrow_reader()
        con.register(alias, reader)
        try:
            con.execute(
                f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM {alias}'
            )
        finally:
            con.unregister(alias)
        self._spill()

    def _spill(self) -> None:
        """Let the bulk database keep its rows on disk instead of in memory."""
        if self._spill_folder:
            return
        folder = tempfile.mkdtemp(prefix="acctlib-bulk-")
        self._spill_folder.append(folder)
        try:
            self._con.execute("SET temp_directory = ?", [folder])
            self._con.execute("SET memory_limit = ?", [SPILLED_MEMORY_LIMIT])
        except duckdb.Error as error:
            logger.info("bulk table %s stays in memory: %s", self.table, error)

    def replace_values(self, column: str, mapping: Mapping[str, str]) -> None:
        """Replace the values of ``column`` found in ``mapping`` by theirs."""
        if not mapping:
            return
        pairs = pd.DataFrame(
            {"old": list(mapping), "new": [mapping[key] for key in mapping]}
        )
        with self._registered("_pairs", pairs):
            self._con.execute(
                f'UPDATE {self._source} SET "{column}" = _pairs.new '
                f'FROM _pairs WHERE {self._source}."{column}" = _pairs.old'
            )

    def reject_unknown(self, column: str, known: set[str]) -> pd.DataFrame:
        """Delete the rows whose ``column`` is not in ``known``; return them.

        Missing values are kept. The returned frame has the canonical
        columns plus ``_row`` and ``_file``, as intake's rejection helpers
        expect.
        """
        keys = pd.DataFrame({"key": sorted(known)}, dtype="str")
        unknown = (
            f'"{column}" IS NOT NULL AND "{column}" NOT IN (SELECT key FROM _known)'
        )
        columns = ", ".join(f'"{c}"' for c in self.columns)
        with self._registered("_known", keys):
            rejected = self._con.execute(
                f"SELECT {columns}, _row FROM {self._source} WHERE {unknown} "
                "ORDER BY _row"
            ).df()
            if not rejected.empty:
                self._con.execute(f"DELETE FROM {self._source} WHERE {unknown}")
        self.rows -= len(rejected)
        return rejected.assign(_file=self.file)

    def raw_rows(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Return ``rows`` as the input file has them, indexed like ``rows``.

        ``rows`` needs the ``_row`` column, such as the frame that
        :meth:`reject_unknown` returns. The file is scanned again, because
        bulk intake keeps only the parsed values of the accepted rows.
        """
        row_numbers = rows[["_row"]]
        with self._registered("_row_numbers", row_numbers):
            raw = self._con.execute(
                f"SELECT * FROM ({self._raw_query}) "
                "WHERE _row IN (SELECT _row FROM _row_numbers)"
            ).df()
        ordered = row_numbers.merge(raw, on="_row", how="left").set_axis(rows.index)
        return ordered.assign(_file=self.file)

    @contextlib.contextmanager
    def _registered(self, name: str, frame: pd.DataFrame) -> Iterator[None]:
        """Make ``frame`` a view ``name`` of the bulk database while in use."""
        self._con.register(name, frame)
        try:
            yield
        finally:
            self._con.unregister(name)


def _close(con: duckdb.DuckDBPyConnection, folders: list[str]) -> None:
    con.close()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
