"""Marketing-sourced deals: one rule on the account map and in attribution."""

from __future__ import annotations

import ibis
import pytest

from acctlib.accountmap import summarize_touch_activity
from acctlib.attribution import compare, report
from acctlib.attribution.credits import compute_attribution
from acctlib.attribution.settings import MODEL_DESCRIPTIONS, AttributionSettings
from tests.attribution.frames import (
    AS_OF,
    attribute,
    credit_by,
    opportunities,
    touches,
)

# One won deal per account, each created at noon on 2024-03-01.
CREATED = "2024-03-01 12:00"
EXPECTED_SOURCED = {
    # The lead's first contact is recorded at the creation instant.
    "at_creation": True,
    # A marketing touch first, then an SDR call just before creation.
    "sdr_latest": False,
    # An SDR call first, then a marketing touch just before creation.
    "marketing_latest": True,
    # The only marketing touch comes after creation.
    "after_creation": False,
}


@pytest.fixture(scope="module")
def sourced_flags():
    """Return the account map's and the attribution's flag per account."""
    deals = opportunities(
        *(
            (f"o_{account}", account, CREATED, "2024-06-01", 1_000, "won")
            for account in EXPECTED_SOURCED
        )
    )
    touch_frame = touches(
        ("t01", "at_creation", CREATED, "paid_search"),
        ("t02", "at_creation", "2024-05-01 09:00", "call", "sdr"),
        ("t03", "sdr_latest", "2024-01-10 09:00", "webinar"),
        ("t04", "sdr_latest", "2024-02-28 09:00", "call", "sdr"),
        ("t05", "marketing_latest", "2024-01-10 09:00", "call", "sdr"),
        ("t06", "marketing_latest", "2024-02-28 09:00", "webinar"),
        ("t07", "after_creation", "2024-03-02 09:00", "webinar"),
    )
    con = ibis.duckdb.connect()
    table = con.create_table("touchpoints", touch_frame)
    settings = AttributionSettings(as_of=AS_OF, lookback_days=180)
    result = compute_attribution(con, table, deals, settings)
    revenue = result.opportunities[result.opportunities["kind"] == "revenue"]
    activity = summarize_touch_activity(table, deals, AS_OF, lookback_days=180)
    return (
        activity.set_index("account_id")["marketing_sourced"].to_dict(),
        revenue.set_index("account_id")["sourced"].to_dict(),
    )


@pytest.mark.parametrize("account", list(EXPECTED_SOURCED))
def test_account_map_sourced_flag(sourced_flags, account):
    account_map, _ = sourced_flags
    assert bool(account_map[account]) is EXPECTED_SOURCED[account]


@pytest.mark.parametrize("account", list(EXPECTED_SOURCED))
def test_attribution_sourced_flag(sourced_flags, account):
    _, attribution = sourced_flags
    assert bool(attribution[account]) is EXPECTED_SOURCED[account]


def test_sourced_share_counts_creation_touch():
    """A marketing touch at the creation instant sources the deal's revenue."""
    deals = opportunities(("O1", "A", CREATED, "2024-06-01", 1_000, "won"))
    touch_frame = touches(("t1", "A", CREATED, "paid_search"))
    con = ibis.duckdb.connect()
    table = con.create_table("touchpoints", touch_frame)
    settings = AttributionSettings(as_of=AS_OF)
    result = compute_attribution(con, table, deals, settings)

    summary = compare.summarize_sourced_influenced(result.opportunities)
    revenue = summary.set_index("kind").loc["revenue"]

    assert revenue["sourced"] == 1_000.0
    assert revenue["sourced_share"] == 1.0


def test_creation_touch_differs_from_sourced_rule():
    """At the creation instant a touch sources the deal but is not its creation touch.

    The page states both rules, so the test pins the code and the words.
    """
    deals = opportunities(("O1", "A", CREATED, "2024-06-01", 1_000, "won"))
    touch_frame = touches(
        ("t1", "A", "2024-02-01", "sdr_call", "sdr"),
        ("t2", "A", CREATED, "paid_search"),
    )
    result = attribute(touch_frame, deals)
    summary = compare.summarize_sourced_influenced(result.opportunities)
    revenue = summary.set_index("kind").loc["revenue"]

    credits = credit_by(result, "creation_touch")
    assert credits["sdr_call"] == 1_000.0
    assert credits["paid_search"] == 0.0
    assert revenue["sourced"] == 1_000.0
    assert "latest touch at or before the opportunity's" in report.SOURCED_CAPTION
    assert "last touch strictly before the creation" in report.SOURCED_CAPTION
    creation = MODEL_DESCRIPTIONS["creation_touch"]
    assert "last touch strictly before the deal's creation instant" in creation
    assert "or the first touch when none comes before it" in creation
