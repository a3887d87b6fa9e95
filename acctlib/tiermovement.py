"""Tier movement over month-ends and the checks that tiers mean something.

Inputs are ``account_tiers`` frames (see
:data:`acctlib.tiering.ACCOUNT_TIERS_COLUMNS`) computed at several dates
by the same code, stacked by :func:`stack_history` with a ``month_end``
column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from acctlib import tiering

NEW = 0
"""``from_tier`` of an account that had no tier at the earlier date."""


def stack_history(
    states: Mapping[dt.date, Mapping[str, pd.DataFrame]], name: str
) -> pd.DataFrame:
    """Return the frames called ``name`` of every state, with a ``month_end`` column.

    ``month_end`` is a naive date at midnight; rows are sorted by date and
    ``account_id``.
    """
    frames = [
        states[date][name].assign(month_end=pd.Timestamp(date))
        for date in sorted(states)
    ]
    stacked = pd.concat(frames, ignore_index=True)
    columns = ["month_end", *[c for c in stacked.columns if c != "month_end"]]
    return (
        stacked[columns].sort_values(["month_end", "account_id"]).reset_index(drop=True)
    )


def compute_transitions(history: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Count accounts per (from tier, to tier) over the month and over the year.

    ``period`` is ``month`` (previous month-end to ``as_of``) or ``year``
    (the month-end 12 months earlier to ``as_of``); ``from_tier`` is
    :data:`NEW` for accounts without a tier then. Every pair of tiers is
    present, zero included. Empty for a period whose start is not in
    ``history``.
    """
    dates = sorted(history["month_end"].unique())
    end = pd.Timestamp(as_of)
    starts = {}
    if len(dates) >= 2:
        starts["month"] = dates[-2]
    year_start = end - pd.DateOffset(months=12)
    year_dates = [d for d in dates if d <= year_start]
    if year_dates:
        starts["year"] = year_dates[-1]

    frames = []
    for period, start in starts.items():
        pairs = _pair_tiers(history, start, end)
        counts = pairs.groupby(["from_tier", "to_tier"]).size()
        grid = pd.MultiIndex.from_product(
            [[NEW, 1, 2, 3, 4], [1, 2, 3, 4]], names=["from_tier", "to_tier"]
        )
        counts = counts.reindex(grid, fill_value=0).rename("accounts").reset_index()
        frames.append(counts.assign(period=period, start=pd.Timestamp(start)))
    if not frames:
        return pd.DataFrame(
            {
                "period": pd.Series(dtype=str),
                "start": pd.Series(dtype="datetime64[us]"),
                "from_tier": pd.Series(dtype="int64"),
                "to_tier": pd.Series(dtype="int64"),
                "accounts": pd.Series(dtype="int64"),
            }
        )
    columns = ["period", "start", "from_tier", "to_tier", "accounts"]
    return pd.concat(frames, ignore_index=True)[columns]


