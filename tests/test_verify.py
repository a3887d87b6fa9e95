"""Rebuilding a run's parameters from its manifest, as ``acctlib verify`` does."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from acctlib import build
from acctlib.build import _manifest
from acctlib.intake import load_source
from acctlib.intake.files import sha256_file
from acctlib.params import load_declarations, resolve_params
from acctlib.verify import InputChangedError, params_from_manifest, verify_run
from tests.intake.helpers import AS_OF, write_files
from tests.intake.test_salesforce import loader_files


def manifest_of(params, intake) -> dict:
    """Return the manifest a build of ``intake`` writes, read back from JSON."""
    prepared = SimpleNamespace(notes=[], headline={})
    generated_at = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
    manifest = _manifest(params, intake, prepared, [], "acctlib build", generated_at)
    return json.loads(json.dumps(manifest))


def test_profile_stage_map_survives_verify(tmp_path):
    data = write_files(tmp_path / "data", loader_files())
    params = resolve_params(
        None, [f"data_dir={data}", "profile=salesforce", f"as_of={AS_OF}"]
    )
    intake = load_source(params)
    assert "Prospecting" in intake.stage_map

    manifest = manifest_of(params, intake)
    assert manifest["params"]["stage_map"] == intake.stage_map

    rebuilt = load_source(params_from_manifest(manifest, tmp_path))
    assert rebuilt.stage_map == intake.stage_map
    assert rebuilt.quarantine.count() == intake.quarantine.count()
    assert rebuilt.counts().equals(intake.counts())


def test_canonical_stage_map_survives_verify(tmp_path, small_sample):
    params = resolve_params(None, [f"data_dir={small_sample}", f"as_of={AS_OF}"])
    intake = load_source(params)
    default = load_declarations()["stage_map"].default

    manifest = manifest_of(params, intake)
    assert manifest["params"]["stage_map"] == default

    rebuilt = load_source(params_from_manifest(manifest, tmp_path))
    assert rebuilt.stage_map == intake.stage_map
    assert rebuilt.counts().equals(intake.counts())


def test_manifest_records_working_dir(tmp_path, small_sample, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = resolve_params(None, [f"data_dir={small_sample}", f"as_of={AS_OF}"])

    manifest = manifest_of(params, load_source(params))

    assert manifest["working_dir"] == str(tmp_path)


def write_relative_run(tmp_path, monkeypatch, working_dir: bool) -> Path:
    """Write a run of ``data/accounts.csv`` as built in ``tmp_path/project``."""
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    data = project / "data" / "accounts.csv"
    data.write_text("account_id\nA1\n")
    manifest = {
        "params": {"as_of": AS_OF, "data_dir": "data"},
        "inputs": [
            {
                "table": "accounts",
                "path": "data/accounts.csv",
                "sha256": sha256_file(data),
                "rows": 1,
            }
        ],
        "command": "acctlib build --set data_dir=data",
    }
    if working_dir:
        manifest["working_dir"] = str(project)
    run_dir = project / "reports" / "2026-06-30"
    run_dir.mkdir(parents=True)
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return run_dir


def test_verify_resolves_inputs_in_build_folder(tmp_path, monkeypatch):
    run_dir = write_relative_run(tmp_path, monkeypatch, working_dir=True)
    rebuilt_in = []

    def rebuild(params, command):
        rebuilt_in.append((Path.cwd(), Path(params["data_dir"]).resolve()))
        target = Path(params["reports_dir"]) / params.run_name
        shutil.copytree(run_dir, target)
        return SimpleNamespace(run_dir=target)

    monkeypatch.setattr(build, "build_report", rebuild)
    verification = verify_run(Path("..") / "project" / "reports" / "2026-06-30")

    project = tmp_path / "project"
    assert rebuilt_in == [(project, project / "data")]
    assert verification.identical
    assert Path.cwd() == tmp_path / "elsewhere"


def test_verify_without_build_folder_explains(tmp_path, monkeypatch):
    run_dir = write_relative_run(tmp_path, monkeypatch, working_dir=False)

    with pytest.raises(InputChangedError) as raised:
        verify_run(run_dir)

    message = str(raised.value)
    assert "data/accounts.csv not found" in message
    assert f"current folder {tmp_path / 'elsewhere'}" in message
    assert "Run acctlib verify from the folder the build was run in" in message
    assert "acctlib build --set data_dir=data" in message
