"""Rebuilding a run's parameters from its manifest, as ``acctlib verify`` does."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

from acctlib.build import _manifest
from acctlib.intake import load_source
from acctlib.params import load_declarations, resolve_params
from acctlib.verify import params_from_manifest
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
