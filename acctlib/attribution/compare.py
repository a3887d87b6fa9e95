"""Comparing the models: shares, agreement, coverage and the bridge.

Every function takes tables of
:class:`~acctlib.attribution.credits.AttributionResult` and returns a new,
account-sized pandas frame. The per-deal credit table may be an Ibis table
in the engine or a pandas frame; it is aggregated in the engine either way.
Where a function documents it, it may also be the credit sums with one column
per model, which group faster than their unpivoted rows.
Shares are of the credit that went to touches, so the "No recorded touch"
row is left out of them; totals keep it.
"""

from __future__ import annotations

import dataclasses
import math

import ibis
import ibis.selectors as selectors
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from acctlib import engine
from acctlib.attribution.credits import NO_TOUCH
from acctlib.attribution.heuristics import credit_heuristics
from acctlib.attribution.journeys import (
    build_journeys,
    known_touches,
    opportunities_table,
    select_opportunities,
    with_lookback,
)
from acctlib.attribution.settings import MODELS, AttributionSettings


def summarize_credit(
    credits: ibis.Table | pd.DataFrame, by: str = "channel", kind: str = "revenue"
) -> pd.DataFrame:
    """Return credit per model and ``by`` value, with each value's share.

    ``credits`` has ``kind``, ``model``, ``by`` and ``credit_cents``, such
    as the result's credit table or campaign credits, or is the credit sums
    with one column per model. Rows whose ``by`` is
    missing are left out. Returns columns ``model``, ``by``, ``credit``
    (report currency, summed in cents) and ``share`` (of the model's credit
    to touches; NaN on the "No recorded touch" row), sorted by model and
    credit.
    """
    grouped = sum_credit_cents(credits, ["model", by], kind)
    touched = grouped[grouped[by] != NO_TOUCH]
    totals = touched.groupby("model")["credit_cents"].transform("sum")
    grouped["share"] = (touched["credit_cents"] / totals).reindex(grouped.index)
    grouped["credit"] = grouped["credit_cents"] / 100.0
    grouped = grouped.sort_values(
        ["model", "credit_cents", by], ascending=[True, False, True]
    )
    return grouped[["model", by, "credit", "share"]].reset_index(drop=True)


def sum_credit_cents(
    credits: ibis.Table | pd.DataFrame, by: list[str], kind: str = "revenue"
) -> pd.DataFrame:
    """Return ``credit_cents`` (int64) summed per ``by`` over one credit kind.

    The sum runs in the engine holding ``credits`` (a pandas frame is
    wrapped as an Ibis memtable), so only one row per group is fetched.
    ``credits`` may be the credit sums with one column per model when
    ``by`` has ``model`` and another column. Groups with a missing ``by``
    value are left out, as pandas does.
    """
    grouped = _group_credit_cents(credits, by, kind)
    with engine.quiet_conversions():
        frame = grouped.order_by(by).to_pandas()
    return frame.astype({"credit_cents": "int64"})


def _group_credit_cents(
    credits: ibis.Table | pd.DataFrame, by: list[str], kind: str
) -> ibis.Table:
    """Return ``by`` and ``credit_cents`` summed over one credit kind.

    ``credits`` is one row per model (with ``model`` and ``credit_cents``)
    or the credit sums with one column per model. The sums are grouped
    first and then unpivoted, which needs ``model`` in ``by``: on the large
    benchmark size that took 0.1 s where unpivoting first took 1.0 s.
    """
    table = _as_table(credits)
    rows = table.filter(table.kind == kind)
    wide = "model" not in rows.columns
    keys = [column for column in by if not (wide and column == "model")]
    rows = rows.filter(*[rows[column].notnull() for column in keys])
    if not wide:
        return rows.group_by(by).aggregate(credit_cents=rows.credit_cents.sum())
    models = [model for model in MODELS if model in rows.columns]
    if "model" not in by or not keys:
        raise ValueError(
            f"invalid grouping {by} of credit sums with a column per model: "
            "group by model and at least one other column"
        )
    sums = rows.group_by(keys).aggregate(
        **{model: rows[model].sum() for model in models}
    )
    long = sums.pivot_longer(
        selectors.cols(*models), names_to="model", values_to="credit_cents"
    )
    return long.select(*by, credit_cents=long.credit_cents.cast("int64"))


