"""Section notebooks: committed clean, and executed through papermill."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest

from acctlib import glossary, render, sample
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
    "06-data-quality": ["Records kept with a note", "Notes on the source and this run"],
}
EXPECTED_TEXT = {
    "01-account-map": ["a contract shorter than a year is scaled up to a full year"],
    "06-data-quality": ["No opportunity was rejected."],
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


# Section intros that speak of the backtest or health validation, which a
# team or owner slice computes on the whole company.
COMPANY_HISTORY_INTROS = [
    "00-executive-summary",
    "04-progression-health",
    "05-forecast",
]


@pytest.mark.parametrize("stem", COMPANY_HISTORY_INTROS)
def test_intro_names_company_history(stem):
    path = next(path for path in NOTEBOOKS if path.stem == stem)
    notebook = nbformat.read(path, as_version=4)
    text = "\n".join(
        cell.source for cell in notebook.cells if cell.cell_type == "markdown"
    )

    assert "the company's own history" in text
    assert "team's own history" not in text


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


# Pages that show what the rejected opportunities are worth.
REJECTED_VALUE_PAGES = ["00-executive-summary", "06-data-quality"]


def _reject_opportunities(folder: Path) -> dict[str, float]:
    """Break one won and one open deal of the sample, and return their amounts.

    The won deal loses its stage category and has its stage written in
    lower case, which the stage map does not list. The open deal points to
    an account that does not exist.
    """
    path = folder / "opportunities.csv"
    deals = pd.read_csv(path, dtype=str, keep_default_na=False)
    won = deals.index[deals["stage"] == "Closed Won"][0]
    open_deal = deals.index[deals["stage"] == "Proposal"][0]
    deals.loc[won, "stage"] = "closed won"
    deals.loc[won, "stage_category"] = ""
    deals.loc[open_deal, "account_id"] = "A-MISSING"
    deals.to_csv(path, index=False)
    return {
        "won": float(deals.loc[won, "amount"]),
        "open": float(deals.loc[open_deal, "amount"]),
    }


@pytest.fixture(scope="module")
def rejected_workspace(tmp_path_factory) -> tuple[Path, dict[str, float]]:
    root = tmp_path_factory.mktemp("rejected-workspace")
    data = root / "data"
    sample.write_sample(data, accounts=60)
    amounts = _reject_opportunities(data)
    params = small_params(data, root)
    path = root / "workspace.duckdb"
    prepare_workspace(load_source(params), params, path)
    return path, amounts


@pytest.mark.slow
@pytest.mark.parametrize("stem", REJECTED_VALUE_PAGES)
def test_pages_show_rejected_value(stem, rejected_workspace, tmp_path):
    workspace, amounts = rejected_workspace
    path = next(path for path in NOTEBOOKS if path.stem == stem)

    executed = render.execute_notebook(
        path,
        tmp_path / path.name,
        {"workspace": str(workspace)},
        timeout=300,
        cwd=path.parent,
    )
    page_html = "\n".join(
        output["data"]["text/html"]
        for cell in executed.cells
        for output in cell.get("outputs", [])
        if "text/html" in output.get("data", {})
    )

    assert render.find_error_outputs(executed) == []
    won = f"USD {amounts['won']:,.0f}"
    total = f"USD {amounts['won'] + amounts['open']:,.0f}"
    if stem == "00-executive-summary":
        expected = (
            f"2 rejected opportunities worth {total} (won {won}, open "
            f"USD {amounts['open']:,.0f}) are left out of these figures"
        )
        assert expected in page_html
    else:
        assert "Stage category" in page_html
        assert won in page_html
