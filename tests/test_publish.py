"""Page titles, settings, generation time and the size budget of report pages."""

from __future__ import annotations

import json

import nbformat
import pytest
from bs4 import BeautifulSoup

from acctlib import build, publish
from acctlib.errors import ParameterError
from acctlib.params import resolve_params


def test_size_budget_warns_over_limit():
    sizes = {
        "index.html": 9_000_000,
        "00-executive-summary.html": 2_500_000,
        "01-account-map.html": 4_900_000,
        "02-tiers.html": 5_100_000,
    }
    warnings = publish.check_size_budget(sizes)
    assert len(warnings) == 2
    assert warnings[0].startswith("00-executive-summary.html is 2.5 MB")
    assert warnings[1].startswith("02-tiers.html is 5.1 MB")


def test_generation_time_in_report_timezone():
    text = publish.format_generated_at("2026-07-01T06:30:00Z", "Europe/Berlin")
    assert text == "1 Jul 2026, 08:30 CEST"
    assert publish.format_generated_at("2026-12-05T20:20:28Z", "UTC") == (
        "5 Dec 2026, 20:20 UTC"
    )


def test_generation_time_same_on_every_page(tmp_path):
    manifest = _page_manifest("") | {
        "run": "2026-06-30",
        "headline": {},
        "section_titles": {"00-executive-summary.html": "Executive summary"},
        "html_bytes": {},
        "intake": [],
        "rejected_rows": 0,
        "notes": [],
    }
    run_dir = tmp_path / "2026-06-30"
    run_dir.mkdir()
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Executive summary")]
    )
    sections = publish.list_sections(manifest, {"00-executive-summary": notebook})
    publish.write_section_page(
        run_dir, "00-executive-summary", notebook, manifest, sections
    )
    publish.write_run_index(run_dir, manifest)
    publish.write_reports_index(tmp_path)

    expected = "1 Jul 2026, 06:30 UTC"
    for page in (
        run_dir / "00-executive-summary.html",
        run_dir / "index.html",
        tmp_path / "index.html",
    ):
        text = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").get_text()
        assert expected in text, page.name
        assert "2026-07-01T06:30" not in text, page.name


def test_invalid_timezone_rejected(tmp_path):
    params = resolve_params(
        None, ["report_timezone=Mars/Base", f"reports_dir={tmp_path / 'reports'}"]
    )
    with pytest.raises(ParameterError, match="invalid report_timezone 'Mars/Base'"):
        build.build_report(params)
    assert not (tmp_path / "reports").exists()


def test_previous_month_failure_becomes_note(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from acctlib.errors import InputError

    def fail(intake, params, path, steps=None, month_end_states=None, **options):
        raise InputError("no data before 2026-05-31")

    monkeypatch.setattr(build, "prepare_workspace", fail)
    params = resolve_params(None, ["as_of=2026-06-30"])
    prepared = SimpleNamespace(notes=[], frames={}, headline={}, month_end_states={})
    previous = build._prepare_previous_month(
        None, params, tmp_path, tmp_path / "workspace.duckdb", prepared
    )
    assert previous is None
    assert prepared.notes == [
        "No comparison with 2026-05-31: preparing that date failed "
        "(no data before 2026-05-31)."
    ]


def _page_manifest(variant: str) -> dict:
    return {
        "as_of": "2026-06-30",
        "variant": variant,
        "sections": ["00-executive-summary"],
        "params": {
            "data_dir": "crm",
            "report_currency": "USD",
            "report_timezone": "UTC",
            "month_over_month": True,
        },
        "inputs": [],
        "generated_at": "2026-07-01T06:30:00Z",
        "acctlib_version": "0.0.0",
        "git_commit": None,
        "command": "acctlib build",
    }


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("", "Executive summary · Account review as of 2026-06-30"),
        ("east", "Executive summary · Account review as of 2026-06-30 (east)"),
    ],
    ids=["no variant", "variant"],
)
def test_section_page_title_names_section_and_date(tmp_path, variant, expected):
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Executive summary")]
    )
    manifest = _page_manifest(variant)
    sections = publish.list_sections(manifest, {"00-executive-summary": notebook})
    publish.write_section_page(
        tmp_path, "00-executive-summary", notebook, manifest, sections
    )
    page = (tmp_path / "00-executive-summary.html").read_text(encoding="utf-8")

    assert BeautifulSoup(page, "html.parser").title.get_text() == expected


COMPANY_WIDE_IN_SLICE = (
    "the bookings forecast",
    "stage benchmarks",
    "health validation",
    "campaign credits",
    "the attribution lookback comparison",
    "the count of excluded touches",
    "the channel weights of the data-driven attribution models",
    "the input row counts",
    "the rejected rows, stage-map checks and deal findings of the data-quality page",
)


