"""Display blocks the notebooks show: headline cards and formatted tables.

Each function takes an open :class:`~acctlib.workspace.Workspace` (or a frame
from it) and returns an object that Jupyter displays as HTML, so a notebook
cell is one call. All text from the CRM is HTML-escaped.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from IPython.display import HTML

from acctlib import schema, summary, tables
from acctlib.labels import WON_PLUS_OPEN_ACV, readable_column
from acctlib.workspace import Workspace

MAP_LABELS = {
    "account_id": "Account ID",
    "name": "Account",
    "industry": "Industry",
    "region": "Region",
    "owner": "Owner",
    "status": "Status",
    "open_pipeline": "Open pipeline",
    "open_acv": "Open ACV (annualised)",
    "won_acv": "Won ACV",
    "tcv": "TCV",
    "lifetime_revenue": "Lifetime revenue",
    "revenue_12m": "Revenue, 12 months",
    "most_advanced_stage": "Furthest open stage",
    "marketing_touches_90d": "Marketing touches, 90 days",
    "value": WON_PLUS_OPEN_ACV,
}


def kpi_cards(cards: list[dict[str, str]]) -> HTML:
    """Return headline figures as a row of cards.

    A card with a non-empty ``caveat`` shows it under the value, for a
    figure that reads more certain than it is.
    """
    items = "".join(
        '<div class="acctlib-kpi">'
        f'<div class="label">{html.escape(card["label"])}</div>'
        f'<div class="value">{html.escape(card["value"])}</div>'
        + (
            f'<div class="caveat">{html.escape(card["caveat"])}</div>'
            if card.get("caveat")
            else ""
        )
        + "</div>"
        for card in cards
    )
    return HTML(f'<div class="acctlib-kpis">{items}</div>')


def headline(ws: Workspace) -> HTML:
    """Return the run's headline figures as cards."""
    return kpi_cards(tables.headline_cards(ws.headline, ws.currency, ws.as_of))


def has_touchpoints(ws: Workspace) -> bool:
    """Return whether the run's source has a touchpoints table."""
    return "touchpoints" in ws.info.get("tables", ["touchpoints"])


PERIOD_NOTE_CLASS = "acctlib-period"
"""Class of a note stating the period of the chart that follows it.

The email digest shows such a note beside the chart's image.
"""


def note(text: str, period: bool = False) -> HTML:
    """Return one line of explanatory text, escaped.

    With ``period``, the note also has :data:`PERIOD_NOTE_CLASS`.
    """
    classes = f"acctlib-note {PERIOD_NOTE_CLASS}" if period else "acctlib-note"
    return HTML(f'<p class="{classes}">{html.escape(text)}</p>')


def note_list(lead: str, items: list[str]) -> HTML:
    """Return a line of explanatory text followed by a list, escaped."""
    listing = "".join(f"<li>{html.escape(item)}</li>" for item in items)
    return HTML(
        f'<p class="acctlib-note">{html.escape(lead)}</p>'
        f'<ul class="acctlib-note">{listing}</ul>'
    )


_DOMINATED_FIGURES = {
    "bookings_ytd": "bookings year to date",
    "open_pipeline": "the open pipeline",
}


def concentration_notes(ws: Workspace) -> list[HTML]:
    """Return a note for each headline total that one deal makes up most of.

    A figure that one deal dominates moves with that deal alone, and an
    amount typed in the wrong unit can cause this, so the note names the
    deal and its amount for the reader to check.
    """
    snapshot = ws.table("opportunity_snapshot")
    dominant = summary.find_dominant_deals(snapshot, ws.as_of)
    account_names = ws.table("account_map").set_index("account_id")["name"]
    notes = []
    for row in dominant.itertuples():
        deal = f"deal {row.opportunity_id}"
        if isinstance(row.name, str) and row.name:
            deal += f" ({row.name})"
        account = account_names.get(row.account_id)
        if isinstance(account, str) and account:
            deal += f" of {account}"
        elif pd.notna(row.account_id):
            deal += f" of account {row.account_id}"
        amount = tables.format_money(row.amount, ws.currency)
        total = tables.format_money(row.total, ws.currency)
        notes.append(
            note(
                f"One deal is {row.amount / row.total:.0%} of "
                f"{_DOMINATED_FIGURES[row.figure]}: {deal} at {amount} of "
                f"{total}. Check its amount, because this figure moves with "
                "that deal alone."
            )
        )
    return notes


