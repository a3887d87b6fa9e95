"""Readable labels for the codes that CRM exports and the canonical schema use.

Reports show "Outbound email" for the code ``outbound_email`` and "SDR"
for ``sdr``. Values that already read as words (they
contain a capital letter, a space or punctuation other than ``_``) are
shown as they are. Any other lower-case value is taken for a code, so a
lower-case identifier such as a hex campaign id would be capitalised:
callers pass only the project's fixed codes (channels, functions,
statuses) and show identifiers and campaign names as the data writes them.
"""

from __future__ import annotations

import re

import pandas as pd

# Words shown in capitals when they appear in a code.
ACRONYMS = frozenset(
    {
        "abm",
        "ae",
        "b2b",
        "cs",
        "crm",
        "csm",
        "ppc",
        "pr",
        "qbr",
        "roi",
        "sdr",
        "se",
        "sem",
        "seo",
    }
)
CODE = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")

# Labels of the two account values, which differ in how open ACV counts.
WON_PLUS_OPEN_ACV = "Won + open ACV"
"""Label of the account map's ``value``: won ACV plus open ACV in full."""
WON_PLUS_WEIGHTED_OPEN_ACV = "Won + weighted open ACV"
"""Label of the tiers' ``value_amount``: won ACV plus open ACV times win probability."""


def readable(value: object) -> object:
    """Return ``value`` as words when it is a lower-case code, else unchanged.

    >>> readable("outbound_email"), readable("sdr"), readable("Paid Search")
    ('Outbound email', 'SDR', 'Paid Search')
    """
    if not isinstance(value, str) or not CODE.match(value):
        return value
    words = value.split("_")
    shown = [word.upper() if word in ACRONYMS else word for word in words]
    if shown[0] == words[0]:
        shown[0] = shown[0].capitalize()
    return " ".join(shown)


def table_in_words(name: str) -> str:
    """Return a canonical table name as it reads inside a sentence.

    >>> table_in_words("stage_history"), table_in_words("touchpoints")
    ('stage history', 'touchpoints')
    """
    return name.replace("_", " ")


def readable_column(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Return a copy of ``frame`` with ``column``'s codes shown as words."""
    return frame.assign(**{column: frame[column].map(readable)})


def join_words(items: list[str]) -> str:
    """Return ``a``, ``a and b`` or ``a, b and c``, and ``""`` for no items."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
