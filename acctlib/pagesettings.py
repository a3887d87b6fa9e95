"""The settings table under each page title, in a reader's words.

Each section page lists only the parameters its figures depend on, with a
plain label and the value written out, such as ``each touch goes to the
next deal of its account to close`` for ``attribution_assignment: next``.
The footer of every page lists all resolved parameters under their names,
for anyone who reruns the report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from acctlib import tiering
from acctlib.labels import join_words

REPORT_DATE = "Report date"
CURRENCY = "Currency"

# Parameters shown under the title of each section, in this order. A
# section missing here shows the report date and currency only.
PAGE_SETTINGS: dict[str, tuple[str, ...]] = {
    "00-executive-summary": (
        "as_of",
        "report_currency",
        "month_over_month",
        "forecast_horizon_months",
        "default_contract_months",
    ),
    "01-account-map": (
        "as_of",
        "report_currency",
        "influence_window_days",
        "lookback_days",
        "default_contract_months",
        "merge_duplicate_accounts",
    ),
    "02-tiering": (
        "as_of",
        "report_currency",
        "tier_rules",
        "fit_method",
        "icp_profile",
        "month_over_month",
    ),
    "03-attribution": (
        "as_of",
        "report_currency",
        "lookback_days",
        "attribution_window_days",
        "attribution_assignment",
        "attribution_half_life_days",
        "attribution_bootstrap_samples",
    ),
    "04-progression-health": (
        "as_of",
        "report_currency",
        "late_stage_probability",
        "stall_min_visits",
        "health_missing_rule",
        "health_noise_band",
    ),
    "05-forecast": (
        "as_of",
        "report_currency",
        "forecast_horizon_months",
        "forecast_backtest_cutoffs",
        "forecast_probability_source",
        "forecast_simulations",
    ),
    "06-data-quality": (
        "as_of",
        "report_currency",
        "profile",
        "merge_duplicate_accounts",
    ),
}
COMMON_SETTINGS = ("as_of", "report_currency")

# Parameters that only touches use; a run without attribution ignores them.
TOUCH_SETTINGS = frozenset(
    {
        "lookback_days",
        "attribution_window_days",
        "attribution_assignment",
        "attribution_half_life_days",
        "attribution_bootstrap_samples",
    }
)

Rows = list[tuple[str, str]]


def page_settings(
    section: str, params: dict[str, Any], attribution_ran: bool = True
) -> Rows:
    """Return the (label, value) rows of the settings table of ``section``.

    ``section`` is the notebook name, such as ``02-tiering``. Parameters
    missing from ``params`` or left empty are skipped, and so are the
    attribution settings of a run without attribution (``attribution_ran``
    False), such as one whose source has no touchpoints.
    """
    rows: Rows = []
    for name in PAGE_SETTINGS.get(section, COMMON_SETTINGS):
        if not attribution_ran and name in TOUCH_SETTINGS:
            continue
        value = params.get(name)
        if value in (None, "", [], {}):
            continue
        rows.extend(_DESCRIBERS[name](value, params))
    return rows


def _count(value: float, noun: str) -> str:
    """Return ``1 day`` or ``2,000 days``: a whole number and its noun."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,} {noun}" if value == 1 else f"{value:,} {noun}s"


def _describe_tier_rules(value: dict[str, Any], params: dict[str, Any]) -> Rows:
    rows = []
    for tier, rule in sorted(tiering.parse_tier_rules(value).items()):
        conditions = [
            f"{score} score at least {rule[score]:g}"
            for score in tiering.SCORES
            if score in rule
        ]
        joiner = " and " if rule["match"] == "all" else " or "
        rows.append((tiering.TIER_LABELS[tier], joiner.join(conditions)))
    rows.append((tiering.TIER_LABELS[4], "every other account"))
    return rows


def _describe_icp_profile(value: dict[str, Any], params: dict[str, Any]) -> Rows:
    if params.get("fit_method", "profile") != "profile":
        return []
    parts = []
    if value.get("industries"):
        parts.append("industries " + join_words(list(value["industries"])))
    low, high = value.get("employees_min"), value.get("employees_max")
    if low is not None and high is not None:
        parts.append(f"{low:,} to {high:,} employees")
    elif low is not None:
        parts.append(f"at least {low:,} employees")
    elif high is not None:
        parts.append(f"at most {high:,} employees")
    if value.get("regions"):
        parts.append("regions " + join_words(list(value["regions"])))
    return [("Ideal customer profile", "; ".join(parts))] if parts else []


