"""A build that replaces a run folder warns when its parameters differ."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from acctlib import build
from acctlib.params import resolve_params


def write_run(reports: Path, params: dict) -> Path:
    run_dir = reports / "2026-06-30"
    run_dir.mkdir(parents=True)
    manifest = {"run": "2026-06-30", "params": params}
    (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return run_dir


def run_params(*overrides: str) -> dict:
    return resolve_params(None, ["as_of=2026-06-30", *overrides]).to_json()


def test_replace_with_other_params_warns(tmp_path, caplog):
    run_dir = write_run(tmp_path, run_params())
    new = run_params("top_accounts=20", "profile=maven")

    with caplog.at_level(logging.WARNING, logger="acctlib.build"):
        build._warn_if_parameters_differ(run_dir, new)

    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "replacing run 2026-06-30" in message
    assert 'profile "canonical" -> "maven"' in message
    assert "top_accounts 10 -> 20" in message


@pytest.mark.parametrize(
    "overrides",
    [
        (),
        ("work_dir=elsewhere", "reports_dir=other-reports"),
        ("parallel_notebooks=1", "notebook_timeout_seconds=60"),
    ],
    ids=["same", "output-folders", "technical"],
)
def test_replace_with_same_figures_is_silent(tmp_path, caplog, overrides):
    run_dir = write_run(tmp_path, run_params())

    with caplog.at_level(logging.WARNING, logger="acctlib.build"):
        build._warn_if_parameters_differ(run_dir, run_params(*overrides))

    assert caplog.records == []


def test_parameter_missing_from_old_run_is_ignored(tmp_path, caplog):
    old = run_params()
    del old["seed"]
    run_dir = write_run(tmp_path, old)

    with caplog.at_level(logging.WARNING, logger="acctlib.build"):
        build._warn_if_parameters_differ(run_dir, run_params("seed=1"))

    assert caplog.records == []


def test_new_run_folder_is_silent(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="acctlib.build"):
        build._warn_if_parameters_differ(tmp_path / "2026-06-30", run_params())

    assert caplog.records == []


def test_unreadable_manifest_warns(tmp_path, caplog):
    run_dir = tmp_path / "2026-06-30"
    run_dir.mkdir()
    (run_dir / "manifest.json").write_text("{not json", encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="acctlib.build"):
        build._warn_if_parameters_differ(run_dir, run_params())

    assert len(caplog.records) == 1
    assert "could not be read" in caplog.records[0].getMessage()


def test_long_values_are_shortened(tmp_path, caplog):
    run_dir = write_run(tmp_path, run_params())
    new = run_params("attribution_channel_priority=[" + ",".join(["x" * 20] * 10) + "]")

    with caplog.at_level(logging.WARNING, logger="acctlib.build"):
        build._warn_if_parameters_differ(run_dir, new)

    message = caplog.records[0].getMessage()
    assert "attribution_channel_priority [] -> " in message
    assert message.endswith("...")
    assert len(message.split(" -> ")[1]) == 60
