"""Number formatting of report tables."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from acctlib.tables import (
    COMPACT_NUMERIC_COLUMNS,
    amount_decimals,
    format_amount,
    format_change,
    format_count,
    format_flag,
    format_money,
    format_percent,
    format_points,
    headline_cards,
    round_to_total,
    style_table,
)


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


@pytest.mark.parametrize(
    ("formatted", "shown"),
    [
        (format_percent(-0.1), "−10.0%"),
        (format_percent(-0.0001), "0.0%"),
        (format_money(-43123, "USD"), "USD −43,123"),
        (format_amount(-43123), "−43,123"),
        (format_count(-5), "−5"),
        (format_points(-0.02), "−2.0 pp"),
    ],
)
def test_negative_numbers_use_minus_sign(formatted, shown):
    assert formatted == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (2.7, "+2.7"),
        (-11.94, "−11.9"),
        (0.04, "0.0"),
        (-0.04, "0.0"),
        (1234.5, "+1,234.5"),
        (None, "–"),
    ],
)
def test_change_shows_its_sign(value, shown):
    assert format_change(value) == shown


def test_table_change_column_signed():
    frame = pd.DataFrame({"name": ["A", "B"], "health_change": [2.7, -11.9]})

    html = style_table(frame, changes=["health_change"]).to_html()

    assert ">+2.7<" in html
    assert ">−11.9<" in html


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.455, "45.5 pp"), (0, "0.0 pp"), (None, "–")],
)
def test_points_format_share_difference(value, shown):
    assert format_points(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (True, "yes"),
        (False, "no"),
        (None, "no"),
        (float("nan"), "no"),
        ("", "no"),
        ("yes", "yes"),
    ],
)
def test_flag_reads_yes_or_no(value, shown):
    assert format_flag(value) == shown


def test_flag_column_shows_no_for_missing():
    frame = pd.DataFrame({"name": ["a", "b", "c"], "robust": [True, None, ""]})
    html = style_table(frame, flags=["robust"]).to_html()

    assert ">yes</td>" in html
    assert html.count(">no</td>") == 2


def test_text_keeps_runs_of_spaces():
    frame = pd.DataFrame({"stage": ["Closed  Won"], "rows": [3]})
    html = style_table(frame, counts=["rows"]).to_html()
    rules = dict(re.findall(r"_row0_(col\d) \{([^}]*)\}", html))

    assert ">Closed  Won</td>" in html
    assert "white-space: pre-wrap" in rules["col0"]
    assert "white-space: nowrap" in rules["col1"]


def money_frame(columns: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"channel": ["Call"], **{f"m{i}": [43123.0] for i in range(columns)}}
    )


def test_wide_table_is_compact():
    frame = money_frame(COMPACT_NUMERIC_COLUMNS)
    html = style_table(frame, money=list(frame.columns[1:]), caption="Credit.")
    html = html.to_html()

    assert 'class="acctlib-compact"' in html
    assert ">43,123</td>" in html
    assert "USD 43,123" not in html
    assert "Credit. Amounts in USD." in html
    assert "white-space: normal" in html


def test_narrow_table_keeps_currency():
    frame = money_frame(COMPACT_NUMERIC_COLUMNS - 1)
    html = style_table(frame, money=list(frame.columns[1:])).to_html()

    assert "acctlib-compact" not in html
    assert ">USD 43,123</td>" in html
    assert "Amounts in" not in html


def test_revenue_card_says_why_missing():
    headline = {
        "revenue_12m": None,
        "revenue_12m_missing_reason": "No revenue table in the source",
    }

    cards = {card["label"]: card["value"] for card in headline_cards(headline, "USD")}

    assert cards["Revenue, last 12 complete months"] == "No revenue table in the source"


@pytest.mark.parametrize(
    ("as_of", "label"),
    [
        ("2026-06-30", "Revenue, Jul 2025 to Jun 2026"),
        ("2026-06-15", "Revenue, Jun 2025 to May 2026"),
        ("2026-01-01", "Revenue, Jan 2025 to Dec 2025"),
        (None, "Revenue, last 12 complete months"),
    ],
)
def test_revenue_card_names_months(as_of, label):
    headline = {"revenue_12m": 1000.0, "revenue_12m_missing_reason": ""}

    cards = headline_cards(headline, "USD", as_of)

    assert cards[-1] == {"label": label, "value": "USD 1,000"}


def test_style_table_captions_empty_frame():
    frame = pd.DataFrame({"group": pd.Series(dtype=str), "deals": []})

    html = style_table(frame, counts=["deals"], caption="Deals per tier.").to_html()

    assert "No rows as of the report date. Deals per tier." in html


def test_style_table_rows_get_no_empty_caption():
    frame = pd.DataFrame({"group": ["Tier 1"], "deals": [3]})

    html = style_table(frame, counts=["deals"]).to_html()

    assert "No rows" not in html


@pytest.mark.parametrize(
    ("values", "total", "rounded"),
    [
        ([1000.5, 1000.5, 1000.5], 3001.5, [1001, 1001, 1000]),
        ([43_009_735.6, 54_864.4], 43_064_600.0, [43_009_736, 54_864]),
        ([43_009_735.5, 54_864.5], 43_064_601.0, [43_009_736, 54_865]),
        ([2.3, 0.7, 0.5, 0.5], 4.0, [2, 1, 1, 0]),
        ([300_000.4, -5_000.4], 295_000.0, [300_000, -5_000]),
        ([0.0, 0.0], 0.0, [0, 0]),
    ],
)
def test_round_to_total_adds_up(values, total, rounded):
    result = round_to_total(pd.Series(values), total)
    assert result.tolist() == rounded
    assert result.sum() == float(f"{total:.0f}")


def test_round_to_total_rejects_far_total():
    with pytest.raises(ValueError, match="within one unit per value"):
        round_to_total(pd.Series([1.0, 2.0]), 10.0)


@pytest.mark.parametrize(
    ("total", "decimals"), [(4.0, 2), (999.99, 2), (-5.0, 2), (1_000.0, 0)]
)
def test_amount_decimals_below_limit(total, decimals):
    assert amount_decimals(total) == decimals


def test_style_table_money_decimals():
    frame = pd.DataFrame({"amount": [0.5]})
    html = style_table(frame, money=["amount"], money_decimals=2).to_html()
    assert ">USD 0.50<" in html
