"""Parsing money and numbers written for people, in a declared locale.

CRM exports and spreadsheets write amounts as ``$1,234.50``,
``($1,200.00)``, ``1.234,50 €`` or ``USD 2,000``. The thousands and decimal
separators depend on the locale. ``1,234`` is 1234 in en-US and 1.234 in
de-DE, so without a declared locale a column is parsed only when its values
prove one reading: :class:`ColumnFormatError` is raised otherwise.

Supported locales, by their separators:

===========================  =========  =========
locale                       thousands  decimal
===========================  =========  =========
en-US, en-GB, en-CA, en-AU   ``,``      ``.``
de-DE, es-ES, it-IT, nl-NL,  ``.``      ``,``
pt-BR, da-DK, id-ID
fr-FR, sv-SE, nb-NO, fi-FI,  space      ``,``
pl-PL, cs-CZ
de-CH                        ``'``      ``.``
===========================  =========  =========
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import pandas as pd

from acctlib.errors import InputError

SEPARATORS = {
    **dict.fromkeys(("en-US", "en-GB", "en-CA", "en-AU", "C"), (",", ".")),
    **dict.fromkeys(
        ("de-DE", "es-ES", "it-IT", "nl-NL", "pt-BR", "da-DK", "id-ID"), (".", ",")
    ),
    **dict.fromkeys(("fr-FR", "sv-SE", "nb-NO", "fi-FI", "pl-PL", "cs-CZ"), (" ", ",")),
    "de-CH": ("'", "."),
}

# ISO 4217 codes that each currency symbol of _CURRENCY is written for.
# ``$`` is handled by currency_mark_matches, because it stands for every
# dollar and several pesos. C$ is the Nicaraguan cordoba as well as the
# Canadian dollar.
SYMBOL_CURRENCIES = {
    "€": ("EUR",),
    "£": ("GBP", "FKP", "GIP", "SHP"),
    "¥": ("JPY", "CNY"),
    "₹": ("INR",),
    "R$": ("BRL",),
    "US$": ("USD",),
    "CA$": ("CAD",),
    "C$": ("CAD", "NIO"),
    "AU$": ("AUD",),
    "A$": ("AUD",),
    "NZ$": ("NZD",),
    "HK$": ("HKD",),
    "S$": ("SGD",),
    "MX$": ("MXN",),
    "NT$": ("TWD",),
}
# Currency symbols and ISO codes that may stand before or after an amount.
# Prefixed dollars such as CA$ are tried before the bare ``$``, so parsing
# removes the prefix with the sign. A prefix must not follow a letter.
_PREFIXED_DOLLARS = "|".join(
    re.escape(mark.removesuffix("$"))
    for mark in sorted(SYMBOL_CURRENCIES, key=len, reverse=True)
    if mark.endswith("$")
)
_CURRENCY = re.compile(
    rf"(?:(?<![A-Za-z])(?:{_PREFIXED_DOLLARS})\$|[$€£¥₹]|\b[A-Z]{{3}}\b)"
)
# ISO 4217 codes of the dollars written with ``$``. Several other codes end
# in D (AED, KWD, BHD, JOD, RSD, TND), so the list is explicit.
DOLLAR_CURRENCIES = frozenset(
    {
        "USD",  # United States
        "CAD",  # Canada
        "AUD",  # Australia
        "NZD",  # New Zealand
        "HKD",  # Hong Kong
        "SGD",  # Singapore
        "TWD",  # Taiwan
        "BND",  # Brunei
        "FJD",  # Fiji
        "SBD",  # Solomon Islands
        "JMD",  # Jamaica
        "BSD",  # Bahamas
        "BBD",  # Barbados
        "BZD",  # Belize
        "BMD",  # Bermuda
        "KYD",  # Cayman Islands
        "XCD",  # East Caribbean
        "TTD",  # Trinidad and Tobago
        "GYD",  # Guyana
        "SRD",  # Suriname
        "LRD",  # Liberia
        "NAD",  # Namibia
    }
)
# Peso currencies written with ``$``.
DOLLAR_SIGN_PESOS = frozenset({"ARS", "CLP", "COP", "CUP", "DOP", "MXN", "UYU"})
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_PLAIN = re.compile(r"^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_US_EVIDENCE = re.compile(r"^-?\d{1,3}(?:,\d{3})+\.\d+$")
_EU_EVIDENCE = re.compile(r"^-?(?:\d{1,3}(?:\.\d{3})+,\d+|\d+,(?:\d{1,2}|\d{4,}))$")
_AMBIGUOUS = re.compile(r"^-?\d{1,3}(?:,\d{3})+$")
# One to three digits, a point and exactly three digits: 12.500 is 12.5 with
# a decimal point, but 12500 as de-DE writes thousands.
_POINT_AS_THOUSANDS = re.compile(r"^-?\d{1,3}\.\d{3}$")
# Cells without a separator, which read the same under either locale.
_UNSEPARATED = re.compile(r"^-?\d+$|^-{1,2}$")
POINT_AS_THOUSANDS_MIN_CELLS = 3
"""Minimum number of cells such as ``12.500`` that stop a column read with a point."""
OTHER_LOCALE_MAX_SHARE = 0.1
"""Maximum share of the distinguishing cells in the other locale without a stop.

