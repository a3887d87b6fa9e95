"""Health score, flags, drivers and validation on history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acctlib import health, healthvalidation
from acctlib.errors import ParameterError

WEIGHTS = {
    "customer": {"engagement_level": 1, "usage": 1},
    "prospect": {"engagement_level": 1, "win_probability": 1},
}


def make_inputs(rows: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return tiers and progression frames from per-account dicts."""
    defaults = {
        "name": "Name",
        "owner": "Owner",
        "status": "prospect",
        "tier": 3,
        "touches_90d": 0,
        "contacts_90d": 0,
        "engagement_trend": 0.0,
        "weekly_mean": 0.0,
        "engagement_direction": "flat",
        "breadth_direction": "flat",
        "stage_velocity": np.nan,
        "max_win_probability": np.nan,
        "late_stage_stalled": False,
    }
    frame = pd.DataFrame([{**defaults, **row} for row in rows])
    tiers = frame[["account_id", "name", "owner", "status", "tier"]]
    progression = frame.drop(columns=["name", "owner", "status", "tier"])
    return tiers, progression


def test_health_hand_computed_reweight():
    tiers, progression = make_inputs(
        [
            {"account_id": "A", "touches_90d": 10, "max_win_probability": 0.6},
            {"account_id": "B", "touches_90d": 20},
        ]
    )
    result = health.compute_health(
        tiers, progression, health.summarize_signals(None, None), weights=WEIGHTS
    ).set_index("account_id")
    # A: level 50 and win probability 60, equal weights: 55.
    assert result.loc["A", "health_score"] == pytest.approx(55.0)
    # B: level 100, win probability missing and dropped: 100.
    assert result.loc["B", "health_score"] == pytest.approx(100.0)
    assert result.loc["A", "engagement_level_points"] == pytest.approx(25.0)
    assert result.loc["A", "win_probability_points"] == pytest.approx(30.0)


def _score_without_touchpoints(row: dict) -> pd.DataFrame:
    """Return the health of one account of a source without touchpoints."""
    tiers, progression = make_inputs([row])
    return health.compute_health(
        tiers,
        progression,
        health.summarize_signals(None, None),
        weights=WEIGHTS,
        has_touchpoints=False,
    )


def test_health_without_touchpoints_reweights():
    result = _score_without_touchpoints(
        {"account_id": "A", "touches_90d": 0, "max_win_probability": 0.6}
    )
    # Engagement level is missing, not zero, so win probability takes it all.
    assert result["health_score"].iloc[0] == pytest.approx(60.0)
    assert np.isnan(result["engagement_level"].iloc[0])
    assert np.isnan(result["breadth"].iloc[0])


def test_directions_missing_without_touchpoints():
    # The progression of a source without touchpoints has no direction.
    result = _score_without_touchpoints(
        {
            "account_id": "A",
            "status": "customer",
            "tier": 1,
            "engagement_direction": np.nan,
            "breadth_direction": np.nan,
        }
    )

    assert result["engagement_direction"].isna().all()
    assert result["breadth_direction"].isna().all()
    assert not result["at_risk"].iloc[0]
    assert not result["expansion_ready"].iloc[0]


def test_health_untouched_account_flat():
    tiers, progression = make_inputs(
        [{"account_id": "A", "engagement_direction": None}]
    )
    result = health.compute_health(
        tiers, progression, health.summarize_signals(None, None), weights=WEIGHTS
    )

    assert result["engagement_direction"].iloc[0] == "flat"
    assert result["breadth_direction"].iloc[0] == "flat"


def test_health_missing_when_no_component_scores():
    result = _score_without_touchpoints({"account_id": "A"})
    # No touches and no win probability: nothing to weigh, so no score.
    assert np.isnan(result["health_score"].iloc[0])
    assert np.isnan(result["win_probability_points"].iloc[0])


