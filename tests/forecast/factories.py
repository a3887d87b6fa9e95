"""Tiny canonical frames for the forecast tests."""

from __future__ import annotations

import pandas as pd

STAGE_MAP = {
    "Qualify": {
        "category": "open",
        "probability": 0.2,
        "forecast_category": "pipeline",
        "order": 1,
    },
    "Propose": {
        "category": "open",
        "probability": 0.5,
        "forecast_category": "best_case",
        "order": 2,
    },
    "Commit": {
        "category": "open",
        "probability": 0.8,
        "forecast_category": "commit",
        "order": 3,
    },
    "Won": {
        "category": "won",
        "probability": 1.0,
        "forecast_category": "closed",
        "order": 4,
    },
    "Lost": {
        "category": "lost",
        "probability": 0.0,
        "forecast_category": "omitted",
        "order": 5,
    },
}


def make_opportunities(rows: list[tuple]) -> pd.DataFrame:
    """Build opportunities from ``(id, account, type, stage, amount, created, close)``.

    ``created`` is an ISO date (midnight UTC) and ``close`` an ISO date or None.
    """
    frame = pd.DataFrame(
        rows,
        columns=[
            "opportunity_id",
            "account_id",
            "type",
            "stage",
            "amount",
            "created_at",
            "close_date",
        ],
    )
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    frame["close_date"] = pd.to_datetime(frame["close_date"])
    frame["stage_category"] = frame["stage"].map(
        {stage: entry["category"] for stage, entry in STAGE_MAP.items()}
    )
    return frame
