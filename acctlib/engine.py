"""Connections to the run workspace.

A run's prepared tables live in one DuckDB file. Touchpoint-scale work is
written as Ibis expressions against :func:`connect`, so the same code can run
on another Ibis backend; only account-sized results come back to pandas.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from pathlib import Path

import ibis
import pandas as pd

logger = logging.getLogger(__name__)


def connect(path: str | Path | None = None, *, read_only: bool = False):
    """Open the DuckDB workspace at ``path`` (in memory when None) through Ibis.

    Several processes may open one file at once only when all of them open
    it ``read_only``; the build writes the file before any notebook reads it.
    """
    if path is None:
        return ibis.duckdb.connect()
    return ibis.duckdb.connect(str(path), read_only=read_only)


@contextlib.contextmanager
def quiet_conversions():
    """Silence the deprecation warnings ibis 12 raises inside its own code.

    ibis 12.0.0 reads pandas 3's deprecated ``future.infer_string`` option
    and calls DuckDB 2's deprecated ``fetch_arrow_table()`` on every frame it
    converts; neither is something a report reader can act on.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="The 'future.infer_string' option is deprecated"
        )
        warnings.filterwarnings(
            "ignore", message=r"fetch_arrow_table\(\) is deprecated"
        )
        yield


def write_table(con, name: str, df: pd.DataFrame) -> None:
    """Store ``df`` as table ``name`` in the workspace, replacing any earlier one."""
    with quiet_conversions():
        con.create_table(name, obj=df, overwrite=True)
    logger.debug("stored table %s with %d rows", name, len(df))


def read_table(con, name: str) -> pd.DataFrame:
    """Return a workspace table as a pandas frame."""
    with quiet_conversions():
        return con.table(name).to_pandas()
