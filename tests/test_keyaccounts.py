"""Tests for acctlib.keyaccounts: the text columns of the key-accounts table."""

from __future__ import annotations

import pandas as pd

from acctlib import keyaccounts, summary


def test_marketing_text_shows_channel_words():
    marketing = pd.DataFrame(
        {
            "account_id": ["A1", "A1", "A2"],
            "campaign": ["2026-Q2 Webinar", "Spring Ads", "No campaign"],
            "channel": ["content_syndication", "paid_search", "Partner Referral"],
            "touches": [1, 3, 2],
        }
    )

    described = keyaccounts._describe_marketing(marketing).set_index("account_id")

    assert described.loc["A1", "marketing_30d"] == (
        "Spring Ads (Paid search) 3; 2026-Q2 Webinar (Content syndication) 1"
    )
    assert described.loc["A2", "marketing_30d"] == "No campaign (Partner Referral) 2"
    assert described["marketing_touches_30d"].tolist() == [4, 2]


def test_deal_without_name_named_by_id():
    deals = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3"],
            "account_id": ["A1", "A1", "A2"],
            "name": pd.Series(["Renewal 2026", None, " "], dtype="str"),
            "is_open": [True, True, True],
            "created_at": pd.to_datetime(
                ["2026-06-10", "2026-06-12", "2026-01-05"], utc=True
            ),
            "stage_entered_at": pd.to_datetime(
                ["2026-06-10", "2026-06-12", "2026-06-20"], utc=True
            ),
            "stage_asof": ["Discovery", "Discovery", "Proposal"],
        }
    )

    lines = keyaccounts._describe_deal_changes(deals, pd.Timestamp("2026-05-31"))

    assert lines["A1"] == ["new opportunity Renewal 2026", "new opportunity O2"]
    assert lines["A2"] == ["opportunity O3 moved to Proposal"]


def test_missing_name_column_uses_id():
    deals = pd.DataFrame(
        {
            "opportunity_id": ["O1"],
            "account_id": ["A1"],
            "is_open": [True],
            "created_at": pd.to_datetime(["2026-06-10"], utc=True),
            "stage_entered_at": pd.to_datetime(["2026-06-10"], utc=True),
            "stage_asof": ["Discovery"],
        }
    )

    lines = keyaccounts._describe_deal_changes(deals, pd.Timestamp("2026-05-31"))

    assert lines == {"A1": ["new opportunity O1"]}


def test_estimated_creation_not_new():
    # O2 and its Prospecting entry are dated by a stand-in on the report
    # month's last day, so the deal is neither new nor moved.
    deals = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2"],
            "account_id": ["A1", "A2"],
            "is_open": [True, True],
            "created_at": pd.to_datetime(["2026-06-10", "2026-06-30"], utc=True),
            "created_at_estimated": pd.array([False, True], dtype="boolean"),
            "stage_entered_at": pd.to_datetime(["2026-06-10", "2026-06-30"], utc=True),
            "stage_asof": ["Discovery", "Prospecting"],
        }
    )

    lines = keyaccounts._describe_deal_changes(deals, pd.Timestamp("2026-05-31"))

    assert lines == {"A1": ["new opportunity O1"]}


def test_gap_count_counts_accounts():
    gaps = pd.DataFrame(
        {
            "account_id": ["A1", "A1", "A2"],
            "gap": [
                "no sales activity in 30 days",
                "no marketing engagement in 90 days",
                "no owner",
            ],
        }
    )

    assert summary.count_gap_accounts(gaps) == 2


def _gap_inputs() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    tiers = pd.DataFrame(
        {
            "account_id": ["A1"],
            "name": ["Acme"],
            "tier": [1],
            "tier_label": ["Tier 1 Strategic"],
            "owner": ["Ana"],
        }
    )
    progression = pd.DataFrame(
        {
            "account_id": ["A1"],
            "sales_touches_30d": [0],
            "touches_90d_marketing": [0],
            "open_opportunities": [1],
        }
    )
    health = pd.DataFrame({"account_id": ["A1"], "expansion_ready": [False]})
    return tiers, progression, health


def test_touch_gaps_found_with_touchpoints():
    gaps = keyaccounts.find_coverage_gaps(*_gap_inputs())

    assert gaps["gap"].tolist() == [
        "no marketing engagement in 90 days",
        "no sales activity in 30 days",
    ]


def test_touch_gaps_skipped_without_touchpoints():
    gaps = keyaccounts.find_coverage_gaps(*_gap_inputs(), has_touchpoints=False)

    assert gaps.empty


def test_marketing_text_counts_left_out_campaigns():
    marketing = pd.DataFrame(
        {
            "account_id": ["A1"] * 5 + ["A2"] * 4,
            "campaign": [
                "Webinar",
                "Newsletter",
                "Content Syndication",
                "Brand Search",
                "Nurture Email",
                "Newsletter",
                "Nurture Email",
                "Brand Search",
                "Webinar",
            ],
            "channel": ["email"] * 9,
            "touches": [1, 2, 1, 1, 2, 2, 2, 1, 1],
        }
    )

    described = keyaccounts._describe_marketing(marketing).set_index("account_id")

    assert described.loc["A1", "marketing_30d"] == (
        "Newsletter (Email) 2; Nurture Email (Email) 2; Brand Search (Email) 1; "
        "and 2 more (2 touches)"
    )
    assert described.loc["A2", "marketing_30d"] == (
        "Newsletter (Email) 2; Nurture Email (Email) 2; Brand Search (Email) 1; "
        "and 1 more (1 touch)"
    )
    assert described["marketing_touches_30d"].tolist() == [7, 6]


def test_deals_with_same_name_get_ids():
    deals = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3", "O4"],
            "account_id": ["A1", "A1", "A1", "A2"],
            "name": ["Expansion", "Expansion", "Renewal", "Expansion"],
            "is_open": [True, True, True, True],
            "created_at": pd.to_datetime(
                ["2026-06-10", "2026-01-05", "2026-06-12", "2026-06-10"], utc=True
            ),
            "stage_entered_at": pd.to_datetime(
                ["2026-06-10", "2026-06-20", "2026-06-12", "2026-06-10"], utc=True
            ),
            "stage_asof": ["Discovery", "Proposal", "Discovery", "Discovery"],
        }
    )

    lines = keyaccounts._describe_deal_changes(deals, pd.Timestamp("2026-05-31"))

    assert lines["A1"] == [
        "new opportunity Expansion (O1)",
        "Expansion (O2) moved to Proposal",
        "new opportunity Renewal",
    ]
    assert lines["A2"] == ["new opportunity Expansion"]