def _write_every_section(tmp_path, manifest: dict) -> dict[str, BeautifulSoup]:
    """Write the page of every bundled notebook, unexecuted, for ``manifest``."""
    paths = sorted(build.NOTEBOOKS_DIR.glob("*.ipynb"))
    notebooks = {path.stem: nbformat.read(path, as_version=4) for path in paths}
    manifest["sections"] = list(notebooks)
    sections = publish.list_sections(manifest, notebooks)
    pages = {}
    for name, notebook in notebooks.items():
        publish.write_section_page(tmp_path, name, notebook, manifest, sections)
        page = (tmp_path / f"{name}.html").read_text(encoding="utf-8")
        pages[name] = BeautifulSoup(page, "html.parser")
    return pages


def test_every_sliced_page_shows_notice(tmp_path):
    manifest = _page_manifest("")
    manifest["headline"] = {"slice": "owner Fatima Cohen"}
    pages = _write_every_section(tmp_path, manifest)

    assert len(pages) == 7
    for name, page in pages.items():
        notices = page.select(".acctlib-slice")
        assert len(notices) == 1, name
        notice = notices[0].get_text(" ")
        assert notice.startswith(
            "This report covers only the accounts of owner Fatima Cohen."
        ), name
        for figure in COMPANY_WIDE_IN_SLICE:
            assert figure in notice, (name, figure)
        assert "of owner Fatima Cohen as of 2026-06-30" in page.title.get_text()
        assert "owner Fatima Cohen" in page.select_one("nav .run").get_text()


def test_slice_notice_states_deal_owners():
    manifest = _page_manifest("")
    manifest["params"] |= {"owner": "Fatima Cohen", "team": ""}
    deals = {"deals": 3, "open_pipeline": 1500.0, "won": 2500.0}
    manifest["headline"] = {
        "slice": "owner Fatima Cohen",
        "slice_deal_owners": {
            "slice_deals": 10,
            "other_owners": deals,
            "no_owner": {"deals": 0, "open_pipeline": 0.0, "won": 0.0},
            "own_deals": 9,
            "outside_slice": deals | {"deals": 2, "without_account": 0},
        },
    }

    notice = publish.slice_notice(manifest)

    assert notice.startswith("This report covers only the accounts of owner ")
    assert (
        "Of the 10 deals at these accounts, 3 belong to other owners "
        "(open pipeline USD 1,500, won to date USD 2,500)." in notice
    )
    assert (
        "Of the 9 deals of Fatima Cohen, 2 are left out because they are at "
        "accounts outside this slice (open pipeline USD 1,500, won to date USD 2,500)."
        in notice
    )


def test_slice_notice_spells_owner_as_crm():
    manifest = _page_manifest("")
    manifest["params"] |= {"owner": "fatima cohen", "team": ""}
    deals = {"deals": 2, "open_pipeline": 1500.0, "won": 2500.0}
    manifest["headline"] = {
        "slice": "owner Fatima Cohen",
        "slice_owner": "Fatima Cohen",
        "slice_deal_owners": {
            "slice_deals": 10,
            "other_owners": deals,
            "no_owner": {"deals": 0, "open_pipeline": 0.0, "won": 0.0},
            "own_deals": 9,
            "outside_slice": deals | {"without_account": 0},
        },
    }

    notice = publish.slice_notice(manifest)

    assert "Of the 9 deals of Fatima Cohen, 2 are left out" in notice
    assert "fatima cohen" not in notice


def test_company_pages_have_no_slice_notice(tmp_path):
    pages = _write_every_section(tmp_path, _page_manifest(""))

    for name, page in pages.items():
        assert page.select(".acctlib-slice") == [], name
        assert page.title.get_text().endswith(" · Account review as of 2026-06-30")


@pytest.mark.parametrize(
    ("variant", "headline", "expected"),
    [
        ("", {}, "Account review as of 2026-06-30"),
        ("q3", {}, "Account review as of 2026-06-30 (q3)"),
        (
            "",
            {"slice": "team east"},
            "Account review of team east as of 2026-06-30",
        ),
        (
            "q3",
            {"slice": "owner Fatima Cohen"},
            "Account review of owner Fatima Cohen as of 2026-06-30 (q3)",
        ),
    ],
    ids=["company", "variant", "team", "owner and variant"],
)
def test_run_title_names_slice(variant, headline, expected):
    manifest = {"as_of": "2026-06-30", "variant": variant, "headline": headline}
    assert publish.run_title(manifest) == expected


