"""Plausibility check of the next 12 months against the last 12."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd
import pytest

from acctlib.forecast import plausibility, views

AS_OF = dt.date(2026, 6, 30)


def closed_deals() -> pd.DataFrame:
    """Won deals of 1,000 in the 12 months to June 2026, one earlier, one lost."""
    return pd.DataFrame(
        {
            "is_won": [True, True, True, False],
            "closed_on": pd.to_datetime(
                ["2025-06-30", "2025-07-01", "2026-06-30", "2026-03-01"]
            ),
            "amount": [5_000.0, 400.0, 600.0, 9_000.0],
        }
    )


def forecast_rows() -> pd.DataFrame:
    rows = [
        ("next_12_months", "stage_weighted", "Stage-weighted pipeline", 300.0),
        ("next_12_months", "account_based", "Account-based", 900.0),
        ("next_12_months", "time_series", "Bookings trend", 2_004.0),
        ("next_quarter", "time_series", "Bookings trend", 50_000.0),
    ]
    return pd.DataFrame(rows, columns=["window", "method", "label", "forecast"])


def test_ratio_to_last_twelve_months():
    checks = plausibility.check_plausibility(forecast_rows(), closed_deals(), AS_OF)
    assert checks["method"].tolist() == [
        "stage_weighted",
        "account_based",
        "time_series",
    ]
    # 2025-06-30 lies outside the 12 months to 2026-06-30, and lost deals
    # are not bookings.
    assert (checks["last_12_months"] == 1_000.0).all()
    assert checks["ratio"].tolist() == pytest.approx([0.3, 0.9, 2.004])
    assert checks["flagged"].tolist() == [True, False, True]


@pytest.mark.parametrize(
    ("forecast", "flagged"),
    [(499.0, True), (500.0, False), (1_500.0, False), (1_501.0, True)],
)
def test_flag_bounds(forecast, flagged):
    rows = pd.DataFrame(
        [("next_12_months", "time_series", "Bookings trend", forecast)],
        columns=["window", "method", "label", "forecast"],
    )
    checks = plausibility.check_plausibility(rows, closed_deals(), AS_OF)
    assert checks["flagged"].tolist() == [flagged]


def test_no_bookings_last_year_flags_nothing():
    closed = closed_deals().assign(is_won=False)
    checks = plausibility.check_plausibility(forecast_rows(), closed, AS_OF)
    assert checks["ratio"].isna().all()
    assert not checks["flagged"].any()


def test_flag_sentence_states_ratio():
    checks = plausibility.check_plausibility(forecast_rows(), closed_deals(), AS_OF)
    sentences = plausibility.describe_flags(checks.iloc[[2]], "USD")
    assert sentences == [
        "The bookings trend forecast of the next 12 months, USD 2,004, is "
        "2.00 times the USD 1,000 booked in the last 12 months, so read it "
        "with care."
    ]


def test_open_deal_methods_share_reason():
    rows = pd.concat(
        [
            forecast_rows(),
            pd.DataFrame(
                [("next_12_months", "win_probability", "Win-probability model", 420)],
                columns=["window", "method", "label", "forecast"],
            ),
        ],
        ignore_index=True,
    )
    checks = plausibility.check_plausibility(rows, closed_deals(), AS_OF)
    sentences = plausibility.describe_flags(checks[checks["flagged"]], "USD")
    assert len(sentences) == 3
    assert sentences[0].startswith("The bookings trend forecast")
    assert sentences[1] == (
        "The stage-weighted pipeline (0.30 times) and win-probability model "
        "(0.42 times) forecasts of the next 12 months fall below half the "
        "USD 1,000 booked in the last 12 months."
    )
    assert sentences[2] == (
        "They add up deals open on the report date, not new business from "
        "deals created later."
    )


def test_account_based_reason_names_repeats():
    rows = forecast_rows().assign(forecast=[300.0, 200.0, 1_000.0, 0.0])
    checks = plausibility.check_plausibility(rows, closed_deals(), AS_OF)
    sentences = plausibility.describe_flags(checks[checks["flagged"]], "USD")
    assert sentences[0].startswith(
        "The stage-weighted pipeline (0.30 times) and account-based (0.20 times) "
        "forecasts"
    )
    assert (
        "(the account-based method also repeat bookings from current " in (sentences[1])
    )


def test_high_open_deal_forecast_flagged_alone():
    rows = pd.DataFrame(
        [("next_12_months", "stage_weighted", "Stage-weighted pipeline", 1_800.0)],
        columns=["window", "method", "label", "forecast"],
    )
    checks = plausibility.check_plausibility(rows, closed_deals(), AS_OF)
    sentences = plausibility.describe_flags(checks, "USD")
    assert sentences == [
        "The stage-weighted pipeline forecast of the next 12 months, USD 1,800, "
        "is 1.80 times the USD 1,000 booked in the last 12 months, so read it "
        "with care."
    ]


def plausibility_workspace(checks: pd.DataFrame) -> SimpleNamespace:
    warnings = pd.DataFrame(columns=["cutoff", "method", "warning"])
    frames = {"forecast_plausibility": checks, "forecast_warnings": warnings}
    return SimpleNamespace(
        table=frames.__getitem__,
        has_table=frames.__contains__,
        currency="USD",
    )


def test_note_lists_flagged_forecasts():
    checks = plausibility.check_plausibility(forecast_rows(), closed_deals(), AS_OF)
    text = views.plausibility_note(plausibility_workspace(checks)).data
    assert "2 of 3 forecasts of the next 12 months lie outside 0.5 to 1.5" in text
    assert "The bookings trend forecast of the next 12 months" in text
    assert "account-based" not in text


def test_note_without_flags():
    checks = plausibility.check_plausibility(
        forecast_rows().iloc[[1]], closed_deals(), AS_OF
    )
    text = views.plausibility_note(plausibility_workspace(checks)).data
    assert "every forecast of the next 12 months is 0.5 to 1.5" in text
    assert "USD 1,000 booked in the last 12 months" in text


def test_warnings_note_mentions_flags():
    checks = plausibility.check_plausibility(forecast_rows(), closed_deals(), AS_OF)
    text = views.warnings_table(plausibility_workspace(checks)).data
    assert "No model fit raised a warning, but the plausibility check" in text
    assert "flags 2 forecasts of the next 12 months" in text


def test_warnings_note_without_flags():
    checks = plausibility.check_plausibility(
        forecast_rows().iloc[[1]], closed_deals(), AS_OF
    )
    text = views.warnings_table(plausibility_workspace(checks)).data
    assert text.endswith("No model fit raised a warning.</p>")
