"""The account map: one row per account with its status, pipeline and value.

Inputs are the canonical tables and the opportunity snapshot of
:func:`acctlib.asof.snapshot_opportunities`, all read as of one calendar
date. Touch activity is aggregated in the engine by
:func:`summarize_touch_activity`, because touchpoint tables are the large
ones. Everything else works on account-sized pandas frames.

Opportunities without an account, or whose account is not in the accounts
table on the as-of date, are collected in one extra row with ``account_id``
equal to :data:`acctlib.schema.NO_ACCOUNT`. Pipeline, bookings and won
values summed over the account map therefore equal the opportunity totals.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import ibis
import numpy as np
import pandas as pd
from pandas.api.typing import DataFrameGroupBy

from acctlib import schema
from acctlib.asof import as_of_cutoff, filter_revenue, revenue_window
from acctlib.bookings import sum_bookings
from acctlib.dealshares import split_shared_deals
from acctlib.errors import InputError
from acctlib.lookup import is_in

logger = logging.getLogger(__name__)

ACCOUNT_ATTRIBUTES = (
    "name",
    "industry",
    "country",
    "region",
    "employees",
    "annual_revenue",
    "is_target",
    "owner",
)
"""Columns copied from the accounts table into the account map."""

TOUCH_ACTIVITY_COLUMNS = (
    "first_touch_at",
    "last_touch_at",
    "touches_90d",
    "marketing_touches_90d",
    "marketing_channels_90d",
    "marketing_sourced",
)
"""Columns that :func:`summarize_touch_activity` returns next to ``account_id``."""


def window_column_names(window_days: int) -> dict[str, str]:
    """Map the ``_90d`` touch columns to ``_<window_days>d``, for exports."""
    return {
        column: column.replace("_90d", f"_{window_days}d")
        for column in TOUCH_ACTIVITY_COLUMNS
        if column.endswith("_90d")
    }


_FIRST_OPPORTUNITY_SCHEMA = {
    "account_id": "string",
    "first_opportunity_at": "timestamp('UTC')",
    "lookback_start": "timestamp('UTC')",
}
_TOUCH_COUNTS = ("touches_90d", "marketing_touches_90d", "marketing_channels_90d")
_TOUCH_REQUIRED = ("touch_id", "account_id", "occurred_at", "channel", "function")
_SNAPSHOT_REQUIRED = (
    "account_id",
    "created_at",
    "amount",
    "acv",
    "stage_asof",
    "is_open",
    "is_won",
    "is_lost",
    "closed_on",
    "contract_months",
)
_REVENUE_REQUIRED = ("account_id", "month", "amount")
_ACCOUNTS_REQUIRED = ("account_id", "name", "created_at")
_SNAPSHOT_SOURCE = "the output of acctlib.asof.snapshot_opportunities"


def summarize_touch_activity(
    touches_table: ibis.Table,
    opportunities_snapshot: pd.DataFrame,
    as_of: dt.date,
    *,
    window_days: int = 90,
    lookback_days: int = 180,
    con: Any = None,
) -> pd.DataFrame:
    """Summarize each account's touches known on ``as_of``, in the engine.

    Only touches with ``occurred_at`` before the cutoff (midnight UTC after
    ``as_of``) count. The window is the ``window_days`` days that end at the
    cutoff, so ``[cutoff - window_days, cutoff)``. The ``_90d`` column names
    are fixed by the account map contract and keep that suffix for any
    ``window_days``.

    ``marketing_sourced`` looks at the account's first opportunity, the one
    with the earliest ``created_at`` in the snapshot. It is True when the
    latest touch with ``occurred_at`` in ``[created_at - lookback_days,
    created_at]`` has ``function == "marketing"``. Touches at the same
    instant are ordered by ``touch_id``, and the highest one counts as the
    latest. It is False when no touch falls in that range.

    Parameters
    ----------
    touches_table
        Ibis table with the canonical touchpoint columns, at least
        ``touch_id``, ``account_id``, ``occurred_at`` (UTC timestamp),
        ``channel`` and ``function``.
    opportunities_snapshot
        Output of :func:`acctlib.asof.snapshot_opportunities` for the same
        ``as_of``. Uses ``account_id`` and ``created_at``.
    as_of
        Calendar date of the report.
    window_days
        Length of the recent-activity window in days.
    lookback_days
        Days before the first opportunity's creation in which a touch can
        source it.
    con
        Ibis backend that runs the query. None runs it on the backend that
        stores ``touches_table``.

    Returns
    -------
    pandas.DataFrame
        One row per account with a known touch or an opportunity in the
        snapshot, sorted by ``account_id``, with these columns:

        - ``first_touch_at``, ``last_touch_at``: UTC timestamps, NaT
          without touches;
        - ``touches_90d``, ``marketing_touches_90d``: int, touches in the
          window;
        - ``marketing_channels_90d``: int, distinct ``channel`` values among
          marketing touches in the window;
        - ``marketing_sourced``: bool.
    """
    _require_expression_columns(touches_table, _TOUCH_REQUIRED)
    cutoff = as_of_cutoff(as_of)
    known = touches_table.filter(touches_table.occurred_at < _timestamp_literal(cutoff))

    window_start = cutoff - pd.Timedelta(days=window_days)
    activity = _aggregate_touches(known, _timestamp_literal(window_start))
    first_opportunities = ibis.memtable(
        _find_first_opportunities(opportunities_snapshot, lookback_days),
        schema=_FIRST_OPPORTUNITY_SCHEMA,
    )
    sourced = _flag_marketing_sourced(known, first_opportunities)
    expression = _combine_touch_summaries(first_opportunities, activity, sourced)

    result = con.to_pandas(expression) if con is not None else expression.to_pandas()
    return _fill_touch_gaps(result)


def summarize_touch_history(
    touches_table: ibis.Table,
    opportunities_snapshot: pd.DataFrame,
    dates: list[dt.date],
    *,
    window_days: int = 90,
    lookback_days: int = 180,
    con: Any = None,
) -> dict[dt.date, pd.DataFrame]:
    """Return :func:`summarize_touch_activity` on each of ``dates`` at once.

    Calling :func:`summarize_touch_activity` once per date scans every
    touch known on that date. Here a few engine queries serve every date.
    They compute the first and last touch per account and period between
    the dates, the touches in each date's window, and the marketing-sourced
    flag of each account's first opportunity, which does not depend on the
    date.

    ``opportunities_snapshot`` is a snapshot (shared deals split) on or
    after the last of ``dates``. An opportunity counts on a date when it was
    created before that date's cutoff, as in
    :func:`acctlib.asof.snapshot_opportunities`, so each frame equals
    :func:`summarize_touch_activity` with that date's own snapshot. Returns
    one frame per date with the columns and order documented there.
    """
    _require_expression_columns(touches_table, _TOUCH_REQUIRED)
    dates = sorted(dates)
    if not dates:
        return {}
    cutoffs = [as_of_cutoff(date) for date in dates]
    known = touches_table.filter(
        touches_table.occurred_at < _timestamp_literal(cutoffs[-1])
    )
    bounds = _run_query(_touch_bounds_by_period(known, cutoffs), con)
    windows = _count_window_touches(known, cutoffs, window_days)
    counts = _run_query(windows[0], con)
    channels = _run_query(windows[1], con)

    first = _find_first_opportunities(opportunities_snapshot, lookback_days)
    first_table = ibis.memtable(first, schema=_FIRST_OPPORTUNITY_SCHEMA)
    sourced = _run_query(_flag_marketing_sourced(touches_table, first_table), con)
    first = first.merge(sourced, on="account_id", how="left")

    accounts = _AccountCodes(
        [bounds["account_id"], counts["account_id"], channels["account_id"]],
        first["account_id"],
    )
    bounds = bounds.assign(code=accounts.encode(bounds["account_id"]))
    bounds = bounds.sort_values(["code", "period"], kind="stable")
    by_account = bounds.groupby("code", sort=False)
    first_touch_at = _naive_utc(by_account["first_touch_at"].cummin())
    last_touch_at = _naive_utc(by_account["last_touch_at"].cummax())
    bound_codes = bounds["code"].to_numpy()
    bound_periods = bounds["period"].to_numpy()
    count_codes = accounts.encode(counts["account_id"])
    channel_codes = accounts.encode(channels["account_id"])
    first_codes = accounts.encode(first["account_id"])
    opened_at = first["first_opportunity_at"]

    result = {}
    for period, (date, cutoff) in enumerate(zip(dates, cutoffs, strict=True)):
        # Rows are sorted by account, then period, so the last row of each
        # account up to ``period`` carries its first and last touch then.
        known = np.flatnonzero(bound_periods <= period)
        codes = bound_codes[known]
        latest = (
            known[np.append(codes[1:] != codes[:-1], True)] if len(known) else known
        )
        is_opened = (opened_at < cutoff).to_numpy()
        rows = np.union1d(bound_codes[latest], first_codes[is_opened])

        frame = pd.DataFrame({"account_id": accounts.values[rows]})
        for column, values in (
            ("first_touch_at", first_touch_at),
            ("last_touch_at", last_touch_at),
        ):
            spread = np.full(accounts.size, np.datetime64("NaT"), dtype=values.dtype)
            spread[bound_codes[latest]] = values[latest]
            frame[column] = pd.Series(spread[rows]).dt.tz_localize("UTC")
        in_period = (counts["period"] == period).to_numpy()
        for column in ("touches_90d", "marketing_touches_90d"):
            values = counts[column].to_numpy(dtype="int64")
            frame[column] = accounts.spread(
                count_codes[in_period], values[in_period], rows
            )
        in_period = (channels["period"] == period).to_numpy()
        frame["marketing_channels_90d"] = accounts.spread(
            channel_codes[in_period],
            channels["marketing_channels_90d"].to_numpy(dtype="int64")[in_period],
            rows,
        )
        sourced = first["marketing_sourced"].astype("boolean").fillna(False)
        frame["marketing_sourced"] = accounts.spread(
            first_codes[is_opened], sourced.to_numpy(dtype=bool)[is_opened], rows
        )
        result[date] = _fill_touch_gaps(frame[["account_id", *TOUCH_ACTIVITY_COLUMNS]])
    return result


def _naive_utc(timestamps: pd.Series) -> np.ndarray:
    return pd.to_datetime(timestamps, utc=True).dt.tz_convert(None).to_numpy()


class _AccountCodes:
    """Positions of account IDs in one sorted list, missing IDs last."""

    def __init__(self, id_columns: list[pd.Series], other: pd.Series) -> None:
        ids = pd.concat(
            [column.astype(str) for column in [*id_columns, other]], ignore_index=True
        )
        _, self.values = pd.factorize(ids, sort=True, use_na_sentinel=False)
        self.index = pd.Index(self.values)
        self.size = len(self.values)

    def encode(self, ids: pd.Series) -> np.ndarray:
        return self.index.get_indexer(ids.astype(str))

    def spread(self, codes: np.ndarray, values: np.ndarray, rows: np.ndarray):
        """Return ``values`` placed at ``codes`` and read at ``rows``, else 0."""
        spread = np.zeros(self.size, dtype=values.dtype)
        spread[codes] = values
        return spread[rows]


def compute_account_map(
    accounts: pd.DataFrame,
    snapshot: pd.DataFrame,
    touch_activity: pd.DataFrame | None,
    revenue: pd.DataFrame | None,
    as_of: dt.date,
    *,
    stage_map: Mapping[str, Mapping[str, Any]],
    deal_shares: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Compute one row per account with its status, pipeline, value and touches.

    Accounts count when ``created_at`` is before midnight UTC after
    ``as_of``. Opportunities in ``snapshot`` without an ``account_id``, or
    whose account does not count, are summed into one extra row with
    ``account_id == schema.NO_ACCOUNT``, so that the pipeline and bookings
    columns sum to the snapshot totals. That row comes last, has ``name``
    equal to ``schema.NO_ACCOUNT``, no account attributes and no
    ``status``, and appears only when such opportunities exist.

    Definitions, with an active won contract being a won opportunity with
    ``closed_on <= as_of < closed_on + contract_months`` calendar months:

    - ``status``, first match wins:

      1. ``customer``: an active won contract, or revenue above zero in the
         calendar month of ``as_of``;
      2. ``open_opportunity``: at least one opportunity open on ``as_of``;
      3. ``churned``: at least one opportunity won by ``as_of``, or revenue
         above zero in an earlier month;
      4. ``lost``: at least one opportunity lost by ``as_of``;
      5. ``prospect``: no opportunity known on ``as_of`` and no revenue.

    - ``open_opportunities``, ``open_pipeline``, ``open_acv``: count, summed
      ``amount`` and summed ``acv`` of opportunities open on ``as_of``.
    - ``most_advanced_stage``: the open stage with the highest ``order`` in
      ``stage_map``. Ties go to the stage name that sorts last, and unmapped
      stages rank lowest. Missing without open opportunities.
    - ``won_opportunities``: opportunities won by ``as_of``.
    - ``won_acv``: summed ``acv`` of active won contracts.
    - ``tcv``: summed ``amount`` of opportunities won by ``as_of``.
    - ``lifetime_revenue``: summed revenue of months starting on or before
      ``as_of``, or ``tcv`` when ``revenue`` is None or empty.
    - ``revenue_12m``: summed revenue of the 12 complete months up to
      ``as_of`` (see :func:`acctlib.asof.revenue_window`), NaN when
      ``revenue`` is None or empty.
    - ``bookings_12m``: summed ``amount`` of won opportunities with
      ``as_of - 12 months < closed_on <= as_of``.
    - ``first_opportunity_at``: earliest ``created_at`` in the snapshot.
    - touch columns: from ``touch_activity``, zero, NaT or False when the
      account has no row there. Without ``touch_activity`` they are missing
      for every account: the counts are ``Int64`` NA and
      ``marketing_sourced`` is ``boolean`` NA, because the source measured
      no touch.
    - ``value``: summed ``acv`` of active won contracts and open
      opportunities, so ``won_acv + open_acv`` where both are known.

    Each money column above that sums opportunities leaves out those
    without an ``amount``. It is 0 when the account has no opportunity of
    its kind, and NaN when every such opportunity lacks an amount, because
    a missing amount is not a zero.

    Parameters
    ----------
    accounts
        Canonical accounts table. Requires ``account_id``, ``name`` and
        ``created_at`` (UTC). Missing attribute columns are left empty.
    snapshot
        Output of :func:`acctlib.asof.snapshot_opportunities` for ``as_of``.
    touch_activity
        Output of :func:`summarize_touch_activity`, or None when the source
        has no touchpoints table.
    revenue
        Canonical revenue table (``account_id``, ``month`` as first day of
        the month, ``amount``), or None when the source has none.
    as_of
        Calendar date of the report.
    stage_map
        The ``stage_map`` parameter, used to rank open stages.
    deal_shares
        Intake's ``deal_companies`` table (``opportunity_id``,
        ``account_id``, ``share``) for sources whose deals may list several
        companies, or None. A deal with several companies of share above
        zero counts under each of them, with its amounts and ACV multiplied
        by the share (see :func:`acctlib.dealshares.split_shared_deals`).
        The money columns still sum to the snapshot totals, but count
        columns such as ``won_opportunities`` count such a deal once per
        company.

    Returns
    -------
    pandas.DataFrame
        A new frame with exactly the columns of
        ``schema.ACCOUNT_MAP_COLUMNS`` in that order, sorted by
        ``account_id`` with the no-account row last. Amounts are in the
        report currency and ACV values per year.
    """
    _require_frame_columns(
        accounts, "accounts", _ACCOUNTS_REQUIRED, "the canonical accounts table"
    )
    _require_frame_columns(
        snapshot, "opportunity snapshot", _SNAPSHOT_REQUIRED, _SNAPSHOT_SOURCE
    )
    cutoff = as_of_cutoff(as_of)

    base = _select_known_accounts(accounts, cutoff)
    split = split_shared_deals(snapshot, deal_shares, ["amount", "acv"])
    deals = _assign_unknown_accounts(split, base.index, as_of)
    if (deals["account_id"] == schema.NO_ACCOUNT).any():
        base = _append_no_account_row(base)

    deal_figures = _summarize_deals(deals, as_of, stage_map)
    revenue_figures = _summarize_revenue(revenue, as_of)
    account_map = _join_figures(base, deal_figures, revenue_figures, touch_activity)

    account_map["status"] = _classify_status(account_map)
    logger.debug("account map on %s: %d rows", as_of, len(account_map))
    return account_map.reset_index()[list(schema.ACCOUNT_MAP_COLUMNS)]


