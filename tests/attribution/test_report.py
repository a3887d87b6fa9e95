"""Attribution tables of a built sample report, and the executive highlights."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pandas as pd
import pytest

from acctlib import views
from acctlib.attribution import compare, report
from acctlib.attribution.allocation import to_cents
from acctlib.attribution.datadriven import count_unconverted_journeys
from acctlib.labels import readable
from acctlib.workspace import open_workspace
from tests.attribution.frames import AS_OF, attribute, opportunities, touches


@pytest.fixture(scope="module")
def sample_workspace(small_report):
    run_dir = small_report.run_dir
    ws = open_workspace(run_dir.parent.parent / "work" / run_dir.name)
    yield ws
    ws.con.disconnect()


@pytest.mark.slow
def test_every_model_totals_closed_won(sample_workspace):
    """Each model's revenue credit equals closed-won of the snapshot to the cent."""
    snapshot = sample_workspace.table("opportunity_snapshot")
    won = snapshot[snapshot["is_won"]]
    closed_won = int(to_cents(won["amount"].fillna(0.0)).sum())
    credits = sample_workspace.table("attribution_credits")
    revenue = credits[credits["kind"] == "revenue"]
    totals = revenue.groupby("model")["credit_cents"].sum()
    assert len(totals) == 10
    assert (totals == closed_won).all()


@pytest.mark.slow
def test_credits_unpivot_the_stored_sums(small_report, sample_workspace):
    """The credits are a view with one row per model of each row of the sums."""
    con = sample_workspace.con.con
    kinds = dict(
        con.execute(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_name LIKE 'attribution_credit%'"
        ).fetchall()
    )
    assert kinds == {
        "attribution_credits": "VIEW",
        "attribution_credit_sums": "BASE TABLE",
    }
    sums = sample_workspace.con.table("attribution_credit_sums").to_pandas()
    credits = sample_workspace.con.table("attribution_credits").to_pandas()
    models = sorted(credits["model"].unique())
    assert len(models) == 10
    assert len(credits) == len(sums) * len(models)
    for model in models:
        rows = credits[credits["model"] == model]
        assert rows["credit_cents"].sum() == sums[model].sum(), model
    assert (credits["credit"] == credits["credit_cents"] / 100).all()
    tables = small_report.run_dir / "tables"
    exported = pd.read_parquet(tables / "attribution_credit_sums.parquet")
    assert sorted(exported.columns) == sorted(sums.columns)
    assert len(exported) == len(sums)
    assert not (tables / "attribution_credits.parquet").exists()


@pytest.mark.slow
def test_bridge_difference_is_zero(sample_workspace):
    bridge = sample_workspace.table("attribution_bridge").set_index("step")
    assert bridge.loc["Difference", "amount"] == 0.0
    assert bridge.loc["Closed won", "amount"] > 0


@pytest.mark.slow
def test_headline_names_robust_channels(small_report, sample_workspace):
    headline = small_report.manifest["headline"]["attribution"]
    assert headline["lookback_days"] == 180
    assert 0 < headline["revenue_coverage"] <= 1
    # The sample has lost deals with touches for the data-driven models.
    assert headline["unconverted_journeys"] > 0
    compare = sample_workspace.table("attribution_compare_channel")
    robust = compare.loc[compare["robust"], "channel"].tolist()
    assert headline["robust_channels"] == robust


@pytest.mark.slow
def test_executive_highlights_render(sample_workspace):
    """The highlights are the period, cards, two sentences and an offline chart."""
    blocks = report.executive_highlights(sample_workspace)
    html = [block._repr_html_() for block in blocks]
    assert len(html) == 6
    assert "the whole history in the data" in html[0]
    assert "acctlib-kpi" in html[1]
    assert "from the lookback before its creation" in html[2]
    assert "under every model" in html[3] or "depends on the model" in html[3]
    assert "vegaEmbed" in html[4]
    assert "How each model splits a won deal" in html[5]


@pytest.mark.slow
def test_tables_show_codes_as_words(sample_workspace):
    """Function and channel codes reach the reader as words, not identifiers."""
    functions = report.credit_table(sample_workspace, "function").to_html()
    assert ">SDR<" in functions
    assert ">Marketing<" in functions
    assert ">sdr<" not in functions
    channels = report.comparison_table(sample_workspace, "channel").to_html()
    codes = sample_workspace.table("attribution_compare_channel")["channel"]
    for code in codes[codes.str.contains("_")]:
        assert f">{code}<" not in channels
        assert f">{readable(code)}<" in channels


