"""Backtest cut-offs, accuracy scores, the sentence and as-of discipline."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd
import pytest

from acctlib.accountmap import compute_headline
from acctlib.asof import snapshot_opportunities
from acctlib.forecast.backtest import (
    backtest_cutoffs,
    describe_best_method,
    describe_reliability,
    describe_won_only_source,
    run_backtest,
    summarize_accuracy,
)
from acctlib.forecast.methods import ForecastSettings
from acctlib.forecast.state import ForecastInputs, compute_state
from acctlib.forecast.winprob import TouchIndex
from acctlib.intake import load_source
from tests.conftest import small_params
from tests.forecast.factories import STAGE_MAP, make_opportunities


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (dt.date(2026, 6, 30), ["2026-01-31", "2026-02-28", "2026-03-31"]),
        (dt.date(2026, 6, 15), ["2025-12-31", "2026-01-31", "2026-02-28"]),
    ],
)
def test_cutoffs_leave_room_for_horizon(as_of, expected):
    cutoffs = backtest_cutoffs(as_of, 3, 3)
    assert [cutoff.isoformat() for cutoff in cutoffs] == expected


def backtest_rows(rows) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["cutoff", "method", "forecast", "p10", "p90", "actual"]
    )


def test_accuracy_hand_checked():
    forecasts = backtest_rows(
        [
            ("2026-01-31", "stage_weighted", 90.0, 80.0, 120.0, 100.0),
            ("2026-02-28", "stage_weighted", 130.0, 105.0, 150.0, 100.0),
            ("2026-01-31", "time_series", 100.0, 90.0, 110.0, 100.0),
            ("2026-02-28", "time_series", 110.0, 90.0, 130.0, 100.0),
        ]
    )
    accuracy = summarize_accuracy(forecasts).set_index("method")
    # stage_weighted: |−10| + |30| over 200 actual; bias (−10 + 30) / 200.
    assert accuracy.loc["stage_weighted", "wape"] == pytest.approx(0.2)
    assert accuracy.loc["stage_weighted", "bias"] == pytest.approx(0.1)
    assert accuracy.loc["stage_weighted", "coverage"] == pytest.approx(0.5)
    assert accuracy.loc["time_series", "wape"] == pytest.approx(0.05)
    assert accuracy.loc["time_series", "coverage"] == pytest.approx(1.0)
    assert accuracy.loc["time_series", "rank"] == 1
    assert accuracy.loc["stage_weighted", "rank"] == 2


def test_methods_compared_on_shared_cutoffs():
    rows = [
        (cutoff, "stage_weighted", 100.0, 0.0, 200.0, 100.0)
        for cutoff in ("2026-01-31", "2026-02-28", "2026-03-31")
    ]
    # The model missed the first cut-off; its one big miss there must not
    # count against the stage-weighted forecast's comparison.
    rows[0] = ("2026-01-31", "stage_weighted", 400.0, 0.0, 500.0, 100.0)
    rows += [
        ("2026-02-28", "win_probability", 110.0, 0.0, 200.0, 100.0),
        ("2026-03-31", "win_probability", 110.0, 0.0, 200.0, 100.0),
        ("2026-03-31", "sarimax", 100.0, 0.0, 200.0, 100.0),
    ]
    accuracy = summarize_accuracy(backtest_rows(rows)).set_index("method")
    assert accuracy.loc["stage_weighted", "cutoffs"] == 2
    assert accuracy.loc["stage_weighted", "wape"] == pytest.approx(0.0)
    assert accuracy.loc["win_probability", "rank"] == 2
    assert pd.isna(accuracy.loc["sarimax", "rank"])


def test_sentence_names_one_month_horizon():
    accuracy = pd.DataFrame(
        {
            "method": ["account_based"],
            "label": ["Account-based"],
            "cutoffs": [12],
            "wape": [0.15],
            "bias": [0.0],
            "coverage": [0.8],
            "rank": [1],
        }
    )

    sentence = describe_best_method(accuracy, 1)

    assert "its forecasts of the next month's bookings were off" in sentence


def test_sentence_names_best_method_and_margin():
    accuracy = pd.DataFrame(
        {
            "method": ["account_based", "time_series"],
            "label": ["Account-based", "Bookings trend"],
            "cutoffs": [12, 12],
            "wape": [0.15, 0.21],
            "bias": [0.0, 0.0],
            "coverage": [0.8, 0.8],
            "rank": [1, 2],
        }
    )
    sentence = describe_best_method(accuracy, 3)
    assert sentence == (
        "Over the last 12 month-ends, the account-based forecast has been the "
        "most accurate for this business: its forecasts of the next 3 months' "
        "bookings were off by 15% of actual bookings (WAPE), 6 percentage "
        "points better than the next best, the bookings trend forecast (21%)."
    )


def test_sentence_names_scored_month_ends():
    accuracy = pd.DataFrame(
        {
            "method": ["win_probability"],
            "label": ["Win-probability model"],
            "cutoffs": [10],
            "wape": [0.1],
            "bias": [0.0],
            "coverage": [0.3],
            "rank": [1],
        }
    )
    sentence = describe_best_method(accuracy, 3, cutoffs_requested=12)
    assert sentence.startswith(
        "Over 10 of the last 12 month-ends, those at which the win-probability "
        "model forecast could be rebuilt, the win-probability model forecast"
    )


def journeys_backtest() -> pd.DataFrame:
    """Nine cut-offs at which two methods expect nothing and one deal is won."""
    rows = []
    for month in range(1, 10):
        cutoff = (pd.Timestamp(2022, month, 1) + pd.offsets.MonthEnd()).date()
        actual = 3.0 if month == 1 else 0.0
        rows.append((cutoff, "stage_weighted", 0.0, 0.0, 0.0, actual))
        rows.append((cutoff, "account_based", 0.0, 0.0, 0.0, actual))
        rows.append((cutoff, "time_series", 2.0, 0.0, 6.0, actual))
    return backtest_rows(rows)


def test_sentence_names_methods_compared():
    accuracy = summarize_accuracy(journeys_backtest())

    sentence = describe_best_method(
        accuracy, 3, 12, never_ran=["win_probability", "sarimax"]
    )

    assert sentence.startswith(
        "Over 9 of the last 12 month-ends, those at which the account-based, "
        "stage-weighted pipeline and bookings trend forecasts could all be rebuilt, "
    )
    assert "every method" not in sentence
    assert sentence.endswith(
        "The seasonal bookings model (SARIMAX) and win-probability model "
        "forecasts are not compared, because they could be rebuilt at no "
        "month-end."
    )


def test_sentence_names_unranked_method():
    forecasts = backtest_rows(
        [
            ("2026-01-31", "stage_weighted", 90.0, 80.0, 120.0, 100.0),
            ("2026-02-28", "stage_weighted", 130.0, 105.0, 150.0, 100.0),
            ("2026-03-31", "stage_weighted", 130.0, 105.0, 150.0, 100.0),
            ("2026-03-31", "win_probability", 100.0, 90.0, 110.0, 100.0),
        ]
    )
    sentence = describe_best_method(summarize_accuracy(forecasts), 3, 3)

    assert sentence.endswith(
        "The win-probability model forecast is not compared, because it could "
        "be rebuilt at only 1 month-end."
    )


def test_coverage_leaves_out_nothing_expected():
    accuracy = summarize_accuracy(journeys_backtest()).set_index("method")

    # The 0 to 0 range missed the 3 won at the first cut-off, and the
    # other 8 cut-offs expected and won nothing.
    assert accuracy.loc["account_based", "checked"] == 1
    assert accuracy.loc["account_based", "coverage"] == pytest.approx(0.0)
    assert accuracy.loc["time_series", "checked"] == 9
    assert accuracy.loc["time_series", "coverage"] == pytest.approx(1.0)


def test_reliability_names_nothing_expected():
    accuracy = summarize_accuracy(journeys_backtest())

    sentence = describe_reliability(accuracy)

    assert sentence.startswith(
        "Its P10 to P90 range held actual bookings at 0 of 1 month-end at "
        "which bookings were expected or won, where a well-judged range "
        "holds them about 8 times in 10, so the real uncertainty is wider "
        "than the range shows. At the other 8 it expected no bookings and "
        "none were won."
    )
    assert "8 of 9" not in sentence


def test_reliability_when_nothing_ever_expected():
    rows = [
        (f"2022-0{month}-28", "stage_weighted", 0.0, 0.0, 0.0, 0.0)
        for month in range(1, 4)
    ]
    accuracy = summarize_accuracy(backtest_rows(rows))
    accuracy["rank"] = pd.array([1], dtype="Int64")
    accuracy["wape"] = 0.0

    sentence = describe_reliability(accuracy)

    assert sentence.startswith(
        "At all 3 month-ends it expected no bookings and none were won, so the "
        "backtest does not show how well its range is judged."
    )


def reliability_of(cutoffs: int, wape: float, coverage: float) -> str:
    accuracy = pd.DataFrame(
        {
            "method": ["win_probability"],
            "label": ["Win-probability model"],
            "cutoffs": [cutoffs],
            "wape": [wape],
            "bias": [0.0],
            "coverage": [coverage],
            "rank": [1],
        }
    )
    return describe_reliability(accuracy)


def test_reliability_of_a_good_range():
    sentence = reliability_of(10, 0.1, 0.8)
    assert sentence == (
        "Its P10 to P90 range held actual bookings at 8 of 10 month-ends, where "
        "a well-judged range holds them about 8 times in 10."
    )


def test_reliability_warns_of_narrow_range_and_rough_fit():
    sentence = reliability_of(10, 0.98, 0.3)
    assert "at 3 of 10 month-ends" in sentence
    assert "the real uncertainty is wider than the range shows" in sentence
    assert "missed by more than half of actual bookings" in sentence
    assert "too few" not in sentence


def test_reliability_warns_of_short_history():
    sentence = reliability_of(2, 0.1, 1.0)
    assert "Only 2 month-ends could be tested" in sentence
    assert "wider than the range" not in sentence


def test_reliability_without_backtest():
    assert describe_reliability(summarize_accuracy(backtest_rows([]))) == ""


def test_sentence_without_backtest():
    empty = summarize_accuracy(backtest_rows([]))
    sentence = describe_best_method(empty, 3, 12)
    assert sentence.startswith("No method could be backtested")
    assert "complete 3-month horizon" in sentence
    assert "forecast_backtest_cutoffs" not in sentence
    assert sentence.endswith("the stage-weighted forecast is shown.")


def test_sentence_with_backtest_off():
    empty = summarize_accuracy(backtest_rows([]))
    sentence = describe_best_method(empty, 3, 0)
    assert sentence.startswith("No method was backtested")
    assert "forecast_backtest_cutoffs is 0" in sentence


def count_touches(touchpoints: pd.DataFrame) -> pd.DataFrame:
    occurred = pd.to_datetime(touchpoints["occurred_at"], utc=True)
    days = (occurred.dt.tz_convert(None) - pd.Timestamp("1970-01-01")).dt.days
    frame = touchpoints.assign(day=days)
    return frame.groupby(["account_id", "day"]).size().rename("touches").reset_index()


@pytest.fixture(scope="module")
def sample_tables(small_sample, tmp_path_factory):
    root = tmp_path_factory.mktemp("forecast-backtest")
    intake = load_source(small_params(small_sample, root))
    return intake


def run_cutoffs(tables, stage_map, cutoffs, as_of, processes=1):
    inputs = ForecastInputs(
        tables["opportunities"],
        tables["stage_history"],
        stage_map,
        touch_counts=count_touches(tables["touchpoints"]),
    )
    touches = TouchIndex(inputs.touch_counts)
    final = compute_state(inputs, as_of)
    settings = ForecastSettings(seed=11, simulations=300)
    return run_backtest(
        inputs, final, cutoffs, 3, stage_map, touches, settings, processes=processes
    )


def run_one_cutoff(tables, stage_map, cutoff, as_of):
    return run_cutoffs(tables, stage_map, [cutoff], as_of)


def test_cutoffs_in_forked_processes_equal_one_process(sample_tables):
    cutoffs = backtest_cutoffs(dt.date(2026, 6, 30), 4, 3)
    results = [
        run_cutoffs(
            sample_tables.tables,
            sample_tables.stage_map,
            cutoffs,
            dt.date(2026, 6, 30),
            processes,
        )
        for processes in (1, 2)
    ]
    assert sorted(results[0].forecasts["cutoff"].unique()) == [
        pd.Timestamp(cutoff) for cutoff in cutoffs
    ]
    for name in ("forecasts", "scored", "warnings"):
        pd.testing.assert_frame_equal(
            getattr(results[1], name), getattr(results[0], name), obj=name
        )
    assert results[1].notes == results[0].notes


def test_data_after_cutoff_changes_nothing(sample_tables):
    cutoff, as_of = dt.date(2025, 12, 31), dt.date(2026, 6, 30)
    tables = dict(sample_tables.tables)
    before = run_one_cutoff(tables, sample_tables.stage_map, cutoff, as_of)

    later = pd.Timestamp("2026-01-15T10:00:00Z")
    opportunities = tables["opportunities"]
    open_then = compute_state(
        ForecastInputs(opportunities, tables["stage_history"], sample_tables.stage_map),
        cutoff,
    ).open_deals["opportunity_id"]
    added_deal = opportunities.iloc[[0]].assign(
        opportunity_id="LATE-1",
        created_at=later,
        stage="Closed Won",
        stage_category="won",
        close_date=pd.Timestamp("2026-02-01"),
        amount=1_000_000.0,
    )
    moved = (
        tables["stage_history"]
        .iloc[[0] * len(open_then)]
        .assign(
            opportunity_id=open_then.to_numpy(),
            stage="Closed Won",
            entered_at=later,
        )
    )
    touches = (
        tables["touchpoints"]
        .iloc[:50]
        .assign(touch_id=[f"LATE-T{i}" for i in range(50)], occurred_at=later)
    )
    tables["opportunities"] = pd.concat([opportunities, added_deal], ignore_index=True)
    tables["stage_history"] = pd.concat(
        [tables["stage_history"], moved], ignore_index=True
    )
    tables["touchpoints"] = pd.concat(
        [tables["touchpoints"], touches], ignore_index=True
    )
    after = run_one_cutoff(tables, sample_tables.stage_map, cutoff, as_of)

    columns = ["cutoff", "method", "model", "forecast", "p10", "p50", "p90"]
    assert len(before.forecasts) >= 4
    pd.testing.assert_frame_equal(before.forecasts[columns], after.forecasts[columns])
    predicted_before = before.scored.set_index("opportunity_id")["predicted"]
    predicted_after = after.scored.set_index("opportunity_id")["predicted"]
    assert len(predicted_before) > 0
    pd.testing.assert_series_equal(
        predicted_before, predicted_after.loc[predicted_before.index]
    )
    # The late deal was won inside the horizon, so only the actual moves.
    assert (after.forecasts["actual"] > before.forecasts["actual"]).all()


def test_sentence_for_a_tie():
    accuracy = pd.DataFrame(
        {
            "method": ["account_based", "stage_weighted"],
            "label": ["Account-based", "Stage-weighted pipeline"],
            "cutoffs": [12, 12],
            "wape": [0.761, 0.762],
            "bias": [0.0, 0.0],
            "coverage": [0.8, 0.8],
            "rank": [1, 2],
        }
    )
    sentence = describe_best_method(accuracy, 3)
    assert "the account-based forecast has been tied for the most accurate" in (
        sentence
    )
    assert sentence.endswith(
        "level with the next best, the stage-weighted pipeline forecast (76%)."
    )


def accuracy_with_wapes(best: float, runner_up: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "method": ["win_probability", "stage_weighted"],
            "label": ["Win-probability model", "Stage-weighted pipeline"],
            "cutoffs": [12, 12],
            "wape": [best, runner_up],
            "bias": [0.0, 0.0],
            "coverage": [0.1, 0.1],
            "actual": [5_000.0, 5_000.0],
            "forecast": [110_000.0, 120_000.0],
            "rank": [1, 2],
        }
    )


def test_sentence_when_no_method_ranks():
    sentence = describe_best_method(accuracy_with_wapes(21.0, 21.64), 3)
    assert "the backtest cannot rank the methods" in sentence
    assert "came to 5,000 in the report currency, against 110,000 forecast" in sentence
    assert "off by 2100% of actual bookings" in sentence
    assert "percentage point" not in sentence
    assert "most accurate" not in sentence


def test_sentence_when_runner_up_above_all_bookings():
    sentence = describe_best_method(accuracy_with_wapes(0.4, 5.0), 3)
    assert "off by 40% of actual bookings" in sentence
    assert "percentage point" not in sentence
    assert sentence.endswith(
        "far better than the next best, the stage-weighted pipeline forecast (500%)."
    )


def test_accuracy_sums_actual_and_forecast():
    forecasts = backtest_rows(
        [
            ("2026-01-31", "stage_weighted", 900.0, 0.0, 1000.0, 10.0),
            ("2026-02-28", "stage_weighted", 1300.0, 0.0, 1500.0, 30.0),
        ]
    )
    accuracy = summarize_accuracy(forecasts).set_index("method")
    assert accuracy.loc["stage_weighted", "actual"] == pytest.approx(40.0)
    assert accuracy.loc["stage_weighted", "forecast"] == pytest.approx(2200.0)
    assert accuracy.loc["stage_weighted", "wape"] == pytest.approx(54.0)
    sentence = describe_best_method(summarize_accuracy(forecasts), 3)
    assert "came to 40 in the report currency, against 2,200 forecast" in sentence


def test_reliability_when_bookings_too_small():
    sentence = reliability_of(10, 21.0, 0.1)
    assert "missed by more than the actual bookings themselves" in sentence
    assert "more than half" not in sentence


CREDIT_ROWS = [
    ("W0", "A1", "new_business", "Won", 40_000.0, "2025-09-10", "2025-12-15"),
    ("W1", "A1", "expansion", "Won", 12_000.0, "2026-04-01", "2026-05-20"),
    # A credit note recorded as a won deal with a negative amount.
    ("C1", "A2", "expansion", "Won", -5_000.0, "2026-05-01", "2026-05-15"),
]


def test_actual_counts_credit_as_headline_does():
    opportunities = make_opportunities(CREDIT_ROWS)
    inputs = ForecastInputs(opportunities, None, STAGE_MAP)
    final = compute_state(inputs, dt.date(2026, 11, 30))
    settings = ForecastSettings(seed=3, simulations=100)
    cutoff = dt.date(2026, 2, 28)

    result = run_backtest(
        inputs, final, [cutoff], 3, STAGE_MAP, TouchIndex(None), settings
    )

    actual = result.forecasts["actual"].drop_duplicates().tolist()
    assert actual == [7_000.0]  # 12,000 won and 5,000 credited in March to May
    # The executive summary's bookings of 2026 to the window's end agree.
    window_end = dt.date(2026, 5, 31)
    snapshot = snapshot_opportunities(opportunities, None, STAGE_MAP, window_end)
    account_map = pd.DataFrame(
        {"account_id": ["A1", "A2"], "status": "customer", "won_acv": 0.0}
    )
    headline = compute_headline(account_map, snapshot, None, window_end)
    assert headline["bookings_ytd"] == 7_000.0


def test_skipped_methods_give_reasons():
    inputs = ForecastInputs(make_opportunities(CREDIT_ROWS), None, STAGE_MAP)
    final = compute_state(inputs, dt.date(2026, 11, 30))
    settings = ForecastSettings(seed=3, simulations=100)
    cutoff = dt.date(2026, 2, 28)

    result = run_backtest(
        inputs, final, [cutoff], 3, STAGE_MAP, TouchIndex(None), settings
    )

    reasons = result.skipped.set_index("method")["reason"].to_dict()
    assert reasons == {
        # W0, the one deal closed by the cut-off, entered one open stage.
        "win_probability": "it needed 30 stage entries of closed deals to learn "
        "from, and had 1",
        # Bookings history runs from W0's close in December 2025 to February
        # 2026, though the first deal was created in September 2025.
        "sarimax": "it needed 24 months of bookings history, and had 3",
    }
    assert set(result.skipped["cutoff"]) == {pd.Timestamp(cutoff)}


def closed_state(outcomes: list[bool], open_count: int) -> SimpleNamespace:
    """Return a state with one closed deal per outcome (True is won)."""
    return SimpleNamespace(
        closed=pd.DataFrame({"is_won": outcomes}, dtype=bool),
        open_deals=pd.DataFrame({"amount": [1000.0] * open_count}),
    )


def test_won_only_source_warns():
    text = describe_won_only_source(closed_state([True, True], 0))

    assert text.startswith("The source records only won deals")
    assert "the backtest cannot be trusted" in text


def test_no_lost_deal_with_open_warns():
    text = describe_won_only_source(closed_state([True], 3))

    assert text.startswith("The source records no lost deal")
    assert "the backtest cannot be trusted" in text


@pytest.mark.parametrize(
    ("outcomes", "open_count"), [([True, False], 0), ([], 2), ([False], 0)]
)
def test_lost_deal_or_none_closed_no_warning(outcomes, open_count):
    assert describe_won_only_source(closed_state(outcomes, open_count)) == ""