def test_health_neutral_rule_scores_missing_as_50():
    tiers, progression = make_inputs([{"account_id": "B", "touches_90d": 20}])
    result = health.compute_health(
        tiers,
        progression,
        health.summarize_signals(None, None),
        weights=WEIGHTS,
        missing_rule="neutral",
    )
    assert result["health_score"].iloc[0] == pytest.approx(75.0)


def test_customer_profile_uses_usage_signals():
    tiers, progression = make_inputs(
        [{"account_id": "C", "status": "customer", "touches_90d": 5}]
    )
    signals = pd.DataFrame(
        {
            "account_id": ["C", "C"],
            "occurred_at": pd.to_datetime(["2026-06-15", "2026-02-15"], utc=True),
            "signal_type": ["product_usage", "product_usage"],
            "value": [5.0, 10.0],
        }
    )
    summary = health.summarize_signals(signals, pd.Timestamp("2026-06-30").date())
    result = health.compute_health(tiers, progression, summary, weights=WEIGHTS)
    # Usage halved: 50 + 50 * (-0.5) = 25; level 100; mean 62.5.
    assert result["usage"].iloc[0] == pytest.approx(25.0)
    assert result["health_score"].iloc[0] == pytest.approx(62.5)
    assert result["profile"].iloc[0] == "customer"


@pytest.mark.parametrize(
    ("row", "at_risk", "expansion_ready", "reason"),
    [
        (
            {"tier": 1, "engagement_direction": "falling"},
            True,
            False,
            "engagement falling",
        ),
        (
            {"tier": 2, "late_stage_stalled": True},
            True,
            False,
            "stalled late-stage opportunity",
        ),
        ({"tier": 3, "engagement_direction": "falling"}, False, False, ""),
        (
            {
                "status": "customer",
                "engagement_direction": "rising",
                "breadth_direction": "rising",
            },
            False,
            True,
            "",
        ),
        ({"status": "prospect", "engagement_direction": "rising"}, False, False, ""),
    ],
)
def test_health_flags(row, at_risk, expansion_ready, reason):
    tiers, progression = make_inputs([{"account_id": "A", **row}])
    result = health.compute_health(
        tiers, progression, health.summarize_signals(None, None), weights=WEIGHTS
    )
    assert bool(result["at_risk"].iloc[0]) is at_risk
    assert bool(result["expansion_ready"].iloc[0]) is expansion_ready
    assert result["risk_reason"].iloc[0] == reason


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (
            {"late_stall_stage": "Negotiation", "late_stall_days": 95.6},
            "stalled late-stage opportunity (Negotiation, 96 days)",
        ),
        (
            {"late_stall_stage": "Proposal", "late_stall_days": 1.2},
            "stalled late-stage opportunity (Proposal, 1 day)",
        ),
        (
            {
                "late_stall_stage": "Negotiation",
                "late_stall_days": 40.0,
                "engagement_direction": "falling",
            },
            "engagement falling; stalled late-stage opportunity (Negotiation, 40 days)",
        ),
    ],
    ids=["days rounded", "one day", "with falling engagement"],
)
def test_stalled_reason_names_stage_days(row, reason):
    tiers, progression = make_inputs(
        [{"account_id": "A", "tier": 1, "late_stage_stalled": True, **row}]
    )
    result = health.compute_health(
        tiers, progression, health.summarize_signals(None, None), weights=WEIGHTS
    )
    assert bool(result["at_risk"].iloc[0])
    assert result["risk_reason"].iloc[0] == reason


@pytest.mark.parametrize(
    ("text", "reasons"),
    [
        ("engagement falling", ["engagement falling"]),
        ("stalled late-stage opportunity", ["stalled late-stage opportunity"]),
        (
            "engagement falling; stalled late-stage opportunity (Negotiation, 96 days)",
            ["engagement falling", "stalled late-stage opportunity"],
        ),
        (
            "stalled late-stage opportunity (Legal; review (EU), 12 days)",
            ["stalled late-stage opportunity"],
        ),
    ],
    ids=["falling", "bare stall", "both", "stage with separator"],
)
def test_split_risk_reasons_drops_details(text, reasons):
    assert health.split_risk_reasons(text) == reasons


