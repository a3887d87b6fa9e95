"""The Olist marketing-funnel profile on a small export and the real one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from acctlib.errors import InputError
from tests.conftest import DATASETS
from tests.intake.helpers import load

OLIST = DATASETS / "olist-marketing-funnel"
LEADS = (
    "mql_id,first_contact_date,landing_page_id,origin\n"
    "m1,2018-01-02,lp1,paid_search\n"
    "m2,2018-01-03,lp2,\n"
    "m3,2018-01-04,lp1,social\n"
)
DEALS = (
    "mql_id,seller_id,sdr_id,sr_id,won_date,business_segment,lead_type,"
    "lead_behaviour_profile,has_company,has_gtin,average_stock,business_type,"
    "declared_product_catalog_size,declared_monthly_revenue\n"
    "m1,s1,sdr1,sr1,2018-02-01 10:00:00,pet,online_medium,cat,,,,reseller,,1500.0\n"
    "m2,s2,sdr1,sr2,2018-01-01 09:00:00,car,industry,eagle,,,,reseller,,0.0\n"
)


LEAD_FILE = "olist_marketing_qualified_leads_dataset.csv"
DEAL_FILE = "olist_closed_deals_dataset.csv"
BRL = "report_currency=BRL"


def files() -> dict[str, str]:
    return {LEAD_FILE: LEADS, DEAL_FILE: DEALS}


def test_small_funnel_tables(tmp_path: Path) -> None:
    """Leads are accounts, closed deals won opportunities, origins first touches."""
    intake = load(tmp_path, files(), "olist", "report_currency=BRL")
    assert len(intake.tables["accounts"]) == 3
    deals = intake.tables["opportunities"].set_index("opportunity_id")
    # A 12-month contract, the default, at the declared 1,500 a month.
    assert deals.loc["m1", "amount"] == 18000.0
    assert deals.loc["m1", "amount_original"] == 18000.0
    assert deals.loc["m1", "currency"] == "BRL"
    assert deals.loc["m1", "owner"] == "sr1"
    assert pd.isna(deals.loc["m2", "amount"])
    touches = intake.tables["touchpoints"].set_index("touch_id")
    assert touches.loc["mql-m1", "channel"] == "paid_search"
    assert touches.loc["mql-m2", "channel"] == "unknown"
    assert touches.loc["sdr-m1", "function"] == "sdr"
    assert touches.loc["ae-m1", "function"] == "ae"
    findings = intake.extras["quality_findings"].set_index("check")["rows"]
    assert findings["won without amount"] == 1
    assert findings["closed before created"] == 1


def test_declared_revenue_spans_contract_months(tmp_path: Path) -> None:
    """A deal's amount is its declared monthly revenue over the contract length."""
    intake = load(tmp_path, files(), "olist", BRL, "default_contract_months=24")

    deals = intake.tables["opportunities"].set_index("opportunity_id")

    assert deals.loc["m1", "amount"] == 36000.0
    assert any("declared_monthly_revenue times 24" in note for note in intake.notes)


def rejected(intake, table: str) -> pd.DataFrame:
    frame = intake.quarantine.to_frame()
    return frame[frame["table"] == table].reset_index(drop=True)


def test_empty_rows_are_rejected_once(tmp_path: Path) -> None:
    """Rows of separators alone get one "empty row" reason per table row."""
    funnel = {LEAD_FILE: LEADS + ",,,\n", DEAL_FILE: DEALS + ",,,,,,,,,,,,,\n"}

    intake = load(tmp_path, funnel, "olist", BRL)

    frame = intake.quarantine.to_frame()
    assert set(frame["reason"]) == {"empty row"}
    rows = frame.groupby("table")["row"].agg(sorted).to_dict()
    # A deal row gives two touchpoints, the SDR's and the AE's.
    assert rows == {"accounts": [4], "opportunities": [3], "touchpoints": [3, 3, 4]}
    counts = intake.reconciliation().set_index("table")
    assert counts.loc["touchpoints", "rejected"] == 3
    assert counts["reconciled"].all()