def acv_note(ws: Workspace) -> HTML:
    """Return the note on how ACV annualises a contract's amount."""
    months = ws.params["default_contract_months"]
    return note(
        "ACV is a contract's amount times 12 divided by "
        "its length in months, so a contract shorter than a year is scaled up to "
        "a full year. Deals without a contract length count as "
        f"{months} {'month' if months == 1 else 'months'}."
    )


def status_table(ws: Workspace) -> object:
    """Return accounts per status with their value, as a formatted table."""
    account_map = ws.table("account_map")
    counts = summary.summarize_status_counts(account_map)
    accounts = account_map[account_map["account_id"] != schema.NO_ACCOUNT]
    money = ["open_pipeline", "won_acv"]
    # A status's sum is missing when every account's amount is missing, and
    # 0 for a status without accounts.
    value = accounts.groupby("status")[money].sum(min_count=1)
    frame = counts.join(value, on="status")
    frame[money] = frame[money].where(frame["accounts"] > 0, 0.0)
    frame["status"] = frame["status"].str.replace("_", " ").str.capitalize()
    orphan = _no_account_row(account_map, "status")
    if not orphan.empty:
        orphan = orphan.reindex(columns=frame.columns)
        frame = pd.concat([frame, orphan], ignore_index=True)
    return tables.style_table(
        frame,
        currency=ws.currency,
        counts=["accounts"],
        money=money,
        labels={"status": "Status", "accounts": "Accounts", **MAP_LABELS},
        caption=_sums_caption(ws),
    )


def _sums_caption(ws: Workspace) -> str:
    """Return the caption of tables that sum open pipeline and won ACV per group.

    It adds how many open or won deals the sums leave out for lack of an
    amount, so that a sum of the known amounts is not read as the whole. In
    a sliced run it states that the data-quality page counts the whole company,
    because its findings are not filtered to the slice.
    """
    if not ws.has_table("opportunity_snapshot"):
        return tables.ROUNDED_PARTS
    deals = ws.table("opportunity_snapshot")
    counted = deals["is_open"].astype(bool) | deals["is_won"].astype(bool)
    missing = int((counted & deals["amount"].isna()).sum())
    if not missing:
        return tables.ROUNDED_PARTS
    noun = "deal" if missing == 1 else "deals"
    reference = "see Data quality"
    if ws.headline.get("slice"):
        reference = "Data quality counts such deals for the whole company"
    return (
        f"{tables.ROUNDED_PARTS} The sums leave out {missing:,} open or won "
        f"{noun} without an amount ({reference})."
    )


def _sum_known(amounts: pd.Series) -> float:
    """Sum the known amounts, NaN when every one is missing."""
    return amounts.sum(min_count=1)


def _no_account_row(account_map: pd.DataFrame, label_column: str) -> pd.DataFrame:
    """Return the deals without an account as one row, so table totals tie.

    Empty when every deal has an account. The row has 0 accounts and
    carries the open pipeline and won ACV of those deals.
    """
    orphan = account_map[account_map["account_id"] == schema.NO_ACCOUNT]
    if orphan.empty:
        return pd.DataFrame()
    return pd.DataFrame(
        {
            label_column: [schema.NO_ACCOUNT],
            "accounts": [0],
            "customers": [0],
            "open_pipeline": [float(orphan["open_pipeline"].sum(min_count=1))],
            "won_acv": [float(orphan["won_acv"].sum(min_count=1))],
            "revenue_12m": [float(orphan["revenue_12m"].sum())],
        }
    )


