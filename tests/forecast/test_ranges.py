"""Seeded simulation of deal outcomes and the P10/P50/P90 summary."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acctlib.forecast import ranges
from acctlib.forecast.ranges import (
    make_generator,
    simulate_deal_totals,
    simulate_repeat_totals,
    summarize_samples,
)

AS_OF = dt.date(2026, 6, 30)


def test_certain_deals_have_no_spread():
    membership = np.array([[1.0, 0.0], [1.0, 1.0]])
    rng = make_generator(1, AS_OF, "test")
    totals = simulate_deal_totals(
        np.array([100.0, 50.0]), np.array([1.0, 0.0]), membership, 50, rng
    )
    np.testing.assert_allclose(totals[:, 0], 100.0)
    np.testing.assert_allclose(totals[:, 1], 0.0)


def test_same_seed_date_and_method_repeat():
    args = (np.array([100.0, 50.0]), np.array([0.3, 0.6]), np.ones((2, 1)), 200)
    first = simulate_deal_totals(*args, make_generator(5, AS_OF, "stage_weighted"))
    again = simulate_deal_totals(*args, make_generator(5, AS_OF, "stage_weighted"))
    other = simulate_deal_totals(*args, make_generator(5, AS_OF, "account_based"))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_simulated_mean_near_expectation():
    amounts = np.full(200, 10.0)
    rng = make_generator(3, AS_OF, "test")
    totals = simulate_deal_totals(
        amounts, np.full(200, 0.25), np.ones((200, 1)), 4000, rng
    )
    assert totals.mean() == pytest.approx(500.0, rel=0.02)


def test_repeat_totals_match_poisson_moments():
    """Totals have the mean and variance of independent counts per deal."""
    rng = make_generator(3, AS_OF, "repeat")
    rates = np.array([[0.5], [0.25], [2.0]])
    amounts = np.array([100.0, 40.0, 3.0])
    totals = simulate_repeat_totals(amounts, rates, 40_000, rng)[:, 0]
    # A Poisson count has its rate as mean and as variance.
    assert totals.mean() == pytest.approx(amounts @ rates[:, 0], rel=0.02)
    assert totals.var() == pytest.approx(amounts**2 @ rates[:, 0], rel=0.05)
    # A total is a sum of whole occurrences of the deals.
    np.testing.assert_array_equal(totals % 1, 0.0)


def test_summary_clips_below_zero():
    summary = summarize_samples(np.array([[-5.0], [-1.0], [4.0]]))
    assert (summary[["forecast", "p10", "p50", "p90"]] >= 0).all().all()


@settings(max_examples=30, deadline=None)
@given(
    deals=st.lists(
        st.tuples(st.floats(0, 1e6, allow_nan=False), st.floats(0, 1, allow_nan=False)),
        min_size=0,
        max_size=20,
    ),
    seed=st.integers(0, 2**31),
)
def test_totals_bounded_and_ordered(deals, seed):
    amounts = np.array([amount for amount, _ in deals], dtype=float)
    probabilities = np.array([chance for _, chance in deals], dtype=float)
    membership = np.ones((len(deals), 1))
    rng = make_generator(seed, AS_OF, "property")
    totals = simulate_deal_totals(amounts, probabilities, membership, 100, rng)
    assert (totals >= 0).all()
    assert (totals <= amounts.sum() + 1e-6).all()
    summary = summarize_samples(totals).iloc[0]
    assert summary["p10"] <= summary["p50"] <= summary["p90"]


def test_repeat_totals_blocks_match_one_draw(monkeypatch):
    rates = np.array([[0.2, 1.5], [0.0, 0.7], [3.0, 0.1], [0.9, 0.9]])
    amounts = np.array([100.0, 40.0, 7.5, 12.0])
    expected = simulate_repeat_totals(amounts, rates, 50, np.random.default_rng(3))
    # About 200 and 160 occurrences: blocks of a few simulations, and
    # with a limit of 1, one simulation per block even above the limit.
    for limit in (12, 1):
        monkeypatch.setattr(ranges, "_CHUNK_OCCURRENCES", limit)

        totals = simulate_repeat_totals(amounts, rates, 50, np.random.default_rng(3))

        np.testing.assert_array_equal(totals, expected)


def test_repeat_totals_zero_column_draws_nothing():
    rates = np.array([[0.0, 1.5], [0.0, 0.7], [0.0, 0.1]])
    amounts = np.array([100.0, 40.0, 7.5])
    alone = simulate_repeat_totals(amounts, rates[:, 1:], 20, np.random.default_rng(5))

    totals = simulate_repeat_totals(amounts, rates, 20, np.random.default_rng(5))

    np.testing.assert_array_equal(totals[:, 0], np.zeros(20))
    np.testing.assert_array_equal(totals[:, 1], alone[:, 0])


def test_repeat_totals_zero_rate_deals_draw_nothing():
    """A deal without a rate is never drawn and changes no other draw."""
    rates = np.array([[1.5], [0.0], [0.7]])
    amounts = np.array([100.0, 1e9, 7.5])
    without = simulate_repeat_totals(
        amounts[[0, 2]], rates[[0, 2]], 30, np.random.default_rng(8)
    )

    totals = simulate_repeat_totals(amounts, rates, 30, np.random.default_rng(8))

    np.testing.assert_array_equal(totals, without)


def test_repeat_totals_ignore_alias_round_off():
    """Rates that leave the alias table short by round-off raise no warning."""
    rates = np.resize([1.0, 0.5], 39_568)
    rates = (rates / rates.sum())[:, None]
    amounts = np.full(len(rates), 10.0)
    rng = np.random.default_rng(2)

    totals = simulate_repeat_totals(amounts, rates, 20_000, rng)

    assert totals.mean() == pytest.approx(10.0, rel=0.05)
