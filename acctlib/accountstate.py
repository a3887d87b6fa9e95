"""Account state on a date: progression, tiers and health, then and now.

:func:`compute_account_state` runs the whole chain for one calendar date:
the as-of opportunity snapshot and account map, touch engagement in the
engine, deal progression, tiers and health. The prepare steps store the
state on the report's as-of date, and :func:`prepare_account_history` runs
the same function at each of the 12 month-ends before it, so last month's
tiers and health come from the same code with only the data known then.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd

from acctlib import (
    accountmap,
    asof,
    engagementhistory,
    health,
    healthvalidation,
    parallel,
    progression,
    tiering,
    tiermovement,
)
from acctlib.asof import as_of_cutoff
from acctlib.dealshares import DEAL_COMPANIES, split_shared_deals
from acctlib.errors import AcctlibError
from acctlib.stagevisits import StageVisits

logger = logging.getLogger(__name__)

HISTORY_MONTHS = 12
OUTCOME_MONTHS = 3
WIN_PROBABILITY_TABLE = "opportunity_win_probability"
"""Optional table of a forecast step: ``opportunity_id``, ``win_probability`` (0-1).

NOTE: it is used only when a step before :func:`prepare_progression` stores
it; otherwise, and at every earlier month-end, the stage probability counts.
"""


def store_typed(
    context: Any, name: str, frame: pd.DataFrame, *, keep: bool = True
) -> None:
    """Store ``frame``, typing the untyped columns of an empty frame as text.

    DuckDB cannot create a table from a column of type NULL, which is what
    an empty object column becomes. ``keep`` is passed on to the context's
    ``store``.
    """
    if frame.empty:
        untyped = {c: str for c in frame.columns if frame[c].dtype == object}
        frame = frame.astype(untyped)
    context.store(name, frame, keep=keep)


def month_ends_before(as_of: dt.date, months: int = HISTORY_MONTHS) -> list[dt.date]:
    """Return the last day of each of the ``months`` months before ``as_of``'s month.

    Oldest first; ``as_of`` itself is not included.
    """
    first = as_of.replace(day=1)
    ends = []
    for _ in range(months):
        end = first - dt.timedelta(days=1)
        ends.append(end)
        first = end.replace(day=1)
    return sorted(ends)


@dataclass(frozen=True)
class HistoryInputs:
    """The run's opportunities and stage history, prepared for many dates."""

    opportunities: asof.OpportunityHistory
    stage_visits: StageVisits | None

    @classmethod
    def from_context(
        cls, context: Any, *, with_stage_visits: bool = True
    ) -> HistoryInputs:
        """Prepare the inputs of ``context``. Stage visits need stage history."""
        tables = context.intake.tables
        stage_history = tables.get("stage_history")
        # The account-map step prepared the same inputs already (about 2 s
        # on the large benchmark size).
        opportunities = getattr(context, "opportunity_history", None)
        if opportunities is None:
            opportunities = asof.OpportunityHistory(
                tables["opportunities"],
                stage_history,
                context.intake.stage_map,
                default_contract_months=context.params["default_contract_months"],
            )
        # An empty history keeps the single-date path and its empty frames.
        has_history = stage_history is not None and not stage_history.empty
        visits = (
            StageVisits(stage_history) if with_stage_visits and has_history else None
        )
        return cls(opportunities, visits)


