"""Deals shared by several companies, credited per account by the split rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acctlib import accountmap, asof, schema
from acctlib.dealshares import (
    split_shared_cents,
    split_shared_cents_expr,
    split_shared_deals,
)
from acctlib.intake.hubspot import compute_account_amounts, compute_deal_companies
from acctlib.params import resolve_params
from acctlib.prepare import prepare_workspace
from tests.intake.helpers import load
from tests.intake.test_hubspot import hubspot_files

AS_OF = dt.date(2024, 12, 31)
DEALS = pd.DataFrame(
    {
        "opportunity_id": ["D1", "D2", "D3"],
        "account_id": ["9001", "9003", None],
        "amount": [50_000.0, 20_000.0, 10_000.0],
        "acv": [50_000.0, 20_000.0, 10_000.0],
        "stage": ["Closed Won", "Closed Won", "Closed Won"],
    }
)
COMPANIES = pd.Series([["9001", "9002"], ["9003"], []])


def deal_companies(rule: str) -> pd.DataFrame:
    return compute_deal_companies(DEALS["opportunity_id"], COMPANIES, rule)


def test_equal_split_rows():
    split = split_shared_deals(DEALS, deal_companies("equal"), ["amount", "acv"])

    rows = split.set_index(["opportunity_id", "account_id"], drop=False)
    assert rows["opportunity_id"].tolist() == ["D1", "D1", "D2", "D3"]
    assert rows.loc[("D1", "9001"), "amount"] == 25_000.0
    assert rows.loc[("D1", "9002"), "amount"] == 25_000.0
    assert rows.loc[("D1", "9002"), "acv"] == 25_000.0
    assert rows.loc[("D1", "9002"), "stage"] == "Closed Won"
    assert split["amount"].sum() == 80_000.0
    assert split.dtypes.to_dict() == DEALS.dtypes.to_dict()


def test_first_rule_leaves_deals_unchanged():
    split = split_shared_deals(DEALS, deal_companies("first"), ["amount", "acv"])

    pd.testing.assert_frame_equal(split, DEALS)


def test_no_links_leaves_deals_unchanged():
    assert split_shared_deals(DEALS, None, ["amount"]) is DEALS


def test_cents_split_exactly():
    credits = pd.DataFrame(
        {
            "opportunity_id": ["D1", "D1", "D2"],
            "account_id": ["9001", "9001", "9003"],
            "channel": ["email", "webinar", "email"],
            "credit_cents": pd.array([1001, 2, 500], dtype="int64"),
        }
    )
    links = pd.DataFrame(
        {
            "opportunity_id": ["D1", "D1", "D1"],
            "account_id": ["9002", "9001", "9004"],
            "share": [1 / 3, 1 / 3, 1 / 3],
        }
    )

    split = split_shared_cents(credits, links, "credit_cents")

    email = split[(split["opportunity_id"] == "D1") & (split["channel"] == "email")]
    assert email.set_index("account_id")["credit_cents"].to_dict() == {
        "9001": 334,
        "9002": 334,
        "9004": 333,
    }
    webinar = split[split["channel"] == "webinar"]
    assert webinar.set_index("account_id")["credit_cents"].to_dict() == {
        "9001": 1,
        "9002": 1,
        "9004": 0,
    }
    assert split.loc[split["opportunity_id"] == "D2", "credit_cents"].tolist() == [500]
    assert split["credit_cents"].dtype == "int64"


@settings(max_examples=200, deadline=None)
@given(
    cents=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=5),
    companies=st.integers(min_value=2, max_value=7),
)
def test_cents_split_keeps_totals(cents, companies):
    credits = pd.DataFrame(
        {
            "opportunity_id": ["D1"] * len(cents),
            "account_id": ["A0"] * len(cents),
            "row": range(len(cents)),
            "credit_cents": pd.array(cents, dtype="int64"),
        }
    )
    links = pd.DataFrame(
        {
            "opportunity_id": ["D1"] * companies,
            "account_id": [f"A{index}" for index in range(companies)],
            "share": [1 / companies] * companies,
        }
    )

    split = split_shared_cents(credits, links, "credit_cents")

    per_row = split.groupby("row")["credit_cents"].sum()
    assert per_row.tolist() == cents
    spread = split.groupby("row")["credit_cents"].agg(lambda s: s.max() - s.min())
    assert (spread <= 1).all()


@settings(max_examples=50, deadline=None)
@given(
    cents=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=4),
    shares=st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=4),
)
def test_engine_split_equals_pandas_split(cents, shares):
    """The engine split gives the pandas split's cents, ties included."""
    credits = pd.DataFrame(
        {
            "opportunity_id": ["D1"] * len(cents) + ["D2"],
            "account_id": ["A0"] * len(cents) + ["B0"],
            "row": [f"R{index}" for index in range(len(cents) + 1)],
            "credit_cents": pd.array([*cents, 300], dtype="int64"),
        }
    )
    links = pd.DataFrame(
        {
            "opportunity_id": "D1",
            # Reversed names check that ties go to the company sorting first.
            "account_id": [f"A{index}" for index in reversed(range(len(shares)))],
            "share": [share / max(sum(shares), 1) for share in shares],
        }
    )
    keys = ["opportunity_id", "row", "account_id"]
    expected = split_shared_cents(credits, links, "credit_cents")

    con = ibis.duckdb.connect()
    split = split_shared_cents_expr(
        con.create_table("credits", credits), links, "credit_cents", ["row"]
    )
    result = split.to_pandas()

    pd.testing.assert_frame_equal(
        result.sort_values(keys).reset_index(drop=True),
        expected.sort_values(keys).reset_index(drop=True),
        check_dtype=False,
    )


