"""A validated canonical table kept in DuckDB instead of pandas.

Bulk intake (:mod:`acctlib.intake.bulk`) leaves the accepted rows of a
large table in a DuckDB file, so tens of millions of touchpoints never
become a pandas frame. The workspace copies them with one ``CREATE TABLE
AS``, and the prepare steps read them there through Ibis.
"""

from __future__ import annotations

import shutil
import weakref
from collections.abc import Mapping
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from acctlib import schema

BULK_FILE = "bulk.duckdb"
ACCEPTED_TABLE = "accepted"


class BulkTable:
    """An accepted canonical table kept in a DuckDB file instead of pandas.

    The file lives in a temporary folder that is removed when the object is
    garbage collected. Table ``accepted`` holds the canonical columns in
    schema order plus ``_row``, the 1-based data row of the input file, and
    its rows are in input order. ``len()`` is the number of rows and
    ``columns`` the canonical column names, as for a pandas frame.

    The methods that change rows (:meth:`replace_values`,
    :meth:`reject_unknown`) change the file in place, because intake owns
    the table until it returns.
    """

    def __init__(self, table: str, file: str, folder: Path, rows: int) -> None:
        self.table = table
        self.file = file
        self.path = folder / BULK_FILE
        self.rows = rows
        self.columns = list(schema.TABLES[table].column_names)
        self._cleanup = weakref.finalize(self, shutil.rmtree, folder, True)

    def __len__(self) -> int:
        return self.rows

    def __repr__(self) -> str:
        return f"BulkTable({self.table!r}, {self.rows} rows in {self.path})"

    def to_arrow(self) -> pa.Table:
        """Return the rows as an Arrow table in input order."""
        columns = ", ".join(f'"{c}"' for c in self.columns)
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            return con.sql(
                f"SELECT {columns} FROM {ACCEPTED_TABLE} ORDER BY _row"
            ).to_arrow_table()
        finally:
            con.close()

    def to_pandas(self) -> pd.DataFrame:
        """Return the rows as a pandas frame with the canonical dtypes."""
        spec = schema.TABLES[self.table]
        dtypes = {c.name: schema.pandas_dtype(c.kind) for c in spec.columns}
        return self.to_arrow().to_pandas().astype(dtypes)

    def copy_into(self, con: duckdb.DuckDBPyConnection, name: str) -> None:
        """Create (or replace) table ``name`` on ``con`` with the rows, in order."""
        alias = "_acctlib_bulk"
        quoted = str(self.path).replace("'", "''")
        columns = ", ".join(f'"{c}"' for c in self.columns)
        con.execute(f"ATTACH '{quoted}' AS {alias} (READ_ONLY)")
        try:
            con.execute(
                f'CREATE OR REPLACE TABLE "{name}" AS SELECT {columns} '
                f"FROM {alias}.{ACCEPTED_TABLE} ORDER BY _row"
            )
        finally:
            con.execute(f"DETACH {alias}")

    def replace_values(self, column: str, mapping: Mapping[str, str]) -> None:
        """Replace the values of ``column`` found in ``mapping`` by theirs."""
        if not mapping:
            return
        pairs = pd.DataFrame(
            {"old": list(mapping), "new": [mapping[key] for key in mapping]}
        )
        con = duckdb.connect(str(self.path))
        try:
            con.register("_pairs", pairs)
            con.execute(
                f'UPDATE {ACCEPTED_TABLE} SET "{column}" = _pairs.new '
                f'FROM _pairs WHERE {ACCEPTED_TABLE}."{column}" = _pairs.old'
            )
        finally:
            con.close()

    def reject_unknown(self, column: str, known: set[str]) -> pd.DataFrame:
        """Delete the rows whose ``column`` is not in ``known``; return them.

        Missing values are kept. The returned frame has the canonical
        columns plus ``_row`` and ``_file``, as intake's rejection helpers
        expect.
        """
        keys = pd.DataFrame({"key": sorted(known)}, dtype="str")
        con = duckdb.connect(str(self.path))
        try:
            con.register("_known", keys)
            unknown = (
                f'"{column}" IS NOT NULL AND "{column}" NOT IN (SELECT key FROM _known)'
            )
            rejected = con.execute(
                f"SELECT * FROM {ACCEPTED_TABLE} WHERE {unknown} ORDER BY _row"
            ).df()
            if not rejected.empty:
                con.execute(f"DELETE FROM {ACCEPTED_TABLE} WHERE {unknown}")
        finally:
            con.close()
        self.rows -= len(rejected)
        return rejected.assign(_file=self.file)
