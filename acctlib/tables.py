"""Formatted tables for the report.

Tables are pandas Stylers with every text cell HTML-escaped, because
account, contact and campaign names are typed by many people into the CRM
and must show as text in the report. Amounts get the report currency and
thousands separators; counts get thousands separators.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler


def format_money(value: float | None, currency: str, *, decimals: int = 0) -> str:
    """Format an amount such as ``USD 1,234,567``; missing values become an en dash."""
    if value is None or pd.isna(value):
        return "–"
    return f"{currency} {value:,.{decimals}f}"


def format_count(value: float | None) -> str:
    """Format a count or score as a whole number with thousands separators.

    Fractions are rounded, not cut, so a score of 99.8 reads 100 here as it
    does in the sentences that quote it.
    """
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):,.0f}"


def format_percent(value: float | None, *, decimals: int = 1) -> str:
    """Format a share between 0 and 1 as a percentage."""
    if value is None or pd.isna(value):
        return "–"
    return f"{100 * value:.{decimals}f}%"


def headline_cards(headline: dict[str, Any], currency: str) -> list[dict[str, str]]:
    """Return label/value pairs of the headline figures, formatted for display."""
    statuses = headline.get("accounts_by_status", {})
    cards = [
        ("Customers", format_count(statuses.get("customer"))),
        ("Open pipeline", format_money(headline.get("open_pipeline"), currency)),
        (
            "Bookings this month",
            format_money(headline.get("bookings_month"), currency),
        ),
        (
            "Bookings year to date",
            format_money(headline.get("bookings_ytd"), currency),
        ),
        (
            "Revenue, last 12 months",
            format_money(headline.get("revenue_12m"), currency),
        ),
    ]
    return [{"label": label, "value": value} for label, value in cards]


def style_table(
    frame: pd.DataFrame,
    *,
    currency: str = "USD",
    money: Iterable[str] = (),
    counts: Iterable[str] = (),
    percents: Iterable[str] = (),
    dates: Iterable[str] = (),
    labels: Mapping[str, str] | None = None,
    caption: str | None = None,
) -> Styler:
    """Return a Styler that shows ``frame`` with report formatting.

    Parameters
    ----------
    money, counts, percents, dates
        Columns formatted as amounts in ``currency``, whole numbers,
        percentages (values 0 to 1) and calendar dates.
    labels
        Column renames for display, applied after formatting.
    """
    formatters = {}
    for column in money:
        formatters[column] = lambda value: format_money(value, currency)
    for column in counts:
        formatters[column] = format_count
    for column in percents:
        formatters[column] = format_percent
    for column in dates:
        formatters[column] = _format_date
    # Numeric columns without a declared format still read well: one decimal
    # for floats and thousands separators, instead of pandas' six decimals.
    for column in frame.columns:
        if column in formatters or pd.api.types.is_bool_dtype(frame[column]):
            continue
        if pd.api.types.is_float_dtype(frame[column]):
            formatters[column] = _format_decimal
        elif pd.api.types.is_integer_dtype(frame[column]):
            formatters[column] = format_count
    styler = frame.style.format(formatters, na_rep="–", escape="html")
    styler = styler.format_index(escape="html", axis=1).hide(axis="index")
    if labels:
        styler = styler.relabel_index(
            [labels.get(column, column) for column in frame.columns], axis=1
        )
    if caption:
        styler = styler.set_caption(caption)
    numeric = [c for c in [*money, *counts, *percents] if c in frame.columns]
    text = [c for c in frame.columns if c not in numeric]
    # Amounts such as "USD 7,106,638" stay on one line; text columns wrap.
    styler = styler.set_properties(
        subset=numeric, **{"text-align": "right", "white-space": "nowrap"}
    )
    styler = styler.set_properties(
        subset=[c for c in dates if c in frame.columns], **{"white-space": "nowrap"}
    )
    styler = styler.set_properties(subset=text, **{"text-align": "left"})
    # Styler ids are random by default; a content hash keeps the HTML of two
    # builds of the same data identical.
    content = pd.util.hash_pandas_object(frame.astype("str"), index=False).sum()
    return styler.set_uuid(f"t{int(content) % 10**10}{len(frame.columns)}")


def _format_decimal(value: float | None) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{value:,.1f}"


def _format_date(value: object) -> str:
    if value is None or pd.isna(value):
        return "–"
    return pd.Timestamp(value).strftime("%Y-%m-%d")
