"""Stage history and the opportunities table of the sample CRM.

Every opportunity enters the first open stage when it is created and then
moves forward through the open stages in stage-map order. Won deals pass
every open stage, except that 10% skip one middle stage, and lost deals drop
out after the stage they reached. A closed deal ends with the won or lost
stage entered on its close date. An open deal keeps only the entries made
on or before the end date, and its current stage is the last of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from acctlib.sample_accounts import AccountDraw
from acctlib.sample_text import format_ids
from acctlib.sample_time import business_time, month_of, to_dates, to_timestamps

TYPE_LABELS = {
    "new_business": "New Business",
    "expansion": "Expansion",
    "renewal": "Renewal",
}


@dataclass(frozen=True)
class StageMap:
    """Stage names of a stage map by role, and each stage's mapped values."""

    open_stages: tuple[str, ...]
    won_stage: str
    lost_stage: str
    category: dict[str, str]
    probability: dict[str, float]
    forecast_category: dict[str, str]

    @classmethod
    def from_mapping(cls, stage_map: Mapping[str, Mapping[str, Any]]) -> StageMap:
        """Read a stage map as declared in params/default.yaml.

        Raises ValueError unless the map has at least one open stage and
        exactly one won and one lost stage.
        """
        ordered = sorted(stage_map, key=lambda name: stage_map[name]["order"])
        by_category = {
            category: [
                name for name in ordered if stage_map[name]["category"] == category
            ]
            for category in ("open", "won", "lost")
        }
        if (
            not by_category["open"]
            or len(by_category["won"]) != 1
            or len(by_category["lost"]) != 1
        ):
            counts = {key: len(names) for key, names in by_category.items()}
            raise ValueError(
                f"invalid stage map for the sample: found {counts} stages per "
                "category, but the sample needs at least one open stage and "
                "exactly one won and one lost stage"
            )
        return cls(
            open_stages=tuple(by_category["open"]),
            won_stage=by_category["won"][0],
            lost_stage=by_category["lost"][0],
            category={name: stage_map[name]["category"] for name in ordered},
            probability={
                name: float(stage_map[name]["probability"]) for name in ordered
            },
            forecast_category={
                name: stage_map[name]["forecast_category"] for name in ordered
            },
        )


def generate_stage_history(
    rng: np.random.Generator,
    deals: pd.DataFrame,
    accounts: AccountDraw,
    end_day: int,
    stages: StageMap,
) -> pd.DataFrame:
    """Draw the stage entries of each deal, one row per entry.

    ``deals`` must be in opportunity order. The result has the columns
    ``deal`` (row position in ``deals``), ``stage`` and ``entered`` (day
    number with time), sorted by deal and time.
    """
    count = len(deals)
    stage_count = len(stages.open_stages)
    region = accounts.region[deals["account"].to_numpy()]
    created = deals["created"].to_numpy()
    created_day = np.floor(created)
    entered = _draw_stage_path(rng, deals, stage_count)

    # Each entered stage lasts at least one whole day, and the stays add up
    # to at most the days from creation to the close of the deal's path.
    stays = rng.exponential(1.0, (count, stage_count)) * entered
    stays_total = np.maximum(stays.sum(axis=1, keepdims=True), 1e-12)
    span = deals["final_day"].to_numpy() - created_day - entered.sum(axis=1)
    days = np.where(entered, 1 + np.floor(span[:, None] * stays / stays_total), 0)
    entry_day = created_day[:, None] + np.cumsum(days, axis=1) - days
    entry_time = business_time(
        rng, entry_day.ravel(), np.repeat(region, stage_count)
    ).reshape(count, stage_count)
    entry_time[:, 0] = created

    keep = entered & (entry_day <= end_day)
    deal_index, stage_index = np.nonzero(keep)
    open_entries = pd.DataFrame(
        {
            "deal": deal_index,
            "stage": np.array(stages.open_stages, dtype=object)[stage_index],
            "entered": entry_time[deal_index, stage_index],
        }
    )

    closed = np.flatnonzero(deals["closed"].to_numpy())
    final_day = deals["final_day"].to_numpy()[closed]
    won = deals["won"].to_numpy()[closed]
    closing_entries = pd.DataFrame(
        {
            "deal": closed,
            "stage": np.where(won, stages.won_stage, stages.lost_stage).astype(object),
            "entered": business_time(rng, final_day, region[closed]),
        }
    )

    history = pd.concat([open_entries, closing_entries], ignore_index=True)
    return history.sort_values(["deal", "entered"], kind="stable", ignore_index=True)