def _as_table(credits: ibis.Table | pd.DataFrame) -> ibis.Table:
    if isinstance(credits, pd.DataFrame):
        return ibis.memtable(credits)
    return credits


def compare_models(
    shares: pd.DataFrame, by: str = "channel", robust_top: int = 3
) -> pd.DataFrame:
    """Return each value's share under every model, spread, ranks and robustness.

    ``shares`` is the output of :func:`summarize_credit`. A value is
    ``robust`` when it has a share above zero and ranks within the top
    ``robust_top`` under every model. Rank 1 is the largest share, and equal
    shares take the worse rank. Values tied across the cut-off are then all
    outside the top, so at most ``robust_top`` values are robust.
    Returns one row per value with a column per model, ``min_share``,
    ``max_share``, ``spread`` (max minus min), ``mean_share``, ``worst_rank``
    and ``robust``, sorted by mean share.
    """
    table = _share_table(shares, by)
    ranks = table.rank(ascending=False, method="max")
    result = table.copy()
    result["min_share"] = table.min(axis=1)
    result["max_share"] = table.max(axis=1)
    result["spread"] = result["max_share"] - result["min_share"]
    result["mean_share"] = table.mean(axis=1)
    result["worst_rank"] = ranks.max(axis=1).astype("int64")
    result["robust"] = (result["worst_rank"] <= robust_top) & (result["min_share"] > 0)
    result = result.reset_index().sort_values(
        ["mean_share", by], ascending=[False, True]
    )
    return result.reset_index(drop=True)


def _share_table(shares: pd.DataFrame, by: str) -> pd.DataFrame:
    touched = shares[shares[by] != NO_TOUCH]
    table = touched.pivot(index=by, columns="model", values="share").fillna(0.0)
    table.columns.name = None
    return table


def rank_correlation(shares: pd.DataFrame, by: str = "channel") -> pd.DataFrame:
    """Return the Spearman rank correlation of shares between every two models."""
    table = _share_table(shares, by)
    if len(table) < 2:
        return pd.DataFrame(np.nan, index=table.columns, columns=table.columns)
    return table.corr(method="spearman")


def summarize_sourced_influenced(opportunities: pd.DataFrame) -> pd.DataFrame:
    """Return marketing-sourced and marketing-influenced amounts per kind.

    Sourced: the journey's latest touch at or before the opportunity's
    creation is a marketing touch. Influenced: the journey has any
    marketing touch. Returns ``kind``, ``amount``, ``sourced``,
    ``influenced`` (report currency) and their shares of ``amount``.
    """
    frame = opportunities.assign(
        sourced_cents=opportunities["amount_cents"].where(opportunities["sourced"], 0),
        influenced_cents=opportunities["amount_cents"].where(
            opportunities["influenced"], 0
        ),
    )
    grouped = frame.groupby("kind", as_index=False)[
        ["amount_cents", "sourced_cents", "influenced_cents"]
    ].sum()
    result = pd.DataFrame({"kind": grouped["kind"]})
    result["amount"] = grouped["amount_cents"] / 100.0
    result["sourced"] = grouped["sourced_cents"] / 100.0
    result["influenced"] = grouped["influenced_cents"] / 100.0
    result["sourced_share"] = result["sourced"] / result["amount"]
    result["influenced_share"] = result["influenced"] / result["amount"]
    return result


def compute_coverage(
    opportunities: pd.DataFrame, by: list[str] | None = None, kind: str = "revenue"
) -> pd.DataFrame:
    """Return the share of opportunities and of amount with at least one touch.

    Groups by the columns ``by`` (none gives one total row). Returns the
    group columns, ``opportunities``, ``touched``, ``opportunity_share``,
    ``amount``, ``touched_amount`` and ``amount_share``.
    """
    frame = opportunities[opportunities["kind"] == kind]
    frame = frame.assign(
        is_touched=frame["touches"] > 0,
        touched_cents=frame["amount_cents"].where(frame["touches"] > 0, 0),
    )
    keys = list(by or [])
    grouped = (
        frame.groupby(keys, as_index=False, dropna=False)
        if keys
        else frame.assign(_all=1).groupby("_all", as_index=False)
    )
    result = grouped.agg(
        opportunities=("opportunity_id", "size"),
        touched=("is_touched", "sum"),
        amount_cents=("amount_cents", "sum"),
        touched_cents=("touched_cents", "sum"),
    )
    result = result.drop(columns=["_all"], errors="ignore")
    result["opportunity_share"] = result["touched"] / result["opportunities"]
    result["amount"] = result["amount_cents"] / 100.0
    result["touched_amount"] = result["touched_cents"] / 100.0
    result["amount_share"] = result["touched_cents"] / result["amount_cents"]
    return result.drop(columns=["amount_cents", "touched_cents"])