def value_measures_note() -> HTML:
    """Return the note on how the report's account value measures differ.

    Tables that show an account's open pipeline or open ACV beside a
    ranking by value carry it, because the same account shows different
    figures on different pages.
    """
    return note(
        "Open pipeline is the amount of an account's open deals as entered. "
        "Open ACV annualises those deals, so a 6-month deal counts twice. "
        "Won + open ACV adds won ACV to open ACV in full, and the tiers' "
        "won + weighted open ACV counts open ACV times its win probability."
    )


def top_accounts_table(ws: Workspace, n: int | None = None) -> object:
    """Return the top accounts by value (won ACV plus open ACV), after a note.

    The note is :func:`value_measures_note`.
    """
    from acctlib.accountmap import top_accounts

    n = n or ws.params["top_accounts"]
    top = top_accounts(ws.table("account_map"), n)
    columns = [
        "name",
        "industry",
        "region",
        "owner",
        "status",
        "won_acv",
        "open_acv",
        "most_advanced_stage",
        "value",
    ]
    frame = readable_column(top[columns], "status")
    styled = tables.style_table(
        frame,
        currency=ws.currency,
        money=["won_acv", "open_acv", "value"],
        labels=MAP_LABELS,
    )
    return HTML(value_measures_note().data + styled.to_html())


def intake_table(ws: Workspace) -> object:
    """Return rows read, accepted, rejected and merged per input table.

    The columns are in the order of the data-quality page and ``acctlib
    check``. Merged rows are duplicate accounts folded into another
    account, so accepted, rejected and merged rows add up to the rows read
    of every table that reconciles (``dq_counts``).
    """
    columns = ["read", "accepted", "rejected", "merged"]
    counts = readable_column(ws.table("intake_counts"), "table")
    return tables.style_table(
        counts[["table", *columns]],
        counts=columns,
        labels={
            "table": "Table",
            "read": "Rows read",
            "accepted": "Accepted",
            "rejected": "Rejected",
            "merged": "Merged",
        },
    )


def rejected_summary_table(ws: Workspace) -> object:
    """Return rejected rows and blanked cells counted per table and reason."""
    rejected = ws.table("rejected_rows")
    if rejected.empty:
        return note("No input row was rejected and no cell was blanked.")
    distinct = rejected.drop_duplicates(["table", "file", "row", "action", "reason"])
    grouped = distinct.groupby(["table", "action", "reason"], as_index=False).size()
    grouped = readable_column(grouped, "table")
    return tables.style_table(
        grouped.rename(columns={"size": "rows"}),
        counts=["rows"],
        labels={
            "table": "Table",
            "action": "Action",
            "reason": "Reason",
            "rows": "Rows",
        },
    )


def segment_table(ws: Workspace, segment: str) -> object:
    """Return accounts, customers, pipeline and won ACV per segment value."""
    account_map = ws.table("account_map")
    accounts = account_map[account_map["account_id"] != schema.NO_ACCOUNT]
    frame = accounts.assign(segment=accounts[segment].fillna("Unknown"))
    grouped = frame.groupby("segment", as_index=False).agg(
        accounts=("account_id", "size"),
        customers=("status", lambda s: int((s == "customer").sum())),
        open_pipeline=("open_pipeline", _sum_known),
        won_acv=("won_acv", _sum_known),
        revenue_12m=("revenue_12m", "sum"),
    )
    grouped = grouped.sort_values("won_acv", ascending=False)
    orphan = _no_account_row(account_map, "segment")
    if not orphan.empty:
        grouped = pd.concat([grouped, orphan], ignore_index=True)
    if accounts["revenue_12m"].isna().all():
        # Without a revenue table the account map has no revenue, not zero.
        grouped["revenue_12m"] = np.nan
    return tables.style_table(
        grouped,
        currency=ws.currency,
        counts=["accounts", "customers"],
        money=["open_pipeline", "won_acv", "revenue_12m"],
        labels={
            "segment": segment.replace("_", " ").capitalize(),
            "accounts": "Accounts",
            "customers": "Customers",
            **MAP_LABELS,
        },
        caption=f"{_segment_source(ws, segment)} {_sums_caption(ws)}",
    )


