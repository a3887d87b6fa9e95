"""Run every forecast method on what was known on one date.

:func:`compute_forecasts` is the single entry point that both the report
and each backtest cut-off call, so the backtest measures exactly the code
that produces the report's figures. Each method returns, per window, the
point forecast (closed to date plus the expected rest) and its P10, P50
and P90.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from acctlib.forecast import accounts, pipeline, ranges, timeseries
from acctlib.forecast.periods import (
    Window,
    last_complete_month,
    month_weights,
    monthly_totals,
)
from acctlib.forecast.state import ForecastState
from acctlib.forecast.winprob import (
    MIN_TRAINING_ROWS,
    TouchIndex,
    describe_training_shortfall,
    fit_win_model,
)

FORECAST_COLUMNS = (
    "window",
    "method",
    "model",
    "forecast",
    "p10",
    "p50",
    "p90",
    "closed_to_date",
)


@dataclass(frozen=True)
class ForecastSettings:
    """Parameters of the forecast methods, read from the run's parameters."""

    seed: int = 0
    simulations: int = 2_000
    prior_deals: float = 20.0
    probability_source: str = "learned"

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ForecastSettings:
        return cls(
            seed=int(params["seed"]),
            simulations=int(params["forecast_simulations"]),
            prior_deals=float(params["forecast_prior_deals"]),
            probability_source=str(params["forecast_probability_source"]),
        )


@dataclass
class MethodResults:
    """Forecasts of every method on one date, with what the fits reported.

    ``forecasts`` has :data:`FORECAST_COLUMNS`; ``scored`` has the open
    deals' ``opportunity_id`` and win-model ``predicted`` probability;
    ``warnings`` lists ``(method, message)`` pairs. ``skipped`` maps each
    method that could not run to the reason, worded to follow a colon.
    """

    forecasts: pd.DataFrame
    scored: pd.DataFrame
    warnings: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


@dataclass
class _Run:
    """Inputs that every method shares on one date."""

    state: ForecastState
    windows: list[Window]
    stage_map: Mapping[str, Mapping[str, Any]]
    touches: TouchIndex
    settings: ForecastSettings
    closed: np.ndarray
    membership: np.ndarray
    reach: pd.DataFrame
    stage_probabilities: pd.Series


def compute_forecasts(
    state: ForecastState,
    windows: list[Window],
    stage_map: Mapping[str, Mapping[str, Any]],
    touches: TouchIndex,
    settings: ForecastSettings,
) -> MethodResults:
    """Forecast bookings in each window with every method that can run.

    Parameters
    ----------
    state
        What was known on the as-of date (:func:`compute_state`).
    windows
        Windows to forecast; amounts are in the report currency.
    stage_map
        ``{stage: {category, probability, forecast_category, order}}``.
    touches
        Touch counts per account and day for the win-probability model.
    """
    # statsmodels solves many small least-squares problems; one BLAS thread
    # is faster for them than OpenBLAS's default of one thread per core.
    with threadpool_limits(limits=1, user_api="blas"):
        return _compute_forecasts(state, windows, stage_map, touches, settings)


def _compute_forecasts(
    state: ForecastState,
    windows: list[Window],
    stage_map: Mapping[str, Mapping[str, Any]],
    touches: TouchIndex,
    settings: ForecastSettings,
) -> MethodResults:
    reach = pipeline.compute_stage_reach(state, stage_map)
    run = _Run(
        state=state,
        windows=windows,
        stage_map=stage_map,
        touches=touches,
        settings=settings,
        closed=pipeline.closed_to_date(state.closed, windows, state.as_of),
        membership=pipeline.window_membership(
            state.open_deals["expected_close"], windows
        ),
        reach=reach,
        stage_probabilities=_stage_probabilities(reach, stage_map, settings),
    )
    results = MethodResults(pd.DataFrame(), pd.DataFrame())

    rows = _stage_weighted(run)
    rows += _account_based(run)
    rows += _win_probability(run, results)
    rows += _time_series(run, results)

    forecasts = pd.DataFrame(rows, columns=list(FORECAST_COLUMNS))
    amounts = ["forecast", "p10", "p50", "p90"]
    forecasts[amounts] = forecasts[amounts].clip(lower=0.0)
    results.forecasts = forecasts
    return results


def _stage_probabilities(
    reach: pd.DataFrame,
    stage_map: Mapping[str, Mapping[str, Any]],
    settings: ForecastSettings,
) -> pd.Series:
    if settings.probability_source == "stage_map" or reach.empty:
        mapped = {
            stage: entry.get("probability")
            for stage, entry in stage_map.items()
            if entry["category"] == "open"
        }
        return pd.Series(mapped, dtype=float)
    return pipeline.learn_stage_probabilities(reach, stage_map, settings.prior_deals)


def _stage_weighted(run: _Run) -> list[dict]:
    deals = pipeline.compute_stage_weighted(
        run.state.open_deals, run.stage_probabilities
    )
    samples = _simulate(run, deals, "stage_weighted")
    return _rows(run, "stage_weighted", "stage", deals, samples)


