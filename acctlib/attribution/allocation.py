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
from typing import Protocol

import ibis
import ibis.expr.datatypes as dt
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
        ``weighted`` with ``credit_cents`` (int64) added. ``position`` must
        be unique within a group.
    """
    # The weight is allocated from a copy, as allocation drops its input.
    staged = weighted.mutate(_allocated_weight=weighted.weight)
    return allocate_cents_columns(
        staged, {"_allocated_weight": "credit_cents"}, group_by
    )


ValueOf = Callable[[ibis.Table, str, ibis.Value], ibis.Value]
"""``value_of(staged, credit, weight)``: a row's floor cents or remainder."""


class ClosedForm(Protocol):
    """Row-wise allocation of one credit column, without passes over the group.

    A model whose weights take few distinct values in a group can give each
    row the group's total weight, the sum of its floor cents and the rank of
    its remainder from the row's own columns. Each method returns
    expressions on the staged table; :func:`allocate_cents_columns` adds
    those of every column in one step each, in the order of the methods.
    Names of helper columns start with ``_<credit>_``.
    """

    def helper_columns(self, staged: ibis.Table, credit: str) -> dict:
        """Return the helper columns the other methods read."""

    def total(self, staged: ibis.Table, credit: str) -> ibis.Value:
        """Return the group's total weight."""

    def remainder_columns(
        self, staged: ibis.Table, credit: str, remainder_of: ValueOf
    ) -> dict:
        """Return helper columns of remainders that :meth:`rank` reads."""

    def floor_sum(
        self, staged: ibis.Table, credit: str, floor_of: ValueOf
    ) -> ibis.Value:
        """Return the sum of the group's floor cents."""

    def rank(self, staged: ibis.Table, credit: str) -> ibis.Value:
        """Return the row's remainder rank.

        The rank is the 0-based place the row takes when the group's rows
        are ordered by ``_remainder_<credit>``, largest first, then by
        ``position``.
        """


def allocate_cents_columns(
    table: ibis.Table,
    columns: dict[str, str],
    group_by: list[str],
    closed_forms: Mapping[str, ClosedForm] | None = None,
    count: str | None = None,
) -> ibis.Table:
    """Allocate ``amount_cents`` once per weight column, side by side.

    The rule and its tie-break are those of :func:`allocate_cents_expr`, but
    every weight column of ``columns`` (weight column name to credit column
    name) is allocated over the same rows, whose ``position`` is unique in
    their group. The credit columns of ``closed_forms`` come from each row
    alone, which needs ``count``: a column holding each group's row count.
    The other columns are allocated by :func:`allocate_cents_narrow` and
    joined back on the group and the position.

    Returns ``table`` with one int64 credit column per entry of ``columns``
    and without the weight columns.
    """
    if not columns:
        return table
    closed_forms = dict(closed_forms or {})
    grouped = {
        weight: credit
        for weight, credit in columns.items()
        if credit not in closed_forms
    }
    staged = table
    if closed_forms:
        closed = {w: c for w, c in columns.items() if c in closed_forms}
        staged = _allocate_row_wise(staged, closed, closed_forms, count)
    if grouped:
        credited = allocate_cents_narrow(table, grouped, group_by)
        staged = staged.drop(*grouped).join(credited, [*group_by, "position"])
    return staged


# Weights are at most 1 in every model, so 8 integer digits hold a sum of
# many. 30 fractional digits drop only weights far too small to move a cent.
_EXACT_WEIGHT = dt.Decimal(precision=38, scale=30)


def exact_sum(weights: ibis.Value) -> ibis.Value:
    """Return the sum of float ``weights`` that is the same in any row order.

    A float sum rounds after each addition, so rows read in another order
    can give another last bit. That bit decides between remainders that are
    equal on paper, such as those of a touch of weight 0.4 and two of
    weight 0.1. Shuffled input rows then moved a cent between touches.
    Decimal sums are exact, so only the final conversion to float rounds.

    A group whose every weight is below 1e-30, such as time-decay touches
    hundreds of half-lives before the close, has a decimal sum of 0, and
    gets the float sum instead, so its weights still count.
    """
    exact = weights.cast(_EXACT_WEIGHT).sum().cast("float64")
    return ibis.ifelse(exact > 0, exact, weights.sum())


