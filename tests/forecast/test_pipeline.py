"""Stage-weighted forecast, learned stage probabilities and the roll-up."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from acctlib.asof import isin_values
from acctlib.forecast import pipeline
from acctlib.forecast.methods import (
    ForecastSettings,
    bookings_history,
    compute_forecasts,
)
from acctlib.forecast.periods import Window, forecast_windows, horizon_window
from acctlib.forecast.state import (
    ForecastInputs,
    compute_state,
    count_close_date_rules,
    expected_close_dates,
    typical_cycle_days,
)
from acctlib.forecast.winprob import TouchIndex
from tests.forecast.factories import STAGE_MAP, make_opportunities

AS_OF = dt.date(2026, 6, 30)
WINDOW = horizon_window(AS_OF, 3)


def small_state(rows, as_of=AS_OF):
    inputs = ForecastInputs(make_opportunities(rows), None, STAGE_MAP)
    return compute_state(inputs, as_of)


OPEN_ROWS = [
    ("O1", "A1", "new_business", "Propose", 1_000.0, "2026-06-01", "2026-07-15"),
    ("O2", "A2", "new_business", "Commit", 2_000.0, "2026-06-01", "2026-08-15"),
    ("O3", "A2", "expansion", "Qualify", 500.0, "2026-06-01", "2026-12-15"),
    ("W1", "A1", "new_business", "Won", 3_000.0, "2026-01-01", "2026-05-10"),
]


def test_stage_weighted_forecast_hand_checked():
    state = small_state(OPEN_ROWS)
    settings = ForecastSettings(seed=1, simulations=400, probability_source="stage_map")
    results = compute_forecasts(state, [WINDOW], STAGE_MAP, TouchIndex(None), settings)
    row = results.forecasts.set_index("method").loc["stage_weighted"]
    # O1 at 0.5 and O2 at 0.8 close in the window; O3 closes in December.
    assert row["forecast"] == pytest.approx(1_000 * 0.5 + 2_000 * 0.8)
    assert row["closed_to_date"] == 0.0
    assert row["p10"] <= row["p50"] <= row["p90"]
    assert row["p90"] <= 3_000.0


def test_current_quarter_includes_closed_to_date():
    state = small_state(OPEN_ROWS)
    quarter = Window("current_quarter", dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    closed = pipeline.closed_to_date(state.closed, [quarter, WINDOW], AS_OF)
    np.testing.assert_allclose(closed, [3_000.0, 0.0])


def test_closed_to_date_nets_credit_notes():
    credit = ("C1", "A1", "expansion", "Won", -1_000.0, "2026-05-01", "2026-05-20")
    state = small_state([*OPEN_ROWS, credit])
    quarter = Window("current_quarter", dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    closed = pipeline.closed_to_date(state.closed, [quarter], AS_OF)
    np.testing.assert_allclose(closed, [2_000.0])  # 3,000 won less 1,000


def test_negative_open_amount_counts_as_zero():
    """An open deal below zero is valued at 0 and counted, a credit note is not."""
    negative = ("N1", "A1", "new_business", "Propose", -400.0, "2026-06-01", None)
    credit = ("C1", "A1", "expansion", "Won", -1_000.0, "2026-05-01", "2026-05-20")

    state = small_state([*OPEN_ROWS, negative, credit])

    amounts = state.open_deals.set_index("opportunity_id")["amount"]
    assert amounts["N1"] == 0.0
    assert amounts["O1"] == 1_000.0
    assert state.negative_open_deals == 1


@pytest.mark.parametrize(
    ("created", "close", "expected"),
    [
        ("2026-06-01", "2026-07-15", "2026-07-15"),
        ("2026-06-01", "2026-06-15", "2026-07-31"),
        ("2026-06-01", None, "2026-07-31"),
        ("2025-01-01", "2026-01-15", "2026-07-01"),
        ("2025-01-01", None, "2026-07-01"),
    ],
    ids=["future", "overdue-cycle", "missing-cycle", "overdue-slips", "missing-slips"],
)
def test_expected_close_dates(created, close, expected):
    deals = make_opportunities(
        [("O1", "A1", "new_business", "Propose", 1.0, created, close)]
    )
    result = expected_close_dates(deals, AS_OF, cycle_days=60)
    assert result.iloc[0] == pd.Timestamp(expected)


def test_learned_probabilities_shrink_to_stage_map():
    reach = pd.DataFrame(
        {
            "opportunity_id": ["A", "B", "C", "D"],
            "stage": ["Propose", "Propose", "Propose", "Propose"],
            "is_won": [True, True, True, False],
        }
    )
    rates = pipeline.learn_stage_probabilities(reach, STAGE_MAP, prior_deals=4)
    # (3 won + 4 * 0.5) / (4 closed + 4)
    assert rates["Propose"] == pytest.approx(5 / 8)
    # No deal reached Qualify, so it keeps the mapped 0.2.
    assert rates["Qualify"] == pytest.approx(0.2)
    assert "Won" not in rates.index


def test_stage_reach_without_history_uses_first_stage():
    rows = [
        ("W1", "A1", "new_business", "Won", 10.0, "2026-01-01", "2026-02-01"),
        ("L1", "A1", "new_business", "Lost", 10.0, "2026-01-01", "2026-02-01"),
        ("O1", "A1", "new_business", "Propose", 10.0, "2026-01-01", "2026-08-01"),
    ]
    reach = pipeline.compute_stage_reach(small_state(rows), STAGE_MAP)
    assert reach["opportunity_id"].tolist() == ["L1", "W1"]
    assert reach["stage"].tolist() == ["Qualify", "Qualify"]
    assert reach["is_won"].tolist() == [False, True]


def test_stage_reach_reads_history_before_cutoff():
    rows = [("W1", "A1", "new_business", "Won", 10.0, "2026-01-01", "2026-03-01")]
    history = pd.DataFrame(
        {
            "opportunity_id": ["W1", "W1", "W1"],
            "stage": ["Qualify", "Commit", "Won"],
            "entered_at": pd.to_datetime(
                ["2026-01-01", "2026-02-01", "2026-03-01"], utc=True
            ),
        }
    )
    inputs = ForecastInputs(make_opportunities(rows), history, STAGE_MAP)
    reach = pipeline.compute_stage_reach(compute_state(inputs, AS_OF), STAGE_MAP)
    assert reach["stage"].tolist() == ["Qualify", "Commit"]


def test_category_rollup_is_cumulative():
    rollup = pipeline.rollup_forecast_categories(small_state(OPEN_ROWS), [WINDOW])
    assert rollup["category"].tolist() == ["closed", "commit", "best_case", "pipeline"]
    assert rollup["amount"].tolist() == [0.0, 2_000.0, 1_000.0, 0.0]
    assert rollup["cumulative"].tolist() == [0.0, 2_000.0, 3_000.0, 3_000.0]
    assert rollup["opportunities"].tolist() == [0, 1, 1, 0]


def test_deal_closed_later_hides_its_close_date():
    rows = [
        ("W1", "A1", "new_business", "Won", 10.0, "2026-05-01", "2026-07-20"),
        ("O1", "A1", "new_business", "Propose", 10.0, "2026-05-01", "2026-07-20"),
    ]
    state = small_state(rows)
    expected = state.open_deals.set_index("opportunity_id")["expected_close"]
    # W1 was open on as_of, but its close date is the outcome, so it gets
    # the typical cycle (no deal won by then: 90 days after creation).
    assert expected["W1"] == pd.Timestamp("2026-07-30")
    assert expected["O1"] == pd.Timestamp("2026-07-20")


def monthly_won_rows(amount) -> list[tuple]:
    """One won deal closing mid-month for 30 months, plus two open deals."""
    rows = []
    for number, month in enumerate(pd.period_range("2024-01", periods=30, freq="M")):
        created = month.start_time.strftime("%Y-%m-%d")
        closed = (month.start_time + pd.Timedelta(days=14)).strftime("%Y-%m-%d")
        rows.append(
            (f"W{number:02d}", "A1", "new_business", "Won", amount, created, closed)
        )
    rows.append(
        ("O1", "A1", "new_business", "Propose", amount, "2026-06-01", "2026-07-15")
    )
    rows.append(("O2", "A2", "expansion", "Commit", amount, "2026-06-01", "2026-08-15"))
    return rows


def test_integer_and_float_amounts_forecast_alike():
    settings = ForecastSettings(seed=3, simulations=200)
    results = []
    for amount in (100, 100.0):
        state = small_state(monthly_won_rows(amount))
        results.append(
            compute_forecasts(state, [WINDOW], STAGE_MAP, TouchIndex(None), settings)
        )
    pd.testing.assert_frame_equal(results[0].forecasts, results[1].forecasts)


def late_first_booking_rows() -> list[tuple]:
    """Deals created from January 2025, but won only from September 2025 on."""
    rows = [("L1", "A3", "new_business", "Lost", 50.0, "2025-01-10", "2025-02-10")]
    for number, month in enumerate(pd.period_range("2025-09", "2026-06", freq="M")):
        created = month.start_time.strftime("%Y-%m-%d")
        closed = (month.start_time + pd.Timedelta(days=9)).strftime("%Y-%m-%d")
        rows.append(
            (f"W{number:02d}", "A1", "new_business", "Won", 100.0, created, closed)
        )
    rows.append(("O1", "A2", "new_business", "Propose", 10.0, "2026-06-01", None))
    return rows


def test_bookings_history_starts_at_first_booking():
    state = small_state(late_first_booking_rows())
    history = bookings_history(state.closed, pd.Period("2026-06", freq="M"))
    assert history.index[0] == pd.Period("2025-09", freq="M")
    assert len(history) == 10
    assert (history == 100.0).all()


def test_bookings_history_without_wins_is_empty():
    rows = [("O1", "A2", "new_business", "Propose", 10.0, "2026-06-01", None)]
    state = small_state(rows)
    assert bookings_history(state.closed, pd.Period("2026-06", freq="M")).empty


def test_time_series_ignores_months_before_data():
    # Eighteen months since the first deal was created, but ten with
    # bookings: under twelve months the model is the mean of those ten.
    state = small_state(late_first_booking_rows())
    settings = ForecastSettings(seed=3, simulations=200)
    results = compute_forecasts(state, [WINDOW], STAGE_MAP, TouchIndex(None), settings)
    row = results.forecasts.set_index("method").loc["time_series"]
    assert row["model"] == "mean"
    assert row["forecast"] == pytest.approx(3 * 100.0)
    assert results.skipped["sarimax"].endswith("and had 10")


def falling_won_rows() -> list[tuple]:
    """Thirty months of won deals whose trend falls from 1,000 to below zero.

    Months below zero have no bookings, so the fitted trend points below
    zero and most simulated months are cut at zero.
    """
    shocks = np.random.default_rng(3).normal(0.0, 400.0, 30)
    amounts = np.clip(np.linspace(1_000.0, -1_000.0, 30) + shocks, 0.0, None)
    rows = []
    months = pd.period_range("2024-01", periods=30, freq="M")
    for number, (month, amount) in enumerate(zip(months, amounts, strict=True)):
        if amount == 0.0:
            continue
        created = month.start_time.strftime("%Y-%m-%d")
        closed = (month.start_time + pd.Timedelta(days=14)).strftime("%Y-%m-%d")
        rows.append(
            (f"W{number:02d}", "A1", "new_business", "Won", amount, created, closed)
        )
    return rows


@pytest.mark.parametrize("method", ["time_series", "sarimax"])
def test_time_series_point_inside_range(method):
    state = small_state(falling_won_rows())
    year = horizon_window(AS_OF, 12)
    settings = ForecastSettings(seed=3, simulations=500)
    results = compute_forecasts(
        state, [WINDOW, year], STAGE_MAP, TouchIndex(None), settings
    )
    rows = results.forecasts.set_index(["method", "window"]).loc[method]
    for window in (WINDOW.name, year.name):
        row = rows.loc[window]
        assert row["p10"] <= row["forecast"], window
        assert row["forecast"] <= row["p90"], window


def test_fit_warnings_are_returned_per_method(capsys):
    # Equal bookings every month give the models nothing to fit, and
    # statsmodels 0.15.0 warns that the optimisation failed to converge.
    state = small_state(monthly_won_rows(100.0))
    settings = ForecastSettings(seed=3, simulations=200)
    results = compute_forecasts(state, [WINDOW], STAGE_MAP, TouchIndex(None), settings)
    methods = {method for method, _ in results.warnings}
    assert methods == {"time_series", "sarimax"}
    for _, message in results.warnings:
        assert re.match(r"[A-Z]\w*Warning: \S", message)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""


@pytest.mark.parametrize(
    ("values", "allowed", "expected"),
    [
        (pd.Series(["A", "B", None], dtype="str"), ["B"], [False, True, False]),
        (pd.Series(["A", None], dtype="str"), pd.Series([None, "C"]), [False, True]),
        (pd.Series(["A", "B"], dtype="str"), [], [False, False]),
        (pd.Series([1, 2]), pd.Index(["1", 2]), [False, True]),
    ],
)
def test_isin_values_matches_isin(values, allowed, expected):
    assert isin_values(values, allowed).tolist() == expected
    assert values.isin(list(allowed)).tolist() == expected


def test_join_closed_deals_equals_merge():
    at = pd.Timestamp("2026-01-05", tz="UTC")
    reach = pd.DataFrame(
        {
            "opportunity_id": pd.Series(["O2", "O10", "O2", "O9", "O2"], dtype="str"),
            "stage": pd.Series(["B", "A", "A", "A", "C"], dtype="str"),
            "entered_at": [at, at, at - pd.Timedelta(days=1), at, at],
        }
    )
    closed = pd.DataFrame(
        {
            "opportunity_id": pd.Series(["O2", "O10"], dtype="str"),
            "account_id": pd.Series(["A1", "A2"], dtype="str"),
            "is_won": [True, False],
            "tier": [1, 4],
        }
    )
    expected = reach.merge(closed, on="opportunity_id", how="inner").sort_values(
        ["opportunity_id", "entered_at"], kind="stable"
    )

    joined = pipeline._join_closed_deals(reach, closed)

    pd.testing.assert_frame_equal(joined, expected)


def test_category_rollup_lists_equal_windows_once():
    windows = forecast_windows(AS_OF, 3)
    rollup = pipeline.rollup_forecast_categories(small_state(OPEN_ROWS), windows)
    assert rollup["window"].unique().tolist() == [
        "current_quarter",
        "next_quarter",
        "next_12_months",
    ]
    next_quarter = rollup[rollup["window"] == "next_quarter"]
    assert next_quarter["amount"].tolist() == [0.0, 2_000.0, 1_000.0, 0.0]


def test_close_date_rules_counted():
    rows = [
        ("F1", "A1", "new_business", "Propose", 10.0, "2026-06-01", "2026-07-15"),
        ("M1", "A1", "new_business", "Propose", 10.0, "2026-06-01", None),
        ("M2", "A1", "new_business", "Propose", 10.0, "2026-01-01", None),
        ("M3", "A2", "new_business", "Qualify", 10.0, "2026-02-01", None),
        ("P1", "A2", "new_business", "Commit", 10.0, "2026-01-01", "2026-03-01"),
        ("P2", "A2", "new_business", "Commit", 10.0, "2026-06-01", "2026-06-30"),
    ]
    state = small_state(rows)
    # Nothing was won, so the typical cycle is the 90-day default: deals
    # created in June close after the report date, earlier ones are overdue.
    rules = count_close_date_rules(state.open_deals, AS_OF, state.cycle_days)
    assert rules == {
        "without_close_date_by_cycle": 1,
        "without_close_date_next_day": 2,
        "overdue_by_cycle": 1,
        "overdue_next_day": 1,
        "cycle_days": 90,
        "next_day": "2026-07-01",
    }
    expected = state.open_deals.set_index("opportunity_id")["expected_close"]
    assert expected["M2"] == pd.Timestamp(rules["next_day"])
    assert expected["M1"] == pd.Timestamp("2026-08-30")


def won_deals(created: list[str], closed_on: list[str]) -> pd.DataFrame:
    """Return won deals with the given creation and close dates."""
    return pd.DataFrame(
        {
            "is_won": True,
            "created_at": pd.to_datetime(created, utc=True),
            "closed_on": pd.to_datetime(closed_on),
        }
    )


def test_typical_cycle_skips_closes_before_creation():
    # 10 and 30 days; the two deals closed before creation have no cycle.
    closed = won_deals(
        ["2026-01-01", "2026-01-01", "2026-02-23", "2026-02-23"],
        ["2026-01-11", "2026-01-31", "2024-02-03", "2024-02-03"],
    )
    assert typical_cycle_days(closed) == 20.0


def test_typical_cycle_only_closes_before_creation():
    closed = won_deals(["2026-02-23"], ["2024-02-03"])
    assert typical_cycle_days(closed) == 90.0


def test_typical_cycle_same_day_counts_one():
    closed = won_deals(["2026-02-23", "2026-02-23"], ["2026-02-23", "2026-02-23"])
    assert typical_cycle_days(closed) == 1.0
