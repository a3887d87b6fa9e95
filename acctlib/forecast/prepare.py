"""The forecast prepare step: forecasts, backtest and their tables.

:func:`prepare_forecast` runs every method on the report date, backtests
them at past month-ends and stores these workspace tables:

- ``forecast``: one row per metric, window and method with ``forecast``,
  ``p10``, ``p50``, ``p90`` and ``closed_to_date`` (report currency);
- ``forecast_categories``: the forecast-category roll-up per window;
- ``forecast_backtest``: per cut-off and method, forecast and actual;
- ``forecast_accuracy``: WAPE, bias and P10-P90 coverage per method;
- ``forecast_calibration``: the win-probability model's predicted against
  actual win rate by decile, out of sample (deals open at a cut-off);
- ``forecast_warnings``: every warning a model fit raised, by date and
  method;
- ``forecast_plausibility``: each method's forecast of the next 12 months
  against the bookings of the last 12, flagged when far from them.

The headline gets ``forecast``: the most accurate method's forecast of the
backtested window, its range, the sentence naming the method, in
``backtest_skipped`` why each method missing from the backtest is missing,
in ``close_date_rules`` how many open deals without a future close date
were placed by each rule, and in ``negative_open_deals`` how many open
deals had a negative amount, which the forecast counts as 0.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

import ibis
import numpy as np
import pandas as pd

from acctlib import asof
from acctlib.forecast import backtest, pipeline, timeseries
from acctlib.forecast.labels import (
    METHOD_LABELS,
    REVENUE_METHOD_LABELS,
    describe_negative_open_deals,
    lower_first,
)
from acctlib.forecast.methods import ForecastSettings, compute_forecasts
from acctlib.forecast.periods import (
    Window,
    forecast_windows,
    last_complete_month,
    month_weights,
    monthly_totals,
)
from acctlib.forecast.plausibility import check_plausibility
from acctlib.forecast.ranges import make_generator
from acctlib.forecast.state import (
    ForecastInputs,
    compute_state,
    count_close_date_rules,
    ensure_open_stage,
    opportunity_history,
)
from acctlib.forecast.winprob import (
    DAY_KEY_SCALE,
    TouchIndex,
    summarize_calibration,
)

if TYPE_CHECKING:
    from acctlib.prepare import PrepareContext

logger = logging.getLogger(__name__)

FORECAST_TABLES = (
    "forecast",
    "forecast_categories",
    "forecast_backtest",
    "forecast_accuracy",
    "forecast_calibration",
    "forecast_warnings",
    "forecast_plausibility",
)


def prepare_forecast(context: PrepareContext) -> None:
    """Store the forecast tables and the forecast headline of one run.

    ``context`` is the run's :class:`~acctlib.prepare.PrepareContext`. A
    source without opportunities skips the step with a note. Tiers on the
    report date come from the ``account_tiers`` frame of the tiering step
    when it exists, otherwise from value quantiles (with a note). Backtest
    cut-offs always use value quantiles of their own date.
    """
    opportunities = context.intake.tables.get("opportunities")
    if opportunities is None or opportunities.empty:
        context.notes.append("Forecasts skipped: the source has no opportunities.")
        return
    params, as_of = context.params, context.as_of
    settings = ForecastSettings.from_params(params)
    horizon = int(params["forecast_horizon_months"])
    inputs = ForecastInputs(
        opportunities=opportunities,
        stage_history=context.intake.tables.get("stage_history"),
        stage_map=ensure_open_stage(context.intake.stage_map),
        tiers=context.frames.get("account_tiers"),
        default_contract_months=params["default_contract_months"],
    )
    touches = _index_touches(context)
    # The rest of the step works in pandas, and the steps after it read no
    # touchpoint (an owner slice only deletes rows of other accounts).
    context.release_engine_memory()

    # The report date and every backtest cut-off share one sorted history,
    # the account-map step's when the stage map needed no implied open stage.
    history = context.opportunity_history
    if history is None or inputs.stage_map != context.intake.stage_map:
        history = opportunity_history(inputs)
    state = compute_state(inputs, as_of, history)
    cutoffs = backtest.backtest_cutoffs(
        as_of, int(params["forecast_backtest_cutoffs"]), horizon
    )
    # The cut-offs are forecast in forked processes while this process
    # forecasts the report date.
    with backtest.start_backtest(
        inputs,
        state,
        cutoffs,
        horizon,
        inputs.stage_map,
        touches,
        settings,
        history=history,
        processes=params["prepare_processes"],
    ) as pending:
        windows = forecast_windows(as_of, horizon)
        results = compute_forecasts(state, windows, inputs.stage_map, touches, settings)
        forecast = _describe_windows(results.forecasts, windows, "bookings")
        forecast = pd.concat(
            [forecast, _forecast_revenue(context, windows, settings)],
            ignore_index=True,
        )
        context.store("forecast", forecast)
        context.store(
            "forecast_plausibility",
            check_plausibility(
                forecast[forecast["metric"] == "bookings"], state.closed, as_of
            ),
        )
        context.store(
            "forecast_categories", pipeline.rollup_forecast_categories(state, windows)
        )
        result = pending.result()
    accuracy = backtest.summarize_accuracy(result.forecasts)
    context.store("forecast_backtest", result.forecasts)
    context.store("forecast_accuracy", accuracy)
    context.store("forecast_calibration", summarize_calibration(result.scored))
    warnings = _collect_warnings(as_of, results.warnings, result.warnings)
    context.store("forecast_warnings", warnings)

    skipped = describe_backtest_skips(result)
    sentence = backtest.describe_best_method(
        accuracy, horizon, int(params["forecast_backtest_cutoffs"]), never_ran=skipped
    )
    context.headline["forecast"] = _headline(forecast, accuracy, horizon, sentence)
    context.headline["forecast"]["backtest_skipped"] = skipped
    context.headline["forecast"]["close_date_rules"] = count_close_date_rules(
        state.open_deals, as_of, state.cycle_days
    )
    context.headline["forecast"]["negative_open_deals"] = state.negative_open_deals
    won_only = backtest.describe_won_only_source(state)
    context.headline["forecast"]["won_only_warning"] = won_only
    if won_only:
        context.notes.append(f"Forecast: {won_only}")
    context.notes.extend(
        _notes(state, warnings, results.notes + result.notes, as_of.isoformat())
    )


def _index_touches(context: PrepareContext) -> TouchIndex:
    """Count touches per account and UTC day in the engine, keyed for lookups.

    The engine numbers the accounts and sorts the keys, so only two numeric
    columns of one row per account and day (about 13 million on the large
    benchmark size) and the account IDs reach pandas.
    """
    touches = context.touchpoints()
    if touches is None:
        return TouchIndex(None)
    from acctlib import engine

    with_account = touches.filter(touches.account_id.notnull())
    accounts = with_account.select("account_id").distinct()
    numbered = accounts.mutate(position=ibis.dense_rank().over(order_by="account_id"))
    day = (with_account.occurred_at.epoch_seconds() // 86_400).cast("int64")
    keyed = with_account.select("account_id", day=day).join(numbered, "account_id")
    key = keyed.position.cast("int64") * DAY_KEY_SCALE + keyed.day
    keys = keyed.select(key=key)
    counts = keys.group_by("key").aggregate(touches=keys.count()).order_by("key")
    with engine.quiet_conversions():
        ids = numbered.order_by("position").account_id.to_pyarrow()
        counted = counts.to_pyarrow()
    return TouchIndex.from_keys(
        pd.Index(ids.to_pylist(), dtype=object),
        counted["key"].to_numpy(),
        counted["touches"].to_numpy(),
    )


def _describe_windows(
    forecasts: pd.DataFrame, windows: list[Window], metric: str
) -> pd.DataFrame:
    bounds = {window.name: window for window in windows}
    frame = forecasts.copy()
    frame.insert(0, "metric", metric)
    frame.insert(2, "window_start", frame["window"].map(lambda w: bounds[w].start))
    frame.insert(3, "window_end", frame["window"].map(lambda w: bounds[w].end))
    frame["window_start"] = pd.to_datetime(frame["window_start"])
    frame["window_end"] = pd.to_datetime(frame["window_end"])
    labels = REVENUE_METHOD_LABELS if metric == "revenue" else METHOD_LABELS
    frame["label"] = frame["method"].map(labels)
    return frame


def _forecast_revenue(
    context: PrepareContext, windows: list[Window], settings: ForecastSettings
) -> pd.DataFrame:
    """Forecast monthly recognised revenue with the time-series models."""
    revenue = context.intake.tables.get("revenue")
    if revenue is None or revenue.empty:
        return pd.DataFrame()
    as_of = context.as_of
    known = asof.filter_revenue(revenue, as_of)
    last_month = last_complete_month(as_of)
    months = pd.to_datetime(known["month"]).dt.to_period("M")
    if known.empty or months.min() > last_month:
        return pd.DataFrame()
    history = monthly_totals(known["month"], known["amount"], months.min(), last_month)
    horizon = pd.Period(max(window.end for window in windows), freq="M")
    count = max((horizon - last_month).n, 1)
    weights = month_weights(windows, as_of, last_month + 1, count)
    recognised = _revenue_to_date(known, windows, as_of)

    rows = []
    rng = make_generator(settings.seed, as_of, "revenue")
    fitted = timeseries.forecast_series(history, count, settings.simulations, rng)
    summary = timeseries.summarize_windows(fitted, weights, recognised)
    for column, window in enumerate(windows):
        rows.append(
            {
                "window": window.name,
                "method": "time_series",
                "model": fitted.model,
                **summary.iloc[column].to_dict(),
                "closed_to_date": recognised[column],
            }
        )
    return _describe_windows(pd.DataFrame(rows), windows, "revenue")


def _revenue_to_date(
    known: pd.DataFrame, windows: list[Window], as_of: dt.date
) -> np.ndarray:
    """Return revenue of the complete months inside each window up to ``as_of``."""
    last_month = last_complete_month(as_of)
    months = pd.to_datetime(known["month"]).dt.to_period("M")
    totals = np.zeros(len(windows))
    for column, window in enumerate(windows):
        first = pd.Period(window.start, freq="M")
        inside = (months >= first) & (months <= last_month)
        totals[column] = float(known.loc[inside, "amount"].sum())
    return totals


def _collect_warnings(
    as_of: dt.date, report: list[tuple[str, str]], past: pd.DataFrame
) -> pd.DataFrame:
    current = pd.DataFrame(
        [
            {"cutoff": pd.Timestamp(as_of), "method": method, "warning": message}
            for method, message in report
        ],
        columns=["cutoff", "method", "warning"],
    )
    frames = [frame for frame in (past, current) if not frame.empty]
    if not frames:
        return pd.DataFrame(
            {
                "cutoff": pd.Series(dtype="datetime64[us]"),
                "method": pd.Series(dtype=str),
                "warning": pd.Series(dtype=str),
            }
        )
    return pd.concat(frames, ignore_index=True)


def _headline(
    forecast: pd.DataFrame, accuracy: pd.DataFrame, horizon: int, sentence: str
) -> dict:
    """Return the best backtested method's forecast of the horizon window.

    A ranked method that could not run on the report date (a model with too
    few closed deals) gives way to the next one; without a backtest, the
    stage-weighted forecast is shown.
    """
    window = f"next_{horizon}_months"
    candidates = forecast[
        (forecast["metric"] == "bookings") & (forecast["window"] == window)
    ].set_index("method")
    ranked = accuracy.dropna(subset=["rank"]).sort_values("rank")
    available = [method for method in ranked["method"] if method in candidates.index]
    method = available[0] if available else "stage_weighted"
    row = candidates.loc[method]
    scored = ranked.set_index("method")
    return {
        "method": method,
        "label": METHOD_LABELS[method],
        "window": window,
        "window_start": row["window_start"].date().isoformat(),
        "window_end": row["window_end"].date().isoformat(),
        "forecast": float(row["forecast"]),
        "p10": float(row["p10"]),
        "p50": float(row["p50"]),
        "p90": float(row["p90"]),
        "backtested": bool(available),
        # How often the method's P10 to P90 range held actual bookings in
        # the backtest, and at how many month-ends; None without a backtest.
        "coverage": (
            float(scored.at[method, "coverage"])
            if method in scored.index and pd.notna(scored.at[method, "coverage"])
            else None
        ),
        # Month-ends at which bookings were expected or won, the base of
        # coverage.
        "coverage_cutoffs": (
            int(scored.at[method, "checked"]) if method in scored.index else None
        ),
        "sentence": sentence,
        "reliability": backtest.describe_reliability(accuracy),
    }


def describe_backtest_skips(result: backtest.BacktestResult) -> dict[str, str]:
    """Return why each method left out of the whole backtest could not run.

    Maps each method that ran at no cut-off to its reason at the latest
    cut-off, the one with the most history, such as "at 2026-08-31, the
    latest month-end tested, it needed ...". Returns an empty dict when no
    cut-off was tested.
    """
    if result.forecasts.empty:
        return {}
    ran = set(result.forecasts["method"])
    latest = result.skipped.sort_values("cutoff").groupby("method").last()
    reasons = {}
    for method in METHOD_LABELS:
        if method in ran or method not in latest.index:
            continue
        cutoff, reason = latest.at[method, "cutoff"], latest.at[method, "reason"]
        reasons[method] = f"at {cutoff:%Y-%m-%d}, the latest month-end tested, {reason}"
    return reasons


def _notes(
    state, warnings: pd.DataFrame, skipped: list[str], as_of: str | None = None
) -> list[str]:
    notes = []
    if state.tiers_are_standin:
        notes.append(
            "Forecast tiers stand in for account tiers: accounts are ranked by "
            "won plus open amount on each date (top 10% tier 1, next 20% "
            "tier 2, next 30% tier 3, the rest tier 4)."
        )
    if not warnings.empty:
        counts = warnings.groupby("method").size()
        per_method = [
            f"{count} from the {lower_first(METHOD_LABELS[method])} forecast"
            for method, count in counts.items()
        ]
        listed = per_method[-1]
        if len(per_method) > 1:
            listed = ", ".join(per_method[:-1]) + " and " + listed
        notes.append(
            f"Forecast model fits raised {len(warnings)} "
            f"{'warning' if len(warnings) == 1 else 'warnings'}, listed in the "
            f"forecast section: {listed}."
        )
    if state.negative_open_deals:
        notes.append(describe_negative_open_deals(state.negative_open_deals))
    notes.extend(_merge_skipped(skipped, as_of))
    return notes


def _merge_skipped(skipped: list[str], as_of: str | None = None) -> list[str]:
    """Return the notes of skipped fits, one per reason instead of one per date.

    A note such as "The win-probability model was skipped on 2022-01-31:
    it needs ..." repeats for every month-end of the backtest, so the dates
    of one reason are listed in one note. The report date ``as_of`` is
    named apart from the backtest month-ends, so the count of month-ends
    matches the backtest's.
    """
    dates_by_reason: dict[tuple[str, str], list[str]] = {}
    for note in sorted(set(skipped)):
        head, _, reason = note.partition(": ")
        subject, found, date = head.rpartition(" on ")
        key = (subject, reason) if found else (note, "")
        dates_by_reason.setdefault(key, []).append(date if found else "")
    merged = []
    for (subject, reason), dates in dates_by_reason.items():
        if not reason:
            merged.append(subject)
            continue
        merged.append(f"{subject} {_name_dates(sorted(dates), as_of)}: {reason}")
    return merged


def _name_dates(dates: list[str], as_of: str | None) -> str:
    """Return "on 2022-01-31" or "on the report date, 2022-12-31, and at 9 ..."."""
    if as_of not in dates:
        return f"on {_list_dates(dates)}"
    cutoffs = [date for date in dates if date != as_of]
    if not cutoffs:
        return f"on the report date, {as_of}"
    if len(cutoffs) == 1:
        listed = f"backtest month-end {cutoffs[0]}"
    else:
        listed = (
            f"{len(cutoffs)} backtest month-ends from {cutoffs[0]} to {cutoffs[-1]}"
        )
    return f"on the report date, {as_of}, and at {listed}"


def _list_dates(dates: list[str]) -> str:
    """Return dates as "a", "a and b", "a, b and c" or "n dates from a to b"."""
    if len(dates) == 1:
        return dates[0]
    if len(dates) <= 3:
        return ", ".join(dates[:-1]) + " and " + dates[-1]
    return f"{len(dates)} dates from {dates[0]} to {dates[-1]}"