def find_tier_movers(
    history: pd.DataFrame,
    as_of: dt.date,
    rules: Mapping[int, Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """List accounts whose tier changed since the previous month-end.

    Columns: ``account_id``, ``name``, ``from_tier``, ``to_tier``,
    ``direction`` (up or down), ``fit_change``, ``value_change``,
    ``engagement_change`` (score points) and ``moved_by``: the score with
    the largest change in the direction of the move. With ``rules`` (see
    :func:`acctlib.tiering.parse_tier_rules`), only the scores of the rule
    that decided the move count: the new tier's rule for a move up, the
    old tier's for a move down. Sorted by the new tier, then ``account_id``.
    """
    dates = sorted(history["month_end"].unique())
    columns = [
        "account_id",
        "name",
        "from_tier",
        "to_tier",
        "direction",
        "fit_change",
        "value_change",
        "engagement_change",
        "moved_by",
    ]
    if len(dates) < 2:
        dtypes = [str, str, "int64", "int64", str, float, float, float, str]
        return pd.DataFrame(
            {c: pd.Series(dtype=t) for c, t in zip(columns, dtypes, strict=True)}
        )
    pairs = _pair_tiers(history, dates[-2], pd.Timestamp(as_of))
    moved = pairs[
        (pairs["from_tier"] != pairs["to_tier"]) & (pairs["from_tier"] != NEW)
    ].copy()
    for score in tiering.SCORES:
        moved[f"{score}_change"] = (
            moved[f"{score}_score"] - moved[f"{score}_score_before"]
        ).round(1)
    moved["direction"] = np.where(moved["to_tier"] < moved["from_tier"], "up", "down")
    changes = moved[[f"{score}_change" for score in tiering.SCORES]].to_numpy()
    sign = np.where(moved["direction"] == "up", 1.0, -1.0)[:, None]
    directed = changes * sign
    if rules:
        # A score outside the deciding rule cannot have moved the account.
        deciding = np.minimum(moved["from_tier"], moved["to_tier"]).to_numpy()
        scores = tiering.SCORES
        rows = [
            [score in rules.get(int(tier), scores) for score in scores]
            for tier in deciding
        ]
        used = np.array(rows, dtype=bool).reshape(len(moved), len(scores))
        directed = np.where(used, directed, -np.inf)
    best = np.argmax(directed, axis=1) if len(moved) else np.array([], dtype=int)
    moved["moved_by"] = [tiering.SCORES[i] for i in best]
    return moved.sort_values(["to_tier", "account_id"])[columns].reset_index(drop=True)


def summarize_tier_shares(
    tiers: pd.DataFrame,
    account_map: pd.DataFrame,
    opportunities: pd.DataFrame,
    as_of: dt.date,
    *,
    months: int = 12,
) -> pd.DataFrame:
    """Return each tier's share of accounts, pipeline, bookings and revenue.

    Win rate and cycle length come from opportunities closed in the
    ``months`` months to ``as_of``; cycle length is the mean ``days_open``
    of the won ones. Revenue is ``revenue_12m``. Without revenue figures
    (a source without a revenue table), ``revenue`` and ``revenue_share``
    are NaN, because won ACV in their place would only repeat the bookings
    share. Columns: ``tier``, ``tier_label``, ``accounts``,
    ``open_pipeline``, ``bookings_12m``, ``revenue``, the share of each
    (``*_share``, 0 to 1), ``win_rate`` and ``cycle_days``.
    """
    figures = tiers[["account_id", "tier"]].merge(
        account_map[["account_id", "open_pipeline", "bookings_12m", "revenue_12m"]],
        on="account_id",
        how="left",
    )
    has_revenue = figures["revenue_12m"].notna().any()
    figures["revenue"] = figures["revenue_12m"]
    grouped = figures.groupby("tier")
    shares = pd.DataFrame(
        {
            "accounts": grouped.size(),
            "open_pipeline": grouped["open_pipeline"].sum(),
            "bookings_12m": grouped["bookings_12m"].sum(),
            "revenue": grouped["revenue"].sum(),
        }
    ).reindex(list(tiering.TIER_LABELS), fill_value=0)
    if not has_revenue:
        shares["revenue"] = np.nan
    for column in ("accounts", "open_pipeline", "bookings_12m", "revenue"):
        total = shares[column].sum()
        shares[f"{column}_share"] = shares[column] / total if total else np.nan

    start = pd.Timestamp(as_of) - pd.DateOffset(months=months)
    deals = opportunities.merge(tiers[["account_id", "tier"]], on="account_id")
    closed = deals[~deals["is_open"] & (pd.to_datetime(deals["closed_on"]) > start)]
    shares["win_rate"] = closed.groupby("tier")["is_won"].mean()
    shares["cycle_days"] = closed[closed["is_won"]].groupby("tier")["days_open"].mean()
    shares.index.name = "tier"
    shares = shares.reset_index()
    shares.insert(1, "tier_label", shares["tier"].map(tiering.TIER_LABELS))
    return shares


def compute_threshold_sensitivity(
    tiers: pd.DataFrame, rules: Mapping[int, Mapping[str, Any]], *, step: float = 0.1
) -> pd.DataFrame:
    """Recount tiers with each threshold moved down and up by ``step`` (10%).

    Columns: ``threshold`` (such as ``tier_1.value``), ``change`` (-0.1,
    0.0 or +0.1), ``base``/``value`` (threshold before and after),
    ``tier_1`` to ``tier_4`` (accounts) and ``accounts_moved``. The first
    row is the unchanged rules.
    """
    base_tiers = tiering.assign_tiers(tiers, rules)
    rows = [_count_tiers("unchanged", 0.0, np.nan, np.nan, base_tiers, base_tiers)]
    for number, rule in rules.items():
        for score in tiering.SCORES:
            if score not in rule:
                continue
            for change in (-step, step):
                moved_rules = {n: dict(r) for n, r in rules.items()}
                value = min(100.0, rule[score] * (1 + change))
                moved_rules[number][score] = value
                recounted = tiering.assign_tiers(tiers, moved_rules)
                name = f"tier_{number}.{score}"
                rows.append(
                    _count_tiers(
                        name, change, rule[score], value, recounted, base_tiers
                    )
                )
    return pd.DataFrame(rows)


def _pair_tiers(history: pd.DataFrame, start: Any, end: pd.Timestamp) -> pd.DataFrame:
    columns = ["account_id", "tier", *[f"{s}_score" for s in tiering.SCORES]]
    before = history.loc[history["month_end"] == pd.Timestamp(start), columns]
    after = history.loc[history["month_end"] == end, [*columns, "name"]]
    pairs = after.merge(before, on="account_id", how="left", suffixes=("", "_before"))
    pairs["from_tier"] = pairs["tier_before"].fillna(NEW).astype("int64")
    pairs["to_tier"] = pairs["tier"].astype("int64")
    return pairs


def _count_tiers(
    name: str,
    change: float,
    base: float,
    value: float,
    tiers: pd.Series,
    base_tiers: pd.Series,
) -> dict[str, Any]:
    counts = tiers.value_counts()
    row = {"threshold": name, "change": round(change, 3), "base": base, "value": value}
    row.update({f"tier_{n}": int(counts.get(n, 0)) for n in tiering.TIER_LABELS})
    row["accounts_moved"] = int((tiers != base_tiers).sum())
    return row
