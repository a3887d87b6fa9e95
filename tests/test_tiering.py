"""Fit, value and engagement scores, tier rules and reasons."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acctlib import tiering
from acctlib.errors import ParameterError
from acctlib.params import resolve_params
from tests.conftest import DATASETS, REPO

RULES = tiering.parse_tier_rules(
    {
        "tier_1": {"match": "all", "value": 75, "fit": 60},
        "tier_2": {"match": "all", "value": 50, "fit": 40},
        "tier_3": {"match": "any", "fit": 60, "engagement": 50},
    }
)
CONFIG = tiering.TierConfig(
    fit_method="profile",
    icp={
        "industries": ["Software"],
        "regions": ["EMEA"],
        "employees_min": 100,
        "employees_max": 1000,
    },
    fit_weights={"industry": 40, "size": 40, "region": 20},
    engagement_weights={"level": 50, "breadth": 30, "trend": 20},
    rules=RULES,
)


def make_accounts(rows: list[tuple]) -> pd.DataFrame:
    """Account map rows: id, industry, region, employees, won_acv, status."""
    frame = pd.DataFrame(
        rows,
        columns=["account_id", "industry", "region", "employees", "won_acv", "status"],
    )
    frame["name"] = "Name " + frame["account_id"]
    frame["owner"] = "Owner"
    frame["employees"] = frame["employees"].astype("Int64")
    # Tiers read only whether the account map's value is missing.
    frame["value"] = frame["won_acv"]
    return frame


def make_progression(rows: list[tuple]) -> pd.DataFrame:
    """Progression rows: id, touches_90d, contacts_90d, trend, weekly_mean."""
    return pd.DataFrame(
        rows,
        columns=[
            "account_id",
            "touches_90d",
            "contacts_90d",
            "engagement_trend",
            "weekly_mean",
        ],
    )


def make_opportunities(rows: list[tuple]) -> pd.DataFrame:
    """Opportunity rows: account, is_open, is_won, acv, win_probability."""
    return pd.DataFrame(
        rows, columns=["account_id", "is_open", "is_won", "acv", "win_probability"]
    )


THREE_ACCOUNTS = make_accounts(
    [
        ("A", "Software", "EMEA", 500, 100_000.0, "customer"),
        ("B", "Retail", "APAC", 50, 0.0, "open_opportunity"),
        ("C", "Software", "APAC", 5000, 0.0, "prospect"),
    ]
)
THREE_PROGRESSIONS = make_progression(
    [("A", 10, 2, 0.0, 1.0), ("B", 30, 1, 2.0, 2.5), ("C", 0, 0, 0.0, 0.0)]
)
THREE_OPPORTUNITIES = make_opportunities(
    [("A", False, True, 100_000.0, 1.0), ("B", True, False, 50_000.0, 0.5)]
)


def test_percentile_score_ranks_positive_values():
    values = pd.Series([0.0, 10.0, 20.0, 20.0, 40.0])
    expected = [0.0, 25.0, 75.0, 75.0, 100.0]
    assert tiering.percentile_score(values).tolist() == expected


def test_percentile_score_all_zero():
    assert tiering.percentile_score(pd.Series([0.0, 0.0])).tolist() == [0.0, 0.0]


def test_account_tiers_hand_computed():
    tiers = tiering.compute_account_tiers(
        THREE_ACCOUNTS, THREE_PROGRESSIONS, THREE_OPPORTUNITIES, CONFIG
    ).set_index("account_id")

    # Fit: A matches industry, size and region; B nothing; C only industry.
    assert tiers["fit_score"].to_dict() == {"A": 100.0, "B": 0.0, "C": 40.0}
    # Value: A 100,000 won; B 50,000 open at 0.5 = 25,000; C nothing.
    assert tiers["value_amount"].to_dict() == {"A": 100_000.0, "B": 25_000.0, "C": 0.0}
    assert tiers["value_score"].to_dict() == {"A": 100.0, "B": 50.0, "C": 0.0}
    # Engagement: A = 0.5*50 + 0.3*100 + 0.2*50 = 65; B = 50 + 15 + 20 = 85.
    assert tiers["engagement_score"].to_dict() == {"A": 65.0, "B": 85.0, "C": 0.0}
    assert tiers["tier"].to_dict() == {"A": 1, "B": 3, "C": 4}
    assert tiers.loc["A", "tier_label"] == "Tier 1 Strategic"
    assert (
        tiers.loc["A", "reason"]
        == "value 100, fit 100: at or above the Tier 1 thresholds (value 75, fit 60)"
    )
    assert tiers.loc["B", "reason"] == (
        "fit 0, engagement 85: at or above one of the Tier 3 thresholds "
        "(fit 60, engagement 50)"
    )
    assert tiers.loc["C", "reason"] == (
        "fit 40, engagement 0: below all the Tier 3 thresholds (fit 60, engagement 50)"
    )


def test_account_tiers_missing_open_amount():
    """An account whose only open deal lacks an ACV has an unknown value."""
    accounts = make_accounts(
        [
            ("A", "Software", "EMEA", 500, 100_000.0, "customer"),
            ("B", "Retail", "APAC", 50, 0.0, "open_opportunity"),
            ("D", "Retail", "APAC", 50, 0.0, "open_opportunity"),
        ]
    )
    accounts.loc[accounts["account_id"] == "D", "value"] = float("nan")
    progression = make_progression(
        [("A", 10, 2, 0.0, 1.0), ("B", 30, 1, 2.0, 2.5), ("D", 0, 0, 0.0, 0.0)]
    )
    opportunities = make_opportunities(
        [
            ("A", False, True, 100_000.0, 1.0),
            ("B", True, False, 50_000.0, 0.5),
            ("B", True, False, float("nan"), 0.5),
            ("D", True, False, float("nan"), 0.5),
        ]
    )

    tiers = tiering.compute_account_tiers(
        accounts, progression, opportunities, CONFIG
    ).set_index("account_id")

    assert tiers.loc["B", "expected_open_acv"] == 25_000.0
    assert tiers.loc["B", "value_amount"] == 25_000.0
    assert pd.isna(tiers.loc["D", "expected_open_acv"])
    assert pd.isna(tiers.loc["D", "value_amount"])
    assert tiers.loc["D", "value_score"] == 0.0
    assert tiers.loc["A", "expected_open_acv"] == 0.0


def test_account_tiers_without_touchpoints():
    tiers = tiering.compute_account_tiers(
        THREE_ACCOUNTS,
        THREE_PROGRESSIONS,
        THREE_OPPORTUNITIES,
        CONFIG,
        has_touchpoints=False,
    ).set_index("account_id")

    assert tiers["engagement_score"].isna().all()
    # B reached Tier 3 on engagement alone, which is not measured now.
    assert tiers["tier"].to_dict() == {"A": 1, "B": 4, "C": 4}
    assert tiers.loc["B", "reason"] == (
        "fit 0, engagement not measured: below all the Tier 3 thresholds "
        "(fit 60, engagement 50)"
    )


def test_account_tiers_have_contract_columns():
    tiers = tiering.compute_account_tiers(
        THREE_ACCOUNTS, THREE_PROGRESSIONS, THREE_OPPORTUNITIES, CONFIG
    )
    assert list(tiers.columns) == list(tiering.ACCOUNT_TIERS_COLUMNS)
    assert tiers["tier"].dtype == "int64"


@pytest.mark.parametrize(
    ("scores", "tier", "reason"),
    [
        (
            (92, 80, 0),
            1,
            "value 92, fit 80: at or above the Tier 1 thresholds (value 75, fit 60)",
        ),
        (
            (75, 60, 0),
            1,
            "value 75, fit 60: at or above the Tier 1 thresholds (value 75, fit 60)",
        ),
        (
            (60, 45, 0),
            2,
            "value 60, fit 45: at or above the Tier 2 thresholds (value 50, fit 40)",
        ),
        (
            (75, 59.9, 0),
            2,
            "value 75, fit 59.9: at or above the Tier 2 thresholds (value 50, fit 40)",
        ),
        (
            (74.9, 60, 0),
            2,
            "value 74.9, fit 60: at or above the Tier 2 thresholds (value 50, fit 40)",
        ),
        (
            (74.4, 60.4, 0),
            2,
            "value 74, fit 60: at or above the Tier 2 thresholds (value 50, fit 40)",
        ),
        (
            (10, 20, 49.6),
            4,
            "fit 20, engagement 49.6: below all the Tier 3 thresholds "
            "(fit 60, engagement 50)",
        ),
        (
            (10, 20, 49.96),
            4,
            "fit 20, engagement 49.96: below all the Tier 3 thresholds "
            "(fit 60, engagement 50)",
        ),
        (
            (10, 20, 49.5),
            4,
            "fit 20, engagement 49.5: below all the Tier 3 thresholds "
            "(fit 60, engagement 50)",
        ),
        (
            (10, 70, 0),
            3,
            "fit 70, engagement 0: at or above one of the Tier 3 thresholds "
            "(fit 60, engagement 50)",
        ),
        (
            (10, 30, 10),
            4,
            "fit 30, engagement 10: below all the Tier 3 thresholds "
            "(fit 60, engagement 50)",
        ),
    ],
)
def test_tier_rules_and_reasons(scores, tier, reason):
    value, fit, engagement = scores
    frame = pd.DataFrame(
        {"value_score": [value], "fit_score": [fit], "engagement_score": [engagement]}
    )
    frame["tier"] = tiering.assign_tiers(frame, RULES)
    assert frame["tier"].iloc[0] == tier
    assert tiering.explain_tiers(frame, RULES).iloc[0] == reason


@pytest.mark.parametrize(
    ("fit", "reason"),
    [
        # 62.5 rounds half to even, to 62, which reads below 62.5.
        (62.5, "fit 62.5: at or above the Tier 1 threshold (fit 62.5)"),
        (62.6, "fit 63: at or above the Tier 1 threshold (fit 62.5)"),
        (62.4, "fit 62: at or above the Tier 2 threshold (fit 40)"),
    ],
)
def test_reason_with_fractional_threshold(fit, reason):
    rules = {1: {"match": "all", "fit": 62.5}, 2: {"match": "all", "fit": 40.0}}
    frame = pd.DataFrame({"value_score": [0.0], "fit_score": [fit]})
    frame["engagement_score"] = 0.0
    frame["tier"] = tiering.assign_tiers(frame, rules)
    assert tiering.explain_tiers(frame, rules).iloc[0] == reason


def test_profile_fit_ignores_case():
    accounts = make_accounts(
        [
            ("A", "software", " emea", 500, 0.0, "lost"),
            ("B", "SOFTWARE ", "Americas", 5000, 0.0, "lost"),
            ("C", None, None, None, 0.0, "lost"),
        ]
    )
    fit = tiering.compute_fit_score(accounts, make_opportunities([]), CONFIG)
    assert fit.tolist() == [100.0, 40.0, 0.0]


def test_fit_by_win_rate_prefers_winning_segment():
    accounts = make_accounts(
        [
            ("A", "Software", "EMEA", 500, 0.0, "lost"),
            ("B", "Retail", "EMEA", 500, 0.0, "lost"),
        ]
    )
    deals = make_opportunities(
        [("A", False, True, 1.0, 1.0)] * 5 + [("B", False, False, 1.0, 0.0)] * 5
    )
    config = tiering.TierConfig(
        fit_method="win_rate",
        icp={},
        fit_weights={"industry": 1, "size": 0, "region": 0},
        engagement_weights=CONFIG.engagement_weights,
        rules=RULES,
    )
    fit = tiering.compute_fit_score(accounts, deals, config)
    # Smoothed with 10 prior deals at the overall 0.5: Software (5 + 5) / 15,
    # Retail (0 + 5) / 15, so Retail scores half of Software.
    assert fit.tolist() == [100.0, 50.0]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"tier_4": {"value": 10}}, "use tier_1, tier_2 and tier_3"),
        ({"tier_1": {"value": 120}}, "use a score from 0 to 100"),
        ({"tier_1": {"reach": 10}}, "The scores are fit, value, engagement"),
        ({"tier_1": {"valeu": 10}}, "unknown score 'valeu'. Did you mean 'value'"),
        ({"tier_1": {"match": "some", "fit": 10}}, "match: all or any"),
    ],
)
def test_invalid_tier_rules_raise(rules, message):
    with pytest.raises(ParameterError, match=message):
        tiering.parse_tier_rules(rules)


def test_default_params_give_valid_config():
    params = resolve_params(None, [])
    config = tiering.TierConfig.from_params(params)
    assert sorted(config.rules) == [1, 2, 3]
    assert config.fit_method == "profile"


def test_size_bands():
    employees = pd.Series([10, 50, 199, 200, 5000, None], dtype="Int64")
    assert tiering.size_band(employees).tolist() == [
        "0-49",
        "50-199",
        "50-199",
        "200-999",
        "5000+",
        "Unknown",
    ]


account_rows = st.lists(
    st.tuples(
        st.sampled_from(["Software", "Retail"]),
        st.sampled_from(["EMEA", "APAC"]),
        st.integers(1, 3000),
        st.floats(0, 1e6, allow_nan=False),
        st.integers(0, 50),
        st.integers(0, 8),
        st.floats(-2, 2, allow_nan=False),
    ),
    min_size=1,
    max_size=25,
)


def build_frames(rows: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ids = [f"A{i:03d}" for i in range(len(rows))]
    accounts = make_accounts(
        [
            (i, r[0], r[1], r[2], r[3], "customer")
            for i, r in zip(ids, rows, strict=True)
        ]
    )
    progression = make_progression(
        [(i, r[4], r[5], r[6], r[4] / 12) for i, r in zip(ids, rows, strict=True)]
    )
    return accounts, progression, make_opportunities([])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(account_rows)
def test_tiers_respect_thresholds(rows):
    accounts, progression, deals = build_frames(rows)
    tiers = tiering.compute_account_tiers(accounts, progression, deals, CONFIG)
    for row in tiers.itertuples():
        meets = {
            number: tiering._meets_rule(
                pd.DataFrame([row._asdict()]), RULES[number]
            ).iloc[0]
            for number in RULES
        }
        expected = min([n for n, ok in meets.items() if ok], default=4)
        assert row.tier == expected
    assert tiers[["fit_score", "value_score", "engagement_score"]].min().min() >= 0
    assert tiers[["fit_score", "value_score", "engagement_score"]].max().max() <= 100


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(account_rows, st.data())
def test_raising_value_never_lowers_tier(rows, data):
    accounts, progression, deals = build_frames(rows)
    before = tiering.compute_account_tiers(accounts, progression, deals, CONFIG)
    position = data.draw(st.integers(0, len(rows) - 1))
    raise_by = data.draw(st.floats(0, 1e6, allow_nan=False))
    raised = accounts.copy()
    raised.loc[position, "won_acv"] += raise_by
    after = tiering.compute_account_tiers(raised, progression, deals, CONFIG)
    assert after["tier"].iloc[position] <= before["tier"].iloc[position]
    assert after["value_score"].iloc[position] >= before["value_score"].iloc[position]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(account_rows, st.randoms(use_true_random=False))
def test_tiers_ignore_row_order(rows, random):
    accounts, progression, deals = build_frames(rows)
    expected = tiering.compute_account_tiers(accounts, progression, deals, CONFIG)
    order = list(range(len(rows)))
    random.shuffle(order)
    shuffled = tiering.compute_account_tiers(
        accounts.iloc[order], progression.iloc[order[::-1]], deals, CONFIG
    )
    pd.testing.assert_frame_equal(shuffled, expected)


def test_empty_rules_put_everyone_in_tier_4():
    scores = pd.DataFrame(
        {"value_score": [100.0], "fit_score": [100.0], "engagement_score": [100.0]}
    )
    assert tiering.assign_tiers(scores, {}).tolist() == [4]
    assert np.all(
        tiering.explain_tiers(scores.assign(tier=4), {}).str.contains("Tier 4")
    )


def test_unmatched_profile_names_source_values():
    accounts = pd.DataFrame(
        {
            "industry": ["software", "Retail", None],
            "region": ["West", "West", "East"],
            "employees": [500, 20, None],
        }
    )

    notes = tiering.describe_unmatched_profile(accounts, CONFIG)

    # Industry matches one account regardless of case, so only region is noted.
    assert len(notes) == 1
    assert notes[0].startswith(
        "The ideal customer profile's list of regions (EMEA) matches no "
        "account's region"
    )
    assert "The source's most common regions are West, East;" in notes[0]
    assert "no account can score above 80 for fit" in notes[0]
    assert (
        "under icp_profile: regions, or set fit_weights to "
        "{industry: 40, size: 40, region: 0} in the run's parameters"
    ) in notes[0]


def test_unmatched_profile_without_source_column():
    # The source maps no region column, as a HubSpot export without
    # State/Region, so every account's region is missing.
    accounts = pd.DataFrame(
        {
            "industry": ["Software", "Retail"],
            "region": [None, None],
            "employees": [500, 20],
        }
    )

    notes = tiering.describe_unmatched_profile(accounts, CONFIG)

    assert notes == [
        "No account has a value for region in the source. The ideal customer "
        "profile's list of regions (EMEA) matches no account, so region adds "
        "nothing to any account's fit score, and no account can score above "
        "80 for fit. Map a region column in the source profile, or set "
        "fit_weights to {industry: 40, size: 40, region: 0} in the run's "
        "parameters to leave region out of the fit score."
    ]


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ("industry", "Map an industry column in the source profile"),
        ("size", "Map an employees column in the source profile"),
        ("region", "Map a region column in the source profile"),
    ],
)
def test_unmatched_profile_column_article(attribute, expected):
    column = "employees" if attribute == "size" else attribute
    accounts = pd.DataFrame(
        {"industry": ["Software"], "region": ["EMEA"], "employees": [500]}
    )
    accounts[column] = None

    notes = tiering.describe_unmatched_profile(accounts, CONFIG)

    assert len(notes) == 1
    assert expected in notes[0]


def test_unmatched_profile_size_and_ceiling():
    accounts = pd.DataFrame(
        {
            "industry": ["Retail", "Retail"],
            "region": ["EMEA", "West"],
            "employees": [20, 5000],
        }
    )

    notes = tiering.describe_unmatched_profile(accounts, CONFIG)

    assert len(notes) == 2
    assert notes[0].startswith(
        "The ideal customer profile's list of industries (Software) matches no "
        "account's industry, so industry adds nothing to any account's fit "
        "score, and no account can score above 20 for fit."
    )
    assert notes[1].startswith(
        "The ideal customer profile's employee range (100 to 1,000) matches no "
        "account's employees, so size adds nothing"
    )
    assert "The source's accounts have 20 to 5,000 employees;" in notes[1]
    assert "set icp_profile: employees_min and employees_max" in notes[1]


def test_unmatched_profile_skips_unweighted():
    accounts = pd.DataFrame(
        {"industry": ["Software"], "region": [None], "employees": [500]}
    )
    config = dataclasses.replace(
        CONFIG, fit_weights={"industry": 40, "size": 40, "region": 0}
    )

    assert tiering.describe_unmatched_profile(accounts, config) == []


def test_unmatched_profile_silent_under_win_rate():
    accounts = pd.DataFrame({"industry": ["Retail"], "region": ["West"]})
    config = dataclasses.replace(CONFIG, fit_method="win_rate")

    assert tiering.describe_unmatched_profile(accounts, config) == []


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("params_file", "dataset"),
    [
        ("olist.yaml", "olist-marketing-funnel"),
        ("salesforce.yaml", "salesforce-devorg-export"),
    ],
)
def test_real_source_profile_separates_accounts(params_file, dataset):
    """The run's ideal profile gives some, but not all, accounts a Tier 1 fit."""
    from acctlib.intake import load_source

    if not (DATASETS / dataset).is_dir():
        pytest.skip("shared datasets absent")
    params = resolve_params(
        REPO / "params" / params_file, [f"data_dir={DATASETS / dataset}"]
    )
    accounts = load_source(params).tables["accounts"]
    config = tiering.TierConfig.from_params(params)

    fit = tiering.compute_fit_score(accounts, pd.DataFrame(), config)

    assert tiering.describe_unmatched_profile(accounts, config) == []
    tier_1_fit = config.rules[1]["fit"]
    assert (fit >= tier_1_fit).any()
    assert (fit < tier_1_fit).any()
