"""Account tiers from three published scores: fit, value and engagement.

Each score runs from 0 to 100:

- **fit**: match to the ideal customer profile. With ``fit_method:
  profile`` an account earns the weight of each attribute it matches
  (industry in the profile's list, employees within its range, region in
  its list). With ``fit_method: win_rate`` each attribute earns its
  segment's smoothed historical win rate over the best segment's rate.
- **value**: percentile rank of won ACV plus expected open ACV (open ACV
  times win probability) among accounts with value above zero; accounts
  without value score 0.
- **engagement**: weighted mix of the percentile rank of touches in 90 days
  (level), of distinct contacts in 90 days (breadth), and of the 12-week
  trend mapped onto 0 to 100 (50 is flat).

Tier rules give, per tier 1 to 3, minimum scores that must all hold
(``match: all``) or of which one must hold (``match: any``); the first tier
whose rule holds wins and Tier 4 takes the rest. Raising any score can
therefore never lower a tier.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from acctlib import schema
from acctlib.errors import ParameterError, closest_hint

logger = logging.getLogger(__name__)

SCORES = ("fit", "value", "engagement")
TIER_LABELS = {
    1: "Tier 1 Strategic",
    2: "Tier 2 Core",
    3: "Tier 3 Growth",
    4: "Tier 4 Nurture",
}
FIT_ATTRIBUTES = ("industry", "size", "region")
# The icp_profile key of each fit attribute scored by a list of values.
PROFILE_KEYS = {"industry": "industries", "region": "regions"}
ENGAGEMENT_PARTS = ("level", "breadth", "trend")
SIZE_BANDS = (0, 50, 200, 1000, 5000)
WIN_RATE_SMOOTHING = 10
"""Closed opportunities of prior weight pulling a segment's win rate to the overall."""

ACCOUNT_TIERS_COLUMNS: dict[str, str] = {
    "account_id": "Account identifier (str).",
    "name": "Account name.",
    "owner": "Account owner.",
    "status": "customer, open_opportunity, churned, lost or prospect.",
    "industry": "Industry.",
    "region": "Region.",
    "tier": "Tier number, 1 (Strategic) to 4 (Nurture), int.",
    "tier_label": "Tier 1 Strategic, Tier 2 Core, Tier 3 Growth or Tier 4 Nurture.",
    "fit_score": "Fit to the ideal customer profile, 0 to 100.",
    "value_score": "Percentile rank of value_amount among valued accounts, 0 to 100.",
    "engagement_score": "Touch level, breadth and trend, 0 to 100.",
    "value_amount": (
        "Won ACV plus expected open ACV, report currency per year; missing when "
        "no active won contract or open deal has an amount."
    ),
    "expected_open_acv": (
        "Open ACV times win probability, report currency per year; missing when "
        "no open deal has an amount."
    ),
    "reason": "One line naming the scores and the thresholds that set the tier.",
}
"""Columns of the ``account_tiers`` table; names are stable for other modules."""


@dataclass(frozen=True)
class TierConfig:
    """Scoring weights, the ideal customer profile and the tier rules."""

    fit_method: str
    icp: Mapping[str, Any]
    fit_weights: Mapping[str, float]
    engagement_weights: Mapping[str, float]
    rules: Mapping[int, Mapping[str, Any]]

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TierConfig:
        """Read the tiering parameters and check the tier rules."""
        return cls(
            fit_method=params["fit_method"],
            icp=params["icp_profile"],
            fit_weights=_check_weights(
                params["fit_weights"], FIT_ATTRIBUTES, "fit_weights"
            ),
            engagement_weights=_check_weights(
                params["engagement_weights"], ENGAGEMENT_PARTS, "engagement_weights"
            ),
            rules=parse_tier_rules(params["tier_rules"]),
        )


