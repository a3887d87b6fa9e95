"""Journeys: which touches belong to which opportunity, in which order.

An opportunity's journey is the touches of every contact at its account
from ``created_at - lookback_days`` up to the end of its close date (a
close date has no time of day, so every touch on that day counts). Open
opportunities end at the as-of date. Windows are computed in Python in UTC
and compared in the engine, never built from engine interval arithmetic.

Two credit kinds are built separately, each with its own journeys:

- ``revenue``: won opportunities, credited with their amount;
- ``pipeline``: every opportunity created by the as-of date (open, won or
  lost), credited with its amount.

With the ``next`` assignment a touch belongs to the opportunity of its kind
that closes first among those whose window contains the touch, and equal
closes go to the lower ``opportunity_id``. With ``all`` it belongs to every
such opportunity.

Within a journey touches are ordered by ``occurred_at``, then by the
channel priority list (unlisted channels after listed ones), then by
function along the funnel (:data:`FUNNEL_ORDER`), then by channel name and
``touch_id``. ``position`` is the 0-based place in that order. Ordering
simultaneous touches along the funnel puts the sales representative's
touch on the day a deal is won after the SDR's, so last touch credits the
rep who closed it.
"""

from __future__ import annotations

import datetime as dt
import logging

import ibis
import numpy as np
import pandas as pd

from acctlib import schema
from acctlib.asof import as_of_cutoff
from acctlib.attribution.allocation import to_cents
from acctlib.attribution.settings import AttributionSettings
from acctlib.dealshares import shared_links
from acctlib.errors import InputError
from acctlib.lookup import is_in

logger = logging.getLogger(__name__)

NO_CAMPAIGN = "No campaign"
OPPORTUNITY_COLUMNS = {
    "journey_id": "int64",
    "kind": "string",
    "opportunity_id": "string",
    "account_id": "string",
    "type": "string",
    "outcome": "string",
    "amount_cents": "int64",
    "created_at": "timestamp('UTC')",
    "window_start": "timestamp('UTC')",
    "window_end": "timestamp('UTC')",
}
_SNAPSHOT_REQUIRED = (
    "opportunity_id",
    "account_id",
    "type",
    "amount",
    "created_at",
    "close_date",
    "is_won",
    "is_lost",
)
_TOUCH_REQUIRED = ("touch_id", "account_id", "occurred_at", "channel", "function")
# Functions in the order a deal meets them, which breaks ties between touches
# at the same instant. Partners usually refer a deal, so they come early.
# Unknown functions come last.
FUNNEL_ORDER = ("marketing", "partner", "sdr", "ae", "se", "cs")


