"""Column parsers for input files.

Each parser takes a column of raw text (as read with ``dtype=str``) and
returns the parsed values together with a reason for every cell that could
not be parsed. Empty cells parse to a missing value, never to zero; whether
a missing value is allowed is the schema's decision, not the parser's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from acctlib import schema

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})


@dataclass(frozen=True)
class Parsed:
    """Parsed values and, aligned with them, the error of each failed cell."""

    values: pd.Series
    errors: pd.Series  # text reason, or missing where the cell parsed

    @property
    def failed(self) -> pd.Series:
        return self.errors.notna()


def _blank(raw: pd.Series) -> pd.Series:
    return raw.isna() | (raw.astype("str").str.strip() == "")


def _result(values: pd.Series, failed: pd.Series, reason: str) -> Parsed:
    errors = pd.Series(pd.NA, index=values.index, dtype="object")
    errors[failed] = reason
    return Parsed(values, errors)


def parse_id(raw: pd.Series) -> Parsed:
    """Strip whitespace; IDs stay text and blanks become missing."""
    values = raw.astype("str").str.strip()
    values = values.where(~_blank(raw))
    return _result(values.astype("str"), pd.Series(False, index=raw.index), "")


def parse_text(raw: pd.Series) -> Parsed:
    """Strip whitespace around text; blanks become missing."""
    return parse_id(raw)


def parse_timestamp(raw: pd.Series) -> Parsed:
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
    values = pd.to_datetime(
        text.where(~blank), utc=True, errors="coerce", format="ISO8601"
    )
    failed = values.isna() & ~blank
    return _result(
        values.astype(schema.TIMESTAMP),
        failed,
        "invalid timestamp; expected ISO 8601 such as 2024-03-15T09:30:00Z",
    )


def parse_date(raw: pd.Series) -> Parsed:
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
    text = raw.astype("str").str.strip()
    values = pd.to_datetime(text.where(~blank), errors="coerce", format="ISO8601")
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    failed = values.isna() & ~blank
    return _result(
        values.dt.normalize().astype(schema.DATE),
        failed,
        "invalid date; expected YYYY-MM-DD",
    )


def parse_number(raw: pd.Series) -> Parsed:
    """Parse plain decimal numbers such as ``1234.5`` or ``-3``."""
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return _result(raw.astype("float64"), raw.isna() & False, "")
    blank = _blank(raw)
    values = pd.to_numeric(raw.astype("str").str.strip().where(~blank), errors="coerce")
    values = values.astype("float64")
    failed = (values.isna() & ~blank) | np.isinf(values.fillna(0))
    return _result(
        values.where(~failed),
        failed,
        "invalid number; expected a plain decimal such as 1234.50",
    )


def parse_amount(raw: pd.Series) -> Parsed:
    """Parse amounts written as plain decimals, without currency symbols."""
    parsed = parse_number(raw)
    return _result(
        parsed.values,
        parsed.failed,
        "invalid amount; expected a plain decimal such as 1234.50",
    )


def parse_integer(raw: pd.Series) -> Parsed:
    """Parse whole numbers; ``12.0`` is accepted, ``12.5`` is not."""
    parsed = parse_number(raw)
    values = parsed.values
    fractional = values.notna() & (values != values.round())
    failed = parsed.failed | fractional
    integers = values.where(~failed).round().astype("Int64")
    return _result(integers, failed, "invalid whole number")


def parse_boolean(raw: pd.Series) -> Parsed:
    """Parse true/false, yes/no, t/f, y/n and 1/0 in any case; blank is missing."""
    if pd.api.types.is_bool_dtype(raw):
        return _result(raw.astype("boolean"), raw.isna() & False, "")
    blank = _blank(raw)
    text = raw.astype("str").str.strip().str.lower()
    values = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    values[text.isin(TRUE_WORDS)] = True
    values[text.isin(FALSE_WORDS)] = False
    failed = values.isna() & ~blank
    return _result(
        values, failed, "invalid boolean; expected true/false, yes/no or 1/0"
    )


PARSERS: dict[str, Callable[[pd.Series], Parsed]] = {
    "id": parse_id,
    "text": parse_text,
    "timestamp": parse_timestamp,
    "date": parse_date,
    "amount": parse_amount,
    "number": parse_number,
    "integer": parse_integer,
    "boolean": parse_boolean,
}