def compute_bridge(
    snapshot: pd.DataFrame,
    credits: ibis.Table | pd.DataFrame,
    excluded: pd.DataFrame,
) -> pd.DataFrame:
    """Return closed-won broken into credited, no recorded touch and excluded.

    ``snapshot`` gives closed-won, the ``amount`` of ``is_won`` rows with
    missing amounts as 0. ``credits`` is the result's credit table, read for
    one model because all models tie. ``excluded`` lists the won deals left
    out. The
    rows are ``step``, ``amount`` (report currency) and ``opportunities``;
    the last row checks that the parts add up to closed-won. The columns
    ``first_close`` and ``last_close`` (calendar dates) give the range of
    close dates (``closed_on`` where present, else ``close_date``) of the
    closed-won deals on the "Closed won" row and are NaT on the others
    and when ``snapshot`` has no close date.
    """
    won = snapshot[snapshot["is_won"].astype(bool)]
    touched, no_touch = _sum_bridge_credits(credits)
    rows = [
        ("Closed won", _cents(won["amount"]), len(won)),
        ("Credited to touches", touched["cents"], touched["opportunities"]),
        (NO_TOUCH, no_touch["cents"], no_touch["rows"]),
    ]
    for reason, group in excluded.groupby("reason"):
        rows.append((f"Excluded: {reason}", _cents(group["amount"]), len(group)))
    parts = sum(cents for _, cents, _ in rows[1:])
    rows.append(("Difference", rows[0][1] - parts, 0))
    frame = pd.DataFrame(rows, columns=["step", "amount_cents", "opportunities"])
    frame["amount"] = frame["amount_cents"] / 100.0
    first_close, last_close = _close_range(won)
    is_closed_won = frame["step"] == "Closed won"
    frame["first_close"] = pd.Series(first_close, index=frame.index).where(
        is_closed_won
    )
    frame["last_close"] = pd.Series(last_close, index=frame.index).where(is_closed_won)
    return frame[["step", "amount", "opportunities", "first_close", "last_close"]]