def test_heat_map_model_order(sample_workspace):
    chart = report.plot_shares(sample_workspace, "channel").to_dict()
    html = report.comparison_table(sample_workspace, "channel").to_html()
    labels = list(report.MODEL_LABELS.values())

    assert chart["layer"][0]["encoding"]["x"]["sort"] == labels
    places = [html.index(f">{label}<") for label in labels]
    assert places == sorted(places)


def test_heat_map_prints_each_share(sample_workspace):
    """Each cell shows its share as a figure, white on the darker cells."""
    chart = report.plot_shares(sample_workspace, "function").to_dict()
    rects, figures = chart["layer"]
    shares = sample_workspace.table("attribution_shares_function")
    shares = shares[shares["function"] != compare.NO_TOUCH]

    assert rects["mark"]["type"] == "rect"
    assert figures["mark"]["type"] == "text"
    assert figures["encoding"]["text"] == {
        "field": "share",
        "format": ".1%",
        "type": "quantitative",
    }
    # One decimal, as in the comparison table, in cells wide enough for
    # "100.0%".
    assert chart["width"] == {"step": 46}
    rows = chart["datasets"][chart["data"]["name"]]
    assert len(rows) == len(shares)
    darkest = max(rows, key=lambda row: row["share"])
    palest = min(rows, key=lambda row: row["share"])
    assert darkest["dark"] and not palest["dark"]


def test_models_note_describes_each_model(sample_workspace):
    text = report.models_note(sample_workspace)._repr_html_()
    half_life = sample_workspace.params["attribution_half_life_days"]

    for label in report.MODEL_LABELS.values():
        assert f"{label} gives " in text
    assert f"half as much for each {float(half_life):g} days further back" in text
    assert "40% each to the first and last touch" in text


def test_correlation_table_orders_models(sample_workspace):
    html = report.rank_correlation_table(sample_workspace).to_html()
    head, body = html.split("<tbody>")
    labels = list(report.MODEL_LABELS.values())

    for part in (head, body):
        places = [part.index(f">{label}<") for label in labels]
        assert places == sorted(places)


def test_answer_cards_name_the_top_count():
    ws = SimpleNamespace(
        headline={
            "attribution": {
                "robust_channels": ["paid_search"],
                "robust_functions": [],
                "revenue_coverage": 0.5,
                "lookback_days": 180,
            }
        },
        params={"attribution_robust_top": 3},
    )

    cards = report.answer_cards(ws).data

    assert "Channels in the top 3 under every model" in cards
    assert "Functions in the top 3 under every model" in cards
    assert "Functions are the teams" not in cards


def test_answer_cards_explain_functions_in_text():
    ws = SimpleNamespace(
        headline={
            "attribution": {
                "robust_channels": [],
                "robust_functions": ["marketing", "ae", "cs"],
                "revenue_coverage": 0.5,
                "lookback_days": 180,
            }
        },
        params={"attribution_robust_top": 3},
    )

    cards = report.answer_cards(ws).data

    assert (
        '<p class="acctlib-note">Functions are the teams whose people made the '
        "touches, such as Marketing, AE, CS.</p>"
    ) in cards


def test_lookback_note_explains_days():
    ws = SimpleNamespace(
        headline={"attribution": {"lookback_days": 180, "suggested_lookback_days": 360}}
    )

    text = report.lookback_note(ws).data

    assert "from the lookback before its creation" in text
    assert "up to the end of its close date" in text
    assert "This report used a lookback of 180 days." in text
    assert "journeys suggest 360 days" in text


def test_lookback_note_without_suggestion():
    ws = SimpleNamespace(
        headline={"attribution": {"lookback_days": 90, "suggested_lookback_days": None}}
    )

    text = report.lookback_note(ws).data

    assert "This report used a lookback of 90 days." in text
    assert "suggest" not in text


class _AnswerWorkspace:
    """A workspace stub with the attribution tables that answer_note reads."""

    def __init__(self, robust: list[str]) -> None:
        self.headline = {"attribution": {"robust_channels": robust}}
        self.params = {"attribution_robust_top": 3}
        self.frames = {
            "attribution_shares_channel": pd.DataFrame(
                {"channel": ["outbound_email", "paid_search"]}
            ),
            "attribution_compare_channel": pd.DataFrame(
                {
                    "channel": ["outbound_email", "paid_search"],
                    "min_share": [0.122, 0.2],
                    "max_share": [0.299, 0.25],
                }
            ),
        }

    def table(self, name: str) -> pd.DataFrame:
        return self.frames[name].copy()


