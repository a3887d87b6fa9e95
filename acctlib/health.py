"""Account health: a 0-100 score from published components, flags and drivers.

Each component is a score from 0 to 100:

- ``engagement_level``: percentile rank of touches in the 90 days to the
  as-of date among touched accounts;
- ``breadth``: percentile rank of distinct contacts touched in those days;
- ``engagement_trend``: ``50 + 50 * clip(engagement_trend, -1, 1)``, so 50
  is flat; missing without touches in the last 12 weeks;
- ``stage_velocity``: mean over open opportunities of
  ``100 * (1 - days_in_stage / (2 * stall threshold))``, clipped to 0-100;
- ``win_probability``: highest win probability of an open opportunity,
  from the forecast model when the run has one, else the stage's;
- ``usage``: ``50 + 50 * clip(change, -1, 1)`` where change is product
  usage in the last 90 days over the 90 days before, minus one;
- ``support``: 100 minus the percentile rank of support tickets in the 90
  days, among accounts with any signal.

Health is the weighted mean of the components with the weights of the
account's profile (``customer`` for customers, ``prospect`` for every other
status). A missing component is dropped and the other weights rescaled
(``health_missing_rule: reweight``) or scored 50 (``neutral``). Each
component's share of the score is stored as ``<component>_points``; the
points add up to ``health_score``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from acctlib import tables
from acctlib.asof import as_of_cutoff
from acctlib.errors import ParameterError, closest_hint
from acctlib.tiering import percentile_score

logger = logging.getLogger(__name__)

COMPONENTS = (
    "engagement_level",
    "breadth",
    "engagement_trend",
    "stage_velocity",
    "win_probability",
    "usage",
    "support",
)
PROFILES = ("customer", "prospect")
FALLING_REASON = "engagement falling"
STALLED_REASON = "stalled late-stage opportunity"
"""Reason of an account with a stalled late-stage deal.

