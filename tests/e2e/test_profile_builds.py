"""Reports built from the Salesforce, HubSpot and Olist profiles."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from acctlib.build import build_report
from acctlib.params import resolve_params
from tests.conftest import DATASETS
from tests.intake.helpers import write_files
from tests.intake.test_hubspot import hubspot_files


def _build(tmp_path: Path, *settings: str):
    params = resolve_params(
        None,
        [
            f"reports_dir={tmp_path / 'reports'}",
            f"work_dir={tmp_path / 'work'}",
            "parallel_notebooks=1",
            *settings,
        ],
    )
    return build_report(params, command="acctlib build (test)")


def _table_text(result, notebook: str) -> str:
    executed = result.run_dir / "notebooks" / f"{notebook}.ipynb"
    cells = json.loads(executed.read_text())["cells"]
    return json.dumps([cell.get("outputs", []) for cell in cells])


@pytest.mark.slow
def test_hubspot_small_export_builds(tmp_path: Path) -> None:
    """A full report of small HubSpot exports, with the shared deal explained."""
    data = write_files(tmp_path / "data", hubspot_files())
    result = _build(tmp_path, "profile=hubspot", f"data_dir={data}", "as_of=2024-12-31")
    assert (result.run_dir / "index.html").is_file()
    text = _table_text(result, "06-data-quality")
    assert "1 deal shared by 2 companies." in text
    assert "1 deal without a company" in text
    rejected = pd.read_csv(result.run_dir / "rejected_rows.csv")
    assert rejected.empty


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize(
    ("profile", "folder", "settings"),
    [
        ("salesforce", "salesforce-devorg-export", ["as_of=2026-03-31"]),
        (
            "olist",
            "olist-marketing-funnel",
            ["as_of=2018-12-31", "report_currency=BRL"],
        ),
    ],
)
def test_shared_dataset_builds(
    tmp_path: Path, profile: str, folder: str, settings: list[str]
) -> None:
    """The data-quality section builds from each shared export."""
    if not (DATASETS / folder).is_dir():
        pytest.skip("shared datasets absent")
    result = _build(
        tmp_path,
        f"profile={profile}",
        f"data_dir={DATASETS / folder}",
        "sections=[06-data-quality]",
        *settings,
    )
    assert (result.run_dir / "index.html").is_file()
    assert "Read = accepted + rejected + merged" in _table_text(
        result, "06-data-quality"
    )
