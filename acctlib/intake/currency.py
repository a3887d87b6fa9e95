"""Converting opportunity amounts into the report currency.

Each opportunity has ``amount_original`` in ``currency`` and ``amount`` in
the report currency. A source fills ``amount`` in one of three ways, in
this order of precedence:

1. ``amount`` as the source supplies it. That is an export's converted
   column (Salesforce ``Amount (converted)``, HubSpot ``Amount in company
   currency``) when the profile maps one onto ``amount``, and otherwise the
   ``amount`` of the canonical layout or of an adapter that computes it,
   which is already in the report currency;
2. ``amount_original`` when ``currency`` is the report currency (or empty);
3. a dated rates table (``rates_file`` in the profile, or ``rates.csv``
   in the data folder of the canonical layout; columns ``date``,
   ``currency``, ``rate``), where ``rate`` is report-currency units per one
   unit of ``currency``; an opportunity converts at the latest rate dated
   on or before its close date (its creation date when it has none).

Supplied amounts that equal ``amount_original`` on every row of another
currency were never converted and raise
:class:`~acctlib.errors.InputError`, so that EUR amounts are never counted
as USD. So do such amounts on :data:`MIN_AGREEING_ROWS` or more rows of
a currency whose other rows were converted. An amount in another currency
that none of these converts raises :class:`~acctlib.errors.InputError`
naming the file, the column, the currencies found and their row counts.
Only when the profile maps an export's converted column onto ``amount``
does a row whose converted cell is empty keep its amount missing instead.
A row whose ``amount`` cell intake blanked as unusable keeps its amount
missing under every source.

``amount_open``, the amount while the deal was open, is in the deal
currency as ``amount_original`` is, and converts at the row's own rate
(``amount`` over ``amount_original``) or else through the rates table.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from acctlib.errors import InputError
from acctlib.intake.canonical import (
    FILE,
    RAW_PREFIX,
    ROW,
    blank_parsed_cells,
    column_label,
    reason_prefix,
)
from acctlib.intake.dates import parse_datetimes
from acctlib.intake.money import (
    currency_mark_matches,
    currency_marks,
    describe_currency_mark,
    parse_money,
)
from acctlib.intake.quarantine import Quarantine

RATE_COLUMNS = ("date", "currency", "rate")
CANONICAL_RATES_FILE = "rates.csv"
"""Rates table of the canonical layout, in the data folder beside the tables."""
MIN_AGREEING_ROWS = 3
"""Rows of a currency that must agree with amount_original to raise, when
the report-currency rows agree too or other rows of that currency differ."""
ZERO_AMOUNT = 0.005
"""Amounts closer to zero than this count as zero, half a cent."""
# Currencies fixed at par with a report currency, whose converted amounts
# rightly equal the original: the Panamanian balboa, Bahamian and Bermudian
# dollars with USD, and the Falkland, Gibraltar and Saint Helena pounds
# with GBP.
AT_PAR = {
    "USD": frozenset({"PAB", "BSD", "BMD"}),
    "GBP": frozenset({"FKP", "GIP", "SHP"}),
}

logger = logging.getLogger(__name__)


def load_rates(path: Path) -> pd.DataFrame:
    """Read a rates table: ``date`` (naive), ``currency`` (upper case), ``rate``.

    The rows come back sorted by date, then currency.

    Raises InputError for a missing column, an invalid date or rate, or two
    different rates for one currency and date.
    """
    from acctlib.intake.mapped import read_export_file

    frame, _ = read_export_file(path)
    missing = [column for column in RATE_COLUMNS if column not in frame.columns]
    if missing:
        raise InputError(
            f"{path}: rates table needs columns {', '.join(RATE_COLUMNS)}; "
            f"missing {', '.join(missing)}",
            file=str(path),
            column=missing[0],
        )
    dates = parse_datetimes(frame["date"])
    rates = parse_money(frame["rate"])
    bad = dates["error"].notna() | rates["error"].notna() | ~(rates["value"] > 0)
    if bad.any():
        row = int(frame.loc[bad, "_row"].iloc[0])
        raise InputError(
            f"{path}, row {row}: invalid rate {frame.loc[bad, 'rate'].iloc[0]!r} "
            f"or date {frame.loc[bad, 'date'].iloc[0]!r}; expected a positive "
            "number and an ISO date",
            file=str(path),
            row=row,
        )
    table = pd.DataFrame(
        {
            "date": dates["value"].dt.tz_localize(None).astype("datetime64[us]"),
            "currency": frame["currency"].str.strip().str.upper(),
            "rate": rates["value"],
        }
    )
    _check_conflicting_rates(table, frame, path)
    # Sorted by date first, as pandas.merge_asof needs in _convert_with_rates.
    return table.sort_values(["date", "currency"], ignore_index=True)


def _check_conflicting_rates(
    table: pd.DataFrame, frame: pd.DataFrame, path: Path
) -> None:
    """Raise when two rows give different rates for one currency and date.

    ``table`` is the parsed rates and ``frame`` the file as read, on the
    same index. A rate repeated with the same value is accepted.
    """
    first_rate = table.groupby(["currency", "date"], dropna=False)["rate"].transform(
        "first"
    )
    conflicts = table.index[table["rate"] != first_rate]
    if conflicts.empty:
        return
    later = conflicts[0]
    same_key = (table["currency"] == table.at[later, "currency"]) & (
        table["date"] == table.at[later, "date"]
    )
    earlier = table.index[same_key][0]
    rows = [int(frame.at[earlier, "_row"]), int(frame.at[later, "_row"])]
    values = [frame.at[earlier, "rate"], frame.at[later, "rate"]]
    currency = table.at[later, "currency"]
    date = _format_date(table.at[later, "date"])
    raise InputError(
        f"{path}: rows {rows[0]} and {rows[1]} give different rates for "
        f"{currency} on {date}, {values[0]!r} and {values[1]!r}. Keep one rate "
        "per currency and date",
        file=str(path),
        row=rows[1],
        column="rate",
        value=values[1],
    )


def _format_date(value: pd.Timestamp) -> str:
    """Format a date as ISO, with the time only when it is not midnight."""
    if value == value.normalize():
        return value.strftime("%Y-%m-%d")
    return value.isoformat()


BASES = ("source", "same_currency", "rates_table")
"""Sources of an opportunity's report-currency amount."""


