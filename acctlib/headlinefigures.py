"""Labels and display formats of headline figures, as the report shows them.

A run's manifest stores its headline figures under keys such as
``bookings_ytd`` or, once flattened by
:func:`acctlib.movement.flatten_headline`, ``forecast.p10``. The functions
here give each key the label the report pages use and format its value
as the pages do: amounts in whole units of the report currency, counts
as whole numbers. A key without a label is shown as its words, such as
"Forecast: new figure" for ``forecast.new_figure``.
"""

from __future__ import annotations

import math
from typing import Any

from acctlib import tables
from acctlib.movement import HEADLINE_LABELS, MONEY_FIGURES

FIGURE_LABELS = {
    **HEADLINE_LABELS,
    "accounts_at_risk": "Accounts at risk",
    "accounts_expansion_ready": "Accounts ready for expansion",
    "coverage_gaps": "Coverage gaps",
    "forecast.forecast": "Bookings forecast",
    "forecast.p10": "Bookings forecast, P10",
    "forecast.p50": "Bookings forecast, P50",
    "forecast.p90": "Bookings forecast, P90",
    "forecast.coverage": "Forecast range held actual bookings (backtest)",
    "forecast.coverage_cutoffs": (
        "Forecast backtest month-ends with bookings expected or won"
    ),
    "health_auc_win": "Health score AUC for wins",
    "health_auc_churn": "Health score AUC for churn",
    "attribution.revenue_coverage": "Won revenue with a recorded touch",
    "attribution.lookback_days": "Attribution lookback, days",
    "attribution.suggested_lookback_days": "Suggested attribution lookback, days",
    "forecast.negative_open_deals": "Open deals with a negative amount",
}
# Figures of acctlib.forecast.state.count_close_date_rules: how the forecast
# dates open deals without a future close date.
CLOSE_DATE_RULE_LABELS = {
    "forecast.close_date_rules.cycle_days": "Typical days from creation to win",
    "forecast.close_date_rules.without_close_date_by_cycle": (
        "Open deals without a close date, expected at creation plus the typical days"
    ),
    "forecast.close_date_rules.without_close_date_next_day": (
        "Open deals without a close date, expected the day after the report date"
    ),
    "forecast.close_date_rules.overdue_by_cycle": (
        "Open deals past their close date, expected at creation plus the typical days"
    ),
    "forecast.close_date_rules.overdue_next_day": (
        "Open deals past their close date, expected the day after the report date"
    ),
}
FIGURE_LABELS |= CLOSE_DATE_RULE_LABELS
# Figures of acctlib.dealowners.summarize_deal_owners in a sliced run.
SLICE_DEAL_LABELS = {
    "slice_deal_owners.slice_deals": "Deals at the slice's accounts",
    "slice_deal_owners.own_deals": "Deals of the slice's owners",
    "slice_deal_owners.other_owners.deals": "Slice deals of other owners",
    "slice_deal_owners.other_owners.open_pipeline": (
        "Open pipeline of slice deals of other owners"
    ),
    "slice_deal_owners.other_owners.won": "Won amount of slice deals of other owners",
    "slice_deal_owners.no_owner.deals": "Slice deals without an owner",
    "slice_deal_owners.no_owner.open_pipeline": (
        "Open pipeline of slice deals without an owner"
    ),
    "slice_deal_owners.no_owner.won": "Won amount of slice deals without an owner",
    "slice_deal_owners.outside_slice.deals": "Owners' deals outside the slice",
    "slice_deal_owners.outside_slice.open_pipeline": (
        "Open pipeline of owners' deals outside the slice"
    ),
    "slice_deal_owners.outside_slice.won": (
        "Won amount of owners' deals outside the slice"
    ),
    "slice_deal_owners.outside_slice.without_account": (
        "Owners' deals without an account"
    ),
}
FIGURE_LABELS |= SLICE_DEAL_LABELS
# Prefixes of flattened figures that count accounts in one group, such as
# ``accounts_by_tier.Tier 1 Strategic``.
GROUP_LABELS = {
    "accounts_by_status.": "Accounts with status {}",
    "accounts_by_tier.": "Accounts in {}",
}
MONEY_KEYS = MONEY_FIGURES | {"forecast.forecast", "forecast.p10"}
MONEY_KEYS |= {"forecast.p50", "forecast.p90"}
MONEY_KEYS |= {
    key for key in SLICE_DEAL_LABELS if key.endswith(("open_pipeline", ".won"))
}
SHARE_KEYS = {"forecast.coverage", "attribution.revenue_coverage"}
# Areas under the ROC curve, between 0 and 1, shown with two decimals.
SCORE_KEYS = {"health_auc_win", "health_auc_churn"}


def figure_label(key: str) -> str:
    """Return the label of headline figure ``key``.

    A key without a label reads as its words, so ``forecast.new_figure``
    becomes "Forecast: new figure" rather than an internal name.
    """
    if key in FIGURE_LABELS:
        return FIGURE_LABELS[key]
    for prefix, label in GROUP_LABELS.items():
        if key.startswith(prefix):
            return label.format(key.removeprefix(prefix).replace("_", " "))
    words = ": ".join(part.replace("_", " ") for part in key.split("."))
    return words[:1].upper() + words[1:]


def format_figure(key: str, value: Any, currency: str) -> str:
    """Format the value of headline figure ``key``; a missing value is ``–``."""
    if not _is_number(value):
        # compare marks a figure that one run lacks as "(none)".
        if isinstance(value, str) and value != "(none)":
            return value
        return "–"
    if key in MONEY_KEYS:
        return _format_money(value, currency)
    if key in SHARE_KEYS:
        return tables.format_percent(value, decimals=0)
    if key in SCORE_KEYS:
        return f"{value:.2f}"
    return _format_number(key, value)


def format_figure_change(key: str, first: Any, second: Any, currency: str) -> str:
    """Format the change from ``first`` to ``second``, such as ``+USD 1,200``.

    Returns ``–`` unless both values are numbers.
    """
    if not (_is_number(first) and _is_number(second)):
        return "–"
    change = second - first
    if key in MONEY_KEYS:
        amount = _format_money(abs(change), currency)
    elif key in SHARE_KEYS:
        amount = tables.format_points(abs(change), decimals=0)
    elif key in SCORE_KEYS:
        amount = f"{abs(change):.2f}"
    else:
        amount = _format_number(key, abs(change))
    if not any(digit in amount for digit in "123456789"):
        return f"±{amount}"
    return f"{'+' if change > 0 else tables.MINUS}{amount}"


def _format_number(key: str, value: float) -> str:
    """Format a count, or a figure without a known format, such as ``2.25``.

    Labelled figures other than amounts, shares and scores are counts. A
    figure of unknown meaning keeps two decimals unless it is whole.
    """
    if key in FIGURE_LABELS or key.startswith(tuple(GROUP_LABELS)):
        return tables.format_count(value)
    return tables.format_amount(value, decimals=0 if value == int(value) else 2)


def _format_money(value: float, currency: str) -> str:
    """Format an amount with ``currency``, or without one when it is empty."""
    if currency:
        return tables.format_money(value, currency)
    return tables.format_amount(value)


def _is_number(value: Any) -> bool:
    """Return True for an int or float other than NaN, and False for a bool."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not math.isnan(value)
