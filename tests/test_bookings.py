import datetime as dt

import pytest

from acctlib import bookings


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (dt.date(2026, 11, 15), (dt.date(2026, 10, 1), dt.date(2026, 10, 15))),
        (dt.date(2026, 3, 30), (dt.date(2026, 2, 1), dt.date(2026, 2, 28))),
        (dt.date(2028, 3, 30), (dt.date(2028, 2, 1), dt.date(2028, 2, 29))),
        (dt.date(2027, 1, 1), (dt.date(2026, 12, 1), dt.date(2026, 12, 1))),
    ],
)
def test_same_days_previous_month(as_of, expected):
    assert bookings.same_days_previous_month(as_of) == expected


@pytest.mark.parametrize(
    ("as_of", "label"),
    [
        (dt.date(2026, 11, 30), "Bookings this month"),
        ("2026-02-28", "Bookings this month"),
        (None, "Bookings this month"),
        (dt.date(2026, 11, 15), "Bookings month to date"),
        ("2028-02-28", "Bookings month to date"),
    ],
)
def test_month_bookings_label(as_of, label):
    assert bookings.month_bookings_label(as_of) == label