A distinguishing cell reads in only one of the declared locale and the
other one, such as ``1,234.50`` (en-US) or ``1.234,50`` (de-DE). Up to this
share of them may be in the other locale. Those cells are then invalid,
and the rest of the column is read. A larger share stops intake, because
the column is in the other locale as a whole, or mixes both.
"""
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
"""ISO 4217 codes whose minor unit has three digits: 12.500 KWD is 12.5 dinars."""


class ColumnFormatError(InputError):
    """A column's values cannot be parsed without a declared format.

    ``evidence`` maps a label (such as ``"day-first"``) to the positional
    indexes of the values behind it, so the caller can name input rows.
    """

    def __init__(self, message: str, evidence: dict[str, list[int]]) -> None:
        super().__init__(message)
        self.evidence = evidence


def check_locale(locale: str | None) -> None:
    """Raise InputError when ``locale`` is set but not supported."""
    if locale is not None and locale not in SEPARATORS:
        raise InputError(
            f"number locale {locale!r} is not supported; use one of "
            f"{', '.join(sorted(SEPARATORS))}"
        )


def parse_money(raw: pd.Series, locale: str | None = None) -> pd.DataFrame:
    """Parse amounts written with symbols, separators and parentheses.

    Parameters
    ----------
    raw
        Text cells, as read from the file.
    locale
        Locale of the separators, such as ``en-US`` or ``de-DE``; None to
        accept plain decimals and infer the separators from the values.

    Returns
    -------
    pandas.DataFrame
        ``value`` (float64, NaN for blank or invalid cells) and ``error``
        (reason text, or None where the cell parsed), on ``raw``'s index.
        ``$-`` and ``-`` are zero, as accountants write it; blank is missing.

    Raises
    ------
    ColumnFormatError
        When no locale is declared and a value such as ``1,234`` could be
        read two ways, or when values prove two different locales.
    """
    check_locale(locale)
    text = raw.astype("str").map(_strip_decoration)
    blank = raw.isna() | (raw.astype("str").str.strip() == "")
    contrary: set = set()
    if locale is None:
        locale = _infer_locale(text[~blank])
    else:
        contrary = set(_check_declared_locale(text[~blank], locale))
    values = []
    errors = []
    for index, cell, original, is_blank in zip(
        raw.index, text, raw, blank, strict=True
    ):
        if is_blank:
            values.append(float("nan"))
            errors.append(None)
            continue
        if index in contrary:
            values.append(float("nan"))
            errors.append(_other_locale_error(original, locale))
            continue
        value = _parse_one(cell, locale)
        values.append(float("nan") if value is None else value)
        errors.append(None if value is not None else _money_error(original, locale))
    return pd.DataFrame({"value": values, "error": errors}, index=raw.index)


def check_point_as_thousands(
    raw: pd.Series, locale: str | None = None, currencies: pd.Series | None = None
) -> None:
    """Raise when a column read with a decimal point writes it as thousands.

    A de-DE export writes 12,500 as ``12.500``, which a decimal point reads
    as 12.5, a thousandth of the amount. The column stops when at least
    :data:`POINT_AS_THOUSANDS_MIN_CELLS` cells have one to three digits, a
    point and exactly three digits, and every other non-empty cell has no
    separator at all (such as ``950``), so nothing shows the point to be a
    decimal point. ``locale`` None stands for plain decimals, and a locale
    with a decimal comma is never checked.

    Amounts of a currency with three decimals, such as KWD, are not
    checked: a cell marked with its code, or a row whose ``currencies``
    entry (the ISO code of the row's currency, on ``raw``'s index) names
    it; intake gives rows without a currency the report currency. The
    other cells decide alone whether the column stops.

    Raises
    ------
    ColumnFormatError
        With the grouped cells as evidence, so the caller can name rows.
    """
    if locale is not None and SEPARATORS[locale][1] != ".":
        return
    blank = raw.isna() | (raw.astype("str").str.strip() == "")
    blank |= three_decimal_cells(raw, currencies)
    text = raw[~blank].astype("str").map(_strip_decoration)
    grouped = text.index.isin(find_point_as_thousands(raw, locale, currencies))
    if grouped.sum() < POINT_AS_THOUSANDS_MIN_CELLS:
        return
    if not (grouped | text.str.match(_UNSEPARATED)).all():
        return
    proof = list(text.index[grouped])
    examples = ", ".join(repr(str(raw[index]).strip()) for index in proof[:3])
    reading = "plain decimals" if locale is None else f"the declared locale {locale}"
    if locale is None:
        fix = (
            "read the file through a source profile with options such as "
            "locale: de-DE (see Source profiles in the README)"
        )
    else:
        fix = (
            "declare the locale the file writes in the source profile's "
            "options, such as locale: de-DE"
        )
    first = text[proof[0]]
    as_decimal = f"{float(first):g}"
    as_thousands = first.replace(".", "")
    raise ColumnFormatError(
        f"values such as {examples} have exactly three digits after the "
        f"point, as de-DE writes thousands, but {reading} reads the point as "
        f"a decimal point, so {first} would be {as_decimal}, not "
        f"{as_thousands}; {fix}. If these amounts do have three decimals, "
        "name their currency in a currency column or in the cells, such as "
        "KWD 12.500, or write them with two, such as 12.50",
        {"three digits after the point": proof},
    )


def find_point_as_thousands(
    raw: pd.Series, locale: str | None = None, currencies: pd.Series | None = None
) -> list:
    """Return the index of each cell that a decimal point reads as thousandths.

    Such a cell has one to three digits, a point and exactly three digits,
    such as ``12.500``, which de-DE writes for 12,500. ``locale`` None
    stands for plain decimals; a locale with a decimal comma finds none.
    Cells in a currency of :data:`THREE_DECIMAL_CURRENCIES`, by their own
    mark or by their row's code in ``currencies``, are not counted.
    """
    if locale is not None and SEPARATORS[locale][1] != ".":
        return []
    blank = raw.isna() | (raw.astype("str").str.strip() == "")
    blank |= three_decimal_cells(raw, currencies)
    text = raw[~blank].astype("str").map(_strip_decoration)
    return list(text.index[text.str.match(_POINT_AS_THOUSANDS)])


def three_decimal_cells(
    raw: pd.Series, currencies: pd.Series | None = None
) -> pd.Series:
    """Tell which cells are in a currency of :data:`THREE_DECIMAL_CURRENCIES`.

    A cell counts by its own code, such as ``KWD 12.500``, or by its row's
    entry of ``currencies`` (ISO codes on ``raw``'s index).
    """
    marked = currency_marks(raw).isin(THREE_DECIMAL_CURRENCIES)
    if currencies is None:
        return marked
    codes = currencies.reindex(raw.index).astype("str").str.strip().str.upper()
    return marked | codes.isin(THREE_DECIMAL_CURRENCIES)


def currency_marks(raw: pd.Series) -> pd.Series:
    """Return the first currency code or symbol written in each cell, or None.

    For example ``EUR`` for ``EUR 15,000.00``, ``€`` for ``1.234,50 €`` and
    None for ``1234.50`` or a blank cell. Non-text cells have no mark.
    """
    if not (pd.api.types.is_object_dtype(raw) or pd.api.types.is_string_dtype(raw)):
        return pd.Series([None] * len(raw), index=raw.index, dtype="object")
    marks = (
        raw.astype("str")
        .where(raw.notna(), "")
        .str.extract(f"({_CURRENCY.pattern})", expand=False)
    )
    return marks.astype("object").where(marks.notna(), None)


def currency_mark_matches(mark: str, code: str) -> bool:
    """Tell whether an amount marked ``mark`` may be in currency ``code``.

    An ISO code matches itself only. ``$`` matches the dollars of
    :data:`DOLLAR_CURRENCIES` and the pesos of :data:`DOLLAR_SIGN_PESOS`.
    """
    if mark == "$":
        return code in DOLLAR_CURRENCIES or code in DOLLAR_SIGN_PESOS
    return code in SYMBOL_CURRENCIES.get(mark, (mark,))


def describe_currency_mark(mark: str) -> str:
    """Name a currency mark with its codes, such as ``€ (EUR)``."""
    if mark == "$":
        return "$ (a dollar or peso)"
    if mark not in SYMBOL_CURRENCIES:
        return mark
    codes = SYMBOL_CURRENCIES[mark]
    if len(codes) == 1:
        return f"{mark} ({codes[0]})"
    return f"{mark} ({', '.join(codes[:-1])} or {codes[-1]})"


def _strip_decoration(cell: str) -> str:
    """Remove currency marks and surrounding space; keep sign and separators."""
    text = _CURRENCY.sub("", cell.strip()).removesuffix("%")
    text = text.strip().strip("\u00a0\u202f ")
    negative = text.startswith("(") and text.endswith(")")
    if negative:
        text = text[1:-1].strip()
    text = _SPACES.sub(" ", text)
    if text.endswith("-") and len(text) > 1:  # SAP style trailing minus
        text = "-" + text[:-1].strip()
    text = text.replace("- ", "-")
    if negative and text and not text.startswith("-"):
        text = "-" + text
    return text


def _infer_locale(cells: pd.Series) -> str | None:
    us = [position for position, cell in enumerate(cells) if _US_EVIDENCE.match(cell)]
    eu = [position for position, cell in enumerate(cells) if _EU_EVIDENCE.match(cell)]
    ambiguous = [
        position for position, cell in enumerate(cells) if _AMBIGUOUS.match(cell)
    ]
    index = list(cells.index)
    if us and eu:
        raise ColumnFormatError(
            "values use both 1,234.56 (en-US) and 1.234,56 (de-DE) separators; "
            "declare the number locale of the file",
            {"en-US": [index[p] for p in us], "de-DE": [index[p] for p in eu]},
        )
    if us:
        return "en-US"
    if eu:
        return "de-DE"
    if ambiguous:
        examples = _examples(cells.iloc[p] for p in ambiguous)
        raise ColumnFormatError(
            f"values such as {examples} read as thousands in en-US but as "
            "decimals in de-DE; declare the number locale (for example "
            "locale: en-US) in the source profile",
            {"ambiguous": [index[p] for p in ambiguous]},
        )
    return None


def _check_declared_locale(cells: pd.Series, locale: str) -> list:
    """Return the index of cells in the other separators than ``locale``'s.

    A column declared de-DE whose values are mostly like ``4,978.80`` is
    written en-US, so its ``8,620`` means 8620, not the 8.62 the declared
    locale reads. Only the distinguishing cells count, which read in one
    of the two locales alone. When more than :data:`OTHER_LOCALE_MAX_SHARE` of
    them are in the other locale, the column stops; fewer are returned,
    for the caller to treat as invalid cells.

    Raises
    ------
    ColumnFormatError
        With the cells in the other locale as evidence.
    """
    if SEPARATORS[locale][1] == ",":
        contrary, other = _US_EVIDENCE, "en-US"
    else:
        contrary, other = _EU_EVIDENCE, "de-DE"
    proof = [index for index, cell in cells.items() if contrary.match(cell)]
    if not proof:
        return []
    own = [
        index
        for index, cell in cells.items()
        if _parse_one(cell, locale) is not None and _parse_one(cell, other) is None
    ]
    distinguishing = len(proof) + len(own)
    if len(proof) <= OTHER_LOCALE_MAX_SHARE * distinguishing:
        return proof
    examples = _examples(cells[index] for index in proof)
    raise ColumnFormatError(
        f"the source profile declares locale {locale}, which writes amounts "
        f"such as {_example(locale)}, but {len(proof):,} of the {distinguishing:,} "
        f"values that read in only one of {locale} and {other}, such as "
        f"{examples}, use the {other} separators. If the file writes {other}, "
        f"set locale: {other} under options: in the source profile; for a "
        "built-in profile, copy params/profiles/<profile>.yaml, edit the "
        "copy and run with --set profile=path/to/the/copy.yaml (see Source "
        "profiles in the README). Otherwise correct those values",
        {other: proof},
    )


def _other_locale_error(original: object, locale: str) -> str:
    other = "en-US" if SEPARATORS[locale][1] == "," else "de-DE"
    return (
        f"invalid amount {str(original)!r}, written with the {other} "
        f"separators; expected an amount in {locale} such as "
        f"{_example(locale)}, as the rest of the column is written"
    )


def _examples(cells: Iterable[str]) -> str:
    """Quote the first three distinct ``cells``, so no value is quoted twice."""
    return ", ".join(repr(cell) for cell in list(dict.fromkeys(cells))[:3])


def _parse_one(cell: str, locale: str | None) -> float | None:
    if cell in ("-", "--"):
        return 0.0
    if _PLAIN.match(cell) and (locale is None or "," not in cell):
        if locale is not None and SEPARATORS[locale][0] == "." and "." in cell:
            return _parse_grouped(cell, locale)
        number = float(cell)
        return number if math.isfinite(number) else None
    if locale is None:
        return None
    return _parse_grouped(cell, locale)


def _parse_grouped(cell: str, locale: str) -> float | None:
    thousands, decimal = SEPARATORS[locale]
    group = re.escape(thousands)
    pattern = rf"^(-?)(\d{{1,3}}(?:{group}\d{{3}})+|\d+)(?:{re.escape(decimal)}(\d+))?$"
    match = re.match(pattern, cell)
    if match is None:
        return None
    sign, whole, fraction = match.groups()
    number = float(whole.replace(thousands, "") + "." + (fraction or "0"))
    return -number if sign else number


def _money_error(original: object, locale: str | None) -> str:
    expected = (
        f"an amount in {locale} such as {_example(locale)}"
        if locale
        else "a plain decimal such as 1234.50 or 0.25"
    )
    return f"invalid amount {str(original)!r}; expected {expected}"


def _example(locale: str) -> str:
    thousands, decimal = SEPARATORS[locale]
    return f"1{thousands}234{decimal}50"