def compute_headline(
    account_map: pd.DataFrame,
    snapshot: pd.DataFrame,
    revenue: pd.DataFrame | None,
    as_of: dt.date,
) -> dict[str, Any]:
    """Compute the headline figures of the report as plain Python values.

    Parameters
    ----------
    account_map
        Output of :func:`compute_account_map` for ``as_of``.
    snapshot
        Output of :func:`acctlib.asof.snapshot_opportunities` for ``as_of``.
    revenue
        Canonical revenue table, or None when the source has none.
    as_of
        Calendar date of the report.

    Returns
    -------
    dict
        - ``accounts_by_status``: ``{status: count}`` for all five statuses,
          zero included, without the no-account row;
        - ``open_pipeline`` (float) and ``open_opportunities`` (int): summed
          ``amount`` and count of opportunities open on ``as_of``;
        - ``bookings_month`` and ``bookings_ytd`` (float): summed ``amount``
          of won opportunities with ``closed_on`` from the first day of the
          month, or of the year, of ``as_of`` up to ``as_of``, credit notes
          (negative amounts) included, as :mod:`acctlib.bookings` defines;
        - ``revenue_12m`` (float): revenue of all accounts in the 12
          complete months up to ``as_of`` (see
          :func:`acctlib.asof.revenue_window`), None when ``revenue`` is
          None or empty;
        - ``revenue_12m_missing_reason`` (str): why ``revenue_12m`` is
          None, short enough for a headline card, or "" when it is set;
        - ``customers`` (int): accounts with status ``customer``;
        - ``won_acv`` (float): ``won_acv`` summed over every row.

        Amounts are in the report currency, rounded to cents.
    """
    accounts_only = account_map[account_map["account_id"] != schema.NO_ACCOUNT]
    counts = accounts_only["status"].value_counts()
    by_status = {
        status: int(counts.get(status, 0)) for status in schema.ACCOUNT_STATUSES
    }

    is_open = snapshot["is_open"]
    month_start = pd.Timestamp(as_of.replace(day=1))
    year_start = pd.Timestamp(as_of.replace(month=1, day=1))

    revenue_months = _revenue_by_month_offset(revenue, as_of)
    revenue_12m = None
    if revenue_months is not None:
        in_window = _in_revenue_window(revenue_months["months_before"], as_of)
        revenue_12m = _round_amount(revenue_months.loc[in_window, "amount"].sum())
    if revenue is None:
        revenue_missing_reason = "No revenue table in the source"
    elif revenue.empty:
        revenue_missing_reason = "Revenue table is empty"
    else:
        revenue_missing_reason = ""

    return {
        "accounts_by_status": by_status,
        "open_pipeline": _round_amount(snapshot.loc[is_open, "amount"].sum()),
        "open_opportunities": int(is_open.sum()),
        "bookings_month": _sum_won_amount(snapshot, month_start, as_of),
        "bookings_ytd": _sum_won_amount(snapshot, year_start, as_of),
        "revenue_12m": revenue_12m,
        "revenue_12m_missing_reason": revenue_missing_reason,
        "customers": by_status["customer"],
        "won_acv": _round_amount(account_map["won_acv"].sum()),
    }


