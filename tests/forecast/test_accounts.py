"""Account-based probabilities, stand-in tiers and customer repeat bookings."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from acctlib.forecast import accounts
from acctlib.forecast.periods import Window
from acctlib.forecast.state import ForecastInputs, compute_standin_tiers, compute_state
from tests.forecast.factories import STAGE_MAP, make_opportunities

AS_OF = dt.date(2026, 6, 30)


def test_tier_stage_rates_shrink_to_stage_rate():
    reach = pd.DataFrame(
        {
            "tier": [1, 1, 1, 4],
            "stage": ["Propose", "Propose", "Propose", "Propose"],
            "is_won": [True, True, False, False],
        }
    )
    stage_rates = pd.Series({"Qualify": 0.2, "Propose": 0.5})
    table = accounts.learn_tier_stage_probabilities(reach, stage_rates, prior_deals=2)
    rates = table.set_index(["tier", "stage"])["probability"]
    assert rates[(1, "Propose")] == pytest.approx((2 + 2 * 0.5) / (3 + 2))
    assert rates[(4, "Propose")] == pytest.approx((0 + 2 * 0.5) / (1 + 2))
    assert rates[(2, "Propose")] == pytest.approx(0.5)
    assert rates[(3, "Qualify")] == pytest.approx(0.2)
    assert len(table) == 8


def test_tier_stage_lookup_falls_back_to_stage_map():
    deals = pd.DataFrame(
        {
            "tier": [1, 2],
            "stage_asof": ["Propose", "Unknown"],
            "probability_asof": [0.5, 0.3],
        }
    )
    table = pd.DataFrame({"tier": [1], "stage": ["Propose"], "probability": [0.9]})
    result = accounts.apply_tier_stage_probabilities(deals, table)
    assert result["probability"].tolist() == [0.9, 0.3]


def test_standin_tiers_rank_accounts_by_value():
    rows = [
        (
            f"W{i:02d}",
            f"A{i:02d}",
            "new_business",
            "Won",
            float(i),
            "2026-01-01",
            "2026-02-01",
        )
        for i in range(1, 11)
    ]
    rows.append(("L1", "A99", "new_business", "Lost", 5.0, "2026-01-01", "2026-02-01"))
    inputs = ForecastInputs(make_opportunities(rows), None, STAGE_MAP)
    snapshot = compute_state(inputs, AS_OF).snapshot
    tiers = compute_standin_tiers(snapshot)
    assert tiers["A10"] == 1
    assert tiers[["A09", "A08"]].tolist() == [2, 2]
    assert tiers[["A07", "A06", "A05"]].tolist() == [3, 3, 3]
    assert (tiers[["A04", "A03", "A02", "A01"]] == 4).all()
    assert "A99" not in tiers.index


def test_real_tiers_replace_standin():
    rows = [("W1", "A1", "new_business", "Won", 10.0, "2026-01-01", "2026-02-01")]
    tiers = pd.DataFrame({"account_id": ["A1"], "tier": [3]})
    inputs = ForecastInputs(make_opportunities(rows), None, STAGE_MAP, tiers=tiers)
    state = compute_state(inputs, AS_OF)
    assert not state.tiers_are_standin
    assert state.snapshot["tier"].tolist() == [3]


def test_repeat_rates_count_days_after_the_cycle():
    rows = [
        # Won 2026-05-01 after a 30-day cycle: recurs once a year.
        ("E1", "A1", "expansion", "Won", 1_000.0, "2026-04-01", "2026-05-01"),
        # Won more than 12 months ago: not counted.
        ("E2", "A1", "renewal", "Won", 9_000.0, "2025-01-01", "2025-05-01"),
        # New business is not a repeat type.
        ("N1", "A2", "new_business", "Won", 9_000.0, "2026-04-01", "2026-05-01"),
        # A credit note is not a purchase that recurs.
        ("C1", "A2", "expansion", "Won", -500.0, "2026-04-01", "2026-05-01"),
    ]
    inputs = ForecastInputs(make_opportunities(rows), None, STAGE_MAP)
    state = compute_state(inputs, AS_OF)
    windows = [
        Window("next_3_months", dt.date(2026, 7, 1), dt.date(2026, 9, 29)),
        Window("short", dt.date(2026, 7, 1), dt.date(2026, 7, 20)),
    ]
    amounts, rates = accounts.compute_repeat_rates(state.closed, windows, AS_OF)
    assert amounts.tolist() == [1_000.0]
    # Days 31 to 91 after as_of can hold a deal created after as_of.
    np.testing.assert_allclose(rates, [[61 / 365, 0.0]])
