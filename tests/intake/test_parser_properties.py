"""Every parser either parses a value or returns its documented error."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from acctlib.intake.money import ColumnFormatError
from acctlib.intake.parsers import PARSERS

OPTIONS = [
    {},
    {"notation": "export"},
    {"locale": "en-US"},
    {"locale": "de-DE"},
    {"locale": "fr-FR", "scale": 0.01},
    {"date_format": "%m/%d/%Y"},
    {"date_format": ["%d.%m.%y", "excel"]},
    {"date_format": "day-first"},
    {"id_format": "salesforce"},
    {"blank_is_false": True, "zero_is_missing": True},
]
CELLS = st.one_of(
    st.text(max_size=24),
    st.from_regex(r"[-($€ ]{0,2}\d{1,7}([.,' ]\d{1,3}){0,3}[)%€]?", fullmatch=True),
    st.from_regex(
        r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}( \d{1,2}:\d\d( [AP]M)?)?", fullmatch=True
    ),
    st.from_regex(r"[0-9A-Za-z]{15}([0-9A-Za-z]{3})?", fullmatch=True),
)


@settings(max_examples=150, deadline=None)
@given(
    cells=st.lists(CELLS, min_size=1, max_size=6),
    kind=st.sampled_from(sorted(PARSERS)),
    options=st.sampled_from(OPTIONS),
)
def test_parsers_never_crash(cells: list[str], kind: str, options: dict) -> None:
    """A parser returns aligned values and reasons, or a ColumnFormatError."""
    raw = pd.Series(cells, dtype="object")
    try:
        parsed = PARSERS[kind](raw, **options)
    except ColumnFormatError as error:
        assert error.evidence
        assert all(isinstance(i, int) for rows in error.evidence.values() for i in rows)
        return
    assert len(parsed.values) == len(raw)
    assert list(parsed.errors.index) == list(raw.index)
    blank = raw.str.strip() == ""
    failed = parsed.failed
    assert not (failed & blank).any()
    for reason in parsed.errors[failed]:
        assert isinstance(reason, str) and reason
    ok = ~failed & ~blank
    if kind in ("amount", "number", "integer", "date", "timestamp"):
        missing = parsed.values[ok].isna()
        if options.get("zero_is_missing"):
            return
        assert not missing.any()