def top_accounts(account_map: pd.DataFrame, n: int) -> pd.DataFrame:
    """Return the ``n`` accounts with the highest ``value``.

    Ties are broken by ``account_id`` in ascending order. The no-account
    row is left out because it is not an account.
    """
    if n < 0:
        raise ValueError(f"invalid n {n}; request zero or more accounts")
    accounts_only = account_map[account_map["account_id"] != schema.NO_ACCOUNT]
    ranked = accounts_only.sort_values(
        ["value", "account_id"], ascending=[False, True], kind="stable"
    )
    return ranked.head(n).reset_index(drop=True)


def _require_frame_columns(
    df: pd.DataFrame, table: str, columns: tuple[str, ...], source: str
) -> None:
    missing = [column for column in columns if column not in df.columns]
    if missing:
        raise InputError(
            f"{table} is missing column(s) {', '.join(missing)}; pass {source}",
            column=missing[0],
        )


def _require_expression_columns(table: ibis.Table, columns: tuple[str, ...]) -> None:
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise InputError(
            f"touchpoints table is missing column(s) {', '.join(missing)}; "
            "write the canonical touchpoints table to the workspace",
            column=missing[0],
        )


def _timestamp_literal(timestamp: pd.Timestamp) -> ibis.Value:
    return ibis.literal(timestamp.to_pydatetime(), type="timestamp('UTC')")