def _draw_stage_path(
    rng: np.random.Generator, deals: pd.DataFrame, stage_count: int
) -> np.ndarray:
    """Return which open stages each deal enters, as a deals x stages mask."""
    count = len(deals)
    reached = deals["reached"].to_numpy()
    entered = np.arange(stage_count)[None, :] < reached[:, None]
    if stage_count >= 3:
        skips = deals["won"].to_numpy() & (rng.random(count) < 0.10)
        rows = np.flatnonzero(skips)
        entered[rows, rng.integers(1, stage_count - 1, len(rows))] = False
    return entered


def build_opportunities(
    rng: np.random.Generator,
    deals: pd.DataFrame,
    history: pd.DataFrame,
    accounts: AccountDraw,
    stages: StageMap,
) -> pd.DataFrame:
    """Build the canonical opportunities table from deals and their history.

    The current stage is the deal's last history entry. 15% of open deals
    still in the first stage have no amount yet.
    """
    account = deals["account"].to_numpy()
    current = history.drop_duplicates("deal", keep="last").set_index("deal")["stage"]
    stage = current.reindex(np.arange(len(deals))).to_numpy(dtype=object)

    amount = deals["amount"].to_numpy(dtype=float).copy()
    amount_original = deals["amount_original"].to_numpy(dtype=float).copy()
    no_amount = (stage == stages.open_stages[0]) & (rng.random(len(deals)) < 0.15)
    amount[no_amount] = np.nan
    amount_original[no_amount] = np.nan

    closed = deals["closed"].to_numpy()
    close_day = np.where(closed, deals["final_day"], deals["planned_close"])
    created = deals["created"].to_numpy()

    return pd.DataFrame(
        {
            "opportunity_id": format_ids("O", np.arange(1, len(deals) + 1), 6),
            "account_id": accounts.frame["account_id"].to_numpy()[account],
            "name": _opportunity_names(deals, accounts),
            "type": deals["kind"].to_numpy(dtype=object),
            "stage": stage,
            "stage_category": _map_stages(stage, stages.category),
            "amount": amount,
            "amount_original": amount_original,
            "currency": deals["currency"].to_numpy(dtype=object),
            "created_at": to_timestamps(created),
            "close_date": to_dates(close_day),
            "contract_months": pd.array(deals["contract_months"], dtype="Int64"),
            "owner": _opportunity_owners(rng, account, accounts),
            "probability": _map_stages(stage, stages.probability).astype(float),
            "forecast_category": _map_stages(stage, stages.forecast_category),
        }
    )


def _opportunity_names(deals: pd.DataFrame, accounts: AccountDraw) -> np.ndarray:
    """Name deals like "Oak Freight Ltd - Renewal 2025-Q3" (quarter of creation)."""
    month = month_of(deals["created"].to_numpy())
    quarter = (
        (month // 12 + 1970).astype(str) + "-Q" + (month % 12 // 3 + 1).astype(str)
    )
    label = deals["kind"].map(TYPE_LABELS).to_numpy(dtype=object)
    names = accounts.names[deals["account"].to_numpy()]
    return names + " - " + label + " " + quarter.astype(object)


def _opportunity_owners(
    rng: np.random.Generator, account: np.ndarray, accounts: AccountDraw
) -> np.ndarray:
    """Return the account owner, or a rep of the region when it has none."""
    owner = accounts.owner[account].copy()
    for region, roster in enumerate(accounts.reps_by_region):
        rows = np.flatnonzero(pd.isna(owner) & (accounts.region[account] == region))
        owner[rows] = roster[rng.integers(0, len(roster), len(rows))]
    return owner


def _map_stages(stage: np.ndarray, values: Mapping[str, object]) -> np.ndarray:
    return pd.Series(stage, dtype=object).map(values).to_numpy(dtype=object)
