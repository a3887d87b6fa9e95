"""Column parsers for input files.

Each parser takes a column of raw text (as read with ``dtype=str``) and
keyword options from the source profile (``notation``, ``locale``,
``date_format``, ``id_format``, ``blank_is_false``, ``scale``,
``zero_is_missing``). Each parser ignores the options of the others and
returns the parsed values
together with a reason for every cell that could not be parsed. Empty
cells parse to a missing value, never to zero; whether a missing value is
allowed is the schema's decision, not the parser's.

A parser raises only :class:`~acctlib.intake.money.ColumnFormatError`
(when a column's values are ambiguous without a declared locale or date
format, or are amounts such as ``12.500`` that a decimal point would read
as a thousandth) and :class:`~acctlib.errors.ParameterError` or
:class:`~acctlib.errors.InputError` (for an unsupported option value).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from acctlib import schema
from acctlib.errors import ParameterError
from acctlib.intake.dates import parse_datetimes
from acctlib.intake.money import check_point_as_thousands, parse_money
from acctlib.intake.sfid import normalize_ids

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})
EXPORT_TRUE = frozenset({"1.0", "checked"})
EXPORT_FALSE = frozenset({"0.0", "unchecked"})

# Canonical files use ISO dates and plain decimals; exports (any profile
# read through a column map) use symbols, locales and other date forms.
CANONICAL = "canonical"
EXPORT = "export"
NOTATIONS = (CANONICAL, EXPORT)

TIMESTAMP_REASON = "invalid timestamp; expected ISO 8601 such as 2024-03-15T09:30:00Z"
"""Reason for an ISO 8601 timestamp cell that does not parse."""
IMPOSSIBLE_DAY = (
    "invalid {kind}; '{day}' is not a day of the calendar; correct the day or the month"
)
"""Reason for an ISO 8601 cell whose date does not exist, such as 2024-02-30."""


@dataclass(frozen=True)
class Parsed:
    """Parsed values and, aligned with them, the error of each failed cell."""

    values: pd.Series
    errors: pd.Series  # text reason, or missing where the cell parsed

    def __post_init__(self) -> None:
        object.__setattr__(self, "errors", self.errors.astype("object"))

    @property
    def failed(self) -> pd.Series:
        return self.errors.notna()


def _blank(raw: pd.Series) -> pd.Series:
    return raw.isna() | (raw.astype("str").str.strip() == "")


def _result(values: pd.Series, failed: pd.Series, reason: str) -> Parsed:
    errors = pd.Series(pd.NA, index=values.index, dtype="object")
    errors[failed] = reason
    return Parsed(values, errors)


def parse_id(raw: pd.Series, id_format: str | None = None, **_: object) -> Parsed:
    """Strip whitespace; IDs stay text and blanks become missing.

    ``id_format: salesforce`` also normalises 15- and 18-character
    Salesforce IDs to the 18-character form, and rejects other values.
    """
    if id_format == "salesforce":
        normalized = normalize_ids(raw)
        return Parsed(normalized["value"].astype("str"), normalized["error"])
    if id_format is not None:
        raise ParameterError(
            f"id_format {id_format!r} is not supported; use salesforce or leave it out"
        )
    if pd.api.types.is_float_dtype(raw):
        # Parquet stores a numeric ID column with blanks as float64; whole
        # values are written without ".0" so 9001.0 still matches "9001".
        whole = raw.notna() & (raw == raw.round())
        text = raw.astype("str").where(
            ~whole, raw.round().astype("Int64").astype("str")
        )
        raw = text.where(raw.notna())
    values = raw.astype("str").str.strip()
    values = values.where(~_blank(raw))
    return _result(values.astype("str"), pd.Series(False, index=raw.index), "")


def parse_text(raw: pd.Series, **_: object) -> Parsed:
    """Strip whitespace around text; blanks become missing."""
    return parse_id(raw)


def parse_timestamp(
    raw: pd.Series,
    date_format: str | list[str] | None = None,
    notation: str = CANONICAL,
    **_: object,
) -> Parsed:
    """Parse timestamps to UTC; naive values are taken as UTC.

    The canonical notation accepts ISO 8601 only. With ``notation:
    export`` or a ``date_format``, other forms follow the declaration or
    the evidence in the column, as :mod:`acctlib.intake.dates` describes.
    """
    if _is_canonical(notation) and date_format is None:
        return _parse_timestamp_iso(raw)
    if pd.api.types.is_datetime64_any_dtype(raw):
        return _parse_timestamp_iso(raw)
    parsed = parse_datetimes(raw, date_format)
    return Parsed(parsed["value"].astype(schema.TIMESTAMP), parsed["error"])


def parse_date(
    raw: pd.Series,
    date_format: str | list[str] | None = None,
    notation: str = CANONICAL,
    **_: object,
) -> Parsed:
    """Parse calendar dates; a time of day, if any, is dropped.

    Notation and ``date_format`` work as for :func:`parse_timestamp`;
    time-zone-aware values are converted to UTC before the time is dropped.
    """
    if (_is_canonical(notation) and date_format is None) or (
        pd.api.types.is_datetime64_any_dtype(raw)
    ):
        return _parse_date_iso(raw)
    parsed = parse_datetimes(raw, date_format)
    values = parsed["value"].dt.tz_localize(None).dt.normalize()
    return Parsed(values.astype(schema.DATE), parsed["error"])


def parse_number(
    raw: pd.Series,
    locale: str | None = None,
    scale: float = 1.0,
    zero_is_missing: bool = False,
    notation: str = CANONICAL,
    **_: object,
) -> Parsed:
    """Parse numbers: plain decimals, or as exports write them.

    The canonical notation accepts plain decimals such as ``1234.5``. With
    ``notation: export`` or a ``locale``, :func:`acctlib.intake.money.parse_money`
    reads symbols, separators and parentheses. ``scale`` multiplies every
    value (0.01 turns a percent into a share); ``zero_is_missing`` reads 0
    as "not stated", as some exports write it.
    """
    if (_is_canonical(notation) and locale is None) or (
        pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw)
    ):
        parsed = _parse_plain_number(raw)
    else:
        money = parse_money(raw, locale)
        parsed = Parsed(money["value"].astype("float64"), money["error"])
    if scale == 1.0 and not zero_is_missing:
        return parsed
    values = parsed.values * float(scale)
    if zero_is_missing:
        values = values.where(values != 0)
    return Parsed(values, parsed.errors)


def parse_amount(raw: pd.Series, **options: object) -> Parsed:
    """Parse amounts; in the export notation with symbols and separators.

    See :func:`acctlib.intake.money.parse_money`: ``($1,200.00)`` is
    -1200.00, ``$-`` is 0.00 and a blank cell is missing, never zero.
    A text column read with a decimal point whose amounts look like
    ``12.500`` raises, see :func:`acctlib.intake.money.check_point_as_thousands`,
    unless ``currencies`` (each row's currency code) or the cell names a
    currency with three decimals.
    """
    if not pd.api.types.is_numeric_dtype(raw):
        check_point_as_thousands(raw, options.get("locale"), options.get("currencies"))
    parsed = parse_number(raw, **options)
    if _is_canonical(options.get("notation", CANONICAL)) and not options.get("locale"):
        # pandas also reads exponents such as 1e308, which no amount written
        # as a plain decimal has.
        exponent = pd.Series(False, index=raw.index)
        if not pd.api.types.is_numeric_dtype(raw):
            exponent = raw.astype("str").str.contains("e", case=False, regex=False)
            exponent &= ~_blank(raw)
        failed = parsed.failed | exponent
        return _result(
            parsed.values.where(~failed),
            failed,
            "invalid amount; expected a plain decimal such as 1234.50 or 0.25",
        )
    return parsed


def parse_integer(raw: pd.Series, **options: object) -> Parsed:
    """Parse whole numbers; ``12.0`` is accepted, ``12.5`` is not."""
    parsed = parse_number(raw, **options)
    values = parsed.values
    fractional = values.notna() & ((values != values.round()) | (values.abs() >= 2**63))
    failed = parsed.failed | fractional
    integers = values.where(~failed).round().astype("Int64")
    errors = pd.Series(pd.NA, index=values.index, dtype="object")
    errors[failed] = [
        f"invalid whole number {cell!r}; expected digits such as 12 or 1200"
        for cell in raw[failed]
    ]
    return Parsed(integers, errors)


def parse_boolean(
    raw: pd.Series,
    blank_is_false: bool = False,
    notation: str = CANONICAL,
    **_: object,
) -> Parsed:
    """Parse true/false, yes/no, t/f, y/n and 1/0 in any case.

    The export notation also accepts ``1.0``/``0.0`` and
    ``checked``/``unchecked``. A blank cell is missing, or False with
    ``blank_is_false`` (for columns written as 1 or blank).
    """
    if pd.api.types.is_bool_dtype(raw):
        return _result(raw.astype("boolean"), raw.isna() & False, "")
    true_words, false_words = TRUE_WORDS, FALSE_WORDS
    if not _is_canonical(notation):
        true_words, false_words = true_words | EXPORT_TRUE, false_words | EXPORT_FALSE
    blank = _blank(raw)
    text = raw.astype("str").str.strip().str.lower()
    values = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    values[text.isin(true_words)] = True
    values[text.isin(false_words)] = False
    if blank_is_false:
        values[blank] = False
    failed = values.isna() & ~blank
    return _result(
        values, failed, "invalid boolean; expected true/false, yes/no or 1/0"
    )


def _is_canonical(notation: object) -> bool:
    if notation not in NOTATIONS:
        raise ParameterError(
            f"notation {notation!r} is not supported; use {' or '.join(NOTATIONS)}"
        )
    return notation == CANONICAL


def _parse_timestamp_iso(raw: pd.Series) -> Parsed:
    """Parse ISO 8601 timestamps or dates to UTC; naive values are taken as UTC."""
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        return _result(
            raw.dt.tz_convert("UTC").astype(schema.TIMESTAMP), raw.isna() & False, ""
        )
    if pd.api.types.is_datetime64_dtype(raw):
        return _result(
            raw.dt.tz_localize("UTC").astype(schema.TIMESTAMP), raw.isna() & False, ""
        )
    blank = _blank(raw)
    text = raw.astype("str").str.strip()
    text = text.where(~_clock_words(text))
    values = pd.to_datetime(
        text.where(~blank), utc=True, errors="coerce", format="ISO8601"
    )
    failed = values.isna() & ~blank
    parsed = _result(values.astype(schema.TIMESTAMP), failed, TIMESTAMP_REASON)
    return _name_impossible_dates(parsed, text, "timestamp")


def _parse_date_iso(raw: pd.Series) -> Parsed:
    """Parse ISO dates (``YYYY-MM-DD``); a time of day, if any, is dropped."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        values = (
            raw.dt.tz_localize(None)
            if isinstance(raw.dtype, pd.DatetimeTZDtype)
            else raw
        )
        return _result(
            values.dt.normalize().astype(schema.DATE), raw.isna() & False, ""
        )
    blank = _blank(raw)
    cells = raw.astype("str").str.strip()
    text = cells.where(~_clock_words(cells))
    # utc=True accepts a column that mixes offsets (or naive and Z values);
    # every value is read in UTC before its time of day is dropped.
    values = pd.to_datetime(
        text.where(~blank), utc=True, errors="coerce", format="ISO8601"
    )
    values = values.dt.tz_localize(None)
    failed = values.isna() & ~blank
    parsed = _result(values.dt.normalize().astype(schema.DATE), failed, "")
    # The value is quoted, as in the other parsers' reasons, so that the
    # data-quality summary counts these reasons together.
    quoted = cells[failed].map(repr)
    parsed.errors[failed] = "invalid date " + quoted + "; expected YYYY-MM-DD"
    return _name_impossible_dates(parsed, text, "date")