def select_opportunities(
    snapshot: pd.DataFrame,
    settings: AttributionSettings,
    deal_companies: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the opportunities to credit and the won deals left out.

    Parameters
    ----------
    snapshot
        Opportunities as of ``settings.as_of``, as
        :func:`acctlib.asof.snapshot_opportunities` returns them. Uses
        ``opportunity_id``, ``account_id``, ``type``, ``amount`` (report
        currency), ``created_at`` (UTC), ``close_date`` and, when present,
        ``closed_on`` (calendar dates), ``is_won`` and ``is_lost``.
    settings
        Lookback and as-of date.
    deal_companies
        The intake's links of deals to companies with each company's
        share (see :mod:`acctlib.dealshares`), or None. A deal shared by
        several companies draws the touches of each company whose share
        is above zero.

    Returns
    -------
    (opportunities, excluded)
        ``opportunities`` has one row per credit kind and opportunity with
        the columns of :data:`OPPORTUNITY_COLUMNS` plus ``amount`` and
        ``close_month``, sorted by kind and opportunity. ``journey_id``
        numbers the rows by kind, then window end, then opportunity. When
        a deal is shared, the column ``accounts`` lists every company whose
        touches join its journey (``account_id`` alone for other deals).
        ``excluded`` lists won deals that cannot be credited (missing or
        non-positive amount) with ``opportunity_id``, ``amount`` and
        ``reason``. Other deals with a missing or negative amount are left
        out; those of amount 0 stay.
    """
    missing = [c for c in _SNAPSHOT_REQUIRED if c not in snapshot.columns]
    if missing:
        raise InputError(
            f"opportunity snapshot is missing column(s) {', '.join(missing)}; pass "
            "the output of acctlib.asof.snapshot_opportunities",
            column=missing[0],
        )
    cutoff = as_of_cutoff(settings.as_of)
    frame = snapshot[snapshot["created_at"] < cutoff].copy()
    frame["outcome"] = np.select(
        [frame["is_won"].astype(bool), frame["is_lost"].astype(bool)],
        ["won", "lost"],
        "open",
    )
    # Won deals need a positive amount to be credited. Other deals of amount
    # 0 stay in the pipeline journeys, where they credit nothing but show
    # data-driven models a journey that did not convert.
    is_won = frame["outcome"] == "won"
    amount = frame["amount"]
    creditable = amount.notna() & ((amount > 0) | (~is_won & (amount == 0)))
    excluded = frame.loc[is_won & ~creditable]
    excluded = excluded[["opportunity_id", "amount"]].assign(
        reason=np.where(
            excluded["amount"].isna(), "missing amount", "amount of zero or less"
        )
    )

    frame = frame[creditable].copy()
    frame["amount_cents"] = to_cents(frame["amount"])
    frame = with_lookback(frame, settings.lookback_days)
    frame["window_end"] = _window_end(frame, cutoff)
    end_day = frame["window_end"].dt.tz_convert(None) - pd.Timedelta(microseconds=1)
    frame["close_month"] = end_day.dt.to_period("M").dt.start_time.astype(schema.DATE)
    frame["account_id"] = frame["account_id"].astype("string")

    revenue = frame[frame["outcome"] == "won"].assign(kind="revenue")
    pipeline = frame.assign(kind="pipeline")
    columns = [*list(OPPORTUNITY_COLUMNS)[1:], "amount", "close_month"]
    result = pd.concat([revenue, pipeline], ignore_index=True)[columns]
    # One integer per (kind, opportunity): the engine groups journeys on it,
    # which is cheaper than on two text columns. Numbered in order of close,
    # the lowest journey of a touch is the one the touch belongs to.
    by_close = result.sort_values(["kind", "window_end", "opportunity_id"])
    result.insert(0, "journey_id", 0)
    result.loc[by_close.index, "journey_id"] = np.arange(len(result), dtype="int64")
    result = result.sort_values(["kind", "opportunity_id"]).reset_index(drop=True)
    links = shared_links(deal_companies)
    if not links.empty and result["opportunity_id"].isin(links["opportunity_id"]).any():
        companies = links.groupby("opportunity_id")["account_id"].agg(
            lambda ids: sorted(map(str, ids))
        )
        accounts = result["opportunity_id"].map(companies)
        own = result["account_id"].map(lambda account: [account])
        result["accounts"] = accounts.where(accounts.notna(), own)
    return result, excluded.reset_index(drop=True)


def find_unpriced_accounts(
    snapshot: pd.DataFrame, opportunities: pd.DataFrame, settings: AttributionSettings
) -> pd.DataFrame:
    """Return the accounts of each kind's deals left out for their amount.

    ``opportunities`` is the first output of :func:`select_opportunities`
    for the same ``snapshot``. A deal created by the as-of date is left
    out when its amount is missing or below zero, or when it was won with
    an amount of zero. Such a deal counts for the pipeline kind, and for
    the revenue kind only when it was won.
    Returns one row per ``kind`` and ``account_id`` (strings), sorted.
    """
    frame = snapshot[snapshot["created_at"] < as_of_cutoff(settings.as_of)]
    frame = frame[frame["account_id"].notna()]
    rows = []
    for kind in ("revenue", "pipeline"):
        credited = opportunities.loc[opportunities["kind"] == kind, "opportunity_id"]
        deals = frame[~is_in(frame["opportunity_id"], credited)]
        if kind == "revenue":
            deals = deals[deals["is_won"].astype(bool)]
        accounts = deals["account_id"].astype("string").drop_duplicates()
        rows.append(pd.DataFrame({"kind": kind, "account_id": accounts}))
    result = pd.concat(rows, ignore_index=True).astype("string")
    return result.sort_values(["kind", "account_id"]).reset_index(drop=True)


def with_lookback(opportunities: pd.DataFrame, days: int) -> pd.DataFrame:
    """Return ``opportunities`` with each window starting ``days`` before creation.

    The window start is the only column of :func:`select_opportunities`
    that depends on the lookback, so one selection serves every lookback.
    """
    start = opportunities["created_at"] - pd.Timedelta(days=days)
    return opportunities.assign(window_start=start)


def _window_end(frame: pd.DataFrame, cutoff: pd.Timestamp) -> pd.Series:
    """Return the exclusive end of each window: midnight UTC after the close.

    Closed deals end after ``closed_on`` (or ``close_date``); open deals and
    closes after the as-of date end at the as-of cutoff.
    """
    close = frame["close_date"]
    if "closed_on" in frame.columns:
        close = frame["closed_on"].fillna(close)
    close = pd.to_datetime(close)
    end = (close + pd.Timedelta(days=1)).dt.tz_localize("UTC").astype(schema.TIMESTAMP)
    is_open = frame["outcome"] == "open"
    end = end.where(~is_open & end.notna(), cutoff)
    return end.where(end <= cutoff, cutoff).astype(schema.TIMESTAMP)


def opportunities_table(opportunities: pd.DataFrame) -> ibis.Table:
    """Return the opportunities of :func:`select_opportunities` as a memtable."""
    schema = dict(OPPORTUNITY_COLUMNS)
    if "accounts" in opportunities.columns:
        schema["accounts"] = "array<string>"
    return ibis.memtable(opportunities[list(schema)], schema=schema)


def _deal_accounts(opportunities: ibis.Table) -> ibis.Table:
    """Return each deal's window once per account whose touches it draws.

    Columns ``journey_id``, ``kind``, ``account_id``, ``window_start`` and
    ``window_end``: one row per deal, or per company of a shared deal.
    """
    windows = ["journey_id", "kind", "window_start", "window_end"]
    if "accounts" not in opportunities.columns:
        return opportunities.select(*windows, "account_id")
    listed = opportunities.mutate(
        accounts=opportunities.accounts.fill_null(
            ibis.array([opportunities.account_id])
        )
    )
    return listed.select(*windows, account_id=listed.accounts.unnest())


def _journey_ranges(
    opportunities: ibis.Table, settings: AttributionSettings
) -> ibis.Table:
    """Return the time ranges of each account whose touches join one journey.

    Columns ``account_id``, ``journey_id``, ``range_start``, ``range_end``
    (a touch at ``range_start`` joins, one at ``range_end`` does not) and
    ``created_at`` (the journey's deal). With the ``all`` assignment the
    ranges are the deal windows, which may overlap. With ``next`` the
    windows of an account and kind are cut at every window's start and
    end. Each piece goes to the lowest ``journey_id`` whose window covers
    it, which is the deal that closes first. So a touch falls in one piece
    per kind at most. The cutting works on deal-sized rows.
    """
    windows = _deal_accounts(opportunities)
    created = opportunities.select("journey_id", "created_at")
    if settings.assignment != "next":
        ranges = windows.select(
            "account_id",
            "journey_id",
            range_start=windows.window_start,
            range_end=windows.window_end,
        )
        return ranges.join(created, "journey_id")
    account = ["kind", "account_id"]
    bounds = ibis.union(
        windows.select(*account, range_start=windows.window_start),
        windows.select(*account, range_start=windows.window_end),
        distinct=True,
    )
    following = ibis.window(group_by=account, order_by="range_start")
    pieces = bounds.mutate(range_end=bounds.range_start.lead(1).over(following))
    pieces = pieces.filter(pieces.range_end.notnull())
    deals = windows.select(
        "journey_id",
        deal_kind=windows.kind,
        deal_account=windows.account_id,
        deal_start=windows.window_start,
        deal_end=windows.window_end,
    )
    covering = pieces.join(
        deals,
        [
            pieces.kind == deals.deal_kind,
            pieces.account_id == deals.deal_account,
            deals.deal_start <= pieces.range_start,
            pieces.range_end <= deals.deal_end,
        ],
    )
    owners = covering.group_by([*account, "range_start", "range_end"]).aggregate(
        journey_id=covering.journey_id.min()
    )
    owners = owners.select("account_id", "journey_id", "range_start", "range_end")
    return owners.join(created, "journey_id")


def known_touches(touches: ibis.Table, settings: AttributionSettings) -> ibis.Table:
    """Select touches known at the end of the as-of date, with a campaign label."""
    missing = [c for c in _TOUCH_REQUIRED if c not in touches.columns]
    if missing:
        raise InputError(
            f"touchpoints table is missing column(s) {', '.join(missing)}; "
            "write the canonical touchpoints table to the workspace",
            column=missing[0],
        )
    cutoff = as_of_cutoff(settings.as_of).to_pydatetime()
    known = touches.filter(
        touches.occurred_at < ibis.literal(cutoff, "timestamp('UTC')")
    )
    campaign = (
        known.campaign.fill_null(NO_CAMPAIGN)
        if "campaign" in known.columns
        else ibis.literal(NO_CAMPAIGN)
    )
    return known.select(
        touch_id=known.touch_id.cast("string"),
        account_id=known.account_id.cast("string"),
        occurred_at=known.occurred_at,
        channel=known.channel,
        function=known.function,
        campaign=campaign,
    )


def build_journeys(
    touches: ibis.Table, opportunities: ibis.Table, settings: AttributionSettings
) -> ibis.Table:
    """Assign touches to opportunities and order each journey.

    Parameters
    ----------
    touches
        Output of :func:`known_touches`.
    opportunities
        Output of :func:`opportunities_table`.

    Returns
    -------
    ibis.Table
        One row per (kind, opportunity, touch) with the opportunity columns,
        the touch columns and ``position`` (0-based journey order),
        ``next_channel`` (channel of the next touch, null on the last),
        ``touch_count`` (touches in the journey) and ``creation_position``
        (position of the last touch before ``created_at``, or 0 when no
        touch precedes the creation).
    """
    return attach_deals(order_journeys(touches, opportunities, settings), opportunities)


def order_journeys(
    touches: ibis.Table,
    opportunities: ibis.Table,
    settings: AttributionSettings,
    touch_columns: list[str] | None = None,
) -> ibis.Table:
    """Return the journeys of :func:`build_journeys` without the deal columns.

    One row per journey touch with ``journey_id``, the ``touch_columns``,
    ``position``, ``next_channel``, ``touch_count`` and
    ``creation_position``. ``touch_columns`` defaults to every column of
    ``touches``, and ``touch_id``, ``occurred_at`` and ``channel`` are
    always among them. Cache this narrow table
    and add the deal columns with :func:`attach_deals` on each read: a
    join to one row per deal costs less than storing them per touch.
    """
    requested = set(touches.columns if touch_columns is None else touch_columns)
    requested |= {"touch_id", "occurred_at", "channel"}
    carried = [column for column in touches.columns if column in requested]
    # The range a touch falls in names its journey, so touches join the
    # ranges of their account once, with every column they carry.
    ranges = _journey_ranges(opportunities, settings)
    funnel_rank = touches.function.substitute(
        {function: rank for rank, function in enumerate(FUNNEL_ORDER)},
        else_=len(FUNNEL_ORDER),
    )
    joined = touches.select(
        *dict.fromkeys([*carried, "account_id"]), _funnel_rank=funnel_rank
    ).join(ranges, "account_id")
    inside = joined.filter(
        joined.occurred_at >= joined.range_start,
        joined.occurred_at < joined.range_end,
    )
    inside = inside.select("journey_id", *carried, "created_at", "_funnel_rank")

    priority = _channel_rank(inside.channel, settings.channel_priority)
    journey = ["journey_id"]
    order = ibis.window(
        group_by=journey,
        order_by=[
            inside.occurred_at,
            *priority,
            inside._funnel_rank,
            inside.channel,
            inside.touch_id,
        ],
    )
    # The next touch's channel comes from the same ordered window, so the
    # Markov transitions need no second sort of the journeys. The journey is
    # ordered by time first, so the touches before the creation are its
    # first positions, and the last of them is their count minus one. The
    # counts share the partitioning of the ordered window in one SELECT.
    window = ibis.window(group_by=journey)
    before_creation = (inside.occurred_at < inside.created_at).cast("int64")
    touches_before = before_creation.sum().over(window)
    ordered = inside.mutate(
        position=ibis.row_number().over(order),
        next_channel=inside.channel.lead(1).over(order),
        touch_count=inside.touch_id.count().over(window),
        creation_position=ibis.greatest(touches_before - 1, 0),
    )
    return ordered.drop("created_at", "_funnel_rank")


def attach_deals(journeys: ibis.Table, opportunities: ibis.Table) -> ibis.Table:
    """Add the deal columns of ``opportunities`` to :func:`order_journeys` rows.

    Returns the columns of :func:`build_journeys`, touch columns first.
    """
    deals = opportunities.drop(
        *(
            column
            for column in ("account_id", "accounts")
            if column in opportunities.columns
        )
    )
    touch_columns = [
        column
        for column in journeys.columns
        if column not in deals.columns and column not in _ORDER_COLUMNS
    ]
    joined = journeys.join(deals, "journey_id")
    return joined.select(*touch_columns, *deals.columns, *_ORDER_COLUMNS)


_ORDER_COLUMNS = ("position", "next_channel", "touch_count", "creation_position")


def _channel_rank(channel: ibis.Value, priority: tuple[str, ...]) -> list[ibis.Value]:
    """Return the sort key of the channel priority list, none without a list."""
    if not priority:
        return []
    ranks = {name: rank for rank, name in enumerate(priority)}
    return [channel.substitute(ranks, else_=len(priority))]


def count_excluded_touches(
    touches: ibis.Table,
    journeys: ibis.Table,
    opportunities: ibis.Table,
    settings: AttributionSettings,
    unpriced: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Count known touches that joined no journey of a kind, by reason.

    Reasons: ``no opportunity`` (the account has no opportunity of that
    kind), ``deal without an amount`` (the account has no credited deal
    of that kind, only deals left out for their amount, as listed in
    ``unpriced``, the output of :func:`find_unpriced_accounts`), ``after
    last close`` (the touch is later than every window of the account)
    and ``outside window`` (any other touch, such as one before the
    lookback). Returns columns ``kind``, ``reason`` and ``touches`` (int),
    sorted.
    """
    with_kinds = opportunities.select("kind").distinct().to_pandas()
    kinds = sorted(with_kinds["kind"])
    # Each account's last window end per kind, side by side, so every
    # touch is read once for all kinds.
    windows = _deal_accounts(opportunities)
    last_ends = windows.group_by("account_id").aggregate(
        **{
            f"_last_end_{kind}": windows.window_end.max(where=windows.kind == kind)
            for kind in kinds
        }
    )
    joined = touches.select("account_id", "occurred_at").left_join(
        last_ends, "account_id"
    )
    joined = _flag_unpriced(joined, unpriced, kinds)
    counts = {}
    for kind in kinds:
        last_end = joined[f"_last_end_{kind}"]
        is_unpriced = joined[f"_unpriced_{kind}"]
        counts[f"{kind}/no opportunity"] = (last_end.isnull() & ~is_unpriced).sum()
        counts[f"{kind}/deal without an amount"] = (
            last_end.isnull() & is_unpriced
        ).sum()
        counts[f"{kind}/after last close"] = (joined.occurred_at >= last_end).sum()
    counts["_known"] = joined.count()
    totals = joined.aggregate(**counts).to_pandas().iloc[0]
    # A sum over no touches is missing, not 0.
    totals = totals.astype("float64").fillna(0).astype("int64")
    if settings.assignment == "next":
        # A touch joins at most one journey of a kind, so counting rows
        # counts distinct touches.
        assigned = journeys.group_by("kind").aggregate(assigned=journeys.count())
    else:
        assigned = journeys.group_by("kind").aggregate(
            assigned=journeys.touch_id.nunique()
        )
    assigned = assigned.to_pandas().set_index("kind")["assigned"]
    rows = []
    for kind in kinds:
        no_opportunity = int(totals[f"{kind}/no opportunity"])
        without_amount = int(totals[f"{kind}/deal without an amount"])
        after = int(totals[f"{kind}/after last close"])
        # A journey's touches come before its window end, so before the
        # account's last one: the rest of the known touches are outside
        # every window.
        outside = int(totals["_known"]) - no_opportunity - without_amount - after
        outside -= int(assigned.get(kind, 0))
        rows += [
            (kind, "after last close", after),
            (kind, "deal without an amount", without_amount),
            (kind, "no opportunity", no_opportunity),
            (kind, "outside window", outside),
        ]
    counted = pd.DataFrame(rows, columns=["kind", "reason", "touches"])
    result = counted[counted["touches"] > 0][["kind", "reason", "touches"]]
    result = result.sort_values(["kind", "reason"]).reset_index(drop=True)
    result["touches"] = result["touches"].astype("int64")
    return result


def _flag_unpriced(
    joined: ibis.Table, unpriced: pd.DataFrame | None, kinds: list[str]
) -> ibis.Table:
    """Add a boolean ``_unpriced_<kind>`` column per kind to the touches."""
    flags = {f"_unpriced_{kind}": ibis.literal(False) for kind in kinds}
    if unpriced is None or unpriced.empty:
        return joined.mutate(**flags)
    wide = pd.DataFrame({"account_id": unpriced["account_id"].unique()})
    for kind in kinds:
        listed = unpriced.loc[unpriced["kind"] == kind, "account_id"]
        wide[f"_unpriced_{kind}"] = wide["account_id"].isin(listed)
    table = ibis.memtable(
        wide, schema={"account_id": "string", **dict.fromkeys(flags, "boolean")}
    )
    flagged = joined.left_join(table, "account_id")
    return flagged.select(
        *joined.columns,
        **{column: flagged[column].fill_null(False) for column in flags},
    )


def excluded_touch_note(excluded: pd.DataFrame, as_of: dt.date) -> str | None:
    """Return one line counting the won-revenue touches left out, or None."""
    revenue = excluded[excluded["kind"] == "revenue"]
    if revenue.empty:
        return None
    parts = [
        f"{int(row.touches):,} {_EXCLUSION_PHRASES.get(row.reason, row.reason)}"
        for row in revenue.sort_values("reason").itertuples()
    ]
    total = int(revenue["touches"].sum())
    noun, earn = ("touch", "it earns") if total == 1 else ("touches", "they earn")
    return (
        f"Attribution: {total:,} {noun} known on {as_of.isoformat()} joined "
        f"no won deal's journey, so {earn} no won-revenue credit: "
        f"{'; '.join(parts)}."
    )


# The reasons of count_excluded_touches as the run notes word them.
_EXCLUSION_PHRASES = {
    "after last close": "after the account's last won deal closed",
    "deal without an amount": (
        "at accounts whose won deals all lack a positive amount, "
        "so attribution leaves them out"
    ),
    "no opportunity": "at accounts without a won deal",
    "outside window": "outside every won deal's lookback window",
}
