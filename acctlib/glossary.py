"""Plain definitions of the abbreviations that report pages show.

The section pages, the run index, the list of runs and the email digest
define each abbreviation at its first use in the page's prose, from
:data:`TERMS`. One used only in tables, the report settings, the headline
cards or the static image of a chart is defined in a list of terms before
the footer. Notebooks and views write the bare abbreviation, so that each
definition is kept here only.
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
    "pp": ("percentage points", "the difference between two percentages"),
    "SDR": (
        "sales development representative",
        "the salesperson who finds and qualifies new leads",
    ),
    "AE": (
        "account executive",
        "the salesperson who takes a deal through to signature",
    ),
    "SE": (
        "sales engineer",
        "the technical specialist who supports the salesperson on a deal",
    ),
    "CS": (
        "customer success",
        "the team that looks after customers once they have signed",
    ),
    "QBR": (
        "quarterly business review",
        "a meeting each quarter to review results with a customer",
    ),
}
"""Abbreviation to (expansion, plain meaning)."""

# Elements whose text is not prose a reader meets first: code, navigation,
# the table of contents, headings and the footer.
_SKIPPED_ELEMENTS = {
    "head",
    "nav",
    "aside",
    "footer",
    "code",
    "pre",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
}
# Elements a definition would make too wide: tables, the collapsed report
# settings, the headline cards and the static charts. Terms used only there
# are defined in a list of terms at the end of the page instead.
_LISTED_ELEMENTS = {"table", "details", "svg"}
_LISTED_CLASSES = {"div": "acctlib-kpis"}
# Raw text elements, whose content may contain "<" that starts no tag.
_RAW_TEXT_ELEMENTS = {"script", "style", "textarea", "title"}
_TAG = re.compile(
    r"<!--.*?-->|<(/?)([a-zA-Z][\w:-]*)(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.DOTALL
)
_TERM = re.compile(r"\b(" + "|".join(sorted(TERMS, key=len, reverse=True)) + r")\b")
_TERMS_CLASS = "acctlib-terms"


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
    outside tags. Text in scripts, styles, code, headings, navigation, the
    table of contents and the footer is skipped. A term used in a table,
    the report settings, the headline cards or a chart's static SVG image
    but not in the prose is defined in a paragraph of terms before the
    footer (or at the end), so that those stay compact.
    """
    defined: set[str] = set()
    listed: dict[str, None] = {}
    parts = []
    position = 0
    region, region_element, region_depth = None, None, 0
    # Where the list of terms goes: before the footer, else the body's end.
    anchor = None
    while True:
        tag = _TAG.search(page, position)
        end = tag.start() if tag else len(page)
        text = page[position:end]
        if region is None and len(defined) < len(TERMS):
            text = _define_in_text(text, defined)
        elif region == "listed":
            listed.update(dict.fromkeys(_TERM.findall(text)))
        parts.append(text)
        if tag is None:
            break
        name = (tag.group(2) or "").lower()
        closing = tag.group(1) == "/"
        opening = not closing and not tag.group(0).endswith("/>")
        if anchor is None and (name, closing) in (("footer", False), ("body", True)):
            anchor = len(parts)
        parts.append(tag.group(0))
        position = tag.end()
        if not name:
            continue
        if name in _RAW_TEXT_ELEMENTS and opening:
            # Copy the raw text unread, up to its closing tag.
            close = re.compile(rf"</{name}\b", re.IGNORECASE).search(page, position)
            raw_end = close.start() if close else len(page)
            parts.append(page[position:raw_end])
            position = raw_end
        elif region is None and opening:
            region = _region_of(name, tag.group(0))
            if region is not None:
                region_element, region_depth = name, 1
        elif region is not None and name == region_element:
            if closing:
                region_depth -= 1
            elif opening:
                region_depth += 1
            if region_depth == 0:
                region = None
    undefined = [term for term in listed if term not in defined]
    if undefined:
        parts.insert(len(parts) if anchor is None else anchor, _term_list(undefined))
    return "".join(parts)


def _region_of(name: str, tag: str) -> str | None:
    """Return "skipped", "listed" or None for the element that ``tag`` opens."""
    if name in _SKIPPED_ELEMENTS:
        return "skipped"
    if name in _LISTED_ELEMENTS:
        return "listed"
    class_name = _LISTED_CLASSES.get(name)
    if class_name and re.search(rf"class=[\"'][^\"']*\b{class_name}\b", tag):
        return "listed"
    return None


def _term_list(terms: list[str]) -> str:
    """Return a paragraph that defines ``terms``."""
    definitions = "; ".join(define_term(term) for term in terms)
    text = html.escape(f"Terms on this page: {definitions}.", quote=False)
    return f'<p class="{_TERMS_CLASS}">{text}</p>'


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
