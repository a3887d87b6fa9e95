"""Key accounts for the review meeting and the coverage gaps around them.

Key accounts are the Tier 1 and Tier 2 accounts. Each row carries the
owner, the largest open opportunity and its stage, marketing touches in the
last 30 days by campaign and channel, health and flags, and what changed
since the previous month-end. Coverage gaps list Tier 1 accounts without an
owner, without sales activity in 30 days or without marketing touches in
90 days, and expansion-ready customers without an open opportunity.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import ibis
import numpy as np
import pandas as pd

from acctlib import engine, tables
from acctlib.accountstate import store_typed
from acctlib.asof import as_of_cutoff, creation_estimated
from acctlib.labels import readable
from acctlib.summary import count_gap_accounts

logger = logging.getLogger(__name__)

KEY_TIERS = (1, 2)
MARKETING_DAYS = 30
TOP_CAMPAIGNS = 3

KEY_ACCOUNT_COLUMNS: dict[str, str] = {
    "account_id": "Account identifier.",
    "name": "Account name.",
    "owner": "Account owner.",
    "tier": "Tier number, 1 or 2.",
    "tier_label": "Tier label.",
    "open_opportunity": "Name of the largest open opportunity.",
    "stage": "Its stage on the as-of date.",
    "open_amount": "Its amount, report currency.",
    "marketing_30d": (
        "Marketing touches in 30 days: 'campaign (channel) n', top 3, then "
        "'and N more (n touches)'."
    ),
    "marketing_touches_30d": (
        "Marketing touches in the 30 days to the as-of date; missing without "
        "touchpoints."
    ),
    "health_score": "Health, 0 to 100.",
    "at_risk": "At-risk flag.",
    "expansion_ready": "Expansion-ready flag.",
    "changes": "What changed since the previous month-end, or 'no change'.",
}
"""Columns of the ``key_accounts`` table."""


def summarize_marketing_touches(
    touches: ibis.Table, account_ids: list[str], as_of: dt.date
) -> pd.DataFrame:
    """Count marketing touches per account, campaign and channel in 30 days.

    Runs in the engine and returns ``account_id``, ``campaign`` ("No
    campaign" when empty), ``channel`` and ``touches``, sorted.
    """
    cutoff = as_of_cutoff(as_of)
    start = cutoff - pd.Timedelta(days=MARKETING_DAYS)
    literal = "timestamp('UTC')"
    recent = touches.filter(
        touches.function == "marketing",
        touches.occurred_at < ibis.literal(cutoff.to_pydatetime(), type=literal),
        touches.occurred_at >= ibis.literal(start.to_pydatetime(), type=literal),
    )
    # A semi-join on a table of the IDs: an IN list of tens of thousands of
    # literals took seconds to compile.
    chosen = ibis.memtable(
        pd.DataFrame({"account_id": pd.Series(account_ids, dtype=object)}),
        schema={"account_id": "string"},
    )
    recent = recent.semi_join(chosen, "account_id")
    grouped = recent.group_by(
        [
            recent.account_id,
            recent.campaign.fill_null("No campaign").name("campaign"),
            "channel",
        ]
    ).aggregate(touches=recent.count())
    with engine.quiet_conversions():
        result = grouped.to_pandas()
    return result.sort_values(["account_id", "campaign", "channel"]).reset_index(
        drop=True
    )


def compute_key_accounts(
    tiers: pd.DataFrame,
    health: pd.DataFrame,
    opportunities: pd.DataFrame,
    marketing: pd.DataFrame,
    tier_history: pd.DataFrame,
    as_of: dt.date,
    has_touchpoints: bool = True,
) -> pd.DataFrame:
    """Return one row per Tier 1 or Tier 2 account for the review meeting.

    Parameters
    ----------
    tiers, health
        ``account_tiers`` and ``account_health`` on ``as_of``; ``health``
        may carry ``health_change`` from the previous month-end.
    opportunities
        ``opportunity_progression`` on ``as_of``.
    marketing
        Output of :func:`summarize_marketing_touches`.
    tier_history
        ``tier_history``; the month-end before ``as_of`` gives last month's
        tier.
    has_touchpoints
        Whether the source has a touchpoints table. Without one,
        ``marketing_30d`` reads "no touch data" instead of "none" and
        ``marketing_touches_30d`` is missing (``Int64`` NA) instead of 0.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`KEY_ACCOUNT_COLUMNS`, sorted by tier, health
        (lowest first) and ``account_id``.
    """
    key = tiers[tiers["tier"].isin(KEY_TIERS)]
    key = key[["account_id", "name", "owner", "tier", "tier_label"]]
    flag_columns = ["account_id", "health_score", "at_risk", "expansion_ready"]
    if "health_change" in health.columns:
        flag_columns.append("health_change")
    key = key.merge(health[flag_columns], on="account_id", how="left")
    key = key.merge(_largest_open_deals(opportunities), on="account_id", how="left")
    key = key.merge(_describe_marketing(marketing), on="account_id", how="left")
    key["marketing_30d"] = key["marketing_30d"].fillna(
        "none" if has_touchpoints else "no touch data"
    )
    if has_touchpoints:
        touches = key["marketing_touches_30d"].fillna(0).astype("int64")
    else:
        touches = pd.Series(pd.NA, index=key.index, dtype="Int64")
    key["marketing_touches_30d"] = touches
    key["changes"] = _describe_changes(key, opportunities, tier_history, as_of)
    key = key.sort_values(["tier", "health_score", "account_id"])
    return key[list(KEY_ACCOUNT_COLUMNS)].reset_index(drop=True)


def find_coverage_gaps(
    tiers: pd.DataFrame,
    progression: pd.DataFrame,
    health: pd.DataFrame,
    has_touchpoints: bool = True,
) -> pd.DataFrame:
    """List Tier 1 accounts and expansion-ready customers without coverage.

    Gaps, one row each: ``no owner``, ``no sales activity in 30 days``
    (no SDR, AE or SE touch), ``no marketing engagement in 90 days`` (Tier
    1) and ``expansion-ready without an open opportunity``. Columns:
    ``account_id``, ``name``, ``tier_label``, ``owner``, ``gap``. Without
    ``has_touchpoints`` the two touch gaps are not checked, because a
    source without touches cannot show whether an account had any.
    """
    joined = tiers[["account_id", "name", "tier", "tier_label", "owner"]].merge(
        progression[
            [
                "account_id",
                "sales_touches_30d",
                "touches_90d_marketing",
                "open_opportunities",
            ]
        ],
        on="account_id",
        how="left",
    )
    joined = joined.merge(health[["account_id", "expansion_ready"]], on="account_id")
    tier_1 = joined["tier"] == 1
    owner = joined["owner"].astype(object)
    no_owner = owner.isna() | (owner.astype(str).str.strip() == "")
    checks = {
        "no owner": tier_1 & no_owner,
        "no sales activity in 30 days": tier_1
        & (joined["sales_touches_30d"].fillna(0) == 0),
        "no marketing engagement in 90 days": tier_1
        & (joined["touches_90d_marketing"].fillna(0) == 0),
        "expansion-ready without an open opportunity": joined["expansion_ready"]
        & (joined["open_opportunities"].fillna(0) == 0),
    }
    if not has_touchpoints:
        del checks["no sales activity in 30 days"]
        del checks["no marketing engagement in 90 days"]
    frames = [joined[mask].assign(gap=gap) for gap, mask in checks.items()]
    gaps = pd.concat(frames, ignore_index=True)
    columns = ["account_id", "name", "tier_label", "owner", "gap"]
    return gaps.sort_values(["gap", "account_id"])[columns].reset_index(drop=True)


def prepare_key_accounts(context: Any) -> None:
    """Store the ``key_accounts`` and ``coverage_gaps`` tables."""
    frames = context.frames
    tiers = frames["account_tiers"]
    key_ids = sorted(tiers.loc[tiers["tier"].isin(KEY_TIERS), "account_id"])
    marketing = pd.DataFrame(
        {
            "account_id": pd.Series(dtype=str),
            "campaign": pd.Series(dtype=str),
            "channel": pd.Series(dtype=str),
            "touches": pd.Series(dtype="int64"),
        }
    )
    touches = context.touchpoints()
    if touches is not None and key_ids:
        marketing = summarize_marketing_touches(touches, key_ids, context.as_of)
    store_typed(context, "key_account_marketing", marketing)
    store_typed(
        context,
        "key_accounts",
        compute_key_accounts(
            tiers,
            frames["account_health"],
            frames["opportunity_progression"],
            marketing,
            context.read("tier_history", ["month_end", "account_id", "tier"]),
            context.as_of,
            has_touchpoints=touches is not None,
        ),
    )
    gaps = find_coverage_gaps(
        tiers,
        frames["account_progression"],
        frames["account_health"],
        has_touchpoints=touches is not None,
    )
    store_typed(context, "coverage_gaps", gaps)
    context.headline["coverage_gaps"] = count_gap_accounts(gaps)


def _largest_open_deals(opportunities: pd.DataFrame) -> pd.DataFrame:
    open_deals = opportunities[opportunities["is_open"].astype(bool)]
    ranked = open_deals.sort_values(
        ["account_id", "amount", "opportunity_id"], ascending=[True, False, True]
    )
    largest = ranked.drop_duplicates("account_id")
    return largest[["account_id", "name", "stage_asof", "amount"]].rename(
        columns={
            "name": "open_opportunity",
            "stage_asof": "stage",
            "amount": "open_amount",
        }
    )


def _describe_marketing(marketing: pd.DataFrame) -> pd.DataFrame:
    if marketing.empty:
        return pd.DataFrame(
            columns=["account_id", "marketing_30d", "marketing_touches_30d"]
        )
    # Campaigns with as many touches are ordered by name, then channel.
    ranked = marketing.sort_values(
        ["account_id", "touches", "campaign", "channel"],
        ascending=[True, False, True, True],
        ignore_index=True,
    )
    ranked["label"] = (
        ranked["campaign"]
        + " ("
        + ranked["channel"].map(readable)
        + ") "
        + ranked["touches"].astype(str)
    )
    top = ranked.groupby("account_id").head(TOP_CAMPAIGNS)
    labels = top.groupby("account_id")["label"].agg("; ".join)
    rest = ranked.drop(index=top.index)
    if not rest.empty:
        counts = rest.groupby("account_id")["touches"].agg(["size", "sum"])
        more = _describe_more(counts["size"], counts["sum"])
        labels.loc[counts.index] = labels.loc[counts.index] + "; " + more
    return pd.DataFrame(
        {
            "marketing_30d": labels,
            "marketing_touches_30d": ranked.groupby("account_id")["touches"].sum(),
        }
    ).reset_index()


def _describe_more(entries: pd.Series, touches: pd.Series) -> pd.Series:
    """Return text such as "and 2 more (3 touches)" per row."""
    touch_noun = np.where(touches == 1, "touch", "touches")
    return (
        "and "
        + entries.astype(str)
        + " more ("
        + touches.astype(str)
        + " "
        + touch_noun
        + ")"
    )


def _describe_changes(
    key: pd.DataFrame,
    opportunities: pd.DataFrame,
    tier_history: pd.DataFrame,
    as_of: dt.date,
) -> pd.Series:
    """Return lines such as "tier 3 to 2; health +8.0; Deal X moved to Proposal"."""
    dates = sorted(tier_history["month_end"].unique())
    earlier = [d for d in dates if d < pd.Timestamp(as_of)]
    previous_end = earlier[-1] if earlier else None
    previous_tier = pd.Series(dtype="float64")
    if previous_end is not None:
        previous = tier_history[tier_history["month_end"] == previous_end]
        previous_tier = previous.set_index("account_id")["tier"]

    deal_lines = _describe_deal_changes(opportunities, previous_end)
    lines = []
    for row in key.itertuples(index=False):
        parts = []
        before = previous_tier.get(row.account_id)
        if previous_end is not None and pd.isna(before):
            parts.append("new account")
        elif before is not None and not pd.isna(before) and int(before) != row.tier:
            parts.append(f"tier {int(before)} to {row.tier}")
        change = getattr(row, "health_change", None)
        if change is not None and pd.notna(change) and change != 0:
            parts.append(f"health {tables.format_change(change)}")
        parts.extend(deal_lines.get(row.account_id, []))
        lines.append("; ".join(parts) if parts else "no change")
    return pd.Series(lines, index=key.index, dtype=object)


def _deal_names(deals: pd.DataFrame) -> pd.Series:
    """Return each deal's name, missing where the optional name is absent or blank."""
    if "name" not in deals.columns:
        return pd.Series(pd.NA, index=deals.index, dtype="string")
    names = deals["name"].astype("string").str.strip()
    return names.where(names != "")


def _describe_deal_changes(
    opportunities: pd.DataFrame, previous_end: pd.Timestamp | None
) -> dict[str, list[str]]:
    """Return per account the open deals created or moved since ``previous_end``."""
    if previous_end is None:
        return {}
    since = as_of_cutoff(previous_end.date())
    open_deals = opportunities[opportunities["is_open"].astype(bool)]
    # A deal dated by a stand-in, such as the export date, may be old: it is
    # neither new nor moved on that date.
    estimated = creation_estimated(open_deals)
    entered_then = estimated & open_deals["stage_entered_at"].eq(
        open_deals["created_at"]
    )
    is_new = ~estimated & (open_deals["created_at"] >= since)
    moved = ~is_new & ~entered_then & (open_deals["stage_entered_at"] >= since)
    ids = open_deals["opportunity_id"].astype("string")
    names = _deal_names(open_deals)
    # Two changed deals of one account with the same name would read as
    # one, so each such name gets its deal's ID.
    named = (is_new | moved) & names.notna()
    same_name = open_deals.loc[named, ["account_id"]].assign(name=names[named])
    repeated = pd.Series(False, index=open_deals.index)
    repeated[named] = same_name.duplicated(keep=False)
    names = names.where(~repeated, names + " (" + ids + ")")
    new_text = "new opportunity " + names.fillna(ids)
    moved_label = names.fillna("opportunity " + ids)
    stage = open_deals["stage_asof"].astype("string").fillna("an unknown stage")
    text = pd.Series(
        np.where(is_new, new_text, moved_label + " moved to " + stage),
        index=open_deals.index,
    )
    changed = open_deals[is_new | moved].sort_values(["account_id", "opportunity_id"])
    lines = text.loc[changed.index].groupby(changed["account_id"]).agg(list)
    return lines.to_dict()