def test_footer_names_input_tables_in_words(tmp_path):
    """The input table names each table in words and keeps its file name."""
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Executive summary")]
    )
    manifest = _page_manifest("") | {
        "inputs": [
            {
                "table": "stage_history",
                "path": "crm/stage_history.csv",
                "rows": 12,
                "sha256": "ab12",
            }
        ]
    }
    sections = publish.list_sections(manifest, {"00-executive-summary": notebook})
    publish.write_section_page(
        tmp_path, "00-executive-summary", notebook, manifest, sections
    )
    page = (tmp_path / "00-executive-summary.html").read_text(encoding="utf-8")
    footer = BeautifulSoup(page, "html.parser").find("footer")
    rows = [
        [cell.get_text() for cell in row.find_all("td")]
        for row in footer.find_all("tr")
        if len(row.find_all("td")) == 4
    ]

    assert rows == [["Stage history", "crm/stage_history.csv", "12", "ab12"]]


def test_footer_writes_booleans_as_parameter_files_do(tmp_path):
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Executive summary")]
    )
    manifest = _page_manifest("")
    sections = publish.list_sections(manifest, {"00-executive-summary": notebook})
    publish.write_section_page(
        tmp_path, "00-executive-summary", notebook, manifest, sections
    )
    page = (tmp_path / "00-executive-summary.html").read_text(encoding="utf-8")
    footer = BeautifulSoup(page, "html.parser").find("footer")
    rows = {
        row.find_all("td")[0].get_text(): row.find_all("td")[1].get_text()
        for row in footer.find_all("tr")
        if len(row.find_all("td")) == 2
    }

    assert rows["month_over_month"] == "true"


def test_run_index_data_table_adds_up(tmp_path):
    manifest = _page_manifest("") | {
        "run": "2026-06-30",
        "headline": {},
        "section_titles": {},
        "html_bytes": {},
        "intake": [
            {
                "table": "stage_history",
                "read": 14,
                "accepted": 10,
                "merged": 1,
                "rejected": 3,
            }
        ],
        "rejected_rows": 3,
        "notes": [],
    }

    publish.write_run_index(tmp_path, manifest)
    soup = BeautifulSoup((tmp_path / "index.html").read_text(), "html.parser")
    table = next(
        table for table in soup.find_all("table") if "Rows read" in table.get_text()
    )
    header = [cell.get_text() for cell in table.find_all("th")]
    row = [cell.get_text() for cell in table.find_all("tr")[1].find_all("td")]

    assert header == ["Table", "Rows read", "Accepted", "Rejected", "Merged"]
    assert row == ["Stage history", "14", "10", "3", "1"]


@pytest.mark.parametrize(
    ("headline", "listed"),
    [({"attribution": {"lookback_days": 180}}, True), ({}, False)],
    ids=["attribution ran", "no attribution"],
)
def test_page_settings_follow_attribution(tmp_path, headline, listed):
    # The settings table replaces the cell that papermill injects.
    injected = nbformat.v4.new_code_cell('workspace = "run.duckdb"')
    injected.metadata["tags"] = ["injected-parameters"]
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Attribution"), injected]
    )
    manifest = _page_manifest("")
    manifest["sections"] = ["03-attribution"]
    manifest["headline"] = headline
    manifest["params"].update(lookback_days=180, attribution_assignment="next")
    sections = publish.list_sections(manifest, {"03-attribution": notebook})

    publish.write_section_page(tmp_path, "03-attribution", notebook, manifest, sections)

    page = (tmp_path / "03-attribution.html").read_text(encoding="utf-8")
    table = BeautifulSoup(page, "html.parser").select_one("table.acctlib-settings")
    labels = {cell.get_text() for cell in table.select("th")}
    assert "Currency" in labels
    assert ("Touch credit" in labels) is listed
    assert ("Touches that join a deal's journey" in labels) is listed


def test_page_settings_only_those_of_page(tmp_path):
    injected = nbformat.v4.new_code_cell('workspace = "run.duckdb"')
    injected.metadata["tags"] = ["injected-parameters"]
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Account tiers"), injected]
    )
    manifest = _page_manifest("")
    manifest["sections"] = ["02-tiering"]
    manifest["params"].update(
        influence_window_days=90,
        attribution_assignment="next",
        tier_rules={"tier_1": {"match": "all", "value": 75, "fit": 60}},
    )
    sections = publish.list_sections(manifest, {"02-tiering": notebook})

    publish.write_section_page(tmp_path, "02-tiering", notebook, manifest, sections)

    soup = BeautifulSoup((tmp_path / "02-tiering.html").read_text(), "html.parser")
    rows = {
        row.th.get_text(): row.td.get_text()
        for row in soup.select("table.acctlib-settings tr")
    }
    assert (
        rows["Tier 1 Strategic"] == "fit score at least 60 and value score at least 75"
    )
    assert "Touch credit" not in rows
    assert "Recent touches" not in rows
    summary = soup.select_one("details.acctlib-settings summary").get_text()
    assert summary == "Report settings: 2026-06-30 · USD"
    footer = soup.find("footer").get_text()
    assert "influence_window_days" in footer
    assert "attribution_assignment" in footer


