"""Time the forecast backtest on the bundled sample.

``make bench`` runs ``python -m benchmarks.forecast_backtest``: it writes
the sample CRM to a temporary folder, reads it, and times the forecasts on
the report date and the backtest of 12 month-ends, each run three times
with the run's default parameters. The median times go to stdout and,
with the machine's core count, to
``benchmarks/results/forecast-backtest-<UTC time>.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from acctlib import sample
from acctlib.forecast.backtest import backtest_cutoffs, run_backtest
from acctlib.forecast.methods import ForecastSettings, compute_forecasts
from acctlib.forecast.periods import forecast_windows
from acctlib.forecast.state import ForecastInputs, compute_state, ensure_open_stage
from acctlib.forecast.winprob import TouchIndex
from acctlib.intake import load_source
from acctlib.params import resolve_params

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPEATS = 3


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "sample"
        sample.write_sample(data_dir)
        params = resolve_params(
            None, [f"data_dir={data_dir}", f"as_of={sample.SAMPLE_END.isoformat()}"]
        )
        intake = load_source(params)

    inputs = _inputs(intake, params)
    settings = ForecastSettings.from_params(params)
    horizon = params["forecast_horizon_months"]
    cutoffs = backtest_cutoffs(
        params.as_of, params["forecast_backtest_cutoffs"], horizon
    )
    touches = TouchIndex(inputs.touch_counts)
    final = compute_state(inputs, params.as_of)
    windows = forecast_windows(params.as_of, horizon)

    report_times = _repeat(
        lambda: compute_forecasts(final, windows, inputs.stage_map, touches, settings)
    )
    backtest_times = _repeat(
        lambda: run_backtest(
            inputs, final, cutoffs, horizon, inputs.stage_map, touches, settings
        )
    )
    result = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "opportunities": len(inputs.opportunities),
        "cutoffs": len(cutoffs),
        "simulations": settings.simulations,
        "report_date_seconds": statistics.median(report_times),
        "backtest_seconds": statistics.median(backtest_times),
        "repeats": REPEATS,
    }
    print(
        f"forecast on the report date: {result['report_date_seconds']:.1f} s; "
        f"backtest of {len(cutoffs)} month-ends: "
        f"{result['backtest_seconds']:.1f} s "
        f"({len(inputs.opportunities)} opportunities, median of {REPEATS} runs)"
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = result["measured_at"].replace(":", "")
    target = RESULTS_DIR / f"forecast-backtest-{stamp}.json"
    target.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {target}")
    return 0


def _inputs(intake, params) -> ForecastInputs:
    touchpoints = intake.tables["touchpoints"]
    occurred = touchpoints["occurred_at"].dt.tz_convert(None)
    days = (occurred - dt.datetime(1970, 1, 1)).dt.days
    counts = (
        touchpoints.assign(day=days)
        .groupby(["account_id", "day"])
        .size()
        .rename("touches")
        .reset_index()
    )
    return ForecastInputs(
        opportunities=intake.tables["opportunities"],
        stage_history=intake.tables.get("stage_history"),
        stage_map=ensure_open_stage(intake.stage_map),
        touch_counts=counts,
        default_contract_months=params["default_contract_months"],
    )


def _repeat(task) -> list[float]:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        task()
        times.append(time.perf_counter() - started)
    return times


if __name__ == "__main__":
    sys.exit(main())
