"""Position-based and time-decay weights on hand-computed journeys."""

from __future__ import annotations

import pytest

from tests.attribution.frames import attribute, credit_by, opportunities, touches


@pytest.fixture(scope="module")
def journeys():
    """Deals of 1,000 with one, two and five touches, and a time-decay pair.

    Deal C was created on 2024-03-05, after its second touch, so c1 is its
    creation touch. Deal D's touches lie 0.5 and 7.5 days before the end of
    its close date, one half-life apart at the default 7 days.
    """
    deals = opportunities(
        ("A", "A", "2024-03-05", "2024-04-01", 1_000, "won"),
        ("B", "B", "2024-03-05", "2024-04-01", 1_000, "won"),
        ("C", "C", "2024-03-05", "2024-04-01", 1_000, "won"),
        ("D", "D", "2024-03-01", "2024-04-01", 300, "won"),
    )
    touch_frame = touches(
        ("a0", "A", "2024-03-01", "a0"),
        ("b0", "B", "2024-03-01", "b0"),
        ("b1", "B", "2024-03-10", "b1"),
        ("c0", "C", "2024-03-01", "c0"),
        ("c1", "C", "2024-03-02", "c1"),
        ("c2", "C", "2024-03-10", "c2"),
        ("c3", "C", "2024-03-20", "c3"),
        ("c4", "C", "2024-03-30", "c4"),
        ("d0", "D", "2024-03-25 12:00", "d0"),
        ("d1", "D", "2024-04-01 12:00", "d1"),
    )
    return attribute(touch_frame, deals)


@pytest.mark.parametrize(
    ("model", "deal", "expected"),
    [
        ("u_shaped", "A", {"a0": 1_000.0}),
        ("u_shaped", "B", {"b0": 500.0, "b1": 500.0}),
        (
            "u_shaped",
            "C",
            {"c0": 400.0, "c1": 66.67, "c2": 66.67, "c3": 66.66, "c4": 400.0},
        ),
        (
            "w_shaped",
            "C",
            {"c0": 300.0, "c1": 300.0, "c2": 50.0, "c3": 50.0, "c4": 300.0},
        ),
        (
            "full_path",
            "C",
            {"c0": 225.0, "c1": 225.0, "c2": 100.0, "c3": 225.0, "c4": 225.0},
        ),
        # b0 is both first and creation touch, so it adds 30 and 30.
        ("w_shaped", "B", {"b0": 666.67, "b1": 333.33}),
        ("full_path", "A", {"a0": 1_000.0}),
        (
            "creation_touch",
            "C",
            {"c0": 0.0, "c1": 1_000.0, "c2": 0.0, "c3": 0.0, "c4": 0.0},
        ),
        ("time_decay", "D", {"d0": 100.0, "d1": 200.0}),
    ],
)
def test_position_weights(journeys, model, deal, expected):
    assert credit_by(journeys, model, opportunity=deal) == expected