def _aggregate_touches(known: ibis.Table, window_start: ibis.Value) -> ibis.Table:
    in_window = known.occurred_at >= window_start
    is_marketing = known.function == "marketing"
    marketing_in_window = in_window & is_marketing
    counts = known.group_by("account_id").aggregate(
        first_touch_at=known.occurred_at.min(),
        last_touch_at=known.occurred_at.max(),
        touches_90d=in_window.cast("int64").sum(),
        marketing_touches_90d=marketing_in_window.cast("int64").sum(),
    )
    # The distinct count runs on the few marketing touches in the window
    # alone: inside the aggregate above, DuckDB 2.0.1 kept a distinct set
    # for every account and the query took more than twice as long.
    # Accounts without such touches get no row here and a count of 0 when
    # the gaps are filled.
    marketing = known.filter(marketing_in_window)
    channels = marketing.group_by("account_id").aggregate(
        marketing_channels_90d=marketing.channel.nunique()
    )
    joined = counts.left_join(channels, "account_id")
    return joined.select(counts, channels.marketing_channels_90d)


def _run_query(expression: ibis.Table, con: Any) -> pd.DataFrame:
    return con.to_pandas(expression) if con is not None else expression.to_pandas()


def _touch_bounds_by_period(known: ibis.Table, cutoffs: list[pd.Timestamp]):
    """Return the first and last touch per account and period between ``cutoffs``.

    A touch's ``period`` is the number of cutoffs at or before it, so it is
    known on the dates from that position in ``cutoffs`` on.
    """
    period = ibis.literal(0)
    for cutoff in cutoffs[:-1]:
        after = known.occurred_at >= _timestamp_literal(cutoff)
        period = period + after.cast("int64")
    periods = known.mutate(period=period)
    return periods.group_by(["account_id", "period"]).aggregate(
        first_touch_at=periods.occurred_at.min(),
        last_touch_at=periods.occurred_at.max(),
    )


