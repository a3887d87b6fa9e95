"""Forecast display blocks read from a built report's workspace."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from acctlib import charts
from acctlib.forecast import views
from acctlib.forecast.labels import ACTUAL_STYLE, METHOD_LABELS, METHOD_STYLES
from acctlib.workspace import WORKSPACE_FILE, open_workspace


@pytest.fixture(scope="module")
def report_workspace(small_report):
    params = small_report.manifest["params"]
    path = Path(params["work_dir"]) / small_report.run_dir.name / WORKSPACE_FILE
    return open_workspace(path)


@pytest.mark.slow
def test_executive_highlights_show_forecast(report_workspace):
    headline = report_workspace.headline["forecast"]
    cards, sentence = views.executive_highlights(report_workspace)
    assert "Bookings forecast, 2026-07-01 to 2026-09-30" in cards.data
    assert "Range, P10 to P90" in cards.data
    assert headline["label"] in cards.data
    assert f"USD {headline['forecast']:,.0f}" in cards.data
    assert "has been the most accurate for this business" in sentence.data
    assert "P10 to P90 range held actual bookings at" in sentence.data


def forecast_headline(**fields) -> dict:
    """Return a forecast headline of 1,000 with a P10 to P90 of 900 to 1,100."""
    return {
        "window_start": "2026-07-01",
        "window_end": "2026-09-30",
        "forecast": 1000.0,
        "p10": 900.0,
        "p90": 1100.0,
        "sentence": "",
        **fields,
    }


def test_sliced_forecast_says_company_wide():
    headline = {
        "forecast": forecast_headline(
            label="Stage-weighted pipeline",
            sentence="No method could be backtested.",
        ),
        "slice": "owner Fatima Cohen",
    }
    ws = SimpleNamespace(headline=headline, currency="USD")
    for block in (views.executive_highlights(ws)[-1], views.best_method_note(ws)):
        assert block.data.startswith(
            '<p class="acctlib-note">The forecast covers the whole company, not '
            "only the accounts of owner Fatima Cohen."
        )


def test_won_only_warning_follows_sentence():
    headline = {
        "forecast": forecast_headline(
            label="Account-based",
            sentence="The account-based forecast has been the most accurate.",
            won_only_warning="The source records only won deals.",
            reliability="Its range held actual bookings.",
        )
    }
    ws = SimpleNamespace(headline=headline, currency="USD")
    expected = (
        "The account-based forecast has been the most accurate. The source "
        "records only won deals. Its range held actual bookings."
    )
    for block in (views.executive_highlights(ws)[-1], views.best_method_note(ws)):
        assert expected in block.data


def range_card_html(
    coverage: float | None, cutoffs: int | None, low: float = 900.0, high=1100.0
) -> str:
    headline = {
        "forecast": forecast_headline(
            p10=low,
            p90=high,
            label="Win-probability model",
            coverage=coverage,
            coverage_cutoffs=cutoffs,
        )
    }
    ws = SimpleNamespace(headline=headline, currency="USD")
    return views.executive_highlights(ws)[0].data


@pytest.mark.parametrize(
    ("method", "caveat"),
    [
        ("win_probability", True),
        ("stage_weighted", True),
        ("account_based", False),
        ("time_series", False),
    ],
)
def test_forecast_card_names_open_deals(method, caveat):
    headline = {
        "forecast": forecast_headline(method=method, label=METHOD_LABELS[method])
    }
    ws = SimpleNamespace(headline=headline, currency="USD")
    html = views.executive_highlights(ws)[0].data
    expected = (
        '<div class="caveat">Open deals only: deals not yet created are not in it</div>'
    )
    assert (expected in html) == caveat


def test_narrow_range_card_says_so():
    html = range_card_html(0.3, 10)
    assert (
        '<div class="caveat">Too narrow in the backtest: it held actual bookings '
        "at 3 of 10 past month-ends at which bookings were expected or won</div>"
    ) in html


@pytest.mark.parametrize(("coverage", "cutoffs"), [(0.8, 10), (None, None)])
def test_range_card_without_caveat(coverage, cutoffs):
    assert "caveat" not in range_card_html(coverage, cutoffs)


@pytest.mark.slow
def test_forecast_section_in_report(small_report):
    html = (small_report.run_dir / "05-forecast.html").read_text(encoding="utf-8")
    assert "has been the most accurate for this business" in html
    assert "Actual within P10-P90" in html


@pytest.mark.slow
@pytest.mark.parametrize(
    "view",
    [
        views.forecast_table,
        views.category_table,
        views.accuracy_table,
        views.calibration_table,
        views.warnings_table,
    ],
    ids=lambda view: view.__name__,
)
def test_tables_render_html(report_workspace, view):
    html = view(report_workspace).to_html()
    assert "<table" in html


@pytest.mark.slow
def test_backtest_chart_stays_small(report_workspace):
    chart = views.plot_backtest(report_workspace)
    rows = chart.to_dict()["datasets"]
    assert sum(len(values) for values in rows.values()) <= 100


@pytest.mark.slow
def test_backtest_chart_takes_report_width(report_workspace):
    chart = views.plot_backtest(report_workspace)
    assert chart.to_dict()["width"] == charts.CHART_WIDTH


def test_category_table_says_closed_is_won():
    rollup = pd.DataFrame(
        {
            "window": ["this_quarter", "this_quarter"],
            "category": ["closed", "commit"],
            "opportunities": [1196, 0],
            "amount": [51_523_000.0, 0.0],
            "cumulative": [51_523_000.0, 51_523_000.0],
        }
    )
    ws = SimpleNamespace(table=lambda name: rollup, currency="BRL")

    html = views.category_table(ws).to_html()

    assert "Closed counts the deals won in the window up to the report date" in html
    assert "count the open deals expected to close in it" in html


def backtest_workspace(methods: list[str], skipped: dict[str, str]) -> SimpleNamespace:
    """Return a stand-in workspace whose backtest ran ``methods`` at two month-ends."""
    cutoffs = pd.to_datetime(["2026-07-31", "2026-08-31"])
    backtest = pd.DataFrame(
        [
            {"cutoff": cutoff, "method": method, "forecast": 10.0, "actual": 12.0}
            for cutoff in cutoffs
            for method in methods
        ]
    )
    calibration = pd.DataFrame(columns=["decile", "deals", "predicted", "actual"])
    frames = {"forecast_backtest": backtest, "forecast_calibration": calibration}
    return SimpleNamespace(
        table=frames.__getitem__,
        headline={"forecast": {"backtest_skipped": skipped}},
        params={"forecast_horizon_months": 3, "forecast_backtest_cutoffs": 2},
        currency="USD",
    )


UNFITTED = {
    "win_probability": "at 2026-08-31, the latest month-end tested, it needed 30 "
    "stage entries of closed deals to learn from, and had 9",
    "sarimax": "at 2026-08-31, the latest month-end tested, it needed 24 months "
    "of bookings history, and had 15",
}


def test_backtest_legend_lists_drawn_series():
    ws = backtest_workspace(["stage_weighted", "time_series"], UNFITTED)
    scale = views.plot_backtest(ws).to_dict()["encoding"]["color"]["scale"]
    assert scale["domain"] == [
        "Stage-weighted pipeline",
        "Bookings trend",
        "Actual bookings",
    ]
    # Each series keeps its colour when others are missing.
    assert scale["range"] == [
        METHOD_STYLES["stage_weighted"][0],
        METHOD_STYLES["time_series"][0],
        ACTUAL_STYLE[0],
    ]


def test_backtest_methods_differ_in_colour_and_dash():
    methods = list(METHOD_STYLES)
    ws = backtest_workspace(methods, {})
    encoding = views.plot_backtest(ws).to_dict()["encoding"]
    colours = encoding["color"]["scale"]["range"]
    dashes = encoding["strokeDash"]["scale"]["range"]
    assert encoding["strokeDash"]["scale"]["domain"] == [
        *(METHOD_LABELS[method] for method in methods),
        "Actual bookings",
    ]
    assert len(set(colours)) == len(methods) + 1
    assert len({tuple(dash) for dash in dashes}) == len(methods) + 1
    assert dashes[-1] == [1, 0]
    shapes = encoding["shape"]["scale"]["range"]
    assert len(set(shapes)) == len(methods) + 1


def test_ranges_chart_title_names_window():
    forecast = pd.DataFrame(
        {
            "metric": "bookings",
            "window": "next_3_months",
            "window_start": pd.Timestamp("2018-01-01"),
            "window_end": pd.Timestamp("2018-03-31"),
            "label": ["Stage-weighted pipeline", "Account-based"],
            "forecast": [10.0, 12.0],
            "p10": [8.0, 9.0],
            "p50": [10.0, 12.0],
            "p90": [12.0, 15.0],
        }
    )
    ws = SimpleNamespace(
        table={"forecast": forecast}.__getitem__,
        headline={"forecast": {"window": "next_3_months"}},
        currency="USD",
    )
    title = views.plot_ranges(ws).to_dict()["title"]
    assert title == (
        "Bookings forecast with P10-P90 (USD), next 3 months (2018-01-01 to 2018-03-31)"
    )


def test_backtest_caption_names_skipped_methods():
    ws = backtest_workspace(["stage_weighted", "time_series"], UNFITTED)
    text = views.backtest_caption(ws).data
    assert "Dashed lines show the stage-weighted pipeline and bookings trend" in text
    assert (
        "The win-probability model forecast has no line, because it could not "
        f"be rebuilt at any month-end: {UNFITTED['win_probability']}." in text
    )
    assert (
        "The seasonal bookings model (SARIMAX) forecast has no line, because it "
        "could not "
        f"be rebuilt at any month-end: {UNFITTED['sarimax']}." in text
    )
    assert text.index("win-probability") < text.index("SARIMAX")


def test_backtest_caption_warns_won_only_source():
    ws = backtest_workspace(["stage_weighted"], {})
    ws.headline["forecast"]["won_only_warning"] = "The source records only won deals."

    text = views.backtest_caption(ws).data

    assert "The source records only won deals." in text


def test_calibration_says_model_not_fitted():
    ws = backtest_workspace(["stage_weighted"], UNFITTED)
    text = views.calibration_table(ws).data
    assert (
        "No calibration, because the win-probability model could not be fitted "
        f"at any backtest month-end: {UNFITTED['win_probability']}." in text
    )


def test_calibration_says_no_deal_closed():
    ws = backtest_workspace(["stage_weighted", "win_probability"], {})
    text = views.calibration_table(ws).data
    assert "no deal open at a month-end where the win-probability model was" in text


def test_calibration_without_backtest():
    ws = backtest_workspace([], {})
    ws.table = {
        "forecast_backtest": pd.DataFrame(columns=["cutoff", "method"]),
        "forecast_calibration": pd.DataFrame(),
    }.__getitem__
    text = views.calibration_table(ws).data
    assert "No calibration, because no past month-end was backtested." in text


def close_date_workspace(rules: dict) -> SimpleNamespace:
    """Return a stand-in workspace as of 2017-12-31 with ``rules`` in its headline."""
    windows = [
        ("current_quarter", "2017-10-01", "2017-12-31"),
        ("next_quarter", "2018-01-01", "2018-03-31"),
        ("next_12_months", "2018-01-01", "2018-12-31"),
        ("next_3_months", "2018-01-01", "2018-03-31"),
    ]
    forecast = pd.DataFrame(windows, columns=["window", "window_start", "window_end"])
    forecast[["window_start", "window_end"]] = forecast[
        ["window_start", "window_end"]
    ].apply(pd.to_datetime)
    categories = pd.DataFrame({"window": [name for name, _, _ in windows[:3]]})
    frames = {"forecast": forecast, "forecast_categories": categories}
    return SimpleNamespace(
        table=frames.__getitem__,
        headline={"forecast": {"close_date_rules": rules}},
    )


CLOSE_DATE_RULES = {
    "without_close_date_by_cycle": 0,
    "without_close_date_next_day": 2089,
    "overdue_by_cycle": 0,
    "overdue_next_day": 0,
    "cycle_days": 48,
    "next_day": "2018-01-01",
}


def test_close_date_note_counts_undated_deals():
    text = views.close_date_note(close_date_workspace(CLOSE_DATE_RULES)).data
    assert "Of the open deals, 2,089 have no close date in the CRM." in text
    assert "expected to close 48 days after its creation" in text
    assert "or on 2018-01-01, the day after the report date" in text
    assert "That places 2,089 on 2018-01-01 and 0 at creation plus 48 days." in text
    assert (
        "Deals placed on 2018-01-01 count in the next quarter and the next 12 "
        "months." in text
    )
    assert "Of the deals without a close date" not in text


def test_close_date_note_one_day_cycle():
    rules = {**CLOSE_DATE_RULES, "cycle_days": 1, "without_close_date_by_cycle": 3}
    text = views.close_date_note(close_date_workspace(rules)).data
    assert "expected to close 1 day after its creation" in text
    assert "and 3 at creation plus 1 day." in text
    assert "1 days" not in text


def test_close_date_note_splits_overdue_deals():
    rules = {
        **CLOSE_DATE_RULES,
        "without_close_date_by_cycle": 3,
        "overdue_next_day": 1,
    }
    text = views.close_date_note(close_date_workspace(rules)).data
    assert (
        "2,092 have no close date and 1 has a close date on or before the "
        "report date in the CRM." in text
    )
    assert "That places 2,090 on 2018-01-01 and 3 at creation plus 48 days." in text
    assert (
        "Of the deals without a close date, 2,089 are on 2018-01-01 and 3 at "
        "creation plus 48 days." in text
    )


def test_close_date_note_all_dated():
    rules = {**CLOSE_DATE_RULES, "without_close_date_next_day": 0}
    text = views.close_date_note(close_date_workspace(rules)).data
    assert "Every open deal has a close date after the report date" in text


@pytest.mark.parametrize("rules_apply", [True, False])
def test_close_date_note_counts_negative_amounts(rules_apply):
    rules = {**CLOSE_DATE_RULES}
    if not rules_apply:
        rules["without_close_date_next_day"] = 0
    ws = close_date_workspace(rules)
    ws.headline["forecast"]["negative_open_deals"] = 3

    text = views.close_date_note(ws).data

    assert (
        "3 open deals have a negative amount in the CRM. The forecast counts "
        "them as 0." in text
    )


def test_close_date_note_without_negative_amounts():
    text = views.close_date_note(close_date_workspace(CLOSE_DATE_RULES)).data
    assert "negative amount" not in text


def test_time_series_label_names_no_model():
    """Under 12 months of history the time-series method is a mean, not ETS."""
    from acctlib.forecast.labels import MODEL_LABELS

    label = METHOD_LABELS["time_series"]

    assert "ETS" not in label
    assert "mean" in MODEL_LABELS["mean"]


def test_range_at_zero_reads_no_bookings_expected():
    html = range_card_html(None, None, low=0.0, high=0.0)

    assert "no bookings expected" in html
    assert "USD 0 to USD 0" not in html


def test_narrow_range_card_one_month_end():
    html = range_card_html(0.0, 1)

    assert "at 0 of 1 past month-end at which" in html
