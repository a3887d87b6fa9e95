"""Tables of the account map and executive summary on a small account map."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd

from acctlib import views


def _workspace(
    account_map: pd.DataFrame,
    source_tables: list[str] | None = None,
    snapshot: pd.DataFrame | None = None,
    headline: dict | None = None,
) -> SimpleNamespace:
    tables = {"account_map": account_map}
    if snapshot is not None:
        tables["opportunity_snapshot"] = snapshot
    return SimpleNamespace(
        table=tables.__getitem__,
        has_table=tables.__contains__,
        params={"top_accounts": 2},
        currency="USD",
        info={"tables": source_tables or ["accounts", "revenue", "touchpoints"]},
        headline=headline or {},
    )


def top_accounts_map(open_acv: list[float], value: list[float]) -> pd.DataFrame:
    """Return an account map of customer A1 and open-opportunity account A2."""
    return pd.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "name": ["Acme", "Beta"],
            "industry": ["Retail", "Energy"],
            "region": ["EMEA", "AMER"],
            "owner": ["Ana", "Luis"],
            "status": ["customer", "open_opportunity"],
            "won_acv": [1000.0, 0.0],
            "open_acv": open_acv,
            "most_advanced_stage": ["Proposal", "Discovery"],
            "value": value,
        }
    )


def test_top_accounts_header_names_open_acv():
    account_map = top_accounts_map([500.0, 2000.0], [1500.0, 2000.0])
    html = views.top_accounts_table(_workspace(account_map)).data

    assert ">Won + open ACV</th>" in html
    assert ">Value</th>" not in html


def test_top_accounts_explain_value_measures():
    """Open ACV is marked annualised and a note explains how the measures differ."""
    account_map = top_accounts_map([500.0, 2000.0], [1500.0, 2000.0])
    html = views.top_accounts_table(_workspace(account_map)).data

    assert ">Open ACV (annualised)</th>" in html
    assert html.startswith(views.value_measures_note().data)


def _customer_map() -> pd.DataFrame:
    """Return customers whose open pipeline and value rank them differently."""
    frame = top_accounts_map([500.0, 2000.0], [1500.0, 2000.0])
    return frame.assign(
        status="customer",
        open_pipeline=[900.0, 100.0],
        revenue_12m=[10.0, 20.0],
        lifetime_revenue=[30.0, 40.0],
        marketing_touches_90d=[1, 2],
    )


def test_customer_list_shows_ranking_column():
    ws = SimpleNamespace(**vars(_workspace(_customer_map())))
    ws.params = {"influence_window_days": 90}

    html = views.account_list(ws, "customer").data

    assert ">Won + open ACV</th>" in html
    assert ">Open pipeline (deal amounts)</th>" in html
    assert html.index("Beta") < html.index("Acme")
    assert ">USD 2,000</td>" in html
    assert html.startswith(views.value_measures_note().data)


def test_list_shows_lifetime_revenue_rank():
    ws = SimpleNamespace(**vars(_workspace(_customer_map())))
    ws.params = {"influence_window_days": 90}

    html = views.account_list(ws, "customer", sort="lifetime_revenue").to_html()

    assert ">Lifetime revenue</th>" in html
    assert ">Won + open ACV</th>" not in html
    assert views.value_measures_note().data not in html


def test_top_accounts_show_missing_acv():
    """An account whose open deals lack amounts shows the missing marker."""
    nan = float("nan")
    account_map = top_accounts_map([500.0, nan], [1500.0, nan])
    html = views.top_accounts_table(_workspace(account_map)).data

    assert "USD 0<" in html
    assert html.count(">–<") == 2
    assert "USD 1,500<" in html


def test_status_table_sums_known_amounts():
    """Status sums count known amounts and stay missing when none is known."""
    nan = float("nan")
    account_map = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3"],
            "status": ["open_opportunity", "open_opportunity", "lost"],
            "open_pipeline": [nan, 200.0, nan],
            "won_acv": [0.0, 0.0, nan],
        }
    )
    frame = views.status_table(_workspace(account_map)).data.set_index("status")

    assert frame.loc["Open opportunity", "open_pipeline"] == 200.0
    assert pd.isna(frame.loc["Lost", "open_pipeline"])
    assert pd.isna(frame.loc["Lost", "won_acv"])
    assert frame.loc["Prospect", "open_pipeline"] == 0.0
    assert frame.loc["Customer", "won_acv"] == 0.0


def test_segment_table_sums_known_amounts():
    nan = float("nan")
    account_map = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3"],
            "status": ["open_opportunity", "open_opportunity", "lost"],
            "region": ["EMEA", "EMEA", "AMER"],
            "open_pipeline": [nan, 200.0, nan],
            "won_acv": [0.0, 0.0, 0.0],
            "revenue_12m": [0.0, 0.0, 0.0],
        }
    )
    frame = views.segment_table(_workspace(account_map), "region").data
    frame = frame.set_index("segment")

    assert frame.loc["EMEA", "open_pipeline"] == 200.0
    assert pd.isna(frame.loc["AMER", "open_pipeline"])


def test_acv_note_says_short_contracts_annualised():
    workspace = SimpleNamespace(params={"default_contract_months": 24})
    text = views.acv_note(workspace).data

    assert "amount times 12 divided by its length in months" in text
    assert "a contract shorter than a year is scaled up to a full year" in text
    assert "Deals without a contract length count as 24 months." in text


def test_segment_tables_say_amounts_rounded():
    account_map = pd.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "status": ["customer", "open_opportunity"],
            "region": ["EMEA", "AMER"],
            "open_pipeline": [0.6, 0.6],
            "won_acv": [0.0, 0.0],
            "revenue_12m": [0.0, 0.0],
        }
    )
    ws = _workspace(account_map)

    for table in (views.status_table(ws), views.segment_table(ws, "region")):
        html = table.to_html()
        assert "Amounts are rounded to whole units" in html
        assert "USD 1<" in html


def test_segment_revenue_missing_without_revenue():
    account_map = pd.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "status": ["customer", "open_opportunity"],
            "region": ["EMEA", "AMER"],
            "open_pipeline": [0.0, 10.0],
            "won_acv": [5.0, 0.0],
            "revenue_12m": [float("nan"), float("nan")],
        }
    )
    frame = views.segment_table(_workspace(account_map), "region").data

    assert frame["revenue_12m"].isna().all()


def test_influence_note_without_touchpoints():
    account_map = pd.DataFrame({"account_id": ["A1"], "status": ["customer"]})
    ws = _workspace(account_map, source_tables=["accounts", "opportunities"])

    text = views.influence_table(ws).data

    assert "The source has no touchpoints table" in text


def test_intake_table_shows_merged_rows():
    counts = pd.DataFrame(
        {
            "table": ["stage_history"],
            "read": [14],
            "accepted": [10],
            "merged": [1],
            "rejected": [3],
        }
    )
    workspace = SimpleNamespace(table={"intake_counts": counts}.__getitem__)

    html = views.intake_table(workspace).to_html()

    assert ">Stage history<" in html
    assert "stage_history" not in html

    assert ">Merged</th>" in html
    assert html.index(">Accepted</th>") < html.index(">Rejected</th>")
    assert html.index(">Rejected</th>") < html.index(">Merged</th>")


def _unpriced_deal_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return an account map and snapshot with one open deal without an amount."""
    nan = float("nan")
    account_map = pd.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "status": ["open_opportunity", "open_opportunity"],
            "region": ["EMEA", "EMEA"],
            "open_pipeline": [nan, 200.0],
            "won_acv": [0.0, 0.0],
            "revenue_12m": [0.0, 0.0],
        }
    )
    snapshot = pd.DataFrame(
        {
            "is_open": [True, True, False],
            "is_won": [False, False, False],
            "amount": [nan, 200.0, nan],
        }
    )
    return account_map, snapshot