def test_answer_note_claims_rank_not_share():
    text = report.answer_note(_AnswerWorkspace(["outbound_email"])).data

    assert "does not depend on the choice of model" not in text
    assert "Outbound email ranks in the top 3 channels under every model" in text
    assert "its place among channels does not depend on the model" in text
    assert "it ranges from 12.2% to 29.9% across the models" in text


def test_answer_note_gives_each_share_range():
    ws = _AnswerWorkspace(["outbound_email", "paid_search"])

    text = report.answer_note(ws).data

    assert "their place among channels does not depend on the model" in text
    assert "Outbound email 12.2% to 29.9%" in text
    assert "Paid search 20.0% to 25.0%" in text


@pytest.mark.slow
def test_pipeline_credit_caption_gives_pipeline_coverage(sample_workspace):
    html = report.credit_table(sample_workspace, "channel", kind="pipeline").to_html()
    assert "Credit of pipeline created by channel." in html
    assert "of the pipeline created has a recorded touch." in html
    assert "of won revenue has a recorded touch" not in html


@pytest.mark.slow
def test_revenue_credit_caption_gives_revenue_coverage(sample_workspace):
    html = report.credit_table(sample_workspace, "channel").to_html()
    assert "of the won revenue has a recorded touch." in html


def test_touched_share_leaves_out_untouched_credit():
    table = pd.DataFrame(
        {"linear": [300.0, 100.0], "first_touch": [300.0, 100.0]},
        index=["paid_search", report.NO_TOUCH],
    )
    assert report._touched_share(table) == pytest.approx(0.75)
    assert report._touched_share(table.drop(index=report.NO_TOUCH)) == 1.0
    assert report._touched_share(table * 0) is None


