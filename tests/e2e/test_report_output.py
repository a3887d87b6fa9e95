"""What a reader and a reviewer get from a build: pages, figures, failures."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from acctlib import build, glossary, publish
from acctlib.displaypaths import display_command, display_path
from acctlib.errors import BuildError
from acctlib.published import page_text
from acctlib.verify import InputChangedError, verify_run
from tests.conftest import REPO, small_params
from tests.e2e.conftest import MARKUP, NAME_PREFIXES, POISONED_STAGE, SECRETS

pytestmark = pytest.mark.slow

SECTIONS = [
    "00-executive-summary",
    "01-account-map",
    "02-tiering",
    "04-progression-health",
]
GENERATED = re.compile(r"Generated \d{1,2} \w{3} \d{4}, \d\d:\d\d \w+")


def read_soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@pytest.mark.parametrize("section", SECTIONS)
def test_charts_carry_static_svg(small_report, section):
    soup = read_soup(small_report.run_dir / f"{section}.html")
    charts = soup.select("div.acctlib-chart")
    assert charts
    for chart in charts:
        fallback = chart.find("noscript", class_="acctlib-static")
        assert fallback is not None, chart["id"]
        assert "<svg" in str(fallback)


def test_page_titles_name_section_and_date(small_report):
    manifest = json.loads((small_report.run_dir / "manifest.json").read_text())
    for file, section in manifest["section_titles"].items():
        soup = read_soup(small_report.run_dir / file)
        expected = f"{section} · Account review as of 2026-06-30"
        assert soup.title.get_text() == expected, file


def test_settings_table_replaces_parameters(small_report):
    soup = read_soup(small_report.run_dir / "00-executive-summary.html")
    settings = soup.select("table.acctlib-settings tr")
    rows = {row.th.get_text(): row.td.get_text() for row in settings}
    assert rows["Report date"] == "2026-06-30"
    assert rows["Currency"] == "USD"
    assert rows["Forecast horizon"] == "3 months after the report date"
    assert "Recent touches" not in rows
    assert "Work dir" not in rows
    assert "workspace" not in soup.get_text()
    assert str(small_report.run_dir.parent.parent) not in soup.get_text()


def test_attribution_settings_name_windows_compared(small_report):
    soup = read_soup(small_report.run_dir / "03-attribution.html")
    settings = soup.select("table.acctlib-settings tr")
    rows = {row.th.get_text(): row.td.get_text() for row in settings}
    assert rows["Lookbacks compared in Window sensitivity"] == (
        "30, 60, 90, 180 and 365 days"
    )
    assert "Recent touches" not in rows


def test_run_names_no_absolute_folder(small_report, small_sample):
    """Pages and executed notebooks show folders relative or by name only."""
    root = small_report.run_dir.parent.parent
    folders = [str(small_sample), str(root), str(REPO)]
    pages = [*small_report.run_dir.glob("*.html"), root / "reports" / "index.html"]
    notebooks = list((small_report.run_dir / "notebooks").glob("*.ipynb"))
    assert len(pages) > 5
    assert len(notebooks) > 5

    for path in [*pages, *notebooks]:
        text = path.read_text(encoding="utf-8")
        for folder in folders:
            assert folder not in text, f"{path.name} names {folder}"


def test_footer_names_data_folder_only(small_report, small_sample):
    soup = read_soup(small_report.run_dir / "00-executive-summary.html")
    footer = soup.select_one("footer.acctlib-footer").get_text()

    assert f"{small_sample.name}/accounts.csv" in footer
    assert str(small_sample) not in footer


def test_shortened_command_names_manifest(small_report, small_sample, tmp_path):
    manifest = json.loads((small_report.run_dir / "manifest.json").read_text())
    manifest["command"] = display_command(
        f"acctlib build --set data_dir={small_sample}"
    )

    publish.write_run_index(tmp_path, manifest)
    text = BeautifulSoup(
        (tmp_path / "index.html").read_text(), "html.parser"
    ).get_text()

    assert f"data_dir=.../{small_sample.name}" in text
    assert "manifest.json has their full paths" in text


def test_pages_define_abbreviations_at_first_use(small_report):
    term = re.compile(r"\b(" + "|".join(glossary.TERMS) + r")\b")
    defined_anywhere = set()
    for page in sorted(small_report.run_dir.glob("*.html")):
        soup = read_soup(page)
        for element in soup(["script", "style", "svg", "nav", "aside", "footer"]):
            element.decompose()
        for element in soup(["title", "h1", "h2", "h3", "h4", "h5", "h6", "code"]):
            element.decompose()
        terms = soup.select_one("p.acctlib-terms")
        listed = terms.extract().get_text() if terms else ""
        compact = soup.select("table, details, div.acctlib-kpis")
        compact_text = " ".join(element.extract().get_text() for element in compact)
        text = soup.get_text()
        first_uses = {}
        for match in term.finditer(text):
            first_uses.setdefault(match.group(1), match.start())
        for name, start in first_uses.items():
            expansion, meaning = glossary.TERMS[name]
            definition = f"{expansion}: {meaning}"
            assert text.count(definition) == 1, f"{page.name}: {name}"
            assert text[start:].startswith(
                (f"{name} ({definition})", f"{name}, {definition}")
            ), f"{page.name}: {name}"
            assert definition not in listed, f"{page.name}: {name}"
            assert definition not in compact_text, f"{page.name}: {name}"
            defined_anywhere.add(name)
        for name in set(term.findall(compact_text)) - set(first_uses):
            assert glossary.define_term(name) in listed, f"{page.name}: {name}"
            defined_anywhere.add(name)

    assert {"ACV", "WAPE", "AUC", "P10", "P50", "P90"} <= defined_anywhere


def test_manifest_keeps_paths_for_rerun(small_report, small_sample):
    manifest = json.loads((small_report.run_dir / "manifest.json").read_text())

    assert manifest["params"]["data_dir"] == str(small_sample)
    assert manifest["inputs"][0]["path"] == str(small_sample / "accounts.csv")


def test_notebooks_open_workspace_by_name(small_report):
    name = "01-account-map.ipynb"
    executed = small_report.run_dir / "notebooks" / name
    recorded = nbformat.read(executed, as_version=4).metadata.papermill

    assert recorded.parameters == {"workspace": "workspace.duckdb"}
    assert recorded.input_path == display_path(REPO / "notebooks" / name)
    assert recorded.output_path == display_path(executed)
    assert not Path(recorded.input_path).is_absolute()
    assert not Path(recorded.output_path).is_absolute()


def test_manifest_reports_sizes_and_previous_month(small_report):
    manifest = json.loads((small_report.run_dir / "manifest.json").read_text())
    sizes = manifest["html_bytes"]
    assert sizes["00-executive-summary.html"] < publish.SUMMARY_BUDGET_BYTES
    assert sizes["01-account-map.html"] < publish.SECTION_BUDGET_BYTES
    assert manifest["size_warnings"] == []
    assert manifest["headline_previous"]["as_of"] == "2026-05-31"
    assert (small_report.run_dir / "tables" / "account_map.parquet").is_file()
    assert (small_report.run_dir / "tables" / "headline_changes.parquet").is_file()
    credits = small_report.run_dir / "tables" / "attribution_credit_sums.parquet"
    assert len(pd.read_parquet(credits, columns=["linear"])) > 0


def test_summary_shows_month_over_month(small_report):
    soup = read_soup(small_report.run_dir / "00-executive-summary.html")
    table = soup.select_one("table.acctlib-changes")
    assert table is not None
    assert "31 May 2026" in table.get_text()
    assert soup.select("ul.acctlib-movements li")


def test_rebuild_is_identical(small_report, tmp_path):
    verification = verify_run(small_report.run_dir, tmp_path / "rebuild")

    assert verification.differences() == []
    assert verification.identical
    for section in SECTIONS:
        first = (small_report.run_dir / f"{section}.html").read_text()
        second = (verification.rebuilt_dir / f"{section}.html").read_text()
        assert GENERATED.search(first), section
        assert GENERATED.sub("Generated -", first) == GENERATED.sub(
            "Generated -", second
        ), section


def test_verify_finds_tampered_page_and_export(small_report, tmp_path):
    copied = tmp_path / small_report.run_dir.name
    shutil.copytree(small_report.run_dir, copied)
    summary = copied / "00-executive-summary.html"
    page = summary.read_text(encoding="utf-8")
    label = 'Bookings year to date</div><div class="value">'
    figure = re.search(re.escape(label) + r"([^<]+)<", page).group(1)
    summary.write_text(page.replace(label + figure, label + "USD 1"), "utf-8")
    exported = copied / "account_map.csv"
    with exported.open(newline="") as file:
        rows = list(csv.reader(file))
    column = rows[0].index("annual_revenue")
    original = rows[1][column]
    rows[1][column] = "1.0"
    with exported.open("w", newline="") as file:
        csv.writer(file).writerows(rows)

    verification = verify_run(copied, tmp_path / "rebuild")

    assert not verification.identical
    assert verification.files == [
        f"file account_map.csv: line 2 ({rows[0][0]} {rows[1][0]}), "
        f"annual_revenue: '1.0' -> {original!r}",
        "file 00-executive-summary.html: text line "
        f"{page_text(small_report.run_dir / summary.name).index(figure) + 1}, "
        f"after 'Bookings year to date': 'USD 1' -> {figure!r}",
    ]


def test_verify_rejects_changed_input(small_report, tmp_path):
    manifest = json.loads((small_report.run_dir / "manifest.json").read_text())
    copied = tmp_path / "run"
    copied.mkdir()
    manifest["inputs"][0]["sha256"] = "0" * 64
    (copied / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputChangedError, match=r"accounts\.csv changed"):
        verify_run(copied, tmp_path / "rebuild")
    assert not (tmp_path / "rebuild").exists()


def test_untrusted_names_stay_text_in_html(untrusted_report):
    run_dir = untrusted_report.run_dir
    for section in SECTIONS:
        soup = read_soup(run_dir / f"{section}.html")
        assert soup.find_all("img", src="x") == [], section
        scripts = [tag.get_text() for tag in soup.find_all("script")]
        charts = soup.select("div.acctlib-chart")
        # One inlined vega bundle plus one vegaEmbed call per chart: a
        # name that closed a script element would add more.
        assert len(scripts) == 1 + len(charts), section
        assert all(text.lstrip().startswith("vegaEmbed(") for text in scripts[1:])
        assert "alert(2)" not in "".join(s for s in scripts if "vegaEmbed" not in s)
    summary = read_soup(run_dir / "00-executive-summary.html")
    assert MARKUP in summary.get_text()
    static = "".join(str(tag) for tag in summary.select("noscript.acctlib-static"))
    assert "&lt;img src=x onerror=alert(1)&gt;" in static


def test_csv_outputs_neutralise_formulas(untrusted_report):
    with open(untrusted_report.run_dir / "account_map.csv", newline="") as handle:
        names = [row["name"] for row in csv.DictReader(handle)]
    formula_prefixes = [p for p in NAME_PREFIXES if p[0] in "=+-@"]
    assert len(formula_prefixes) == 4
    for prefix in formula_prefixes:
        assert any(name.startswith("'" + prefix) for name in names), prefix
    assert not [name for name in names if name[:1] in ("=", "+", "-", "@")]


def test_stage_name_reaches_chart_data(untrusted_report):
    html = (untrusted_report.run_dir / "00-executive-summary.html").read_text()
    escaped = POISONED_STAGE.replace("</", "<\\/")
    assert escaped in html
    assert POISONED_STAGE not in html


def test_no_secret_written(untrusted_report):
    password = SECRETS["ACCTLIB_SMTP_PASSWORD"].encode()
    written = [p for p in untrusted_report.run_dir.rglob("*") if p.is_file()]
    assert len(written) > 5
    for path in written:
        assert password not in path.read_bytes(), path.name


def _one_cell_notebook(folder: Path, name: str, source: str) -> None:
    notebook = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {
                "name": "acctlib",
                "display_name": "acctlib",
                "language": "python",
            }
        }
    )
    parameters = nbformat.v4.new_code_cell('workspace = ""')
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [
        nbformat.v4.new_markdown_cell(f"# {name}"),
        parameters,
        nbformat.v4.new_code_cell(source),
    ]
    nbformat.write(notebook, folder / f"{name}.ipynb")


@pytest.mark.parametrize(
    ("name", "source", "overrides", "message"),
    [
        ("97-dead-kernel", "import os\nos._exit(1)", [], r"kernel died"),
        (
            "96-timeout",
            "import time\ntime.sleep(60)",
            ["notebook_timeout_seconds=10"],
            r"cell ran longer than 10 s",
        ),
    ],
)
def test_failed_notebook_keeps_month_report(
    small_report, small_sample, monkeypatch, tmp_path, name, source, overrides, message
):
    root = small_report.run_dir.parent.parent
    before = (small_report.run_dir / "manifest.json").read_bytes()
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _one_cell_notebook(notebooks, name, source)
    monkeypatch.setattr(build, "NOTEBOOKS_DIR", notebooks)
    params = small_params(small_sample, root, f"sections=[{name}]", *overrides)

    with pytest.raises(BuildError, match=rf"{name}\.ipynb failed in cell 2.*{message}"):
        build.build_report(params)

    assert (small_report.run_dir / "manifest.json").read_bytes() == before
    assert not list((root / "reports").glob(".staging-*"))
    kept = list((root / "work" / "failed-runs").glob(f"*/{name}.ipynb"))
    assert len(kept) == 1
