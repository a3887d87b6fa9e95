"""Reading prepared tables from a workspace opened read-only."""

from __future__ import annotations

import pandas as pd

from acctlib import engine
from acctlib.workspace import open_workspace


def _workspace(tmp_path):
    path = tmp_path / "workspace.duckdb"
    con = engine.connect(path)
    engine.write_table(
        con, "run_info", pd.DataFrame({"key": ["notes"], "value": ["[]"]})
    )
    engine.write_table(
        con,
        "account_map",
        pd.DataFrame({"account_id": ["A", "B"], "acv": [100.0, 250.0]}),
    )
    con.disconnect()
    return open_workspace(path)


def test_table_read_once_copied_per_call(tmp_path, monkeypatch):
    workspace = _workspace(tmp_path)
    reads = []
    original = engine.read_table
    monkeypatch.setattr(
        engine,
        "read_table",
        lambda con, name: reads.append(name) or original(con, name),
    )
    try:
        first = workspace.table("account_map")
        first["acv"] = first["acv"] * 2
        first.loc[0, "account_id"] = "Z"
        first["tier"] = 1
        second = workspace.table("account_map")
    finally:
        workspace.con.disconnect()

    assert reads == ["account_map"]
    assert second.to_dict("list") == {"account_id": ["A", "B"], "acv": [100.0, 250.0]}