def _name_impossible_dates(parsed: Parsed, text: pd.Series, kind: str) -> Parsed:
    """Give :data:`IMPOSSIBLE_DAY` to failed ISO 8601 cells that name no real day.

    For example 2024-02-30, or a month 13: the format is right, so the
    general reason would send the reader looking for a format error. The
    date is quoted, so that the data-quality summary counts such reasons
    together.
    """
    parts = text[parsed.failed].str.extract(r"^(\d{4})-(\d{2})-(\d{2})(?:$|[T ])")
    parts = parts.dropna().astype("int64")
    for row, (year, month, day) in zip(parts.index, parts.to_numpy(), strict=True):
        # The calendar module has no year 0, which no export uses anyway.
        real_month = year >= 1 and 1 <= month <= 12
        if real_month and 1 <= day <= calendar.monthrange(year, month)[1]:
            continue
        day_text = f"{year:04d}-{month:02d}-{day:02d}"
        parsed.errors[row] = IMPOSSIBLE_DAY.format(kind=kind, day=day_text)
    return parsed


def _clock_words(text: pd.Series) -> pd.Series:
    """Flag "now" and "today", which pandas reads as the current time."""
    return text.str.lower().isin(["now", "today"])


def _parse_plain_number(raw: pd.Series) -> Parsed:
    """Parse plain decimal numbers such as ``1234.5`` or ``-3``."""
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        values = raw.astype("float64")
        infinite = pd.Series(np.isinf(values.fillna(0)), index=raw.index)
        return _result(
            values.where(~infinite),
            infinite,
            "invalid number; expected a plain decimal such as 1234.50 or 0.25",
        )
    blank = _blank(raw)
    values = pd.to_numeric(raw.astype("str").str.strip().where(~blank), errors="coerce")
    values = values.astype("float64")
    failed = (values.isna() & ~blank) | np.isinf(values.fillna(0))
    return _result(
        values.where(~failed),
        failed,
        "invalid number; expected a plain decimal such as 1234.50 or 0.25",
    )


# Keyword options that the parsers read, from a profile's ``options``, a
# table's ``options`` or ``column_options`` of one column.
OPTION_KEYS = frozenset(
    {
        "notation",
        "locale",
        "date_format",
        "id_format",
        "blank_is_false",
        "scale",
        "zero_is_missing",
    }
)

PARSERS: dict[str, Callable[..., Parsed]] = {
    "id": parse_id,
    "text": parse_text,
    "timestamp": parse_timestamp,
    "date": parse_date,
    "amount": parse_amount,
    "number": parse_number,
    "integer": parse_integer,
    "boolean": parse_boolean,
}
