"""Account-based forecast: probabilities by tier and stage, plus customers.

Two parts, both learned from what was known on the as-of date:

1. Open deals close with the win rate of their account's tier at their
   stage. Each tier-and-stage rate is shrunk towards the stage's rate over
   all tiers, ``(won + k * stage_rate) / (closed + k)``, so a tier with few
   closed deals stays close to the stage's rate.
2. Customers book expansion and renewal deals that are not in the pipeline
   yet. Every expansion or renewal deal won in the 12 months before the
   as-of date recurs at a Poisson rate of once a year, and books inside a
   window only if it could still be created after the as-of date and close
   in the window, which needs the window to reach at least its sales cycle
   (creation to close) past the as-of date.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from acctlib.forecast.periods import Window

REPEAT_TYPES = ("expansion", "renewal")
"""Deal types that customers book again and that the repeat part counts."""

TRAILING_DAYS = 365


def learn_tier_stage_probabilities(
    reach: pd.DataFrame, stage_probabilities: pd.Series, prior_deals: float
) -> pd.DataFrame:
    """Return the win rate per tier and stage, shrunk to the stage's rate.

    ``reach`` is :func:`acctlib.forecast.pipeline.compute_stage_reach`;
    ``stage_probabilities`` is the rate per stage over all tiers. Returns
    columns ``tier``, ``stage``, ``closed``, ``won`` and ``probability``
    for every tier 1 to 4 and every stage in ``stage_probabilities``.
    """
    counts = (
        reach.groupby(["tier", "stage"])["is_won"]
        .agg(closed="size", won="sum")
        .reset_index()
    )
    grid = pd.MultiIndex.from_product(
        [[1, 2, 3, 4], list(stage_probabilities.index)], names=["tier", "stage"]
    ).to_frame(index=False)
    table = grid.merge(counts, on=["tier", "stage"], how="left")
    table[["closed", "won"]] = table[["closed", "won"]].fillna(0).astype(int)
    prior = table["stage"].map(stage_probabilities).astype(float)
    table["probability"] = (table["won"] + prior_deals * prior) / (
        table["closed"] + prior_deals
    )
    return table


def apply_tier_stage_probabilities(
    open_deals: pd.DataFrame, table: pd.DataFrame
) -> pd.DataFrame:
    """Return ``open_deals`` with ``probability`` looked up by tier and stage.

    A stage missing from ``table`` keeps the deal's ``probability_asof``
    from the stage map, or 0 without one.
    """
    lookup = table.set_index(["tier", "stage"])["probability"]
    keys = pd.MultiIndex.from_arrays(
        [open_deals["tier"].astype(int), open_deals["stage_asof"]]
    )
    probability = pd.Series(lookup.reindex(keys).to_numpy(), index=open_deals.index)
    fallback = open_deals["probability_asof"].astype(float)
    deals = open_deals.copy()
    deals["probability"] = probability.fillna(fallback).fillna(0.0).clip(0.0, 1.0)
    return deals


def compute_repeat_rates(
    closed: pd.DataFrame, windows: list[Window], as_of: dt.date
) -> tuple[np.ndarray, np.ndarray]:
    """Return past expansion and renewal deals and their expected recurrences.

    Returns the amounts of the deals won in the 12 months to ``as_of`` and a
    deals-by-windows matrix of expected recurrences: the number of days of
    the window on which the deal could close, counting only days at least
    more than its sales cycle after ``as_of``, divided by 365.
    """
    since = pd.Timestamp(as_of - dt.timedelta(days=TRAILING_DAYS - 1))
    # A credit note (a negative won amount) counts in bookings but is not a
    # purchase that recurs.
    repeat = closed[
        closed["is_won"]
        & closed["type"].isin(REPEAT_TYPES)
        & (closed["closed_on"] >= since)
        & (closed["amount"] > 0)
    ]
    created = repeat["created_at"].dt.tz_convert(None).dt.normalize()
    cycle = (repeat["closed_on"] - created).dt.days.clip(lower=0).to_numpy()

    rates = np.zeros((len(repeat), len(windows)))
    for column, window in enumerate(windows):
        first = max((window.start - as_of).days, 1)
        last = (window.end - as_of).days
        earliest = np.maximum(first, cycle + 1)
        rates[:, column] = np.clip(last - earliest + 1, 0, None) / TRAILING_DAYS
    return repeat["amount"].to_numpy(dtype=float), rates
