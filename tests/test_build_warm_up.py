"""When a build warms up its notebook kernels, before or after prepare."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest

from acctlib import build
from acctlib.intake.bulktable import BulkTable
from tests.conftest import small_params


class _Stop(Exception):
    """Ends the build once the order of its steps is recorded."""


def _intake(touchpoints) -> SimpleNamespace:
    return SimpleNamespace(
        tables={"touchpoints": touchpoints},
        quarantine=SimpleNamespace(count=lambda: 0),
    )


def _bulk_touchpoints() -> BulkTable:
    con = duckdb.connect()
    con.execute("CREATE TABLE parsed (touch_id VARCHAR)")
    raw_query = "SELECT touch_id, 1 AS _row FROM parsed"
    return BulkTable("touchpoints", "touchpoints.parquet", con, "parsed", 0, raw_query)


def _record_steps(monkeypatch, intake) -> list[str]:
    steps: list[str] = []

    def prepare(*args, **kwargs):
        steps.append("prepare")
        return SimpleNamespace(month_end_states={}, notes=[], step_seconds={})

    def stop(*args, **kwargs):
        raise _Stop

    monkeypatch.setattr(build, "load_source", lambda params: intake)
    monkeypatch.setattr(build, "prepare_workspace", prepare)
    monkeypatch.setattr(
        build,
        "_warm_up_kernels",
        lambda pool, count, cwd: steps.append(f"warm up {count}"),
    )
    monkeypatch.setattr(build, "_prepare_previous_month", stop)
    monkeypatch.setattr(build, "_drop_sections_without_tables", stop)
    return steps


@pytest.mark.parametrize(
    ("touchpoints", "expected"),
    [
        (pd.DataFrame({"touch_id": ["t1"]}), ["warm up 2", "prepare"]),
        (None, ["prepare", "warm up 2"]),
    ],
    ids=["pandas", "bulk"],
)
def test_warm_up_order_by_intake(monkeypatch, tmp_path: Path, touchpoints, expected):
    """Kernels of a bulk source warm up after prepare, others before it."""
    touchpoints = _bulk_touchpoints() if touchpoints is None else touchpoints
    steps = _record_steps(monkeypatch, _intake(touchpoints))
    params = small_params(tmp_path / "data", tmp_path)

    with pytest.raises(_Stop):
        build._build_with_workers(params, "test", [], None, 2, 0.0)

    assert steps == expected
