"""Adapter for the Olist marketing funnel (seller acquisition, Brazil).

Two files: ``olist_marketing_qualified_leads_dataset.csv`` (one row per
marketing-qualified lead, MQL) and ``olist_closed_deals_dataset.csv`` (one
row per lead that became a seller). Leads are companies, so:

Accounts, one per MQL
    ``account_id`` is ``mql_id``. ``name`` is ``Lead <first 8 characters
    of mql_id>``, because the data is anonymised. ``created_at`` is
    ``first_contact_date``. ``industry`` is the closed deal's
    ``business_segment``, empty for leads that did not close.

Opportunities, one per closed deal
    ``opportunity_id`` and ``account_id`` are ``mql_id``; stage ``Won``;
    ``created_at`` is the lead's ``first_contact_date``; ``close_date`` is
    ``won_date``; ``owner`` is the sales representative ``sr_id``.
    The export has no contract value or length, so each deal is read as a
    contract of ``default_contract_months`` (12 unless set) at the
    declared monthly revenue. ``amount_original`` is
    ``declared_monthly_revenue`` times that many months, in BRL, and ACV
    is the declared revenue times 12. 0.0 means "not declared" in this
    export and is read as missing (``zero_is_missing``), so those deals
    count as won without an amount.

Touchpoints
    One first touch per lead at ``first_contact_date``: channel ``origin``
    (blank becomes ``unknown``, like the export's own 1,099 ``unknown``
    rows), function marketing, campaign the
    ``landing_page_id``. Each closed deal adds an SDR touch (function sdr,
    ``sdr_id``) and a sales-representative touch (function ae, ``sr_id``)
    on ``won_date``. NOTE: the export has no date for the SDR's work, so
    the SDR touch is dated at the close like the SR touch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from acctlib.intake.canonical import EMPTY, FILE, ROW, SHORT_ROW, RawTable
from acctlib.intake.files import InputFile
from acctlib.intake.mapped import (
    blank_file_rows,
    export_options,
    fill_optional_columns,
    read_mapped_tables,
)

CURRENCY = "BRL"

# The Olist column each canonical column is copied from, per table and
# file, so that rejection reasons name the column the user can find.
# Columns built from other files or from constants are left out.
ACCOUNT_HEADERS = {"account_id": "mql_id", "created_at": "first_contact_date"}
# created_at comes from first_contact_date in the leads file, not the closed
# deals file, so it has no header here.
OPPORTUNITY_HEADERS = {
    "opportunity_id": "mql_id",
    "account_id": "mql_id",
    "amount_original": "declared_monthly_revenue",
    "close_date": "won_date",
    "owner": "sr_id",
}
# touch_id is "mql-", "sdr-" or "ae-" followed by mql_id.
FIRST_TOUCH_HEADERS = {
    "touch_id": "mql_id",
    "account_id": "mql_id",
    "occurred_at": "first_contact_date",
    "channel": "origin",
    "campaign": "landing_page_id",
}
SALES_TOUCH_HEADERS = {
    "touch_id": "mql_id",
    "account_id": "mql_id",
    "occurred_at": "won_date",
}


def read_source(
    data_dir: Path, profile: dict[str, Any], params: Any
) -> tuple[list[RawTable], list[InputFile]]:
    """Read the Olist leads and closed deals into canonical tables."""
    read, inputs, notes = read_mapped_tables(data_dir, profile)
    leads, leads_path = read["leads"]
    deals, deals_path = read["deals"]
    options = export_options(profile)
    segment = deals.set_index("mql_id")["business_segment"]
    segment = segment[~segment.index.duplicated()]
    first_contact = leads.set_index("mql_id")["first_contact_date"]
    first_contact = first_contact[~first_contact.index.duplicated()]

    accounts = pd.DataFrame(
        {
            "account_id": leads["mql_id"],
            "name": "Lead " + leads["mql_id"].str[:8],
            "industry": leads["mql_id"].map(segment).fillna(""),
            "created_at": leads["first_contact_date"],
            ROW: leads[ROW],
            FILE: str(leads_path),
            EMPTY: blank_file_rows(leads),
            SHORT_ROW: leads.get(SHORT_ROW, ""),
        }
    )
    opportunities = pd.DataFrame(
        {
            "opportunity_id": deals["mql_id"],
            "account_id": deals["mql_id"],
            "type": "new_business",
            "stage": "Won",
            "amount": "",
            "amount_original": deals["declared_monthly_revenue"],
            "currency": CURRENCY,
            "created_at": deals["mql_id"].map(first_contact).fillna(""),
            "close_date": deals["won_date"],
            "owner": deals["sr_id"],
            ROW: deals[ROW],
            FILE: str(deals_path),
            EMPTY: blank_file_rows(deals),
            SHORT_ROW: deals.get(SHORT_ROW, ""),
        }
    )
    origin = leads["origin"].str.strip()
    first_touches = pd.DataFrame(
        {
            "touch_id": "mql-" + leads["mql_id"],
            "account_id": leads["mql_id"],
            "occurred_at": leads["first_contact_date"],
            "channel": origin.where(origin != "", "unknown"),
            "function": "marketing",
            "campaign": leads["landing_page_id"],
            "touch_type": "first_contact",
            ROW: leads[ROW],
            FILE: str(leads_path),
            EMPTY: blank_file_rows(leads),
            SHORT_ROW: leads.get(SHORT_ROW, ""),
        }
    )
    sales_touches = pd.concat(
        [
            _sales_touches(deals, deals_path, "sdr", "sdr_id", "sales_development"),
            _sales_touches(deals, deals_path, "ae", "sr_id", "sales"),
        ],
        ignore_index=True,
    )
    months = int(params["default_contract_months"])
    revenue_options = {"amount_original": {"zero_is_missing": True, "scale": months}}
    notes.append(
        f"Olist won deals have no contract value or length, so each is read as "
        f"a {months}-month contract at the monthly revenue its lead declared: "
        f"its amount is declared_monthly_revenue times {months}, and its ACV "
        "is that revenue times 12."
    )
    notes.append(
        "Olist declared_monthly_revenue of 0.0 means not declared; those won "
        "deals have no amount."
    )
    return (
        [
            RawTable(
                "accounts",
                str(leads_path),
                fill_optional_columns(accounts, "accounts"),
                notes,
                options,
                headers=ACCOUNT_HEADERS,
            ),
            RawTable(
                "opportunities",
                str(deals_path),
                fill_optional_columns(opportunities, "opportunities"),
                [],
                options,
                revenue_options,
                headers=OPPORTUNITY_HEADERS,
            ),
            RawTable(
                "touchpoints",
                str(leads_path),
                fill_optional_columns(first_touches, "touchpoints"),
                [],
                options,
                headers=FIRST_TOUCH_HEADERS,
            ),
            RawTable(
                "touchpoints",
                str(deals_path),
                fill_optional_columns(sales_touches, "touchpoints"),
                [],
                options,
                headers=SALES_TOUCH_HEADERS,
            ),
        ],
        inputs,
    )


def _sales_touches(
    deals: pd.DataFrame, path: Path, function: str, person: str, channel: str
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "touch_id": f"{function}-" + deals["mql_id"],
            "account_id": deals["mql_id"],
            "occurred_at": deals["won_date"],
            "channel": channel,
            "function": function,
            "campaign": "",
            "touch_type": function + ":" + deals[person],
            ROW: deals[ROW],
            FILE: str(path),
            EMPTY: blank_file_rows(deals),
            SHORT_ROW: deals.get(SHORT_ROW, ""),
        }
    )
