"""Headline summaries of the account map."""

from __future__ import annotations

import numpy as np
import pandas as pd

from acctlib import summary


def test_value_by_segment_keeps_unknown_missing():
    account_map = pd.DataFrame(
        {
            "account_id": ["A", "B", "C", "D"],
            "industry": ["Retail", "Retail", "Energy", None],
            "status": ["customer", "customer", "customer", "prospect"],
            "value": [np.nan, np.nan, 500.0, 0.0],
        }
    )

    segments = summary.summarize_value_by_segment(account_map).set_index("segment")

    assert np.isnan(segments.loc["Retail", "value"])
    assert segments.loc["Retail", "accounts"] == 2
    assert segments.loc["Energy", "value"] == 500.0
    assert segments.loc["Unknown", "value"] == 0.0
