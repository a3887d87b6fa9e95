"""Model comparison, bootstrap intervals and the bridge on hand-made frames."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from acctlib.attribution import compare
from acctlib.attribution.credits import NO_TOUCH
from acctlib.attribution.journeys import select_opportunities, with_lookback
from acctlib.attribution.settings import AttributionSettings
from tests.attribution.frames import AS_OF, opportunities


def _credits(rows):
    """Build credit rows from ``(model, account_id, channel, cents)``."""
    frame = pd.DataFrame(
        rows, columns=["model", "account_id", "channel", "credit_cents"]
    )
    return frame.assign(kind="revenue", opportunity_id=frame["account_id"])


CREDITS = _credits(
    [
        ("first_touch", "A", "webinar", 6_000),
        ("first_touch", "B", "email", 3_000),
        ("first_touch", "C", "event", 1_000),
        ("last_touch", "A", "email", 6_000),
        ("last_touch", "B", "webinar", 3_000),
        ("last_touch", "C", "event", 1_000),
        ("first_touch", "D", NO_TOUCH, 500),
        ("last_touch", "D", NO_TOUCH, 500),
    ]
)


def test_shares_leave_out_no_touch():
    shares = compare.summarize_credit(CREDITS)
    first = shares[shares["model"] == "first_touch"].set_index("channel")
    assert first.loc["webinar", "share"] == pytest.approx(0.6)
    assert first.loc["event", "share"] == pytest.approx(0.1)
    assert pd.isna(first.loc[NO_TOUCH, "share"])
    assert first.loc[NO_TOUCH, "credit"] == 5.0


def _wide(credits):
    """Return ``credits`` as credit sums with one column per model."""
    keys = ["kind", "opportunity_id", "account_id", "channel"]
    wide = credits.pivot_table(
        index=keys, columns="model", values="credit_cents", fill_value=0
    )
    return wide.reset_index().rename_axis(columns=None)


def test_credit_sums_group_as_their_rows():
    """A column per model gives the sums, shares and intervals of a row per model."""
    wide = _wide(CREDITS)
    assert "model" not in wide.columns
    by = ["channel", "model"]
    pd.testing.assert_frame_equal(
        compare.sum_credit_cents(wide, by), compare.sum_credit_cents(CREDITS, by)
    )
    pd.testing.assert_frame_equal(
        compare.summarize_credit(wide), compare.summarize_credit(CREDITS)
    )
    pd.testing.assert_frame_equal(
        compare.bootstrap_shares(wide, 50, 7), compare.bootstrap_shares(CREDITS, 50, 7)
    )
    with pytest.raises(ValueError, match="group by model and at least one"):
        compare.sum_credit_cents(wide, ["channel"])


def test_compare_flags_robust_channels():
    """webinar and email swap ranks 1 and 2, so both stay in the top 2."""
    table = compare.compare_models(compare.summarize_credit(CREDITS), robust_top=2)
    table = table.set_index("channel")
    assert table.loc["webinar", "spread"] == pytest.approx(0.3)
    assert table.loc["webinar", "worst_rank"] == 2
    assert bool(table.loc["webinar", "robust"])
    assert bool(table.loc["email", "robust"])
    assert not bool(table.loc["event", "robust"])


def _shares(rows):
    """Build shares from ``(model, channel, share)`` rows."""
    frame = pd.DataFrame(rows, columns=["model", "channel", "share"])
    return frame.assign(credit=frame["share"] * 100.0)


def test_robust_needs_credit_under_every_model():
    """Channels at 0% under last touch are not robust, whatever their rank."""
    shares = _shares(
        [
            ("first_touch", "direct", 0.5),
            ("first_touch", "seo", 0.3),
            ("first_touch", "crm", 0.2),
            ("last_touch", "direct", 1.0),
            ("last_touch", "seo", 0.0),
            ("last_touch", "crm", 0.0),
        ]
    )
    table = compare.compare_models(shares, robust_top=3).set_index("channel")
    assert bool(table.loc["direct", "robust"])
    assert not bool(table.loc["seo", "robust"])
    assert not bool(table.loc["crm", "robust"])


def test_ties_across_cutoff_are_not_robust():
    """Three channels tied for ranks 2 to 4 do not all fit in a top 2."""
    rows = [
        (model, channel, share)
        for model in ("first_touch", "linear")
        for channel, share in [("a", 0.4), ("b", 0.2), ("c", 0.2), ("d", 0.2)]
    ]
    table = compare.compare_models(_shares(rows), robust_top=2).set_index("channel")
    assert table.loc["a", "worst_rank"] == 1
    assert table.loc["b", "worst_rank"] == 4
    assert table.index[table["robust"]].tolist() == ["a"]


def test_ties_within_cutoff_are_robust():
    rows = [
        (model, channel, share)
        for model in ("first_touch", "linear")
        for channel, share in [("a", 0.4), ("b", 0.4), ("c", 0.2)]
    ]
    table = compare.compare_models(_shares(rows), robust_top=2).set_index("channel")
    assert table.loc["a", "worst_rank"] == 2
    assert table.index[table["robust"]].tolist() == ["a", "b"]


def test_rank_correlation_of_swapped_leaders():
    correlation = compare.rank_correlation(compare.summarize_credit(CREDITS))
    assert correlation.loc["first_touch", "first_touch"] == pytest.approx(1.0)
    assert correlation.loc["first_touch", "last_touch"] == pytest.approx(0.5)


def test_bootstrap_is_seeded():
    """The same seed gives the same intervals, and each interval contains its share."""
    first = compare.bootstrap_shares(CREDITS, samples=50, seed=7)
    second = compare.bootstrap_shares(CREDITS, samples=50, seed=7)
    pd.testing.assert_frame_equal(first, second)
    assert (first["low"] <= first["share"] + 1e-12).all()
    assert (first["high"] >= first["share"] - 1e-12).all()


def test_bridge_ties_with_excluded_deals():
    snapshot = pd.DataFrame(
        {
            "opportunity_id": ["A", "B", "C", "D", "E"],
            "amount": [60.0, 30.0, 10.0, 5.0, None],
            "is_won": [True, True, True, True, True],
        }
    )
    excluded = pd.DataFrame(
        {"opportunity_id": ["E"], "amount": [None], "reason": ["missing amount"]}
    )
    bridge = compare.compute_bridge(snapshot, CREDITS, excluded).set_index("step")
    assert bridge.loc["Closed won", "amount"] == 105.0
    assert bridge.loc["Credited to touches", "amount"] == 100.0
    assert bridge.loc[NO_TOUCH, "amount"] == 5.0
    assert bridge.loc["Excluded: missing amount", "opportunities"] == 1
    assert bridge.loc["Difference", "amount"] == 0.0


def test_one_selection_serves_every_lookback():
    """Moving the window start equals selecting again with the other lookback."""
    deals = opportunities(
        ("O1", "A1", "2026-01-10T09:00:00Z", "2026-03-01", 1000.0, "won"),
        ("O2", "A2", "2026-02-01T00:00:00Z", "2026-05-20", 250.5, "lost"),
        ("O3", "A1", "2026-04-15T12:30:00Z", "2026-07-01", 80.0, "open"),
    )
    wide = AttributionSettings(as_of=AS_OF, lookback_days=365)
    selected, _ = select_opportunities(deals, wide)

    for days in (30, 90, 180):
        narrow = dataclasses.replace(wide, lookback_days=days)
        expected, _ = select_opportunities(deals, narrow)
        moved = with_lookback(selected, days)
        pd.testing.assert_frame_equal(moved, expected)
