"""Plausibility check of each method's next 12 months against the last 12.

A model can fit without a warning and still forecast a year unlike any the
business has had, for example by extending a trend from a few months. The
check compares each method's forecast of the 12 months after the report
date with the bookings won in the 12 months up to it, and flags a method
whose ratio lies outside :data:`RATIO_MIN` to :data:`RATIO_MAX`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from acctlib.bookings import sum_bookings
from acctlib.forecast.labels import lower_first
from acctlib.forecast.periods import add_months
from acctlib.labels import join_words
from acctlib.tables import format_money

RATIO_MAX = 1.5
"""Forecast over last year's bookings above which a forecast is flagged."""

RATIO_MIN = 0.5
"""Forecast over last year's bookings below which a forecast is flagged."""

CHECKED_WINDOW = "next_12_months"
"""The forecast window compared with the 12 months up to the report date."""

OPEN_DEAL_METHODS = ("stage_weighted", "account_based", "win_probability")
"""Methods that forecast deals open on the report date (the account-based
method also repeat bookings from current customers), not new business
created later, so over 12 months they usually fall below last year."""

COLUMNS = ("method", "label", "forecast", "last_12_months", "ratio", "flagged")


def check_plausibility(
    forecast: pd.DataFrame, closed: pd.DataFrame, as_of: dt.date
) -> pd.DataFrame:
    """Compare each method's next-12-month forecast with the last 12 months.

    Parameters
    ----------
    forecast
        The bookings forecast per window and method, with ``window``,
        ``method``, ``label`` and ``forecast`` (report currency).
    closed
        Deals closed by ``as_of`` with ``is_won``, ``closed_on`` and
        ``amount``, as bookings count them.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`, one row per method forecast for
        :data:`CHECKED_WINDOW`, in the order of ``forecast``. ``ratio`` is
        the forecast over ``last_12_months``, missing when the last 12
        months had no positive bookings, because a ratio to zero says
        nothing. ``flagged`` is true when the ratio lies outside
        :data:`RATIO_MIN` to :data:`RATIO_MAX`.
    """
    start = add_months(as_of, -12) + dt.timedelta(days=1)
    last_year = sum_bookings(closed, start, as_of)
    rows = forecast[forecast["window"] == CHECKED_WINDOW]
    amounts = rows["forecast"].astype(float).to_numpy()
    ratio = amounts / last_year if last_year > 0 else np.full(len(rows), np.nan)
    flagged = (ratio > RATIO_MAX) | (ratio < RATIO_MIN)
    return pd.DataFrame(
        {
            "method": rows["method"].astype(str).to_numpy(),
            "label": rows["label"].astype(str).to_numpy(),
            "forecast": amounts,
            "last_12_months": np.full(len(rows), last_year),
            "ratio": ratio,
            "flagged": flagged,
        },
        columns=list(COLUMNS),
    )


def describe_flags(flagged: pd.DataFrame, currency: str) -> list[str]:
    """Return sentences on the flagged forecasts, each with its ratio.

    ``flagged`` contains flagged rows of :func:`check_plausibility`, with
    amounts in ``currency``. Methods of :data:`OPEN_DEAL_METHODS` that fall
    below :data:`RATIO_MIN` share two sentences, because they share the
    reason.
    """
    is_open_low = flagged["method"].isin(OPEN_DEAL_METHODS) & (
        flagged["ratio"] < RATIO_MIN
    )
    sentences = [
        _describe_flag(row, currency) for _, row in flagged[~is_open_low].iterrows()
    ]
    open_low = flagged[is_open_low]
    if not open_low.empty:
        listed = [
            f"{lower_first(row['label'])} ({row['ratio']:.2f} times)"
            for _, row in open_low.iterrows()
        ]
        names = join_words(listed)
        last_year = format_money(open_low["last_12_months"].iloc[0], currency)
        verbs = ("forecast", "falls") if len(listed) == 1 else ("forecasts", "fall")
        sentences.append(
            f"The {names} {verbs[0]} of the next 12 months {verbs[1]} below "
            f"half the {last_year} booked in the last 12 months."
        )
        reason = "They add up deals open on the report date"
        if "account_based" in set(open_low["method"]):
            reason += (
                " (the account-based method also repeat bookings from current "
                "customers)"
            )
        sentences.append(f"{reason}, not new business from deals created later.")
    return sentences


def _describe_flag(row: pd.Series, currency: str) -> str:
    forecast = format_money(row["forecast"], currency)
    last_year = format_money(row["last_12_months"], currency)
    return (
        f"The {lower_first(row['label'])} forecast of the next 12 months, "
        f"{forecast}, is {row['ratio']:.2f} times the {last_year} booked in "
        "the last 12 months, so read it with care."
    )
