"""Engagement and deal progression per account and per opportunity.

Touch-scale work runs in the engine: :func:`summarize_engagement` counts
each account's touches in the 30 and 90 days to the as-of date, its
distinct contacts and its weekly touches over the last 12 weeks, and only
those account-sized counts come back to pandas. Stage history is
opportunity-sized, so stage durations, stalls and conversion are computed
in pandas.

Every window ends at the as-of cutoff (midnight UTC after ``as_of``, see
:func:`acctlib.asof.as_of_cutoff`); window bounds are computed in Python in
UTC, because DuckDB subtracts day intervals from a TIMESTAMPTZ in the
session time zone.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import ibis
import numpy as np
import pandas as pd

from acctlib import engine, schema
from acctlib.asof import as_of_cutoff, creation_estimated

logger = logging.getLogger(__name__)

TREND_WEEKS = 12
SALES_FUNCTIONS = ("sdr", "ae", "se")

ACCOUNT_PROGRESSION_COLUMNS: dict[str, str] = {
    "account_id": "Account identifier.",
    "days_since_first_touch": "Days from the first touch to the as-of date.",
    "days_since_first_opportunity": "Days from the first opportunity to as_of.",
    "touches_30d": "Touches of any function in the 30 days to the as-of date.",
    "touches_90d": "Touches of any function in the 90 days to the as-of date.",
    "touches_30d_<function>": "Touches of one function (marketing, sdr...) in 30 days.",
    "touches_90d_<function>": "Touches of one function in 90 days.",
    "sales_touches_30d": "SDR, AE and SE touches in the 30 days to the as-of date.",
    "contacts_90d": "Distinct contacts touched in the 90 days to the as-of date.",
    "contacts_prev_90d": "Distinct contacts touched in the 90 days before those.",
    "breadth_change": "contacts_90d minus contacts_prev_90d.",
    "breadth_direction": "rising, flat or falling, outside the breadth noise band.",
    "weekly_mean": "Mean touches per week over the last 12 weeks.",
    "weekly_slope": "Least-squares slope of weekly touches, touches per week per week.",
    "engagement_trend": "Fitted 12-week change of weekly touches over their mean.",
    "engagement_direction": "rising, flat or falling, outside the noise band.",
    "open_opportunities": "Opportunities open on the as-of date.",
    "stalled_opportunities": "Open opportunities stalled in their stage.",
    "late_stage_stalled": "A stalled open deal at or above late_stage_probability.",
    "late_stall_stage": (
        "Stage of the late-stage stalled deal longest in its stage; "
        "missing without one."
    ),
    "late_stall_days": "That deal's days in its stage (float); missing without one.",
    "max_win_probability": "Highest win probability among open opportunities, 0 to 1.",
    "stage_velocity": "0-100: 100 on entering a stage, 0 at twice its 75th percentile.",
}
"""Columns of the ``account_progression`` table.

