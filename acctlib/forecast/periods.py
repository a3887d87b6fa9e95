"""Forecast windows and monthly series.

A forecast window is a span of calendar days. The part on or before the
as-of date has already happened (its won bookings are "closed to date");
the part after it is forecast. Months are ``pandas.Period`` values with
frequency ``M`` everywhere, so a close date on the first and one on the last
day of a month land in the same month and forecasts line up with actuals
whatever day of the month the source uses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

HORIZONS = ("current_quarter", "next_quarter", "next_12_months")
"""Windows forecast at the report date, besides the backtested horizon."""


@dataclass(frozen=True)
class Window:
    """A forecast window: calendar days ``start`` to ``end``, both included."""

    name: str
    start: dt.date
    end: dt.date


def is_month_end(day: dt.date) -> bool:
    """Return whether ``day`` is the last day of its month."""
    return (day + dt.timedelta(days=1)).day == 1


def add_months(day: dt.date, months: int) -> dt.date:
    """Return ``day`` moved by ``months``, keeping month-ends at month-ends.

    2026-02-28 plus three months is 2026-05-31, not 2026-05-28, so windows
    that start after a month-end cut-off always cover whole months.
    """
    period = pd.Period(day, freq="M") + months
    if is_month_end(day):
        return period.end_time.date()
    last_day = period.end_time.day
    return dt.date(period.year, period.month, min(day.day, last_day))


def horizon_window(as_of: dt.date, months: int) -> Window:
    """Return the window of the ``months`` after ``as_of``."""
    return Window(
        f"next_{months}_months",
        as_of + dt.timedelta(days=1),
        add_months(as_of, months),
    )


def forecast_windows(as_of: dt.date, horizon_months: int) -> list[Window]:
    """Return the report windows: this and next quarter, 12 months, the horizon.

    The current quarter starts on its first day, so its forecast includes
    the bookings already closed in it. The other windows start the day after
    ``as_of``.
    """
    quarter = pd.Period(as_of, freq="Q")
    following = quarter + 1
    windows = [
        Window("current_quarter", quarter.start_time.date(), quarter.end_time.date()),
        Window("next_quarter", following.start_time.date(), following.end_time.date()),
        horizon_window(as_of, 12),
        horizon_window(as_of, horizon_months),
    ]
    unique = {window.name: window for window in windows}
    return list(unique.values())


def distinct_windows(windows: list[Window]) -> list[Window]:
    """Return ``windows`` without those whose dates repeat an earlier window's.

    At a quarter end the next quarter and the next three months cover the
    same days. :func:`forecast_windows` lists the calendar windows first,
    so the clearer calendar name is the one kept.
    """
    seen: set[tuple[dt.date, dt.date]] = set()
    distinct = []
    for window in windows:
        if (window.start, window.end) in seen:
            continue
        seen.add((window.start, window.end))
        distinct.append(window)
    return distinct


def last_complete_month(as_of: dt.date) -> pd.Period:
    """Return the last month that ended on or before ``as_of``."""
    month = pd.Period(as_of, freq="M")
    return month if is_month_end(as_of) else month - 1


def month_weights(
    windows: list[Window], as_of: dt.date, first_month: pd.Period, months: int
) -> np.ndarray:
    """Return the share of each forecast month inside each window's future part.

    Rows are the ``months`` months from ``first_month``, columns the windows.
    A value is the fraction of the month's days that lie after ``as_of`` and
    inside the window, so a month split by ``as_of`` counts only its rest.
    """
    weights = np.zeros((months, len(windows)))
    future_start = pd.Timestamp(as_of + dt.timedelta(days=1))
    for row in range(months):
        period = first_month + row
        month_start = period.start_time.normalize()
        month_end = period.end_time.normalize()
        for column, window in enumerate(windows):
            start = max(month_start, pd.Timestamp(window.start), future_start)
            end = min(month_end, pd.Timestamp(window.end))
            days = (end - start).days + 1
            if days > 0:
                weights[row, column] = days / period.days_in_month
    return weights


def monthly_totals(
    dates: pd.Series,
    amounts: pd.Series,
    first_month: pd.Period,
    last_month: pd.Period,
) -> pd.Series:
    """Sum ``amounts`` per calendar month of ``dates``, with every month present.

    Months between ``first_month`` and ``last_month`` without a record are
    zero, not missing. Records outside that range are ignored. Integer and
    float amounts give the same float series.
    """
    index = pd.period_range(first_month, last_month, freq="M")
    if len(index) == 0:
        return pd.Series(dtype=float, index=index)
    months = pd.to_datetime(dates).dt.to_period("M")
    values = pd.Series(np.asarray(amounts, dtype=float), index=months.index)
    totals = values.groupby(months).sum()
    return totals.reindex(index, fill_value=0.0).astype(float)
