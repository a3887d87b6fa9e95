"""The run workspace: one DuckDB file holding every prepared table.

Prepare once, render many. :func:`acctlib.prepare.prepare_workspace`
writes the file, and every notebook then opens it read-only through
:func:`open_workspace`, so the sections of one report can never disagree.
This module imports none of the prepare steps, so a notebook kernel does
not load what only preparing needs, such as statsmodels.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from acctlib import engine
from acctlib.params import PROJECT_ROOT

WORKSPACE_FILE = "workspace.duckdb"


@dataclass
class Workspace:
    """A prepared run opened read-only, as notebooks use it."""

    path: Path
    con: Any
    info: dict[str, Any]
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def params(self) -> dict[str, Any]:
        return self.info["params"]

    @property
    def as_of(self) -> dt.date:
        return dt.date.fromisoformat(self.params["as_of"])

    @property
    def currency(self) -> str:
        return self.params["report_currency"]

    @property
    def headline(self) -> dict[str, Any]:
        return self.info["headline"]

    @property
    def stage_map(self) -> dict[str, Any]:
        return self.info["stage_map"]

    def has_table(self, name: str) -> bool:
        # ibis 12's list_tables() calls fetch_arrow_table(), which DuckDB
        # 2.0.1 no longer has, so the catalog is queried directly.
        found = self.con.con.execute(
            "select 1 from information_schema.tables where table_name = ?", [name]
        ).fetchall()
        return bool(found)

    def table(self, name: str) -> pd.DataFrame:
        """Return a prepared table as pandas; use ``con`` for large tables.

        The workspace is read-only, so each table is read once and kept:
        the sections of a page read the same tables many times. Each call
        returns its own shallow copy, which pandas copies on write, so a
        caller that changes it leaves the kept frame as it was.
        """
        if name not in self._frames:
            self._frames[name] = engine.read_table(self.con, name)
        return self._frames[name].copy(deep=False)


def open_workspace(path: str | Path | None = None) -> Workspace:
    """Open a prepared workspace read-only.

    With no path, prepare (once) and open a workspace of the bundled sample
    data, so a notebook also runs on its own in Jupyter.
    """
    if not path:
        path = _default_sample_workspace()
    path = Path(path)
    if path.is_dir():
        path = path / WORKSPACE_FILE
    con = engine.connect(path, read_only=True)
    rows = con.table("run_info").to_pandas()
    info = {row.key: json.loads(row.value) for row in rows.itertuples()}
    return Workspace(path=path, con=con, info=info)


def _default_sample_workspace() -> Path:
    """Return a workspace of the full sample, prepared on first use.

    The cache folder is keyed by a hash of the package's source, so a
    change to acctlib prepares a fresh workspace instead of reusing stale
    tables.
    """
    from acctlib import sample
    from acctlib.intake import load_source
    from acctlib.params import resolve_params
    from acctlib.prepare import prepare_workspace

    source_hash = hashlib.sha256()
    for module in sorted(Path(__file__).parent.rglob("*.py")):
        source_hash.update(module.read_bytes())
    work = PROJECT_ROOT / ".acctlib-work" / f"notebook-{source_hash.hexdigest()[:12]}"
    path = work / WORKSPACE_FILE
    if path.is_file():
        return path
    data_dir = work / "data"
    sample.write_sample(data_dir)
    params = resolve_params(
        None, [f"data_dir={data_dir}", f"as_of={sample.SAMPLE_END.isoformat()}"]
    )
    partial = work / f"partial-{os.getpid()}.duckdb"
    prepare_workspace(load_source(params), params, partial)
    partial.replace(path)
    return path
