"""Number formatting of report tables."""

from __future__ import annotations

import pytest

from acctlib.tables import format_count


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0"),
        (11160, "11,160"),
        (99.8, "100"),
        (42.4, "42"),
        (None, "–"),
        (float("nan"), "–"),
    ],
)
def test_count_rounds_to_whole_number(value, shown):
    assert format_count(value) == shown
