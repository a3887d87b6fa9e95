"""Constant health components and at-risk flags that cover every key account."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from acctlib import healthdiagnostics
from acctlib.health import COMPONENTS

WEIGHTS = {
    "customer": {"engagement_level": 1, "usage": 1},
    "prospect": {"engagement_level": 1, "win_probability": 1},
}


def make_health(win_probability: list[float], **columns) -> pd.DataFrame:
    """Return an ``account_health`` frame of prospects with varied engagement."""
    count = len(win_probability)
    frame = pd.DataFrame(
        {
            "account_id": [f"A{i:02d}" for i in range(count)],
            "tier": 1,
            "profile": "prospect",
            "health_score": 50.0,
            "at_risk": False,
            "risk_reason": "",
            "engagement_direction": "flat",
        }
    )
    for component in COMPONENTS:
        frame[component] = np.nan
    frame["engagement_level"] = np.linspace(0, 100, count).round(1)
    frame["win_probability"] = win_probability
    return frame.assign(**columns)


def test_constant_component_found():
    health = make_health([63.0] * 12)

    constant = healthdiagnostics.find_constant_components(health, WEIGHTS)

    assert list(constant.columns) == list(healthdiagnostics.CONSTANT_COMPONENT_COLUMNS)
    assert constant["component"].tolist() == ["win_probability"]
    row = constant.iloc[0]
    assert row["value"] == 63.0
    assert row["accounts"] == 12
    assert row["scored"] == 12
    assert row["share"] == 1.0


def test_nearly_constant_component_found():
    health = make_health([63.0] * 9 + [10.0])

    constant = healthdiagnostics.find_constant_components(health, WEIGHTS)

    assert constant["component"].tolist() == ["win_probability"]
    assert constant.iloc[0]["accounts"] == 9
    assert constant.iloc[0]["share"] == pytest.approx(0.9)


def test_varied_component_not_reported():
    health = make_health([63.0] * 8 + [10.0, 20.0])

    constant = healthdiagnostics.find_constant_components(health, WEIGHTS)

    assert constant.empty
    assert list(constant.columns) == list(healthdiagnostics.CONSTANT_COMPONENT_COLUMNS)


def test_unweighted_component_not_reported():
    health = make_health([63.0] * 12)
    weights = {"customer": {"usage": 1}, "prospect": {"engagement_level": 1}}

    constant = healthdiagnostics.find_constant_components(health, weights)

    assert constant.empty


def test_few_scored_accounts_not_reported():
    health = make_health([63.0] * 9)

    constant = healthdiagnostics.find_constant_components(health, WEIGHTS)

    assert constant.empty


def test_unscored_accounts_left_out():
    # Ten accounts share 63; two without a health score differ but do not count.
    health = make_health([63.0] * 10 + [5.0, 6.0])
    health.loc[10:, "health_score"] = np.nan

    constant = healthdiagnostics.find_constant_components(health, WEIGHTS)

    assert constant.iloc[0]["scored"] == 10
    assert constant.iloc[0]["share"] == 1.0


def test_constant_sentence_names_component_and_value():
    constant = healthdiagnostics.find_constant_components(
        make_health([63.0] * 12), WEIGHTS
    )

    text = healthdiagnostics.describe_constant_components(constant)

    assert text == (
        "The win probability component is 63 for all 12 accounts whose health "
        "includes it, so it does not separate accounts: differences in health "
        "come from the other components."
    )


def test_nearly_constant_sentence_gives_share():
    constant = healthdiagnostics.find_constant_components(
        make_health([62.5] * 9 + [10.0]), WEIGHTS
    )

    text = healthdiagnostics.describe_constant_components(constant)

    assert "is 62.5 for 9 of the 10 accounts whose health includes it (90%)" in text
    assert "barely separates accounts" in text


def test_constant_sentence_empty_without_constant():
    constant = healthdiagnostics.find_constant_components(
        make_health([63.0] * 8 + [10.0, 20.0]), WEIGHTS
    )

    assert healthdiagnostics.describe_constant_components(constant) == ""


STALLED = "stalled late-stage opportunity"


def make_deals(rows: list[tuple[str, str, float, float, bool]]) -> pd.DataFrame:
    """Return open ``opportunity_progression`` rows.

    Each row is (account, stage, win probability, stall threshold, stalled).
    """
    columns = [
        "account_id",
        "stage_asof",
        "win_probability",
        "stall_threshold_days",
        "stalled",
    ]
    deals = pd.DataFrame(rows, columns=columns)
    deals.insert(0, "opportunity_id", [f"O{i}" for i in range(len(rows))])
    return deals.assign(is_open=True)


def make_risk_health(reasons: list[str], tiers: list[int] | None = None):
    """Return ``account_health`` rows, at risk where the reason is not empty."""
    return pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(len(reasons))],
            "tier": tiers or [1] * len(reasons),
            "at_risk": [bool(reason) for reason in reasons],
            "risk_reason": reasons,
        }
    )


def test_risk_reasons_name_stage_and_threshold():
    health = make_risk_health([STALLED, STALLED, "engagement falling"])
    deals = make_deals(
        [
            ("A0", "Engaging", 0.63, 85.0, True),
            ("A1", "Engaging", 0.63, 85.0, True),
            ("A1", "Prospecting", 0.1, 20.0, True),
            ("A2", "Engaging", 0.63, 85.0, False),
        ]
    )

    reasons = healthdiagnostics.summarize_risk_reasons(
        health, deals, late_probability=0.6
    )

    assert list(reasons.columns) == list(healthdiagnostics.RISK_REASON_COLUMNS)
    assert reasons["reason"].tolist() == [
        "stalled in Engaging past 85 days",
        "engagement falling",
    ]
    assert reasons["accounts"].tolist() == [2, 1]
    assert reasons.iloc[0]["threshold_days"] == 85.0
    # Two of the three open Engaging deals are stalled.
    assert reasons.iloc[0]["stage_stalled_share"] == pytest.approx(2 / 3)
    assert pd.isna(reasons.iloc[1]["stage_stalled_share"])


def test_risk_reasons_split_joined_reasons():
    health = make_risk_health([f"engagement falling; {STALLED}"])
    deals = make_deals([("A0", "Negotiation", 0.8, 30.0, True)])

    reasons = healthdiagnostics.summarize_risk_reasons(
        health, deals, late_probability=0.6
    )

    assert sorted(reasons["reason"]) == [
        "engagement falling",
        "stalled in Negotiation past 30 days",
    ]
    assert reasons["accounts"].tolist() == [1, 1]


def test_risk_reasons_group_detailed_stalls():
    health = make_risk_health(
        [
            f"{STALLED} (Negotiation, 96 days)",
            f"engagement falling; {STALLED} (Negotiation, 41 days)",
            f"{STALLED} (Legal; review, 50 days)",
        ]
    )
    deals = make_deals(
        [
            ("A0", "Negotiation", 0.8, 30.0, True),
            ("A1", "Negotiation", 0.8, 30.0, True),
            ("A2", "Legal; review", 0.9, 45.0, True),
        ]
    )

    reasons = healthdiagnostics.summarize_risk_reasons(
        health, deals, late_probability=0.6
    )

    assert reasons["reason"].tolist() == [
        "stalled in Negotiation past 30 days",
        "engagement falling",
        "stalled in Legal; review past 45 days",
    ]
    assert reasons["accounts"].tolist() == [2, 1, 1]


def test_risk_reasons_keep_stall_without_deal():
    health = make_risk_health([STALLED])
    deals = make_deals([("A0", "Engaging", 0.3, 85.0, True)])

    reasons = healthdiagnostics.summarize_risk_reasons(
        health, deals, late_probability=0.6
    )

    assert reasons["reason"].tolist() == [STALLED]
    assert reasons["accounts"].tolist() == [1]


def test_widespread_risk_sentence_names_reason():
    health = make_risk_health([STALLED] * 3 + [""], tiers=[1, 1, 2, 3])
    deals = make_deals(
        [
            ("A0", "Engaging", 0.63, 85.0, True),
            ("A1", "Engaging", 0.63, 85.0, True),
            ("A2", "Engaging", 0.63, 85.0, True),
            ("A3", "Engaging", 0.63, 85.0, False),
        ]
    )
    reasons = healthdiagnostics.summarize_risk_reasons(
        health, deals, late_probability=0.6
    )

    text = healthdiagnostics.describe_widespread_risk(health, reasons)

    assert text.startswith(
        "All 3 Tier 1 and Tier 2 accounts are at risk, all of them because a "
        "late-stage deal has stalled in Engaging past 85 days"
    )
    assert "75% of all open deals in Engaging have passed that threshold" in text


def test_widespread_risk_sentence_gives_share():
    reasons_list = ["engagement falling"] * 9 + [""]
    health = make_risk_health(reasons_list)
    reasons = healthdiagnostics.summarize_risk_reasons(
        health, make_deals([]), late_probability=0.6
    )

    text = healthdiagnostics.describe_widespread_risk(health, reasons)

    assert text.startswith(
        "9 of the 10 Tier 1 and Tier 2 accounts (90%) are at risk, all of them "
        "because their engagement is falling."
    )


def test_widespread_risk_sentence_empty_below_share():
    health = make_risk_health(["engagement falling"] * 8 + ["", ""])
    reasons = healthdiagnostics.summarize_risk_reasons(
        health, make_deals([]), late_probability=0.6
    )

    assert healthdiagnostics.describe_widespread_risk(health, reasons) == ""


def test_widespread_risk_sentence_empty_without_key_accounts():
    health = make_risk_health(["", ""], tiers=[3, 4])
    reasons = healthdiagnostics.summarize_risk_reasons(
        health, make_deals([]), late_probability=0.6
    )

    assert healthdiagnostics.describe_widespread_risk(health, reasons) == ""
