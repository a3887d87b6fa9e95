"""A report built from the Maven CRM export, checked against the raw files."""

from __future__ import annotations

import csv
import html
import json
from collections import Counter
from pathlib import Path

import pytest

from acctlib.build import build_report
from acctlib.params import resolve_params
from tests.conftest import DATASETS, REPO

MAVEN = DATASETS / "maven-crm-sales-opportunities"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.realdata,
    pytest.mark.skipif(not MAVEN.is_dir(), reason=f"dataset folder {MAVEN} absent"),
]


def _rows(name: str) -> list[dict[str, str]]:
    with (MAVEN / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def maven_manifest(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("maven-report")
    params = resolve_params(
        REPO / "params" / "maven.yaml",
        [
            f"data_dir={MAVEN}",
            f"reports_dir={root / 'reports'}",
            f"work_dir={root / 'work'}",
        ],
    )
    result = build_report(params, command="acctlib build --params params/maven.yaml")
    assert result.run_dir.name == "2017-12-31--maven"
    return json.loads((result.run_dir / "manifest.json").read_text())


def test_maven_open_pipeline_matches_list_prices(maven_manifest):
    prices = {
        row["product"].replace(" ", "").lower(): float(row["sales_price"])
        for row in _rows("products.csv")
    }
    open_deals = [
        row
        for row in _rows("sales_pipeline.csv")
        if row["deal_stage"] in ("Prospecting", "Engaging")
    ]
    expected = sum(
        prices[row["product"].replace(" ", "").lower()] for row in open_deals
    )
    headline = maven_manifest["headline"]
    assert headline["open_opportunities"] == len(open_deals) == 2089
    assert headline["open_pipeline"] == pytest.approx(expected, abs=0.01)


def test_maven_bookings_match_won_close_values(maven_manifest):
    won = [row for row in _rows("sales_pipeline.csv") if row["deal_stage"] == "Won"]
    year = sum(float(row["close_value"]) for row in won)
    december = sum(
        float(row["close_value"])
        for row in won
        if row["close_date"].startswith("2017-12")
    )
    headline = maven_manifest["headline"]
    assert headline["bookings_ytd"] == pytest.approx(year, abs=0.01)
    assert headline["bookings_month"] == pytest.approx(december, abs=0.01)


def test_maven_customers_are_accounts_with_a_win(maven_manifest):
    # Every win closed in 2017 and contracts default to 12 months, so on
    # 2017-12-31 each account with a won deal has an active contract.
    won_accounts = {
        row["account"]
        for row in _rows("sales_pipeline.csv")
        if row["deal_stage"] == "Won" and row["account"]
    }
    statuses = maven_manifest["headline"]["accounts_by_status"]
    assert statuses["customer"] == len(won_accounts)
    assert sum(statuses.values()) == len(_rows("accounts.csv")) == 85


def test_maven_report_rejects_nothing(maven_manifest):
    counts = Counter(row["table"] for row in maven_manifest["intake"])
    assert counts["accounts"] == 1
    assert maven_manifest["rejected_rows"] == 0


def test_maven_inputs_are_fingerprinted(maven_manifest):
    files = {Path(item["path"]).name for item in maven_manifest["inputs"]}
    assert {"accounts.csv", "sales_pipeline.csv", "products.csv"} <= files


def test_maven_omits_attribution_without_touches(maven_manifest):
    assert "03-attribution" not in maven_manifest["sections"]
    assert "01-account-map" in maven_manifest["sections"]
    omitted = [note for note in maven_manifest["notes"] if "03-attribution" in note]
    assert omitted == [
        "Section 03-attribution is left out: the source has no data for it."
    ]


def test_maven_segment_totals_tie_to_headline(maven_manifest):
    from acctlib import views
    from acctlib.workspace import open_workspace

    work_dir = Path(maven_manifest["params"]["work_dir"]) / maven_manifest["run"]
    ws = open_workspace(work_dir / "workspace.duckdb")
    headline = maven_manifest["headline"]["open_pipeline"]
    for segment in ("region", "industry"):
        table = views.segment_table(ws, segment).data
        assert table["open_pipeline"].sum() == pytest.approx(headline, abs=0.01)
    status = views.status_table(ws).data
    assert status["open_pipeline"].sum() == pytest.approx(headline, abs=0.01)
    assert "No account" in status["status"].tolist()


def _page_text(manifest: dict, stem: str) -> str:
    run_dir = Path(manifest["params"]["reports_dir"]) / manifest["run"]
    return html.unescape((run_dir / f"{stem}.html").read_text(encoding="utf-8"))


def test_maven_health_page_names_constant_component(maven_manifest):
    # Every Maven account's best open deal is in Engaging, at 63%.
    page = _page_text(maven_manifest, "04-progression-health")
    assert (
        "The win probability component is 63 for all 85 accounts whose health "
        "includes it, so it does not separate accounts"
    ) in page


def test_maven_pages_explain_widespread_risk(maven_manifest):
    sentence = (
        "All 43 Tier 1 and Tier 2 accounts are at risk, all of them because a "
        "late-stage deal has stalled in Engaging past 85 days"
    )
    for stem in ("00-executive-summary", "04-progression-health"):
        assert sentence in _page_text(maven_manifest, stem), stem


def test_maven_before_first_deal_builds_zeros(tmp_path):
    """An as-of date before any deal gives a report of zeros, not a failure."""
    params = resolve_params(
        REPO / "params" / "maven.yaml",
        [
            f"data_dir={MAVEN}",
            "as_of=2016-06-30",
            f"reports_dir={tmp_path / 'reports'}",
            f"work_dir={tmp_path / 'work'}",
        ],
    )

    result = build_report(params, command="acctlib build --params params/maven.yaml")

    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["headline"]["open_pipeline"] == 0
    assert manifest["headline"]["bookings_ytd"] == 0
    assert any("before the first opportunity" in note for note in manifest["notes"])
    for section in manifest["sections"]:
        assert (result.run_dir / f"{section}.html").is_file()
    progression = (result.run_dir / "04-progression-health.html").read_text()
    assert "Pipeline velocity" in progression
    assert "No rows as of the report date." in progression