def compute_account_state(
    context: Any,
    as_of: dt.date,
    touch_activity: pd.DataFrame | None = None,
    engagement: tuple[pd.DataFrame, pd.DataFrame | None] | None = None,
    history: HistoryInputs | None = None,
) -> dict[str, pd.DataFrame]:
    """Compute every account frame known on ``as_of`` from the run's inputs.

    ``context`` is the run's :class:`~acctlib.prepare.PrepareContext`.
    ``touch_activity`` is the output of
    :func:`acctlib.accountmap.summarize_touch_activity` on ``as_of`` and
    ``engagement`` that of :func:`acctlib.progression.summarize_engagement`
    when the caller has them already; None computes them. A None weekly
    frame in ``engagement`` leaves ``weekly`` empty. ``history`` is the
    opportunity and stage history prepared for many dates, or None.
    Returns frames named ``snapshot``, ``account_map``, ``weekly``,
    ``stage_durations``, ``opportunity_progression``,
    ``account_progression``, ``account_tiers`` and ``account_health``.
    """
    tables, params = context.intake.tables, context.params
    if history is None:
        history = HistoryInputs.from_context(context, with_stage_visits=False)
    snapshot = history.opportunities.snapshot(as_of)
    touches = context.touchpoints()
    activity = touch_activity
    if touches is not None and activity is None:
        split = split_shared_deals(
            snapshot, context.intake.extras.get(DEAL_COMPANIES), ["amount", "acv"]
        )
        activity = accountmap.summarize_touch_activity(
            touches,
            split,
            as_of,
            window_days=params["influence_window_days"],
            lookback_days=params["lookback_days"],
        )
    account_map = accountmap.compute_account_map(
        tables["accounts"],
        snapshot,
        activity,
        tables.get("revenue"),
        as_of,
        stage_map=context.intake.stage_map,
        deal_shares=context.intake.extras.get(DEAL_COMPANIES),
    )
    state = {"snapshot": snapshot, "account_map": account_map}
    state.update(
        compute_progression_state(
            context,
            as_of,
            snapshot,
            account_map,
            engagement,
            stage_visits=history.stage_visits,
        )
    )
    state.update(compute_tier_and_health(context, as_of, state))
    return state


def compute_progression_state(
    context: Any,
    as_of: dt.date,
    snapshot: pd.DataFrame,
    account_map: pd.DataFrame,
    touch_engagement: tuple[pd.DataFrame, pd.DataFrame | None] | None = None,
    *,
    stage_visits: StageVisits | None = None,
) -> dict[str, pd.DataFrame]:
    """Return engagement, stage durations and progression frames on ``as_of``.

    ``touch_engagement`` is the output of
    :func:`acctlib.progression.summarize_engagement` on ``as_of`` when the
    caller has it already, and ``stage_visits`` the run's stage history
    prepared for many dates, or None.
    """
    tables, params = context.intake.tables, context.params
    engagement, weekly = touch_engagement or (None, None)
    touches = context.touchpoints()
    if touches is not None and touch_engagement is None:
        engagement, weekly = progression.summarize_engagement(
            touches,
            as_of,
            noise_band=params["engagement_noise_band"],
            breadth_noise_band=params["breadth_noise_band"],
            min_touches=params["engagement_min_touches"],
        )
    history = tables.get("stage_history")
    durations, entered_at = None, None
    if stage_visits is not None:
        durations = stage_visits.summarize_durations(as_of, context.intake.stage_map)
        entered_at = stage_visits.find_stage_entries(snapshot, as_of)
    elif history is not None:
        visits = progression.compute_stage_durations(history, as_of)
        durations = progression.summarize_stage_durations(
            visits, context.intake.stage_map
        )
    # A model fitted on the as-of data would leak into earlier month-ends.
    model_probability = None
    if as_of == context.as_of:
        model_probability = context.frames.get(WIN_PROBABILITY_TABLE)
    opportunities = progression.compute_opportunity_progression(
        snapshot,
        history,
        durations,
        as_of,
        win_probability=model_probability,
        stage_entered_at=entered_at,
        stall_min_visits=params["stall_min_visits"],
    )
    account_progression = progression.compute_account_progression(
        account_map,
        engagement,
        opportunities,
        as_of,
        late_stage_probability=params["late_stage_probability"],
    )
    empty_weeks = pd.DataFrame(
        {
            "account_id": pd.Series(dtype=str),
            "week": pd.Series(dtype="int64"),
            "touches": pd.Series(dtype="int64"),
        }
    )
    return {
        "weekly": weekly if weekly is not None else empty_weeks,
        "stage_durations": durations if durations is not None else _EMPTY_DURATIONS,
        "opportunity_progression": opportunities,
        "account_progression": account_progression,
    }


