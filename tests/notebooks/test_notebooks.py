"""Section notebooks: committed clean, and executed through papermill."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from acctlib import glossary, render
from acctlib.intake import load_source
from acctlib.prepare import prepare_workspace
from tests.conftest import small_params

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
EXPECTED_HEADINGS = {
    "00-executive-summary": [
        "Headline figures",
        "Accounts by status",
        "Open pipeline",
        "Bookings",
        "Top accounts by value",
    ],
    "01-account-map": ["Value by industry", "Marketing influence", "Customers"],
    "02-tiering": ["Tier pyramid", "Tier movement", "Threshold sensitivity"],
    "03-attribution": [
        "What matters under every model",
        "Channels under every model",
        "Marketing-sourced and influenced",
        "Reconciliation",
    ],
    "04-progression-health": [
        "Key accounts",
        "Coverage gaps",
        "At-risk accounts",
        "Stage durations",
        "Does health predict outcomes",
    ],
    "05-forecast": [
        "Most accurate method",
        "Forecast with ranges",
        "Forecast categories",
        "Backtest",
        "Win-probability calibration",
    ],
}
EXPECTED_TEXT = {
    "01-account-map": ["a contract shorter than a year is scaled up to a full year"],
    # The backtest on the sample ranks the methods and names the best one.
    "05-forecast": ["has been the most accurate for this business", "WAPE"],
}
# Abbreviations that must be defined before a table or card uses them.
DEFINED_BEFORE = {"00-executive-summary": [("ACV", "Won ACV")]}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], cell.source
            assert cell.execution_count is None, cell.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_has_tagged_parameters_cell(path):
    notebook = nbformat.read(path, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert "parameters" in code_cells[0].metadata.get("tags", [])
    assert code_cells[0].source.strip().endswith('workspace = ""')
    assert notebook.metadata["kernelspec"]["name"] == "acctlib"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_defines_no_functions(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert "def " not in cell.source
            assert "class " not in cell.source


@pytest.fixture(scope="module")
def small_workspace(small_sample, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("notebook-workspace")
    params = small_params(small_sample, root)
    path = root / "workspace.duckdb"
    prepare_workspace(load_source(params), params, path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_on_sample(path, small_workspace, tmp_path, capfd):
    executed = render.execute_notebook(
        path,
        tmp_path / path.name,
        {"workspace": str(small_workspace)},
        timeout=300,
        cwd=path.parent,
    )
    assert render.find_error_outputs(executed) == []
    headings = [entry["title"] for entry in render.extract_toc(executed)]
    for heading in EXPECTED_HEADINGS.get(path.stem, []):
        assert heading in headings
    html_outputs = [
        output
        for cell in executed.cells
        for output in cell.get("outputs", [])
        if "text/html" in output.get("data", {})
    ]
    assert html_outputs, "no table or chart was displayed"
    shown = "\n".join(output["data"]["text/html"] for output in html_outputs)
    for phrase in EXPECTED_TEXT.get(path.stem, []):
        assert phrase in shown
    page = glossary.define_first_uses(shown)
    for term, use in DEFINED_BEFORE.get(path.stem, []):
        definition = glossary.define_term(term)
        assert definition in page
        assert page.index(definition) < page.index(use), term
    # The kernel shares the test's stderr; over IPC it has nothing to warn about.
    assert "Kernel is running over TCP" not in capfd.readouterr().err
