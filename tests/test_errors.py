"""The shared closest-name hint of error messages."""

from __future__ import annotations

import pytest

from acctlib.errors import closest_hint


@pytest.mark.parametrize(
    ("name", "valid", "expected"),
    [
        ("linaer", ["linear", "time_decay"], " Did you mean 'linear'?"),
        ("c002", ["C001", "C002"], " Did you mean 'C002'?"),
        ("a", ["A", "B"], " Did you mean 'A'?"),
        (" LINEAR ", ["first_touch", "linear"], " Did you mean 'linear'?"),
        ("zzz", ["linear", "time_decay"], ""),
    ],
)
def test_closest_hint(name, valid, expected):
    """A case or spacing variant wins, else the closest likeness above 0.5."""
    assert closest_hint(name, valid) == expected