def test_engine_splits_each_cents_column_on_its_own():
    """Columns split together give the cents of each column split alone."""
    sums = pd.DataFrame(
        {
            "opportunity_id": ["D1", "D1", "D2"],
            "account_id": ["A0", "A0", "B0"],
            "row": ["R0", "R1", "R2"],
            "linear": pd.array([101, 7, 300], dtype="int64"),
            "first_touch": pd.array([100, 0, 300], dtype="int64"),
            "last_touch": pd.array([2, 105, 300], dtype="int64"),
        }
    )
    links = pd.DataFrame(
        {
            "opportunity_id": "D1",
            "account_id": ["A2", "A1", "A0"],
            "share": [0.5, 0.3, 0.2],
        }
    )
    models = ["linear", "first_touch", "last_touch"]
    keys = ["row", "account_id"]
    con = ibis.duckdb.connect()
    table = con.create_table("sums", sums)

    together = split_shared_cents_expr(table, links, models, ["row"]).to_pandas()
    together = together.sort_values(keys, ignore_index=True)

    assert len(together) == 7
    for model in models:
        alone = split_shared_cents_expr(table, links, model, ["row"]).to_pandas()
        alone = alone.sort_values(keys, ignore_index=True)
        assert together[model].tolist() == alone[model].tolist(), model
        per_row = together.groupby("row")[model].sum()
        assert per_row.tolist() == sums[model].tolist(), model


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("first", {"9001": 50_000, "9003": 20_000, schema.NO_ACCOUNT: 10_000}),
        (
            "equal",
            {
                "9001": 25_000,
                "9002": 25_000,
                "9003": 20_000,
                schema.NO_ACCOUNT: 10_000,
            },
        ),
    ],
)
def test_account_map_follows_split_rule(tmp_path: Path, rule, expected):
    intake = load(tmp_path, hubspot_files(), "hubspot", f"shared_deal_split={rule}")
    snapshot = asof.snapshot_opportunities(
        intake.tables["opportunities"],
        intake.tables["stage_history"],
        intake.stage_map,
        AS_OF,
        default_contract_months=12,
    )

    account_map = accountmap.compute_account_map(
        intake.tables["accounts"],
        snapshot,
        None,
        None,
        AS_OF,
        stage_map=intake.stage_map,
        deal_shares=intake.extras["deal_companies"],
    )

    tcv = account_map.set_index("account_id")["tcv"]
    assert {account: value for account, value in tcv.items() if value} == expected
    assert tcv.sum() == 80_000
    assert account_map["won_acv"].sum() == 80_000
    quality = compute_account_amounts(
        intake.tables["opportunities"], intake.extras["deal_companies"]
    ).set_index("account_id")["won_amount"]
    assert {account: value for account, value in quality.items() if value} == expected
    headline = accountmap.compute_headline(account_map, snapshot, None, AS_OF)
    assert headline["bookings_ytd"] == 80_000
    assert headline["won_acv"] == 80_000


@pytest.mark.slow
def test_prepared_tables_follow_equal_split(tmp_path: Path):
    """Account map, tiers and attribution credit split D1 between its companies."""
    files = hubspot_files()
    # A marketing email to 9002 before D1 was created sources D1 for 9002.
    files["engagements.csv"] += "E3,EMAIL,2023-12-20 08:00,9002,\n"
    intake = load(tmp_path, files, "hubspot", "shared_deal_split=equal")
    params = resolve_params(
        None,
        [
            f"data_dir={tmp_path / 'data'}",
            "profile=hubspot",
            "as_of=2024-12-31",
            "shared_deal_split=equal",
            f"work_dir={tmp_path / 'work'}",
        ],
    )
    workspace = tmp_path / "workspace.duckdb"

    prepare_workspace(intake, params, workspace)

    con = duckdb.connect(str(workspace), read_only=True)
    try:
        account_map = con.sql(
            "SELECT account_id, tcv, marketing_sourced FROM account_map"
        ).df()
        tiers = con.sql("SELECT account_id, value_amount FROM account_tiers").df()
        credits = con.sql(
            "SELECT model, account_id, SUM(credit_cents) AS cents "
            "FROM attribution_credits WHERE kind = 'revenue' GROUP BY ALL"
        ).df()
    finally:
        con.close()
    tcv = account_map.set_index("account_id")["tcv"]
    assert tcv["9001"] == 25_000
    assert tcv["9002"] == 25_000
    assert tcv.sum() == 80_000
    sourced = account_map.set_index("account_id")["marketing_sourced"]
    assert bool(sourced["9002"])
    assert not bool(sourced["9001"])
    value = tiers.set_index("account_id")["value_amount"]
    assert value["9001"] == 25_000
    assert value["9002"] == 25_000
    for model, rows in credits.groupby("model"):
        cents = rows.set_index(rows["account_id"].fillna(schema.NO_ACCOUNT))["cents"]
        assert cents["9001"] == 2_500_000, model
        assert cents["9002"] == 2_500_000, model
        assert cents.sum() == 8_000_000, model