@pytest.mark.parametrize(
    ("weights", "rule", "message"),
    [
        ({"customer": {"usage": 1}}, "reweight", "lacks the 'prospect' profile"),
        ({"customer": {"mood": 1}, "prospect": {"usage": 1}}, "reweight", "mood"),
        (
            {"customer": {"usage": 1}, "prospect": {"suport": 1}},
            "reweight",
            r"prospect has unknown component 'suport'\. Did you mean 'support'\?",
        ),
        ({"customer": {"usage": "a"}, "prospect": {"usage": 1}}, "reweight", "numbers"),
        ({"customer": {"usage": 0}, "prospect": {"usage": 1}}, "reweight", "positive"),
        (WEIGHTS, "average", "use reweight or neutral"),
    ],
)
def test_invalid_health_weights_raise(weights, rule, message):
    tiers, progression = make_inputs([{"account_id": "A"}])
    with pytest.raises(ParameterError, match=message):
        health.compute_health(
            tiers,
            progression,
            health.summarize_signals(None, None),
            weights=weights,
            missing_rule=rule,
        )


component_rows = st.lists(
    st.fixed_dictionaries(
        {
            "touches_90d": st.integers(0, 100),
            "contacts_90d": st.integers(0, 10),
            "engagement_trend": st.floats(-50, 50, allow_nan=False),
            "weekly_mean": st.floats(0, 20, allow_nan=False),
            "stage_velocity": st.one_of(st.just(np.nan), st.floats(-50, 150)),
            "max_win_probability": st.one_of(st.just(np.nan), st.floats(0, 1)),
            "status": st.sampled_from(["customer", "prospect", "lost"]),
        }
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(component_rows, st.sampled_from(["reweight", "neutral"]))
def test_health_stays_within_0_and_100(rows, rule):
    tiers, progression = make_inputs(
        [{"account_id": f"A{i:02d}", **row} for i, row in enumerate(rows)]
    )
    weights = {
        "customer": {c: 1 for c in health.COMPONENTS},
        "prospect": {c: 1 for c in health.COMPONENTS},
    }
    result = health.compute_health(
        tiers,
        progression,
        health.summarize_signals(None, None),
        weights=weights,
        missing_rule=rule,
    )
    assert result["health_score"].between(0, 100).all()
    points = result[[f"{c}_points" for c in health.COMPONENTS]].sum(axis=1)
    assert np.allclose(points, result["health_score"], atol=0.1)


def test_drivers_list_components_beyond_band():
    columns = {f"{c}_points": 0.0 for c in health.COMPONENTS}
    previous = pd.DataFrame([{"account_id": "A", "health_score": 50.0, **columns}])
    current = previous.copy()
    current["health_score"] = 40.0
    current["engagement_trend_points"] = -12.0
    current["breadth_points"] = 2.0
    drivers = health.explain_health_changes(current, previous, noise_band=5)
    assert drivers["component"].tolist() == ["engagement_trend", "breadth"]
    assert drivers["points_change"].tolist() == [-12.0, 2.0]
    lines = health.summarize_drivers(drivers)
    assert lines["drivers"].iloc[0] == "engagement trend −12.0, breadth +2.0"
    quiet = health.explain_health_changes(current, previous, noise_band=15)
    assert quiet.empty


def test_drivers_summary_counts_left_out_components():
    drivers = pd.DataFrame(
        {
            "account_id": ["A"] * 5 + ["B"] * 4,
            "component": [
                "usage",
                "engagement_trend",
                "support",
                "breadth",
                "fit",
                "usage",
                "engagement_trend",
                "support",
                "breadth",
            ],
            "points_change": [-6.7, -6.2, -3.0, -2.5, -1.6, -6.7, -6.2, -3.0, 1.5],
        }
    )

    lines = health.summarize_drivers(drivers).set_index("account_id")["drivers"]

    assert lines["A"] == (
        "usage −6.7, engagement trend −6.2, support −3.0, 2 other components −4.1"
    )
    assert lines["B"] == (
        "usage −6.7, engagement trend −6.2, support −3.0, breadth +1.5"
    )


@pytest.mark.parametrize(
    ("scores", "labels", "auc"),
    [
        ([1, 2, 3, 4], [False, False, True, True], 1.0),
        ([4, 3, 2, 1], [False, False, True, True], 0.0),
        ([1, 1, 1, 1], [False, True, False, True], 0.5),
        ([1, 3, 2, 4], [False, False, True, True], 0.75),
    ],
)
def test_auc_hand_computed(scores, labels, auc):
    assert healthvalidation.compute_auc(np.array(scores), np.array(labels)) == auc


def test_auc_without_positives_is_nan():
    assert np.isnan(healthvalidation.compute_auc(np.array([1.0]), np.array([False])))


def outcomes_with(churned: list[bool], won: list[bool]) -> pd.DataFrame:
    customers = pd.DataFrame(
        {
            "month_end": pd.Timestamp("2026-01-31"),
            "account_id": [f"c{i}" for i in range(len(churned))],
            "health_score": np.linspace(10, 90, len(churned)),
            "was_customer": True,
            "won": False,
            "churned": churned,
        }
    )
    prospects = pd.DataFrame(
        {
            "month_end": pd.Timestamp("2026-01-31"),
            "account_id": [f"p{i}" for i in range(len(won))],
            "health_score": np.linspace(10, 90, len(won)),
            "was_customer": False,
            "won": won,
            "churned": False,
        }
    )
    return pd.concat([customers, prospects], ignore_index=True)


def test_validation_without_churn_has_no_auc():
    won = [False] * 10 + [True] * 10
    _, summary = healthvalidation.validate_health(outcomes_with([False] * 20, won))
    summary = summary.set_index("outcome")
    assert np.isnan(summary.loc["churn", "auc"])
    assert (
        summary.loc["churn", "auc_missing_reason"]
        == "no account churned in the outcome window"
    )
    assert summary.loc["win", "auc"] == 1.0
    assert summary.loc["win", "auc_missing_reason"] == ""


def test_validation_with_few_churns_has_no_auc():
    churned = [True] * 4 + [False] * 16
    _, summary = healthvalidation.validate_health(outcomes_with(churned, [False] * 5))
    summary = summary.set_index("outcome")
    assert np.isnan(summary.loc["churn", "auc"])
    assert summary.loc["churn", "auc_missing_reason"] == (
        "only 4 churns fell in the outcome window, fewer than the 5 the report "
        "needs for an AUC"
    )
    assert summary.loc["win", "auc_missing_reason"] == (
        "no account won in the outcome window"
    )


@pytest.mark.parametrize(
    ("outcome", "events", "non_events", "reason"),
    [
        ("churn", 5, 5, ""),
        ("churn", 0, 0, "no account-month could be scored"),
        (
            "win",
            1,
            10,
            "only 1 win fell in the outcome window, fewer than the 5 the report "
            "needs for an AUC",
        ),
        ("win", 10, 0, "every scored account won in the outcome window"),
        (
            "churn",
            10,
            2,
            "only 2 scored account-months had no churn, fewer than the 5 the "
            "report needs for an AUC",
        ),
        (
            "win",
            10,
            1,
            "only 1 scored account-month had no win, fewer than the 5 the "
            "report needs for an AUC",
        ),
    ],
)
def test_missing_auc_reasons(outcome, events, non_events, reason):
    assert healthvalidation.describe_missing_auc(outcome, events, non_events) == reason


def test_recorded_activity_needs_touch_or_component():
    nan = float("nan")
    frame = pd.DataFrame({c: [0.0, 0.0, 0.0, 0.0] for c in health.COMPONENTS})
    frame[list(health.COMPONENTS[2:])] = nan
    frame.loc[1, "engagement_level"] = 12.5
    frame.loc[2, "breadth"] = 4.0
    frame.loc[3, "win_probability"] = 30.0

    recorded = health.has_recorded_activity(frame)

    assert recorded.tolist() == [False, True, True, True]
