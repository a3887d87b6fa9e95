"""What was known on one date: the inputs every forecast method starts from.

:func:`compute_state` rebuilds the opportunities as they stood at the end of
``as_of`` with :func:`acctlib.asof.snapshot_opportunities` and keeps the
stage history entries dated before the cutoff. From those it derives the
typical sales cycle, the expected close date of each open deal and each
account's tier. The backtest calls it once per cut-off, so every method sees only what
was known then.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from acctlib import asof

logger = logging.getLogger(__name__)

DEFAULT_CYCLE_DAYS = 90.0
"""Sales cycle assumed when no deal was won before the as-of date."""

IMPLIED_OPEN_STAGE = "Open"
"""Stage added for sources whose stage map has no open stage."""

STANDIN_TIER_SHARES = (0.10, 0.20, 0.30)
"""Shares of valued accounts in stand-in tiers 1, 2 and 3; the rest are 4."""


@dataclass
class ForecastInputs:
    """The canonical tables the forecasts read, plus optional account tiers.

    ``touch_counts`` has columns ``account_id``, ``day`` (whole days since
    1970-01-01 in UTC) and ``touches`` (count), one row per account and day
    with touches. ``tiers``
    has ``account_id`` and ``tier`` (1 to 4) when tiering has run.
    """

    opportunities: pd.DataFrame
    stage_history: pd.DataFrame | None
    stage_map: Mapping[str, Mapping[str, Any]]
    touch_counts: pd.DataFrame | None = None
    tiers: pd.DataFrame | None = None
    default_contract_months: int = 12


@dataclass
class ForecastState:
    """The opportunities, stages and tiers known at the end of ``as_of``.

    ``open_deals`` has one row per open opportunity with ``amount`` (report
    currency, missing and negative as 0), ``expected_close`` (calendar date
    after ``as_of``), ``age_days`` and ``tier``. ``closed`` has the deals won
    or lost on or before ``as_of`` with ``is_won``, ``closed_on``, ``tier``
    and ``amount`` (missing as 0, negative kept, as bookings count it).
    ``history`` has the stage history entries before the cutoff.
    ``negative_open_deals`` counts the open deals whose amount was below
    zero before ``open_deals`` set it to 0.
    """

    as_of: dt.date
    snapshot: pd.DataFrame
    open_deals: pd.DataFrame
    closed: pd.DataFrame
    history: pd.DataFrame | None
    cycle_days: float
    tiers_are_standin: bool
    negative_open_deals: int = 0


def ensure_open_stage(
    stage_map: Mapping[str, Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Return ``stage_map`` with an open stage, adding one when it has none.

    Some exports record only closed deals, so their stage map lists won and
    lost stages alone. At a past cut-off those deals were still open, and
    the snapshot needs an open stage to put them in. The added stage
    :data:`IMPLIED_OPEN_STAGE` comes first in the process, in the pipeline
    forecast category, and has no probability, so the forecasts learn it
    from the deals closed by each date.
    """
    result = {stage: dict(entry) for stage, entry in stage_map.items()}
    if any(entry["category"] == "open" for entry in result.values()):
        return result
    first = min((entry["order"] for entry in result.values()), default=1)
    result[IMPLIED_OPEN_STAGE] = {
        "category": "open",
        "probability": None,
        "forecast_category": "pipeline",
        "order": first - 1,
    }
    return result


def compute_state(
    inputs: ForecastInputs,
    as_of: dt.date,
    history: asof.OpportunityHistory | None = None,
) -> ForecastState:
    """Rebuild what was known at the end of ``as_of`` from ``inputs``.

    ``history`` is :func:`opportunity_history` of ``inputs``, for a caller
    that rebuilds many dates; it is built here when None.
    """
    if history is None:
        history = opportunity_history(inputs)
    snapshot = history.snapshot(as_of)
    # Won amounts keep their sign, because bookings are net of credit notes
    # (see acctlib.bookings). Only open deals are cut at zero, below.
    snapshot["amount"] = snapshot["amount"].fillna(0.0)
    tiers, is_standin = _resolve_tiers(inputs.tiers, snapshot)
    snapshot["tier"] = (
        asof.map_values(snapshot["account_id"], tiers).fillna(4).astype(int)
    )

    closed = snapshot[snapshot["is_won"] | snapshot["is_lost"]].reset_index(drop=True)
    cycle_days = typical_cycle_days(closed)
    open_deals = snapshot[snapshot["is_open"]].reset_index(drop=True)
    # The simulations draw each open deal as a win of a non-negative amount.
    negative_open_deals = int((open_deals["amount"] < 0).sum())
    open_deals["amount"] = open_deals["amount"].clip(lower=0.0)
    open_deals["age_days"] = _age_days(open_deals["created_at"], as_of)
    open_deals["close_date"] = _hide_outcome_dates(open_deals, inputs.stage_map)
    open_deals["expected_close"] = expected_close_dates(open_deals, as_of, cycle_days)

    history = None
    if inputs.stage_history is not None:
        entered_at = pd.to_datetime(inputs.stage_history["entered_at"], utc=True)
        history = inputs.stage_history[entered_at < asof.as_of_cutoff(as_of)]
    return ForecastState(
        as_of,
        snapshot,
        open_deals,
        closed,
        history,
        cycle_days,
        is_standin,
        negative_open_deals,
    )