def _account_based(run: _Run) -> list[dict]:
    table = accounts.learn_tier_stage_probabilities(
        run.reach, run.stage_probabilities, run.settings.prior_deals
    )
    deals = accounts.apply_tier_stage_probabilities(run.state.open_deals, table)
    samples = _simulate(run, deals, "account_based")

    state = run.state
    amounts, rates = accounts.compute_repeat_rates(
        state.closed, run.windows, state.as_of
    )
    rng = ranges.make_generator(run.settings.seed, state.as_of, "account_repeat")
    samples += ranges.simulate_repeat_totals(
        amounts, rates, run.settings.simulations, rng
    )
    return _rows(
        run, "account_based", "tier_stage", deals, samples, extra=amounts @ rates
    )


def _win_probability(run: _Run, results: MethodResults) -> list[dict]:
    stage_map = run.stage_map
    stages = sorted(
        (stage for stage, entry in stage_map.items() if entry["category"] == "open"),
        key=lambda stage: stage_map[stage]["order"],
    )
    state = run.state
    model, messages = fit_win_model(run.reach, stages, state.cycle_days, run.touches)
    results.warnings += [("win_probability", message) for message in messages]
    if model is None:
        shortfall = describe_training_shortfall(run.reach)
        results.skipped["win_probability"] = shortfall or "its fit failed"
        # The note leaves out the counts, so that one note lists every date
        # skipped for the same reason.
        reason = "its fit failed."
        if shortfall:
            reason = (
                f"it needs {MIN_TRAINING_ROWS} closed stage entries with both outcomes."
            )
        results.notes.append(
            f"The win-probability model was skipped on {state.as_of}: {reason}"
        )
        return []

    deals = state.open_deals.copy()
    deals["probability"] = model.predict(deals, state.as_of, run.touches)
    results.scored = pd.DataFrame(
        {
            "opportunity_id": deals["opportunity_id"],
            "predicted": deals["probability"],
        }
    )
    samples = _simulate(run, deals, "win_probability")
    return _rows(run, "win_probability", "logit", deals, samples)


def _time_series(run: _Run, results: MethodResults) -> list[dict]:
    state, windows = run.state, run.windows
    if state.snapshot.empty:
        return []
    last_month = last_complete_month(state.as_of)
    history = bookings_history(state.closed, last_month)
    horizon = pd.Period(max(window.end for window in windows), freq="M")
    months = max((horizon - last_month).n, 1)
    weights = month_weights(windows, state.as_of, last_month + 1, months)

    rows = []
    for method, use_sarimax in (("time_series", False), ("sarimax", True)):
        rng = ranges.make_generator(run.settings.seed, state.as_of, method)
        fitted = timeseries.forecast_series(
            history, months, run.settings.simulations, rng, sarimax=use_sarimax
        )
        if fitted is None:
            results.skipped[method] = (
                f"it needed {timeseries.MIN_MONTHS_FOR_SEASON} months of bookings "
                f"history, and had {len(history)}"
            )
            continue
        results.warnings += [(method, message) for message in fitted.warnings]
        summary = timeseries.summarize_windows(fitted, weights, run.closed)
        summary["closed_to_date"] = run.closed
        rows += _label_rows(windows, method, fitted.model, summary)
    return rows


def bookings_history(closed: pd.DataFrame, last_month: pd.Period) -> pd.Series:
    """Return monthly won bookings from the first month with bookings.

    ``closed`` has ``is_won``, ``closed_on`` and ``amount`` (report
    currency). Months before the first won deal with a non-zero amount are
    left out, because they precede the data, and as zeros they would give
    the time series a rising trend that the business never had. Later
    months without bookings are zero. The series is empty when nothing was
    won by ``last_month``.
    """
    won = closed[closed["is_won"] & (closed["amount"] != 0)]
    if won.empty:
        return pd.Series(dtype=float, index=pd.PeriodIndex([], freq="M"))
    first_month = pd.Period(won["closed_on"].min(), freq="M")
    return monthly_totals(won["closed_on"], won["amount"], first_month, last_month)


def _simulate(run: _Run, deals: pd.DataFrame, method: str) -> np.ndarray:
    rng = ranges.make_generator(run.settings.seed, run.state.as_of, method)
    return ranges.simulate_deal_totals(
        deals["amount"].to_numpy(dtype=float),
        deals["probability"].to_numpy(dtype=float),
        run.membership,
        run.settings.simulations,
        rng,
    )


def _rows(
    run: _Run,
    method: str,
    model: str,
    deals: pd.DataFrame,
    samples: np.ndarray,
    extra: np.ndarray | None = None,
) -> list[dict]:
    """Return one row per window: closed to date plus the expected rest.

    ``extra`` is an expected amount per window that is not an open deal,
    already included in ``samples``.
    """
    expected = (deals["amount"] * deals["probability"]).to_numpy() @ run.membership
    if extra is not None:
        expected = expected + extra
    summary = ranges.summarize_samples(run.closed + samples)
    summary["forecast"] = run.closed + expected
    summary["closed_to_date"] = run.closed
    return _label_rows(run.windows, method, model, summary)


def _label_rows(
    windows: list[Window], method: str, model: str, summary: pd.DataFrame
) -> list[dict]:
    rows = []
    for column, window in enumerate(windows):
        values = summary.iloc[column].to_dict()
        rows.append({"window": window.name, "method": method, "model": model, **values})
    return rows