def _count_window_touches(
    known: ibis.Table, cutoffs: list[pd.Timestamp], window_days: int
) -> tuple[ibis.Table, ibis.Table]:
    """Return touch counts and distinct marketing channels per window and account.

    Each window is the ``window_days`` days before one cutoff, numbered by
    the cutoff's position in ``cutoffs`` as ``period``.
    """
    parts = []
    for period, cutoff in enumerate(cutoffs):
        start = cutoff - pd.Timedelta(days=window_days)
        inside = known.filter(
            known.occurred_at >= _timestamp_literal(start),
            known.occurred_at < _timestamp_literal(cutoff),
        )
        parts.append(
            inside.select(
                "account_id",
                "channel",
                is_marketing=inside.function == "marketing",
                period=ibis.literal(period, type="int64"),
            )
        )
    windows = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
    counts = windows.group_by(["period", "account_id"]).aggregate(
        touches_90d=windows.count(),
        marketing_touches_90d=windows.is_marketing.cast("int64").sum(),
    )
    # As in _aggregate_touches, the distinct count runs on marketing alone.
    marketing = windows.filter(windows.is_marketing)
    channels = marketing.group_by(["period", "account_id"]).aggregate(
        marketing_channels_90d=marketing.channel.nunique()
    )
    return counts, channels


def _find_first_opportunities(
    snapshot: pd.DataFrame, lookback_days: int
) -> pd.DataFrame:
    """Return each account's first opportunity time and lookback start.

    The lookback start is computed here in UTC, because DuckDB subtracts a
    day interval from a TIMESTAMPTZ in the session time zone, which moves the
    result by an hour across a daylight-saving change.
    """
    _require_frame_columns(
        snapshot, "opportunity snapshot", ("account_id", "created_at"), _SNAPSHOT_SOURCE
    )
    with_account = snapshot[snapshot["account_id"].notna()]
    first = with_account.groupby("account_id", as_index=False)["created_at"].min()
    first = first.rename(columns={"created_at": "first_opportunity_at"})
    first["first_opportunity_at"] = pd.to_datetime(
        first["first_opportunity_at"], utc=True
    ).astype(schema.TIMESTAMP)
    lookback = pd.Timedelta(days=lookback_days)
    first["lookback_start"] = first["first_opportunity_at"] - lookback
    return first


def _flag_marketing_sourced(
    known: ibis.Table, first_opportunities: ibis.Table
) -> ibis.Table:
    joined = known.join(first_opportunities, "account_id")
    candidates = joined.filter(
        joined.occurred_at <= joined.first_opportunity_at,
        joined.occurred_at >= joined.lookback_start,
    )
    latest_first = ibis.row_number().over(
        group_by="account_id",
        order_by=[ibis.desc("occurred_at"), ibis.desc("touch_id")],
    )
    ranked = candidates.mutate(recency_rank=latest_first)
    latest = ranked.filter(ranked.recency_rank == 0)
    return latest.select("account_id", marketing_sourced=latest.function == "marketing")


