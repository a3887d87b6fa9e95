"""Properties every model keeps on any input: credit ties, never negative."""

from __future__ import annotations

import itertools

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acctlib.attribution.allocation import allocate_cents, allocate_cents_narrow
from acctlib.attribution.credits import NO_TOUCH
from acctlib.attribution.heuristics import compute_heuristic_credits
from acctlib.attribution.journeys import select_opportunities
from acctlib.attribution.settings import MODELS, AttributionSettings
from tests.attribution.frames import (
    AS_OF,
    attribute,
    credit_by,
    opportunities,
    touches,
)

CHANNELS = ("webinar", "email", "event", "paid_search")
FUNCTIONS = ("marketing", "sdr", "ae", "partner")
# Each example runs the whole attribution on DuckDB (about a second), so
# the examples are few and the suite stays within its time budget.
PROPERTY_SETTINGS = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_allocation_gives_extra_cent_first():
    """100.00 over three equal touches is 33.34 + 33.33 + 33.33."""
    assert allocate_cents(10_000, np.ones(3)).tolist() == [3334, 3333, 3333]


@given(
    amount=st.integers(min_value=1, max_value=10**11),
    weights=st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=30),
)
def test_allocation_sums_to_amount(amount, weights):
    """Cents always sum to the amount and zero weights get nothing."""
    cents = allocate_cents(amount, np.array(weights))
    assert cents.sum() == amount
    assert (cents >= 0).all()
    if sum(weights) > 0:
        assert all(c == 0 for c, w in zip(cents, weights, strict=True) if w == 0)


@st.composite
def crm(draw):
    """Draw a few accounts with deals and touches, ties in time included."""
    deal_rows, touch_rows = [], []
    for account in range(draw(st.integers(1, 3))):
        for number in range(draw(st.integers(1, 3))):
            created = draw(st.integers(0, 300))
            length = draw(st.integers(0, 60))
            created_at = pd.Timestamp("2024-01-01") + pd.Timedelta(days=created)
            close = created_at + pd.Timedelta(days=length)
            cents = draw(st.integers(1, 10**9))
            outcome = draw(st.sampled_from(["won", "lost", "open"]))
            deal_rows.append(
                (
                    f"O{account}-{number}",
                    f"A{account}",
                    str(created_at),
                    str(close.date()),
                    cents / 100,
                    outcome,
                )
            )
        for number in range(draw(st.integers(0, 8))):
            day = draw(st.integers(-200, 380))
            hour = draw(st.sampled_from([0, 12]))
            occurred = pd.Timestamp("2024-01-01") + pd.Timedelta(days=day, hours=hour)
            touch_rows.append(
                (
                    f"T{account}-{number}",
                    f"A{account}",
                    str(occurred),
                    draw(st.sampled_from(CHANNELS)),
                    draw(st.sampled_from(FUNCTIONS)),
                )
            )
    return opportunities(*deal_rows), touches(*touch_rows)


@PROPERTY_SETTINGS
@given(data=crm())
def test_credits_tie_to_amount_per_opportunity(data):
    """Credits sum to the amount per deal, with untouched deals on one row."""
    deals, touch_frame = data
    result = attribute(touch_frame, deals, lookback_days=90)
    credits = result.fetch_credits()
    expected, _ = select_opportunities(deals, AttributionSettings(as_of=AS_OF))
    expected = expected.set_index(["kind", "opportunity_id"])["amount_cents"]
    for model in MODELS:
        rows = credits[credits["model"] == model]
        sums = rows.groupby(["kind", "opportunity_id"])["credit_cents"].sum()
        pd.testing.assert_series_equal(
            sums.sort_index(), expected.sort_index(), check_names=False
        )
    assert (credits["credit_cents"] >= 0).all()

    # Deals without touches appear once per model under "No recorded touch".
    untouched = result.opportunities[result.opportunities["touches"] == 0]
    no_touch = credits[credits["channel"] == NO_TOUCH]
    assert len(no_touch) == len(untouched) * len(MODELS)
    touched = credits[credits["channel"] != NO_TOUCH]
    assert (touched["touches"] > 0).all()


