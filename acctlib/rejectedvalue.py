"""Money carried by rejected opportunity rows.

A rejected opportunity is in none of the report's figures, so a headline
such as bookings year to date leaves its amount out. The quarantine keeps
each rejected row as the file had it (:mod:`acctlib.intake.quarantine`),
and :func:`summarize_rejected_opportunities` reads the stage and amount
cells of those rows to say how much money they carry.

The summary (``dq_rejected_value`` in the workspace) has one row per stage
category and currency, sorted by category (won, open, lost, unknown stage)
and then currency:

- ``category``: ``won``, ``open`` or ``lost``, from the row's
  ``stage_category`` cell or else from its stage through the stage map,
  and ``unknown stage`` when neither gives one. A stage that differs from
  a mapped one only in letter case or runs of spaces counts under that
  stage, but a misspelled one does not;
- ``currency``: the currency of ``amount``. It is the report currency when
  the row's ``amount`` cell could be read, or when its ``amount_original``
  is in the report currency or names no currency. Otherwise it is the
  currency of ``amount_original``, which is never converted. It is empty
  for opportunities whose amount could not be read at all;
- ``opportunities``: distinct rejected opportunities (int64);
- ``amount``: the sum of their amounts in ``currency`` (float64, missing
  where ``currency`` is empty).

An opportunity counts once, by its ID, however many of its rows were
rejected. Rejected rows whose ID has an accepted row, such as a repeated
row of a duplicated ID, are left out, because the accepted row is in the
figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

import pandas as pd
from IPython.display import HTML

from acctlib import tables
from acctlib.intake.money import (
    SYMBOL_CURRENCIES,
    ColumnFormatError,
    currency_mark_matches,
    currency_marks,
)
from acctlib.intake.parsers import parse_amount, parse_id
from acctlib.intake.quarantine import ROW_REJECTED
from acctlib.intake.stagelint import similar_stages
from acctlib.labels import join_words

SUMMARY_COLUMNS = ["category", "currency", "opportunities", "amount"]
CATEGORIES = ("won", "open", "lost")
UNKNOWN_STAGE = "unknown stage"
DEAL_COLUMNS = (
    "opportunity_id",
    "account_id",
    "name",
    "stage",
    "amount",
    "amount_original",
)
"""Columns of which a rejected row must fill one to count as an opportunity."""
OPPORTUNITY_ROW = "opportunity"
ACCEPTED_REPEAT_ROW = "repeat of accepted"
REJECTED_REPEAT_ROW = "repeat of rejected"
BLANK_ROW = "blank"
ROW_KINDS = (OPPORTUNITY_ROW, ACCEPTED_REPEAT_ROW, REJECTED_REPEAT_ROW, BLANK_ROW)
"""Kinds of rejected opportunity row. Only the first row of each rejected
opportunity counts in the summary. A repeat of an accepted opportunity is
in the figures through its accepted row, a further row of a rejected one
is counted once with it, and a row whose :data:`DEAL_COLUMNS` are all empty
is no opportunity."""
_CATEGORY_ORDER = {
    name: order for order, name in enumerate((*CATEGORIES, UNKNOWN_STAGE))
}


def summarize_rejected_opportunities(
    rejected: pd.DataFrame,
    stage_map: Mapping[str, Mapping[str, Any]],
    report_currency: str,
    *,
    accepted_ids: Iterable[str] = (),
    options: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
) -> pd.DataFrame:
    """Summarize the rejected opportunities by stage category and currency.

    Parameters
    ----------
    rejected
        Rejected rows and blanked cells as
        :meth:`~acctlib.intake.quarantine.Quarantine.to_frame` returns them.
        Only the ``row rejected`` rows of the ``opportunities`` table count.
    stage_map
        Stage name to its ``category`` (open, won or lost).
    report_currency
        ISO 4217 code of the report currency.
    accepted_ids
        IDs of the accepted opportunities, as intake parsed them.
    options
        Parser options by file and then column, as
        :attr:`~acctlib.intake.Intake.opportunity_options` stores them, so
        that ``opportunity_id``, ``amount`` and ``amount_original`` cells are
        read as intake read them (a 15-character Salesforce ID in its
        18-character form, ``1.234,50`` under ``locale: de-DE``). A file
        without options is read in the canonical notation.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`SUMMARY_COLUMNS`, described in the module
        docstring; empty when no opportunity was rejected.
    """
    options = options or {}
    deals = list_rejected_opportunities(rejected, accepted_ids, options)
    if deals.empty:
        return _empty_summary()
    deals["category"] = [
        classify_stage(record, stage_map) for record in deals["record"]
    ]
    amounts = _read_amounts(deals, report_currency, options)
    deals = pd.concat([deals, amounts], axis=1)
    return _sum_by_category(deals, report_currency)


def list_rejected_opportunities(
    rejected: pd.DataFrame,
    accepted_ids: Iterable[str] = (),
    options: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
) -> pd.DataFrame:
    """Return one rejected row per opportunity that has no accepted row.

    The columns are ``opportunity_id`` (parsed with the file's ``options``,
    or as written where it does not parse), ``file``, ``row`` and
    ``record`` (the row's cells by canonical column). Of several rejected
    rows with one ID, the first in file and row order is kept. A row
    without an ID is an opportunity of its own, unless the cells of
    :data:`DEAL_COLUMNS` are all empty, as in a blank line of a file. Other
    cells do not count, because an adapter may fill them, such as the type.
    """
    rows = _classify_rejected_rows(rejected, accepted_ids, options or {})
    deals = rows[rows["kind"] == OPPORTUNITY_ROW]
    return deals.drop(columns="kind").reset_index(drop=True)


def count_rejected_rows(
    rejected: pd.DataFrame,
    accepted_ids: Iterable[str] = (),
    options: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
) -> pd.DataFrame:
    """Count the rejected opportunity rows by how the summary treats them.

    Returns one row per kind of :data:`ROW_KINDS`, in that order, with the
    columns ``kind`` and ``rows`` (int64). The rows add up to the rejected
    rows of the ``opportunities`` table that intake counts. Arguments are
    those of :func:`list_rejected_opportunities`.
    """
    rows = _classify_rejected_rows(rejected, accepted_ids, options or {})
    counts = rows["kind"].value_counts()
    return pd.DataFrame(
        {
            "kind": pd.Series(ROW_KINDS, dtype="str"),
            "rows": pd.Series(
                [int(counts.get(kind, 0)) for kind in ROW_KINDS], dtype="int64"
            ),
        }
    )


def _classify_rejected_rows(
    rejected: pd.DataFrame,
    accepted_ids: Iterable[str],
    options: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> pd.DataFrame:
    """Return every rejected opportunity row with the kind of :data:`ROW_KINDS`.

    The columns are those of :func:`list_rejected_opportunities` and
    ``kind``.
    """
    rows = rejected[
        (rejected["table"] == "opportunities") & (rejected["action"] == ROW_REJECTED)
    ]
    # An adapter may derive several opportunities from one line of a file,
    # so a line counts once per opportunity ID in its cells, as intake
    # counts rejected rows. A rejection without an ID counts only on a
    # line that has no rejection with one.
    raw_ids = [_text(json.loads(text).get("opportunity_id")) for text in rows["record"]]
    rows = rows.assign(_raw_id=raw_ids).drop_duplicates(["file", "row", "_raw_id"])
    line_has_id = rows.groupby(["file", "row"])["_raw_id"].transform(
        lambda line_ids: bool((line_ids != "").any())
    )
    rows = rows[(rows["_raw_id"] != "") | ~line_has_id.astype("bool")]
    rows = rows.sort_values(["file", "row"], kind="stable")
    records = [json.loads(text) for text in rows["record"]]
    ids = [
        _parse_id(record.get("opportunity_id"), options.get(file, {}))
        for file, record in zip(rows["file"], records, strict=True)
    ]
    deals = pd.DataFrame(
        {
            "opportunity_id": pd.Series(ids, dtype="object"),
            "file": pd.Series(rows["file"].to_list(), dtype="object"),
            "row": pd.Series(rows["row"].to_list(), dtype="int64"),
            "record": pd.Series(records, dtype="object"),
        }
    )
    blank = [
        not any(_text(record.get(column)) for column in DEAL_COLUMNS)
        for record in records
    ]
    blank = pd.Series(blank, index=deals.index, dtype="bool")
    accepted = deals["opportunity_id"].isin(set(accepted_ids))

    # Of the other rows with an ID, the first of each ID is the opportunity.
    candidates = deals.loc[~blank & ~accepted & (deals["opportunity_id"] != "")]
    repeats = candidates.index[candidates["opportunity_id"].duplicated()]
    repeated = deals.index.isin(repeats)

    kinds = pd.Series(OPPORTUNITY_ROW, index=deals.index, dtype="object")
    kinds[accepted] = ACCEPTED_REPEAT_ROW
    kinds[repeated] = REJECTED_REPEAT_ROW
    kinds[blank] = BLANK_ROW
    return deals.assign(kind=kinds)


def classify_stage(
    record: Mapping[str, Any], stage_map: Mapping[str, Mapping[str, Any]]
) -> str:
    """Return the stage category of a raw opportunity row, or ``unknown stage``.

    A ``stage_category`` cell of open, won or lost wins over the stage map,
    as it does in intake. A stage that differs from a mapped one only in
    letter case or runs of spaces takes that stage's category.
    """
    supplied = _text(record.get("stage_category")).lower()
    if supplied in CATEGORIES:
        return supplied
    stage = _text(record.get("stage"))
    if not stage:
        return UNKNOWN_STAGE
    entry = stage_map.get(stage)
    if entry is None:
        same, _ = similar_stages(stage, stage_map)
        entry = stage_map.get(same) if same is not None else None
    category = str((entry or {}).get("category", ""))
    return category if category in CATEGORIES else UNKNOWN_STAGE


def describe_rejected_value(
    summary: pd.DataFrame,
    report_currency: str,
    slice_label: str = "",
    row_counts: pd.DataFrame | None = None,
) -> str | None:
    """Return a sentence on what the rejected opportunities are worth, or None.

    ``summary`` is the table :func:`summarize_rejected_opportunities`
    returns. For example "4 rejected opportunities worth USD 100,000 (won
    USD 40,000, open USD 60,000) are left out of these figures; see Data
    quality." Amounts in other currencies follow, each in its own currency,
    and a further sentence counts the opportunities whose amount could not
    be read.

    ``row_counts`` is the table :func:`count_rejected_rows` returns. When
    more opportunity rows were rejected than opportunities counted, the
    sentence starts from the rows, as the counts of rejected rows per table
    do, and names the rest: "5 opportunity rows were rejected: 4
    opportunities worth ... are left out of these figures, and 1 row
    repeats an accepted opportunity; see Data quality."

    When every rejected row repeats an accepted opportunity or is blank,
    no opportunity is left out, and the sentence still counts the rows
    and gives their reasons: "3 opportunity rows were rejected, but no
    opportunity is left out of these figures: 2 rows repeat accepted
    opportunities and 1 row is blank; see Data quality."

    In a run sliced to ``slice_label``, such as "owner Fatima Cohen", a last
    sentence states that the count covers the whole company, because
    rejected rows are not sliced. Returns None when no opportunity row was
    rejected.
    """
    if summary.empty:
        first = _describe_rows_without_value(row_counts)
        if first is None:
            return None
        return " ".join([first, *_slice_sentences(slice_label)])
    count = int(summary["opportunities"].sum())
    noun = _plural(count, "opportunity", "opportunities")
    verb = "is" if count == 1 else "are"
    unread = int(summary.loc[summary["currency"] == "", "opportunities"].sum())
    if unread == count:
        worth = "with no readable amount"
    else:
        worth = f"worth {_describe_worth(summary, report_currency)}"
    others = _describe_other_rows(row_counts)
    if others:
        rows = int(row_counts["rows"].sum())
        were = "row was" if rows == 1 else "rows were"
        first = (
            f"{rows:,} opportunity {were} rejected: {count:,} {noun} {worth} "
            f"{verb} left out of these figures, and {others}; see Data quality."
        )
    else:
        first = (
            f"{count:,} rejected {noun} {worth} {verb} left out of these "
            "figures; see Data quality."
        )
    sentences = [first]
    if 0 < unread < count:
        them = "it" if unread == 1 else "them"
        sentences.append(f"The amount of {unread:,} of {them} could not be read.")
    sentences.extend(_slice_sentences(slice_label))
    return " ".join(sentences)


def _describe_rows_without_value(row_counts: pd.DataFrame | None) -> str | None:
    """Return the sentence on rejected rows that leave no opportunity out.

    Returns None when ``row_counts`` counts no repeated or blank row.
    """
    reasons = _describe_other_rows(row_counts)
    if not reasons:
        return None
    rows = int(row_counts["rows"].sum())
    were = "row was" if rows == 1 else "rows were"
    return (
        f"{rows:,} opportunity {were} rejected, but no opportunity is left out "
        f"of these figures: {reasons}; see Data quality."
    )


def _slice_sentences(slice_label: str) -> list[str]:
    if not slice_label:
        return []
    return [
        f"Rejected rows are counted for the whole company, not only the "
        f"accounts of {slice_label}."
    ]


def _describe_other_rows(row_counts: pd.DataFrame | None) -> str:
    """Return "1 row repeats an accepted opportunity and ...", or "" for none.

    Names the rejected rows of ``row_counts`` that are not the first row
    of a rejected opportunity.
    """
    if row_counts is None:
        return ""
    counts = dict(zip(row_counts["kind"], row_counts["rows"], strict=True))
    phrases = []
    for kind, singular, plural in (
        (ACCEPTED_REPEAT_ROW, "repeats an accepted opportunity", "repeat accepted"),
        (REJECTED_REPEAT_ROW, "repeats a rejected opportunity", "repeat rejected"),
    ):
        rows = int(counts.get(kind, 0))
        if rows:
            text = singular if rows == 1 else f"{plural} opportunities"
            phrases.append(f"{rows:,} {_plural(rows, 'row', 'rows')} {text}")
    blank = int(counts.get(BLANK_ROW, 0))
    if blank:
        phrases.append(f"{blank:,} {_plural(blank, 'row is', 'rows are')} blank")
    return join_words(phrases)


def rejected_value_table(ws: Any) -> object:
    """Return the rejected opportunities and their amounts per stage category.

    Returns a note when no opportunity was rejected, which names the
    rejected rows that repeat an accepted opportunity or are blank.
    """
    summary = ws.table("dq_rejected_value")
    if summary.empty:
        other = _describe_other_rows(ws.table("dq_rejected_rows"))
        if other:
            return _note(
                f"No opportunity was rejected: {other}, so every opportunity "
                "is in the figures."
            )
        return _note("No opportunity was rejected.")
    frame = summary.assign(
        category=summary["category"].str.capitalize(),
        amount=[
            tables.format_money(amount, currency) if currency else "not readable"
            for amount, currency in zip(
                summary["amount"], summary["currency"], strict=True
            )
        ],
    )
    return tables.style_table(
        frame[["category", "opportunities", "amount"]],
        counts=["opportunities"],
        labels={
            "category": "Stage category",
            "opportunities": "Opportunities",
            "amount": "Amount",
        },
        caption=(
            "Each opportunity counts once, under the stage category of its raw "
            "row. A rejected repeat of an accepted opportunity is left out, "
            "because its accepted row is in the figures."
        ),
    )


def executive_note(ws: Any) -> list[HTML]:
    """Return the sentence on rejected opportunity rows, or nothing when none.

    The executive summary shows it beside the headline figures, because
    they leave those deals out.
    """
    sentence = describe_rejected_value(
        ws.table("dq_rejected_value"),
        ws.currency,
        ws.headline.get("slice") or "",
        ws.table("dq_rejected_rows"),
    )
    return [] if sentence is None else [_note(sentence)]


def _read_amounts(
    deals: pd.DataFrame,
    report_currency: str,
    options: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> pd.DataFrame:
    """Return each deal's readable ``amount`` and the ``currency`` it is in.

    The ``amount`` cell is in the report currency, as intake takes it,
    unless a currency mark in the cell names another currency. Without a
    readable ``amount``, ``amount_original`` counts in its row's currency.
    """
    values: list[float] = []
    currencies: list[str] = []
    for file, record in zip(deals["file"], deals["record"], strict=True):
        columns = options.get(file, {})
        amount = _parse_cell(record.get("amount"), columns.get("amount", {}))
        if amount is not None:
            mark = _currency_of_mark(record.get("amount"), report_currency)
            values.append(amount)
            currencies.append(mark or report_currency)
            continue
        original = _parse_cell(
            record.get("amount_original"), columns.get("amount_original", {})
        )
        if original is None:
            values.append(float("nan"))
            currencies.append("")
            continue
        code = _text(record.get("currency")).upper()
        mark = _currency_of_mark(record.get("amount_original"), report_currency)
        values.append(original)
        currencies.append(code or mark or report_currency)
    return pd.DataFrame({"amount": values, "currency": currencies}, index=deals.index)


def _parse_cell(cell: object, options: Mapping[str, Any]) -> float | None:
    """Return the amount in ``cell`` read with the column's parser options.

    Returns None for a blank or unreadable cell, and for one whose format
    only its whole column could settle, such as ``1,234`` without a locale.
    """
    text = _text(cell)
    if not text:
        return None
    try:
        parsed = parse_amount(pd.Series([text], dtype="object"), **options)
    except ColumnFormatError:
        return None
    value = parsed.values.iloc[0]
    return None if bool(parsed.failed.iloc[0]) or pd.isna(value) else float(value)


def _currency_of_mark(cell: object, report_currency: str) -> str | None:
    """Return the currency a mark in ``cell`` names, when not the report currency.

    A symbol written for several currencies, such as ``£``, is returned as
    the symbol itself, because the cell does not say which one it means.
    """
    marks = currency_marks(pd.Series([_text(cell)], dtype="object"))
    mark = marks.iloc[0]
    if mark is None or currency_mark_matches(mark, report_currency):
        return None
    codes = SYMBOL_CURRENCIES.get(mark, (mark,))
    return codes[0] if len(codes) == 1 else mark


def _sum_by_category(deals: pd.DataFrame, report_currency: str) -> pd.DataFrame:
    grouped = deals.groupby(["category", "currency"], as_index=False).agg(
        opportunities=("file", "size"), amount=("amount", "sum")
    )
    grouped.loc[grouped["currency"] == "", "amount"] = float("nan")
    # The report currency comes first in each category, unreadable amounts last.
    currency_order = grouped["currency"].map(
        lambda code: (code == "", code != report_currency, code)
    )
    grouped = grouped.assign(
        _category=grouped["category"].map(_CATEGORY_ORDER), _currency=currency_order
    )
    grouped = grouped.sort_values(["_category", "_currency"], kind="stable")
    summary = grouped[SUMMARY_COLUMNS].reset_index(drop=True)
    return summary.astype(
        {
            "category": "str",
            "currency": "str",
            "opportunities": "int64",
            "amount": "float64",
        }
    )


def _describe_worth(summary: pd.DataFrame, report_currency: str) -> str:
    """Return "USD 100,000 (won USD 40,000, ...)" and amounts not converted."""
    parts = []
    in_report = summary[summary["currency"] == report_currency]
    if not in_report.empty:
        total = tables.format_money(in_report["amount"].sum(), report_currency)
        split = ", ".join(
            f"{category} {tables.format_money(amount, report_currency)}"
            for category, amount in zip(
                in_report["category"], in_report["amount"], strict=True
            )
        )
        parts.append(f"{total} ({split})")
    others = summary[~summary["currency"].isin(["", report_currency])]
    if not others.empty:
        sums = others.groupby("currency", sort=True)["amount"].sum()
        amounts = " and ".join(
            tables.format_money(amount, currency) for currency, amount in sums.items()
        )
        parts.append(f"{amounts} not converted to {report_currency}")
    return " plus ".join(parts)


def _empty_summary() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "category": pd.Series(dtype="str"),
            "currency": pd.Series(dtype="str"),
            "opportunities": pd.Series(dtype="int64"),
            "amount": pd.Series(dtype="float64"),
        }
    )


def _plural(count: int, singular: str, plural: str) -> str:
    return singular if count == 1 else plural


def _parse_id(cell: object, options: Mapping[str, Mapping[str, Any]]) -> str:
    """Return the ID in ``cell`` as intake parses it, or its text when invalid."""
    text = _text(cell)
    if not text:
        return ""
    parsed = parse_id(
        pd.Series([text], dtype="object"), **options.get("opportunity_id", {})
    )
    return text if bool(parsed.failed.iloc[0]) else str(parsed.values.iloc[0])


def _text(value: object) -> str:
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value).strip()


def _note(text: str) -> HTML:
    return HTML(f'<p class="note">{escape(text)}</p>')
