"""Win-probability model: touch counts, fit, scoring and calibration."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from acctlib.forecast.winprob import (
    MIN_TRAINING_ROWS,
    TouchIndex,
    _build_features,
    describe_training_shortfall,
    fit_win_model,
    summarize_calibration,
)

STAGES = ["Qualify", "Propose", "Commit"]


def test_touch_index_counts_days_in_window():
    counts = pd.DataFrame(
        {
            "account_id": ["A", "A", "A", "B"],
            "day": [100, 105, 110, 105],
            "touches": [1, 2, 4, 8],
        }
    )
    index = TouchIndex(counts)
    day = pd.Timestamp("1970-01-01", tz="UTC")
    start = pd.Series([day + pd.Timedelta(days=100)] * 3)
    end = pd.Series([day + pd.Timedelta(days=110)] * 3)
    result = index.count(pd.Series(["A", "B", "C"]), start, end)
    # Day 110 is excluded; account C has no touches.
    np.testing.assert_allclose(result, [3.0, 8.0, 0.0])


def test_touch_index_missing_account_counts_zero():
    counts = pd.DataFrame({"account_id": ["A"], "day": [100], "touches": [3]})
    index = TouchIndex(counts)
    day = pd.Timestamp("1970-01-01", tz="UTC")
    start = pd.Series([day + pd.Timedelta(days=99)] * 2)
    end = pd.Series([day + pd.Timedelta(days=101)] * 2)
    accounts = pd.Series(["A", None], dtype="str")
    np.testing.assert_allclose(index.count(accounts, start, end), [3.0, 0.0])


def test_touch_index_numeric_accounts():
    # Numeric account IDs are compared as text, as the engine returns them.
    index = TouchIndex.from_keys(pd.Index(["7"]), np.array([100]), np.array([2]))
    day = pd.Timestamp("1970-01-01", tz="UTC")
    start = pd.Series([day + pd.Timedelta(days=100)] * 2)
    end = pd.Series([day + pd.Timedelta(days=101)] * 2)
    np.testing.assert_allclose(index.count(pd.Series([7, 8]), start, end), [2.0, 0.0])


def test_touch_index_windows_match_count():
    counts = pd.DataFrame(
        {
            "account_id": ["A", "A", "A", "A", "B"],
            "day": [10, 69, 70, 99, 99],
            "touches": [1, 2, 4, 8, 16],
        }
    )
    index = TouchIndex(counts)
    day = pd.Timestamp("1970-01-01", tz="UTC")
    accounts = pd.Series(["A", "B", "C"], dtype="str")
    reference = pd.Series([day + pd.Timedelta(days=100, hours=5)] * 3)

    windows = index.count_windows(accounts, reference, [0, 30, 90])

    thirty, ninety = pd.Timedelta(days=30), pd.Timedelta(days=90)
    recent = index.count(accounts, reference - thirty, reference)
    earlier = index.count(accounts, reference - ninety, reference - thirty)
    np.testing.assert_array_equal(windows[:, 0], recent)
    np.testing.assert_array_equal(windows[:, 1], earlier)
    np.testing.assert_allclose(windows, [[12.0, 3.0], [16.0, 0.0], [0.0, 0.0]])


def test_touch_index_without_touches_counts_zero():
    result = TouchIndex(None).count(pd.Series(["A"]), pd.Series([0]), pd.Series([1]))
    np.testing.assert_allclose(result, [0.0])


def make_reach(rows: int, seed: int = 0) -> pd.DataFrame:
    """Closed stage entries where later stages win more often."""
    rng = np.random.default_rng(seed)
    stage = rng.choice(STAGES, size=rows)
    chance = pd.Series(stage).map({"Qualify": 0.15, "Propose": 0.5, "Commit": 0.85})
    created = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 300, rows), unit="D"
    )
    return pd.DataFrame(
        {
            "opportunity_id": [f"O{i}" for i in range(rows)],
            "account_id": [f"A{i % 40}" for i in range(rows)],
            "stage": stage,
            "entered_at": created
            + pd.to_timedelta(rng.integers(0, 60, rows), unit="D"),
            "created_at": created,
            "is_won": rng.random(rows) < chance.to_numpy(),
            "tier": rng.integers(1, 5, rows),
            "amount": rng.gamma(2.0, 5_000.0, rows),
            "type": rng.choice(["new_business", "expansion"], size=rows),
        }
    )


def test_model_ranks_later_stages_higher():
    model, messages = fit_win_model(make_reach(600), STAGES, 60.0, TouchIndex(None))
    assert model is not None
    assert model.training_rows == 600
    open_deals = pd.DataFrame(
        {
            "opportunity_id": ["Q", "P", "C"],
            "account_id": ["A1", "A1", "A1"],
            "stage_asof": STAGES,
            "created_at": pd.to_datetime(["2026-06-01"] * 3, utc=True),
            "tier": [2, 2, 2],
            "amount": [5_000.0] * 3,
            "type": ["new_business"] * 3,
        }
    )
    predicted = model.predict(open_deals, dt.date(2026, 6, 30), TouchIndex(None))
    assert predicted[0] < predicted[1] < predicted[2]
    assert ((predicted >= 0) & (predicted <= 1)).all()


def test_model_matches_binomial_glm():
    # The model is fitted by Newton's method. The binomial GLM of statsmodels,
    # fitted by IRLS on the same rows and features, must reach the same maximum.
    reach = make_reach(600)
    model, messages = fit_win_model(reach, STAGES, 60.0, TouchIndex(None))
    rows = reach.assign(reference_time=reach["entered_at"])
    features = _build_features(
        rows, STAGES, model.amount_edges, 60.0, TouchIndex(None)
    ).reindex(columns=model.columns[1:])
    design = sm.add_constant(features, has_constant="add")
    glm = sm.GLM(reach["is_won"].astype(float), design, sm.families.Binomial()).fit()

    np.testing.assert_allclose(model.result.params, glm.params, rtol=1e-7)
    np.testing.assert_allclose(
        model.result.predict(design.to_numpy()), glm.predict(design), atol=1e-10
    )
    assert messages == []


def test_separated_outcomes_fall_back_to_irls():
    # Every Commit entry won and every other entry lost, so Newton's method
    # does not converge and IRLS fits the model instead.
    reach = make_reach(300).assign(is_won=lambda frame: frame["stage"] == "Commit")
    model, messages = fit_win_model(reach, STAGES, 60.0, TouchIndex(None))

    assert model is not None
    # The warnings are those of IRLS, without Newton's failure to converge.
    assert messages == [
        "PerfectSeparationWarning: Perfect separation or prediction detected, "
        "parameter may not be identified"
    ]
    open_deals = pd.DataFrame(
        {
            "opportunity_id": ["Q", "C"],
            "account_id": ["A1", "A1"],
            "stage_asof": ["Qualify", "Commit"],
            "created_at": pd.to_datetime(["2026-06-01"] * 2, utc=True),
            "tier": [2, 2],
            "amount": [5_000.0] * 2,
            "type": ["new_business"] * 2,
        }
    )
    predicted = model.predict(open_deals, dt.date(2026, 6, 30), TouchIndex(None))
    assert predicted[0] < 0.01
    assert predicted[1] > 0.99


@pytest.mark.parametrize("rows", [0, 10])
def test_too_few_rows_skip_model(rows):
    model, messages = fit_win_model(make_reach(rows), STAGES, 60.0, TouchIndex(None))
    assert model is None
    assert messages == []


def test_one_outcome_skips_model():
    reach = make_reach(100).assign(is_won=True)
    model, _ = fit_win_model(reach, STAGES, 60.0, TouchIndex(None))
    assert model is None


def test_calibration_by_decile():
    scored = pd.DataFrame(
        {"predicted": np.linspace(0.05, 0.95, 20), "won": [False] * 10 + [True] * 10}
    )
    table = summarize_calibration(scored)
    assert table["decile"].tolist() == list(range(1, 11))
    assert table["deals"].tolist() == [2] * 10
    assert table["actual"].tolist() == [0.0] * 5 + [1.0] * 5
    assert table["predicted"].is_monotonic_increasing


def test_calibration_of_nothing_is_empty():
    table = summarize_calibration(pd.DataFrame(columns=["predicted", "won"]))
    assert table.empty
    assert list(table.columns) == ["decile", "deals", "predicted", "actual"]


def test_feature_indicators_match_get_dummies():
    rows = make_reach(12).assign(reference_time=lambda frame: frame["entered_at"])
    rows.loc[0, "stage"] = None
    rows.loc[1, "type"] = "partner"
    edges = np.array([5_000.0, 10_000.0])

    features = _build_features(rows, STAGES, edges, 90.0, TouchIndex(None))

    for name, values, categories in [
        ("stage", rows["stage"], STAGES),
        ("type", rows["type"], ["new_business", "expansion", "renewal"]),
        ("tier", rows["tier"], [4, 1, 2, 3]),
    ]:
        # An unknown value, such as type "partner", has no indicator.
        known = values.where(values.isin(categories))
        expected = pd.get_dummies(
            pd.Categorical(known, categories=categories),
            prefix=name,
            drop_first=True,
            dtype=float,
        )
        expected.index = rows.index
        pd.testing.assert_frame_equal(features[expected.columns], expected)
    assert list(features.columns[-2:]) == ["amount_band_1", "amount_band_2"]


@pytest.mark.parametrize(
    ("rows", "won", "expected"),
    [
        (
            9,
            [True, False],
            "it needed 30 stage entries of closed deals to learn from, and had 9",
        ),
        (
            MIN_TRAINING_ROWS,
            [True],
            "every closed deal it could learn from was won, and it needed lost ones",
        ),
        (
            MIN_TRAINING_ROWS,
            [False],
            "every closed deal it could learn from was lost, and it needed won ones",
        ),
        (MIN_TRAINING_ROWS, [True, False], ""),
    ],
)
def test_training_shortfall_reasons(rows, won, expected):
    reach = pd.DataFrame({"is_won": [won[row % len(won)] for row in range(rows)]})
    assert describe_training_shortfall(reach) == expected