def test_sum_tables_count_deals_without_amount():
    account_map, snapshot = _unpriced_deal_tables()
    ws = _workspace(account_map, snapshot=snapshot)

    for table in (views.status_table(ws), views.segment_table(ws, "region")):
        html = table.to_html()
        assert "The sums leave out 1 open or won deal without an amount" in html
        assert "(see Data quality)" in html


def test_sliced_sum_tables_name_company_counts():
    # The data-quality findings are not filtered to the slice, so their
    # count of deals without an amount is the company's.
    account_map, snapshot = _unpriced_deal_tables()
    headline = {"slice": "team east"}
    ws = _workspace(account_map, snapshot=snapshot, headline=headline)

    for table in (views.status_table(ws), views.segment_table(ws, "region")):
        html = table.to_html()
        assert "The sums leave out 1 open or won deal without an amount" in html
        assert "Data quality counts such deals for the whole company" in html


def test_segment_table_names_region_source():
    account_map = pd.DataFrame(
        {
            "account_id": ["A1"],
            "status": ["customer"],
            "region": ["East"],
            "open_pipeline": [0.0],
            "won_acv": [10.0],
            "revenue_12m": [0.0],
        }
    )
    ws = _workspace(account_map)
    ws.info["column_sources"] = {
        "accounts": {"region": "the <b>office</b> of the agent"}
    }

    region = views.segment_table(ws, "region").to_html()
    industry_ws = _workspace(account_map.assign(industry="Retail"))
    industry = views.segment_table(industry_ws, "industry").to_html()

    assert "Region is the &lt;b&gt;office&lt;/b&gt; of the agent." in region
    assert "Each account counts in one region" in region
    assert "Industry is the industry field of the account's record." in industry


def test_concentration_note_names_deal():
    account_map = pd.DataFrame({"account_id": ["A1", "A2"], "name": ["Acme", "Beta"]})
    snapshot = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3"],
            "name": ["Big renewal", None, None],
            "account_id": ["A1", "A2", "A9"],
            "is_won": [True, True, False],
            "is_open": [False, False, True],
            "closed_on": pd.to_datetime(["2026-03-01", "2026-04-01", None]),
            "amount": [600_000_000.0, 140_000_000.0, 5_000.0],
        }
    )
    ws = _workspace(account_map, snapshot=snapshot)
    ws.as_of = dt.date(2026, 6, 30)

    notes = [block.data for block in views.concentration_notes(ws)]

    assert notes == [
        '<p class="acctlib-note">One deal is 81% of bookings year to date: deal '
        "O1 (Big renewal) of Acme at USD 600,000,000 of USD 740,000,000. Check "
        "its amount, because this figure moves with that deal alone.</p>",
        '<p class="acctlib-note">One deal is 100% of the open pipeline: deal O3 '
        "of account A9 at USD 5,000 of USD 5,000. Check its amount, because "
        "this figure moves with that deal alone.</p>",
    ]


def test_concentration_notes_empty_when_spread():
    account_map = pd.DataFrame({"account_id": ["A1"], "name": ["Acme"]})
    snapshot = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2"],
            "name": [None, None],
            "account_id": ["A1", "A1"],
            "is_won": [True, True],
            "is_open": [False, False],
            "closed_on": pd.to_datetime(["2026-03-01", "2026-04-01"]),
            "amount": [100.0, 100.0],
        }
    )
    ws = _workspace(account_map, snapshot=snapshot)
    ws.as_of = dt.date(2026, 6, 30)

    assert views.concentration_notes(ws) == []
