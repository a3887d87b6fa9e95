"""Plain definitions of the abbreviations that report pages show.

The section pages, the run index, the list of runs and the email digest
define each abbreviation at its first use on the page, from :data:`TERMS`.
Notebooks and views write the bare abbreviation, so that each definition
is kept here only.
"""

from __future__ import annotations

import html
import re

TERMS = {
    "ACV": ("annual contract value", "the value of a contract per year"),
    "TCV": ("total contract value", "the value of a contract over its whole length"),
    "WAPE": (
        "weighted absolute percentage error",
        "the forecast's misses as a share of actual bookings",
    ),
    "MAPE": (
        "mean absolute percentage error",
        "the average of each forecast's miss as a share of its actual figure",
    ),
    "SARIMAX": (
        "seasonal autoregressive integrated moving average",
        "a model that forecasts monthly bookings from their recent changes and "
        "the same month a year earlier",
    ),
    "ETS": (
        "exponential smoothing",
        "a model that forecasts monthly bookings from past months, weighting "
        "recent ones most",
    ),
    "AUC": (
        "area under the curve",
        "the chance that a score ranks a random account with the outcome ahead "
        "of one without it",
    ),
    "P10": (
        "10th percentile",
        "the actual figure should fall below it 1 time in 10",
    ),
    "P50": ("median", "the actual figure should fall below it half the time"),
    "P90": (
        "90th percentile",
        "the actual figure should fall below it 9 times in 10",
    ),
}
"""Abbreviation to (expansion, plain meaning)."""

# Elements whose text is not prose a reader meets first: code, charts,
# navigation, the table of contents, headings and the footer.
_SKIPPED_ELEMENTS = {
    "head",
    "nav",
    "aside",
    "footer",
    "code",
    "pre",
    "svg",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
}
# Raw text elements, whose content may contain "<" that starts no tag.
_RAW_TEXT_ELEMENTS = {"script", "style", "textarea", "title"}
_TAG = re.compile(
    r"<!--.*?-->|<(/?)([a-zA-Z][\w:-]*)(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.DOTALL
)
_TERM = re.compile(r"\b(" + "|".join(sorted(TERMS, key=len, reverse=True)) + r")\b")


def define_term(term: str, in_brackets: bool = False) -> str:
    """Return ``term`` followed by its definition, as plain text.

    For example ``WAPE (weighted absolute percentage error: the forecast's
    misses as a share of actual bookings)``. With ``in_brackets``, for a
    term that is already in brackets, the definition follows a comma.
    """
    expansion, meaning = TERMS[term]
    if in_brackets:
        return f"{term}, {expansion}: {meaning}"
    return f"{term} ({expansion}: {meaning})"


def define_first_uses(page: str) -> str:
    """Insert the definition of each abbreviation after its first use in ``page``.

    ``page`` is HTML. A use is a whole-word, case-sensitive match in text
    outside tags. Text in scripts, styles, charts, code, headings,
    navigation, the table of contents and the footer is skipped, so the
    definition goes into the page's prose or tables. A term that appears
    only in skipped text stays undefined.
    """
    defined: set[str] = set()
    parts = []
    position = 0
    skipped_element = None
    skip_depth = 0
    while True:
        tag = _TAG.search(page, position)
        end = tag.start() if tag else len(page)
        text = page[position:end]
        if skipped_element is None and len(defined) < len(TERMS):
            text = _define_in_text(text, defined)
        parts.append(text)
        if tag is None:
            break
        parts.append(tag.group(0))
        position = tag.end()
        if tag.group(2) is None:
            continue
        name = tag.group(2).lower()
        closing = tag.group(1) == "/"
        self_closing = tag.group(0).endswith("/>")
        if name in _RAW_TEXT_ELEMENTS and not closing and not self_closing:
            # Copy the raw text unread, up to its closing tag.
            close = re.compile(rf"</{name}\b", re.IGNORECASE).search(page, position)
            raw_end = close.start() if close else len(page)
            parts.append(page[position:raw_end])
            position = raw_end
        elif skipped_element is None:
            if name in _SKIPPED_ELEMENTS and not closing and not self_closing:
                skipped_element, skip_depth = name, 1
        elif name == skipped_element and not self_closing:
            skip_depth += -1 if closing else 1
            if skip_depth == 0:
                skipped_element = None
    return "".join(parts)


def _define_in_text(text: str, defined: set[str]) -> str:
    """Return ``text``, escaped HTML, with each term not yet in ``defined`` defined."""

    def define(match: re.Match[str]) -> str:
        term = match.group(1)
        if term in defined:
            return term
        defined.add(term)
        before = text[match.start() - 1 : match.start()]
        after = text[match.end() : match.end() + 1]
        in_brackets = before == "(" and after == ")"
        return html.escape(define_term(term, in_brackets), quote=False)

    return _TERM.sub(define, text)