def _close_range(won: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return the first and last close date of ``won``, NaT when unknown."""
    if "close_date" not in won.columns:
        return pd.NaT, pd.NaT
    close = pd.to_datetime(won["close_date"])
    if "closed_on" in won.columns:
        close = pd.to_datetime(won["closed_on"]).fillna(close)
    return close.min(), close.max()


def first_model_revenue(credits: ibis.Table) -> ibis.Table:
    """Return the revenue credits of the first model by name.

    Every model credits a deal its whole amount, so one model suffices to
    sum credited amounts.
    """
    revenue = credits.filter(credits.kind == "revenue")
    return revenue.filter(revenue.model == revenue.model.min().as_scalar())


def _sum_bridge_credits(credits: ibis.Table | pd.DataFrame) -> tuple[dict, dict]:
    """Return cents, deals and rows credited to touches and to no touch.

    Read for the revenue credits of the first model by name.
    """
    revenue = first_model_revenue(_as_table(credits))
    revenue = revenue.mutate(no_touch=revenue.channel == NO_TOUCH)
    grouped = revenue.group_by("no_touch").aggregate(
        cents=revenue.credit_cents.sum(),
        opportunities=revenue.opportunity_id.nunique(),
        rows=revenue.count(),
    )
    with engine.quiet_conversions():
        frame = grouped.to_pandas().set_index("no_touch")
    parts = []
    for no_touch in (False, True):
        row = frame.loc[no_touch] if no_touch in frame.index else None
        parts.append(
            {
                key: 0 if row is None else int(row[key])
                for key in ("cents", "opportunities", "rows")
            }
        )
    return parts[0], parts[1]


def _cents(amounts: pd.Series) -> int:
    from acctlib.attribution.allocation import to_cents

    return int(to_cents(amounts.fillna(0.0)).sum())


def bootstrap_shares(
    credits: ibis.Table | pd.DataFrame,
    samples: int,
    seed: int,
    by: str = "channel",
    kind: str = "revenue",
    level: float = 0.9,
) -> pd.DataFrame:
    """Return percentile intervals of each value's share, resampling accounts.

    Accounts are drawn with replacement ``samples`` times from a
    ``numpy.random.default_rng(seed)`` generator, the same draws for every
    model. The credit per model, account and ``by`` value is summed in the
    engine first; ``credits`` may be the credit sums. Returns ``model``,
    ``by``, ``share`` (all accounts), ``low`` and ``high`` (the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles).
    """
    table = _as_table(credits)
    table = table.filter(table[by] != NO_TOUCH)
    # The sums stay in Arrow and are coded to integers there. As a pandas
    # frame of strings, the 6.5 million sums of the large benchmark size
    # made this step take 12.6 s instead of 4.0 s, and 300 MB more memory.
    rows = _group_credit_cents(table, ["model", "account_id", by], kind).to_pyarrow()
    accounts = _sorted_unique(rows["account_id"])
    if len(accounts) == 0:
        return pd.DataFrame(columns=["model", by, "share", "low", "high"])
    counts = _draw_account_counts(seed, samples, len(accounts))
    account_codes = _codes(rows["account_id"], accounts)
    by_values = _sorted_unique(rows[by])
    by_codes = _codes(rows[by], by_values)
    cents = rows["credit_cents"].to_numpy().astype(float)
    models = _sorted_unique(rows["model"])
    model_codes = _codes(rows["model"], models)
    results = []
    for code, model in enumerate(models):
        selected = model_codes == code
        present = np.unique(by_codes[selected])
        # Credit per account (rows, in the order of ``accounts``) and value.
        values = np.zeros((len(accounts), len(present)))
        np.add.at(
            values,
            (
                account_codes[selected],
                np.searchsorted(present, by_codes[selected]),
            ),
            cents[selected],
        )
        totals = counts @ values
        resampled = totals / totals.sum(axis=1, keepdims=True)
        full = values.sum(axis=0) / values.sum()
        low, high = np.quantile(resampled, [(1 - level) / 2, (1 + level) / 2], axis=0)
        results.append(
            pd.DataFrame(
                {
                    "model": model,
                    by: by_values[present],
                    "share": full,
                    "low": low,
                    "high": high,
                }
            )
        )
    return pd.concat(results, ignore_index=True)


def _sorted_unique(values: pa.ChunkedArray) -> np.ndarray:
    return np.sort(pc.unique(values).to_numpy(zero_copy_only=False))


def _codes(values: pa.ChunkedArray, sorted_values: np.ndarray) -> np.ndarray:
    """Return each value's position in ``sorted_values``, which contains them all."""
    value_set = pa.array(sorted_values, type=values.type)
    return pc.index_in(values, value_set=value_set).to_numpy()


def _draw_account_counts(seed: int, samples: int, accounts: int) -> np.ndarray:
    """Return how often each account is drawn in each sample, as float64.

    The counts are small integers, which float64 represents exactly, so the
    product with the credit per account needs no cast that would copy the
    samples-by-accounts matrix once per model. The draws are freed as soon
    as they are counted.
    """
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, accounts, size=(samples, accounts))
    counts = np.empty((samples, accounts))
    for row, draw in enumerate(draws):
        counts[row] = np.bincount(draw, minlength=accounts)
    return counts


