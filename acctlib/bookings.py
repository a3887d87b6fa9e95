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
