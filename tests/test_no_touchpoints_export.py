"""Exported tables of a source without touchpoints: touch figures are missing.

A count of 0 or a "flat" direction would tell a reader of the CSV that the
account had no touches, when the source simply measured none.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest

from acctlib import accountstate, build, keyaccounts, movement, prepare
from acctlib.intake import load_source
from tests.conftest import small_params

STEPS = [
    prepare.prepare_account_map,
    accountstate.prepare_progression,
    accountstate.prepare_tiers_and_health,
    accountstate.prepare_account_history,
    keyaccounts.prepare_key_accounts,
]
MAP_TOUCHES = [
    "touches_90d",
    "marketing_touches_90d",
    "marketing_channels_90d",
    "marketing_sourced",
]
PROGRESSION_TOUCHES = [
    "touches_30d",
    "touches_90d",
    "touches_30d_marketing",
    "sales_touches_30d",
    "contacts_90d",
    "breadth_change",
    "engagement_trend",
    "engagement_direction",
    "breadth_direction",
]
DIRECTIONS = ["engagement_direction", "breadth_direction"]
UNTOUCHED = "A000001"


def export_run(data_dir: Path, root: Path) -> dict:
    """Prepare a run and its previous month-end, then export it as the build does."""
    params = small_params(data_dir, root)
    intake = load_source(params)
    workspace = root / "workspace.duckdb"
    current = prepare.prepare_workspace(intake, params, workspace, steps=STEPS)
    previous = prepare.prepare_workspace(
        intake,
        params.replace(as_of=movement.previous_month_end(params.as_of)),
        root / "previous.duckdb",
        steps=prepare.MOVEMENT_STEPS,
        month_end_states=current.month_end_states,
        store_intake=False,
    )
    build._export_account_map(workspace, root / "account_map.csv", 90)
    build._export_prepared_tables(current, root / "tables", workspace, 90)
    with open(root / "account_map.csv", newline="") as handle:
        csv_rows = list(csv.DictReader(handle))
    tables = {
        name: pd.read_parquet(root / "tables" / f"{name}.parquet")
        for name in (
            "account_map",
            "account_progression",
            "account_health",
            "health_history",
            "key_accounts",
        )
    }
    return {
        "intake": intake,
        "csv_rows": csv_rows,
        "tables": tables,
        "previous": previous.frames,
    }


@pytest.fixture(scope="module")
def touchless_run(small_sample, tmp_path_factory) -> dict:
    source = tmp_path_factory.mktemp("touchless") / "crm"
    shutil.copytree(
        small_sample, source, ignore=shutil.ignore_patterns("touchpoints.csv")
    )
    return export_run(source, source.parent)


@pytest.fixture(scope="module")
def touched_run(small_sample, tmp_path_factory) -> dict:
    """A run whose source has touchpoints, but none of ``UNTOUCHED``."""
    source = tmp_path_factory.mktemp("touched") / "crm"
    shutil.copytree(small_sample, source)
    path = source / "touchpoints.csv"
    touches = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert (touches["account_id"] == UNTOUCHED).any()
    touches[touches["account_id"] != UNTOUCHED].to_csv(path, index=False)
    return export_run(source, source.parent)


def test_touchless_fixture_has_no_touchpoints(touchless_run):
    assert "touchpoints" not in touchless_run["intake"].tables


def test_csv_leaves_touch_cells_empty(touchless_run):
    rows = touchless_run["csv_rows"]
    assert rows
    for column in MAP_TOUCHES:
        assert {row[column] for row in rows} == {""}, column


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("account_map", MAP_TOUCHES),
        ("account_progression", PROGRESSION_TOUCHES),
        ("account_health", DIRECTIONS),
        ("health_history", DIRECTIONS),
        ("key_accounts", ["marketing_touches_30d"]),
    ],
)
def test_parquet_touch_columns_missing(touchless_run, table, columns):
    frame = touchless_run["tables"][table]
    assert not frame.empty
    for column in columns:
        assert frame[column].isna().all(), f"{table}.{column}"


def test_previous_month_touches_missing(touchless_run):
    previous = touchless_run["previous"]
    assert previous["account_map"]["touches_90d"].isna().all()
    for column in DIRECTIONS:
        assert previous["account_health"][column].isna().all(), column


def test_touchless_flags_ignore_engagement(touchless_run):
    health = touchless_run["tables"]["account_health"]
    assert not health["expansion_ready"].any()
    at_risk = health[health["at_risk"]]
    reasons = at_risk["risk_reason"]
    assert not reasons.empty
    assert reasons.str.startswith("stalled late-stage opportunity (").all()
    assert reasons.str.endswith(" days)").all()


def test_touched_source_counts_untouched_as_zero(touched_run):
    account_map = touched_run["tables"]["account_map"].set_index("account_id")
    for column in MAP_TOUCHES:
        assert account_map[column].notna().all(), column
    assert account_map.loc[UNTOUCHED, "touches_90d"] == 0
    assert not account_map.loc[UNTOUCHED, "marketing_sourced"]
    row = next(r for r in touched_run["csv_rows"] if r["account_id"] == UNTOUCHED)
    assert row["touches_90d"] == "0"
    assert row["marketing_sourced"] == "False"


def test_touched_source_keeps_flat_directions(touched_run):
    for table in ("account_progression", "account_health"):
        frame = touched_run["tables"][table].set_index("account_id")
        for column in DIRECTIONS:
            assert frame[column].notna().all(), f"{table}.{column}"
            assert frame.loc[UNTOUCHED, column] == "flat", f"{table}.{column}"
    progression = touched_run["tables"]["account_progression"]
    assert progression["touches_90d"].dtype == "int64"
    untouched = progression.set_index("account_id").loc[UNTOUCHED]
    assert untouched["touches_90d"] == 0
    assert untouched["contacts_90d"] == 0
