"""Cent-exact allocation of an amount over weighted touches.

Every attribution model gives each touch of an opportunity's journey a
non-negative weight. The opportunity's amount, in whole cents, is split in
proportion to the weights by the largest-remainder rule:

1. each touch gets the floor of ``amount_cents * weight / total_weight``;
2. the cents left over go one each to the touches with the largest
   fractional remainders;
3. equal remainders go to the touch earlier in the journey (lower
   ``position``, see :mod:`acctlib.attribution.journeys` for the order).

So 100.00 over three equal touches is 33.34 + 33.33 + 33.33, the credits of
an opportunity always sum to its amount to the cent, and a touch with zero
weight never gets a cent. When every weight of an opportunity is zero, the
touches are weighted equally instead, so the amount is still credited.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd


def to_cents(amounts: pd.Series) -> pd.Series:
    """Return amounts in the report currency as whole cents (int64), half up."""
    values = amounts.astype("float64").to_numpy()
    return pd.Series(
        np.floor(np.round(values * 100, 6) + 0.5).astype("int64"), index=amounts.index
    )


def allocate_cents(amount_cents: int, weights: np.ndarray) -> np.ndarray:
    """Split ``amount_cents`` over ``weights`` by the largest-remainder rule.

    ``weights`` are non-negative and listed in journey order, which breaks
    ties between equal remainders. Returns int64 cents of the same length
    that sum to ``amount_cents``.
    """
    weights = np.asarray(weights, dtype="float64")
    if len(weights) == 0:
        return np.zeros(0, dtype="int64")
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    exact = amount_cents * weights / weights.sum()
    floors = np.floor(exact)
    remainders = np.where(weights > 0, exact - floors, -1.0)
    leftover = int(amount_cents - floors.sum())
    # A stable sort on the negated remainder keeps journey order among ties.
    order = np.argsort(-remainders, kind="stable")
    cents = floors.astype("int64")
    cents[order[:leftover]] += 1
    return cents


def allocate_cents_expr(weighted: ibis.Table, group_by: list[str]) -> ibis.Table:
    """Add ``credit_cents`` to ``weighted`` by the largest-remainder rule.

    Parameters
    ----------
    weighted
        Ibis table with ``amount_cents`` (int64, equal within a group),
        ``weight`` (float, non-negative) and ``position`` (0-based journey
        order), one row per touch.
    group_by
        Columns that identify one allocation, such as the model, the credit
        kind and the opportunity.

    Returns
    -------
    ibis.Table
        ``weighted`` with ``credit_cents`` (int64) added; the helper columns
        are dropped again.
    """
    window = ibis.window(group_by=group_by)
    # Three window passes: totals, the floor sum, then the remainder rank.
    staged = weighted.mutate(
        _total=weighted.weight.sum().over(window),
        _count=weighted.weight.count().over(window),
    )
    use_weight = staged._total > 0
    share = ibis.ifelse(
        use_weight,
        staged.weight / staged._total,
        1.0 / staged._count.cast("float64"),
    )
    positive = use_weight.ifelse(staged.weight > 0, True)
    exact = staged.amount_cents.cast("float64") * share
    floor = exact.floor().cast("int64")
    staged = staged.mutate(
        _floor=floor,
        _remainder=ibis.ifelse(positive, exact - floor.cast("float64"), -1.0),
    )
    staged = staged.mutate(
        _leftover=staged.amount_cents - staged._floor.sum().over(window)
    )
    rank = ibis.row_number().over(
        group_by=group_by,
        order_by=[ibis.desc(staged._remainder), staged.position],
    )
    staged = staged.mutate(_rank=rank)
    bonus = ibis.ifelse(staged._rank < staged._leftover, 1, 0).cast("int64")
    staged = staged.mutate(credit_cents=staged._floor + bonus)
    return staged.drop("_total", "_count", "_floor", "_remainder", "_leftover", "_rank")