For a source without a touchpoints table, the touch, contact, breadth,
weekly and trend columns are missing (NA) for every account, not 0 or
"flat", because no touch was measured.
"""

OPPORTUNITY_PROGRESSION_COLUMNS: dict[str, str] = {
    "opportunity_id": "Opportunity identifier.",
    "account_id": "Account identifier.",
    "name": "Opportunity name.",
    "type": "new_business, expansion or renewal.",
    "stage_asof": "Stage on the as-of date.",
    "stage_order": "Position of that stage in the stage map.",
    "win_probability": "Forecast win probability, else the stage's, 0 to 1.",
    "is_open": "Open on the as-of date.",
    "is_won": "Won by the as-of date.",
    "amount": "Amount, report currency.",
    "acv": "Annualised amount, report currency per year.",
    "created_at": "Creation time (UTC).",
    "created_at_estimated": "True when created_at is a stand-in for an unknown date.",
    "closed_on": "Close date for closed opportunities.",
    "stage_entered_at": "When the stage on the as-of date was entered (UTC).",
    "days_open": (
        "Days from creation to the as-of date (open) or to closing, 0 for a deal "
        "closed on the day it was created; empty when created_at is a stand-in "
        "or the close date is before the creation date."
    ),
    "days_in_stage": (
        "Days in the stage on the as-of date, open opportunities only; empty "
        "when the stage was entered at a stand-in created_at."
    ),
    "stall_threshold_days": (
        "75th percentile of completed stage visits, if at least one day."
    ),
    "stalled": "Open and longer in its stage than stall_threshold_days.",
}
"""Columns of the ``opportunity_progression`` table."""


def summarize_engagement(
    touches: ibis.Table,
    as_of: dt.date,
    *,
    noise_band: float = 0.5,
    breadth_noise_band: int = 1,
    min_touches: int = 6,
    con: Any = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Count each account's recent touches and contacts in the engine.

    Parameters
    ----------
    touches
        Ibis table with the canonical touchpoint columns ``account_id``,
        ``contact_id``, ``occurred_at`` (UTC) and ``function``.
    as_of
        Calendar date; only touches before midnight UTC after it count.
    noise_band
        Share of the mean weekly touches by which the fitted 12-week change
        must exceed zero before the trend counts as rising or falling.
    breadth_noise_band
        Contacts by which ``breadth_change`` must exceed zero before
        breadth counts as rising or falling.
    min_touches
        Touches in the 12 weeks below which the trend is always flat.
    con
        Ibis backend that runs the queries; None uses the table's own.

    Returns
    -------
    (engagement, weekly)
        ``engagement``: one row per account with a touch in the 180 days to
        the cutoff, with the touch, contact, breadth and trend columns of
        :data:`ACCOUNT_PROGRESSION_COLUMNS`, sorted by ``account_id``.
        ``weekly``: ``account_id``, ``week`` (0 is the oldest of 12 weeks,
        11 the week ending at the cutoff) and ``touches``, every week
        present, for the same accounts.
    """
    cutoff = as_of_cutoff(as_of)
    recent = touches.filter(
        touches.occurred_at < _literal(cutoff),
        touches.occurred_at >= _literal(cutoff - pd.Timedelta(days=180)),
    )
    by_function, contacts = _count_recent_touches(recent, cutoff)
    counts = _spread_functions(_run(by_function, con), _run(contacts, con))
    weekly = _complete_weeks(_run(_count_weekly_touches(recent, cutoff), con), counts)

    trend = compute_engagement_trend(
        weekly, noise_band=noise_band, min_touches=min_touches
    )
    engagement = counts.merge(trend, on="account_id", how="left", validate="1:1")
    change = engagement["contacts_90d"] - engagement["contacts_prev_90d"]
    engagement["breadth_change"] = change.astype("int64")
    engagement["breadth_direction"] = classify_direction(change, breadth_noise_band)
    return engagement.sort_values("account_id").reset_index(drop=True), weekly


def compute_engagement_trend(
    weekly: pd.DataFrame, *, noise_band: float = 0.5, min_touches: int = 6
) -> pd.DataFrame:
    """Fit the trend of weekly touches per account.

    ``weekly`` has ``account_id``, ``week`` (0 to 11, oldest first) and
    ``touches``. ``engagement_trend`` is the least-squares slope times 11
    (the fitted change from the first to the last week) divided by the
    mean weekly touches, floored at 1 so that a handful of touches cannot
    make a large relative move. It is rising above ``noise_band``, falling
    below ``-noise_band`` and flat in between or with fewer than
    ``min_touches`` touches in the 12 weeks.
    """
    x = np.arange(TREND_WEEKS, dtype=float)
    x_centered = x - x.mean()
    matrix = (
        weekly.pivot_table(
            index="account_id", columns="week", values="touches", aggfunc="sum"
        )
        .reindex(columns=range(TREND_WEEKS))
        .fillna(0.0)
    )
    values = matrix.to_numpy(dtype=float)
    mean = values.mean(axis=1) if len(values) else np.zeros(0)
    slope = values @ x_centered / float(x_centered @ x_centered)
    return classify_engagement_trend(
        matrix.index.astype(str),
        mean,
        slope,
        values.sum(axis=1),
        noise_band=noise_band,
        min_touches=min_touches,
    )


def classify_engagement_trend(
    account_ids: pd.Index | pd.Series,
    mean: np.ndarray,
    slope: np.ndarray,
    total: np.ndarray,
    *,
    noise_band: float,
    min_touches: int,
) -> pd.DataFrame:
    """Return the trend columns of :func:`compute_engagement_trend`.

    ``mean``, ``slope`` and ``total`` are each account's mean weekly
    touches, least-squares slope and touches in the 12 weeks, in the order
    of ``account_ids``.
    """
    trend = slope * (TREND_WEEKS - 1) / np.maximum(mean, 1.0)
    result = pd.DataFrame(
        {
            "account_id": account_ids,
            "weekly_mean": mean,
            "weekly_slope": slope,
            "engagement_trend": trend,
        }
    )
    direction = classify_direction(pd.Series(trend), noise_band)
    direction[total < min_touches] = "flat"
    result["engagement_direction"] = direction.to_numpy()
    return result.reset_index(drop=True)


