"""Time-series guardrails: history length, zero floor, inputs and warnings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from acctlib.forecast.timeseries import forecast_series


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
