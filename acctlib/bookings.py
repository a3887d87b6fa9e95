"""Bookings: the definition that the headline figures and the forecast share.

Bookings in a period are the ``amount`` of the opportunities won with
``closed_on`` in it, in the report currency. Negative won amounts, such as
credit notes and refunds recorded as won deals, are included, so bookings
are net of them. A missing amount counts as zero. The executive summary's
bookings and the forecast's closed-to-date and backtest actuals all call
:func:`sum_bookings`, so they cannot disagree.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd


def won_in_period(
    snapshot: pd.DataFrame, start: pd.Timestamp, as_of: dt.date
) -> pd.Series:
    """Flag the deals won with ``closed_on`` from ``start`` to ``as_of``, inclusive."""
    closed_on = pd.to_datetime(snapshot["closed_on"])
    in_period = (closed_on >= start) & (closed_on <= pd.Timestamp(as_of))
    return snapshot["is_won"].astype(bool) & in_period


def sum_bookings(
    snapshot: pd.DataFrame, start: dt.date | pd.Timestamp, end: dt.date
) -> float:
    """Return the bookings won from ``start`` to ``end``, both days included.

    ``snapshot`` has ``is_won``, ``closed_on`` (calendar date) and
    ``amount`` (report currency), one row per opportunity.
    """
    won = won_in_period(snapshot, pd.Timestamp(start), end)
    return float(snapshot.loc[won, "amount"].sum())


def is_month_end(day: dt.date) -> bool:
    """Return whether ``day`` is the last day of its calendar month."""
    return (day + dt.timedelta(days=1)).day == 1


def same_days_previous_month(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """Return the first and last day of the previous month's days up to ``as_of``.

    The days run from the 1st to ``as_of``'s day of the month, or to the
    previous month's last day when it is shorter, so 30 March gives 1 to
    28 February (29 in a leap year).
    """
    previous_end = as_of.replace(day=1) - dt.timedelta(days=1)
    last = min(as_of.day, previous_end.day)
    return previous_end.replace(day=1), previous_end.replace(day=last)


def month_bookings_label(as_of: dt.date | str | None) -> str:
    """Return the name of the month's bookings figure on ``as_of``.

    Before the last day of a month the figure covers part of it, so it is
    called month to date. Without a date the name is "Bookings this month".
    """
    if isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of)
    if as_of is None or is_month_end(as_of):
        return "Bookings this month"
    return "Bookings month to date"


def describe_days(start: dt.date, end: dt.date) -> str:
    """Return a span of days in one month, such as "1 to 15 October"."""
    if start == end:
        return f"{end.day} {end:%B}"
    return f"{start.day} to {end.day} {end:%B}"
