"""Figures of the executive summary, computed from the prepared tables.

Each function takes the as-of opportunity snapshot or the account map (see
``acctlib.asof`` and ``schema.ACCOUNT_MAP_COLUMNS``) and returns a small,
already aggregated frame that a chart or table shows as it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pandas as pd

from acctlib import schema
from acctlib.bookings import won_in_period


def summarize_status_counts(account_map: pd.DataFrame) -> pd.DataFrame:
    """Return ``status`` and ``accounts`` for every status, zeros included.

    The "No account" row is not an account and is left out.
    """
    accounts = account_map[account_map["account_id"] != schema.NO_ACCOUNT]
    counts = accounts["status"].value_counts()
    statuses = list(schema.ACCOUNT_STATUSES)
    return pd.DataFrame(
        {
            "status": statuses,
            "accounts": [int(counts.get(status, 0)) for status in statuses],
        }
    )


def summarize_bookings_by_month(
    snapshot: pd.DataFrame, as_of: dt.date, *, months: int = 24
) -> pd.DataFrame:
    """Return won bookings per calendar month and deal type.

    Covers the ``months`` months ending with the as-of month. Only deal
    types won in those months appear, so a chart legend lists no type
    without bookings. Months without bookings appear with 0 for each of
    them, so the series has no gaps, and without any won deal the frame is
    empty. Columns: ``month`` (first day, datetime64), ``type``,
    ``bookings``.
    """
    end = pd.Timestamp(as_of).to_period("M")
    periods = pd.period_range(end - (months - 1), end, freq="M")
    won = snapshot[snapshot["is_won"]].copy()
    won["period"] = pd.to_datetime(won["closed_on"]).dt.to_period("M")
    won = won[won["period"].isin(periods)]
    totals = won.groupby(["period", "type"])["amount"].sum()
    present = set(won["type"].dropna())
    types = [kind for kind in schema.OPPORTUNITY_TYPES if kind in present]
    types += sorted(present - set(types))
    grid = pd.MultiIndex.from_product([periods, types], names=["period", "type"])
    totals = totals.reindex(grid, fill_value=0.0).round(2).reset_index()
    totals["month"] = totals["period"].dt.to_timestamp()
    return totals.rename(columns={"amount": "bookings"})[["month", "type", "bookings"]]


def summarize_pipeline_by_stage(
    snapshot: pd.DataFrame, stage_map: Mapping[str, Mapping]
) -> pd.DataFrame:
    """Return open opportunities and amount per open stage, in process order.

    Columns: ``stage``, ``order``, ``opportunities``, ``amount``.
    """
    open_deals = snapshot[snapshot["is_open"]]
    grouped = open_deals.groupby("stage_asof").agg(
        opportunities=("opportunity_id", "size"), amount=("amount", "sum")
    )
    open_stages = [
        stage for stage, entry in stage_map.items() if entry.get("category") == "open"
    ]
    stages = list(dict.fromkeys([*open_stages, *grouped.index]))
    result = grouped.reindex(stages, fill_value=0).reset_index(names="stage")
    result["order"] = result["stage"].map(
        lambda stage: stage_map.get(stage, {}).get("order", len(stage_map) + 1)
    )
    result["opportunities"] = result["opportunities"].astype("int64")
    result["amount"] = result["amount"].astype("float64").round(2)
    return result.sort_values(["order", "stage"]).reset_index(drop=True)


def summarize_value_by_segment(
    account_map: pd.DataFrame, segment: str = "industry"
) -> pd.DataFrame:
    """Return account ``value`` summed per segment and status.

    Columns: ``segment``, ``status``, ``accounts``, ``value``. Accounts with
    no segment value are grouped as "Unknown". ``value`` is missing rather
    than 0 when every account of the group has a missing value.
    """
    accounts = account_map[account_map["account_id"] != schema.NO_ACCOUNT]
    frame = accounts.assign(segment=accounts[segment].fillna("Unknown").astype("str"))
    groups = frame.groupby(["segment", "status"])
    grouped = pd.DataFrame(
        {
            "accounts": groups["account_id"].size(),
            "value": groups["value"].sum(min_count=1),
        }
    ).reset_index()
    grouped["value"] = grouped["value"].round(2)
    return grouped.sort_values(["segment", "status"]).reset_index(drop=True)


def count_gap_accounts(gaps: pd.DataFrame) -> int:
    """Return how many accounts have at least one coverage gap.

    ``gaps`` has a row per gap, and an account can have several.
    """
    return int(gaps["account_id"].nunique())


DOMINANT_SHARE = 0.5
"""Share of a headline total above which one deal dominates it."""

DOMINANT_COLUMNS = ["figure", "opportunity_id", "name", "account_id", "amount", "total"]


def find_dominant_deals(snapshot: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Return each deal that is over half of bookings year to date or of the pipeline.

    Bookings year to date are the amounts of deals won from 1 January of
    the ``as_of`` year up to ``as_of``, as the headline counts them, and
    the open pipeline the amounts of deals open on ``as_of``. One row per
    dominated figure (``bookings_ytd`` or ``open_pipeline``) with the
    deal's ``opportunity_id``, ``name`` (missing when the source has no
    deal names), ``account_id``, ``amount`` and the figure's ``total``.
    A figure of zero or less has no dominant deal.
    """
    year_start = pd.Timestamp(as_of.replace(month=1, day=1))
    deal_sets = {
        "bookings_ytd": won_in_period(snapshot, year_start, as_of),
        "open_pipeline": snapshot["is_open"].astype(bool),
    }
    rows = []
    for figure, mask in deal_sets.items():
        deals = snapshot.loc[mask & snapshot["amount"].notna()]
        total = float(deals["amount"].sum())
        if deals.empty or total <= 0:
            continue
        largest = deals.loc[deals["amount"].idxmax()]
        if float(largest["amount"]) <= DOMINANT_SHARE * total:
            continue
        rows.append(
            {
                "figure": figure,
                "opportunity_id": largest["opportunity_id"],
                "name": largest.get("name"),
                "account_id": largest["account_id"],
                "amount": float(largest["amount"]),
                "total": total,
            }
        )
    return pd.DataFrame(rows, columns=DOMINANT_COLUMNS)