def _combine_touch_summaries(
    first_opportunities: ibis.Table,
    activity: ibis.Table,
    sourced: ibis.Table,
) -> ibis.Table:
    """Left-join both summaries onto every account that has either of them."""
    # ``activity`` has one row per account with a known touch, so its IDs
    # replace a distinct over every touch.
    account_ids = activity.select("account_id").union(
        first_opportunities.select("account_id"), distinct=True
    )
    joined = account_ids.left_join(activity, "account_id").left_join(
        sourced, "account_id"
    )
    return joined.select(
        account_ids.account_id,
        *[activity[column] for column in TOUCH_ACTIVITY_COLUMNS[:-1]],
        sourced.marketing_sourced,
    ).order_by("account_id")


def _fill_touch_gaps(result: pd.DataFrame) -> pd.DataFrame:
    filled = result.copy()
    for column in ("first_touch_at", "last_touch_at"):
        filled[column] = pd.to_datetime(filled[column], utc=True).astype(
            schema.TIMESTAMP
        )
    for column in _TOUCH_COUNTS:
        filled[column] = filled[column].fillna(0).astype("int64")
    filled["marketing_sourced"] = (
        filled["marketing_sourced"].astype("boolean").fillna(False).astype(bool)
    )
    filled["account_id"] = filled["account_id"].astype(str)
    return filled.reset_index(drop=True)


def _select_known_accounts(
    accounts: pd.DataFrame, cutoff: pd.Timestamp
) -> pd.DataFrame:
    """Return account attributes indexed by ``account_id``, sorted."""
    known = accounts[pd.to_datetime(accounts["created_at"], utc=True) < cutoff]
    base = known.set_index("account_id").sort_index()
    for column in ACCOUNT_ATTRIBUTES:
        if column not in base.columns:
            kind = schema.ACCOUNTS.columns[
                schema.ACCOUNTS.column_names.index(column)
            ].kind
            base[column] = pd.Series(index=base.index, dtype=schema.pandas_dtype(kind))
    return base[list(ACCOUNT_ATTRIBUTES)].copy()


def _assign_unknown_accounts(
    snapshot: pd.DataFrame, known_ids: pd.Index, as_of: dt.date
) -> pd.DataFrame:
    """Return the snapshot with unknown accounts replaced by the no-account id.

    ``known_ids`` are the accounts created by ``as_of``, the date the
    snapshot describes, which the warning names.
    """
    deals = snapshot.copy()
    has_account = deals["account_id"].notna()
    # On object values: pandas' isin on text columns is about five times slower.
    known = deals["account_id"].astype(object).isin(known_ids.astype(object))
    unknown = has_account & ~known
    if unknown.any():
        missing = sorted(deals.loc[unknown, "account_id"].astype(str).unique())
        listed_ids = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        logger.warning(
            "On %s, %d opportunities belong to %d accounts that are missing from "
            "the accounts table or created after that date (%s), so they count "
            "under %r. Check those accounts' account_id and created_at.",
            as_of.isoformat(),
            int(unknown.sum()),
            len(missing),
            listed_ids,
            schema.NO_ACCOUNT,
        )
    deals["account_id"] = deals["account_id"].where(
        has_account & ~unknown, schema.NO_ACCOUNT
    )
    return deals


def _append_no_account_row(base: pd.DataFrame) -> pd.DataFrame:
    extended = base.reindex(base.index.append(pd.Index([schema.NO_ACCOUNT])))
    extended.loc[schema.NO_ACCOUNT, "name"] = schema.NO_ACCOUNT
    extended.index.name = "account_id"
    return extended


