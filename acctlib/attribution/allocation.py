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

from collections.abc import Callable, Mapping

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


RankRule = Callable[[ibis.Table, str, Callable[..., ibis.Value]], ibis.Table]
"""Closed-form remainder rank of one credit column.

Called with the staged table, the credit column's name and a function
``remainder_of(table, weight)`` returning the remainder that a touch of
``weight`` has in the row's journey. Returns the table with
``_rank_<credit>``, the 0-based rank the remainder window would give the
row; helper columns it adds start with an underscore.
"""


def allocate_cents_columns(
    table: ibis.Table,
    columns: dict[str, str],
    group_by: list[str],
    ranks: Mapping[str, RankRule] | None = None,
) -> ibis.Table:
    """Allocate ``amount_cents`` once per weight column, side by side.

    The rule and its tie-break are those of :func:`allocate_cents_expr`, but
    every weight column of ``columns`` (weight column name to credit column
    name) is allocated over the same rows. The totals and the floor sums of
    all columns share one pass each, because their windows are the same.
    The remainder ranks cost one sort per column, except for the credit
    columns of ``ranks``, whose rank is computed from the row alone.

    Returns ``table`` with one int64 credit column per entry of ``columns``
    and without the weight columns.
    """
    if not columns:
        return table
    ranks = dict(ranks or {})
    window = ibis.window(group_by=group_by)
    staged = table.mutate(
        _count=table.position.count().over(window),
        **{
            f"_total_{credit}": table[weight].sum().over(window)
            for weight, credit in columns.items()
        },
    )
    parts = {}
    for weight, credit in columns.items():
        floor, remainder = _floor_and_remainder(staged, credit, staged[weight])
        parts[f"_floor_{credit}"] = floor
        parts[f"_remainder_{credit}"] = remainder
    staged = staged.mutate(**parts)
    staged = staged.mutate(
        **{
            f"_leftover_{credit}": staged.amount_cents
            - staged[f"_floor_{credit}"].sum().over(window)
            for credit in columns.values()
        }
    )
    for credit in columns.values():
        if credit in ranks:
            staged = ranks[credit](staged, credit, _remainder_of)
            continue
        rank = ibis.row_number().over(
            group_by=group_by,
            order_by=[ibis.desc(staged[f"_remainder_{credit}"]), staged.position],
        )
        staged = staged.mutate(**{f"_rank_{credit}": rank})
    credits = {
        credit: staged[f"_floor_{credit}"]
        + ibis.ifelse(
            staged[f"_rank_{credit}"] < staged[f"_leftover_{credit}"], 1, 0
        ).cast("int64")
        for credit in columns.values()
    }
    staged = staged.mutate(**credits)
    helpers = [c for c in staged.columns if c.startswith("_")]
    return staged.drop(*dict.fromkeys([*helpers, *columns]))


def _floor_and_remainder(
    staged: ibis.Table, credit: str, weight: ibis.Value
) -> tuple[ibis.Value, ibis.Value]:
    """Return the floor cents and remainder of a touch of ``weight``.

    The same expression serves the row's own weight and the closed-form
    ranks, so both compute bit-identical remainders.
    """
    total = staged[f"_total_{credit}"]
    use_weight = total > 0
    share = ibis.ifelse(use_weight, weight / total, 1.0 / staged._count.cast("float64"))
    exact = staged.amount_cents.cast("float64") * share
    floor = exact.floor().cast("int64")
    positive = use_weight.ifelse(weight > 0, True)
    remainder = ibis.ifelse(positive, exact - floor.cast("float64"), -1.0)
    return floor, remainder


def _remainder_of(staged: ibis.Table, credit: str, weight: ibis.Value) -> ibis.Value:
    return _floor_and_remainder(staged, credit, weight)[1]
