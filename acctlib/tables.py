"""Formatted tables for the report.

Tables are pandas Stylers with every text cell HTML-escaped, because
account, contact and campaign names are typed by many people into the CRM
and must show as text in the report. Amounts get the report currency and
thousands separators; counts get thousands separators.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from acctlib.asof import revenue_window
from acctlib.bookings import month_bookings_label

MINUS = "\u2212"
"""Minus sign (U+2212) of negative numbers shown in the report, not a hyphen."""

COMPACT_NUMERIC_COLUMNS = 6
"""Numeric columns from which a table is set compact to fit the page column.

A compact table uses a smaller font and padding, wraps its headers and
shows amounts without the currency code, which its caption states once.
"""


ROUNDED_PARTS = (
    "Amounts are rounded to whole units, so a column's rows can add up to "
    "one more or less than its total in the headline figures."
)
"""Caption of tables whose rows split a headline total."""

SMALL_AMOUNT_LIMIT = 1_000
"""Total, in report currency units, below which amounts are shown in cents.

Under it, whole units would hide most of each amount: four won deals of 1
each, split by a model into 2.30, 0.70, 0.50 and 0.50, would read 2, 1, 0
and 0.
"""

PARTS_ADD_UP = (
    "Amounts are rounded to whole units so that each column's rows add up "
    "to its total, so a row can differ from its exact amount by less than 1."
)
"""Caption of tables whose parts are rounded with :func:`round_to_total`."""

NO_ROWS = "No rows as of the report date."
"""Caption that :func:`style_table` puts first on a table without rows."""


def format_money(value: float | None, currency: str, *, decimals: int = 0) -> str:
    """Format an amount such as ``USD 1,234,567``; missing values become an en dash."""
    if value is None or pd.isna(value):
        return "–"
    return f"{currency} {_minus(f'{value:,.{decimals}f}')}"


def amount_decimals(total: float) -> int:
    """Return the decimals that show amounts of a table that sum to ``total``.

    Two (cents) when ``total`` is under :data:`SMALL_AMOUNT_LIMIT` units in
    absolute value, else 0.
    """
    return 2 if abs(total) < SMALL_AMOUNT_LIMIT else 0


def round_to_total(values: pd.Series, total: float) -> pd.Series:
    """Round ``values`` to whole units so that they add up to ``total`` rounded.

    Largest remainder method: every value is rounded down, then the values
    with the largest fractions, first in order among equal fractions, get
    one unit each until the sum is ``total`` rounded as :func:`format_money`
    rounds it. Values are read to the cent. ``total`` must lie within one
    unit of ``values.sum()`` per value, which holds for the parts of a total
    and for parts plus a difference row of a few cents.

    Raises
    ------
    ValueError
        When ``total`` is too far from ``values.sum()`` to be reached by
        moving each value at most one unit.
    """
    cents = np.round(values.to_numpy(dtype="float64") * 100).astype("int64")
    units = cents // 100
    fractions = cents % 100
    target = int(float(f"{total:.0f}"))
    missing = target - int(units.sum())
    if not 0 <= missing <= len(units):
        raise ValueError(
            f"cannot round values summing to {cents.sum() / 100:,.2f} to a total "
            f"of {target:,}: the total must lie within one unit per value of "
            "their sum"
        )
    # A stable sort keeps the first of equal fractions first.
    order = np.argsort(-fractions, kind="stable")
    units[order[:missing]] += 1
    return pd.Series(units.astype("float64"), index=values.index, name=values.name)


def format_amount(value: float | None, *, decimals: int = 0) -> str:
    """Format an amount without its currency, such as ``1,234,567``."""
    if value is None or pd.isna(value):
        return "–"
    return _minus(f"{value:,.{decimals}f}")


def format_count(value: float | None) -> str:
    """Format a count or score as a whole number with thousands separators.

    Fractions are rounded, not cut, so a score of 99.8 reads 100 here as it
    does in the sentences that quote it.
    """
    if value is None or pd.isna(value):
        return "–"
    return _minus(f"{float(value):,.0f}")


def format_percent(value: float | None, *, decimals: int = 1) -> str:
    """Format a share between 0 and 1 as a percentage."""
    if value is None or pd.isna(value):
        return "–"
    return _minus(f"{100 * value:.{decimals}f}%")


def format_points(value: float | None, *, decimals: int = 1) -> str:
    """Format a difference of two shares (0 to 1) in percentage points.

    >>> format_points(0.455)
    '45.5 pp'
    """
    if value is None or pd.isna(value):
        return "–"
    return _minus(f"{100 * value:.{decimals}f} pp")


def format_change(value: float | None, *, decimals: int = 1) -> str:
    """Format a change with its sign, such as ``+2.7`` or ``−11.9``.

    A change that rounds to zero has no sign.
    """
    if value is None or pd.isna(value):
        return "–"
    text = f"{value:,.{decimals}f}"
    if text.lstrip("-").strip("0.,") == "":
        return text.lstrip("-")
    return f"+{text}" if value > 0 else _minus(text)


def format_flag(value: object) -> str:
    """Format a yes/no value as "yes" or "no".

    A missing value or blank text is "no", and other text, such as a flag
    already written as "yes", is shown as it is.
    """
    if isinstance(value, str):
        return value if value.strip() else "no"
    if value is None or pd.isna(value):
        return "no"
    return "yes" if value else "no"


def _minus(text: str) -> str:
    """Return ``text`` with a leading hyphen-minus replaced by the minus sign.

    A value that rounds to zero, such as ``-0.0%``, loses its sign.
    """
    if not text.startswith("-"):
        return text
    if not any(digit in text for digit in "123456789"):
        return text[1:]
    return MINUS + text[1:]


def headline_cards(
    headline: dict[str, Any], currency: str, as_of: dt.date | str | None = None
) -> list[dict[str, str]]:
    """Return label/value pairs of the headline figures, formatted for display.

    ``as_of`` is the report date, which names the month's bookings "month
    to date" before a month's last day.
    """
    statuses = headline.get("accounts_by_status", {})
    cards = [
        ("Customers", format_count(statuses.get("customer"))),
        ("Open pipeline", format_money(headline.get("open_pipeline"), currency)),
        (
            month_bookings_label(as_of),
            format_money(headline.get("bookings_month"), currency),
        ),
        (
            "Bookings year to date",
            format_money(headline.get("bookings_ytd"), currency),
        ),
        (revenue_12m_label(as_of), _revenue_text(headline, currency)),
    ]
    return [{"label": label, "value": value} for label, value in cards]


def revenue_12m_label(as_of: dt.date | str | None) -> str:
    """Return the name of the 12-month revenue figure, with its months on ``as_of``.

    The months are the 12 complete ones of :func:`acctlib.asof.revenue_window`,
    such as "Revenue, Jun 2025 to May 2026" as of 15 June 2026.
    """
    if isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of)
    if as_of is None:
        return "Revenue, last 12 complete months"
    first, last = revenue_window(as_of)
    return f"Revenue, {first:%b %Y} to {last:%b %Y}"


def _revenue_text(headline: dict, currency: str) -> str:
    """Return the 12-month revenue, or why the source gives none."""
    revenue = headline.get("revenue_12m")
    if revenue is not None and not pd.isna(revenue):
        return format_money(revenue, currency)
    return headline.get("revenue_12m_missing_reason") or "–"


def style_table(
    frame: pd.DataFrame,
    *,
    currency: str = "USD",
    money: Iterable[str] = (),
    counts: Iterable[str] = (),
    percents: Iterable[str] = (),
    points: Iterable[str] = (),
    changes: Iterable[str] = (),
    flags: Iterable[str] = (),
    dates: Iterable[str] = (),
    labels: Mapping[str, str] | None = None,
    caption: str | None = None,
    money_decimals: int = 0,
) -> Styler:
    """Return a Styler that shows ``frame`` with report formatting.

    Parameters
    ----------
    money, counts, percents, points, changes, flags, dates
        Columns formatted as amounts in ``currency``, whole numbers,
        percentages (values 0 to 1), differences of percentages in
        percentage points, signed changes (see :func:`format_change`),
        "yes"/"no" and calendar dates.
    labels
        Column renames for display, applied after formatting.
    money_decimals
        Decimals of the ``money`` columns, such as 2 from
        :func:`amount_decimals` for a table of small amounts.

    A table with ``COMPACT_NUMERIC_COLUMNS`` or more numeric columns is set
    compact: amounts lose the currency code, which the caption states.
    """
    money, counts, percents, points, changes = (
        [column for column in group if column in frame.columns]
        for group in (money, counts, percents, points, changes)
    )
    numeric = [*money, *counts, *percents, *points, *changes]
    compact = len(numeric) >= COMPACT_NUMERIC_COLUMNS
    formatters = {}
    for column in money:
        if compact:
            formatters[column] = functools.partial(
                format_amount, decimals=money_decimals
            )
        else:
            formatters[column] = functools.partial(
                format_money, currency=currency, decimals=money_decimals
            )
    for column in counts:
        formatters[column] = format_count
    for column in percents:
        formatters[column] = format_percent
    for column in points:
        formatters[column] = format_points
    for column in changes:
        formatters[column] = format_change
    for column in flags:
        formatters[column] = format_flag
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
    # format() shows na_rep for a missing value without calling the
    # formatter, so missing flags get their "no" from this call.
    flag_columns = [column for column in flags if column in frame.columns]
    if flag_columns:
        styler = styler.format(format_flag, subset=flag_columns, na_rep="no")
    styler = styler.format_index(escape="html", axis=1).hide(axis="index")
    if labels:
        styler = styler.relabel_index(
            [labels.get(column, column) for column in frame.columns], axis=1
        )
    if compact and money:
        currency_note = f"Amounts in {currency}."
        caption = f"{caption} {currency_note}" if caption else currency_note
    if frame.empty:
        caption = f"{NO_ROWS} {caption}" if caption else NO_ROWS
    if caption:
        styler = styler.set_caption(caption)
    if compact:
        styler = _set_compact(styler)
    text = [c for c in frame.columns if c not in numeric]
    # Amounts such as "USD 7,106,638" stay on one line.
    styler = styler.set_properties(
        subset=numeric, **{"text-align": "right", "white-space": "nowrap"}
    )
    styler = styler.set_properties(
        subset=[c for c in dates if c in frame.columns], **{"white-space": "nowrap"}
    )
    # Text wraps but keeps runs of spaces, so a stage or cell value with two
    # spaces reads as the input has it rather than as one space.
    styler = styler.set_properties(
        subset=text, **{"text-align": "left", "white-space": "pre-wrap"}
    )
    # Styler ids are random by default; a content hash keeps the HTML of two
    # builds of the same data identical.
    content = pd.util.hash_pandas_object(frame.astype("str"), index=False).sum()
    return styler.set_uuid(f"t{int(content) % 10**10}{len(frame.columns)}")


def _set_compact(styler: Styler) -> Styler:
    """Return ``styler`` with a smaller font, less padding and wrapping headers.

    The rules are scoped to the table's own id, so they outrank the page's
    table rules and travel with the table's HTML.
    """
    cells = {"padding": "0.3em 0.4em"}
    return styler.set_table_attributes('class="acctlib-compact"').set_table_styles(
        [
            {"selector": "", "props": [("font-size", "12px")]},
            {"selector": "td", "props": list(cells.items())},
            {
                "selector": "th",
                "props": [
                    *cells.items(),
                    ("white-space", "normal"),
                    ("vertical-align", "bottom"),
                ],
            },
        ],
        overwrite=False,
    )


def _format_decimal(value: float | None) -> str:
    if value is None or pd.isna(value):
        return "–"
    return _minus(f"{value:,.1f}")


def _format_date(value: object) -> str:
    if value is None or pd.isna(value):
        return "–"
    return pd.Timestamp(value).strftime("%Y-%m-%d")