def opportunity_history(inputs: ForecastInputs) -> asof.OpportunityHistory:
    """Return the opportunities of ``inputs`` prepared for many snapshots."""
    return asof.OpportunityHistory(
        inputs.opportunities,
        inputs.stage_history,
        inputs.stage_map,
        default_contract_months=inputs.default_contract_months,
    )


def typical_cycle_days(closed: pd.DataFrame) -> float:
    """Return the median days from creation to close of the won deals.

    A deal closed before its creation date has no cycle and is left out,
    as in the pipeline velocity of :mod:`acctlib.progression`. A cycle
    shorter than one day counts as one. Falls back to
    :data:`DEFAULT_CYCLE_DAYS` when no won deal is left.
    """
    won = closed[closed["is_won"]]
    created = won["created_at"].dt.tz_convert(None).dt.normalize()
    days = (pd.to_datetime(won["closed_on"]) - created).dt.days
    days = days[days >= 0]
    if days.empty:
        return DEFAULT_CYCLE_DAYS
    return float(days.clip(lower=1).median())


def expected_close_dates(
    open_deals: pd.DataFrame, as_of: dt.date, cycle_days: float
) -> pd.Series:
    """Return when each open deal is expected to close, always after ``as_of``.

    In order of preference:

    1. the CRM's ``close_date``, when it lies after ``as_of``;
    2. the creation date plus the typical cycle, when that lies after
       ``as_of``;
    3. the day after ``as_of``, for overdue deals.
    """
    next_day = pd.Timestamp(as_of + dt.timedelta(days=1))
    created = open_deals["created_at"].dt.tz_convert(None).dt.normalize()
    by_cycle = created + pd.Timedelta(days=round(cycle_days))
    by_cycle = by_cycle.where(by_cycle >= next_day, next_day)
    close_date = pd.to_datetime(open_deals["close_date"])
    expected = close_date.where(close_date >= next_day, by_cycle)
    return expected.astype("datetime64[us]")


def count_close_date_rules(
    open_deals: pd.DataFrame, as_of: dt.date, cycle_days: float
) -> dict[str, Any]:
    """Count the open deals by the rule of :func:`expected_close_dates` they took.

    Returns ``without_close_date`` and ``overdue`` (a close date on or
    before ``as_of``), each split into ``..._by_cycle`` (creation plus the
    typical cycle) and ``..._next_day`` (the day after ``as_of``), plus
    ``cycle_days`` (rounded) and ``next_day`` (ISO date). Deals with a
    close date after ``as_of`` keep it and are not counted.
    """
    next_day = pd.Timestamp(as_of + dt.timedelta(days=1))
    created = open_deals["created_at"].dt.tz_convert(None).dt.normalize()
    by_cycle = (created + pd.Timedelta(days=round(cycle_days))) >= next_day
    close_date = pd.to_datetime(open_deals["close_date"])
    missing = close_date.isna()
    overdue = close_date < next_day
    return {
        "without_close_date_by_cycle": int((missing & by_cycle).sum()),
        "without_close_date_next_day": int((missing & ~by_cycle).sum()),
        "overdue_by_cycle": int((overdue & by_cycle).sum()),
        "overdue_next_day": int((overdue & ~by_cycle).sum()),
        "cycle_days": round(cycle_days),
        "next_day": next_day.date().isoformat(),
    }


def compute_standin_tiers(snapshot: pd.DataFrame) -> pd.Series:
    """Rank accounts into tiers 1 to 4 by the value known on the snapshot date.

    Value is the amount won to date plus the open amount. The top 10% of
    accounts with any value are tier 1, the next 20% tier 2, the next 30%
    tier 3; the rest, and accounts without value, are tier 4. The forecasts
    use these tiers when the tiering model's table is absent. They come from
    the snapshot alone, so a backtest cut-off sees no later deal.
    """
    counted = snapshot[snapshot["is_won"] | snapshot["is_open"]]
    value = counted.groupby("account_id")["amount"].sum()
    value = value[value > 0].sort_values(ascending=False, kind="stable")
    rank_share = (np.arange(len(value)) + 1) / max(len(value), 1)
    bounds = np.cumsum(STANDIN_TIER_SHARES)
    tiers = 1 + np.searchsorted(bounds, rank_share, side="left")
    return pd.Series(np.minimum(tiers, 4), index=value.index, dtype=int)


def _hide_outcome_dates(
    open_deals: pd.DataFrame, stage_map: Mapping[str, Mapping[str, Any]]
) -> pd.Series:
    """Return ``close_date`` emptied for deals that have closed since ``as_of``.

    A deal open on a past date but won or lost today carries its actual
    close date, which was not known on that date. Only deals still open
    today keep their expected close date. NOTE: that date is today's expectation,
    because the canonical tables keep no history of expected close dates.
    """
    categories = {stage: entry["category"] for stage, entry in stage_map.items()}
    current = open_deals["stage"].map(categories).astype(object)
    current = current.fillna(open_deals["stage_category"].astype(object))
    return open_deals["close_date"].where(current == "open")


def _resolve_tiers(
    tiers: pd.DataFrame | None, snapshot: pd.DataFrame
) -> tuple[pd.Series, bool]:
    if tiers is None or tiers.empty:
        return compute_standin_tiers(snapshot), True
    known = tiers.dropna(subset=["account_id", "tier"])
    return known.set_index("account_id")["tier"].astype(int), False


def _age_days(created_at: pd.Series, as_of: dt.date) -> pd.Series:
    created = created_at.dt.tz_convert(None).dt.normalize()
    return (pd.Timestamp(as_of) - created).dt.days.clip(lower=0).astype(float)