def _segment_source(ws: Workspace, segment: str) -> str:
    """Return a sentence on where each account's ``segment`` value comes from.

    The source profile's ``column_sources`` gives it for a column that an
    adapter derives; otherwise the value is the account record's own.
    """
    label = segment.replace("_", " ").capitalize()
    sources = ws.info.get("column_sources", {}).get("accounts", {})
    origin = sources.get(segment) or f"the {segment} field of the account's record"
    # Styler captions are not escaped, and a profile's text may hold markup.
    origin = html.escape(origin, quote=False)
    return (
        f"{label} is {origin}. Each account counts in one {segment.replace('_', ' ')} "
        "with all of its pipeline and won ACV."
    )


def influence_table(ws: Workspace) -> object:
    """Return marketing influence per status: sourced share and recent touches.

    A source without a touchpoints table gets a note instead, because its
    accounts have no touch to count.
    """
    if not has_touchpoints(ws):
        return note(
            "The source has no touchpoints table, so marketing touches and "
            "marketing-sourced opportunities cannot be counted."
        )
    account_map = ws.table("account_map")
    accounts = account_map[account_map["account_id"] != schema.NO_ACCOUNT]
    with_deals = accounts[accounts["first_opportunity_at"].notna()]
    grouped = accounts.groupby("status", as_index=False).agg(
        accounts=("account_id", "size"),
        touched=("marketing_touches_90d", lambda s: int((s > 0).sum())),
        touches=("marketing_touches_90d", "sum"),
    )
    sourced = with_deals.groupby("status")["marketing_sourced"].mean()
    grouped["sourced_share"] = grouped["status"].map(sourced)
    grouped["status"] = grouped["status"].str.replace("_", " ").str.capitalize()
    return tables.style_table(
        grouped,
        counts=["accounts", "touched", "touches"],
        percents=["sourced_share"],
        labels={
            "status": "Status",
            "accounts": "Accounts",
            "touched": f"Accounts with marketing touches, {_window(ws)}",
            "touches": f"Marketing touches, {_window(ws)}",
            "sourced_share": "First opportunity marketing-sourced",
        },
    )


def account_list(
    ws: Workspace, status: str, n: int = 25, sort: str = "value"
) -> object:
    """Return the top ``n`` accounts of one status, sorted by ``sort``.

    The table shows the ``sort`` column, last, so the ranking it claims
    can be checked. Ranked by ``value``, the table comes after
    :func:`value_measures_note`, because open pipeline and won + open ACV
    then stand side by side.
    """
    account_map = ws.table("account_map")
    frame = account_map[account_map["status"] == status]
    frame = frame.sort_values([sort, "account_id"], ascending=[False, True]).head(n)
    columns = [
        "name",
        "industry",
        "region",
        "owner",
        "open_pipeline",
        "most_advanced_stage",
        "won_acv",
        "revenue_12m",
        "marketing_touches_90d",
    ]
    if sort not in columns:
        columns.append(sort)
    if frame.empty:
        return note(f"No account has status {status.replace('_', ' ')}.")
    money = ["open_pipeline", "won_acv", "revenue_12m", "value", "lifetime_revenue"]
    styled = tables.style_table(
        frame[columns],
        currency=ws.currency,
        money=[column for column in money if column in columns],
        counts=["marketing_touches_90d"],
        labels={
            **MAP_LABELS,
            "open_pipeline": "Open pipeline (deal amounts)",
            "marketing_touches_90d": f"Marketing touches, {_window(ws)}",
        },
    )
    if sort != "value":
        return styled
    return HTML(value_measures_note().data + styled.to_html())


def _window(ws: Workspace) -> str:
    """Name the influence window, which the ``_90d`` columns count over."""
    return f"{ws.params['influence_window_days']} days"


def bookings_frame(ws: Workspace, months: int = 24) -> pd.DataFrame:
    """Return won bookings per month and type for the bookings chart."""
    return summary.summarize_bookings_by_month(
        ws.table("opportunity_snapshot"), ws.as_of, months=months
    )