``risk_reason`` adds the deal's stage and days in it in brackets, as in
"stalled late-stage opportunity (Negotiation, 96 days)"."""
RISK_REASON_SEPARATOR = "; "
"""Texts of ``risk_reason``, joined by the separator for an account with both."""
NEUTRAL_SCORE = 50.0
SIGNAL_WINDOW_DAYS = 90

ACCOUNT_HEALTH_COLUMNS: dict[str, str] = {
    "account_id": "Account identifier (str).",
    "name": "Account name.",
    "owner": "Account owner.",
    "status": "Account status on the as-of date.",
    "tier": "Tier number, 1 to 4 (see account_tiers).",
    "profile": "Weight profile used: customer or prospect.",
    "health_score": "Weighted health, 0 to 100 (float).",
    "<component>": "Each component's score, 0 to 100, NaN when missing.",
    "<component>_points": "Each component's share of health_score; they sum to it.",
    "engagement_direction": "rising, flat or falling; missing without touchpoints.",
    "breadth_direction": "rising, flat or falling; missing without touchpoints.",
    "at_risk": "Tier 1 or 2, falling engagement or a stalled late-stage deal.",
    "expansion_ready": "Customer with rising engagement and rising breadth (bool).",
    "risk_reason": (
        "Why the account is at risk, naming the stage and days in stage of its "
        "longest-stalled late-stage deal; empty when it is not."
    ),
}
"""Columns of the ``account_health`` table; names are stable for other modules."""


def summarize_signals(signals: pd.DataFrame | None, as_of: dt.date) -> pd.DataFrame:
    """Return usage and support figures per account from the signals table.

    Signals known before the cutoff count. Columns: ``account_id``,
    ``usage_90d`` and ``usage_prev_90d`` (summed ``value`` of
    ``product_usage`` signals in the 90 days to the cutoff and the 90 days
    before), ``tickets_90d`` (count of ``support_ticket`` signals in the 90
    days) and ``has_signals`` (any signal in the 180 days). Empty without a
    signals table.
    """
    columns = [
        "account_id",
        "usage_90d",
        "usage_prev_90d",
        "tickets_90d",
        "has_signals",
    ]
    if signals is None or signals.empty:
        return pd.DataFrame(columns=columns)
    cutoff = as_of_cutoff(as_of)
    window = pd.Timedelta(days=SIGNAL_WINDOW_DAYS)
    occurred = pd.to_datetime(signals["occurred_at"], utc=True)
    recent = signals[(occurred < cutoff) & (occurred >= cutoff - 2 * window)].copy()
    recent["in_90"] = occurred.loc[recent.index] >= cutoff - window
    is_usage = recent["signal_type"] == "product_usage"
    value = pd.to_numeric(recent["value"], errors="coerce").fillna(0.0)
    recent["usage_90d"] = value.where(is_usage & recent["in_90"], 0.0)
    recent["usage_prev_90d"] = value.where(is_usage & ~recent["in_90"], 0.0)
    recent["tickets_90d"] = (recent["signal_type"] == "support_ticket") & recent[
        "in_90"
    ]
    grouped = recent.groupby("account_id")
    summary = pd.DataFrame(
        {
            "usage_90d": grouped["usage_90d"].sum(),
            "usage_prev_90d": grouped["usage_prev_90d"].sum(),
            "tickets_90d": grouped["tickets_90d"].sum().astype("int64"),
        }
    ).reset_index()
    summary["has_signals"] = True
    return summary[columns]


def compute_health(
    tiers: pd.DataFrame,
    progression: pd.DataFrame,
    signals_summary: pd.DataFrame,
    *,
    weights: Mapping[str, Mapping[str, float]],
    missing_rule: str = "reweight",
    has_touchpoints: bool = True,
) -> pd.DataFrame:
    """Score each account's health and set its flags.

    Parameters
    ----------
    tiers
        ``account_tiers`` (see :data:`acctlib.tiering.ACCOUNT_TIERS_COLUMNS`).
    progression
        ``account_progression`` (see
        :data:`acctlib.progression.ACCOUNT_PROGRESSION_COLUMNS`).
    signals_summary
        Output of :func:`summarize_signals`, possibly empty.
    weights
        ``{profile: {component: weight}}`` for the ``customer`` and
        ``prospect`` profiles; weights are non-negative.
    missing_rule
        ``reweight`` or ``neutral``.
    has_touchpoints
        Whether the source has a touchpoints table. Without one, engagement
        level and breadth are missing for every account, and ``missing_rule``
        applies to them, instead of scoring every account's zero touches.
        A missing ``engagement_direction`` or ``breadth_direction`` stays
        missing instead of reading "flat", so no account is at risk or
        expansion-ready on engagement.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`ACCOUNT_HEALTH_COLUMNS`, one row per row of
        ``tiers``, sorted by ``account_id``.
    """
    check_health_weights(weights, missing_rule)
    base = tiers[["account_id", "name", "owner", "status", "tier"]]
    activity = base.merge(progression, on="account_id", how="left", validate="1:1")
    signals = base[["account_id"]].merge(signals_summary, on="account_id", how="left")

    components = compute_components(activity, signals, has_touchpoints)
    profile = np.where(base["status"] == "customer", "customer", "prospect")
    points = _weigh_components(components, profile, weights, missing_rule)

    health = base.reset_index(drop=True).copy()
    health["profile"] = profile
    score = points.sum(axis=1).clip(0, 100).round(1)
    # An account with no component to score has no health, not a health of 0.
    score = score.where(points.notna().any(axis=1))
    health["health_score"] = score.to_numpy()
    for component in COMPONENTS:
        health[component] = components[component].round(1).to_numpy()
        health[f"{component}_points"] = points[component].round(2).to_numpy()
    for column in ("engagement_direction", "breadth_direction"):
        health[column] = _fill_directions(activity[column], has_touchpoints)
    late_stalled = activity["late_stage_stalled"].fillna(False).astype(bool).to_numpy()
    stalled_reasons = _describe_stalls(activity)
    return (
        _flag_accounts(health, late_stalled, stalled_reasons)
        .sort_values("account_id")
        .reset_index(drop=True)
    )


def _fill_directions(values: pd.Series, has_touchpoints: bool) -> pd.Series:
    """Return directions as text, "flat" where missing if touches were measured.

    Without ``has_touchpoints`` a missing direction stays missing, because
    no touch was measured.
    """
    texts = values.astype(object)
    if has_touchpoints:
        texts = texts.fillna("flat")
    return pd.Series(texts.to_numpy(), index=pd.RangeIndex(len(values)), dtype="str")


def compute_components(
    activity: pd.DataFrame, signals: pd.DataFrame, has_touchpoints: bool = True
) -> pd.DataFrame:
    """Return the 0-100 component scores, NaN where an input is missing.

    Without ``has_touchpoints`` the touch components (engagement level,
    breadth and trend) are missing for every account.
    """
    touches = pd.to_numeric(activity["touches_90d"], errors="coerce").fillna(0)
    active = pd.to_numeric(activity["weekly_mean"], errors="coerce").fillna(0) > 0
    trend = pd.to_numeric(activity["engagement_trend"], errors="coerce").fillna(0.0)
    has_signals = signals["has_signals"].fillna(False).astype(bool).to_numpy()
    usage_now = pd.to_numeric(signals["usage_90d"], errors="coerce").fillna(0.0)
    usage_before = pd.to_numeric(signals["usage_prev_90d"], errors="coerce").fillna(0.0)
    has_usage = ((usage_now + usage_before) > 0).to_numpy()
    usage_change = (usage_now - usage_before) / usage_before.clip(lower=1.0)
    tickets = pd.to_numeric(signals["tickets_90d"], errors="coerce").fillna(0)

    support = (
        100.0 - percentile_score(tickets.where(pd.Series(has_signals), 0)).to_numpy()
    )
    components = pd.DataFrame(
        {
            "engagement_level": percentile_score(touches).to_numpy(),
            "breadth": percentile_score(activity["contacts_90d"]).to_numpy(),
            "engagement_trend": np.where(active, 50 + 50 * trend.clip(-1, 1), np.nan),
            "stage_velocity": pd.to_numeric(
                activity["stage_velocity"], errors="coerce"
            ),
            "win_probability": 100
            * pd.to_numeric(activity["max_win_probability"], errors="coerce"),
            "usage": np.where(has_usage, 50 + 50 * usage_change.clip(-1, 1), np.nan),
            "support": np.where(has_signals, support, np.nan),
        }
    )
    if not has_touchpoints:
        components[["engagement_level", "breadth", "engagement_trend"]] = np.nan
    return components.reset_index(drop=True).clip(0, 100)


def has_recorded_activity(health: pd.DataFrame) -> pd.Series:
    """Return whether each ``account_health`` row's score rests on activity.

    A row with no touch or contact in the engagement window and no other
    component to score has a score of 0 from absence alone. Its change to
    a later month would be the whole later score, so callers treat it as
    having no score.
    """
    touched = (health["engagement_level"] > 0) | (health["breadth"] > 0)
    others = [c for c in COMPONENTS if c not in ("engagement_level", "breadth")]
    return touched | health[others].notna().any(axis=1)


def explain_health_changes(
    current: pd.DataFrame, previous: pd.DataFrame, *, noise_band: float
) -> pd.DataFrame:
    """Return the components that moved each account's health beyond the band.

    Both frames are ``account_health`` tables, a month apart. For every
    account in both whose ``health_score`` moved by more than
    ``noise_band`` points, one row per component whose points changed:
    ``account_id``, ``health_previous``, ``health_score``,
    ``health_change``, ``component``, ``points_change`` (health points the
    component added or removed). Sorted by account, then by the size of the
    change, largest first.
    """
    point_columns = [f"{c}_points" for c in COMPONENTS]
    joined = current[["account_id", "health_score", *point_columns]].merge(
        previous[["account_id", "health_score", *point_columns]],
        on="account_id",
        suffixes=("", "_previous"),
    )
    joined["health_change"] = joined["health_score"] - joined["health_score_previous"]
    moved = joined[joined["health_change"].abs() > noise_band]
    rows = []
    for component in COMPONENTS:
        change = moved[f"{component}_points"] - moved[f"{component}_points_previous"]
        frame = moved[
            ["account_id", "health_score_previous", "health_score", "health_change"]
        ]
        rows.append(frame.assign(component=component, points_change=change.round(2)))
    columns = [
        "account_id",
        "health_previous",
        "health_score",
        "health_change",
        "component",
        "points_change",
    ]
    if not rows:
        return pd.DataFrame(columns=columns)
    drivers = pd.concat(rows, ignore_index=True)
    drivers = drivers.rename(columns={"health_score_previous": "health_previous"})
    drivers = drivers[drivers["points_change"].abs() >= 0.05]
    drivers["size"] = drivers["points_change"].abs()
    drivers = drivers.sort_values(
        ["account_id", "size", "component"], ascending=[True, False, True]
    )
    return drivers[columns].reset_index(drop=True)


def summarize_drivers(drivers: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """Return one line per account, such as "engagement trend −12.0, breadth −5.0".

    Each line names the ``top`` largest changes of ``drivers`` (ordered as
    :func:`explain_health_changes` returns them). The rest add up to one
    part, such as "2 other components −4.1", unless only one is left, which
    is named like the others.
    """
    rank = drivers.groupby("account_id", sort=False).cumcount()
    counts = drivers.groupby("account_id", sort=False)["component"].transform("size")
    # An account with top + 1 changes shows them all, because naming the
    # last one takes no more room than "1 other component".
    named = drivers[(rank < top) | (counts <= top + 1)]
    others = drivers[(rank >= top) & (counts > top + 1)]
    # Joined in a dict rather than by a grouped ", ".join, which calls
    # Python once per account through pandas: 1.4 s for 72,000 accounts.
    parts: dict[object, list[str]] = {}
    rows = zip(
        named["account_id"].tolist(),
        named["component"].tolist(),
        named["points_change"].tolist(),
        strict=True,
    )
    for account, component, change in rows:
        text = f"{component.replace('_', ' ')} {tables.format_change(change)}"
        parts.setdefault(account, []).append(text)
    other_totals = others.groupby("account_id", sort=False)["points_change"].agg(
        ["size", "sum"]
    )
    for account, size, total in other_totals.itertuples():
        text = f"{size} other components {tables.format_change(total)}"
        parts[account].append(text)
    accounts = sorted(parts)
    return pd.DataFrame(
        {
            "account_id": pd.Series(accounts, dtype=drivers["account_id"].dtype),
            "drivers": [", ".join(parts[account]) for account in accounts],
        }
    )


def check_health_weights(
    weights: Mapping[str, Mapping[str, float]], missing_rule: str
) -> None:
    """Raise ParameterError unless ``weights`` and ``missing_rule`` are valid.

    Each profile of :data:`PROFILES` needs a mapping of component names from
    :data:`COMPONENTS` to non-negative numbers with a positive sum. An
    unknown component name gets the closest valid name as a hint.
    """
    if missing_rule not in ("reweight", "neutral"):
        raise ParameterError(
            f"health_missing_rule is {missing_rule!r}; use reweight or neutral"
        )
    for profile in PROFILES:
        profile_weights = weights.get(profile)
        if not isinstance(profile_weights, Mapping):
            raise ParameterError(
                f"health_weights lacks the {profile!r} profile; give weights for "
                f"both {' and '.join(PROFILES)}"
            )
        unknown = sorted(set(profile_weights) - set(COMPONENTS), key=str)
        if unknown:
            hint = closest_hint(str(unknown[0]), COMPONENTS)
            raise ParameterError(
                f"health_weights.{profile} has unknown component {unknown[0]!r}."
                f"{hint} The components are {', '.join(COMPONENTS)}."
            )
        _check_profile_weights(profile, profile_weights)


def _check_profile_weights(profile: str, profile_weights: Mapping[str, Any]) -> None:
    try:
        values = [float(value) for value in profile_weights.values()]
    except (TypeError, ValueError):
        values = []
    valid = bool(values) and all(v >= 0 for v in values) and sum(values) > 0
    if not valid:
        raise ParameterError(
            f"health_weights.{profile} is {dict(profile_weights)!r}; give "
            f"non-negative numbers as weights for some of {', '.join(COMPONENTS)} "
            "with a positive sum"
        )


def _weigh_components(
    components: pd.DataFrame,
    profile: np.ndarray,
    weights: Mapping[str, Mapping[str, float]],
    missing_rule: str,
) -> pd.DataFrame:
    """Return each component's points: effective weight times score."""
    by_profile = pd.DataFrame(
        [[float(weights[p].get(c, 0.0)) for c in COMPONENTS] for p in PROFILES],
        index=list(PROFILES),
        columns=list(COMPONENTS),
    )
    weight_matrix = by_profile.reindex(profile).reset_index(drop=True)
    scores = components.copy()
    if missing_rule == "neutral":
        scores = scores.fillna(NEUTRAL_SCORE)
    else:
        weight_matrix = weight_matrix.where(scores.notna(), 0.0)
        scores = scores.fillna(0.0)
    total = weight_matrix.sum(axis=1)
    # Rows whose every weighted component is missing keep missing points.
    share = weight_matrix.div(total.where(total > 0, np.nan), axis=0)
    return share * scores


