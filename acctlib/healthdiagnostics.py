"""Check whether health scores and at-risk flags tell accounts apart.

Two cases make the health page look informative when it is not:

- a health component that (nearly) every scored account shares, so it
  adds to each score alike and ranks no account above another;
- an at-risk flag on (nearly) every Tier 1 and Tier 2 account, which
  reads as a crisis but can come from one rule that the data meets
  everywhere, such as a stall threshold that most open deals exceed.

Each check returns a frame with a documented contract, and a ``describe_``
function turns it into the sentence that the pages show.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from acctlib import tables
from acctlib.health import (
    COMPONENTS,
    FALLING_REASON,
    STALLED_REASON,
    split_risk_reasons,
)

CONSTANT_COMPONENT_SHARE = 0.9
"""Share of accounts sharing one value from which a component counts as constant.

At 90%, one account in ten at most differs, so the component ranks
nearly no account above another.
"""
MIN_COMPONENT_ACCOUNTS = 10
"""Accounts a component must score before it can count as constant.

A handful of accounts can share a value by chance, for example when
they all have a deal in the same stage.
"""
WIDESPREAD_RISK_SHARE = 0.9
"""Share of Tier 1 and Tier 2 accounts at risk from which the pages explain the flag."""

CONSTANT_COMPONENT_COLUMNS: dict[str, str] = {
    "component": "Health component, one of health.COMPONENTS.",
    "value": "The component's most common score, 0 to 100 (float).",
    "accounts": "Accounts with that score (int).",
    "scored": "Scored accounts whose health the component enters (int).",
    "share": "accounts / scored, 0 to 1 (float).",
}
"""Columns of :func:`find_constant_components`."""

RISK_REASON_COLUMNS: dict[str, str] = {
    "reason": (
        'Why an account is at risk: "engagement falling", "stalled in <stage> '
        'past <threshold> days", or the recorded reason when no stage is known.'
    ),
    "accounts": "At-risk Tier 1 and Tier 2 accounts with that reason (int).",
    "stage": "Stage of the stalled deals; missing for other reasons.",
    "threshold_days": "Stall threshold of that stage in days; missing otherwise.",
    "stage_stalled_share": (
        "Share of all open deals in that stage that are stalled, 0 to 1; "
        "missing for other reasons."
    ),
}
"""Columns of :func:`summarize_risk_reasons`."""


def find_constant_components(
    health: pd.DataFrame,
    weights: Mapping[str, Mapping[str, float]],
    *,
    min_share: float = CONSTANT_COMPONENT_SHARE,
    min_accounts: int = MIN_COMPONENT_ACCOUNTS,
) -> pd.DataFrame:
    """Find the health components that nearly every scored account shares.

    Parameters
    ----------
    health
        ``account_health`` (see :data:`acctlib.health.ACCOUNT_HEALTH_COLUMNS`):
        ``health_score``, ``profile`` and one column per component.
    weights
        The ``health_weights`` parameter, ``{profile: {component: weight}}``.
        A component counts only for accounts whose profile weighs it above 0.
    min_share
        Share of those accounts that must have the most common score.
    min_accounts
        Accounts the component must score; fewer are never reported.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`CONSTANT_COMPONENT_COLUMNS`, one row per
        constant component, in the order of :data:`acctlib.health.COMPONENTS`.
        Empty when every component separates accounts.
    """
    scored = health[health["health_score"].notna()]
    rows = []
    for component in COMPONENTS:
        profiles = [
            profile
            for profile, profile_weights in weights.items()
            if float(profile_weights.get(component, 0.0)) > 0
        ]
        weighted = scored["profile"].isin(profiles)
        values = scored.loc[weighted, component].dropna()
        if len(values) < min_accounts:
            continue
        counts = values.round(1).value_counts()
        top = counts[counts == counts.max()].sort_index()
        share = int(top.iloc[0]) / len(values)
        if share >= min_share:
            rows.append(
                {
                    "component": component,
                    "value": float(top.index[0]),
                    "accounts": int(top.iloc[0]),
                    "scored": len(values),
                    "share": share,
                }
            )
    return pd.DataFrame(rows, columns=list(CONSTANT_COMPONENT_COLUMNS))


def describe_constant_components(constant: pd.DataFrame) -> str:
    """Return one sentence per constant component, or '' without any.

    ``constant`` is the output of :func:`find_constant_components`.
    """
    sentences = []
    for row in constant.itertuples(index=False):
        name = row.component.replace("_", " ")
        value = tables.format_amount(row.value, decimals=1).removesuffix(".0")
        if row.accounts == row.scored:
            population = f"all {row.scored:,} accounts whose health includes it"
            effect = "does not separate accounts"
        else:
            share = tables.format_percent(row.share, decimals=0)
            population = (
                f"{row.accounts:,} of the {row.scored:,} accounts whose health "
                f"includes it ({share})"
            )
            effect = "barely separates accounts"
        sentences.append(
            f"The {name} component is {value} for {population}, so it {effect}: "
            "differences in health come from the other components."
        )
    return " ".join(sentences)


def summarize_risk_reasons(
    health: pd.DataFrame, opportunities: pd.DataFrame, *, late_probability: float
) -> pd.DataFrame:
    """Count the at-risk Tier 1 and Tier 2 accounts by the reason that flags them.

    Parameters
    ----------
    health
        ``account_health``: ``account_id``, ``tier``, ``at_risk`` and
        ``risk_reason``, whose reasons are joined by
        :data:`acctlib.health.RISK_REASON_SEPARATOR`. The stage and days
        in brackets after a stalled reason are dropped, so that every
        stalled account counts under its stage's stall threshold.
    opportunities
        ``opportunity_progression`` (see
        :data:`acctlib.progression.OPPORTUNITY_PROGRESSION_COLUMNS`).
    late_probability
        The ``late_stage_probability`` parameter, the win probability from
        which a stalled open deal puts its account at risk.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`RISK_REASON_COLUMNS`, most accounts first.
        A stalled late-stage deal is named by its stage and stall threshold,
        so an account with stalled deals in two late stages counts under
        both. Empty when no Tier 1 or Tier 2 account is at risk.
    """
    at_risk = health[health["at_risk"].astype(bool) & (health["tier"] <= 2)]
    recorded = at_risk[["account_id"]].assign(
        reason=at_risk["risk_reason"].astype(str).map(split_risk_reasons)
    )
    recorded = recorded.explode("reason")
    stalled_accounts = recorded.loc[recorded["reason"] == STALLED_REASON, "account_id"]
    by_stage = _find_stalled_stages(opportunities, stalled_accounts, late_probability)
    # An account flagged for a stall whose deal is not found keeps the
    # recorded reason, so every flagged account is counted.
    unnamed = recorded[
        (recorded["reason"] != STALLED_REASON)
        | ~recorded["account_id"].isin(by_stage["account_id"])
    ]
    reasons = pd.concat([unnamed, by_stage], ignore_index=True)
    counted = (
        reasons.groupby("reason", dropna=False)
        .agg(
            accounts=("account_id", "nunique"),
            stage=("stage", "first"),
            threshold_days=("threshold_days", "first"),
        )
        .reset_index()
    )
    counted["stage_stalled_share"] = counted["stage"].map(
        _stalled_share_by_stage(opportunities)
    )
    counted = counted.sort_values(["accounts", "reason"], ascending=[False, True])
    return counted[list(RISK_REASON_COLUMNS)].reset_index(drop=True)


def _find_stalled_stages(
    opportunities: pd.DataFrame, accounts: pd.Series, late_probability: float
) -> pd.DataFrame:
    """Return ``account_id``, ``reason``, ``stage``, ``threshold_days`` per stall.

    Only the open, stalled deals at or above ``late_probability`` of
    ``accounts`` count, as in the at-risk rule of :mod:`acctlib.health`.
    """
    deals = opportunities[
        opportunities["is_open"].astype(bool)
        & opportunities["stalled"].astype(bool)
        & (opportunities["win_probability"] >= late_probability)
        & opportunities["account_id"].isin(accounts)
    ]
    stalls = pd.DataFrame(
        {
            "account_id": deals["account_id"].to_numpy(),
            "stage": deals["stage_asof"].astype(str).to_numpy(),
            "threshold_days": deals["stall_threshold_days"].astype(float).to_numpy(),
        }
    ).drop_duplicates()
    days = [tables.format_count(value) for value in stalls["threshold_days"]]
    stalls["reason"] = [
        f"stalled in {stage} past {day} days"
        for stage, day in zip(stalls["stage"], days, strict=True)
    ]
    return stalls


def _stalled_share_by_stage(opportunities: pd.DataFrame) -> pd.Series:
    """Return the share of open deals that are stalled, per stage on the as-of date."""
    open_deals = opportunities[opportunities["is_open"].astype(bool)]
    return open_deals["stalled"].astype(bool).groupby(open_deals["stage_asof"]).mean()


def describe_widespread_risk(
    health: pd.DataFrame,
    reasons: pd.DataFrame,
    *,
    min_share: float = WIDESPREAD_RISK_SHARE,
) -> str:
    """Return why (nearly) every Tier 1 and Tier 2 account is at risk, or ''.

    ``health`` is ``account_health`` and ``reasons`` the output of
    :func:`summarize_risk_reasons`. The sentence appears only when at
    least ``min_share`` of the Tier 1 and Tier 2 accounts are at risk, and
    names the reason that flags the most of them.
    """
    key_accounts = health[health["tier"] <= 2]
    flagged = int(key_accounts["at_risk"].astype(bool).sum())
    if key_accounts.empty or flagged / len(key_accounts) < min_share or reasons.empty:
        return ""
    if flagged == len(key_accounts):
        head = f"All {len(key_accounts):,} Tier 1 and Tier 2 accounts are at risk"
    else:
        share = tables.format_percent(flagged / len(key_accounts), decimals=0)
        head = (
            f"{flagged:,} of the {len(key_accounts):,} Tier 1 and Tier 2 "
            f"accounts ({share}) are at risk"
        )
    top = reasons.iloc[0]
    how_many = "all" if top["accounts"] == flagged else f"{top['accounts']:,}"
    sentences = [f"{head}, {how_many} of them {_reason_words(top)}."]
    stage_share = top["stage_stalled_share"]
    if pd.notna(stage_share):
        percent = tables.format_percent(stage_share, decimals=0)
        sentences.append(
            f"{percent} of all open deals in {top['stage']} have passed that "
            "threshold, so the flag reflects how long deals stay in that stage "
            "across the whole pipeline rather than a problem particular to "
            "these accounts."
        )
    else:
        sentences.append(
            "A flag on nearly every key account does not single out which "
            "ones to act on first."
        )
    return " ".join(sentences)


def _reason_words(row: pd.Series) -> str:
    """Return the reason of a :func:`summarize_risk_reasons` row after "of them"."""
    if pd.notna(row["stage"]):
        days = tables.format_count(row["threshold_days"])
        return (
            f"because a late-stage deal has stalled in {row['stage']} past "
            f"{days} days, the stage's stall threshold"
        )
    if row["reason"] == FALLING_REASON:
        return "because their engagement is falling"
    if row["reason"] == STALLED_REASON:
        return "because a late-stage deal has stalled"
    return f"for this reason: {row['reason']}"