def compute_tier_and_health(
    context: Any, as_of: dt.date, state: dict[str, pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """Return ``account_tiers`` and ``account_health`` from a progression state."""
    params = context.params
    # Shared deals count for each company with its share of the ACV, as in
    # the account map.
    opportunities = split_shared_deals(
        state["opportunity_progression"],
        context.intake.extras.get(DEAL_COMPANIES),
        ["amount", "acv"],
    )
    tiers = tiering.compute_account_tiers(
        state["account_map"],
        state["account_progression"],
        opportunities,
        tiering.TierConfig.from_params(params),
        has_touchpoints="touchpoints" in context.intake.tables,
    )
    signals = health.summarize_signals(context.intake.tables.get("signals"), as_of)
    account_health = health.compute_health(
        tiers,
        state["account_progression"],
        signals,
        weights=params["health_weights"],
        missing_rule=params["health_missing_rule"],
        has_touchpoints="touchpoints" in context.intake.tables,
    )
    return {"account_tiers": tiers, "account_health": account_health}


def prepare_progression(context: Any) -> None:
    """Store engagement, stage durations and progression on the as-of date."""
    tables = context.intake.tables
    # Intake's notes on a missing stage history or touchpoints table already
    # name what this step leaves out.
    state = context.month_end_states.get(context.as_of)
    if state is None:
        # One set of engine queries serves this date and the account history.
        engagements = _summarize_engagement_history(
            context, history_month_ends_to_keep(context), [context.as_of]
        )
        context.engagement_history = engagements
        state = compute_progression_state(
            context,
            context.as_of,
            context.frames["opportunity_snapshot"],
            context.frames["account_map"],
            engagements.get(context.as_of),
        )
    store_typed(context, "account_weekly_touches", state["weekly"])
    store_typed(context, "stage_durations", state["stage_durations"])
    store_typed(context, "opportunity_progression", state["opportunity_progression"])
    store_typed(context, "account_progression", state["account_progression"])
    conversion = progression.compute_stage_conversion(
        tables.get("stage_history"), context.intake.stage_map, context.as_of
    )
    store_typed(context, "stage_conversion", conversion)


def prepare_tiers_and_health(context: Any) -> None:
    """Store tiers and health on the as-of date, with tier validation tables."""
    result = context.month_end_states.get(context.as_of)
    if result is None:
        state = {name: context.frames[name] for name in _PROGRESSION_FRAMES}
        state["account_map"] = context.frames["account_map"]
        result = compute_tier_and_health(context, context.as_of, state)
    tiers = result["account_tiers"]
    store_typed(context, "account_tiers", tiers)
    store_typed(context, "account_health", result["account_health"])

    config = tiering.TierConfig.from_params(context.params)
    context.notes.extend(
        tiering.describe_unmatched_profile(context.frames["account_map"], config)
    )
    rules = config.rules
    opportunities = context.frames["opportunity_progression"]
    store_typed(
        context,
        "tier_shares",
        tiermovement.summarize_tier_shares(
            tiers, context.frames["account_map"], opportunities, context.as_of
        ),
    )
    store_typed(
        context,
        "tier_sensitivity",
        tiermovement.compute_threshold_sensitivity(tiers, rules),
    )
    velocity = [
        progression.compute_pipeline_velocity(
            opportunities, tiers, group, context.as_of
        )
        .rename(columns={group: "group"})
        .assign(grouping=group)
        for group in ("tier_label", "industry")
    ]
    store_typed(context, "pipeline_velocity", pd.concat(velocity, ignore_index=True))

    counts = tiers["tier"].value_counts()
    account_health = result["account_health"]
    context.headline["accounts_by_tier"] = {
        label: int(counts.get(number, 0))
        for number, label in tiering.TIER_LABELS.items()
    }
    context.headline["accounts_at_risk"] = int(account_health["at_risk"].sum())
    context.headline["accounts_expansion_ready"] = int(
        account_health["expansion_ready"].sum()
    )


def prepare_account_history(context: Any) -> None:
    """Store tiers and health at the 12 previous month-ends, movement and drivers."""
    as_of = context.as_of
    month_ends = history_month_ends(context)
    # The account-map and progression steps computed the touch activity and
    # engagement of these month-ends with that of the as-of date.
    activities = context.touch_history or summarize_touch_history(context, month_ends)
    engagements = context.engagement_history or _summarize_engagement_history(
        context, month_ends
    )
    context.touch_history, context.engagement_history = {}, {}
    history = HistoryInputs.from_context(context)

    def state_on(month_end: dt.date) -> tuple[dict[str, pd.DataFrame] | None, str]:
        try:
            state = compute_account_state(
                context,
                month_end,
                activities.get(month_end),
                engagements.get(month_end),
                history,
            )
        except AcctlibError as error:
            # A source can be valid on the as-of date yet not on an earlier
            # one, such as a stage map without open stages for deals that
            # were still open then; that month-end is left out.
            return None, str(error)
        # The last month-end's whole state serves the month-over-month
        # prepare of that date. Of the others only the frames read below
        # are kept: a whole state on 100,000 accounts takes a few hundred
        # megabytes, twelve of them gigabytes.
        if month_end == month_ends[-1]:
            return state, ""
        return {name: state[name] for name in _HISTORY_FRAMES}, ""

    computed = parallel.map_forked(
        state_on, month_ends, context.params["prepare_processes"]
    )
    states, skipped = {}, []
    for month_end, (state, error) in zip(month_ends, computed, strict=True):
        if state is None:
            logger.warning("account state on %s failed: %s", month_end, error)
            skipped.append(month_end.isoformat())
            continue
        if month_end == month_ends[-1]:
            context.month_end_states[month_end] = state
        states[month_end] = {name: state[name] for name in _HISTORY_FRAMES}
        logger.info("account state on %s computed", month_end)
    states[as_of] = {
        "account_tiers": context.frames["account_tiers"],
        "account_health": context.frames["account_health"],
        "account_map": context.frames["account_map"],
    }

    if skipped:
        context.notes.append(
            f"Tier and health history leaves out {len(skipped)} month-end(s) "
            f"({', '.join(skipped)}) whose data could not be read as of that date."
        )
    tier_history = tiermovement.stack_history(states, "account_tiers")
    health_history = tiermovement.stack_history(states, "account_health")
    # Later steps read the histories back from the workspace, so the frames
    # do not stay in memory through attribution and the forecast.
    store_typed(context, "tier_history", tier_history, keep=False)
    store_typed(context, "health_history", health_history, keep=False)
    store_typed(
        context,
        "tier_transitions",
        tiermovement.compute_transitions(tier_history, as_of),
    )
    store_typed(
        context,
        "tier_movers",
        tiermovement.find_tier_movers(
            tier_history, as_of, tiering.parse_tier_rules(context.params["tier_rules"])
        ),
    )

    _store_health_drivers(context, states)
    outcomes = healthvalidation.label_outcomes(
        health_history, context.frames["opportunity_snapshot"], as_of, OUTCOME_MONTHS
    )
    deciles, summary = healthvalidation.validate_health(outcomes)
    store_typed(context, "health_validation_deciles", deciles)
    store_typed(context, "health_validation", summary)
    for row in summary.itertuples():
        context.headline[f"health_auc_{row.outcome}"] = (
            None if pd.isna(row.auc) else round(float(row.auc), 3)
        )
        context.headline[f"health_auc_{row.outcome}_missing_reason"] = (
            row.auc_missing_reason
        )


_EMPTY_DURATIONS = pd.DataFrame(
    {
        name: pd.Series(dtype=float)
        for name in ("order", "visits", "min", "q1", "median", "q3", "max")
    }
).assign(stage=pd.Series(dtype=str))
_PROGRESSION_FRAMES = ("account_progression", "opportunity_progression")
_HISTORY_FRAMES = ("account_tiers", "account_health", "account_map")


def history_month_ends(context: Any) -> list[dt.date]:
    """Return the month-ends of the account history, those after the first record."""
    first_record_at = _first_record_at(context)
    return [
        month_end
        for month_end in month_ends_before(context.as_of)
        if as_of_cutoff(month_end) > first_record_at
    ]


def history_month_ends_to_keep(context: Any) -> list[dt.date]:
    """Return :func:`history_month_ends` when the account history step runs later.

    Steps before it compute the month-ends' touch activity and engagement
    with the as-of date's, and keep them for it. Without that step there
    is nothing to keep.
    """
    if prepare_account_history.__name__ not in context.step_names:
        return []
    return history_month_ends(context)


def summarize_touch_history(
    context: Any, dates: list[dt.date], snapshot: pd.DataFrame | None = None
) -> dict[dt.date, pd.DataFrame]:
    """Return the touch activity on each of ``dates`` from one set of queries.

    ``snapshot`` is the as-of opportunity snapshot, by default the stored
    ``opportunity_snapshot``. It contains every opportunity of the earlier
    dates.
    """
    touches = context.touchpoints()
    if touches is None or not dates:
        return {}
    params = context.params
    if snapshot is None:
        snapshot = context.frames["opportunity_snapshot"]
    split = split_shared_deals(
        snapshot,
        context.intake.extras.get(DEAL_COMPANIES),
        ["amount", "acv"],
    )
    return accountmap.summarize_touch_history(
        touches,
        split,
        dates,
        window_days=params["influence_window_days"],
        lookback_days=params["lookback_days"],
    )


def _summarize_engagement_history(
    context: Any, month_ends: list[dt.date], other_dates: list[dt.date] = ()
) -> dict[dt.date, tuple[pd.DataFrame, pd.DataFrame | None]]:
    """Return the engagement of every month-end from one set of queries.

    Only the last month-end's state is kept whole, so only its weekly
    touches are computed. ``other_dates``, such as the as-of date, get
    their engagement and weekly touches too.
    """
    touches = context.touchpoints()
    if touches is None or not [*month_ends, *other_dates]:
        return {}
    params = context.params
    return engagementhistory.summarize_engagement_history(
        touches,
        [*month_ends, *other_dates],
        weekly_dates=[*month_ends[-1:], *other_dates],
        noise_band=params["engagement_noise_band"],
        breadth_noise_band=params["breadth_noise_band"],
        min_touches=params["engagement_min_touches"],
    )


def _first_record_at(context: Any) -> pd.Timestamp:
    """Return the creation time of the earliest opportunity or account."""
    tables = context.intake.tables
    times = [
        pd.to_datetime(tables[name]["created_at"], utc=True).min()
        for name in ("accounts", "opportunities")
        if not tables[name].empty
    ]
    times = [time for time in times if pd.notna(time)]
    return min(times) if times else pd.Timestamp.max.tz_localize("UTC")


def _store_health_drivers(context: Any, states: dict[dt.date, Any]) -> None:
    dates = sorted(states)
    current = context.frames["account_health"]
    band = context.params["health_noise_band"]
    if len(dates) < 2:
        context.notes.append("No earlier month-end: health drivers are left out.")
        drivers = health.explain_health_changes(current, current, noise_band=band)
        previous = current.iloc[0:0]
    else:
        previous = states[dates[-2]]["account_health"]
        # An account that scored 0 from no activity last month, such as one
        # created shortly before, has no previous score to change from.
        previous = previous[health.has_recorded_activity(previous)]
        drivers = health.explain_health_changes(current, previous, noise_band=band)
    store_typed(context, "health_drivers", drivers)

    enriched = current.merge(
        previous[["account_id", "health_score"]].rename(
            columns={"health_score": "health_previous"}
        ),
        on="account_id",
        how="left",
    )
    enriched["health_change"] = (
        enriched["health_score"] - enriched["health_previous"]
    ).round(1)
    lines = health.summarize_drivers(drivers) if not drivers.empty else None
    if lines is not None:
        enriched = enriched.merge(lines, on="account_id", how="left")
    else:
        enriched["drivers"] = ""
    enriched["drivers"] = enriched["drivers"].fillna("").astype(str)
    store_typed(context, "account_health", enriched)