def parse_tier_rules(raw: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
    """Return ``{tier: {"match": "all"|"any", score: minimum, ...}}`` for tiers 1-3.

    ``raw`` maps ``tier_1``, ``tier_2`` and ``tier_3`` to a rule. Raises
    :class:`ParameterError` for another key, an unknown score, a minimum
    outside 0 to 100 or a rule without any score.
    """
    rules = {}
    for key, rule in raw.items():
        if key not in ("tier_1", "tier_2", "tier_3"):
            raise ParameterError(
                f"tier_rules has key {key!r}; use tier_1, tier_2 and tier_3 "
                "(Tier 4 takes every account that meets none of them)"
            )
        match = rule.get("match", "all")
        thresholds = {name: value for name, value in rule.items() if name != "match"}
        unknown = sorted(set(thresholds) - set(SCORES))
        if unknown:
            hint = closest_hint(unknown[0], SCORES)
            raise ParameterError(
                f"tier_rules.{key} has unknown score {unknown[0]!r}.{hint} The "
                f"scores are {', '.join(SCORES)}; give a minimum for one or more "
                "of them, and set match to all or any."
            )
        if match not in ("all", "any") or not thresholds:
            raise ParameterError(
                f"tier_rules.{key} is {dict(rule)!r}; give minimum scores for "
                f"some of {', '.join(SCORES)} and match: all or any"
            )
        for name, value in thresholds.items():
            if not 0 <= float(value) <= 100:
                raise ParameterError(
                    f"tier_rules.{key}.{name} is {value}; use a score from 0 to 100"
                )
        rules[int(key[-1])] = {
            "match": match,
            **{n: float(v) for n, v in thresholds.items()},
        }
    return dict(sorted(rules.items()))


def compute_account_tiers(
    account_map: pd.DataFrame,
    progression: pd.DataFrame,
    opportunities: pd.DataFrame,
    config: TierConfig,
    has_touchpoints: bool = True,
) -> pd.DataFrame:
    """Score every account and assign its tier with a one-line reason.

    Parameters
    ----------
    account_map
        Output of :func:`acctlib.accountmap.compute_account_map`; uses
        ``industry``, ``region``, ``employees``, ``won_acv``, ``value``,
        ``owner``, ``name`` and ``status``. The no-account row is left out.
    progression
        ``account_progression`` rows (see
        :data:`acctlib.progression.ACCOUNT_PROGRESSION_COLUMNS`); uses
        ``touches_90d``, ``contacts_90d``, ``engagement_trend`` and
        ``weekly_mean``.
    opportunities
        ``opportunity_progression`` rows; open ``acv`` times
        ``win_probability`` gives the expected open ACV, and closed
        opportunities give the win rates of ``fit_method: win_rate``.
    config
        Weights, profile and rules, usually ``TierConfig.from_params``.
    has_touchpoints
        Whether the source has a touchpoints table. Without one the
        engagement score is missing, so no rule is met on engagement and
        each reason states that engagement was not measured.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`ACCOUNT_TIERS_COLUMNS`, sorted by
        ``account_id``. Scores are rounded to one decimal before the rules
        apply, so the reason shows the figures that decided.
    """
    accounts = account_map[account_map["account_id"] != schema.NO_ACCOUNT]
    accounts = accounts.sort_values("account_id").reset_index(drop=True)
    tiers = accounts[
        ["account_id", "name", "owner", "status", "industry", "region"]
    ].copy()

    tiers["fit_score"] = compute_fit_score(accounts, opportunities, config).round(1)
    expected = _expected_open_acv(opportunities, accounts["account_id"])
    tiers["expected_open_acv"] = expected.to_numpy()
    value_amount = accounts["won_acv"].fillna(0.0).to_numpy() + expected.fillna(0.0)
    # The account map's value is missing when every active won contract and
    # open deal of the account lacks an amount, so its value amount is unknown
    # rather than 0. The score still ranks it as an account without value.
    tiers["value_amount"] = value_amount.where(accounts["value"].notna().to_numpy())
    tiers["value_score"] = percentile_score(tiers["value_amount"]).round(1)
    activity = progression.set_index("account_id").reindex(accounts["account_id"])
    tiers["engagement_score"] = compute_engagement_score(
        activity.reset_index(), config.engagement_weights
    ).round(1)
    if not has_touchpoints:
        tiers["engagement_score"] = np.nan

    tiers["tier"] = assign_tiers(tiers, config.rules)
    tiers["tier_label"] = tiers["tier"].map(TIER_LABELS)
    tiers["reason"] = explain_tiers(tiers, config.rules)
    return tiers[list(ACCOUNT_TIERS_COLUMNS)]


def percentile_score(values: pd.Series) -> pd.Series:
    """Return 100 x rank / count among values above zero, 0 for the rest.

    Ties share the highest rank, so the score depends only on the set of
    values, never on row order, and raising one value never lowers its
    own score.
    """
    numbers = pd.to_numeric(values, errors="coerce").fillna(0.0).astype(float)
    positive = numbers > 0
    score = pd.Series(0.0, index=values.index)
    if positive.any():
        ranks = numbers[positive].rank(method="max")
        score[positive] = 100.0 * ranks / positive.sum()
    return score


def compute_fit_score(
    accounts: pd.DataFrame, opportunities: pd.DataFrame, config: TierConfig
) -> pd.Series:
    """Return the fit score, 0 to 100, aligned with ``accounts``."""
    segments = pd.DataFrame(
        {
            "industry": accounts["industry"].astype(object),
            "size": size_band(accounts["employees"]),
            "region": accounts["region"].astype(object),
        },
        index=accounts.index,
    )
    if config.fit_method == "win_rate":
        parts = _score_by_win_rate(segments, accounts, opportunities)
    elif config.fit_method == "profile":
        parts = _score_by_profile(segments, accounts, config.icp)
    else:
        raise ParameterError(
            f"fit_method is {config.fit_method!r}; use profile or win_rate"
        )
    return _weighted_mean(parts, config.fit_weights)


def compute_engagement_score(
    activity: pd.DataFrame, weights: Mapping[str, float]
) -> pd.Series:
    """Return the engagement score, 0 to 100, one value per row of ``activity``.

    ``activity`` has ``touches_90d``, ``contacts_90d``, ``engagement_trend``
    and ``weekly_mean``; missing values count as no activity. The trend
    part is ``50 + 50 * clip(engagement_trend, -1, 1)``, and 0 for an
    account without touches in the 12 weeks.
    """
    trend = pd.to_numeric(activity["engagement_trend"], errors="coerce").fillna(0.0)
    active = pd.to_numeric(activity["weekly_mean"], errors="coerce").fillna(0.0) > 0
    parts = pd.DataFrame(
        {
            "level": percentile_score(activity["touches_90d"]) / 100,
            "breadth": percentile_score(activity["contacts_90d"]) / 100,
            "trend": ((0.5 + 0.5 * trend.clip(-1, 1)) * active).astype(float),
        },
        index=activity.index,
    )
    return _weighted_mean(parts, weights)


def assign_tiers(
    scores: pd.DataFrame, rules: Mapping[int, Mapping[str, Any]]
) -> pd.Series:
    """Return the first tier whose rule the scores meet, 4 when none does.

    ``scores`` has ``fit_score``, ``value_score`` and ``engagement_score``.
    """
    tier = pd.Series(4, index=scores.index, dtype="int64")
    for number in sorted(rules, reverse=True):
        tier = tier.where(~_meets_rule(scores, rules[number]), number)
    return tier


def explain_tiers(
    tiers: pd.DataFrame, rules: Mapping[int, Mapping[str, Any]]
) -> pd.Series:
    """Return one line per account naming its scores and the thresholds.

    Examples: "value 92, fit 80: at or above the Tier 1 thresholds (value
    75, fit 60)"; "fit 30, engagement 10: below all the Tier 3 thresholds
    (fit 60, engagement 50)". Scores read as whole numbers unless rounding
    would carry one to or past a threshold of any tier that it is below,
    or below one that it meets. Such scores take the decimals that keep
    the order, such as "value 74.9" against a Tier 1 value of 75.
    """
    reasons = pd.Series("no tier rules: every account is Tier 4", index=tiers.index)
    reasons = reasons.astype(object)
    if not rules:
        return reasons
    lowest_rule = max(rules)
    tier_numbers = tiers["tier"].to_numpy()
    ruled = np.isin(tier_numbers, list(rules))
    cutoffs = score_thresholds(rules)
    for number in rules:
        selected = tier_numbers == number
        _describe_rows(reasons, tiers, selected, rules[number], number, cutoffs)
    below = ~ruled
    _describe_rows(
        reasons, tiers, below, rules[lowest_rule], lowest_rule, cutoffs, "below"
    )
    return reasons


def score_thresholds(rules: Mapping[int, Mapping[str, Any]]) -> dict[str, list[float]]:
    """Return every tier's thresholds per score name of :data:`SCORES`, ascending."""
    return {
        name: sorted({rule[name] for rule in rules.values() if name in rule})
        for name in SCORES
    }


def format_score(value: float, thresholds: list[float]) -> str:
    """Format one score as the tier reasons do, such as "75" or "74.9".

    The score reads as a whole number unless that text would meet one of
    ``thresholds`` that the score is below, or the reverse. A missing score
    is "not measured".
    """
    shown = [float(_format_threshold(threshold)) for threshold in thresholds]
    return _format_score(value, thresholds, shown)


def size_band(employees: pd.Series) -> pd.Series:
    """Return employee bands such as "200-999" and "5000+", "Unknown" when empty."""
    labels = [
        f"{low}-{high - 1}"
        for low, high in zip(SIZE_BANDS[:-1], SIZE_BANDS[1:], strict=True)
    ] + [f"{SIZE_BANDS[-1]}+"]
    numbers = pd.to_numeric(employees, errors="coerce").astype(float)
    index = np.searchsorted(np.array(SIZE_BANDS[1:]), numbers.fillna(-1), side="right")
    bands = pd.Series([labels[i] for i in index], index=employees.index, dtype=object)
    return bands.where(numbers.notna(), "Unknown")


def _check_weights(
    weights: Mapping[str, Any], names: tuple[str, ...], parameter: str
) -> dict[str, float]:
    unknown = sorted(set(weights) - set(names))
    values = {name: float(weights.get(name, 0)) for name in names}
    if unknown or any(v < 0 for v in values.values()) or sum(values.values()) <= 0:
        raise ParameterError(
            f"{parameter} is {dict(weights)!r}; give non-negative weights for "
            f"{', '.join(names)} with a positive sum"
        )
    return values


def _weighted_mean(parts: pd.DataFrame, weights: Mapping[str, float]) -> pd.Series:
    total = sum(weights.values())
    score = sum(parts[name].fillna(0.0) * weight for name, weight in weights.items())
    return (100.0 * score / total).clip(0, 100).astype(float)


def _score_by_profile(
    segments: pd.DataFrame, accounts: pd.DataFrame, icp: Mapping[str, Any]
) -> pd.DataFrame:
    employees = pd.to_numeric(accounts["employees"], errors="coerce").astype(float)
    low = float(icp.get("employees_min", 0))
    high = float(icp.get("employees_max", np.inf))
    return pd.DataFrame(
        {
            "industry": _matches_any(segments["industry"], icp.get("industries", [])),
            "size": employees.between(low, high).astype(float),
            "region": _matches_any(segments["region"], icp.get("regions", [])),
        },
        index=segments.index,
    )


def describe_unmatched_profile(
    accounts: pd.DataFrame, config: TierConfig, max_listed: int = 5
) -> list[str]:
    """Return a note per weighted ideal-profile attribute that matches no account.

    Only under ``fit_method: profile``, and only for attributes with a
    positive weight in ``fit_weights``. An ``icp_profile`` written for
    another source, such as regions "North America" and "EMEA" for a source
    whose regions are "West" and "East", or a source without the column,
    scores that attribute 0 for every account. Fit scores then stay below
    100, so no account may reach a tier that needs a high fit. Each note
    names the attribute, the profile's values, up to ``max_listed`` of the
    source's most common values, the highest fit score any account can
    reach, and the parameters to set.
    """
    if config.fit_method != "profile":
        return []
    unmatched = {}
    for attribute in FIT_ATTRIBUTES:
        if config.fit_weights.get(attribute, 0) <= 0:
            continue
        values = _profile_values(accounts, attribute)
        if values.empty or not _profile_matches(values, attribute, config.icp).any():
            unmatched[attribute] = values
    if not unmatched:
        return []
    total = sum(config.fit_weights.values())
    lost = sum(config.fit_weights[attribute] for attribute in unmatched)
    ceiling = 100.0 * (total - lost) / total
    notes = []
    for attribute, values in unmatched.items():
        # A mapping parameter is replaced whole, so the advice gives every
        # weight, with this attribute's set to 0.
        weights = {**config.fit_weights, attribute: 0}
        weights_text = ", ".join(
            f"{name}: {weight:g}" for name, weight in weights.items()
        )
        leave_out = (
            f"or set fit_weights to {{{weights_text}}} in the run's parameters "
            f"to leave {attribute} out of the fit score"
        )
        notes.append(
            _describe_unmatched(
                attribute, values, config.icp, ceiling, max_listed, leave_out
            )
        )
    return notes


def _profile_values(accounts: pd.DataFrame, attribute: str) -> pd.Series:
    """Return the known values of a fit attribute, employees for size."""
    if attribute == "size":
        if "employees" not in accounts:
            return pd.Series(dtype=float)
        employees = pd.to_numeric(accounts["employees"], errors="coerce")
        return employees.dropna().astype(float)
    if attribute not in accounts:
        return pd.Series(dtype=object)
    values = accounts[attribute].dropna().astype(str).str.strip()
    return values[values.ne("")]


def _profile_matches(
    values: pd.Series, attribute: str, icp: Mapping[str, Any]
) -> pd.Series:
    if attribute == "size":
        low = float(icp.get("employees_min", 0))
        high = float(icp.get("employees_max", np.inf))
        return values.between(low, high)
    return _matches_any(values, list(icp.get(PROFILE_KEYS[attribute]) or [])).gt(0)


def _describe_unmatched(
    attribute: str,
    values: pd.Series,
    icp: Mapping[str, Any],
    ceiling: float,
    max_listed: int,
    leave_out: str,
) -> str:
    """Return the note on one fit attribute that matches no account."""
    profile = f"The ideal customer profile's {_describe_profile(attribute, icp)}"
    effect = (
        f"so {attribute} adds nothing to any account's fit score, and no "
        f"account can score above {ceiling:.0f} for fit"
    )
    column = "employees" if attribute == "size" else attribute
    if values.empty:
        article = "an" if column[0] in "aeiou" else "a"
        return (
            f"No account has a value for {column} in the source. {profile} "
            f"matches no account, {effect}. Map {article} {column} column in "
            f"the source profile, {leave_out}."
        )
    if attribute == "size":
        return (
            f"{profile} matches no account's employees, {effect}. The source's "
            f"accounts have {values.min():,.0f} to {values.max():,.0f} "
            "employees; set icp_profile: employees_min and employees_max to "
            f"the range you target, {leave_out}."
        )
    key = PROFILE_KEYS[attribute]
    common = ", ".join(values.value_counts().head(max_listed).index)
    return (
        f"{profile} matches no account's {attribute}, {effect}. The source's "
        f"most common {key} are {common}; list the ones you target under "
        f"icp_profile: {key}, {leave_out}."
    )


def _describe_profile(attribute: str, icp: Mapping[str, Any]) -> str:
    """Describe the profile's values of a fit attribute, such as its regions."""
    if attribute == "size":
        low = float(icp.get("employees_min", 0))
        high = float(icp.get("employees_max", np.inf))
        if np.isinf(high):
            return f"employee range ({low:,.0f} or more)"
        return f"employee range ({low:,.0f} to {high:,.0f})"
    key = PROFILE_KEYS[attribute]
    listed = ", ".join(str(item) for item in icp.get(key) or [])
    return f"list of {key} ({listed or 'empty'})"


def _matches_any(values: pd.Series, listed: list[Any]) -> pd.Series:
    """Return 1.0 where a value is one of ``listed``, ignoring case and outer spaces.

    Exports spell the same industry "Software" or "software", and a
    case-sensitive match would score every account of one of them 0.
    """
    keys = {str(item).strip().casefold() for item in listed}
    # Each distinct value is normalized once: the account history scores
    # 100,000 accounts at 13 month-ends on the large benchmark size.
    codes, distinct = pd.factorize(values)
    # Code -1, a missing value, reads the False appended last.
    listed_distinct = [
        isinstance(value, str) and value.strip().casefold() in keys
        for value in distinct
    ]
    matches = np.array([*listed_distinct, False], dtype=float)[codes]
    return pd.Series(matches, index=values.index)


def _score_by_win_rate(
    segments: pd.DataFrame, accounts: pd.DataFrame, opportunities: pd.DataFrame
) -> pd.DataFrame:
    """Score each attribute by its segment's smoothed win rate over the best one."""
    closed = opportunities[~opportunities["is_open"].astype(bool)]
    outcomes = closed[["account_id", "is_won"]].merge(
        segments.assign(account_id=accounts["account_id"]), on="account_id"
    )
    if outcomes.empty:
        logger.info(
            "no closed opportunity known; fit by win rate scores every account 0"
        )
        return pd.DataFrame(0.0, index=segments.index, columns=list(FIT_ATTRIBUTES))
    overall = outcomes["is_won"].mean()
    parts = {}
    for attribute in FIT_ATTRIBUTES:
        grouped = outcomes.groupby(outcomes[attribute].astype(str))["is_won"]
        smoothed = (grouped.sum() + WIN_RATE_SMOOTHING * overall) / (
            grouped.size() + WIN_RATE_SMOOTHING
        )
        best = smoothed.max()
        relative = smoothed / best if best > 0 else smoothed * 0
        parts[attribute] = segments[attribute].astype(str).map(relative).fillna(0.0)
    return pd.DataFrame(parts, index=segments.index)


def _expected_open_acv(
    opportunities: pd.DataFrame, account_ids: pd.Series
) -> pd.Series:
    """Return the summed ACV times win probability of each account's open deals.

    The result is on a plain index aligned with ``account_ids``. Deals
    without an ACV are left out, so the sum is NaN for an account whose
    open deals all lack one, and 0 for an account without open deals.
    """
    open_deals = opportunities[opportunities["is_open"].astype(bool)]
    expected = open_deals["acv"] * open_deals["win_probability"].fillna(0.0)
    sums = expected.groupby(open_deals["account_id"]).sum(min_count=1)
    has_open = account_ids.isin(open_deals["account_id"]).to_numpy()
    aligned = sums.reindex(account_ids).reset_index(drop=True)
    return aligned.where(has_open, 0.0)


def _meets_rule(scores: pd.DataFrame, rule: Mapping[str, Any]) -> pd.Series:
    checks = [scores[f"{name}_score"] >= rule[name] for name in SCORES if name in rule]
    combined = (
        np.logical_and.reduce(checks)
        if rule["match"] == "all"
        else np.logical_or.reduce(checks)
    )
    return pd.Series(combined, index=scores.index)


def _describe_rows(
    reasons: pd.Series,
    tiers: pd.DataFrame,
    selected: np.ndarray,
    rule: Mapping[str, Any],
    tier: int,
    cutoffs: Mapping[str, list[float]],
    side: str = "at or above",
) -> None:
    """Write the line of ``rule`` into ``reasons`` for the ``selected`` rows.

    ``cutoffs`` lists every tier's thresholds per score name, so that no
    score reads as meeting a threshold it is below.
    """
    if not selected.any():
        return
    names = [name for name in ("value", "fit", "engagement") if name in rule]
    scores = [tiers[f"{name}_score"].to_numpy()[selected] for name in names]
    thresholds = ", ".join(f"{name} {_format_threshold(rule[name])}" for name in names)
    if len(names) == 1:
        tail = f": {side} the Tier {tier} threshold ({thresholds})"
    else:
        if rule["match"] == "any":
            side = "at or above one of" if side == "at or above" else "below all"
        tail = f": {side} the Tier {tier} thresholds ({thresholds})"
    if not names:
        reasons[selected] = tail
        return
    lines = np.full(int(selected.sum()), "", dtype=object)
    for position, (name, values) in enumerate(zip(names, scores, strict=True)):
        separator = ", " if position else ""
        texts = _format_scores(values, cutoffs[name])
        lines = lines + f"{separator}{name} " + texts
    reasons[selected] = lines + tail


def _format_threshold(threshold: float) -> str:
    """Return a threshold without decimals when whole, such as "75" or "62.5"."""
    return f"{threshold:g}"


def _format_scores(values: np.ndarray, thresholds: list[float]) -> np.ndarray:
    """Return each score as text, or "not measured" when missing.

    A score reads as a whole number unless that text would land on the
    other side of one of ``thresholds`` than the score, as 74.9 shown as
    "75" against 75 would. Then it gets one decimal, or more where one is
    not enough. Each distinct value is formatted once.
    """
    # Factorizing the bit patterns keeps 0.0 and -0.0 apart, which format
    # differently.
    bits = np.ascontiguousarray(values, dtype=float).view("int64")
    codes, uniques = pd.factorize(bits)
    shown = [float(_format_threshold(threshold)) for threshold in thresholds]
    texts = np.array(
        [_format_score(value, thresholds, shown) for value in uniques.view(float)],
        dtype=object,
    )
    return texts[codes]


def _format_score(value: float, thresholds: list[float], shown: list[float]) -> str:
    if np.isnan(value):
        return "not measured"
    for decimals in range(4):
        text = f"{value:.{decimals}f}"
        meets = [value >= threshold for threshold in thresholds]
        reads_as_meeting = [float(text) >= threshold for threshold in shown]
        if meets == reads_as_meeting:
            return text
    return repr(value)