def convert_amounts(
    opportunities: pd.DataFrame,
    report_currency: str,
    rates: pd.DataFrame | None,
    file: str,
    *,
    converted_column: bool = False,
    canonical_layout: bool = False,
    blanked: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Fill missing ``amount`` from ``amount_original``, convert ``amount_open``.

    Parameters
    ----------
    opportunities
        Parsed opportunities: ``amount`` and ``amount_original`` (float,
        NaN when missing), ``currency`` (text or missing), ``close_date``
        (naive date) and ``created_at`` (UTC).
    report_currency
        ISO code of the report currency.
    rates
        Output of :func:`load_rates`, or None.
    file
        Opportunities file, for error messages.
    converted_column
        True when the profile maps an export's converted column onto
        ``amount``. Supplied amounts of rows in the report currency then
        count under ``source``, otherwise under ``same_currency``. Supplied
        amounts of rows in another currency always count under ``source``,
        and those of rows without a currency under ``same_currency``, since
        no export converts an amount of no currency. With a converted
        column, an empty ``amount`` on a row in another currency stays
        missing when no rates table converts it. Without one, such a row
        raises InputError. The same holds for ``amount_open`` in another
        currency on a row without both amounts to take a rate from.
    canonical_layout
        True when the source is the canonical layout, whose rates table is
        ``rates.csv`` in the data folder rather than a profile's
        ``rates_file``; it only changes the advice of error messages.
    blanked
        Mask indexed like ``opportunities``, True where intake blanked the
        ``amount`` cell because it did not parse or its currency mark
        contradicts the report currency. Such a row keeps its amount
        missing, so it is neither filled from ``amount_original`` nor
        counted as needing a rate. None means no cell was blanked.

    Returns
    -------
    tuple
        A new frame with ``amount`` filled and ``amount_open`` (when
        present) in the report currency, and each row's conversion basis
        (``source``, ``same_currency`` or ``rates_table``; missing for a
        row without an amount), indexed like ``opportunities``. Count it
        with :func:`count_basis` once the rejected rows are known.
    """
    frame = opportunities.copy()
    currency = frame["currency"].fillna("").str.strip().str.upper()
    frame["currency"] = currency.where(currency != "", None)
    _check_supplied_currency(
        frame, currency, report_currency.upper(), file, canonical_layout
    )
    _check_partly_converted(
        frame, currency, report_currency.upper(), file, canonical_layout
    )
    has_source_amount = frame["amount"].notna()
    needs = frame["amount"].isna() & frame["amount_original"].notna()
    if blanked is not None:
        needs &= ~blanked
    same = needs & currency.isin(["", report_currency.upper()])
    frame.loc[same, "amount"] = frame.loc[same, "amount_original"]
    foreign = needs & ~same
    basis = pd.Series(None, index=frame.index, dtype="object")
    basis[same] = "same_currency"
    # A supplied amount on a row in another currency was converted by the
    # export, even when no column of the profile is named as converted. On
    # a row in the report currency it was converted only if it comes from
    # the profile's converted column. A row without a currency names no
    # currency to convert from, so its amount counts as already in the
    # report currency.
    in_report = has_source_amount & (currency == report_currency.upper())
    converted = has_source_amount & ~currency.isin(["", report_currency.upper()])
    basis[has_source_amount & (currency == "")] = "same_currency"
    basis[in_report] = "source" if converted_column else "same_currency"
    basis[converted] = "source"
    # The export has a converted column, so a cell of it that is empty
    # leaves the amount missing. The data-quality findings count such
    # deals. Without that column, an empty amount on a foreign row has no
    # conversion, so intake stops below however many other rows have an
    # amount.
    keep_missing = (
        rates is None
        and bool(converted_column)
        and bool(foreign.any())
        and bool(has_source_amount.any())
    )
    if keep_missing:
        logger.info(
            "%s: %d rows without a converted amount keep it missing",
            file,
            int(foreign.sum()),
        )
    if foreign.any() and not keep_missing:
        if rates is None:
            found = _describe_currencies(frame, currency, foreign)
            advice = _conversion_advice(canonical_layout, report_currency)
            raise InputError(
                f"{file}: column amount_original contains amounts in {found} "
                f"whose amount is empty, but the report currency is "
                f"{report_currency} and there is no rates table to convert "
                f"them. {advice}",
                file=file,
                column="amount_original",
                row=_first_row(frame, foreign),
            )
        converted = _convert_with_rates(frame[foreign], currency[foreign], rates, file)
        frame.loc[foreign, "amount"] = converted
        basis[foreign] = "rates_table"
    frame = _convert_open_amounts(
        frame,
        currency,
        report_currency,
        rates,
        file,
        converted_column=converted_column,
        canonical_layout=canonical_layout,
        blanked=blanked,
    )
    return frame, basis


def _convert_open_amounts(
    frame: pd.DataFrame,
    currency: pd.Series,
    report_currency: str,
    rates: pd.DataFrame | None,
    file: str,
    *,
    converted_column: bool,
    canonical_layout: bool,
    blanked: pd.Series | None,
) -> pd.DataFrame:
    """Convert ``amount_open`` from the deal currency into the report currency.

    ``frame`` has ``amount`` filled already. A row in another currency
    converts at its own rate, ``amount`` over ``amount_original``, where
    both are known and not zero, so that its open amount converts as its
    amount did. Other rows convert through ``rates`` as ``amount_original``
    does. Without rates they raise InputError naming the currencies, unless
    the amount comes from an export's converted column or intake blanked
    it. Those rows keep ``amount_open`` empty, so snapshots value them at
    ``amount``. Modifies and returns ``frame``.
    """
    if "amount_open" not in frame.columns:
        return frame
    report = report_currency.upper()
    foreign = frame["amount_open"].notna() & ~currency.isin(["", report])
    if not foreign.any():
        return frame
    amount = frame["amount"]
    original = frame["amount_original"]
    has_own_rate = (
        foreign & (amount.abs() >= ZERO_AMOUNT) & (original.abs() >= ZERO_AMOUNT)
    )
    own_rate = amount[has_own_rate] / original[has_own_rate]
    frame.loc[has_own_rate, "amount_open"] = (
        frame.loc[has_own_rate, "amount_open"] * own_rate
    )
    rest = foreign & ~has_own_rate
    if not rest.any():
        return frame
    if rates is not None:
        rows = frame.loc[rest].assign(amount_original=frame.loc[rest, "amount_open"])
        frame.loc[rest, "amount_open"] = _convert_with_rates(
            rows, currency[rest], rates, file
        )
        return frame
    may_stay_empty = pd.Series(converted_column, index=frame.index)
    if blanked is not None:
        may_stay_empty |= blanked
    unconverted = rest & ~may_stay_empty
    if unconverted.any():
        found = _describe_currencies(frame, currency, unconverted)
        raise InputError(
            f"{file}: column amount_open contains amounts in {found}, but the "
            f"report currency is {report_currency}. Those rows lack amount or "
            "amount_original to take a rate from, and there is no rates table. "
            "Fill amount and amount_original on those rows, or "
            f"{_rates_advice(canonical_layout, report_currency)}",
            file=file,
            column="amount_open",
            row=_first_row(frame, unconverted),
        )
    logger.warning(
        "%s: %d open amounts in another currency have no rate and stay empty, "
        "so those deals count at amount while open",
        file,
        int(rest.sum()),
    )
    frame.loc[rest, "amount_open"] = np.nan
    return frame


def _conversion_advice(canonical_layout: bool, report_currency: str) -> str:
    """Return what to do about amounts that no conversion reaches."""
    rates_advice = _rates_advice(canonical_layout, report_currency)
    if canonical_layout:
        return (
            f"Fill amount with the {report_currency} amount on those rows, "
            f"or {rates_advice}"
        )
    return f"Map the export's converted amount column onto amount, or {rates_advice}"


def blank_contradicting_marks(
    opportunities: pd.DataFrame,
    report_currency: str,
    quarantine: Quarantine,
    headers: Mapping[tuple[str, str], Mapping[str, str | None]],
) -> pd.DataFrame:
    """Blank amount cells whose currency code or symbol contradicts their currency.

    An ``amount_original`` cell must agree with the row's ``currency``, or
    with the report currency where the row has none, and an ``amount``
    cell with the report currency. ``EUR 15,000.00`` on a USD row would
    otherwise count as 15,000 USD, because parsing drops the mark. Each
    blanked cell goes to ``quarantine`` with a reason that names both
    currencies. ``headers`` is as in
    :func:`~acctlib.intake.canonical.check_references`.

    Returns a copy of ``opportunities`` (a :func:`canonicalize` result)
    with those cells missing.
    """
    frame = opportunities.copy()
    currency = frame["currency"].fillna("").astype("str").str.strip().str.upper()
    for column in ("amount", "amount_original", "amount_open"):
        raw_column = RAW_PREFIX + column
        if raw_column not in frame.columns:
            continue
        marks = currency_marks(frame[raw_column].where(frame[column].notna()))
        if column == "amount":
            expected = pd.Series(report_currency, index=frame.index)
        else:
            expected = currency.where(currency != "", report_currency)
        bad = pd.Series(
            [
                mark is not None and not currency_mark_matches(mark, code)
                for mark, code in zip(marks, expected, strict=True)
            ],
            index=frame.index,
        )
        if not bad.any():
            continue
        reasons = pd.Series(
            [
                _contradiction_reason(
                    column,
                    mark,
                    code,
                    report_currency,
                    headers.get(("opportunities", file), {}),
                    _has_currency_column(frame, headers, file),
                )
                for mark, code, file in zip(
                    marks[bad], currency[bad], frame.loc[bad, FILE], strict=True
                )
            ],
            index=frame.index[bad],
        )
        blank_parsed_cells(
            quarantine, "opportunities", frame[bad], column, reasons, headers
        )
        frame.loc[bad, column] = np.nan
    return frame


def _has_currency_column(
    frame: pd.DataFrame,
    headers: Mapping[tuple[str, str], Mapping[str, str | None]],
    file: str,
) -> bool:
    """Tell whether the opportunities ``file`` has a currency column.

    A file read through a column map gets every optional column it lacks as
    blanks, so only its headers map shows whether the export had one.
    """
    file_headers = headers.get(("opportunities", file), {})
    if file_headers:
        return "currency" in file_headers
    return RAW_PREFIX + "currency" in frame.columns


def _contradiction_reason(
    column: str,
    mark: str,
    row_currency: str,
    report_currency: str,
    headers: Mapping[str, str | None],
    has_currency_column: bool,
) -> str:
    """Explain an amount cell whose currency mark contradicts its currency.

    ``headers`` is the :attr:`~acctlib.intake.canonical.RawTable.headers`
    map of the cell's file.
    """
    marked = (
        f"{reason_prefix(column, headers)}amount is marked "
        f"{describe_currency_mark(mark)}"
    )
    if column == "amount":
        return (
            f"{marked} but must be in the report currency {report_currency}; "
            f"write the {report_currency} amount in this cell, or set "
            "report_currency to the currency of the amounts"
        )
    currency_label = column_label("currency", headers)
    if row_currency:
        return (
            f"{marked} but {currency_label} of the row is {row_currency}; "
            "correct the amount or the currency cell"
        )
    if has_currency_column:
        return (
            f"{marked} but {currency_label} of the row is empty, which means "
            f"the report currency {report_currency}; fill in the currency cell"
        )
    return (
        f"{marked} but the file has no currency column, so every amount is "
        f"taken to be in the report currency {report_currency}; export the "
        "deal currency column and map it onto currency in the source profile"
    )


def count_basis(basis: pd.Series) -> dict[str, int]:
    """Return the rows per conversion basis of :func:`convert_amounts`."""
    counts = basis.value_counts()
    return {name: int(counts.get(name, 0)) for name in BASES}


def _check_supplied_currency(
    frame: pd.DataFrame,
    currency: pd.Series,
    report_currency: str,
    file: str,
    canonical_layout: bool,
) -> None:
    """Raise when the supplied ``amount`` is in a currency other than the report's.

    A converted amount equals ``amount_original`` only on rows in the report
    currency. When it equals it on every row of another currency, those
    amounts were never converted: an export that copied the deal amount,
    or amounts in that currency run with the wrong ``report_currency``.
    Rows whose amounts are both zero prove nothing and are left out. While
    the report-currency rows agree, a currency needs
    :data:`MIN_AGREEING_ROWS` agreeing rows to raise, so that one
    coincidence does not stop a build.
    """
    known, agrees = _compare_amounts(frame, currency)
    if not known.any():
        return
    agrees = pd.Series(agrees[known].to_numpy(), index=currency[known].to_numpy())
    by_currency = agrees.groupby(level=0).agg(["all", "size"])
    report_agrees = bool(by_currency["all"].get(report_currency, False))
    minimum = MIN_AGREEING_ROWS if report_agrees else 1
    pegged = AT_PAR.get(report_currency, frozenset())
    unconverted = by_currency[
        by_currency["all"]
        & (by_currency.index != report_currency)
        & ~by_currency.index.isin(list(pegged))
    ]
    few = unconverted[unconverted["size"] < minimum]
    for code, row in few.iterrows():
        logger.warning(
            "%s: amount equals amount_original on all %d opportunities in %s, "
            "too few to tell unconverted amounts from a coincidence",
            file,
            int(row["size"]),
            code,
        )
    others = list(unconverted.index[unconverted["size"] >= minimum])
    if not others:
        return
    rows = known & currency.isin(others)
    found = _describe_currencies(frame, currency, rows)
    rates_advice = _rates_advice(canonical_layout, report_currency)
    if report_agrees or len(others) > 1:
        advice = (
            f"Fill amount with the {report_currency} amount on those rows, or "
            f"leave it empty there and {rates_advice}"
        )
    else:
        advice = (
            f"Set report_currency to {others[0]}, or leave amount empty and "
            f"{rates_advice}"
        )
    first = _first_row(frame, rows)
    raise InputError(
        f"{file}: column amount contains amounts in {', '.join(others)}, not in "
        f"the report currency {report_currency}, because amount equals "
        f"amount_original on every opportunity in {found}. {advice}",
        file=file,
        column="amount",
        row=first,
    )


def _compare_amounts(
    frame: pd.DataFrame, currency: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Compare ``amount`` with ``amount_original`` on each row.

    Returns the rows that can be compared, which have both amounts and a
    currency and are not both zero, and a mask that is True on those rows
    whose amounts are equal.
    """
    known = (
        frame["amount"].notna() & frame["amount_original"].notna() & (currency != "")
    )
    both_zero = (frame["amount"].abs() < ZERO_AMOUNT) & (
        frame["amount_original"].abs() < ZERO_AMOUNT
    )
    known &= ~both_zero
    agrees = pd.Series(False, index=frame.index, dtype="bool")
    agrees[known] = np.isclose(
        frame.loc[known, "amount"],
        frame.loc[known, "amount_original"],
        rtol=1e-6,
        atol=ZERO_AMOUNT,
    )
    return known, agrees


def _check_partly_converted(
    frame: pd.DataFrame,
    currency: pd.Series,
    report_currency: str,
    file: str,
    canonical_layout: bool,
) -> None:
    """Raise when some rows of a currency were converted and others were not.

    Rows of a currency other than the report currency whose ``amount``
    differs from ``amount_original`` show that the source converts that
    currency, so rows of it whose amounts are equal were copied without
    conversion. At least :data:`MIN_AGREEING_ROWS` such rows raise, and
    fewer are logged, because a small amount rounded after conversion may
    equal its original. Currencies at par with the report currency pass.
    """
    known, agrees = _compare_amounts(frame, currency)
    pegged = AT_PAR.get(report_currency, frozenset())
    foreign = known & (currency != report_currency) & ~currency.isin(list(pegged))
    partial = []
    for code in sorted(set(currency[foreign])):
        rows = foreign & (currency == code)
        copied = int((rows & agrees).sum())
        if copied == 0 or copied == int(rows.sum()):
            # Every row agreeing is the case of _check_supplied_currency.
            continue
        if copied < MIN_AGREEING_ROWS:
            logger.warning(
                "%s: amount equals amount_original on %d of %d opportunities in "
                "%s whose other amounts were converted, too few to tell "
                "unconverted amounts from rounding",
                file,
                copied,
                int(rows.sum()),
                code,
            )
            continue
        partial.append((code, copied, int(rows.sum())))
    if partial:
        _raise_partly_converted(
            frame, currency, agrees, partial, report_currency, file, canonical_layout
        )


def _raise_partly_converted(
    frame: pd.DataFrame,
    currency: pd.Series,
    agrees: pd.Series,
    partial: list[tuple[str, int, int]],
    report_currency: str,
    file: str,
    canonical_layout: bool,
) -> None:
    """Raise for the partly converted currencies in ``partial``.

    Each entry of ``partial`` is a currency code, its rows whose amounts are
    equal and all its compared rows. The message names the first copied
    row of the first currency and its ``amount`` cell as the file gives it.
    """
    code, copied, total = partial[0]
    rows = agrees & (currency == code)
    first = _first_row(frame, rows)
    if first is None:
        first_index = rows.idxmax()
    else:
        first_index = frame.loc[rows, ROW].idxmin()
    raw_amount = RAW_PREFIX + "amount"
    if raw_amount in frame.columns:
        value = frame.at[first_index, raw_amount]
    else:
        value = frame.at[first_index, "amount"]
    where = file if first is None else f"{file}, row {first}"
    others = [f"{other} ({count} of {size} rows)" for other, count, size in partial[1:]]
    also = ""
    if others:
        also = f" Other currencies copied the same way: {', '.join(others)}."
    those = (
        "that amount was not converted and is"
        if copied == 1
        else f"those {copied} amounts were not converted and are"
    )
    raise InputError(
        f"{where}: amount {value!r} equals amount_original on {copied} of "
        f"{total} opportunities in {code}, while amount differs from it on the "
        f"others, so {those} still in {code}, not in the report currency "
        f"{report_currency}.{also} Fill "
        f"amount with the {report_currency} amount on those rows, or leave it "
        f"empty there and {_rates_advice(canonical_layout, report_currency)}",
        file=file,
        column="amount",
        row=first,
        value=value,
    )


def _describe_currencies(
    frame: pd.DataFrame, currency: pd.Series, rows: pd.Series
) -> str:
    """Describe the currencies of ``rows`` with their row counts and first rows.

    For example ``EUR (670 rows, first row 2), GBP (1 row, first row 9)``,
    where a first row is the file's data row in ``_row``. A frame without
    that column gives the counts alone.
    """
    parts = []
    for code, count in currency[rows].value_counts().sort_index().items():
        text = f"{code} ({count:,} {'row' if count == 1 else 'rows'}"
        first = _first_row(frame, rows & (currency == code))
        parts.append(text + (")" if first is None else f", first row {first})"))
    return ", ".join(parts)


def _first_row(frame: pd.DataFrame, rows: pd.Series) -> int | None:
    if ROW not in frame.columns or not rows.any():
        return None
    return int(frame.loc[rows, ROW].min())


def _rates_advice(canonical_layout: bool, report_currency: str) -> str:
    """Return how to supply a rates table, as the end of a sentence."""
    table = (
        f"columns date, currency, rate, where rate is {report_currency} per one "
        "unit of currency"
    )
    if canonical_layout:
        return f"add {CANONICAL_RATES_FILE} ({table}) to the data folder"
    return f"set rates_file in the source profile to a table with {table}"


def _convert_with_rates(
    rows: pd.DataFrame, currency: pd.Series, rates: pd.DataFrame, file: str
) -> pd.Series:
    rate = rates_at_close(rows, currency, rates)
    missing = rate.isna()
    if missing.any():
        _raise_missing_rates(rows, currency, _rate_dates(rows), missing, rates, file)
    return rows["amount_original"] * rate


def rates_at_close(
    rows: pd.DataFrame, currency: pd.Series, rates: pd.DataFrame
) -> pd.Series:
    """Return each row's rate on its close date, or its creation date without one.

    ``rows`` has ``close_date`` (naive date) and ``created_at`` (UTC),
    ``currency`` the ISO code of each row and ``rates`` is the output of
    :func:`load_rates`. A row dated before the first rate of its currency,
    or in a currency without rates, gets NaN.
    """
    query = pd.DataFrame(
        {
            "date": _rate_dates(rows).astype("datetime64[us]"),
            "currency": currency,
            "_i": rows.index,
        }
    ).sort_values("date", kind="stable")
    matched = pd.merge_asof(
        query, rates, on="date", by="currency", direction="backward"
    ).set_index("_i")
    return matched["rate"].reindex(rows.index)


def _rate_dates(rows: pd.DataFrame) -> pd.Series:
    return rows["close_date"].fillna(
        rows["created_at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
    )


def _raise_missing_rates(
    rows: pd.DataFrame,
    currency: pd.Series,
    when: pd.Series,
    missing: pd.Series,
    rates: pd.DataFrame,
    file: str,
) -> None:
    """Raise for the ``missing`` rows that no rate dated on or before ``when`` covers.

    The message gives, per currency, the earliest date a rate is needed
    for, the rows it affects and the earliest rate the table has.
    """
    parts = []
    for code in sorted(set(currency[missing])):
        needed = missing & (currency == code)
        count = int(needed.sum())
        first = _first_row(rows, needed)
        where = f"{count:,} {'opportunity' if count == 1 else 'opportunities'}"
        if first is not None:
            where += f", first row {first}"
        known = rates.loc[rates["currency"] == code, "date"]
        if known.empty:
            earliest = f"the table has no {code} rate"
        else:
            earliest = f"the earliest {code} rate is dated {_format_date(known.min())}"
        parts.append(
            f"{code} needs a rate dated on or before "
            f"{_format_date(when[needed].min())} ({where}), but {earliest}"
        )
    total = int(missing.sum())
    first = _first_row(rows, missing)
    at_row = "" if first is None else f", first row {first}"
    value = None
    if first is not None:
        value = currency[missing & (rows[ROW] == first)].iloc[0]
    raise InputError(
        f"{file}: no exchange rate on or before the close date (the creation "
        f"date where there is none) for {total:,} "
        f"{'opportunity' if total == 1 else 'opportunities'}{at_row}. "
        f"{'. '.join(parts)}. Add rows to the rates table dated on or before "
        "those dates",
        file=file,
        row=first,
        column="currency",
        value=value,
    )