def compute_stage_durations(
    stage_history: pd.DataFrame, as_of: dt.date
) -> pd.DataFrame:
    """Return every completed stage visit known on ``as_of`` with its length.

    A visit ends when the opportunity entered its next stage before the
    cutoff. Columns: ``opportunity_id``, ``stage``, ``entered_at`` (UTC),
    ``left_at`` (UTC) and ``days`` (float), sorted by opportunity and time.
    """
    history = _known_history(stage_history, as_of)
    history["left_at"] = history.groupby("opportunity_id")["entered_at"].shift(-1)
    visits = history[history["left_at"].notna()].copy()
    visits["days"] = (
        visits["left_at"] - visits["entered_at"]
    ).dt.total_seconds() / 86400
    return visits[["opportunity_id", "stage", "entered_at", "left_at", "days"]]


def summarize_stage_durations(
    durations: pd.DataFrame, stage_map: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    """Return quantiles of days in stage per open stage, in process order.

    Columns: ``stage``, ``order``, ``visits``, ``min``, ``q1``, ``median``,
    ``q3`` and ``max`` (days). Closed stages are left out, because a deal
    does not leave them.
    """
    open_stages = [s for s, entry in stage_map.items() if entry["category"] == "open"]
    visits = durations[durations["stage"].isin(open_stages)]
    grouped = visits.groupby("stage")["days"]
    summary = pd.DataFrame(
        {
            "visits": grouped.size(),
            "min": grouped.min(),
            "q1": grouped.quantile(0.25),
            "median": grouped.median(),
            "q3": grouped.quantile(0.75),
            "max": grouped.max(),
        }
    ).reset_index()
    summary["order"] = summary["stage"].map(
        {s: stage_map[s]["order"] for s in open_stages}
    )
    columns = ["stage", "order", "visits", "min", "q1", "median", "q3", "max"]
    return summary.sort_values(["order", "stage"])[columns].reset_index(drop=True)


MIN_STALL_THRESHOLD_DAYS = 1.0
"""Smallest stall threshold in days; a stage with a lower 75th percentile gets none."""

DEFAULT_STALL_MIN_VISITS = 5
"""Default of the parameter ``stall_min_visits`` in ``params/default.yaml``."""


def compute_stall_thresholds(
    stage_durations: pd.DataFrame | None,
    min_visits: int = DEFAULT_STALL_MIN_VISITS,
) -> dict[str, float]:
    """Return the stall threshold in days of each stage that has one.

    The threshold is the 75th percentile of the stage's completed visits,
    the ``q3`` column of :func:`summarize_stage_durations`. A stage with
    fewer than ``min_visits`` completed visits gets none, like a stage
    without completed visits, because the 75th percentile of one or two
    visits is no usual time in the stage. A stage whose ``q3`` is under
    ``MIN_STALL_THRESHOLD_DAYS`` (one day), because more than three
    quarters of its visits ended within a day, gets none either, because a
    threshold of minutes would flag nearly every open deal in it as stalled.
    """
    if stage_durations is None or stage_durations.empty:
        return {}
    stages = stage_durations.set_index("stage")
    enough = (stages["visits"] >= min_visits) & (
        stages["q3"] >= MIN_STALL_THRESHOLD_DAYS
    )
    return stages.loc[enough, "q3"].to_dict()


def compute_opportunity_progression(
    snapshot: pd.DataFrame,
    stage_history: pd.DataFrame | None,
    stage_durations: pd.DataFrame | None,
    as_of: dt.date,
    *,
    win_probability: pd.DataFrame | None = None,
    stage_entered_at: pd.Series | None = None,
    stall_min_visits: int = DEFAULT_STALL_MIN_VISITS,
) -> pd.DataFrame:
    """Return age, days in stage and stall flags per opportunity on ``as_of``.

    Parameters
    ----------
    snapshot
        Output of :func:`acctlib.asof.snapshot_opportunities` for ``as_of``.
    stage_history
        Canonical stage history, or None. Without it a stage counts as
        entered when the opportunity was created.
    stage_durations
        Output of :func:`summarize_stage_durations`, which gives the stall
        threshold of each stage (see :func:`compute_stall_thresholds`).
        None flags no stall.
    win_probability
        Optional ``opportunity_id`` and ``win_probability`` (0 to 1) from a
        forecast model; the stage probability fills the gaps.
    stage_entered_at
        When each opportunity entered its stage on ``as_of``, aligned with
        ``snapshot`` and NaT without a known entry, as
        :meth:`acctlib.stagevisits.StageVisits.find_stage_entries` returns
        it; None finds it in ``stage_history``.
    stall_min_visits
        Completed visits a stage needs to have a stall threshold, passed to
        :func:`compute_stall_thresholds`.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`OPPORTUNITY_PROGRESSION_COLUMNS`, sorted by
        ``opportunity_id``.
    """
    cutoff = as_of_cutoff(as_of)
    opps = snapshot.copy()
    opps["created_at"] = pd.to_datetime(opps["created_at"], utc=True)
    if stage_entered_at is None:
        stage_entered_at = _find_stage_entry(opps, stage_history, as_of)
    # A deal in a CRM stage that its dated history lacks entered that stage
    # on an unknown day before the export, so its time in stage is unknown
    # and it is never flagged as stalled.
    entry_unknown = stage_entered_at.isna().to_numpy() & _history_disagrees(opps)
    opps["stage_entered_at"] = stage_entered_at.fillna(
        opps["created_at"].astype(schema.TIMESTAMP)
    )

    # A stand-in creation date, such as an export date, gives neither the
    # deal's age nor its time in a stage entered on that date.
    estimated = creation_estimated(opps)
    opps["created_at_estimated"] = estimated
    entered_then = estimated & opps["stage_entered_at"].eq(opps["created_at"])
    closed_on = pd.to_datetime(opps["closed_on"]).dt.tz_localize("UTC")
    end = closed_on.where(~opps["is_open"], cutoff) + pd.Timedelta(0)
    days_open = (end - opps["created_at"]).dt.total_seconds() / 86400
    # A close date is a calendar date read as midnight, so a deal closed on
    # the day it was created would come out a fraction of a day negative.
    days_open = days_open.clip(lower=0)
    closed_early = _closed_before_created(opps)
    opps["days_open"] = days_open.round(1).where(~estimated & ~closed_early)
    in_stage = (cutoff - opps["stage_entered_at"]).dt.total_seconds() / 86400
    opps["days_in_stage"] = in_stage.round(1).where(
        opps["is_open"] & ~entered_then & ~entry_unknown
    )

    thresholds = compute_stall_thresholds(stage_durations, stall_min_visits)
    opps["stall_threshold_days"] = opps["stage_asof"].map(thresholds).astype(float)
    stalled = opps["days_in_stage"] > opps["stall_threshold_days"]
    opps["stalled"] = (stalled & opps["is_open"]).astype(bool)

    opps["win_probability"] = _resolve_win_probability(opps, win_probability)
    opps["stage_order"] = opps["stage_order_asof"]
    columns = list(OPPORTUNITY_PROGRESSION_COLUMNS)
    return opps[columns].sort_values("opportunity_id").reset_index(drop=True)


def compute_account_progression(
    account_map: pd.DataFrame,
    engagement: pd.DataFrame | None,
    opportunities: pd.DataFrame,
    as_of: dt.date,
    *,
    late_stage_probability: float = 0.6,
) -> pd.DataFrame:
    """Combine touch engagement and deal progression into one row per account.

    ``account_map`` is the output of
    :func:`acctlib.accountmap.compute_account_map` (the no-account row is
    left out), ``engagement`` the first frame of
    :func:`summarize_engagement` or None, ``opportunities`` the output of
    :func:`compute_opportunity_progression`. An account without touches
    gets zero counts and a flat trend. Without ``engagement``, because the
    source has no touchpoints table, the touch, contact, breadth and trend
    columns are missing for every account instead. Returns the columns of
    :data:`ACCOUNT_PROGRESSION_COLUMNS`, sorted by ``account_id``.
    """
    cutoff = as_of_cutoff(as_of)
    accounts = account_map[account_map["account_id"] != schema.NO_ACCOUNT]
    result = accounts[["account_id"]].reset_index(drop=True)
    result["days_since_first_touch"] = _days_before(accounts["first_touch_at"], cutoff)
    result["days_since_first_opportunity"] = _days_before(
        accounts["first_opportunity_at"], cutoff
    )
    result = result.merge(_fill_engagement(engagement, result), on="account_id")
    deals = _summarize_open_deals(opportunities, late_stage_probability)
    result = result.merge(deals, on="account_id", how="left")

    for column in ("open_opportunities", "stalled_opportunities"):
        result[column] = result[column].fillna(0).astype("int64")
    result["late_stage_stalled"] = (
        result["late_stage_stalled"].fillna(False).astype(bool)
    )
    return result.sort_values("account_id").reset_index(drop=True)


def compute_stage_conversion(
    stage_history: pd.DataFrame | None,
    stage_map: Mapping[str, Mapping[str, Any]],
    as_of: dt.date,
) -> pd.DataFrame:
    """Return the share of opportunities in each open stage that moved on.

    An opportunity converts from a stage when, before the cutoff, it later
    entered an open stage of higher order or a won stage. Columns:
    ``stage``, ``order``, ``entered``, ``advanced`` and ``conversion``
    (0 to 1), in process order; empty without stage history.
    """
    columns = ["stage", "order", "entered", "advanced", "conversion"]
    if stage_history is None:
        dtypes = [str, "int64", "int64", "int64", float]
        return pd.DataFrame(
            {c: pd.Series(dtype=t) for c, t in zip(columns, dtypes, strict=True)}
        )
    history = _known_history(stage_history, as_of)
    order = {stage: entry["order"] for stage, entry in stage_map.items()}
    category = {stage: entry["category"] for stage, entry in stage_map.items()}
    history["order"] = history["stage"].map(order)
    history["category"] = history["stage"].map(category)
    is_progress = history["category"].isin(["open", "won"])
    history["progress_order"] = history["order"].astype(float).where(is_progress)
    history.loc[history["category"] == "won", "progress_order"] = np.inf
    furthest = history.groupby("opportunity_id")["progress_order"].max()

    rows = []
    for stage, entry in sorted(stage_map.items(), key=lambda item: item[1]["order"]):
        if entry["category"] != "open":
            continue
        entered = history.loc[history["stage"] == stage, "opportunity_id"].unique()
        advanced = int((furthest.reindex(entered) > entry["order"]).sum())
        rows.append(
            {
                "stage": stage,
                "order": entry["order"],
                "entered": len(entered),
                "advanced": advanced,
                "conversion": advanced / len(entered) if len(entered) else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _closed_before_created(opportunities: pd.DataFrame) -> pd.Series:
    """Flag closed deals whose close date is before their creation date (UTC).

    These are the deals of the intake finding "closed before created" whose
    stage history does not date the close (see :mod:`acctlib.asof`). Such a
    deal has no cycle length, because its dates contradict each other.
    """
    closed_on = pd.to_datetime(opportunities["closed_on"])
    if closed_on.dt.tz is not None:
        closed_on = closed_on.dt.tz_convert("UTC").dt.tz_localize(None)
    created_at = pd.to_datetime(opportunities["created_at"], utc=True)
    created_on = created_at.dt.tz_localize(None).dt.normalize()
    is_closed = ~opportunities["is_open"].astype(bool)
    return is_closed & (closed_on < created_on)


def compute_pipeline_velocity(
    opportunities: pd.DataFrame,
    groups: pd.DataFrame,
    group: str,
    as_of: dt.date,
    *,
    months: int = 12,
) -> pd.DataFrame:
    """Return pipeline velocity per group: open deals x win rate x deal / cycle.

    Parameters
    ----------
    opportunities
        Output of :func:`compute_opportunity_progression`.
    groups
        ``account_id`` and the ``group`` column (such as ``tier`` or
        ``industry``); accounts missing from it count as "Unknown", and
        deals without an account as "No account".
    months
        Length of the closed-deal window that gives win rate, average won
        ``amount`` and cycle length (``days_open`` of won deals).

    Returns
    -------
    pandas.DataFrame
        ``group`` value, ``open_opportunities``, ``win_rate`` (0 to 1),
        ``average_deal`` (report currency), ``cycle_days``,
        ``velocity_per_month`` (report currency per 30 days),
        ``cycle_left_out`` (won deals of the window closed before their
        creation date, which the cycle length leaves out),
        ``amount_left_out`` (won deals of the window with an amount of zero
        or less, such as refunds and credits) and ``no_amount_left_out``
        (won deals of the window without an amount), sorted by the group
        value. Win rate, average won deal and cycle length leave out the
        deals of ``amount_left_out`` and ``no_amount_left_out``, as
        attribution credits no such deal. So a refund neither counts as a
        win nor makes velocity negative, and the three figures cover the
        same won deals. Lost deals count whatever their amount.
    """
    start = pd.Timestamp(as_of) - pd.DateOffset(months=months)
    opps = opportunities.merge(
        groups[["account_id", group]], on="account_id", how="left"
    )
    # Deals without an account are named as on every other page; accounts
    # without a group value are "Unknown".
    account = opps["account_id"]
    no_account = account.isna() | account.astype(str).eq(schema.NO_ACCOUNT)
    missing = pd.Series(
        np.where(no_account, schema.NO_ACCOUNT, "Unknown"), index=opps.index
    )
    opps[group] = opps[group].astype(object).where(opps[group].notna(), missing)
    opps[group] = opps[group].astype(str)
    closed_on = pd.to_datetime(opps["closed_on"])
    recent = ~opps["is_open"] & (closed_on > start)
    closed_early = _closed_before_created(opps)

    rows = []
    for value, frame in opps.groupby(group, sort=True):
        closed = frame[recent.loc[frame.index]]
        not_positive = closed["is_won"] & (closed["amount"] <= 0)
        no_amount = closed["is_won"] & closed["amount"].isna()
        closed = closed[~(not_positive | no_amount)]
        won = closed[closed["is_won"]]
        win_rate = len(won) / len(closed) if len(closed) else np.nan
        average_deal = won["amount"].mean() if len(won) else np.nan
        cycle = won["days_open"].mean() if len(won) else np.nan
        open_count = int(frame["is_open"].sum())
        velocity = (
            open_count * win_rate * average_deal / cycle * 30 if cycle else np.nan
        )
        rows.append(
            {
                group: value,
                "open_opportunities": open_count,
                "win_rate": win_rate,
                "average_deal": average_deal,
                "cycle_days": cycle,
                "velocity_per_month": velocity,
                "cycle_left_out": int(closed_early.loc[won.index].sum()),
                "amount_left_out": int(not_positive.sum()),
                "no_amount_left_out": int(no_amount.sum()),
            }
        )
    # The types are set explicitly because a frame built from no rows has
    # object columns, which the workspace would store as text.
    frame = pd.DataFrame(rows, columns=[group, *_VELOCITY_TYPES])
    return frame.astype(_VELOCITY_TYPES)


_VELOCITY_TYPES = {
    "open_opportunities": "int64",
    "win_rate": "float64",
    "average_deal": "float64",
    "cycle_days": "float64",
    "velocity_per_month": "float64",
    "cycle_left_out": "int64",
    "amount_left_out": "int64",
    "no_amount_left_out": "int64",
}
"""Column types of :func:`compute_pipeline_velocity` after the group column."""


def _literal(timestamp: pd.Timestamp) -> ibis.Value:
    return ibis.literal(timestamp.to_pydatetime(), type="timestamp('UTC')")


def _run(expression: ibis.Table, con: Any) -> pd.DataFrame:
    with engine.quiet_conversions():
        if con is not None:
            return con.to_pandas(expression)
        return expression.to_pandas()


def _count_recent_touches(
    recent: ibis.Table, cutoff: pd.Timestamp
) -> tuple[ibis.Table, ibis.Table]:
    """Return touches per account and function, and contacts per account.

    The functions are spread into columns in pandas. In DuckDB 2.0.1, one
    aggregate per account with a filtered sum per function and window took
    twice as long (1.5 s against 0.7 s on one month-end of the large
    benchmark data).
    """
    in_30 = recent.occurred_at >= _literal(cutoff - pd.Timedelta(days=30))
    in_90 = recent.occurred_at >= _literal(cutoff - pd.Timedelta(days=90))
    flags = recent.select(
        "account_id",
        "function",
        in_30=in_30.cast("int64"),
        in_90=in_90.cast("int64"),
    )
    by_function = flags.group_by(["account_id", "function"]).aggregate(
        touches_30d=flags.in_30.sum(), touches_90d=flags.in_90.sum()
    )

    # Distinct contacts come from distinct (account, contact, period) rows:
    # a COUNT(DISTINCT) FILTER inside an aggregate made DuckDB 2.0.1 keep
    # distinct sets for every account, and one month-end's engagement on
    # the large benchmark data took 6.1 s instead of 5.2 s.
    pairs = (
        recent.filter(recent.contact_id.notnull())
        .select("account_id", "contact_id", in_90=in_90)
        .distinct()
    )
    contacts = pairs.group_by("account_id").aggregate(
        contacts_90d=pairs.in_90.cast("int64").sum(),
        contacts_prev_90d=(~pairs.in_90).cast("int64").sum(),
    )
    return by_function, contacts


def _spread_functions(
    by_function: pd.DataFrame, contacts: pd.DataFrame
) -> pd.DataFrame:
    """Return one row per account with totals, contacts and a column per function.

    Touches without a known function count in the totals alone.
    """
    windows = ["touches_30d", "touches_90d"]
    by_function = by_function.assign(account_id=by_function["account_id"].astype(str))
    totals = by_function.groupby("account_id", sort=True)[windows].sum()
    known = by_function[by_function["function"].isin(schema.FUNCTIONS)]
    spread = known.pivot(index="account_id", columns="function", values=windows)
    counts = totals.astype("int64")
    contacts = contacts.assign(account_id=contacts["account_id"].astype(str))
    contacts = contacts.set_index("account_id").reindex(counts.index)
    for column in ("contacts_90d", "contacts_prev_90d"):
        counts[column] = contacts[column].fillna(0).astype("int64")
    for function in schema.FUNCTIONS:
        for window in windows:
            column = (window, function)
            if column in spread.columns:
                values = spread[column].reindex(counts.index).fillna(0)
            else:
                values = pd.Series(0, index=counts.index)
            counts[f"{window}_{function}"] = values.astype("int64")
    return counts.reset_index()


def _count_weekly_touches(recent: ibis.Table, cutoff: pd.Timestamp) -> ibis.Table:
    start = cutoff - pd.Timedelta(weeks=TREND_WEEKS)
    in_weeks = recent.filter(recent.occurred_at >= _literal(start))
    # Week 11 ends at the cutoff; a touch belongs to the latest week whose
    # start it is on or after.
    branches = [
        (
            in_weeks.occurred_at
            >= _literal(cutoff - pd.Timedelta(weeks=TREND_WEEKS - w)),
            w,
        )
        for w in range(TREND_WEEKS - 1, -1, -1)
    ]
    weekly = in_weeks.mutate(week=ibis.cases(*branches, else_=0))
    return weekly.group_by(["account_id", "week"]).aggregate(touches=weekly.count())


def _complete_weeks(weekly: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    index = pd.MultiIndex.from_product(
        [sorted(counts["account_id"].astype(str)), range(TREND_WEEKS)],
        names=["account_id", "week"],
    )
    weekly = weekly.assign(account_id=weekly["account_id"].astype(str))
    full = weekly.set_index(["account_id", "week"])["touches"].reindex(
        index, fill_value=0
    )
    return full.astype("int64").reset_index()


def classify_direction(change: pd.Series, band: float) -> pd.Series:
    """Return rising above ``band``, falling below ``-band`` and flat between."""
    values = np.where(
        change > band, "rising", np.where(change < -band, "falling", "flat")
    )
    return pd.Series(values, index=change.index, dtype=object)


def _history_disagrees(snapshot: pd.DataFrame) -> np.ndarray:
    """Return where the snapshot's stage replaced another stage of the history."""
    if "history_stage_asof" not in snapshot.columns:
        return np.zeros(len(snapshot), dtype=bool)
    return snapshot["history_stage_asof"].notna().to_numpy()


def _known_history(stage_history: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    history = _history_before(stage_history, as_of)
    # The order of a stable sort by (opportunity_id, entered_at), with
    # missing IDs last. A lexsort on sorted factor codes avoids sorting a
    # million text IDs, which took most of this function's time.
    ids, uniques = pd.factorize(history["opportunity_id"], sort=True)
    ids = np.where(ids < 0, len(uniques), ids)
    entered = history["entered_at"].dt.tz_convert(None).to_numpy().view("int64")
    return history.iloc[np.lexsort((entered, ids))].reset_index(drop=True)


def _history_before(stage_history: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Return the stage entries known on ``as_of``, in their input order."""
    history = stage_history[["opportunity_id", "stage", "entered_at"]].copy()
    history["entered_at"] = pd.to_datetime(history["entered_at"], utc=True)
    return history[history["entered_at"] < as_of_cutoff(as_of)]


def _find_stage_entry(
    opps: pd.DataFrame, stage_history: pd.DataFrame | None, as_of: dt.date
) -> pd.Series:
    """Return when each opportunity entered its stage on ``as_of``, or NaT."""
    entered = pd.Series(pd.NaT, index=opps.index, dtype=schema.TIMESTAMP)
    if stage_history is not None and not stage_history.empty:
        # The latest entry per stage does not depend on row order, so the
        # sort of _known_history is skipped.
        history = _history_before(stage_history, as_of)
        keys = opps[["opportunity_id", "stage_asof"]].rename(
            columns={"stage_asof": "stage"}
        )
        latest = history.groupby(["opportunity_id", "stage"], as_index=False)[
            "entered_at"
        ].max()
        matched = keys.merge(latest, on=["opportunity_id", "stage"], how="left")
        entered = pd.Series(matched["entered_at"].array, index=opps.index)
        entered = pd.to_datetime(entered, utc=True).astype(schema.TIMESTAMP)
    return entered


def _resolve_win_probability(
    opps: pd.DataFrame, win_probability: pd.DataFrame | None
) -> pd.Series:
    stage_probability = opps["probability_asof"].astype(float)
    if win_probability is None or win_probability.empty:
        return stage_probability
    model = win_probability.set_index("opportunity_id")["win_probability"]
    return opps["opportunity_id"].map(model).astype(float).fillna(stage_probability)


def _days_before(timestamps: pd.Series, cutoff: pd.Timestamp) -> np.ndarray:
    values = pd.to_datetime(timestamps, utc=True)
    return ((cutoff - values).dt.total_seconds() / 86400).round(1).to_numpy()


_ENGAGEMENT_COUNTS = (
    "touches_30d",
    "touches_90d",
    *[f"touches_{w}_{f}" for f in schema.FUNCTIONS for w in ("30d", "90d")],
    "contacts_90d",
    "contacts_prev_90d",
    "breadth_change",
)
_ENGAGEMENT_TRENDS = ("weekly_mean", "weekly_slope", "engagement_trend")
_ENGAGEMENT_DIRECTIONS = ("breadth_direction", "engagement_direction")


def _fill_engagement(
    engagement: pd.DataFrame | None, accounts: pd.DataFrame
) -> pd.DataFrame:
    """Return engagement columns for every account, zeros where it has none.

    Without ``engagement`` (no touchpoints table) every engagement column
    is missing instead: ``Int64`` NA counts, NaN trends and NaN directions.
    """
    base = accounts[["account_id"]]
    if engagement is None:
        return _leave_engagement_unmeasured(base)
    filled = base.merge(engagement, on="account_id", how="left")
    for column in _ENGAGEMENT_COUNTS:
        filled[column] = pd.to_numeric(filled.get(column), errors="coerce")
        filled[column] = filled[column].fillna(0).astype("int64")
    for column in _ENGAGEMENT_TRENDS:
        filled[column] = pd.to_numeric(filled.get(column), errors="coerce")
        filled[column] = filled[column].fillna(0.0).astype(float)
    for column in _ENGAGEMENT_DIRECTIONS:
        filled[column] = filled.get(column, pd.Series(dtype=object))
        filled[column] = filled[column].astype(object).fillna("flat").astype(str)
    sales = [f"touches_30d_{function}" for function in SALES_FUNCTIONS]
    filled["sales_touches_30d"] = filled[sales].sum(axis=1).astype("int64")
    return filled


def _leave_engagement_unmeasured(base: pd.DataFrame) -> pd.DataFrame:
    missing = base.reset_index(drop=True)
    no_count = pd.Series(pd.NA, index=missing.index, dtype="Int64")
    for column in _ENGAGEMENT_COUNTS:
        missing[column] = no_count
    for column in _ENGAGEMENT_TRENDS:
        missing[column] = np.nan
    # The text dtype keeps the column typed for DuckDB with no value in it.
    for column in _ENGAGEMENT_DIRECTIONS:
        missing[column] = pd.Series(np.nan, index=missing.index, dtype="str")
    missing["sales_touches_30d"] = no_count
    return missing


def _summarize_open_deals(
    opportunities: pd.DataFrame, late_probability: float
) -> pd.DataFrame:
    open_deals = opportunities[opportunities["is_open"].astype(bool)].copy()
    open_deals["late_stalled"] = open_deals["stalled"] & (
        open_deals["win_probability"] >= late_probability
    )
    ratio = open_deals["days_in_stage"] / (2 * open_deals["stall_threshold_days"])
    open_deals["velocity"] = (100 * (1 - ratio.clip(0, 1))).where(
        open_deals["stall_threshold_days"] > 0
    )
    grouped = open_deals.groupby("account_id")
    summary = pd.DataFrame(
        {
            "open_opportunities": grouped.size(),
            "stalled_opportunities": grouped["stalled"].sum(),
            "late_stage_stalled": grouped["late_stalled"].any(),
            "max_win_probability": grouped["win_probability"].max(),
            "stage_velocity": grouped["velocity"].mean(),
        }
    )
    longest = _find_longest_late_stalls(open_deals)
    return summary.join(longest).reset_index()


def _find_longest_late_stalls(open_deals: pd.DataFrame) -> pd.DataFrame:
    """Return ``late_stall_stage`` and ``late_stall_days`` per account.

    Each account's late-stage stalled deal with the most days in its stage
    gives both. A tie goes to the lowest ``opportunity_id``, so reruns agree.
    """
    stalls = open_deals[open_deals["late_stalled"].astype(bool)]
    stalls = stalls.sort_values(
        ["days_in_stage", "opportunity_id"], ascending=[False, True]
    )
    longest = stalls.drop_duplicates("account_id").set_index("account_id")
    return pd.DataFrame(
        {
            "late_stall_stage": longest["stage_asof"].astype("str"),
            "late_stall_days": longest["days_in_stage"].astype(float),
        }
    )
