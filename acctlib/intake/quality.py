"""Data-quality steps of intake: account merging and opportunity checks.

:func:`merge_duplicate_accounts` applies :mod:`acctlib.intake.dedupe` to
the parsed tables. :func:`check_opportunities` lists what is odd but not
wrong enough to reject: deals closed before they were created, won deals
without an amount or without a converted one, open or won deals with a
negative amount, amounts far above the median, deals without an account
and deals shared by several companies. Each finding
is one row with a count and a sentence, which the ``check`` command and
the data-quality section show.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from acctlib import schema
from acctlib.asof import LATE_CLOSE_DAYS
from acctlib.intake.bulktable import BulkTable
from acctlib.intake.currency import rates_at_close
from acctlib.intake.dedupe import find_duplicates
from acctlib.tables import format_money

FINDING_COLUMNS = ["check", "rows", "amount", "unconverted_amount", "message"]
"""Columns of a finding. ``amount`` is in the report currency.
``unconverted_amount`` is the text of the amounts that no rate converts to it,
summed per currency, such as "EUR 12,500", and is empty for most findings."""
REFERENCING = {
    "opportunities": "account_id",
    "touchpoints": "account_id",
    "revenue": "account_id",
    "signals": "account_id",
}


def merge_duplicate_accounts(
    tables: Mapping[str, pd.DataFrame],
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Merge accounts with the same website domain and re-point references.

    The surviving account keeps its own fields, except ``created_at``,
    which becomes the earliest of the accounts merged into it, so that
    deals of a merged account still count under the survivor at month-ends
    before the survivor's own creation.

    Returns new tables and the audit table of
    :func:`acctlib.intake.dedupe.find_duplicates`.
    """
    accounts = tables["accounts"]
    merges, audit = find_duplicates(accounts)
    result = dict(tables)
    if not merges:
        return result, audit
    keep = ~accounts["account_id"].isin(list(merges))
    merged_accounts = accounts[keep].copy()
    if "created_at" in merged_accounts:
        merged_accounts["created_at"] = _earliest_created_at(
            accounts, merged_accounts, merges
        )
    if "parent_account_id" in merged_accounts:
        merged_accounts["parent_account_id"] = merged_accounts[
            "parent_account_id"
        ].replace(merges)
    result["accounts"] = merged_accounts.reset_index(drop=True)
    for name, column in REFERENCING.items():
        if name not in result:
            continue
        if isinstance(result[name], BulkTable):
            result[name].replace_values(column, merges)
            continue
        frame = result[name].copy()
        frame[column] = frame[column].replace(merges)
        result[name] = frame
    return result, audit


def _earliest_created_at(
    accounts: pd.DataFrame, kept: pd.DataFrame, merges: Mapping[str, str]
) -> pd.Series:
    """Return ``created_at`` of the ``kept`` accounts after merging.

    Each survivor takes the earliest date of itself and the accounts merged
    into it, skipping missing dates. Other accounts keep their own value.
    """
    group = accounts["account_id"].replace(merges)
    earliest = accounts["created_at"].groupby(group).min()
    absorbed = kept["account_id"].isin(set(merges.values()))
    own = kept["created_at"]
    return own.mask(absorbed, kept["account_id"].map(earliest)).astype(own.dtype)


