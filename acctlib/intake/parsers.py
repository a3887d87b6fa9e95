"""Column parsers for input files.

Each parser takes a column of raw text (as read with ``dtype=str``) and
keyword options from the source profile (``locale``, ``date_format``,
``id_format``, ``blank_is_false``, ``scale``, ``zero_is_missing``; each
parser ignores the options of the others), and returns the parsed values
together with a reason for every cell that could not be parsed. Empty
cells parse to a missing value, never to zero; whether a missing value is
allowed is the schema's decision, not the parser's.

A parser raises only :class:`~acctlib.intake.money.ColumnFormatError`
(when a column's values are ambiguous without a declared locale or date
format) and :class:`~acctlib.errors.ParameterError` or
:class:`~acctlib.errors.InputError` (for an unsupported option value).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from acctlib import schema
from acctlib.errors import ParameterError
from acctlib.intake.dates import parse_datetimes
from acctlib.intake.money import parse_money
from acctlib.intake.sfid import normalize_ids

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "1.0", "checked", "x"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "0.0", "unchecked"})


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
    values = raw.astype("str").str.strip()
    values = values.where(~_blank(raw))
    return _result(values.astype("str"), pd.Series(False, index=raw.index), "")


def parse_text(raw: pd.Series, **_: object) -> Parsed:
    """Strip whitespace around text; blanks become missing."""
    return parse_id(raw)


def parse_timestamp(
    raw: pd.Series, date_format: str | list[str] | None = None, **_: object
) -> Parsed:
    """Parse timestamps to UTC; naive values are taken as UTC.

    ISO 8601 always parses; other forms follow ``date_format`` or the
    evidence in the column, as :mod:`acctlib.intake.dates` describes.
    """
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        return _result(
            raw.dt.tz_convert("UTC").astype(schema.TIMESTAMP), raw.isna() & False, ""
        )
    if pd.api.types.is_datetime64_dtype(raw):
        return _result(
            raw.dt.tz_localize("UTC").astype(schema.TIMESTAMP), raw.isna() & False, ""
        )
    parsed = parse_datetimes(raw, date_format)
    return Parsed(parsed["value"].astype(schema.TIMESTAMP), parsed["error"])


def parse_date(
    raw: pd.Series, date_format: str | list[str] | None = None, **_: object
) -> Parsed:
    """Parse calendar dates; a time of day, if any, is dropped.

    Time-zone-aware values are converted to UTC before the time is dropped.
    """
    if pd.api.types.is_datetime64_any_dtype(raw):
        values = (
            raw.dt.tz_convert("UTC").dt.tz_localize(None)
            if isinstance(raw.dtype, pd.DatetimeTZDtype)
            else raw
        )
        return _result(
            values.dt.normalize().astype(schema.DATE), raw.isna() & False, ""
        )
    parsed = parse_datetimes(raw, date_format)
    values = parsed["value"].dt.tz_localize(None).dt.normalize()
    return Parsed(values.astype(schema.DATE), parsed["error"])


def parse_number(
    raw: pd.Series,
    locale: str | None = None,
    scale: float = 1.0,
    zero_is_missing: bool = False,
    **_: object,
) -> Parsed:
    """Parse numbers such as ``1234.5``, ``-3`` or, in a locale, ``1.234,5``.

    ``scale`` multiplies every value (0.01 turns a percent into a share);
    ``zero_is_missing`` reads 0 as "not stated", as some exports write it.
    """
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        values = raw.astype("float64")
        failed = np.isinf(values.fillna(0))
        parsed = _result(values.where(~failed), failed, "invalid number; not finite")
    else:
        money = parse_money(raw, locale)
        parsed = Parsed(money["value"].astype("float64"), money["error"])
    values = parsed.values * float(scale)
    if zero_is_missing:
        values = values.where(values != 0)
    return Parsed(values, parsed.errors)


def parse_amount(
    raw: pd.Series, locale: str | None = None, **options: object
) -> Parsed:
    """Parse amounts with currency symbols, separators and parentheses.

    See :func:`acctlib.intake.money.parse_money`: ``($1,200.00)`` is
    -1200.00, ``$-`` is 0.00 and a blank cell is missing, never zero.
    """
    return parse_number(raw, locale, **options)


def parse_integer(
    raw: pd.Series, locale: str | None = None, **options: object
) -> Parsed:
    """Parse whole numbers; ``12.0`` is accepted, ``12.5`` is not."""
    parsed = parse_number(raw, locale, **options)
    values = parsed.values
    fractional = values.notna() & (values != values.round())
    too_large = values.abs() >= 2**63
    errors = parsed.errors.copy()
    errors[(fractional | too_large) & errors.isna()] = "invalid whole number"
    integers = values.where(errors.isna()).round().astype("Int64")
    return Parsed(integers, errors)


def parse_boolean(raw: pd.Series, blank_is_false: bool = False, **_: object) -> Parsed:
    """Parse TRUE/FALSE, yes/no, t/f, y/n, 1/0 and checked/unchecked in any case.

    A blank cell is missing, or False with ``blank_is_false`` (for columns
    written as 1 or blank).
    """
    if pd.api.types.is_bool_dtype(raw):
        return _result(raw.astype("boolean"), raw.isna() & False, "")
    blank = _blank(raw)
    text = raw.astype("str").str.strip().str.lower()
    values = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    values[text.isin(TRUE_WORDS)] = True
    values[text.isin(FALSE_WORDS)] = False
    if blank_is_false:
        values[blank] = False
    failed = values.isna() & ~blank
    return _result(
        values, failed, "invalid boolean; expected true/false, yes/no or 1/0"
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