class _WeightsWorkspace:
    """A workspace stub with the Markov and Shapley tables."""

    def __init__(self, models: list[str], unconverted: int | None = None) -> None:
        channels = ["paid_search", "webinar", "direct_mail", "podcast"]
        self.params = {
            "attribution_models": models,
            "attribution_shapley_max_channels": 2,
        }
        self.headline = {"attribution": {"unconverted_journeys": unconverted}}
        self.tables = {
            "attribution_markov": pd.DataFrame(
                {
                    "channel": channels,
                    "removal_effect": [0.5, 0.3, 0.1, 0.1],
                    "share": [0.5, 0.3, 0.1, 0.1],
                }
            ),
            "attribution_shapley": pd.DataFrame(
                {
                    "channel": channels,
                    "player": ["paid_search", "webinar", "other", "other"],
                    "share": [0.6, 0.327, 0.073, 0.073],
                }
            ),
        }

    def table(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def test_shapley_rows_give_other_share_once():
    shapley = _WeightsWorkspace(["shapley"]).table("attribution_shapley")
    rows = report._shapley_rows(shapley).set_index("channel")
    assert rows["share"].sum() == pytest.approx(1.0)
    assert rows.loc["Other (Direct mail, Podcast)", "share"] == pytest.approx(0.073)
    assert pd.isna(rows.loc["podcast", "share"])
    assert rows.loc["podcast", "player"] == "other"


def test_weights_table_shows_other_once():
    ws = _WeightsWorkspace(["markov", "shapley"])
    html = report.learned_weights_table(ws).to_html()
    assert html.count("7.3%") == 1
    assert ">Other (Direct mail, Podcast)<" in html
    assert ">Podcast<" in html
    assert 'on the row "Other (...)" that lists them' in html


def test_weights_table_names_weights():
    """Columns are labelled weights, and the caption explains the credit."""
    html = report.learned_weights_table(_WeightsWorkspace(["markov", "shapley"]))
    html = html.to_html()
    assert ">Markov weight<" in html
    assert ">Shapley weight<" in html
    assert "share<" not in html
    assert "in proportion to their weights" in html
    assert "can differ from its weight" in html


def test_weights_table_explains_other_split():
    html = report.learned_weights_table(_WeightsWorkspace(["shapley"])).to_html()
    assert "the 1 channel on the most won and lost journeys is a player" in html
    assert "split equally over the touches of those channels" in html


def test_weights_table_without_markov_folds_other():
    html = report.learned_weights_table(_WeightsWorkspace(["shapley"])).to_html()
    assert html.count("7.3%") == 1
    assert ">Other (Direct mail, Podcast)<" in html
    assert ">Podcast<" not in html


@pytest.mark.parametrize(
    ("unconverted", "warned"), [(0, True), (3, False), (None, False)]
)
def test_weights_table_warns_all_converted(unconverted, warned):
    ws = _WeightsWorkspace(["markov", "shapley"], unconverted)

    html = report.learned_weights_table(ws).to_html()

    assert (report.ALL_CONVERT in html) is warned


def _models_workspace(unconverted: int | None) -> SimpleNamespace:
    shares = pd.DataFrame({"model": ["linear", "markov", "shapley"]})
    return SimpleNamespace(
        table=lambda name: shares,
        params={"attribution_half_life_days": 7},
        headline={"attribution": {"unconverted_journeys": unconverted}},
    )


def test_models_note_without_lost_journeys():
    text = report.models_note(_models_workspace(0))._repr_html_()

    assert "won and lost deals" not in text
    assert text.count("learned from won deals alone") == 2


def test_models_note_with_lost_journeys():
    text = report.models_note(_models_workspace(2))._repr_html_()

    assert text.count("learned from the won and lost deals") == 2


def test_unconverted_journeys_count_lost_touched():
    deals = opportunities(
        ("W", "A", "2024-03-01", "2024-04-01", 100, "won"),
        ("L", "B", "2024-03-01", "2024-04-01", 100, "lost"),
        ("U", "C", "2024-03-01", "2024-04-01", 100, "lost"),
    )
    touch_frame = touches(
        ("t1", "A", "2024-02-01", "email"),
        ("t2", "B", "2024-02-01", "webinar"),
    )
    result = attribute(touch_frame, deals)

    assert count_unconverted_journeys(result.opportunities) == 1
    won = result.opportunities[result.opportunities["outcome"] == "won"]
    assert count_unconverted_journeys(won) == 0


@pytest.mark.slow
def test_period_note_gives_dates(sample_workspace):
    text = report.period_note(sample_workspace).data
    bridge = sample_workspace.table("attribution_bridge").set_index("step")
    won = int(bridge.loc["Closed won", "opportunities"])

    last_close = bridge.loc["Closed won", "last_close"]

    assert "won revenue is every deal won from " in text
    assert f"to {last_close:%d %b %Y}, the whole history" in text
    assert f": {won:,} deals, USD " in text
    assert "pipeline is the " in text
    assert " deals created from " in text


def test_period_note_counts_deals_without_amount():
    """The won range covers every won deal, and the note counts those with an amount."""
    deals = opportunities(
        ("O1", "A", "2017-11-01", "2017-12-05", None, "won"),
        ("O2", "B", "2018-07-01", "2018-08-17", 1_000, "won"),
        ("O3", "C", "2018-10-01", "2018-11-14", None, "won"),
    )
    result = attribute(touches(("t1", "B", "2018-07-01", "paid_search")), deals)
    bridge = compare.compute_bridge(
        deals, result.credits, result.excluded_opportunities
    )
    frames = {
        "attribution_opportunities": result.opportunities,
        "attribution_bridge": bridge,
        "opportunity_snapshot": deals,
    }
    ws = SimpleNamespace(
        headline={"attribution": {}},
        currency="BRL",
        as_of=AS_OF,
        table=frames.__getitem__,
        has_table=frames.__contains__,
    )

    text = report.period_note(ws).data

    assert "every deal won from 05 Dec 2017 to 14 Nov 2018," in text
    assert ": 3 deals, BRL 1,000. " in text
    assert "cover the 1 deal with an amount above zero, BRL 1,000; " in text
    assert "; 2 deals without an amount are left out. " in text
    assert "pipeline is the 1 deal created from 01 Jul 2018 to " in text
    assert "; 2 deals without an amount are left out." in text


def _period_workspace(deals: pd.DataFrame, touch_frame: pd.DataFrame):
    """Return a workspace stub with the attribution tables of ``deals``."""
    result = attribute(touch_frame, deals)
    bridge = compare.compute_bridge(
        deals, result.credits, result.excluded_opportunities
    )
    frames = {
        "attribution_opportunities": result.opportunities,
        "attribution_bridge": bridge,
        "opportunity_snapshot": deals,
    }
    return SimpleNamespace(
        headline={"attribution": {}},
        currency="USD",
        as_of=AS_OF,
        table=frames.__getitem__,
        has_table=frames.__contains__,
    )


def test_period_note_names_negative_won_deal():
    """A refund won at a negative amount is named with the credited base."""
    deals = opportunities(
        ("O1", "A", "2018-07-01", "2018-08-17", 300_000, "won"),
        ("O2", "B", "2018-07-01", "2018-08-20", 100_000, "won"),
        ("O3", "C", "2018-09-01", "2018-10-14", -5_000, "won"),
    )
    ws = _period_workspace(deals, touches(("t1", "A", "2018-07-01", "email")))

    text = report.period_note(ws).data

    assert ": 3 deals, USD 395,000. " in text
    assert "cover the 2 deals with an amount above zero, USD 400,000; " in text
    assert "1 deal with an amount of zero or less (USD −5,000) is left out." in text
    assert "pipeline is the 2 deals created from " in text
    # The email digest finds the note by this class to show it by the chart.
    assert f'class="acctlib-note {views.PERIOD_NOTE_CLASS}"' in text
    assert "; 1 deal with an amount of zero or less is left out." in text
    assert "usable" not in text


def test_bridge_names_negative_won_deal():
    deals = opportunities(
        ("O1", "A", "2018-07-01", "2018-08-17", 300_000, "won"),
        ("O3", "C", "2018-09-01", "2018-10-14", -5_000, "won"),
    )
    ws = _period_workspace(deals, touches(("t1", "A", "2018-07-01", "email")))

    bridge = ws.table("attribution_bridge").set_index("step")

    assert bridge.loc["Excluded: amount of zero or less", "amount"] == -5_000


@pytest.mark.slow
def test_tier_tables_name_tiers(sample_workspace):
    credit = report.tier_credit_table(sample_workspace).to_html()
    coverage = report.coverage_table(sample_workspace).to_html()

    assert ">Tier 1 Strategic<" in credit
    assert ">Total<" in credit
    assert ">Tier 1 Strategic<" in coverage
    assert ">1<" not in coverage


@pytest.mark.slow
def test_excluded_touches_in_words(sample_workspace):
    html = report.excluded_touches_table(sample_workspace).to_html()

    assert ">Won revenue<" in html
    assert ">After last close<" in html
    assert ">revenue<" not in html


class _CampaignWorkspace:
    """A workspace stub with channel and campaign credit shares."""

    def __init__(self, campaigns: list[str]) -> None:
        self.currency = "BRL"
        self.tables = {
            "attribution_shares_channel": pd.DataFrame({"channel": ["paid_search"]}),
            "attribution_shares_campaign": pd.DataFrame(
                {
                    "campaign": campaigns,
                    "model": ["linear"] * len(campaigns),
                    "credit": [300.0, 200.0][: len(campaigns)],
                }
            ),
        }

    def table(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def test_campaigns_shown_as_written():
    campaigns = ["fbc24da54d531c6204ae2d17b1090bb1", "spring_launch"]

    html = report.top_campaigns_table(_CampaignWorkspace(campaigns)).to_html()

    assert ">fbc24da54d531c6204ae2d17b1090bb1<" in html
    assert ">spring_launch<" in html
    assert "Fbc24da5" not in html


def _credit_workspace(deals: pd.DataFrame, touch_frame: pd.DataFrame):
    """Return a workspace stub with the credits and bridge of ``deals``."""
    ws = _period_workspace(deals, touch_frame)
    result = attribute(touch_frame, deals)
    ws.con = SimpleNamespace(table=lambda name: result.credits)
    ws.headline = {"attribution": {"revenue_coverage": 1.0}}
    return ws


def _column_cells(html: str, label: str) -> list[str]:
    """Return the shown cells of the table column headed ``label``."""
    head, body = html.split("<tbody>")
    headers = re.findall(r"<th [^>]*>([^<]*)</th>", head)
    column = headers.index(label)
    rows = re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    return [re.findall(r"<td [^>]*>([^<]*)</td>", row)[column] for row in rows]


def test_credit_table_small_amounts_in_cents():
    """Deals worth 1 show cents, so a half of one does not round to 0."""
    deals = opportunities(
        ("O1", "A", "2024-03-01", "2024-04-01", 1, "won"),
        ("O2", "B", "2024-03-01", "2024-04-01", 1, "won"),
    )
    touch_frame = touches(
        ("t1", "A", "2024-02-01", "email"),
        ("t2", "A", "2024-02-10", "webinar"),
        ("t3", "B", "2024-02-01", "email"),
    )
    html = report.credit_table(_credit_workspace(deals, touch_frame)).to_html()

    assert _column_cells(html, "Linear") == ["1.50", "0.50", "2.00"]
    assert "rounded to whole units" not in html


def test_credit_table_rows_add_up_to_total():
    """Whole units: each column's shown rows add up to its shown total."""
    deals = opportunities(
        ("O1", "A", "2024-03-01", "2024-04-01", 1_000.5, "won"),
        ("O2", "B", "2024-03-01", "2024-04-01", 1_000.5, "won"),
        ("O3", "C", "2024-03-01", "2024-04-01", 1_000.5, "won"),
    )
    touch_frame = touches(
        ("t1", "A", "2024-02-01", "email"),
        ("t2", "B", "2024-02-01", "webinar"),
        ("t3", "C", "2024-02-01", "paid_search"),
    )
    html = report.credit_table(_credit_workspace(deals, touch_frame)).to_html()
    cells = _column_cells(html, "Linear")
    numbers = [int(cell.replace(",", "")) for cell in cells]

    assert numbers[-1] == 3_002
    assert sum(numbers[:-1]) == numbers[-1]
    assert "each column's rows add up to its total" in html


def test_bridge_rows_add_up_as_shown():
    deals = opportunities(
        ("O1", "A", "2024-03-01", "2024-04-01", 1_000.5, "won"),
        ("O2", "B", "2024-03-01", "2024-04-01", 1_000.5, "won"),
        ("O3", "C", "2024-03-01", "2024-04-01", 1_000.5, "won"),
    )
    ws = _credit_workspace(deals, touches(("t1", "A", "2024-02-01", "email")))
    html = report.bridge_table(ws).to_html()
    cells = _column_cells(html, "Amount")

    assert cells == ["USD 3,002", "USD 1,001", "USD 2,001", "USD 0"]
    assert '"Credited to touches" and "No recorded touch" add up to' in html
    assert "No won deal was left out" in html


def test_bridge_names_excluded_rows():
    deals = opportunities(
        ("O1", "A", "2018-07-01", "2018-08-17", 3, "won"),
        ("O3", "C", "2018-09-01", "2018-10-14", -1, "won"),
    )
    ws = _period_workspace(deals, touches(("t1", "A", "2018-07-01", "email")))
    html = report.bridge_table(ws).to_html()

    assert _column_cells(html, "Amount") == [
        "USD 2.00",
        "USD 3.00",
        "USD 0.00",
        "USD −1.00",
        "USD 0.00",
    ]
    assert '"Excluded: amount of zero or less" add up to' in html
    assert "No won deal was left out" not in html


def test_excluded_touches_table_has_caption():
    frame = pd.DataFrame(
        {"kind": ["revenue"], "reason": ["outside window"], "touches": [3]}
    )
    ws = SimpleNamespace(table=lambda name: frame)
    html = report.excluded_touches_table(ws).to_html()
    assert "<caption>Known touches that joined no deal" in html


def _correlation_workspace(first_touch: list[float]):
    """Return a stub whose creation-touch model gives every channel one share."""
    nan = float("nan")
    frame = pd.DataFrame(
        {
            "model": ["first_touch", "creation_touch", "linear"],
            "first_touch": first_touch,
            "creation_touch": [nan, nan, nan],
            "linear": [first_touch[2], nan, 1.0],
        }
    )
    shares = pd.DataFrame({"channel": ["email"], "model": ["linear"]})
    stored = {
        "attribution_rank_correlation": frame,
        "attribution_shares_channel": shares,
    }
    return SimpleNamespace(table=stored.__getitem__)


def test_correlation_caption_names_tied_model():
    ws = _correlation_workspace([1.0, float("nan"), 0.5])
    html = report.rank_correlation_table(ws).to_html()
    assert "Opportunity-creation touch gives every channel the same share" in html
    assert "First touch gives" not in html


def test_correlation_caption_when_all_missing():
    nan = float("nan")
    ws = _correlation_workspace([nan, nan, nan])
    ws.table("attribution_rank_correlation")["linear"] = nan
    html = report.rank_correlation_table(ws).to_html()
    assert "No two models have a correlation" in html


def test_models_note_lists_each_model():
    shares = pd.DataFrame({"model": ["first_touch", "full_path", "markov"]})
    ws = SimpleNamespace(
        table=lambda name: shares,
        params={"attribution_half_life_days": 7},
        headline={},
    )
    text = report.models_note(ws).data

    assert text.count("<li>") == 3
    assert "<li>First touch gives all of it to the first touch.</li>" in text
    assert "; " not in text
    assert "no lead-creation date" in text
    assert "splits each deal among its journey&#x27;s channels" in text