def _summarize_deals(
    deals: pd.DataFrame, as_of: dt.date, stage_map: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    """Return the opportunity figures of each account, indexed by account_id."""
    flags = _flag_deals(deals, as_of)
    grouped = flags.groupby("account_id")

    figures = pd.DataFrame(
        {
            "open_opportunities": grouped["is_open"].sum(),
            "open_pipeline": _sum_known(grouped, "open_amount", "is_open"),
            "open_acv": _sum_known(grouped, "open_acv", "is_open"),
            "won_opportunities": grouped["is_won"].sum(),
            "lost_opportunities": grouped["is_lost"].sum(),
            "has_active_contract": grouped["is_active"].any(),
            "won_acv": _sum_known(grouped, "active_acv", "is_active"),
            "tcv": _sum_known(grouped, "won_amount", "is_won"),
            "bookings_12m": _sum_known(grouped, "booked_12m", "is_booked_12m"),
            "value": _sum_known(grouped, "valued_acv", "is_valued"),
            "first_opportunity_at": grouped["created_at"].min(),
        }
    )
    figures["most_advanced_stage"] = _find_most_advanced_stage(deals, stage_map)
    return figures


def _sum_known(grouped: DataFrameGroupBy, column: str, flag: str) -> pd.Series:
    """Sum ``column`` over each account's deals where ``flag`` is set.

    Deals without an amount are left out of the sum, so an account whose
    flagged deals all lack one gets NaN rather than 0. An account without
    a flagged deal gets 0. ``column`` is NaN outside the flagged deals.
    """
    sums = grouped[column].sum(min_count=1)
    return sums.where(grouped[flag].any(), 0.0)


def _flag_deals(deals: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Return per-opportunity flags and amounts that the account sums need."""
    as_of_ts = pd.Timestamp(as_of)
    closed_on = pd.to_datetime(deals["closed_on"]).astype(schema.DATE)
    contract_end = _add_months(closed_on, deals["contract_months"])

    is_active = deals["is_won"] & (closed_on <= as_of_ts) & (as_of_ts < contract_end)
    booked = (
        deals["is_won"]
        & (closed_on > as_of_ts - pd.DateOffset(months=12))
        & (closed_on <= as_of_ts)
    )
    amount = deals["amount"].astype(float)
    acv = deals["acv"].astype(float)
    is_open = deals["is_open"].astype(bool)
    is_won = deals["is_won"].astype(bool)
    is_active = is_active.astype(bool)
    # A deal counts in the ranking value while it is open or an active contract.
    is_valued = is_open | is_active

    # Amounts are NaN outside their deals, so that _sum_known can tell an
    # account without such deals (0) from one whose deals lack amounts (NaN).
    return pd.DataFrame(
        {
            "account_id": deals["account_id"],
            "created_at": pd.to_datetime(deals["created_at"], utc=True),
            "is_open": is_open,
            "is_won": is_won,
            "is_lost": deals["is_lost"].astype(bool),
            "is_active": is_active,
            "is_booked_12m": booked.astype(bool),
            "is_valued": is_valued,
            "open_amount": amount.where(is_open),
            "open_acv": acv.where(is_open),
            "active_acv": acv.where(is_active),
            "won_amount": amount.where(is_won),
            "booked_12m": amount.where(booked),
            "valued_acv": acv.where(is_valued),
        }
    )


def _add_months(dates: pd.Series, months: pd.Series) -> pd.Series:
    """Add whole calendar months, clipping to the month end (31 Jan + 1 = 28 Feb)."""
    ends = pd.Series(pd.NaT, index=dates.index, dtype=schema.DATE)
    valid = dates.notna() & months.notna()
    if not valid.any():
        return ends
    start = pd.to_datetime(dates[valid])
    count = months[valid].astype("int64")
    # Vectorised month arithmetic: adding pd.DateOffset row by row cost
    # about 150 microseconds per deal.
    total = start.dt.year * 12 + (start.dt.month - 1) + count
    first = pd.to_datetime(
        pd.DataFrame({"year": total // 12, "month": total % 12 + 1, "day": 1})
    )
    day = np.minimum(start.dt.day, first.dt.days_in_month)
    shifted = (
        first + pd.to_timedelta(day - 1, unit="D") + (start - start.dt.normalize())
    )
    ends[valid] = shifted.astype(schema.DATE)
    return ends


def _find_most_advanced_stage(
    deals: pd.DataFrame, stage_map: Mapping[str, Mapping[str, Any]]
) -> pd.Series:
    """Return the open stage with the highest stage-map order per account."""
    open_deals = deals.loc[deals["is_open"], ["account_id", "stage_asof"]].copy()
    orders = {stage: entry["order"] for stage, entry in stage_map.items()}
    open_deals["stage_order"] = open_deals["stage_asof"].map(orders).astype(float)

    ranked = open_deals.sort_values(
        ["account_id", "stage_order", "stage_asof"], na_position="first", kind="stable"
    )
    latest = ranked.drop_duplicates("account_id", keep="last")
    return latest.set_index("account_id")["stage_asof"].astype(object)


def _revenue_by_month_offset(
    revenue: pd.DataFrame | None, as_of: dt.date
) -> pd.DataFrame | None:
    """Return known revenue with ``months_before`` the month of ``as_of``.

    ``months_before`` is 0 for the month of ``as_of``. None when there is
    no revenue table or it is empty.
    """
    if revenue is None or revenue.empty:
        return None
    _require_frame_columns(
        revenue, "revenue", _REVENUE_REQUIRED, "the canonical revenue table"
    )

    known = filter_revenue(revenue, as_of)
    month = pd.to_datetime(known["month"])
    months_before = (as_of.year - month.dt.year) * 12 + (as_of.month - month.dt.month)
    return pd.DataFrame(
        {
            "account_id": known["account_id"],
            "amount": known["amount"].astype(float),
            "months_before": months_before.astype("int64"),
        }
    )


def _in_revenue_window(months_before: pd.Series, as_of: dt.date) -> pd.Series:
    """Flag the months, counted back from the month of ``as_of``, in the window."""
    first, last = revenue_window(as_of)
    newest = (as_of.year - last.year) * 12 + (as_of.month - last.month)
    oldest = (as_of.year - first.year) * 12 + (as_of.month - first.month)
    return (months_before >= newest) & (months_before <= oldest)


def _summarize_revenue(
    revenue: pd.DataFrame | None, as_of: dt.date
) -> pd.DataFrame | None:
    """Return revenue figures per account, or None without revenue data."""
    months = _revenue_by_month_offset(revenue, as_of)
    if months is None:
        return None

    is_positive = months["amount"] > 0
    in_window = _in_revenue_window(months["months_before"], as_of)
    months = months.assign(
        revenue_12m=months["amount"].where(in_window, 0.0),
        has_revenue_in_month=is_positive & (months["months_before"] == 0),
        had_revenue_before=is_positive & (months["months_before"] > 0),
    )
    grouped = months.groupby("account_id")
    # NOTE: lifetime_revenue still counts the as-of month whole, unlike
    # revenue_12m, which waits for the month to end.
    return pd.DataFrame(
        {
            "lifetime_revenue": grouped["amount"].sum(),
            "revenue_12m": grouped["revenue_12m"].sum(),
            "has_revenue_in_month": grouped["has_revenue_in_month"].any(),
            "had_revenue_before": grouped["had_revenue_before"].any(),
        }
    )


def _join_figures(
    base: pd.DataFrame,
    deal_figures: pd.DataFrame,
    revenue_figures: pd.DataFrame | None,
    touch_activity: pd.DataFrame | None,
) -> pd.DataFrame:
    """Join every figure onto ``base`` and fill accounts that have none."""
    deals = deal_figures.reindex(base.index)
    has_deals = is_in(base.index, deal_figures.index)
    account_map = base.copy()

    for column in ("open_opportunities", "won_opportunities", "lost_opportunities"):
        account_map[column] = deals[column].fillna(0).astype("int64")
    # An account without deals has amounts of 0. NaN of an account with
    # deals means that none of the deals summed has an amount.
    for column in _DEAL_MONEY:
        account_map[column] = deals[column].where(has_deals, 0.0).astype(float)
    account_map["has_active_contract"] = _fill_flag(deals["has_active_contract"])
    account_map["most_advanced_stage"] = deals["most_advanced_stage"].astype("str")
    account_map["first_opportunity_at"] = pd.to_datetime(
        deals["first_opportunity_at"], utc=True
    ).astype(schema.TIMESTAMP)

    account_map = _join_revenue(account_map, revenue_figures)
    return _join_touch_activity(account_map, touch_activity)


_DEAL_MONEY = ("open_pipeline", "open_acv", "won_acv", "tcv", "bookings_12m", "value")


def _fill_flag(values: pd.Series) -> pd.Series:
    return values.astype("boolean").fillna(False).astype(bool)


def _join_revenue(
    account_map: pd.DataFrame, revenue_figures: pd.DataFrame | None
) -> pd.DataFrame:
    joined = account_map.copy()
    if revenue_figures is None:
        joined["lifetime_revenue"] = joined["tcv"]
        joined["revenue_12m"] = np.nan
        joined["has_revenue_in_month"] = False
        joined["had_revenue_before"] = False
        return joined

    figures = revenue_figures.reindex(joined.index)
    joined["lifetime_revenue"] = figures["lifetime_revenue"].fillna(0.0).astype(float)
    joined["revenue_12m"] = figures["revenue_12m"].fillna(0.0).astype(float)
    joined["has_revenue_in_month"] = _fill_flag(figures["has_revenue_in_month"])
    joined["had_revenue_before"] = _fill_flag(figures["had_revenue_before"])
    return joined


def _join_touch_activity(
    account_map: pd.DataFrame, touch_activity: pd.DataFrame | None
) -> pd.DataFrame:
    joined = account_map.copy()
    if touch_activity is None:
        return _leave_touches_unmeasured(joined)
    _require_frame_columns(
        touch_activity,
        "touch activity",
        ("account_id", *TOUCH_ACTIVITY_COLUMNS),
        "the output of summarize_touch_activity",
    )
    activity = touch_activity.set_index("account_id").reindex(joined.index)

    for column in ("first_touch_at", "last_touch_at"):
        joined[column] = pd.to_datetime(activity[column], utc=True).astype(
            schema.TIMESTAMP
        )
    for column in _TOUCH_COUNTS:
        joined[column] = activity[column].fillna(0).astype("int64")
    joined["marketing_sourced"] = _fill_flag(activity["marketing_sourced"])
    return joined


def _leave_touches_unmeasured(account_map: pd.DataFrame) -> pd.DataFrame:
    """Return a copy with every touch column missing, for lack of touchpoints.

    A count of 0 or a False flag would claim the account had no touches.
    The counts become nullable ``Int64`` and the flag nullable ``boolean``,
    so the exported tables keep the missing values.
    """
    missing = account_map.copy()
    for column in ("first_touch_at", "last_touch_at"):
        missing[column] = pd.Series(pd.NaT, index=missing.index, dtype=schema.TIMESTAMP)
    for column in _TOUCH_COUNTS:
        missing[column] = pd.Series(pd.NA, index=missing.index, dtype="Int64")
    missing["marketing_sourced"] = pd.Series(
        pd.NA, index=missing.index, dtype="boolean"
    )
    return missing


def _classify_status(account_map: pd.DataFrame) -> pd.Series:
    """Return each account's status, missing for the no-account row."""
    has_active_contract = account_map["has_active_contract"]
    is_customer = has_active_contract | account_map["has_revenue_in_month"]
    has_open = account_map["open_opportunities"] > 0
    has_won = account_map["won_opportunities"] > 0
    was_customer = has_won | account_map["had_revenue_before"]
    has_lost = account_map["lost_opportunities"] > 0

    status = np.select(
        [is_customer, has_open, was_customer, has_lost],
        ["customer", "open_opportunity", "churned", "lost"],
        default="prospect",
    )
    result = pd.Series(status, index=account_map.index, dtype="str")
    return result.where(account_map.index != schema.NO_ACCOUNT)


def _sum_won_amount(
    snapshot: pd.DataFrame, start: pd.Timestamp, as_of: dt.date
) -> float:
    return _round_amount(sum_bookings(snapshot, start, as_of))


def _round_amount(amount: float) -> float:
    return round(float(amount), 2)