def allocate_cents_narrow(
    table: ibis.Table, columns: dict[str, str], group_by: list[str]
) -> ibis.Table:
    """Allocate ``amount_cents`` per weight column on narrow rows.

    The rule is that of :func:`allocate_cents_expr`. The totals and the
    floor sums of all columns are grouped once each and joined back, and
    each remainder rank is numbered by a window. These passes read only the
    group, ``position``, ``amount_cents`` and the weights, so they move few
    columns.

    Returns ``group_by``, ``position`` and one int64 credit column per
    entry of ``columns``, one row per row of ``table``.
    """
    narrow = table.select(*group_by, "position", "amount_cents", *columns)
    totals = narrow.group_by(group_by).aggregate(
        _count=ibis._.count(),
        **{
            f"_total_{credit}": exact_sum(narrow[weight])
            for weight, credit in columns.items()
        },
    )
    staged = narrow.join(totals, group_by)

    parts = {}
    for weight, credit in columns.items():
        floor, remainder = _floor_and_remainder(staged, credit, staged[weight])
        parts[f"_floor_{credit}"] = floor
        parts[f"_remainder_{credit}"] = remainder
    staged = staged.mutate(**parts)
    sums = staged.group_by(group_by).aggregate(
        **{
            f"_floor_sum_{credit}": staged[f"_floor_{credit}"].sum()
            for credit in columns.values()
        }
    )
    staged = staged.join(sums, group_by)

    ranks = {
        f"_rank_{credit}": ibis.row_number().over(
            group_by=group_by,
            order_by=[ibis.desc(staged[f"_remainder_{credit}"]), staged.position],
        )
        for credit in columns.values()
    }
    staged = staged.mutate(**ranks)
    credits = {
        credit: staged[f"_floor_{credit}"]
        + ibis.ifelse(
            staged[f"_rank_{credit}"]
            < staged.amount_cents - staged[f"_floor_sum_{credit}"],
            1,
            0,
        ).cast("int64")
        for credit in columns.values()
    }
    return staged.select(*group_by, "position", **credits)


def _allocate_row_wise(
    table: ibis.Table,
    columns: dict[str, str],
    closed_forms: Mapping[str, ClosedForm],
    count: str | None,
) -> ibis.Table:
    """Allocate the columns of ``closed_forms`` from each row alone."""
    if count is None:
        raise ValueError(
            "closed-form allocation needs count: pass the column of group row counts"
        )

    helpers = {"_count": table[count]}
    for credit, rule in closed_forms.items():
        helpers |= rule.helper_columns(table, credit)
    staged = table.mutate(**helpers)
    staged = staged.mutate(
        **{
            f"_total_{credit}": rule.total(staged, credit)
            for credit, rule in closed_forms.items()
        }
    )

    parts = {}
    for weight, credit in columns.items():
        floor, remainder = _floor_and_remainder(staged, credit, staged[weight])
        parts[f"_floor_{credit}"] = floor
        parts[f"_remainder_{credit}"] = remainder
    for credit, rule in closed_forms.items():
        parts |= rule.remainder_columns(staged, credit, _remainder_of)
    staged = staged.mutate(**parts)

    staged = staged.mutate(
        **{
            f"_leftover_{credit}": staged.amount_cents
            - rule.floor_sum(staged, credit, _floor_of)
            for credit, rule in closed_forms.items()
        }
    )
    staged = staged.mutate(
        **{
            f"_rank_{credit}": rule.rank(staged, credit)
            for credit, rule in closed_forms.items()
        }
    )

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
    # NOTE: remainders equal on paper but computed from different weights can
    # differ in their last bit. The larger then takes the cent, even when it
    # belongs to a later touch.
    total = staged[f"_total_{credit}"]
    use_weight = total > 0
    share = ibis.ifelse(use_weight, weight / total, 1.0 / staged._count.cast("float64"))
    exact = staged.amount_cents.cast("float64") * share
    floor = exact.floor().cast("int64")
    positive = use_weight.ifelse(weight > 0, True)
    remainder = ibis.ifelse(positive, exact - floor.cast("float64"), -1.0)
    return floor, remainder


def _floor_of(staged: ibis.Table, credit: str, weight: ibis.Value) -> ibis.Value:
    return _floor_and_remainder(staged, credit, weight)[0]


def _remainder_of(staged: ibis.Table, credit: str, weight: ibis.Value) -> ibis.Value:
    return _floor_and_remainder(staged, credit, weight)[1]