def test_reports_index_orders_runs(tmp_path):
    # The folder names sort in another order than the expected one, so an
    # index that follows the folders fails.
    runs = [
        ("b", "2026-05-31", "2026-05-31--short", "2026-06-01T08:00:00Z"),
        ("c", "2026-06-30", "2026-06-30--short", "2026-07-01T09:15:00Z"),
        ("a", "2026-06-30", "2026-06-30", None),
        ("d", "2026-06-30", "2026-06-30--long", "2026-07-02T10:45:00Z"),
    ]
    for folder, as_of, run, generated_at in runs:
        manifest = _page_manifest("") | {
            "as_of": as_of,
            "run": run,
            "generated_at": generated_at,
            "headline": {},
        }
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "manifest.json").write_text(json.dumps(manifest))

    publish.write_reports_index(tmp_path)

    page = BeautifulSoup((tmp_path / "index.html").read_text(), "html.parser")
    rows = page.find_all("tr")[1:]
    links = [row.find("a")["href"] for row in rows]
    assert links == ["a/index.html", "d/index.html", "c/index.html", "b/index.html"]
    generated = [row.find_all("td")[-1].get_text() for row in rows]
    assert generated == [
        "–",
        "2 Jul 2026, 10:45 UTC",
        "1 Jul 2026, 09:15 UTC",
        "1 Jun 2026, 08:00 UTC",
    ]


def test_reports_index_labels_each_run_period(tmp_path):
    # The month-end run sorts first, so headers taken from the first run
    # would put the mid-month run's figures under its labels.
    headline = {"bookings_month": 1000.0, "revenue_12m": 5000.0}
    for as_of in ("2026-06-30", "2026-06-15"):
        manifest = _page_manifest("") | {"as_of": as_of, "headline": headline}
        (tmp_path / as_of).mkdir()
        (tmp_path / as_of / "manifest.json").write_text(json.dumps(manifest))

    publish.write_reports_index(tmp_path)

    page = BeautifulSoup((tmp_path / "index.html").read_text(), "html.parser")
    headers = [cell.get_text() for cell in page.find_all("th")]
    assert "Bookings in the month" in headers
    assert "Revenue, 12 complete months" in headers
    assert "Bookings this month" not in headers
    assert not any(header.startswith("Revenue, Jul") for header in headers)
    month_end, mid_month = (row.get_text(" ") for row in page.find_all("tr")[1:])
    assert "Bookings this month" in month_end
    assert "Revenue, Jul 2025 to Jun 2026" in month_end
    assert "Bookings month to date" in mid_month
    assert "Revenue, Jun 2025 to May 2026" in mid_month
    assert "Jul 2025" not in mid_month


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, "No rows were rejected."),
        (1, "1 rejected row, with its file, row, column and reason, is listed in"),
        (3, "3 rejected rows, each with its file, row, column and reason, are"),
    ],
)
def test_run_index_counts_rejected_rows(tmp_path, count, expected):
    manifest = _page_manifest("") | {
        "run": "2026-06-30",
        "headline": {},
        "section_titles": {},
        "html_bytes": {},
        "intake": [],
        "rejected_rows": count,
        "notes": [],
    }

    publish.write_run_index(tmp_path, manifest)
    text = BeautifulSoup((tmp_path / "index.html").read_text(), "html.parser")
    text = " ".join(text.get_text().split())

    assert expected in text
    assert ("rejected_rows.csv" in text) == (count > 0)


def test_run_index_flags_unreconciled_counts(tmp_path):
    manifest = _page_manifest("") | {
        "run": "2026-06-30",
        "headline": {},
        "section_titles": {},
        "html_bytes": {},
        "intake": [
            {"table": "accounts", "read": 4, "accepted": 4, "merged": 0, "rejected": 0},
            {
                "table": "stage_history",
                "read": 33,
                "accepted": 31,
                "merged": 0,
                "rejected": 1,
            },
        ],
        "rejected_rows": 1,
        "notes": [],
    }

    publish.write_run_index(tmp_path, manifest)
    soup = BeautifulSoup((tmp_path / "index.html").read_text(), "html.parser")
    warning = soup.find("p", class_="warning")
    text = soup.get_text()

    assert warning is not None
    assert "do not reconcile for Stage history:" in warning.get_text()
    assert "add up to the rows read, and" not in text
