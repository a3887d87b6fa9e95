"""The attribution section of a run in which no won deal has a touch."""

from __future__ import annotations

import ibis
import pytest

from acctlib import charts
from acctlib.attribution import compare, report
from acctlib.attribution.datadriven import MARKOV_SCHEMA, SHAPLEY_SCHEMA
from acctlib.params import resolve_params
from tests.attribution.blocks import CREDIT_BLOCKS
from tests.attribution.frames import AS_OF, attribute, opportunities, touches

NOTE = "acctlib-note"
OPEN_DEAL = opportunities(("O1", "A", "2024-05-01", "2025-03-31", 5000.0, "open"))


@pytest.fixture(scope="module")
def open_deal_result():
    """Attribution of one open deal with two touches and no closed deal."""
    return attribute(
        touches(
            ("T1", "A", "2024-03-01T10:00:00Z", "webinar"),
            ("T2", "A", "2024-04-01T10:00:00Z", "email"),
        ),
        OPEN_DEAL,
    )


class _Workspace:
    """The parts of a workspace that the attribution report reads."""

    def __init__(self, result):
        credits = result.fetch_credits()
        self.tables = {
            "attribution_credits": credits,
            "attribution_credit_sums": result.credit_sums.to_pandas(),
            "attribution_opportunities": result.opportunities,
            "attribution_markov": result.markov,
            "attribution_shapley": result.shapley,
            "attribution_coverage": compare.compute_coverage(
                result.opportunities, ["type"]
            ),
            "attribution_bridge": compare.compute_bridge(
                OPEN_DEAL, credits, result.excluded_opportunities
            ),
        }
        for by in ("channel", "function"):
            shares = compare.summarize_credit(credits, by)
            self.tables[f"attribution_shares_{by}"] = shares
            self.tables[f"attribution_compare_{by}"] = compare.compare_models(
                shares, by
            )
        self.tables["attribution_shares_campaign"] = compare.summarize_credit(
            result.campaign_credits, "campaign"
        )
        self.params = resolve_params(None, [])
        self.headline = {
            "attribution": {
                "robust_channels": [],
                "robust_functions": [],
                "revenue_coverage": None,
                "lookback_days": 180,
                "suggested_lookback_days": None,
            }
        }
        self.currency = "USD"
        self.as_of = AS_OF
        self.con = _Connection(self.tables)

    def table(self, name):
        return self.tables[name]

    def has_table(self, name):
        return name in self.tables


class _Connection:
    """A stand-in for the workspace's DuckDB connection."""

    def __init__(self, tables):
        self.tables = tables

    def table(self, name):
        return ibis.memtable(self.tables[name])


def test_learned_weights_keep_columns_and_dtypes(open_deal_result):
    """With no closed journey the weight tables are empty but typed."""
    markov = open_deal_result.markov
    shapley = open_deal_result.shapley
    assert markov.empty
    assert shapley.empty
    assert markov.dtypes.astype(str).to_dict() == MARKOV_SCHEMA
    assert shapley.dtypes.astype(str).to_dict() == SHAPLEY_SCHEMA


@pytest.mark.parametrize("block", CREDIT_BLOCKS)
def test_blocks_note_no_won_revenue(open_deal_result, block):
    ws = _Workspace(open_deal_result)
    output = block(ws)
    assert NOTE in output._repr_html_()


def test_pipeline_credit_still_shown(open_deal_result):
    ws = _Workspace(open_deal_result)
    html = report.credit_table(ws, "channel", kind="pipeline").to_html()
    assert "Webinar" in html
    assert NOTE not in html


def test_show_displays_note_as_is(monkeypatch):
    displayed = []
    monkeypatch.setattr("IPython.display.display", displayed.append)
    note = report.views.note("No chart.")
    charts.show(note)
    assert displayed == [note]


def test_highlights_skip_empty_chart(open_deal_result):
    blocks = report.executive_highlights(_Workspace(open_deal_result))
    html = [block._repr_html_() for block in blocks]
    assert len(html) == 4
    assert "pipeline is the 1 deal created from 01 May 2024" in html[0]
    assert "from the lookback before its creation" in html[2]
    assert "No won deal by the report date has a recorded touch" in html[3]
    assert all("vegaEmbed" not in part for part in html)
