"""Parsing dates and timestamps as exports write them.

ISO 8601 (``2024-09-03``, ``2024-09-03T10:00:00Z``) always parses. Other
forms parse by declaration, through the ``date_format`` profile option:

- one strptime format or a list tried in order, such as ``%m/%d/%y`` or
  ``%m/%d/%y %I:%M %p``. Two-digit years (``%y``) follow Python's rule:
  00-68 are 2000-2068 and 69-99 are 1969-1999;
- ``excel``: spreadsheet serial day numbers (1900 date system, day 1 is
  1900-01-01, so serial 45292 is 2024-01-01);
- ``day-first`` or ``month-first`` for ``03/09/2024``-style dates.

Without a declaration, ``NN/NN/YYYY`` dates (``/``, ``-`` or ``.``) are read
day-first or month-first from the evidence in the column: a first number
above 12 proves day-first, a second number above 12 proves month-first.
Evidence for both, or only ambiguous values, raises
:class:`~acctlib.intake.money.ColumnFormatError` naming the rows. Serial
numbers and two-digit years are never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from acctlib.intake.money import ColumnFormatError

EXCEL = "excel"
DAY_FIRST = "day-first"
MONTH_FIRST = "month-first"
EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # serial 1 is 1900-01-01

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_NUMERIC_DATE = re.compile(
    r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$"
)
_SERIAL = re.compile(r"^\d{1,6}(?:\.\d+)?$")


def parse_datetimes(
    raw: pd.Series, date_format: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """Parse date or date-time text to naive or UTC timestamps.

    Parameters
    ----------
    raw
        Text cells.
    date_format
        None for ISO and evidence-based detection, or a declaration as the
        module describes.

    Returns
    -------
    pandas.DataFrame
        ``value`` (``datetime64[us, UTC]``; naive inputs are taken as UTC)
        and ``error`` (reason text, or None), on ``raw``'s index.

    Raises
    ------
    ColumnFormatError
        When undeclared ``NN/NN/YYYY`` dates are ambiguous or contradict
        each other.
    """
    text = raw.astype("str").str.strip()
    blank = raw.isna() | (text == "")
    values = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
    errors = pd.Series(None, index=raw.index, dtype="object")

    iso = ~blank & text.str.match(_ISO)
    values[iso] = _parse_iso(text[iso])
    rest = ~blank & ~iso
    formats = _declared_formats(date_format)
    if formats:
        for fmt in formats:
            todo = rest & values.isna()
            values[todo] = _parse_declared(text[todo], fmt)
    elif rest.any():
        values[rest] = _parse_detected(text[rest])

    failed = ~blank & values.isna()
    errors[failed] = text[failed].map(lambda cell: _date_error(cell, formats))
    return pd.DataFrame({"value": values, "error": errors}, index=raw.index)


def _declared_formats(date_format: str | Sequence[str] | None) -> list[str]:
    if date_format is None:
        return []
    if isinstance(date_format, str):
        return [date_format]
    return [str(item) for item in date_format]


def _parse_iso(text: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    return parsed.astype("datetime64[us, UTC]")


def _parse_declared(text: pd.Series, fmt: str) -> pd.Series:
    if fmt == EXCEL:
        serial = pd.to_numeric(text.where(text.str.match(_SERIAL)), errors="coerce")
        serial = serial.where((serial >= 1) & (serial < 2_958_466))  # year 9999
        stamps = EXCEL_EPOCH + pd.to_timedelta(serial, unit="D")
        return stamps.dt.round("s").dt.tz_localize("UTC").astype("datetime64[us, UTC]")
    if fmt in (DAY_FIRST, MONTH_FIRST):
        parts = text.str.extract(_NUMERIC_DATE)
        return _assemble(parts, day_first=fmt == DAY_FIRST)
    parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
    return parsed.astype("datetime64[us, UTC]")


def _parse_detected(text: pd.Series) -> pd.Series:
    parts = text.str.extract(_NUMERIC_DATE)
    four_digit = parts[3].str.len() == 4
    first = pd.to_numeric(parts[0], errors="coerce")
    second = pd.to_numeric(parts[2], errors="coerce")
    day_first = list(text.index[four_digit & (first > 12) & (second <= 12)])
    month_first = list(text.index[four_digit & (second > 12) & (first <= 12)])
    ambiguous = four_digit & (first <= 12) & (second <= 12) & (first != second)
    if day_first and month_first:
        raise ColumnFormatError(
            "dates are day-first on some rows and month-first on others; "
            "fix the rows or declare date_format under options (or "
            "column_options) in the source profile",
            {"day-first": day_first, "month-first": month_first},
        )
    if ambiguous.any() and not (day_first or month_first):
        raise ColumnFormatError(
            "dates such as "
            + ", ".join(repr(cell) for cell in text[ambiguous].unique()[:3])
            + " can be read day-first or month-first and no value decides; "
            "declare date_format (day-first, month-first or a strptime format) "
            "under options (or column_options) in the source profile",
            {"ambiguous": list(text.index[ambiguous])},
        )
    return _assemble(parts.where(four_digit), day_first=bool(day_first))


def _assemble(parts: pd.DataFrame, *, day_first: bool) -> pd.Series:
    """Build timestamps from the groups of the NN/NN/YYYY pattern."""
    day, month = (parts[0], parts[2]) if day_first else (parts[2], parts[0])
    year = parts[3].where(parts[3].str.len() == 4)
    hour = pd.to_numeric(parts[4], errors="coerce").fillna(0)
    meridiem = parts[7].str.lower()
    hour = hour.where(~meridiem.isin(["am", "pm"]), hour % 12)
    hour = hour.where(meridiem != "pm", hour + 12)
    frame = pd.DataFrame(
        {
            "year": pd.to_numeric(year, errors="coerce"),
            "month": pd.to_numeric(month, errors="coerce"),
            "day": pd.to_numeric(day, errors="coerce"),
            "hour": hour,
            "minute": pd.to_numeric(parts[5], errors="coerce").fillna(0),
            "second": pd.to_numeric(parts[6], errors="coerce").fillna(0),
        }
    )
    valid = frame[["year", "month", "day"]].notna().all(axis=1)
    stamps = pd.Series(pd.NaT, index=parts.index, dtype="datetime64[us, UTC]")
    if valid.any():
        parsed = pd.to_datetime(frame[valid], errors="coerce")
        stamps[valid] = parsed.dt.tz_localize("UTC").astype("datetime64[us, UTC]")
    return stamps


def _date_error(cell: str, formats: list[str]) -> str:
    if formats:
        return (
            f"invalid date {cell!r}; expected ISO 8601 (YYYY-MM-DD) or the "
            f"declared date_format {' or '.join(formats)}"
        )
    match = _NUMERIC_DATE.match(cell)
    if match and len(match.group(4)) == 2:
        return (
            f"date {cell!r} has a two-digit year; declare date_format in the "
            "source profile, for example %m/%d/%y"
        )
    if _SERIAL.match(cell):
        return (
            f"date {cell!r} looks like a spreadsheet serial number; declare "
            "date_format: excel"
        )
    return f"invalid date {cell!r}; expected ISO 8601 such as 2024-03-15"