def compute_window_sensitivity(
    touches: ibis.Table,
    snapshot: pd.DataFrame,
    settings: AttributionSettings,
    models: tuple[str, ...] = ("linear",),
    deal_companies: pd.DataFrame | None = None,
    credits: ibis.Table | pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return revenue credit per channel for each lookback in ``window_days``.

    Only credit to touches is compared, so the shares leave out deals
    without a touch. ``deal_companies`` links shared deals to their
    companies, as for :func:`~acctlib.attribution.credits.compute_attribution`.
    ``credits`` is that function's credit table, or its credit sums, under
    ``settings``: when
    it is given and ``settings`` has every model of ``models``, the
    lookback of ``settings`` is summed from it instead of crediting its
    journeys again. On the large benchmark size crediting each other
    lookback took about 1.7 s.
    Returns ``lookback_days``, ``model``, ``channel``,
    ``credit`` (report currency) and ``share`` (of the model's credit to
    touches at that lookback).
    """
    reuse = credits is not None and set(models) <= set(settings.models)
    selected, _ = select_opportunities(snapshot, settings, deal_companies)
    won = selected[selected["kind"] == "revenue"]
    frames = []
    for days in settings.window_days if len(won) else ():
        varied = dataclasses.replace(settings, lookback_days=days, models=models)
        revenue = with_lookback(won, days)
        if reuse and days == settings.lookback_days:
            frames.append(_channel_credit(credits, models).assign(lookback_days=days))
            continue
        journeys = build_journeys(
            known_touches(touches, varied), opportunities_table(revenue), varied
        )
        # Only the columns the sums read, so the journeys carry no others.
        credited = credit_heuristics(
            journeys,
            varied,
            columns=("journey_id", "channel", "position", "amount_cents"),
        )
        grouped = credited.group_by("channel").aggregate(
            **{f"credit_{model}": credited[f"credit_{model}"].sum() for model in models}
        )
        with engine.quiet_conversions():
            wide = grouped.to_pandas()
        long = wide.melt(id_vars="channel", var_name="model", value_name="credit_cents")
        long["model"] = long["model"].str.removeprefix("credit_")
        long["credit_cents"] = long["credit_cents"].astype("int64")
        frames.append(long.assign(lookback_days=days))
    columns = ["lookback_days", "model", "channel", "credit", "share"]
    if not frames:
        return pd.DataFrame(columns=columns)
    frame = pd.concat(frames, ignore_index=True)
    totals = frame.groupby(["lookback_days", "model"])["credit_cents"].transform("sum")
    frame["share"] = frame["credit_cents"] / totals
    frame["credit"] = frame["credit_cents"] / 100.0
    frame = frame.sort_values(["lookback_days", "model", "channel"])
    return frame[columns].reset_index(drop=True)


def _channel_credit(
    credits: ibis.Table | pd.DataFrame, models: tuple[str, ...]
) -> pd.DataFrame:
    """Return ``channel``, ``model`` and ``credit_cents`` of revenue to touches."""
    grouped = sum_credit_cents(credits, ["channel", "model"], "revenue")
    touched = (grouped["channel"] != NO_TOUCH) & grouped["model"].isin(models)
    return grouped[touched].reset_index(drop=True)


def suggest_lookback(
    touches: ibis.Table,
    snapshot: pd.DataFrame,
    settings: AttributionSettings,
    quantile: float = 0.8,
    step: int = 30,
    deal_companies: pd.DataFrame | None = None,
) -> int | None:
    """Suggest a lookback from the accounts' time between first touch and close.

    Builds won journeys with the widest lookback of ``window_days``. Of each
    journey's time from first touch to close, the lookback governs only the
    part before the opportunity's creation, so the suggestion is the
    ``quantile`` of the days from first touch to creation, rounded up to a
    multiple of ``step`` days and kept between ``step`` and the widest
    lookback. Returns None when no won deal has a touch before creation.
    ``deal_companies`` is read as by :func:`compute_window_sensitivity`.
    """
    widest = dataclasses.replace(settings, lookback_days=max(settings.window_days))
    selected, _ = select_opportunities(snapshot, widest, deal_companies)
    revenue = selected[selected["kind"] == "revenue"]
    if revenue.empty:
        return None
    journeys = build_journeys(
        known_touches(touches, widest), opportunities_table(revenue), widest
    )
    first = journeys.group_by(["opportunity_id", "created_at"]).aggregate(
        first_touch_at=journeys.occurred_at.min()
    )
    frame = first.to_pandas()
    elapsed = pd.to_datetime(frame["created_at"], utc=True) - pd.to_datetime(
        frame["first_touch_at"], utc=True
    )
    days = elapsed.dt.total_seconds().to_numpy() / 86400
    days = days[days > 0]
    if len(days) == 0:
        return None
    value = float(np.quantile(days, quantile))
    suggested = max(step, math.ceil(value / step) * step)
    return int(min(suggested, widest.lookback_days))
