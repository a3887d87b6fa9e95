"""As-of independence, parameters and settings errors."""

from __future__ import annotations

import pandas as pd
import pytest

from acctlib.attribution.settings import AttributionSettings
from acctlib.errors import ParameterError
from acctlib.params import resolve_params
from tests.attribution.frames import AS_OF, attribute, opportunities, touches

DEALS = (
    ("O1", "A", "2024-03-01", "2024-04-01", 1_000, "won"),
    ("O2", "A", "2024-06-01", "2024-12-20", 500, "open"),
)
TOUCHES = (
    ("t1", "A", "2024-02-01", "webinar"),
    ("t2", "A", "2024-03-20", "email"),
    ("t3", "A", "2024-08-01", "event"),
)


def test_records_after_as_of_change_nothing():
    """Touches and deals dated after the as-of date leave every credit as it was."""
    before = attribute(touches(*TOUCHES), opportunities(*DEALS))
    later_touches = touches(
        *TOUCHES,
        ("t9", "A", "2025-01-02", "paid_search"),
        ("t8", "A", "2025-01-01 00:00", "direct"),
    )
    later_deals = opportunities(
        *DEALS, ("O9", "A", "2025-01-05", "2025-02-01", 9_000, "won")
    )
    after = attribute(later_touches, later_deals)
    # Midnight after the as-of date is already the next day, so t8 is unknown.
    pd.testing.assert_frame_equal(
        after.fetch_credits(),
        before.fetch_credits(),
    )
    assert not {"paid_search", "direct"} & set(after.fetch_credits()["channel"])
    assert "O9" not in set(after.fetch_credits()["opportunity_id"])


def test_open_deal_gives_pipeline_credit():
    """An open deal is credited as pipeline, never as revenue."""
    result = attribute(touches(*TOUCHES), opportunities(*DEALS))
    credits = result.fetch_credits()
    open_rows = credits[credits["opportunity_id"] == "O2"]
    assert set(open_rows["kind"]) == {"pipeline"}
    linear = open_rows[open_rows["model"] == "linear"]
    assert linear.set_index("channel")["credit"].to_dict() == {"event": 500.0}


def test_settings_read_from_defaults():
    """The declared defaults build valid settings."""
    params = resolve_params(None, ["as_of=2024-12-31"])
    settings = AttributionSettings.from_params(params, AS_OF)
    assert settings.lookback_days == 180
    assert settings.half_life_days == 7.0
    assert settings.window_days == (30, 60, 90, 180, 365)
    assert settings.models[-2:] == ("markov", "shapley")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"assignment": "first"}, "attribution_assignment is 'first'"),
        ({"models": ("linear", "magic")}, "unknown model\\(s\\) magic"),
    ],
)
def test_settings_reject_invalid_values(options, message):
    with pytest.raises(ParameterError, match=message):
        AttributionSettings(as_of=AS_OF, **options)


def test_window_days_must_be_whole_numbers():
    params = resolve_params(
        None, ["as_of=2024-12-31", "attribution_window_days=30,ninety"]
    )
    with pytest.raises(ParameterError, match="whole numbers of days"):
        AttributionSettings.from_params(params, AS_OF)