def check_opportunities(
    opportunities: pd.DataFrame,
    extras: Mapping[str, pd.DataFrame],
    stage_history: pd.DataFrame | None = None,
    report_currency: str | None = None,
    rates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return the data-quality findings of accepted opportunities.

    Parameters
    ----------
    opportunities
        Parsed opportunities with ``stage_category``, ``amount``,
        ``created_at`` (UTC), ``close_date``, ``stage`` and ``account_id``.
    extras
        Intake's audit tables; ``deal_companies`` (``opportunity_id``,
        ``account_id``, ``position``) adds the shared-deal finding.
    stage_history
        Parsed stage history (``opportunity_id``, ``stage``, ``entered_at``),
        or None. It adds the finding of closed deals whose ``close_date``
        is over :data:`LATE_CLOSE_DAYS` days before they entered their
        closing stage.
    report_currency
        ISO code of the report currency, which a row without a
        ``currency`` is in. It names the amounts of won deals that have an
        ``amount_original`` but no converted ``amount``.
    rates
        Output of :func:`acctlib.intake.currency.load_rates`, or None. It
        converts the original amounts of such deals, to state what
        bookings leave out in the report currency.
    """
    findings = []
    created_on = (
        opportunities["created_at"].dt.tz_convert("UTC").dt.tz_localize(None)
    ).dt.normalize()
    early = opportunities["close_date"].notna() & (
        opportunities["close_date"] < created_on
    )
    findings.append(
        _finding(
            "closed before created",
            early,
            opportunities,
            "with a close date before the creation date, kept as exported. "
            "The report dates the close of each one whose stage history "
            "records its closing stage by that entry instead",
        )
    )
    won = opportunities["stage_category"] == "won"
    if stage_history is not None and not stage_history.empty:
        findings.append(
            _finding(
                LATE_CLOSE_CHECK,
                _closed_before_close_stage(opportunities, stage_history),
                opportunities,
                f"won or lost with a close_date over {LATE_CLOSE_DAYS} days "
                "before the stage history shows them entering that stage. The "
                "report dates each such close by that entry, on every report "
                "date alike",
            )
        )
    unpriced = won & opportunities["amount"].isna()
    unconverted = unpriced & _column(opportunities, "amount_original").notna()
    findings.append(
        _finding(
            WON_WITHOUT_AMOUNT_CHECK,
            unpriced & ~unconverted,
            opportunities,
            "won without an amount (nothing added to bookings)",
        )
    )
    if unconverted.any():
        findings.append(
            _unconverted_finding(
                opportunities[unconverted], report_currency or "", rates
            )
        )
    findings.append(
        _finding(
            "no amount",
            ~won & opportunities["amount"].isna(),
            opportunities,
            "without an amount, counted as missing rather than zero",
        )
    )
    is_open = opportunities["stage_category"] == "open"
    findings.append(
        _finding(
            "negative open amount",
            is_open & (opportunities["amount"] < 0),
            opportunities,
            "open with a negative amount, kept in the pipeline as exported",
        )
    )
    findings.append(
        _finding(
            "negative won amount",
            won & (opportunities["amount"] < 0),
            opportunities,
            "won with a negative amount, which lowers bookings and the "
            "account's value as exported",
        )
    )
    outliers, median = _outlier_amounts(opportunities["amount"])
    largest = opportunities.loc[outliers].nlargest(1, "amount")
    example = "".join(
        f"; the largest is deal {row.opportunity_id} at {row.amount:,.2f}"
        for row in largest.itertuples()
    )
    findings.append(
        _finding(
            OUTLIER_CHECK,
            outliers,
            opportunities,
            f"with an amount over {OUTLIER_FACTOR:,} times the median deal "
            f"amount ({median:,.2f}), kept as exported{example}. Check the "
            "units and currency of such amounts",
        )
    )
    findings.append(
        _finding(
            "no account",
            opportunities["account_id"].isna(),
            opportunities,
            f'without a company, reported under "{schema.NO_ACCOUNT}"',
        )
    )
    findings.append(_invalid_currency_finding(opportunities))
    companies = extras.get("deal_companies")
    if companies is not None and not companies.empty:
        per_deal = companies.groupby("opportunity_id")["account_id"].nunique()
        shared = per_deal[per_deal > 1]
        accepted = opportunities["opportunity_id"].isin(shared.index)
        largest = int(shared.max()) if not shared.empty else 0
        findings.append(
            _finding(
                "shared deal",
                accepted,
                opportunities,
                f"shared by {largest} companies"
                if shared.nunique() <= 1
                else f"shared by 2 to {largest} companies",
            )
        )
    findings = [finding for finding in findings if finding["rows"]]
    return pd.DataFrame(findings, columns=FINDING_COLUMNS)


INVALID_CURRENCY_CHECK = "invalid currency code"
"""Check name of deals whose currency cell is not a three-letter ISO 4217 code."""


def _invalid_currency_finding(opportunities: pd.DataFrame) -> dict[str, object]:
    """Return the finding of deals whose currency is not three letters, as ``EURO``.

    ISO 4217 codes are three letters, so a longer or shorter code cannot
    name a currency. Only the form is checked, because the package contains
    no list of the codes in use. Intake reads codes trimmed and in any case,
    and a deal without a currency cell is not flagged.
    """
    codes = pd.Series(pd.NA, index=opportunities.index, dtype="string")
    if "currency" in opportunities.columns:
        codes = opportunities["currency"].astype("string").str.strip()
    invalid = codes.notna() & codes.ne("") & ~codes.str.fullmatch("[A-Za-z]{3}")
    invalid = invalid.fillna(False).astype(bool)
    listed = ", ".join(repr(code) for code in sorted(set(codes[invalid]))[:3])
    first = opportunities.loc[invalid, "opportunity_id"].head(1).tolist()
    deal = f" (first deal {first[0]})" if first else ""
    return _finding(
        INVALID_CURRENCY_CHECK,
        invalid,
        opportunities,
        f"with a currency code that is not a three-letter ISO 4217 code: "
        f"{listed}{deal}. Correct the code in the CRM, such as EUR for euro",
    )


LATE_CLOSE_CHECK = "closed before close stage"
"""Check name of closed deals dated long before their stage history closes them."""


def _closed_before_close_stage(
    opportunities: pd.DataFrame, stage_history: pd.DataFrame
) -> pd.Series:
    """Flag closed deals whose close_date is long before their last closing entry."""
    closed = opportunities["stage_category"].isin(["won", "lost"])
    entries = stage_history[["opportunity_id", "stage", "entered_at"]].dropna()
    # The latest entry into each deal's current stage.
    current = opportunities.loc[closed, ["opportunity_id", "stage"]]
    matched = entries.merge(current, on=["opportunity_id", "stage"])
    entered = matched.groupby("opportunity_id")["entered_at"].max()
    entered_on = pd.to_datetime(entered, utc=True).dt.tz_localize(None).dt.normalize()
    # Aligned by reindexing: Series.map with an empty datetime mapper raises.
    entered_on = pd.Series(
        entered_on.reindex(opportunities["opportunity_id"]).to_numpy(),
        index=opportunities.index,
    )
    limit = entered_on - pd.Timedelta(days=LATE_CLOSE_DAYS)
    close = pd.to_datetime(opportunities["close_date"])
    return (closed & close.notna() & entered_on.notna() & (close < limit)).astype(bool)


WON_WITHOUT_AMOUNT_CHECK = "won without amount"
"""Check name of won deals without an amount, which bookings leave out."""

WON_UNCONVERTED_CHECK = "won without converted amount"
"""Check name of won deals with an original amount but no converted one."""


def _unconverted_finding(
    deals: pd.DataFrame, report_currency: str, rates: pd.DataFrame | None
) -> dict[str, object]:
    """Return the finding of won ``deals`` with ``amount_original`` but no ``amount``.

    Bookings leave them out. The finding's amount is what they are worth in
    the report currency: ``amount_original`` of deals in it, and of other
    deals converted through ``rates`` at the close-date rate. Deals that no
    rate converts are left out of the amount, and their sums per currency
    go into ``unconverted_amount`` and the message.
    """
    currency = _column(deals, "currency").fillna(report_currency)
    currency = currency.replace("", report_currency)
    in_report = currency == report_currency
    value = deals["amount_original"].where(in_report)
    if rates is not None:
        rate = rates_at_close(deals[~in_report], currency[~in_report], rates)
        value[~in_report] = deals.loc[~in_report, "amount_original"] * rate
    count = len(deals)
    noun = "deal" if count == 1 else "deals"
    written = _sum_per_currency(deals["amount_original"], currency)
    left_out = []
    unconverted = ""
    if value.notna().any():
        converted = format_money(value.sum(), report_currency)
        if (value.notna() & ~in_report).any():
            converted += " at the rates table's close-date rate"
        left_out.append(converted)
    if value.isna().any():
        unconverted = _sum_per_currency(
            deals.loc[value.isna(), "amount_original"], currency[value.isna()]
        )
        left_out.append(f"{unconverted} not converted to {report_currency}")
    return {
        "check": WON_UNCONVERTED_CHECK,
        "rows": count,
        "amount": float(value.sum()) if value.notna().any() else float("nan"),
        "unconverted_amount": unconverted,
        "message": (
            f"{count:,} {noun} won with {written} but no converted amount; "
            f"bookings leave out {' plus '.join(left_out)}."
        ),
    }


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """Return column ``name`` of ``frame``, or missing values where it has none."""
    if name in frame.columns:
        return frame[name]
    return pd.Series(None, index=frame.index, dtype="object")


def _sum_per_currency(amounts: pd.Series, currency: pd.Series) -> str:
    """Return sums per currency such as "EUR 150,000, GBP 2,000 and USD 500"."""
    sums = amounts.groupby(currency, sort=True).sum()
    parts = [format_money(amount, code) for code, amount in sums.items()]
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


OUTLIER_CHECK = "outlier amount"
"""Check name of deals whose amount dwarfs the rest, which can swamp every total."""
OUTLIER_FACTOR = 10_000
"""Multiple of the median positive amount above which a deal is an outlier."""
OUTLIER_MIN_DEALS = 20
"""Positive amounts needed before any deal counts as an outlier."""


def _outlier_amounts(amounts: pd.Series) -> tuple[pd.Series, float]:
    """Flag amounts over :data:`OUTLIER_FACTOR` times the median positive amount.

    Such a deal is more likely a typo, cents read as units or an amount in
    another currency than a real deal, and it can dominate every total.
    Returns the flags and the median (0.0 with too few positive amounts,
    when nothing is flagged).
    """
    positive = amounts[amounts > 0]
    if len(positive) < OUTLIER_MIN_DEALS:
        return pd.Series(False, index=amounts.index), 0.0
    median = float(positive.median())
    return amounts > OUTLIER_FACTOR * median, median


def _finding(
    check: str, mask: pd.Series, opportunities: pd.DataFrame, text: str
) -> dict[str, object]:
    count = int(mask.sum())
    amounts = opportunities.loc[mask, "amount"]
    # Deals flagged for lacking an amount have no amount to sum, not zero.
    amount = float(amounts.sum()) if amounts.notna().any() else float("nan")
    noun = "deal" if count == 1 else "deals"
    return {
        "check": check,
        "rows": count,
        "amount": amount,
        "unconverted_amount": "",
        "message": f"{count:,} {noun} {text}.",
    }