@settings(PROPERTY_SETTINGS, max_examples=5)
@given(data=crm(), seed=st.integers(0, 2**32 - 1))
def test_results_ignore_row_order(data, seed):
    """Shuffled input rows give identical credits, ties broken by the rule."""
    deals, touch_frame = data
    first = attribute(touch_frame, deals, lookback_days=90).fetch_credits()
    shuffled_touches = touch_frame.sample(frac=1, random_state=seed % 2**31)
    shuffled_deals = deals.sample(frac=1, random_state=seed % 2**31)
    second = attribute(
        shuffled_touches, shuffled_deals, lookback_days=90
    ).fetch_credits()
    pd.testing.assert_frame_equal(first, second)


@PROPERTY_SETTINGS
@given(data=crm())
def test_no_credit_outside_window(data):
    """A credited touch lies inside its deal's window, and no later than as-of."""
    deals, touch_frame = data
    config = AttributionSettings(as_of=AS_OF, lookback_days=90)
    selected, _ = select_opportunities(deals, config)
    con = ibis.duckdb.connect()
    table = con.create_table("touchpoints", touch_frame)
    credited = con.to_pandas(compute_heuristic_credits(table, selected, config))
    credited = credited[credited["credit_cents"] > 0]
    windows = selected.set_index(["kind", "opportunity_id"])
    joined = credited.join(
        windows[["window_start", "window_end"]], on=["kind", "opportunity_id"]
    )
    assert (joined["occurred_at"] >= joined["window_start"]).all()
    assert (joined["occurred_at"] < joined["window_end"]).all()


@pytest.mark.parametrize(
    ("priority", "expected"),
    [((), "email"), (("webinar",), "webinar")],
)
def test_ties_in_time_follow_priority(priority, expected):
    """Touches at the same instant are ordered by channel priority, then name."""
    deals = opportunities(("O1", "A", "2024-03-01", "2024-04-01", 100, "won"))
    touch_frame = touches(
        ("t2", "A", "2024-02-01", "webinar"),
        ("t1", "A", "2024-02-01", "email"),
    )
    result = attribute(touch_frame, deals, channel_priority=priority)
    rows = result.fetch_credits()
    first = rows[(rows["model"] == "first_touch") & (rows["kind"] == "revenue")]
    assert first.set_index("channel")["credit"].idxmax() == expected


def test_ties_in_time_follow_funnel():
    """The sales rep's touch at the SDR's instant is the last touch.

    The channel names and touch ids both sort the SDR's touch last, so only
    the function decides.
    """
    deals = opportunities(("O1", "A", "2024-03-01", "2024-04-01", 100, "won"))
    touch_frame = touches(
        ("mql-1", "A", "2024-02-01", "organic_search", "marketing"),
        ("sdr-1", "A", "2024-04-01", "sales_development", "sdr"),
        ("ae-1", "A", "2024-04-01", "sales", "ae"),
    )
    result = attribute(touch_frame, deals)

    last = credit_by(result, "last_touch", by="function")
    assert last["ae"] == 100
    assert last["sdr"] == 0
    first = credit_by(result, "first_touch", by="function")
    assert first["marketing"] == 100


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_tied_remainders_ignore_row_order(order):
    """Weights 0.4, 0.1 and 0.1 leave three remainders equal on paper.

    A float sum of the weights gave 0.6 in some row orders and
    0.6000000000000001 in others, which moved the cent between touches.
    """
    rows = pd.DataFrame(
        {
            "journey_id": [7, 7, 7],
            "position": [0, 1, 2],
            "amount_cents": [1_543_388] * 3,
            "weight": [0.1, 0.4, 0.1],
        }
    ).iloc[list(order)]
    credited = allocate_cents_narrow(
        ibis.memtable(rows), {"weight": "credit"}, ["journey_id"]
    )

    cents = ibis.duckdb.connect().to_pandas(credited).sort_values("position")

    assert cents["credit"].tolist() == [257_232, 1_028_925, 257_231]


def test_tiny_weights_keep_their_shares():
    """Weights below the decimal sum's precision still split by weight."""
    rows = pd.DataFrame(
        {
            "journey_id": [3, 3],
            "position": [0, 1],
            "amount_cents": [1_000] * 2,
            "weight": [1e-40, 3e-40],
        }
    )
    credited = allocate_cents_narrow(
        ibis.memtable(rows), {"weight": "credit"}, ["journey_id"]
    )

    cents = ibis.duckdb.connect().to_pandas(credited).sort_values("position")

    assert cents["credit"].tolist() == [250, 750]
