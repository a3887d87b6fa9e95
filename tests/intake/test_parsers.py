"""Tests for the column parsers in acctlib.intake.parsers.

The tables feed one cell at a time as text, the way ``read_text_frame``
reads CSV files. A few tests feed typed columns, the way Parquet files
arrive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from acctlib import schema
from acctlib.intake.money import ColumnFormatError
from acctlib.intake.parsers import (
    PARSERS,
    parse_amount,
    parse_boolean,
    parse_date,
    parse_id,
    parse_integer,
    parse_number,
    parse_text,
    parse_timestamp,
)

TIMESTAMP_REASON = "invalid timestamp; expected ISO 8601 such as 2024-03-15T09:30:00Z"
DATE_REASON = "invalid date {cell!r}; expected YYYY-MM-DD"
NUMBER_REASON = "invalid number; expected a plain decimal such as 1234.50 or 0.25"
AMOUNT_REASON = "invalid amount; expected a plain decimal such as 1234.50 or 0.25"
INTEGER_REASON = "invalid whole number {!r}; expected digits such as 12 or 1200"
BOOLEAN_REASON = "invalid boolean; expected true/false, yes/no or 1/0"


def text_column(*cells: object) -> pd.Series:
    return pd.Series(cells, dtype="str")


def parse_one(parser, cell: str):
    """Return the parsed value and error reason of a single text cell.

    A missing reason comes back as None, so ``error == REASON`` fails with
    an AssertionError instead of pandas' ambiguous-NA TypeError.
    """
    result = parser(text_column(cell))
    error = result.errors.iloc[0]
    return result.values.iloc[0], None if pd.isna(error) else error


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("A1", "A1"),
        ("00123", "00123"),
        ("9001", "9001"),
        ("  7 ", "7"),
        ("0012-AB", "0012-AB"),
    ],
)
def test_parse_id_keeps_text(cell, expected):
    value, error = parse_one(parse_id, cell)

    assert value == expected
    assert error is None


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (" Acme GmbH ", "Acme GmbH"),
        ("Société Générale", "Société Générale"),
        ("=1+1", "=1+1"),
        ("0", "0"),
    ],
)
def test_parse_text_strips_whitespace(cell, expected):
    value, error = parse_one(parse_text, cell)

    assert value == expected
    assert error is None


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2024-03-15T09:30:00Z", utc("2024-03-15T09:30:00")),
        ("2024-03-15T09:30:00+02:00", utc("2024-03-15T07:30:00")),
        ("2024-03-15T09:30:00-05:00", utc("2024-03-15T14:30:00")),
        ("2024-03-15 09:30:00", utc("2024-03-15T09:30:00")),
        ("2024-03-15T09:30:00.123456Z", utc("2024-03-15T09:30:00.123456")),
        ("2024-03-15", utc("2024-03-15T00:00:00")),
        (" 2024-03-15T09:30:00Z ", utc("2024-03-15T09:30:00")),
    ],
)
def test_parse_timestamp_valid(cell, expected):
    value, error = parse_one(parse_timestamp, cell)

    assert value == expected
    assert error is None


@pytest.mark.parametrize(
    "cell",
    [
        "15/03/2024",
        "03/15/2024 09:30",
        "2024-03-15T25:00:00",
        "March 15, 2024",
        "yesterday",
        "nan",
        "NaT",
        pytest.param("now"),
        pytest.param("today"),
    ],
)
def test_parse_timestamp_invalid(cell):
    value, error = parse_one(parse_timestamp, cell)

    assert pd.isna(value)
    assert error == TIMESTAMP_REASON


def test_parse_timestamp_mixed_offsets():
    result = parse_timestamp(
        text_column("2024-03-15T09:30:00+01:00", "2024-03-15T09:30:00+02:00", "")
    )

    assert result.values.tolist()[:2] == [
        utc("2024-03-15T08:30:00"),
        utc("2024-03-15T07:30:00"),
    ]
    assert pd.isna(result.values.iloc[2])
    assert result.errors.isna().all()


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2024-03-15", pd.Timestamp("2024-03-15")),
        ("2024-02-29", pd.Timestamp("2024-02-29")),
        ("2024-03-15T10:45:00", pd.Timestamp("2024-03-15")),
        (" 2024-12-31 ", pd.Timestamp("2024-12-31")),
    ],
)
def test_parse_date_valid(cell, expected):
    value, error = parse_one(parse_date, cell)

    assert value == expected
    assert error is None


@pytest.mark.parametrize(
    "cell",
    [
        "15/03/2024",
        "March 2024",
        "nan",
        pytest.param("now"),
        pytest.param("today"),
    ],
)
def test_parse_date_invalid(cell):
    value, error = parse_one(parse_date, cell)

    assert pd.isna(value)
    assert error == DATE_REASON.format(cell=cell)


@pytest.mark.parametrize(
    ("parser", "kind"), [(parse_timestamp, "timestamp"), (parse_date, "date")]
)
@pytest.mark.parametrize(
    ("cell", "day"),
    [
        ("2024-02-30", "2024-02-30"),
        ("2023-02-29T10:00:00Z", "2023-02-29"),
        ("2024-13-01", "2024-13-01"),
        (" 2024-04-31 09:00 ", "2024-04-31"),
    ],
)
def test_parse_names_day_not_in_calendar(parser, kind, cell, day):
    value, error = parse_one(parser, cell)

    assert pd.isna(value)
    assert error == (
        f"invalid {kind}; '{day}' is not a day of the calendar; correct the day "
        "or the month"
    )


@pytest.mark.parametrize(
    "cells",
    [
        pytest.param(
            ("2024-03-15T09:30:00+01:00", "2024-03-15T09:30:00+02:00"),
            id="two-offsets",
        ),
        pytest.param(
            ("2024-03-15", "2024-03-15T09:30:00Z"),
            id="naive-and-utc",
        ),
    ],
)
def test_parse_date_mixed_offsets(cells):
    result = parse_date(text_column(*cells))

    assert result.values.tolist() == [pd.Timestamp("2024-03-15")] * 2
    assert result.errors.isna().all()


NUMBER_CASES = [
    ("1234.50", 1234.5),
    ("-3", -3.0),
    ("+5", 5.0),
    ("0", 0.0),
    ("0.001", 0.001),
    (" 12 ", 12.0),
]
BAD_NUMBER_CELLS = ["1,000", "$100", "12 EUR", "abc", "inf", "-inf", "nan", "1e999"]


@pytest.mark.parametrize(("cell", "expected"), NUMBER_CASES)
@pytest.mark.parametrize("parser", [parse_number, parse_amount])
def test_parse_number_valid(parser, cell, expected):
    value, error = parse_one(parser, cell)

    assert value == expected
    assert error is None


@pytest.mark.parametrize("cell", BAD_NUMBER_CELLS)
@pytest.mark.parametrize(
    ("parser", "reason"),
    [(parse_number, NUMBER_REASON), (parse_amount, AMOUNT_REASON)],
)
def test_parse_number_invalid(parser, reason, cell):
    value, error = parse_one(parser, cell)

    assert pd.isna(value)
    assert error == reason


@pytest.mark.parametrize("cell", ["1e308", "2.5E3", "1e-5"])
def test_parse_amount_rejects_exponent(cell):
    value, error = parse_one(parse_amount, cell)

    assert pd.isna(value)
    assert error == AMOUNT_REASON


@pytest.mark.parametrize(
    "options",
    [{}, {"notation": "export"}, {"notation": "export", "locale": "en-US"}],
    ids=["plain", "export", "en-US"],
)
def test_parse_amount_point_thousands_raises(options):
    """Amounts such as 12.500 beside plain integers stop a point reading."""
    cells = text_column("12.500", "40.000", "", "950", "15.000", "7.250")

    with pytest.raises(ColumnFormatError, match="exactly three digits") as error:
        parse_amount(cells, **options)

    message = str(error.value)
    assert "'12.500', '40.000', '15.000'" in message
    assert "12.500 would be 12.5, not 12500" in message
    assert "locale: de-DE" in message
    assert error.value.evidence == {"three digits after the point": [0, 1, 4, 5]}


@pytest.mark.parametrize(
    ("cells", "options"),
    [
        (["12.500", "40.000"], {}),
        (["12.500", "40.000", "15.000", "8.25"], {}),
        (["12.500", "40.000", "15.000", "1,200.00"], {"locale": "en-US"}),
        (["1250.500", "4000.000", "1500.000"], {}),
        (["12.500", "40.000", "15.000"], {"locale": "de-DE"}),
    ],
    ids=["two-cells", "two-decimals", "grouped-comma", "long-whole", "de-DE"],
)
def test_parse_amount_point_decimals_pass(cells, options):
    """A point shown to be decimal, or too few cells, reads as decimals."""
    parsed = parse_amount(text_column(*cells), **options)

    assert not parsed.failed.any()


@pytest.mark.parametrize(
    ("cells", "currencies"),
    [
        (["KWD 12.500", "KWD 40.000", "950", "KWD 15.000"], None),
        (["12.500", "40.000", "950", "15.000"], ["KWD", "BHD", "USD", "OMR"]),
        (["12.500", "40.000", "950", "15.000"], ["kwd ", "KWD", None, "KWD"]),
    ],
    ids=["marked", "row-currency", "lower-case"],
)
def test_parse_amount_three_decimal_currency_reads_decimals(cells, currencies):
    """Dinars are written with three decimals, so 12.500 KWD is 12.5."""
    rows = None if currencies is None else pd.Series(currencies, dtype="object")

    parsed = parse_amount(text_column(*cells), notation="export", currencies=rows)

    assert not parsed.failed.any()
    assert list(parsed.values) == [12.5, 40.0, 950.0, 15.0]


def test_parse_amount_point_thousands_other_rows_still_stop():
    """Three-decimal rows do not hide grouped amounts in another currency."""
    cells = text_column("12.500", "40.000", "950", "15.000", "7.250")
    currencies = pd.Series(["KWD", "EUR", "EUR", "EUR", "EUR"], dtype="object")

    with pytest.raises(ColumnFormatError, match="exactly three digits") as error:
        parse_amount(cells, currencies=currencies)

    assert error.value.evidence == {"three digits after the point": [1, 3, 4]}
    assert "KWD 12.500" in str(error.value)


def test_parse_amount_de_de_reads_thousands():
    parsed = parse_amount(text_column("12.500", "40.000", "15.000"), locale="de-DE")

    assert list(parsed.values) == [12500.0, 40000.0, 15000.0]


def test_parse_number_reads_exponent():
    assert parse_one(parse_number, "1e-5") == (1e-5, None)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("12", 12), ("12.0", 12), ("0", 0), ("-0", 0), ("-7", -7), (" 250 ", 250)],
)
def test_parse_integer_valid(cell, expected):
    value, error = parse_one(parse_integer, cell)

    assert value == expected
    assert error is None


@pytest.mark.parametrize(
    "cell",
    [
        "12.5",
        "0.1",
        "abc",
        "1,000",
        "inf",
        "1e20",
        "9223372036854775808",
    ],
)
def test_parse_integer_invalid(cell):
    value, error = parse_one(parse_integer, cell)

    assert pd.isna(value)
    assert error == INTEGER_REASON.format(cell)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("t", True),
        ("Yes", True),
        ("y", True),
        ("1", True),
        (" true ", True),
        ("false", False),
        ("F", False),
        ("no", False),
        ("N", False),
        ("0", False),
    ],
)
def test_parse_boolean_valid(cell, expected):
    value, error = parse_one(parse_boolean, cell)

    assert value == expected
    assert error is None


@pytest.mark.parametrize("cell", ["maybe", "2", "on", "off", "1.0", "nan", "-"])
def test_parse_boolean_invalid(cell):
    value, error = parse_one(parse_boolean, cell)

    assert pd.isna(value)
    assert error == BOOLEAN_REASON


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_blank_cells_parse_to_missing(kind):
    result = PARSERS[kind](pd.Series(["", "   ", None, "\t"], dtype="str"))

    assert result.values.isna().all()
    assert result.errors.isna().all()
    assert not result.failed.any()


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_parser_returns_schema_dtype(kind):
    result = PARSERS[kind](text_column(""))

    assert result.values.dtype == pd.Series(dtype=schema.pandas_dtype(kind)).dtype


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_parser_keeps_index(kind):
    raw = pd.Series(["1", "x"], index=[10, 20], dtype="str")

    result = PARSERS[kind](raw)

    assert result.values.index.tolist() == [10, 20]
    assert result.errors.index.tolist() == [10, 20]


# Parquet columns keep their types, and the parsers accept them as they are.
TYPED_CASES = [
    pytest.param(
        parse_id,
        pd.Series([9001, 12]),
        ["9001", "12"],
        id="id-from-int64",
    ),
    pytest.param(
        parse_id,
        pd.Series([9001, None], dtype="Int64"),
        ["9001", None],
        id="id-from-nullable-int",
    ),
    pytest.param(
        parse_id,
        pd.Series([9001.0, np.nan]),
        ["9001", None],
        id="id-from-float64",
    ),
    pytest.param(
        parse_number,
        pd.Series([1, None], dtype="Int64"),
        [1.0, None],
        id="number-from-nullable-int",
    ),
    pytest.param(
        parse_integer,
        pd.Series([3.0, np.nan]),
        [3, None],
        id="integer-from-float64",
    ),
    pytest.param(
        parse_boolean,
        pd.Series([True, False]),
        [True, False],
        id="boolean-from-bool",
    ),
    pytest.param(
        parse_boolean,
        pd.Series([True, None], dtype="boolean"),
        [True, None],
        id="boolean-from-nullable-boolean",
    ),
    pytest.param(
        parse_timestamp,
        pd.Series(pd.to_datetime(["2024-03-15T09:30:00", None])),
        [utc("2024-03-15T09:30:00"), None],
        id="timestamp-from-naive",
    ),
    pytest.param(
        parse_timestamp,
        pd.Series(pd.to_datetime(["2024-03-15T09:30:00+02:00"], utc=True)),
        [utc("2024-03-15T07:30:00")],
        id="timestamp-from-utc",
    ),
    pytest.param(
        parse_date,
        pd.Series(pd.to_datetime(["2024-03-15T10:45:00", None])),
        [pd.Timestamp("2024-03-15"), None],
        id="date-from-naive-datetime",
    ),
]


@pytest.mark.parametrize(("parser", "raw", "expected"), TYPED_CASES)
def test_parser_accepts_typed_column(parser, raw, expected):
    result = parser(raw)

    values = [None if pd.isna(value) else value for value in result.values]
    assert values == expected
    assert result.errors.isna().all()


def test_parse_number_rejects_typed_infinity():
    result = parse_number(pd.Series([1.0, np.inf]))

    assert result.failed.tolist() == [False, True]
    assert result.errors.iloc[1] == NUMBER_REASON
    assert pd.isna(result.values.iloc[1])


def test_parse_integer_rejects_typed_fraction():
    result = parse_integer(pd.Series([1.5, 2.0]))

    assert result.failed.tolist() == [True, False]
    assert result.errors.iloc[0] == INTEGER_REASON.format(1.5)
    assert result.values.iloc[1] == 2


# Random cells mixed with cells shaped like numbers and ISO dates, which
# reach the parsers' edge cases more often than arbitrary text does.
NUMBER_LIKE = st.from_regex(
    r"\A[ +\-]?[0-9]{1,22}(\.[0-9]{0,4})?([eE][+\-]?[0-9]{1,3})?\Z"
)
DATE_LIKE = st.from_regex(
    r"\A[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+\-][0-9]{2}:[0-9]{2})?)?\Z"
)
CELLS = st.lists(
    st.one_of(st.none(), st.text(max_size=20), NUMBER_LIKE, DATE_LIKE),
    max_size=6,
)


# The explicit examples reproduce the known crash of parse_date, so the
# property fails for it on every run, not only when the search finds it.
PROPERTY_XFAILS = {}


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param(kind, marks=PROPERTY_XFAILS.get(kind, ()))
        for kind in sorted(PARSERS)
    ],
)
@settings(max_examples=50, derandomize=True, deadline=None)
@example(cells=["1e20"])
@example(cells=["2024-03-15T09:30:00+01:00", "2024-03-15T09:30:00+02:00"])
@given(cells=CELLS)
def test_parser_never_raises(kind, cells):
    raw = pd.Series(cells, dtype="str")
    blank = raw.isna() | (raw.str.strip() == "")

    result = PARSERS[kind](raw)

    assert result.values.index.equals(raw.index)
    assert result.errors.index.equals(raw.index)
    assert not result.failed[blank].any()
    assert result.values[blank].isna().all()
    parsed = ~blank & ~result.failed
    assert result.values[parsed].notna().all()
    assert result.errors[result.failed].map(type).eq(str).all()
