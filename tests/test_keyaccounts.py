"""Tests for acctlib.keyaccounts: the text columns of the key-accounts table."""

from __future__ import annotations

import pandas as pd

from acctlib import keyaccounts


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
