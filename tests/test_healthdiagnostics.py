"""Health components that every scored account shares."""

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
