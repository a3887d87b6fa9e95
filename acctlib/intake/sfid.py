"""Salesforce record IDs: 15-character case-sensitive and 18-character forms.

A 15-character ID is case-sensitive: ``0015g00000AbCdE`` and
``0015g00000abcde`` are different records. The 18-character form appends
three characters that encode, for each block of five characters, which of
them are upper-case letters, so the 18-character ID can be compared without
regard to case. Spreadsheets often upper-case IDs: an 18-character ID keeps
its meaning because the suffix restores the case, a 15-character one
cannot be recovered.
"""

from __future__ import annotations

import re

import pandas as pd

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-5]{3})?$")


def compute_suffix(id15: str) -> str:
    """Return the three-character case suffix of a 15-character ID."""
    suffix = ""
    for start in (0, 5, 10):
        bits = 0
        for position, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def normalize_id(value: str) -> str | None:
    """Return the 18-character ID with the case its suffix encodes.

    Returns None when ``value`` is not a 15- or 18-character ID.
    """
    if not _ID.match(value):
        return None
    if len(value) == 15:
        return value + compute_suffix(value)
    suffix = value[15:].upper()
    chars = list(value[:15].lower())
    for block, code in enumerate(suffix):
        bits = _SUFFIX_ALPHABET.index(code)
        for position in range(5):
            index = block * 5 + position
            if bits & (1 << position) and chars[index].isalpha():
                chars[index] = chars[index].upper()
    restored = "".join(chars)
    return restored + compute_suffix(restored)


def normalize_ids(raw: pd.Series) -> pd.DataFrame:
    """Normalise a column of Salesforce IDs to 18 characters.

    Returns ``value`` (text, missing for blank or invalid cells) and
    ``error`` (reason text, or None) on ``raw``'s index.
    """
    text = raw.astype("str").str.strip()
    blank = raw.isna() | (text == "")
    values = text.map(normalize_id).where(~blank)
    errors = pd.Series(None, index=raw.index, dtype="object")
    invalid = ~blank & values.isna()
    errors[invalid] = text[invalid].map(
        lambda cell: (
            f"invalid Salesforce ID {cell!r}; expected 15 or 18 letters and digits"
        )
    )
    return pd.DataFrame({"value": values, "error": errors}, index=raw.index)
