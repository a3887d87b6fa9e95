"""When a build warms up its notebook kernels, and what it logs."""

from __future__ import annotations

import logging
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import duckdb
import nbformat
import pandas as pd
import pytest

from acctlib import build
from acctlib.intake import load_source
from acctlib.intake.bulktable import BulkTable
from tests.conftest import small_params


class _Stop(Exception):
    """Ends the build once the order of its steps is recorded."""


def _intake(touchpoints) -> SimpleNamespace:
    return SimpleNamespace(
        tables={"touchpoints": touchpoints},
        quarantine=SimpleNamespace(count=lambda: 0),
        extras={},
        reconciliation=lambda: pd.DataFrame(
            {"table": [], "read": [], "reconciled": pd.Series([], dtype=bool)}
        ),
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


def test_rejected_rows_log_warning(small_sample, tmp_path, caplog):
    data = tmp_path / "data"
    shutil.copytree(small_sample, data)
    with (data / "opportunities.csv").open("a", encoding="utf-8") as handle:
        handle.write("O-BAD,A-MISSING,,,,,,,,\n")
    params = small_params(data, tmp_path)
    intake = load_source(params)

    with caplog.at_level(logging.INFO, logger="acctlib"):
        build._log_intake(params, intake)

    warnings = [record for record in caplog.records if record.levelname == "WARNING"]
    assert len(warnings) == 1
    assert warnings[0].getMessage().startswith("1 input row was rejected:")


def test_stage_lint_errors_log_warning(small_sample, tmp_path, caplog):
    data = tmp_path / "data"
    shutil.copytree(small_sample, data)
    path = data / "opportunities.csv"
    opportunities = pd.read_csv(path, dtype=str, keep_default_na=False)
    won = opportunities.index[opportunities["stage"] == "Closed Won"]
    lost = opportunities.index[opportunities["stage"] == "Closed Lost"]
    # An unmapped stage without a category rejects its row, while one with
    # a category keeps it, and both are lint errors.
    opportunities.loc[won[:2], ["stage", "stage_category"]] = ["Verbal Commit", ""]
    opportunities.loc[won[2:5], "stage"] = "closed won "
    opportunities.loc[lost[:1], "stage"] = "Closed  Lost"
    opportunities.to_csv(path, index=False)
    params = small_params(data, tmp_path)
    intake = load_source(params)

    with caplog.at_level(logging.INFO, logger="acctlib"):
        build._log_intake(params, intake)

    lint = [
        record.getMessage()
        for record in caplog.records
        if record.levelname == "WARNING" and "stage map" in record.getMessage()
    ]
    assert len(lint) == 1
    assert "lint found 3 errors" in lint[0]
    assert "stage 'Verbal Commit' is not in the stage map but 2 " in lint[0]
    assert "stage 'closed won' is not in the stage map but 3 " in lint[0]
    assert "stage 'Closed  Lost' is not in the stage map but 1 " in lint[0]
    assert "acctlib check" in lint[0]
    assert "data-quality section" in lint[0]


def test_clean_stage_map_logs_no_lint(small_sample, tmp_path, caplog):
    params = small_params(small_sample, tmp_path)
    intake = load_source(params)

    with caplog.at_level(logging.INFO, logger="acctlib"):
        build._log_intake(params, intake)

    assert not [r for r in caplog.records if "stage map" in r.getMessage()]


def test_notebooks_logged_when_done(monkeypatch, tmp_path, caplog):
    second_done = threading.Event()

    def run_notebook(source, output, parameters, **options):
        # The first notebook finishes only after the second, as a longer
        # notebook submitted earlier would.
        if source.name == "a.ipynb":
            assert second_done.wait(timeout=10)
        output.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nbformat.v4.new_notebook(), output)
        if source.name == "b.ipynb":
            second_done.set()
        return 1.0

    monkeypatch.setattr(build.render, "run_notebook", run_notebook)
    params = small_params(tmp_path / "data", tmp_path)
    sections = [tmp_path / "a.ipynb", tmp_path / "b.ipynb"]
    executed: list[str] = []
    caplog.set_level(logging.INFO, logger=build.logger.name)
    with ThreadPoolExecutor(max_workers=2) as pool:
        build._execute_all(
            pool,
            2,
            sections,
            tmp_path / "staging",
            tmp_path,
            params,
            {},
            lambda: None,
            lambda name, notebook: executed.append(name),
        )

    assert caplog.messages == [
        "running 2 notebooks, 2 at a time",
        "[1/2] b.ipynb done in 1.0 s",
        "[2/2] a.ipynb done in 1.0 s",
    ]
    assert executed == ["b", "a"]
