"""Prepare and report attribution with fewer models than the default list."""

from __future__ import annotations

import altair as alt
import pytest

from acctlib import charts
from acctlib.attribution import report
from acctlib.attribution.datadriven import MARKOV_SCHEMA, SHAPLEY_SCHEMA
from acctlib.attribution.prepare import prepare_attribution
from acctlib.intake import load_source
from acctlib.prepare import prepare_account_map, prepare_workspace
from acctlib.workspace import open_workspace
from tests.attribution.blocks import CREDIT_BLOCKS
from tests.conftest import small_params

BLOCKS = [report.answer_cards, *CREDIT_BLOCKS, report.bridge_table]


@pytest.fixture(scope="module", params=["[linear]", "[linear,markov]", "[shapley]"])
def reduced_workspace(request, small_sample, tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    params = small_params(
        small_sample,
        root,
        f"attribution_models={request.param}",
        "attribution_bootstrap_samples=10",
    )
    path = root / "workspace.duckdb"
    prepare_workspace(
        load_source(params), params, path, [prepare_account_map, prepare_attribution]
    )
    ws = open_workspace(path)
    yield ws
    ws.con.disconnect()


def test_weight_tables_keep_their_columns(reduced_workspace):
    markov = reduced_workspace.table("attribution_markov")
    shapley = reduced_workspace.table("attribution_shapley")
    assert list(markov.columns) == list(MARKOV_SCHEMA)
    assert list(shapley.columns) == list(SHAPLEY_SCHEMA)
    models = reduced_workspace.params["attribution_models"]
    assert markov.empty == ("markov" not in models)
    assert shapley.empty == ("shapley" not in models)


def test_credits_list_only_the_models_run(reduced_workspace):
    shares = reduced_workspace.table("attribution_shares_channel")
    models = reduced_workspace.params["attribution_models"]
    assert sorted(shares["model"].unique()) == sorted(models)


@pytest.mark.parametrize("block", BLOCKS)
def test_every_block_renders(reduced_workspace, block):
    output = block(reduced_workspace)
    if isinstance(output, alt.TopLevelMixin):
        html = charts.chart_html(output)
    else:
        html = output._repr_html_()
    assert html


def test_weights_name_the_model_not_run(reduced_workspace):
    models = reduced_workspace.params["attribution_models"]
    html = report.learned_weights_table(reduced_workspace)._repr_html_()
    if models == ["linear"]:
        assert "Neither the Markov nor the Shapley model" in html
    if models == ["linear", "markov"]:
        assert "The Shapley model was not run" in html
        assert "Markov weight" in html
        assert "Shapley weight" not in html
    if models == ["shapley"]:
        assert "The Markov model was not run" in html
        assert "Shapley weight" in html
        assert "Markov weight" not in html


def test_intervals_note_linear_not_run(reduced_workspace):
    models = reduced_workspace.params["attribution_models"]
    output = report.plot_intervals(reduced_workspace)
    if "linear" in models:
        assert isinstance(output, alt.TopLevelMixin)
    else:
        assert "The Linear model was not run" in output._repr_html_()