def _describe_stalls(activity: pd.DataFrame) -> np.ndarray:
    """Return :data:`STALLED_REASON` with each account's stall stage and days.

    ``activity`` rows carry ``late_stall_stage`` and ``late_stall_days`` of
    ``account_progression``. A row without them gets the bare reason.
    """
    reasons = np.full(len(activity), STALLED_REASON, dtype=object)
    if not {"late_stall_stage", "late_stall_days"} <= set(activity.columns):
        return reasons
    stages = activity["late_stall_stage"].to_numpy(dtype=object, na_value=None)
    days = activity["late_stall_days"].to_numpy(dtype=float, na_value=np.nan)
    # Only the few accounts with a late-stage stall are formatted, because
    # the account history describes every account at 13 month-ends.
    for row in np.flatnonzero(pd.notna(stages) & ~np.isnan(days)):
        whole_days = tables.format_count(days[row])
        unit = "day" if whole_days == "1" else "days"
        reasons[row] = f"{STALLED_REASON} ({stages[row]}, {whole_days} {unit})"
    return reasons


def split_risk_reasons(reason: str) -> list[str]:
    """Split a ``risk_reason`` text into its reasons without their details.

    "engagement falling; stalled late-stage opportunity (Negotiation, 96
    days)" gives :data:`FALLING_REASON` and :data:`STALLED_REASON`. The
    stalled reason comes last, so the text after it is its detail, even
    where a stage name contains the separator or brackets.
    """
    reasons: list[str] = []
    for part in reason.split(RISK_REASON_SEPARATOR):
        if part == STALLED_REASON or part.startswith(f"{STALLED_REASON} ("):
            reasons.append(STALLED_REASON)
            break
        reasons.append(part)
    return reasons


def _flag_accounts(
    health: pd.DataFrame, late_stalled: np.ndarray, stalled_reasons: np.ndarray
) -> pd.DataFrame:
    flagged = health.copy()
    key_tier = flagged["tier"] <= 2
    falling = flagged["engagement_direction"] == "falling"
    flagged["at_risk"] = (key_tier & (falling | late_stalled)).astype(bool)
    reasons = np.where(
        falling & late_stalled,
        FALLING_REASON + RISK_REASON_SEPARATOR + stalled_reasons,
        np.where(falling, FALLING_REASON, stalled_reasons),
    )
    flagged["risk_reason"] = np.where(flagged["at_risk"], reasons, "")
    flagged["expansion_ready"] = (
        (flagged["status"] == "customer")
        & (flagged["engagement_direction"] == "rising")
        & (flagged["breadth_direction"] == "rising")
    ).astype(bool)
    return flagged
