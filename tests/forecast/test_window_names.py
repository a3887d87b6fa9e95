"""Forecast table window names and plain model-fit warnings."""

from __future__ import annotations

import pandas as pd

from acctlib.forecast import views


def forecast_rows() -> pd.DataFrame:
    windows = [
        ("next_quarter", "2026-07-01", "2026-09-30", 10.0),
        ("next_12_months", "2026-07-01", "2027-06-30", 40.0),
        ("next_3_months", "2026-07-01", "2026-09-30", 11.0),
    ]
    rows = [
        {
            "window": window,
            "window_start": pd.Timestamp(start),
            "window_end": pd.Timestamp(end),
            "method": method,
            "p10": value + offset,
        }
        for method, offset in (("stage_weighted", 0.0), ("sarimax", 100.0))
        for window, start, end, value in windows
    ]
    return pd.DataFrame(rows)


def test_equal_windows_show_once_by_first_name():
    merged = views._merge_equal_windows(forecast_rows(), "next_3_months")
    assert (
        merged["window_name"].tolist()
        == [
            "Next quarter (2026-07-01 to 2026-09-30)",
            "Next 12 months (2026-07-01 to 2027-06-30)",
        ]
        * 2
    )
    assert merged["method"].tolist() == ["stage_weighted"] * 2 + ["sarimax"] * 2


def test_equal_windows_keep_the_headline_window_rows():
    merged = views._merge_equal_windows(forecast_rows(), "next_3_months")
    assert merged["p10"].tolist() == [11.0, 40.0, 111.0, 140.0]
    merged = views._merge_equal_windows(forecast_rows(), None)
    assert merged["p10"].tolist() == [10.0, 40.0, 110.0, 140.0]


def test_known_warning_reads_as_plain_words():
    message = (
        "EstimationWarning: Non-invertible starting MA parameters found. "
        "Using zeros as starting parameters."
    )
    assert views.describe_warning(message).startswith(
        "The moving-average start values were unstable"
    )
    assert "unusual warning" in views.describe_warning("ValueWarning: odd index")