def test_bad_lead_date_names_olist_column(tmp_path: Path) -> None:
    """A lead's invalid first_contact_date names that column in its reasons."""
    leads = LEADS.replace("m3,2018-01-04", "m3,soon")

    intake = load(tmp_path, {**files(), LEAD_FILE: leads}, "olist", BRL)

    for table, column in (("accounts", "created_at"), ("touchpoints", "occurred_at")):
        bad = rejected(intake, table)
        assert list(bad["row"]) == [3]
        assert bad["column"].iloc[0] == column
        label = f'column "first_contact_date" ({column}): '
        assert bad["reason"].iloc[0].startswith(label)


def test_bad_deal_cells_name_olist_columns(tmp_path: Path) -> None:
    """Invalid won_date and declared_monthly_revenue cells name those columns."""
    deals = DEALS.replace("2018-02-01 10:00:00", "later").replace(",0.0", ",lots")

    intake = load(tmp_path, {**files(), DEAL_FILE: deals}, "olist", BRL)

    bad = rejected(intake, "opportunities").set_index("row")
    assert bad.loc[1, "column"] == "close_date"
    # A won deal whose close date is blanked is rejected as undated.
    assert bad.loc[1, "reason"].startswith("won with the invalid close date 'later'")
    assert 'correct column "won_date" (close_date)' in bad.loc[1, "reason"]
    assert bad.loc[2, "column"] == "amount_original"
    assert bad.loc[2, "reason"].startswith(
        'column "declared_monthly_revenue" (amount_original): '
    )
    touches = rejected(intake, "touchpoints")
    assert list(touches["column"]) == ["occurred_at", "occurred_at"]
    for reason in touches["reason"]:
        assert reason.startswith('column "won_date" (occurred_at): ')
    # Both touches of the deal row count, so the table still reconciles.
    assert intake.reconciliation()["reconciled"].all()
    summary = intake.quarantine.summary().set_index("table")
    assert summary.loc["touchpoints", "rows"] == 2


def test_repeated_lead_names_mql_id(tmp_path: Path) -> None:
    """A lead listed twice is rejected as a duplicate mql_id."""
    leads = LEADS + "m1,2018-01-05,lp2,social\n"

    intake = load(tmp_path, {**files(), LEAD_FILE: leads}, "olist", BRL)

    bad = rejected(intake, "accounts")
    assert list(bad["row"]) == [4]
    assert (
        bad["reason"]
        .iloc[0]
        .startswith('duplicate value of column "mql_id" (account_id)')
    )


def test_usd_report_needs_rates(tmp_path: Path) -> None:
    """BRL amounts in a USD report stop intake with the currency count."""
    with pytest.raises(InputError, match=r"BRL \(1 row, first row 1\)"):
        load(tmp_path, files(), "olist")


@pytest.mark.realdata
@pytest.mark.skipif(not OLIST.is_dir(), reason="shared datasets absent")
def test_published_funnel_totals(tmp_path: Path) -> None:
    """Counts and declared revenue match totals computed from the CSVs."""
    from acctlib.intake import load_source
    from acctlib.params import resolve_params

    params = resolve_params(
        None,
        [
            "profile=olist",
            f"data_dir={OLIST}",
            "report_currency=BRL",
            "as_of=2018-12-31",
        ],
    )
    intake = load_source(params)
    leads = pd.read_csv(OLIST / "olist_marketing_qualified_leads_dataset.csv")
    deals = pd.read_csv(OLIST / "olist_closed_deals_dataset.csv")
    assert len(intake.tables["accounts"]) == len(leads) == 8000
    assert len(intake.tables["opportunities"]) == len(deals) == 842
    assert len(intake.tables["touchpoints"]) == len(leads) + 2 * len(deals)
    declared = deals["declared_monthly_revenue"]
    total = intake.tables["opportunities"]["amount"].sum()
    assert total == pytest.approx(12 * declared[declared > 0].sum())
    first = intake.tables["touchpoints"]
    first = first[first["function"] == "marketing"]["channel"].value_counts()
    expected = leads["origin"].fillna("unknown").value_counts()
    assert first.to_dict() == expected.to_dict()
    assert intake.reconciliation()["reconciled"].all()
    assert intake.quarantine.count() == 0
