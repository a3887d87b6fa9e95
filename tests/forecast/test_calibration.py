"""Flags on win-probability deciles whose actual win rate is off target."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from acctlib.forecast import calibration, views

# Deciles of the Maven export's backtest as of 2017-12-31, rounded.
MAVEN = pd.DataFrame(
    {
        "decile": [1, 5, 9, 10],
        "deals": [700, 699, 699, 700],
        "predicted": [0.563, 0.625, 0.772, 0.848],
        "actual": [0.676, 0.612, 0.750, 0.644],
    }
)


def test_flags_large_gaps():
    assert calibration.flag_deciles(MAVEN).tolist() == [True, False, False, True]


@pytest.mark.parametrize(
    ("deals", "flagged"),
    [
        # A 15-point gap at 50% is 2.1 standard errors with 50 deals, but
        # only 1.3 with 20, where chance explains it.
        (20, False),
        (50, True),
    ],
)
def test_small_decile_needs_larger_gap(deals, flagged):
    table = pd.DataFrame(
        {"decile": [1], "deals": [deals], "predicted": [0.50], "actual": [0.65]}
    )
    assert calibration.flag_deciles(table).tolist() == [flagged]


def test_gap_below_threshold_not_flagged():
    # 8 points is 16 standard errors with 10,000 deals, but under the gap.
    table = pd.DataFrame(
        {"decile": [1], "deals": [10_000], "predicted": [0.50], "actual": [0.58]}
    )
    assert calibration.flag_deciles(table).tolist() == [False]


def test_sentence_names_flagged_deciles():
    text = calibration.describe_flags(MAVEN)
    assert text.startswith(
        "2 deciles differ from their predicted win rate by more than 10 "
        "percentage points, more than chance explains for the number of deals."
    )
    assert (
        "In decile 10 the predicted win rate was 84.8%, and 64.4% of its 700 "
        "deals were won." in text
    )
    assert "In decile 1 the predicted win rate was 56.3%" in text
    assert "decile 5" not in text


def test_sentence_without_flags():
    text = calibration.describe_flags(MAVEN.iloc[[1, 2]])
    assert text.startswith("No decile's actual win rate differs")


def test_note_under_calibration_table():
    ws = SimpleNamespace(table={"forecast_calibration": MAVEN}.__getitem__)
    assert "In decile 10 the predicted" in views.calibration_note(ws).data


def test_no_note_without_calibration():
    empty = MAVEN.iloc[0:0]
    ws = SimpleNamespace(table={"forecast_calibration": empty}.__getitem__)
    assert views.calibration_note(ws) is None
