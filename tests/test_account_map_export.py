"""The account map CSV that goes beside the report."""

from __future__ import annotations

import csv
from types import SimpleNamespace

import pandas as pd

from acctlib import build, engine


def write_workspace(path):
    con = engine.connect(path)
    frame = pd.DataFrame(
        {
            "account_id": ["A1"],
            "touches_90d": [4],
            "marketing_touches_90d": [3],
            "marketing_channels_90d": [2],
            "usage_90d": [1.5],
        }
    )
    engine.write_table(con, "account_map", frame)
    con.disconnect()


def exported_header(tmp_path, window_days: int) -> list[str]:
    workspace = tmp_path / "workspace.duckdb"
    write_workspace(workspace)
    target = tmp_path / "account_map.csv"
    build._export_account_map(workspace, target, window_days)
    with open(target, newline="") as handle:
        return next(csv.reader(handle))


def test_csv_rounds_amounts_to_cents(tmp_path):
    """The CSV shows amounts in cents and whole employee counts."""
    workspace = tmp_path / "workspace.duckdb"
    con = engine.connect(workspace)
    frame = pd.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "employees": [478.0, None],
            "lifetime_revenue": [11049.960000000001, 8287.470000000001],
            "won_acv": [4456.610925306578, 0.0],
            "touches_90d": [4, 0],
        }
    )
    engine.write_table(con, "account_map", frame)
    con.disconnect()
    target = tmp_path / "account_map.csv"

    build._export_account_map(workspace, target, 90)

    with open(target, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["lifetime_revenue"] == "11049.96"
    assert rows[1]["lifetime_revenue"] == "8287.47"
    assert rows[0]["won_acv"] == "4456.61"
    assert rows[0]["employees"] == "478"
    assert rows[1]["employees"] == ""
    assert rows[0]["touches_90d"] == "4"


def test_csv_names_touch_counts_after_the_window(tmp_path):
    assert exported_header(tmp_path, 30) == [
        "account_id",
        "touches_30d",
        "marketing_touches_30d",
        "marketing_channels_30d",
        "usage_90d",
    ]


def test_default_window_keeps_the_names(tmp_path):
    assert exported_header(tmp_path, 90)[1:4] == [
        "touches_90d",
        "marketing_touches_90d",
        "marketing_channels_90d",
    ]


def test_parquet_touch_counts_follow_window(tmp_path):
    """The exported account map uses the CSV's names; other tables keep theirs."""
    frame = pd.DataFrame({"account_id": ["A1"], "touches_90d": [4], "usage_90d": [1]})
    progression = pd.DataFrame(
        {"account_id": ["A1"], "touches_30d": [1], "touches_90d": [4]}
    )
    frames = {"account_map": frame, "account_progression": progression}
    prepared = SimpleNamespace(frames=frames, exported_engine_tables=list)
    build._export_prepared_tables(prepared, tmp_path / "tables", tmp_path, 30)
    tables = tmp_path / "tables"

    exported = pd.read_parquet(tables / "account_map.parquet")
    assert list(exported.columns) == ["account_id", "touches_30d", "usage_90d"]
    assert list(frame.columns) == ["account_id", "touches_90d", "usage_90d"]
    progression_export = pd.read_parquet(tables / "account_progression.parquet")
    expected = ["account_id", "touches_30d", "touches_90d"]
    assert list(progression_export.columns) == expected