def _describe_window_days(value: list[Any], params: dict[str, Any]) -> Rows:
    days = sorted(int(day) for day in value)
    text = join_words([f"{day:,}" for day in days]) + " days"
    return [("Lookbacks compared in Window sensitivity", text)]


def _describe_backtest(value: int, params: dict[str, Any]) -> Rows:
    if value == 0:
        return [("Backtest", "off")]
    return [
        (
            "Backtest",
            f"methods rebuilt and scored at the last {_count(value, 'month-end')}",
        )
    ]


def _fixed(label: str, words: dict[Any, str]) -> Callable[[Any, dict], Rows]:
    """Return a describer that writes each choice of a parameter in words."""

    def describe(value: Any, params: dict[str, Any]) -> Rows:
        return [(label, words.get(value, str(value)))]

    return describe


def _plain(label: str, render: Callable[[Any], str]) -> Callable[[Any, dict], Rows]:
    """Return a describer that writes the value through ``render``."""

    def describe(value: Any, params: dict[str, Any]) -> Rows:
        return [(label, render(value))]

    return describe


_DESCRIBERS: dict[str, Callable[[Any, dict[str, Any]], Rows]] = {
    "as_of": _plain(REPORT_DATE, str),
    "report_currency": _plain(CURRENCY, str),
    "profile": _plain("Source format", str),
    "month_over_month": _fixed(
        "Changes since the previous month-end",
        {True: "shown", False: "not shown"},
    ),
    "forecast_horizon_months": _plain(
        "Forecast horizon",
        lambda months: f"{_count(months, 'month')} after the report date",
    ),
    "forecast_backtest_cutoffs": _describe_backtest,
    "forecast_probability_source": _fixed(
        "Stage win rates",
        {
            "learned": "learned from deals closed by the report date, "
            "drawn towards the stage map where closed deals are few",
            "stage_map": "the stage map's probabilities as given",
        },
    ),
    "forecast_simulations": _plain(
        "Simulations behind each range", lambda runs: f"{runs:,}"
    ),
    "default_contract_months": _plain(
        "Contract length when the source has none",
        lambda months: _count(months, "month"),
    ),
    "influence_window_days": _plain(
        "Recent touches", lambda days: f"the last {_count(days, 'day')}"
    ),
    "lookback_days": _plain(
        "Touches that join a deal's journey",
        lambda days: f"up to {_count(days, 'day')} before the deal was created",
    ),
    "merge_duplicate_accounts": _fixed(
        "Accounts with the same website domain",
        {True: "merged into one", False: "kept apart"},
    ),
    "tier_rules": _describe_tier_rules,
    "fit_method": _fixed(
        "Fit score",
        {
            "profile": "match to the ideal customer profile",
            "win_rate": "historical win rate of the account's segments",
        },
    ),
    "icp_profile": _describe_icp_profile,
    "attribution_window_days": _describe_window_days,
    "attribution_assignment": _fixed(
        "Touch credit",
        {
            "next": "each touch goes to the next deal of its account to close",
            "all": "each touch goes to every deal of its account whose journey "
            "contains it",
        },
    ),
    "attribution_half_life_days": _plain(
        "Time-decay half-life", lambda days: _count(days, "day")
    ),
    "attribution_bootstrap_samples": _plain(
        "Resamples behind the uncertainty intervals", lambda runs: f"{runs:,}"
    ),
    "late_stage_probability": _plain(
        "Late stage", lambda share: f"win probability of {100 * share:g}% or more"
    ),
    "stall_min_visits": _plain(
        "Stall threshold set for a stage after",
        lambda visits: _count(visits, "completed visit"),
    ),
    "health_missing_rule": _fixed(
        "Missing health component",
        {
            "reweight": "left out, the other weights scaled up",
            "neutral": "scored 50",
        },
    ),
    "health_noise_band": _plain(
        "Health changes explained above", lambda points: _count(points, "point")
    ),
}
