"""Time-series guardrails: history length, zero floor, inputs and warnings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from acctlib.forecast.timeseries import (
    SeriesForecast,
    forecast_series,
    summarize_windows,
)


def monthly(values) -> pd.Series:
    index = pd.period_range("2023-01", periods=len(values), freq="M")
    return pd.Series(values, index=index)


def seasonal_values(months: int, noise: float = 10.0) -> np.ndarray:
    steps = np.arange(months)
    shocks = np.random.default_rng(3).normal(0.0, noise, months)
    return 100 + 50 * np.sin(steps * 2 * np.pi / 12) + 3 * steps + shocks


def fit(values, months=3, **options):
    rng = np.random.default_rng(7)
    return forecast_series(monthly(values), months, 500, rng, **options)


@pytest.mark.parametrize(
    ("history_months", "model"),
    [(0, "mean"), (5, "mean"), (11, "mean"), (12, "ets"), (23, "ets")],
)
def test_short_history_turns_season_off(history_months, model):
    assert fit(seasonal_values(history_months)).model == model


def test_two_years_of_history_fit_a_season():
    assert fit(seasonal_values(24)).model == "ets_seasonal"


def test_sarimax_needs_two_years():
    assert fit(seasonal_values(23), sarimax=True) is None
    assert fit(seasonal_values(24), sarimax=True).model == "sarimax"


def test_mean_fallback_forecasts_the_mean():
    result = fit([10.0, 20.0, 0.0, 30.0])
    np.testing.assert_allclose(result.point, [15.0, 15.0, 15.0])
    assert set(np.unique(result.paths)) <= {0.0, 10.0, 20.0, 30.0}


def test_mean_fallback_without_history_is_zero():
    result = fit([])
    np.testing.assert_allclose(result.point, 0.0)
    assert result.paths.shape == (500, 3)
    np.testing.assert_allclose(result.paths, 0.0)


@pytest.mark.parametrize("sarimax", [False, True])
def test_falling_history_never_forecasts_below_zero(sarimax):
    values = np.linspace(1_000.0, 10.0, 30)
    result = fit(values, months=12, sarimax=sarimax)
    assert (result.point >= 0).all()
    assert (result.paths >= 0).all()
    assert result.point[-1] == 0.0 or result.paths.min() == 0.0


@pytest.mark.parametrize("length", [8, 18, 30])
def test_integer_and_float_history_agree(length):
    values = np.round(seasonal_values(length)).astype(int)
    as_int = fit(values)
    as_float = fit(values.astype(float))
    assert as_int.model == as_float.model
    np.testing.assert_array_equal(as_int.point, as_float.point)
    np.testing.assert_array_equal(as_int.paths, as_float.paths)


def test_same_seed_same_paths():
    first = fit(seasonal_values(30))
    second = fit(seasonal_values(30))
    np.testing.assert_array_equal(first.paths, second.paths)


@pytest.mark.parametrize(
    ("values", "sarimax", "category"),
    [
        # With statsmodels 0.15.0, ETS on a constant history divides by a
        # zero variance, and SARIMAX on a noiseless season fails to
        # converge. Warnings are errors in this suite, so a warning that
        # escaped the capture would fail the test.
        (np.full(30, 5.0), False, "RuntimeWarning"),
        (seasonal_values(30, noise=0.0), True, "ConvergenceWarning"),
    ],
    ids=["ets-constant", "sarimax-noiseless"],
)
def test_fit_warnings_are_captured_and_named(values, sarimax, category, capsys):
    result = fit(values, sarimax=sarimax)
    assert any(message.startswith(f"{category}: ") for message in result.warnings)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""


def falling_noisy_values(seed: int) -> np.ndarray:
    """Thirty months falling towards zero, with noise larger than the level."""
    shocks = np.random.default_rng(seed).normal(0.0, 250_000.0, 30)
    return np.linspace(400_000.0, 20_000.0, 30) + shocks


@pytest.mark.parametrize("sarimax", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_point_lies_inside_its_range(sarimax, seed):
    result = fit(falling_noisy_values(seed), months=12, sarimax=sarimax)
    # The next quarter and the next twelve months.
    weights = np.zeros((12, 2))
    weights[:3, 0] = 1.0
    weights[:, 1] = 1.0
    summary = summarize_windows(result, weights, 0.0)
    assert (summary["p10"] <= summary["forecast"]).all()
    assert (summary["forecast"] <= summary["p90"]).all()


@pytest.mark.parametrize("sarimax", [False, True])
def test_point_is_mean_of_floored_paths(sarimax):
    result = fit(falling_noisy_values(1), months=12, sarimax=sarimax)
    assert (result.paths == 0.0).any()
    np.testing.assert_allclose(result.point, result.paths.mean(axis=0))


def test_mean_fallback_floors_credit_months():
    result = fit([-30.0, 10.0, 20.0])
    np.testing.assert_allclose(result.point, [10.0, 10.0, 10.0])
    assert set(np.unique(result.paths)) <= {0.0, 10.0, 20.0}


def test_summary_holds_skewed_mean_inside_range():
    # 95 of 100 paths are cut to zero, so P90 is zero and the mean is not.
    paths = np.zeros((100, 1))
    paths[:5, 0] = 1_000.0
    fitted = SeriesForecast("ets", paths.mean(axis=0), paths)
    summary = summarize_windows(fitted, np.ones((1, 1)), 0.0)
    assert summary.loc[0, "p90"] == 0.0
    assert summary.loc[0, "forecast"] == 0.0


def test_summary_adds_to_date_amount():
    paths = np.array([[10.0, 0.0], [30.0, 20.0]])
    fitted = SeriesForecast("ets", paths.mean(axis=0), paths)
    summary = summarize_windows(fitted, np.ones((2, 1)), 5.0)
    assert summary.loc[0, "forecast"] == pytest.approx(5.0 + 30.0)
