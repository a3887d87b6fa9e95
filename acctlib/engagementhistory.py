"""Touch engagement on many month-ends from one set of engine queries.

:func:`acctlib.progression.summarize_engagement` counts the touches of one
as-of date. Running it at each of the 12 month-ends of the account history
reads the same touches again and again. :func:`summarize_engagement_history`
reads them once: each query returns one row per account (or account and
function) with a column per date and window, and each date's frames are
then cut from those columns with NumPy.

Window bounds are computed in Python in UTC, as in
:mod:`acctlib.progression`, and compared with ``occurred_at`` in the engine.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import numpy as np
import pandas as pd

from acctlib import schema
from acctlib.asof import as_of_cutoff
from acctlib.progression import (
    TREND_WEEKS,
    _literal,
    _run,
    classify_direction,
    classify_engagement_trend,
)

RECENT_DAYS = 180


def summarize_engagement_history(
    touches: ibis.Table,
    dates: list[dt.date],
    *,
    weekly_dates: list[dt.date] = (),
    noise_band: float = 0.5,
    breadth_noise_band: int = 1,
    min_touches: int = 6,
    con: Any = None,
) -> dict[dt.date, tuple[pd.DataFrame, pd.DataFrame | None]]:
    """Return :func:`acctlib.progression.summarize_engagement` on each date.

    Takes the arguments of that function, with ``dates`` in place of one
    as-of date, and returns ``{date: (engagement, weekly)}`` with the frames
    it returns for that date. ``weekly`` is None for dates that are not in
    ``weekly_dates``, because one column per week and date makes the query
    slower while the trend needs only two sums per date.
    """
    dates = sorted(dates)
    if not dates:
        return {}
    cutoffs = [as_of_cutoff(date) for date in dates]
    recent = touches.filter(
        touches.occurred_at < _literal(cutoffs[-1]),
        touches.occurred_at >= _literal(cutoffs[0] - pd.Timedelta(days=RECENT_DAYS)),
    )
    weekly_periods = [dates.index(date) for date in weekly_dates if date in dates]
    by_function = _run(_count_function_windows(recent, cutoffs), con)
    contacts = _run(_count_contact_windows(recent, cutoffs), con)
    weeks = _run(_count_week_windows(recent, cutoffs, weekly_periods), con)

    counts = _WindowCounts(by_function, contacts, weeks)
    return {
        date: counts.engagement(
            period,
            weekly=period in weekly_periods,
            noise_band=noise_band,
            breadth_noise_band=breadth_noise_band,
            min_touches=min_touches,
        )
        for period, date in enumerate(dates)
    }


def _between(table: ibis.Table, start: pd.Timestamp, end: pd.Timestamp) -> ibis.Value:
    return (table.occurred_at >= _literal(start)) & (table.occurred_at < _literal(end))


def _count_function_windows(
    recent: ibis.Table, cutoffs: list[pd.Timestamp]
) -> ibis.Table:
    """Return touches per account and function in each date's 30, 90, 180 days.

    Columns ``n30_<period>``, ``n90_<period>`` and ``n180_<period>``, where
    ``period`` is the date's position in ``cutoffs``. Each is a filtered
    count in one aggregate over the touches: one row per account and date
    would make the groups twelve times as many.
    """
    counts = {}
    for period, cutoff in enumerate(cutoffs):
        for days in (30, 90, RECENT_DAYS):
            start = cutoff - pd.Timedelta(days=days)
            counts[f"n{days}_{period}"] = recent.count(
                where=_between(recent, start, cutoff)
            )
    return recent.group_by(["account_id", "function"]).aggregate(**counts)


def _count_week_windows(
    recent: ibis.Table, cutoffs: list[pd.Timestamp], weekly_periods: list[int]
) -> ibis.Table:
    """Return the touches per account in each date's 12 weeks, for the trend.

    Columns ``weeks_<period>`` count the touches in the 12 weeks to the
    cutoff and ``week_sum_<period>`` sums their week numbers (0 the oldest
    week, 11 the week that ends at the cutoff). ``w<period>_<week>`` counts
    each week of the ``weekly_periods``. The week numbers are summed as
    doubles, which are exact for integer sums below 2**53 and, in DuckDB
    2.0.1, faster than its 128-bit integer sums.
    """
    start = _week_start(cutoffs[0], 0)
    in_weeks = recent.filter(recent.occurred_at >= _literal(start))
    counts = {}
    for period, cutoff in enumerate(cutoffs):
        inside = _between(in_weeks, _week_start(cutoff, 0), cutoff)
        counts[f"weeks_{period}"] = in_weeks.count(where=inside)
        counts[f"week_sum_{period}"] = ibis.cases(
            (inside, _week_number(in_weeks, cutoff)), else_=0.0
        ).sum()
        if period not in weekly_periods:
            continue
        for week in range(TREND_WEEKS):
            inside = _between(
                in_weeks, _week_start(cutoff, week), _week_start(cutoff, week + 1)
            )
            counts[f"w{period}_{week}"] = in_weeks.count(where=inside)
    return in_weeks.group_by("account_id").aggregate(**counts)


def _week_start(cutoff: pd.Timestamp, week: int) -> pd.Timestamp:
    """Return the start of ``week`` (0 to 12) of the 12 weeks before ``cutoff``."""
    return cutoff - pd.Timedelta(weeks=TREND_WEEKS - week)


def _week_number(recent: ibis.Table, cutoff: pd.Timestamp) -> ibis.Value:
    """Return the week (0 to 11) of each touch in the 12 weeks to ``cutoff``."""
    branches = [
        (recent.occurred_at >= _literal(_week_start(cutoff, week)), float(week))
        for week in range(TREND_WEEKS - 1, 0, -1)
    ]
    return ibis.cases(*branches, else_=0.0)


def _count_contact_windows(
    recent: ibis.Table, cutoffs: list[pd.Timestamp]
) -> ibis.Table:
    """Return distinct contacts per account in each date's two 90-day periods.

    Columns ``now_<period>`` (the 90 days to the cutoff) and
    ``before_<period>`` (the 90 days before those). Distinct contacts come
    from one row per account and contact, as in
    :func:`acctlib.progression.summarize_engagement`.
    """
    named = recent.filter(recent.contact_id.notnull())
    flags = {}
    for period, cutoff in enumerate(cutoffs):
        middle = cutoff - pd.Timedelta(days=90)
        start = cutoff - pd.Timedelta(days=RECENT_DAYS)
        flags[f"now_{period}"] = _between(named, middle, cutoff).any()
        flags[f"before_{period}"] = _between(named, start, middle).any()
    pairs = named.group_by(["account_id", "contact_id"]).aggregate(**flags)
    return pairs.group_by("account_id").aggregate(
        **{name: pairs[name].cast("int64").sum() for name in flags}
    )


class _WindowCounts:
    """The window counts of every date, indexed by one sorted account list."""

    def __init__(
        self, by_function: pd.DataFrame, contacts: pd.DataFrame, weeks: pd.DataFrame
    ) -> None:
        ids = pd.Series(by_function["account_id"]).astype(str)
        self.codes, accounts = pd.factorize(ids, sort=True)
        self.accounts = pd.Index(accounts)
        self.by_function = by_function
        self.function = by_function["function"].astype(object).to_numpy()
        # Contacts and weeks come from the same touches, so every account is
        # in the list.
        self.contact_codes = self.accounts.get_indexer(
            pd.Series(contacts["account_id"]).astype(str)
        )
        self.contacts = contacts
        self.week_codes = self.accounts.get_indexer(
            pd.Series(weeks["account_id"]).astype(str)
        )
        self.weeks = weeks

    def engagement(
        self,
        period: int,
        *,
        weekly: bool,
        noise_band: float,
        breadth_noise_band: int,
        min_touches: int,
    ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """Return the (engagement, weekly) frames of the date at ``period``."""
        touched = np.zeros(len(self.accounts), dtype=bool)
        in_recent = self._column(f"n{RECENT_DAYS}_{period}") > 0
        touched[self.codes[in_recent]] = True
        rows = np.flatnonzero(touched)
        account_ids = self.accounts[rows]

        counts = pd.DataFrame({"account_id": pd.Series(account_ids, dtype=str)})
        for window in ("30", "90"):
            values = self._column(f"n{window}_{period}")
            counts[f"touches_{window}d"] = self._sum_by_account(values, rows)
        for column, source in (
            ("contacts_90d", "now"),
            ("contacts_prev_90d", "before"),
        ):
            values = self.contacts[f"{source}_{period}"].to_numpy(dtype="int64")
            counts[column] = self._spread(self.contact_codes, values)[rows]
        for function in schema.FUNCTIONS:
            is_function = self.function == function
            for window in ("30", "90"):
                values = np.where(is_function, self._column(f"n{window}_{period}"), 0)
                counts[f"touches_{window}d_{function}"] = self._sum_by_account(
                    values, rows
                )

        engagement = counts.merge(
            self._fit_trend(period, rows, account_ids, noise_band, min_touches),
            on="account_id",
            how="left",
            validate="1:1",
        )
        change = engagement["contacts_90d"] - engagement["contacts_prev_90d"]
        engagement["breadth_change"] = change.astype("int64")
        engagement["breadth_direction"] = classify_direction(change, breadth_noise_band)
        weeks = self._complete_weeks(period, rows, account_ids) if weekly else None
        return engagement, weeks

    def _spread(self, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Return ``values`` at positions ``codes`` of the account list, else 0."""
        spread = np.zeros(len(self.accounts), dtype=values.dtype)
        spread[codes] = values
        return spread

    def _column(self, name: str) -> np.ndarray:
        return self.by_function[name].to_numpy(dtype="int64")

    def _sum_by_account(self, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        totals = np.bincount(self.codes, weights=values, minlength=len(self.accounts))
        # Float sums of integer counts are exact below 2**53.
        return totals[rows].astype("int64")

    def _week_column(self, name: str) -> np.ndarray:
        values = self.weeks[name].to_numpy(dtype=float)
        return self._spread(self.week_codes, values)

    def _fit_trend(
        self,
        period: int,
        rows: np.ndarray,
        account_ids: pd.Index,
        noise_band: float,
        min_touches: int,
    ) -> pd.DataFrame:
        """Return the trend columns from the 12-week count and week number sum.

        For integer counts ``w`` of weeks ``x = 0..11``, ``w @ (x - 5.5)``
        equals ``sum(x * w) - 5.5 * sum(w)`` exactly in floating point, so
        the slope is the one :func:`compute_engagement_trend` fits.
        """
        total = self._week_column(f"weeks_{period}")[rows]
        week_sum = self._week_column(f"week_sum_{period}")[rows]
        x = np.arange(TREND_WEEKS, dtype=float)
        x_centered = x - x.mean()
        total_float = total.astype(float)
        slope = (week_sum - x.mean() * total_float) / float(x_centered @ x_centered)
        return classify_engagement_trend(
            account_ids.astype(str),
            total_float / TREND_WEEKS,
            slope,
            total_float,
            noise_band=noise_band,
            min_touches=min_touches,
        )

    def _complete_weeks(
        self, period: int, rows: np.ndarray, account_ids: pd.Index
    ) -> pd.DataFrame:
        """Return ``account_id``, ``week`` and ``touches`` with every week present."""
        matrix = np.column_stack(
            [
                self._week_column(f"w{period}_{week}")[rows]
                for week in range(TREND_WEEKS)
            ]
        ).astype("int64")
        repeated = np.repeat(account_ids.to_numpy(dtype=object), TREND_WEEKS)
        return pd.DataFrame(
            {
                "account_id": pd.Series(repeated, dtype=str),
                "week": np.tile(np.arange(TREND_WEEKS, dtype="int64"), len(rows)),
                "touches": matrix.ravel(),
            }
        )
