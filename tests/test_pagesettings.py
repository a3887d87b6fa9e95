"""Settings tables under the page titles: which parameters, in which words."""

from __future__ import annotations

import pytest

from acctlib import pagesettings
from acctlib.params import load_declarations

DEFAULTS = {name: d.default for name, d in load_declarations().items()} | {
    "as_of": "2026-06-30",
    "report_currency": "EUR",
    "profile": "canonical",
}


def _rows(section: str, **changes) -> dict[str, str]:
    return dict(pagesettings.page_settings(section, DEFAULTS | changes))


@pytest.mark.parametrize("section", sorted(pagesettings.PAGE_SETTINGS))
def test_every_page_shows_date_and_currency(section):
    rows = _rows(section)

    assert rows["Report date"] == "2026-06-30"
    assert rows["Currency"] == "EUR"


@pytest.mark.parametrize("section", sorted(pagesettings.PAGE_SETTINGS))
def test_pages_show_no_parameter_names(section):
    for label, value in pagesettings.page_settings(section, DEFAULTS):
        assert "_" not in label, label
        assert value not in ("next", "first", "reweight", "learned", "profile")


def test_tiering_lists_tier_thresholds():
    rows = _rows("02-tiering")

    assert rows["Tier 1 Strategic"] == (
        "fit score at least 60 and value score at least 75"
    )
    assert rows["Tier 3 Growth"] == (
        "fit score at least 60 or engagement score at least 50"
    )
    assert rows["Tier 4 Nurture"] == "every other account"
    assert rows["Fit score"] == "match to the ideal customer profile"
    assert "200 to 10,000 employees" in rows["Ideal customer profile"]


def test_tiering_by_win_rate_leaves_out_profile():
    rows = _rows("02-tiering", fit_method="win_rate")

    assert rows["Fit score"] == "historical win rate of the account's segments"
    assert "Ideal customer profile" not in rows


def test_attribution_lists_windows_compared():
    rows = _rows("03-attribution", attribution_window_days=["90", "30", "365"])

    assert rows["Lookbacks compared in Window sensitivity"] == "30, 90 and 365 days"
    assert rows["Touches that join a deal's journey"] == (
        "up to 180 days before the deal was created"
    )
    assert rows["Touch credit"] == (
        "each touch goes to the next deal of its account to close"
    )
    assert "Recent touches" not in rows


def test_account_map_lists_influence_window():
    rows = _rows("01-account-map", influence_window_days=1)

    assert rows["Recent touches"] == "the last 1 day"


def test_forecast_lists_horizon_and_cutoffs():
    rows = _rows("05-forecast")

    assert rows["Forecast horizon"] == "3 months after the report date"
    assert rows["Backtest"] == "methods rebuilt and scored at the last 12 month-ends"
    assert rows["Simulations behind each range"] == "2,000"
    assert "Tier 1 Strategic" not in rows


def test_forecast_backtest_off():
    rows = _rows("05-forecast", forecast_backtest_cutoffs=0)

    assert rows["Backtest"] == "off"


def test_without_attribution_touch_settings_left_out():
    settings = pagesettings.page_settings(
        "03-attribution", DEFAULTS, attribution_ran=False
    )
    rows = dict(settings)

    assert "Touch credit" not in rows
    assert "Touches that join a deal's journey" not in rows
    assert "Lookbacks compared in Window sensitivity" not in rows
    assert rows["Currency"] == "EUR"


def test_unknown_section_shows_date_and_currency():
    rows = _rows("07-custom")

    assert rows == {"Report date": "2026-06-30", "Currency": "EUR"}


def test_every_listed_parameter_is_declared():
    declared = set(load_declarations())
    for section, names in pagesettings.PAGE_SETTINGS.items():
        assert set(names) <= declared, section
