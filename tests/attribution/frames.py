"""Small frame factories for attribution tests."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from acctlib import schema
from acctlib.attribution.credits import compute_attribution
from acctlib.attribution.settings import AttributionSettings

AS_OF = dt.date(2024, 12, 31)


def opportunities(*rows: tuple) -> pd.DataFrame:
    """Build a snapshot-like frame.

    Each row is ``(opportunity_id, account_id, created, close, amount,
    outcome)`` with dates as ISO text and outcome won, lost or open.
    """
    frame = pd.DataFrame(
        rows,
        columns=[
            "opportunity_id",
            "account_id",
            "created",
            "close",
            "amount",
            "outcome",
        ],
    )
    return pd.DataFrame(
        {
            "opportunity_id": frame["opportunity_id"].astype("string"),
            "account_id": frame["account_id"].astype("string"),
            "type": "new_business",
            "amount": frame["amount"].astype("float64"),
            "created_at": pd.to_datetime(
                frame["created"], utc=True, format="ISO8601"
            ).astype(schema.TIMESTAMP),
            "close_date": pd.to_datetime(frame["close"]).astype(schema.DATE),
            "is_won": frame["outcome"] == "won",
            "is_lost": frame["outcome"] == "lost",
        }
    )


def touches(*rows: tuple) -> pd.DataFrame:
    """Build touchpoints from ``(touch_id, account_id, occurred_at, channel)``
    rows, with an optional fifth item ``function`` (default marketing)."""
    records = [
        {
            "touch_id": row[0],
            "account_id": row[1],
            "occurred_at": row[2],
            "channel": row[3],
            "function": row[4] if len(row) > 4 else "marketing",
        }
        for row in rows
    ]
    frame = pd.DataFrame(
        records,
        columns=["touch_id", "account_id", "occurred_at", "channel", "function"],
    )
    frame["occurred_at"] = pd.to_datetime(
        frame["occurred_at"], utc=True, format="ISO8601"
    ).astype(schema.TIMESTAMP)
    frame["campaign"] = pd.Series([None] * len(frame), dtype="string")
    return frame.astype(
        {
            "touch_id": "string",
            "account_id": "string",
            "channel": "string",
            "function": "string",
        }
    )


def attribute(touch_frame, opportunity_frame, **settings):
    """Run the whole attribution on an in-memory DuckDB."""
    con = ibis.duckdb.connect()
    table = con.create_table("touchpoints", touch_frame)
    options = {"as_of": AS_OF, **settings}
    return compute_attribution(
        con, table, opportunity_frame, AttributionSettings(**options)
    )


def credit_by(result, model, by="channel", kind="revenue", opportunity=None):
    """Return ``{value: credit}`` for one model."""
    rows = result.fetch_credits()
    rows = rows[(rows["model"] == model) & (rows["kind"] == kind)]
    if opportunity is not None:
        rows = rows[rows["opportunity_id"] == opportunity]
    return (rows.groupby(by)["credit_cents"].sum() / 100).to_dict()
