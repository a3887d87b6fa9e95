"""Codes from the data shown as words."""

from __future__ import annotations

import pandas as pd
import pytest

from acctlib.labels import readable, readable_column


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("outbound_email", "Outbound email"),
        ("paid_search", "Paid search"),
        ("sdr", "SDR"),
        ("ae", "AE"),
        ("marketing", "Marketing"),
        ("new_business", "New business"),
        ("seo_content", "SEO content"),
        ("g2_reviews", "G2 reviews"),
        ("qbr", "QBR"),
        ("exec_qbr", "Exec QBR"),
    ],
)
def test_code_becomes_words(code, shown):
    assert readable(code) == shown


@pytest.mark.parametrize(
    "value", ["Paid Search", "Trade show", "LinkedIn Ads", "web-form", "", None, 3]
)
def test_crm_labels_left_alone(value):
    assert readable(value) == value


def test_column_readable_without_changing_input():
    frame = pd.DataFrame({"channel": ["outbound_email", "Webinar"], "credit": [1, 2]})
    shown = readable_column(frame, "channel")
    assert shown["channel"].tolist() == ["Outbound email", "Webinar"]
    assert frame["channel"].tolist() == ["outbound_email", "Webinar"]
