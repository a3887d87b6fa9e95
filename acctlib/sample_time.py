"""Time helpers of the sample generator.

The generator works on day numbers: a timestamp is a float count of days
since 1970-01-01 00:00 UTC, a calendar date is an integer count of days, and
a month is an integer count of months since January 1970. Only the final
frames convert them to pandas timestamps and dates.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from acctlib.schema import DATE, TIMESTAMP

SECONDS_PER_DAY = 86_400

# Start of business hours in UTC per region code (North America, EMEA, APAC,
# LATAM). Activity falls in the nine hours after it, so every touch stays on
# the same UTC calendar day as its date.
BUSINESS_HOURS_START_UTC = np.array([13.0, 7.0, 0.0, 11.0])
BUSINESS_HOURS = 9.0


def to_day(date: dt.date) -> int:
    """Return the day number of a calendar date."""
    return (date - dt.date(1970, 1, 1)).days


def month_of(days: np.ndarray) -> np.ndarray:
    """Return the month number of each day number."""
    floored = np.floor(np.asarray(days, dtype=float)).astype("int64")
    return floored.astype("datetime64[D]").astype("datetime64[M]").astype("int64")


def month_start(months: np.ndarray) -> np.ndarray:
    """Return the day number of the first day of each month number."""
    months = np.asarray(months, dtype="int64")
    return months.astype("datetime64[M]").astype("datetime64[D]").astype("int64")


def to_timestamps(days: np.ndarray) -> pd.Series:
    """Convert float day numbers to UTC timestamps rounded to the second."""
    seconds = np.round(np.asarray(days, dtype=float) * SECONDS_PER_DAY)
    values = seconds.astype("int64").astype("datetime64[s]").astype("datetime64[us]")
    return pd.Series(values).dt.tz_localize("UTC").astype(TIMESTAMP)


def to_dates(days: np.ndarray) -> pd.Series:
    """Convert integer day numbers to naive midnight dates."""
    values = np.asarray(days, dtype="int64").astype("datetime64[D]")
    return pd.Series(values.astype(DATE))


def next_weekday(days: np.ndarray) -> np.ndarray:
    """Move Saturdays and Sundays to the following Monday."""
    days = np.floor(np.asarray(days, dtype=float))
    weekday = (days + 3) % 7  # Monday is 0, because day 0, 1970-01-01, was a Thursday
    return days + np.where(weekday >= 5, 7 - weekday, 0)


def business_time(
    rng: np.random.Generator, days: np.ndarray, regions: np.ndarray
) -> np.ndarray:
    """Place each whole day at a random time within its region's business hours."""
    hours = BUSINESS_HOURS_START_UTC[regions] + rng.random(len(days)) * BUSINESS_HOURS
    return np.floor(days) + hours / 24.0


def tilted_fractions(rng: np.random.Generator, tilt: np.ndarray) -> np.ndarray:
    """Draw fractions in [0, 1) with density proportional to ``exp(tilt * u)``.

    A positive tilt puts more draws near 1 (activity that rises towards the
    end of a span), a negative tilt near 0 and zero gives a uniform draw.
    """
    uniform = rng.random(len(tilt))
    flat = np.abs(tilt) < 1e-9
    safe_tilt = np.where(flat, 1.0, tilt)
    tilted = np.log1p(uniform * np.expm1(safe_tilt)) / safe_tilt
    return np.clip(np.where(flat, uniform, tilted), 0.0, np.nextafter(1.0, 0.0))


def shift_to_quarter_end(
    rng: np.random.Generator,
    created: np.ndarray,
    close: np.ndarray,
    *,
    min_cycle: int,
    max_cycle: int,
) -> np.ndarray:
    """Move some planned close dates to the end of a quarter.

    Of the deals planned for the first 20 days of a quarter, 30% are pulled
    into the last ten days of the previous quarter. Year end pulls harder:
    half of the deals planned for 1 January to 14 February move into
    December. Of the deals planned for the first two months of a quarter,
    30% slip to its last twelve days (55% in the fourth quarter). A move
    happens only when the cycle from ``created`` stays within ``min_cycle``
    and ``max_cycle`` days.
    """
    close = np.asarray(close, dtype="int64").copy()
    month = month_of(close)
    quarter_first_month = month - month % 3
    quarter_start = month_start(quarter_first_month)
    quarter_end = month_start(quarter_first_month + 3) - 1
    is_q1 = quarter_first_month % 12 == 0
    is_q4 = quarter_first_month % 12 == 9

    pull_probability = np.where(is_q1, 0.5, 0.3)
    pull_window = np.where(is_q1, 45, 20)
    pulled = quarter_start - 1 - rng.integers(0, 10, len(close))
    pull = close - quarter_start < pull_window
    pull &= rng.random(len(close)) < pull_probability
    pull &= pulled - created >= min_cycle

    slip_probability = np.where(is_q4, 0.55, 0.3)
    slipped = quarter_end - rng.integers(0, 12, len(close))
    slip = (month % 3 < 2) & (rng.random(len(close)) < slip_probability)
    slip &= ~pull & (slipped - created <= max_cycle)

    close[pull] = pulled[pull]
    close[slip] = slipped[slip]
    return close
