"""Reports built from the Salesforce, HubSpot, Olist and journey profiles."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from acctlib.build import build_report
from acctlib.errors import InputError
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
    """A report of small HubSpot exports, with the shared deal explained."""
    data = write_files(tmp_path / "data", hubspot_files())
    result = _build(
        tmp_path,
        "profile=hubspot",
        f"data_dir={data}",
        "as_of=2024-12-31",
        "sections=[00-executive-summary,06-data-quality]",
    )
    assert (result.run_dir / "index.html").is_file()
    text = _table_text(result, "06-data-quality")
    assert "1 deal shared by 2 companies." in text
    assert "1 deal without a company" in text
    rejected = pd.read_csv(result.run_dir / "rejected_rows.csv")
    assert rejected.empty


# Touch rows as marketing tools export journeys: J1 converts once for 1,200,
# J2 converts without a value (the profile's default_value, 1) and touches
# again, J3 never converts, J4 converts on its only touch for 800.
JOURNEYS = (
    "journey_id,timestamp,channel,conversion,value\n"
    "J1,2024-01-03T10:00:00Z,paid_search,0,\n"
    "J1,2024-01-10T10:00:00Z,email,0,\n"
    "J1,2024-01-20T10:00:00Z,webinar,1,1200\n"
    "J2,2024-02-01T09:00:00Z,social,0,\n"
    "J2,2024-02-05T09:00:00Z,email,1,\n"
    "J2,2024-03-01T09:00:00Z,paid_search,0,\n"
    "J3,2024-03-02T08:00:00Z,organic,0,\n"
    "J3,2024-04-02T08:00:00Z,email,0,\n"
    "J4,2024-05-01T08:00:00Z,webinar,1,800\n"
)
PATHS = (
    "path;total_conversions;total_conversion_value;total_null\n"
    "email > webinar;3;1500;7\n"
)


@pytest.mark.slow
def test_journeys_small_export_builds(tmp_path: Path) -> None:
    """A report of touch-row journeys, with attribution over the journeys."""
    data = write_files(tmp_path / "data", {"journeys.csv": JOURNEYS})
    result = _build(
        tmp_path,
        "profile=journeys",
        f"data_dir={data}",
        "as_of=2024-12-31",
        "sections=[03-attribution]",
    )
    assert (result.run_dir / "index.html").is_file()
    assert (result.run_dir / "03-attribution.html").is_file()
    manifest = result.manifest
    assert manifest["profile"] == "journeys"
    assert manifest["sections"] == ["03-attribution"]
    assert manifest["rejected_rows"] == 0
    headline = manifest["headline"]
    assert headline["bookings_ytd"] == 2001.0
    assert headline["customers"] == 3
    assert headline["accounts_by_status"]["lost"] == 1
    assert headline["attribution"]["revenue_coverage"] == 1.0
    assert "No stage history table in the source" in " ".join(manifest["notes"])
    rejected = pd.read_csv(result.run_dir / "rejected_rows.csv")
    assert rejected.empty


def test_paths_profile_cannot_build(tmp_path: Path) -> None:
    """Aggregated paths have no dates, so a build stops before writing."""
    data = write_files(tmp_path / "data", {"paths.csv": PATHS})

    with pytest.raises(InputError, match="aggregated paths have no dates"):
        _build(tmp_path, "profile=paths", f"data_dir={data}", "as_of=2024-12-31")

    assert not (tmp_path / "reports").exists()


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize(
    ("profile", "folder", "settings"),
    [
        ("salesforce", "salesforce-devorg-export", ["as_of=2026-03-31"]),
        ("ga4-sessions", "dp6-mam-test-journeys", ["as_of=2022-12-31"]),
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
