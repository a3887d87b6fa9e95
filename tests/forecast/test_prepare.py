"""The forecast prepare step on the sample and on public CRM exports."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from acctlib import engine
from acctlib.forecast import prepare as forecast_prepare
from acctlib.forecast.backtest import BacktestResult
from acctlib.forecast.labels import METHOD_LABELS
from acctlib.forecast.periods import Window
from acctlib.forecast.prepare import (
    FORECAST_TABLES,
    _describe_windows,
    _index_touches,
    _merge_skipped,
    _notes,
    describe_backtest_skips,
    prepare_forecast,
)
from acctlib.forecast.winprob import TouchIndex
from acctlib.intake import load_source
from acctlib.params import PROJECT_ROOT, resolve_params
from acctlib.prepare import PrepareContext
from tests.conftest import DATASETS, small_params

FAST = ["forecast_backtest_cutoffs=2", "forecast_simulations=300"]


def run_step(intake, params, frames=None) -> PrepareContext:
    con = engine.connect()
    for name, frame in intake.tables.items():
        engine.write_table(con, name, frame)
    context = PrepareContext(con=con, intake=intake, params=params)
    context.frames.update(frames or {})
    prepare_forecast(context)
    return context


@pytest.fixture(scope="module")
def sample_run(small_sample, tmp_path_factory):
    params = small_params(small_sample, tmp_path_factory.mktemp("forecast"), *FAST)
    intake = load_source(params)
    return intake, params, run_step(intake, params)


def test_step_stores_every_table(sample_run):
    _, _, context = sample_run
    for name in FORECAST_TABLES:
        assert name in context.frames
        stored = engine.read_table(context.con, name)
        assert list(stored.columns) == list(context.frames[name].columns)


def test_step_releases_engine_memory(sample_run):
    """After its touch query the step caps DuckDB, whose tables stay readable."""
    con = sample_run[2].con
    limit = con.con.execute("SELECT current_setting('memory_limit')").fetchall()
    assert limit[0][0] == "244.1 MiB"
    assert len(engine.read_table(con, "touchpoints")) > 0


def test_forecast_table_has_every_method_and_window(sample_run):
    forecast = sample_run[2].frames["forecast"]
    bookings = forecast[forecast["metric"] == "bookings"]
    assert set(bookings["method"]) == set(METHOD_LABELS)
    assert set(bookings["window"]) == {
        "current_quarter",
        "next_quarter",
        "next_12_months",
        "next_3_months",
    }
    assert (bookings["p10"] <= bookings["p50"]).all()
    assert (bookings["p50"] <= bookings["p90"]).all()
    assert (bookings[["forecast", "p10", "p50", "p90"]] >= 0).all().all()
    assert (forecast["metric"] == "revenue").any()


@pytest.mark.parametrize(
    ("metric", "expected"),
    [("bookings", "Bookings trend"), ("revenue", "Revenue trend")],
)
def test_trend_label_names_metric(metric, expected):
    window = Window("next_quarter", dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    forecasts = pd.DataFrame(
        {"window": ["next_quarter"], "method": ["time_series"], "forecast": [1.0]}
    )
    described = _describe_windows(forecasts, [window], metric)
    assert described["label"].tolist() == [expected]


def test_headline_names_ranked_method(sample_run):
    headline = sample_run[2].headline["forecast"]
    accuracy = sample_run[2].frames["forecast_accuracy"]
    assert headline["method"] == accuracy.loc[accuracy["rank"] == 1, "method"].item()
    assert headline["window"] == "next_3_months"
    assert headline["p10"] <= headline["p50"] <= headline["p90"]
    assert "has been the most accurate" in headline["sentence"]


def test_standin_tiers_are_noted(sample_run):
    notes = sample_run[2].notes
    assert any(note.startswith("Forecast tiers stand in") for note in notes)


def test_warning_note_names_methods_in_words():
    state = SimpleNamespace(tiers_are_standin=False, negative_open_deals=0)
    warnings = pd.DataFrame(
        {
            "method": ["sarimax"] * 16 + ["time_series"] * 2,
            "warning": ["Non-stationary starting seasonal autoregressive"] * 18,
        }
    )

    notes = _notes(state, warnings, [])

    assert notes == [
        "Forecast model fits raised 18 warnings, listed in the forecast section: "
        "16 from the seasonal bookings model (SARIMAX) forecast and 2 from the "
        "bookings trend forecast."
    ]


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (
            1,
            "1 open deal has a negative amount in the CRM. The forecast counts "
            "it as 0.",
        ),
        (
            2,
            "2 open deals have a negative amount in the CRM. The forecast counts "
            "them as 0.",
        ),
    ],
)
def test_negative_open_deals_noted(count, expected):
    state = SimpleNamespace(tiers_are_standin=False, negative_open_deals=count)

    notes = _notes(state, pd.DataFrame({"method": [], "warning": []}), [])

    assert notes == [expected]


def test_headline_counts_negative_open_deals(sample_run):
    """The headline counts 0 on the sample, which has no open deal below zero."""
    assert sample_run[2].headline["forecast"]["negative_open_deals"] == 0


def test_account_tiers_replace_standin(sample_run):
    intake, params, _ = sample_run
    accounts = intake.tables["accounts"]
    tiers = pd.DataFrame({"account_id": accounts["account_id"], "tier": 2})
    context = run_step(intake, params, {"account_tiers": tiers})
    assert not any(note.startswith("Forecast tiers") for note in context.notes)


def test_rerun_gives_same_figures(sample_run):
    intake, params, first = sample_run
    again = run_step(intake, params)
    for name in ("forecast", "forecast_backtest", "forecast_accuracy"):
        pd.testing.assert_frame_equal(first.frames[name], again.frames[name])


def test_no_opportunities_skips_with_note(sample_run):
    intake, params, _ = sample_run
    empty = type(intake)(
        tables={**intake.tables, "opportunities": intake.tables["opportunities"][:0]},
        quarantine=intake.quarantine,
        inputs=intake.inputs,
        stage_map=intake.stage_map,
    )
    context = run_step(empty, params)
    assert context.notes == ["Forecasts skipped: the source has no opportunities."]
    assert "forecast" not in context.frames


def dataset_params(name: str, tmp_path, *overrides: str):
    return resolve_params(
        PROJECT_ROOT / "params" / f"{name}.yaml",
        [f"work_dir={tmp_path}", f"reports_dir={tmp_path}", *overrides],
    )


@pytest.mark.slow
@pytest.mark.skipif(
    not (DATASETS / "maven-crm-sales-opportunities").is_dir(),
    reason="Maven CRM export not found under ../shared/datasets",
)
def test_maven_export_forecasts(tmp_path):
    params = dataset_params("maven", tmp_path, "forecast_simulations=500")
    context = run_step(load_source(params), params)
    forecast = context.frames["forecast"]
    assert set(forecast["method"]) >= {"stage_weighted", "account_based"}
    assert forecast[["forecast", "p10", "p90"]].notna().all().all()
    assert len(context.frames["forecast_backtest"]["cutoff"].unique()) == 12
    assert "has been the most accurate" in context.headline["forecast"]["sentence"]


@pytest.mark.slow
@pytest.mark.skipif(
    not (PROJECT_ROOT / "params" / "olist.yaml").is_file(),
    reason="no Olist parameter file and source profile in this checkout yet",
)
@pytest.mark.skipif(
    not (DATASETS / "olist-marketing-funnel").is_dir(),
    reason="Olist marketing funnel export not found under ../shared/datasets",
)
def test_olist_export_forecasts(tmp_path):
    params = dataset_params("olist", tmp_path, "forecast_simulations=500")
    context = run_step(load_source(params), params)
    forecast = context.frames["forecast"]
    assert not forecast.empty
    assert forecast[["forecast", "p10", "p90"]].notna().all().all()
    assert "forecast" in context.headline
    # The export records a deal only once it is won.
    warning = context.headline["forecast"]["won_only_warning"]
    assert warning.startswith("The source records only won deals")
    assert f"Forecast: {warning}" in context.notes


def test_engine_touch_index_matches_frame(sample_run):
    _, _, context = sample_run
    touches = context.touchpoints()
    days = touches.mutate(
        day=(touches.occurred_at.epoch_seconds() // 86_400).cast("int64")
    )
    frame = days.group_by(["account_id", "day"]).aggregate(touches=days.count())
    expected = TouchIndex(frame.to_pandas())

    index = _index_touches(context)

    assert index.enabled
    assert list(index.accounts) == list(expected.accounts)
    np.testing.assert_array_equal(index.keys, expected.keys)
    np.testing.assert_array_equal(index.cumulative, expected.cumulative)


def test_skipped_fits_noted_once_per_reason():
    reason = "it needs 30 closed stage entries with both outcomes."
    skipped = [
        f"The win-probability model was skipped on 2022-0{month}-28: {reason}"
        for month in (3, 1, 2, 1)
    ]

    notes = _merge_skipped(skipped)

    assert notes == [
        "The win-probability model was skipped on 2022-01-28, 2022-02-28 and "
        f"2022-03-28: {reason}"
    ]


def test_skipped_fits_name_report_date_apart():
    reason = "it needs 30 closed stage entries with both outcomes."
    dates = [f"2022-0{month}-28" for month in range(1, 10)] + ["2022-12-31"]
    skipped = [
        f"The win-probability model was skipped on {date}: {reason}" for date in dates
    ]

    notes = _merge_skipped(skipped, "2022-12-31")

    assert notes == [
        "The win-probability model was skipped on the report date, 2022-12-31, "
        "and at 9 backtest month-ends from 2022-01-28 to 2022-09-28: "
        f"{reason}"
    ]


def test_backtest_skips_give_latest_reason():
    cutoffs = pd.to_datetime(["2026-07-31", "2026-08-31"])
    result = BacktestResult(
        forecasts=pd.DataFrame(
            {"cutoff": cutoffs, "method": ["stage_weighted", "sarimax"]}
        ),
        scored=pd.DataFrame(),
        warnings=pd.DataFrame(),
        notes=[],
        skipped=pd.DataFrame(
            {
                "cutoff": [cutoffs[1], cutoffs[0], cutoffs[0]],
                "method": ["win_probability", "win_probability", "sarimax"],
                "reason": ["it had 9", "it had 7", "it had 23 months"],
            }
        ),
    )

    reasons = describe_backtest_skips(result)

    # SARIMAX ran at one cut-off, so it has a line and no reason.
    assert reasons == {
        "win_probability": "at 2026-08-31, the latest month-end tested, it had 9"
    }


def test_step_reuses_account_map_history(sample_run, monkeypatch):
    intake, params, first = sample_run
    con = engine.connect()
    for name, frame in intake.tables.items():
        engine.write_table(con, name, frame)
    context = PrepareContext(con=con, intake=intake, params=params)
    context.opportunity_history = forecast_prepare.opportunity_history(
        forecast_prepare.ForecastInputs(
            opportunities=intake.tables["opportunities"],
            stage_history=intake.tables.get("stage_history"),
            stage_map=intake.stage_map,
            default_contract_months=params["default_contract_months"],
        )
    )

    def build_again(inputs):
        raise AssertionError("the step prepared the opportunity history again")

    monkeypatch.setattr(forecast_prepare, "opportunity_history", build_again)
    prepare_forecast(context)

    for name in ("forecast", "forecast_backtest", "forecast_accuracy"):
        pd.testing.assert_frame_equal(first.frames[name], context.frames[name])
