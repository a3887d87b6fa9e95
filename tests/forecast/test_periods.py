"""Forecast windows, month alignment and monthly series."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from acctlib.forecast.periods import (
    add_months,
    distinct_windows,
    forecast_windows,
    horizon_window,
    last_complete_month,
    month_weights,
    monthly_totals,
)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 2, 28), 3, dt.date(2026, 5, 31)),
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2026, 4, 30), 12, dt.date(2027, 4, 30)),
        (dt.date(2026, 1, 15), 1, dt.date(2026, 2, 15)),
        (dt.date(2026, 1, 30), 1, dt.date(2026, 2, 28)),
    ],
)
def test_add_months_keeps_month_ends(day, months, expected):
    assert add_months(day, months) == expected


def test_forecast_windows_at_quarter_end():
    windows = {
        window.name: window for window in forecast_windows(dt.date(2026, 6, 30), 3)
    }
    assert windows["current_quarter"].start == dt.date(2026, 4, 1)
    assert windows["current_quarter"].end == dt.date(2026, 6, 30)
    assert windows["next_quarter"].start == dt.date(2026, 7, 1)
    assert windows["next_quarter"].end == dt.date(2026, 9, 30)
    assert windows["next_12_months"].end == dt.date(2027, 6, 30)
    assert windows["next_3_months"].start == dt.date(2026, 7, 1)
    assert windows["next_3_months"].end == dt.date(2026, 9, 30)


def test_horizon_of_twelve_months_is_listed_once():
    names = [window.name for window in forecast_windows(dt.date(2026, 6, 30), 12)]
    assert names == ["current_quarter", "next_quarter", "next_12_months"]


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (dt.date(2026, 6, 30), pd.Period("2026-06", freq="M")),
        (dt.date(2026, 6, 29), pd.Period("2026-05", freq="M")),
        (dt.date(2026, 7, 1), pd.Period("2026-06", freq="M")),
    ],
)
def test_last_complete_month(as_of, expected):
    assert last_complete_month(as_of) == expected


def test_empty_months_are_zeros_not_gaps():
    dates = pd.Series(pd.to_datetime(["2026-01-10", "2026-04-02"]))
    totals = monthly_totals(
        dates,
        pd.Series([100.0, 50.0]),
        pd.Period("2026-01", freq="M"),
        pd.Period("2026-05", freq="M"),
    )
    assert list(totals.index.astype(str)) == [
        "2026-01",
        "2026-02",
        "2026-03",
        "2026-04",
        "2026-05",
    ]
    assert totals.tolist() == [100.0, 0.0, 0.0, 50.0, 0.0]
    assert not totals.isna().any()


def test_month_start_and_month_end_dates_align():
    first, last = pd.Period("2026-01", freq="M"), pd.Period("2026-03", freq="M")
    month_starts = pd.Series(pd.to_datetime(["2026-01-01", "2026-02-01"]))
    month_ends = pd.Series(pd.to_datetime(["2026-01-31", "2026-02-28"]))
    amounts = pd.Series([10.0, 20.0])
    by_start = monthly_totals(month_starts, amounts, first, last)
    by_end = monthly_totals(month_ends, amounts, first, last)
    pd.testing.assert_series_equal(by_start, by_end)
    assert by_start.tolist() == [10.0, 20.0, 0.0]


def test_integer_and_float_amounts_give_same_series():
    dates = pd.Series(pd.to_datetime(["2026-01-10", "2026-01-20", "2026-02-03"]))
    first, last = pd.Period("2026-01", freq="M"), pd.Period("2026-02", freq="M")
    as_int = monthly_totals(dates, pd.Series([1, 2, 3]), first, last)
    as_float = monthly_totals(dates, pd.Series([1.0, 2.0, 3.0]), first, last)
    pd.testing.assert_series_equal(as_int, as_float)


def test_month_weights_split_the_month_of_as_of():
    as_of = dt.date(2026, 6, 10)
    window = horizon_window(as_of, 1)
    weights = month_weights([window], as_of, pd.Period("2026-06", freq="M"), 2)
    assert weights[0, 0] == pytest.approx(20 / 30)
    assert weights[1, 0] == pytest.approx(10 / 31)


def test_month_weights_cover_whole_months_after_month_end():
    as_of = dt.date(2026, 6, 30)
    windows = forecast_windows(as_of, 3)
    weights = month_weights(windows, as_of, pd.Period("2026-07", freq="M"), 12)
    names = [window.name for window in windows]
    np.testing.assert_allclose(weights[:, names.index("current_quarter")], 0.0)
    np.testing.assert_allclose(weights[:3, names.index("next_quarter")], 1.0)
    np.testing.assert_allclose(weights[3:, names.index("next_quarter")], 0.0)
    np.testing.assert_allclose(weights[:, names.index("next_12_months")], 1.0)


def test_distinct_windows_keep_calendar_name():
    windows = distinct_windows(forecast_windows(dt.date(2026, 6, 30), 3))
    assert [window.name for window in windows] == [
        "current_quarter",
        "next_quarter",
        "next_12_months",
    ]


def test_distinct_windows_mid_quarter_keep_all():
    windows = forecast_windows(dt.date(2026, 5, 15), 3)
    assert distinct_windows(windows) == windows
