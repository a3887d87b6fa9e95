"""Stage-weighted pipeline forecast and the forecast-category roll-up.

A deal's chance to close is the probability of its stage on the as-of
date: from the stage map, or learned from the deals that had closed by
then. Learned rates are shrunk towards the stage map so that a stage few
deals passed through keeps close to its mapped probability:
``(won + k * mapped) / (closed + k)`` where ``k`` is the prior weight in
deals (parameter ``forecast_prior_deals``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from acctlib.asof import isin_values
from acctlib.bookings import sum_bookings
from acctlib.forecast.periods import Window, distinct_windows
from acctlib.forecast.state import ForecastState

CATEGORY_ORDER = ("closed", "commit", "best_case", "pipeline")
"""Forecast categories from most to least certain; omitted deals are left out."""


def compute_stage_reach(
    state: ForecastState, stage_map: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    """Return one row per closed deal and open stage it entered.

    Columns: ``opportunity_id``, ``stage``, ``entered_at`` (UTC),
    ``account_id``, ``is_won``, ``tier``, ``amount``, ``type`` and
    ``created_at``. A closed deal with no
    stage history entry counts as having entered the first open stage when
    it was created.
    """
    closed = state.closed
    columns = [
        "opportunity_id",
        "account_id",
        "is_won",
        "tier",
        "amount",
        "type",
        "created_at",
    ]
    open_stages = [
        stage for stage, entry in stage_map.items() if entry["category"] == "open"
    ]
    first_open = min(open_stages, key=lambda stage: stage_map[stage]["order"])

    entries = pd.DataFrame(columns=["opportunity_id", "stage", "entered_at"])
    if state.history is not None and not state.history.empty:
        entries = state.history[["opportunity_id", "stage", "entered_at"]]
        entries = entries[isin_values(entries["stage"], open_stages)]
        is_closed = isin_values(entries["opportunity_id"], closed["opportunity_id"])
        entries = entries[is_closed]
        entries = entries.assign(entered_at=pd.to_datetime(entries["entered_at"]))
    entries = entries.drop_duplicates(["opportunity_id", "stage"], keep="first")

    without = closed[~isin_values(closed["opportunity_id"], entries["opportunity_id"])]
    fallback = pd.DataFrame(
        {
            "opportunity_id": without["opportunity_id"],
            "stage": first_open,
            "entered_at": without["created_at"],
        }
    )
    parts = [frame for frame in (entries, fallback) if not frame.empty]
    if not parts:
        return pd.DataFrame(columns=["stage", "entered_at", *columns])
    reach = pd.concat(parts, ignore_index=True)
    return _join_closed_deals(reach, closed[columns])


def _join_closed_deals(reach: pd.DataFrame, closed: pd.DataFrame) -> pd.DataFrame:
    """Join ``closed`` onto ``reach`` by ``opportunity_id``, sorted by ID and entry.

    The result equals an inner merge followed by a stable sort by
    ``opportunity_id`` and ``entered_at``, index included. With unique,
    non-missing IDs and timestamps, Arrow finds each row's deal and ranks
    the IDs, so integer keys replace the merge and sort on text, which took
    most of this function's time.
    """
    ids = pa.array(closed["opportunity_id"].array, from_pandas=True)
    entered = reach["entered_at"]
    if (
        ids.null_count
        or pc.count_distinct(ids).as_py() != len(ids)
        or not isinstance(entered.dtype, pd.DatetimeTZDtype)
        or entered.isna().any()
    ):
        merged = reach.merge(closed, on="opportunity_id", how="inner")
        return merged.sort_values(["opportunity_id", "entered_at"], kind="stable")

    reached = pa.array(reach["opportunity_id"].array, from_pandas=True)
    positions = pc.index_in(reached, value_set=ids).fill_null(-1).to_numpy()
    rank = np.empty(len(ids), dtype=np.int64)
    rank[pc.array_sort_indices(ids).to_numpy()] = np.arange(len(ids))

    # Like the merge, number the matched rows 0, 1, ... in the order of
    # ``reach``, then sort them stably by ID rank and entry time.
    matched = np.flatnonzero(positions >= 0)
    deals = positions[matched]
    joined = reach.iloc[matched].reset_index(drop=True)
    for column in closed.columns.drop("opportunity_id"):
        joined[column] = closed[column].array.take(deals)
    times = entered.dt.tz_convert(None).to_numpy().view("int64")[matched]
    return joined.take(np.lexsort((times, rank[deals])))


def learn_stage_probabilities(
    reach: pd.DataFrame,
    stage_map: Mapping[str, Mapping[str, Any]],
    prior_deals: float,
) -> pd.Series:
    """Return the win probability of each open stage, shrunk to the stage map.

    ``reach`` is :func:`compute_stage_reach`. A stage without a mapped
    probability shrinks towards the overall win rate of closed deals.
    """
    overall = float(reach.drop_duplicates("opportunity_id")["is_won"].mean())
    if np.isnan(overall):
        overall = 0.0
    # One grouping counts every stage, where a comparison per stage read
    # all of ``reach`` again.
    grouped = reach.groupby("stage")["is_won"]
    closed, won = grouped.size(), grouped.sum()
    rates = {}
    for stage, entry in stage_map.items():
        if entry["category"] != "open":
            continue
        mapped = entry.get("probability")
        prior = overall if mapped is None else float(mapped)
        stage_won = float(won.get(stage, 0))
        stage_closed = int(closed.get(stage, 0))
        rates[stage] = (stage_won + prior_deals * prior) / (stage_closed + prior_deals)
    return pd.Series(rates, dtype=float)


def compute_stage_weighted(
    open_deals: pd.DataFrame, probabilities: pd.Series | None
) -> pd.DataFrame:
    """Return the open deals with ``probability`` from their stage on the as-of date.

    With ``probabilities`` None the stage map's ``probability_asof`` is used;
    a stage without any probability gets 0.
    """
    deals = open_deals.copy()
    mapped = deals["probability_asof"].astype(float)
    if probabilities is not None:
        learned = deals["stage_asof"].map(probabilities).astype(float)
        mapped = learned.fillna(mapped)
    deals["probability"] = mapped.fillna(0.0).clip(0.0, 1.0)
    return deals


def closed_to_date(
    closed: pd.DataFrame, windows: list[Window], as_of: dt.date
) -> np.ndarray:
    """Return the bookings per window won between its start and ``as_of``."""
    totals = np.zeros(len(windows))
    for column, window in enumerate(windows):
        end = min(window.end, as_of)
        totals[column] = sum_bookings(closed, window.start, end)
    return totals


def window_membership(expected_close: pd.Series, windows: list[Window]) -> np.ndarray:
    """Return a deals-by-windows 0/1 matrix: 1 where the deal closes in the window."""
    dates = pd.to_datetime(expected_close)
    matrix = np.zeros((len(dates), len(windows)))
    for column, window in enumerate(windows):
        inside = (dates >= pd.Timestamp(window.start)) & (
            dates <= pd.Timestamp(window.end)
        )
        matrix[:, column] = inside.to_numpy(dtype=float)
    return matrix


def rollup_forecast_categories(
    state: ForecastState, windows: list[Window]
) -> pd.DataFrame:
    """Return the forecast-category roll-up per window.

    Columns: ``window``, ``category`` (closed, commit, best_case, pipeline),
    ``opportunities``, ``amount`` and ``cumulative``, the running total
    from closed down to pipeline, so "best case" includes closed and commit.
    Closed is the amount won in the window up to the as-of date. The other
    categories hold the open deals expected to close in the window, by
    their forecast category on the as-of date. A window with the same dates
    as an earlier one is left out (see :func:`distinct_windows`).
    """
    windows = distinct_windows(windows)
    closed = closed_to_date(state.closed, windows, state.as_of)
    won = state.closed[state.closed["is_won"]]
    membership = window_membership(state.open_deals["expected_close"], windows)
    categories = state.open_deals["forecast_category_asof"].to_numpy()
    amounts = state.open_deals["amount"].to_numpy(dtype=float)

    rows = []
    for column, window in enumerate(windows):
        start, end = pd.Timestamp(window.start), pd.Timestamp(window.end)
        won_inside = won[(won["closed_on"] >= start) & (won["closed_on"] <= end)]
        running = 0.0
        for category in CATEGORY_ORDER:
            if category == "closed":
                count, amount = len(won_inside), closed[column]
            else:
                mask = (membership[:, column] > 0) & (categories == category)
                count, amount = int(mask.sum()), float(amounts[mask].sum())
            running += amount
            rows.append(
                {
                    "window": window.name,
                    "category": category,
                    "opportunities": count,
                    "amount": amount,
                    "cumulative": running,
                }
            )
    return pd.DataFrame(rows)
