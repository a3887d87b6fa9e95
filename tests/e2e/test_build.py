"""End-to-end builds: the run folder, its manifest and its HTML."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from acctlib import build, charts, render
from acctlib.errors import BuildError
from acctlib.params import load_declarations
from tests.conftest import small_params

pytestmark = pytest.mark.slow

SECTIONS = load_declarations()["sections"].default


def test_run_folder_has_every_file(small_report):
    run_dir = small_report.run_dir
    assert run_dir.name == "2026-06-30"
    for name in ["index.html", "manifest.json", "rejected_rows.csv", "account_map.csv"]:
        assert (run_dir / name).is_file(), name
    for section in SECTIONS:
        assert (run_dir / f"{section}.html").is_file(), section
        assert (run_dir / "notebooks" / f"{section}.ipynb").is_file(), section
    assert not list(run_dir.parent.glob(".staging-*"))


def test_manifest_records_inputs_and_params(small_report, small_sample):
    manifest = json.loads((small_report.run_dir / "manifest.json").read_text())
    assert manifest["as_of"] == "2026-06-30"
    assert manifest["params"]["data_dir"] == str(small_sample)
    assert manifest["sections"] == SECTIONS
    by_table = {item["table"]: item for item in manifest["inputs"]}
    accounts_file = small_sample / "accounts.csv"
    expected_sha = hashlib.sha256(accounts_file.read_bytes()).hexdigest()
    assert by_table["accounts"]["sha256"] == expected_sha
    assert by_table["accounts"]["rows"] == 200
    assert {"pandas", "duckdb", "papermill", "altair"} <= set(manifest["packages"])
    assert "git_commit" in manifest
    assert manifest["timings_seconds"]["total"] > 0
    steps = {
        name.removeprefix("prepare:"): seconds
        for name, seconds in manifest["timings_seconds"].items()
        if name.startswith("prepare:")
    }
    assert {"account_map", "attribution", "forecast"} <= set(steps)
    assert sum(steps.values()) <= manifest["timings_seconds"]["prepare"]
    assert manifest["headline"]["accounts_by_status"]
    assert sum(manifest["headline"]["accounts_by_status"].values()) == 200


def test_executed_notebooks_have_no_errors(small_report):
    for section in SECTIONS:
        path = small_report.run_dir / "notebooks" / f"{section}.ipynb"
        notebook = nbformat.read(path, as_version=4)
        assert render.find_error_outputs(notebook) == []


@pytest.mark.parametrize("section", SECTIONS)
def test_html_hides_code_and_prompts(small_report, section):
    html = (small_report.run_dir / f"{section}.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "html.parser")
    assert (
        soup.select(".jp-CodeCell .jp-InputArea, .jp-InputPrompt, .jp-OutputPrompt")
        == []
    )
    assert (
        soup.select(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']")
        == []
    )
    assert "workspace = " not in soup.get_text()
    assert "2026-06-30" in soup.get_text()


@pytest.mark.parametrize("section", SECTIONS)
def test_html_loads_nothing_remote(small_report, section):
    html = (small_report.run_dir / f"{section}.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "html.parser")
    assert [tag["src"] for tag in soup.find_all(src=True)] == []
    assert [tag["href"] for tag in soup.find_all("link", href=True)] == []
    assert not re.search(r"@import\s+url\(\s*[\"']?(https?:)?//", html)
    if not soup.select("div.acctlib-chart"):
        # The data-quality section shows tables only and inlines no bundle.
        assert html.count(charts.vega_bundle()[:400]) == 0
        return
    assert html.count(charts.vega_bundle()[:400]) == 1
    assert "vegaEmbed(" in html


def test_executive_summary_has_two_charts(small_report):
    html = (small_report.run_dir / "00-executive-summary.html").read_text()
    assert len(re.findall(r'class="acctlib-chart"', html)) >= 2


def test_reports_index_lists_run(small_report):
    index = (small_report.run_dir.parent / "index.html").read_text()
    assert 'href="2026-06-30/index.html"' in index


def _failing_notebook(folder: Path) -> None:
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
        nbformat.v4.new_markdown_cell("# Broken"),
        parameters,
        nbformat.v4.new_code_cell("raise ValueError('broken section')"),
    ]
    nbformat.write(notebook, folder / "99-broken.ipynb")


def test_failed_build_keeps_previous_report(small_sample, tmp_path, monkeypatch):
    first = build.build_report(small_params(small_sample, tmp_path))
    before = (first.run_dir / "manifest.json").read_bytes()

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _failing_notebook(notebooks)
    monkeypatch.setattr(build, "NOTEBOOKS_DIR", notebooks)
    params = small_params(small_sample, tmp_path, "sections=[99-broken]")
    with pytest.raises(
        BuildError, match=r"99-broken.ipynb failed in cell 2.*broken section"
    ):
        build.build_report(params)

    assert (first.run_dir / "manifest.json").read_bytes() == before
    assert not list((tmp_path / "reports").glob(".staging-*"))
    kept = list((tmp_path / "work" / "failed-runs").glob("*/99-broken.ipynb"))
    assert len(kept) == 1


def test_invalid_notebook_names_it(small_sample, tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "98-invalid.ipynb").write_text("{}")
    monkeypatch.setattr(build, "NOTEBOOKS_DIR", notebooks)
    params = small_params(small_sample, tmp_path, "sections=[98-invalid]")
    with pytest.raises(BuildError, match=r"98-invalid.ipynb failed"):
        build.build_report(params)
    assert not (tmp_path / "reports" / "2026-06-30").exists()


def test_cli_reports_unknown_parameter(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "acctlib.cli", "build", "--set", "no_such=1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "unknown parameter 'no_such'" in result.stderr


def test_cli_reports_unreadable_input(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "accounts.csv").write_bytes(b"")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "acctlib.cli",
            "build",
            "--set",
            f"data_dir={data}",
            "--set",
            f"reports_dir={tmp_path / 'reports'}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "accounts.csv is empty" in result.stderr
    assert not (tmp_path / "reports").exists()
