"""Tests for the Maven "CRM Sales Opportunities" adapter.

The synthetic tests write a few rows in the Maven layout. The real-data
tests read the published export next to the repository and skip when it is
absent. They compute expected values from the raw CSV files with the csv
module, independently of the adapter.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from acctlib.asof import snapshot_opportunities
from acctlib.errors import InputError, ParameterError
from acctlib.intake import Intake, load_source
from acctlib.params import PROJECT_ROOT, resolve_params

DATASET = PROJECT_ROOT.parent / "shared" / "datasets" / "maven-crm-sales-opportunities"
MAVEN_PARAMS = PROJECT_ROOT / "params" / "maven.yaml"

ACCOUNTS_CSV = """\
account,sector,year_established,revenue,employees,office_location,subsidiary_of
Acme,technolgy,1996,1.5,120,Philipines,
Beta,medical,2001,0.25,40,Kenya,Acme
"""
PRODUCTS_CSV = """\
product,series,sales_price
GTX Pro,GTX,4821
MG Special,MG,55
"""
SALES_TEAMS_CSV = """\
sales_agent,manager,regional_office
Ann Lee,Mia Chu,Central
Bob Ray,Mia Chu,East
"""
PIPELINE_CSV = """\
opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value
W1,Bob Ray,GTXPro,Acme,Won,2017-01-10,2017-02-01,4500
L1,Bob Ray,MG Special,Acme,Lost,2017-01-15,2017-03-01,0
E1,Bob Ray,GTXPro,,Engaging,2017-02-01,,
P1,Ann Lee,MG Special,Beta,Prospecting,,,
X1,Ann Lee,Widget,Acme,Engaging,2017-02-05,,
"""


def write_export(folder: Path, **overrides: str) -> Path:
    """Write the four Maven files with CRLF line endings into ``folder``.

    A keyword named after a file without ``.csv`` replaces that file's text.
    """
    files = {
        "accounts.csv": ACCOUNTS_CSV,
        "products.csv": PRODUCTS_CSV,
        "sales_teams.csv": SALES_TEAMS_CSV,
        "sales_pipeline.csv": PIPELINE_CSV,
    }
    for name, text in files.items():
        text = overrides.get(name.removesuffix(".csv"), text)
        (folder / name).write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    return folder


def load_export(folder: Path, *overrides: str) -> Intake:
    params = resolve_params(
        None, [f"data_dir={folder}", "profile=maven", "as_of=2017-03-31", *overrides]
    )
    return load_source(params)


def by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("opportunity_id")


@pytest.fixture
def synthetic(tmp_path: Path) -> Intake:
    return load_export(write_export(tmp_path))


def test_synthetic_rejects_nothing(synthetic: Intake) -> None:
    assert synthetic.quarantine.count() == 0
    assert len(synthetic.tables["opportunities"]) == 5
    assert len(synthetic.tables["accounts"]) == 2


def test_gtxpro_matches_list_price(synthetic: Intake) -> None:
    deals = by_id(synthetic.tables["opportunities"])
    assert deals.loc["E1", "amount"] == 4821.0
    assert deals.loc["E1", "name"] == "GTX Pro"
    assert deals.loc["W1", "name"] == "GTX Pro"
    assert any("'GTXPro' on 2 deals" in note for note in synthetic.notes)


def test_amount_by_stage(synthetic: Intake) -> None:
    deals = by_id(synthetic.tables["opportunities"])
    assert deals.loc["W1", "amount"] == 4500.0
    assert deals.loc["L1", "amount"] == 55.0
    assert deals.loc["P1", "amount"] == 55.0
    assert (deals["amount_original"].fillna(-1) == deals["amount"].fillna(-1)).all()
    assert (deals["currency"] == "USD").all()


def test_amount_open_is_list_price(synthetic: Intake) -> None:
    deals = by_id(synthetic.tables["opportunities"])
    assert deals.loc["W1", "amount_open"] == 4821.0
    assert deals.loc["L1", "amount_open"] == 55.0
    assert deals.loc["E1", "amount_open"] == 4821.0
    assert pd.isna(deals.loc["X1", "amount_open"])


def test_unmatched_product_has_no_amount(synthetic: Intake) -> None:
    deals = by_id(synthetic.tables["opportunities"])
    assert pd.isna(deals.loc["X1", "amount"])
    assert deals.loc["X1", "name"] == "Widget"
    assert any("('Widget') on 1 deal" in note for note in synthetic.notes)


def test_blank_account_stays_blank(synthetic: Intake) -> None:
    deals = by_id(synthetic.tables["opportunities"])
    assert pd.isna(deals.loc["E1", "account_id"])
    assert any("No account on 1 deal" in note for note in synthetic.notes)


def test_prospecting_created_on_export_date(synthetic: Intake) -> None:
    deals = by_id(synthetic.tables["opportunities"])
    export_date = pd.Timestamp("2017-03-01", tz="UTC")
    assert deals.loc["P1", "created_at"] == export_date
    assert bool(deals.loc["P1", "created_at_estimated"])
    assert not bool(deals.loc["E1", "created_at_estimated"])
    assert pd.isna(deals.loc["P1", "close_date"])
    assert deals.loc["E1", "created_at"] == pd.Timestamp("2017-02-01", tz="UTC")
    assert pd.isna(deals.loc["E1", "close_date"])
    assert deals.loc["L1", "close_date"] == pd.Timestamp("2017-03-01")
    assert any(
        "No engage_date on 1 deal (Prospecting: 1)" in note for note in synthetic.notes
    )


def test_stage_history_entries(synthetic: Intake) -> None:
    history = synthetic.tables["stage_history"]
    entries = {
        (row.opportunity_id, row.stage): row.entered_at for row in history.itertuples()
    }
    assert len(history) == 7
    assert entries[("W1", "Engaging")] == pd.Timestamp("2017-01-10", tz="UTC")
    assert entries[("W1", "Won")] == pd.Timestamp("2017-02-01", tz="UTC")
    assert entries[("L1", "Lost")] == pd.Timestamp("2017-03-01", tz="UTC")
    assert entries[("P1", "Prospecting")] == pd.Timestamp("2017-03-01", tz="UTC")
    assert ("P1", "Engaging") not in entries


def test_account_mapping(synthetic: Intake) -> None:
    accounts = synthetic.tables["accounts"].set_index("account_id")
    acme = accounts.loc["Acme"]
    assert acme["annual_revenue"] == 1_500_000.0
    assert acme["industry"] == "technology"
    assert acme["country"] == "Philippines"
    # X1 (Ann Lee, engaged 2017-02-05) is Acme's most recent deal.
    assert acme["owner"] == "Ann Lee"
    assert acme["region"] == "Central"
    assert acme["created_at"] == pd.Timestamp("2017-01-10", tz="UTC")
    assert accounts.loc["Beta", "parent_account_id"] == "Acme"


def test_undated_account_uses_export_date(synthetic: Intake) -> None:
    beta = synthetic.tables["accounts"].set_index("account_id").loc["Beta"]
    assert beta["created_at"] == pd.Timestamp("2017-03-01", tz="UTC")
    assert beta["owner"] == "Ann Lee"


def test_owner_tie_takes_greatest_id(tmp_path: Path) -> None:
    pipeline = PIPELINE_CSV + "Z9,Bob Ray,MG Special,Acme,Engaging,2017-02-05,,\n"
    intake = load_export(write_export(tmp_path, sales_pipeline=pipeline))
    acme = intake.tables["accounts"].set_index("account_id").loc["Acme"]
    assert acme["owner"] == "Bob Ray"
    assert acme["region"] == "East"


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    write_export(tmp_path)
    path = tmp_path / "accounts.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    intake = load_export(tmp_path)
    assert len(intake.tables["accounts"]) == 2


def test_short_row_stops(tmp_path: Path) -> None:
    """A Maven row cut short stops intake, as a row with extra fields does."""
    pipeline = PIPELINE_CSV.replace(
        "X1,Ann Lee,Widget,Acme,Engaging,2017-02-05,,", "X1,Ann Lee"
    )
    write_export(tmp_path, sales_pipeline=pipeline)

    with pytest.raises(InputError) as caught:
        load_export(tmp_path)

    message = str(caught.value)
    assert "sales_pipeline.csv: line 6 has 2 fields, but the header has 8" in message
    assert caught.value.file == str(tmp_path / "sales_pipeline.csv")


def test_invalid_date_is_rejected(tmp_path: Path) -> None:
    pipeline = PIPELINE_CSV.replace("2017-02-01,,", "2017-02-31,,")
    intake = load_export(write_export(tmp_path, sales_pipeline=pipeline))
    rejected = intake.quarantine.to_frame()
    opportunity_rows = rejected[rejected["table"] == "opportunities"]
    assert list(opportunity_rows["row"]) == [3]
    assert list(opportunity_rows["column"]) == ["created_at"]
    assert "E1" not in set(intake.tables["opportunities"]["opportunity_id"])


def rejected_reasons(intake: Intake, table: str) -> pd.DataFrame:
    frame = intake.quarantine.to_frame()
    frame = frame[frame["table"] == table]
    return frame[["row", "column", "reason"]].reset_index(drop=True)


def test_invalid_engage_date_names_column(tmp_path: Path) -> None:
    """An invalid engage_date names that column for the deal and its history."""
    pipeline = PIPELINE_CSV.replace("2017-02-01,,", "2017-02-31,,")
    intake = load_export(write_export(tmp_path, sales_pipeline=pipeline))

    deal = rejected_reasons(intake, "opportunities")
    assert list(deal["row"]) == [3]
    assert deal["reason"][0].startswith('column "engage_date" (created_at): ')
    history = rejected_reasons(intake, "stage_history")
    assert list(history["row"]) == [3]
    assert list(history["column"]) == ["entered_at"]
    assert history["reason"][0].startswith('column "engage_date" (entered_at): ')


def test_invalid_close_date_names_column(tmp_path: Path) -> None:
    """A Won deal's invalid close_date names it for the Won history entry."""
    pipeline = PIPELINE_CSV.replace("2017-02-01,4500", "2017-02-30,4500")
    intake = load_export(write_export(tmp_path, sales_pipeline=pipeline))

    history = rejected_reasons(intake, "stage_history")
    assert list(history["row"]) == [1, 1]
    assert list(history["column"]) == ["entered_at", "opportunity_id"]
    assert history["reason"][0].startswith('column "close_date" (entered_at): ')


@pytest.mark.parametrize("close_date", ["11.03.2017", "2017-02-30"])
def test_invalid_won_close_date_rejects_deal(tmp_path: Path, close_date: str) -> None:
    """A Won deal whose close_date cannot be read is rejected, not left open."""
    pipeline = PIPELINE_CSV.replace("2017-02-01,4500", f"{close_date},4500")
    intake = load_export(write_export(tmp_path, sales_pipeline=pipeline))

    assert "W1" not in set(intake.tables["opportunities"]["opportunity_id"])
    assert "W1" not in set(intake.tables["stage_history"]["opportunity_id"])
    rejected = intake.quarantine.to_frame()
    deal = rejected[rejected["table"] == "opportunities"].reset_index(drop=True)
    assert list(deal["row"]) == [1]
    assert list(deal["column"]) == ["close_date"]
    assert list(deal["value"]) == [close_date]
    assert list(deal["action"]) == ["row rejected"]
    assert deal["file"][0].endswith("sales_pipeline.csv")
    assert deal["reason"][0] == (
        f"won with the invalid close date {close_date!r} and no won or lost "
        "stage in its stage history, so the date it closed is unknown; "
        "correct close_date to a valid date"
    )
    assert intake.quarantine.count("opportunities") == 1
    assert intake.quarantine.count("stage_history") == 2
    history = rejected_reasons(intake, "stage_history")
    assert history["reason"][1].startswith(
        "derived from sales_pipeline.csv row 1, whose opportunities row is "
        "rejected: won with the invalid close date"
    )


def test_unmapped_stage_names_deal_stage(tmp_path: Path) -> None:
    """A deal_stage missing from the stage map is rejected under that name."""
    pipeline = PIPELINE_CSV.replace(",Engaging,2017-02-05", ",Pitching,2017-02-05")
    intake = load_export(write_export(tmp_path, sales_pipeline=pipeline))

    deal = rejected_reasons(intake, "opportunities")
    assert list(deal["row"]) == [5]
    assert deal["reason"][0].startswith(
        "column \"deal_stage\" (stage) 'Pitching' is not in the stage map"
    )


def test_bad_account_cells_name_columns(tmp_path: Path) -> None:
    """An invalid revenue and a repeated account name the Maven columns."""
    accounts = ACCOUNTS_CSV.replace(",0.25,", ",n/a,") + (
        "Acme,software,1999,2.0,10,Kenya,\n"
    )
    intake = load_export(write_export(tmp_path, accounts=accounts))

    rejected = rejected_reasons(intake, "accounts").set_index("row")
    assert rejected.loc[2, "column"] == "annual_revenue"
    assert rejected.loc[2, "reason"].startswith('column "revenue" (annual_revenue): ')
    assert rejected.loc[3, "reason"].startswith(
        'duplicate value of column "account" (account_id); first seen on row 1'
    )


def test_blank_lines_count_in_rows(tmp_path: Path) -> None:
    """A row's number counts the blank lines above it."""
    pipeline = PIPELINE_CSV.replace("2017-02-01,,", "2017-02-31,,")
    pipeline = pipeline.replace("\nL1,", "\n\nL1,").replace("\nE1,", "\n  \nE1,")
    intake = load_export(write_export(tmp_path, sales_pipeline=pipeline + "\n"))
    rejected = intake.quarantine.to_frame()
    opportunity_rows = rejected[rejected["table"] == "opportunities"]
    assert list(opportunity_rows["row"]) == [5]
    assert list(opportunity_rows["column"]) == ["created_at"]


def test_other_report_currency_raises(tmp_path: Path) -> None:
    write_export(tmp_path)
    with pytest.raises(ParameterError, match="report_currency is 'EUR'"):
        load_export(tmp_path, "report_currency=EUR")


def test_missing_source_column_raises(tmp_path: Path) -> None:
    pipeline = PIPELINE_CSV.replace("deal_stage", "stage", 1)
    write_export(tmp_path, sales_pipeline=pipeline)
    with pytest.raises(InputError, match="column 'deal_stage' is missing"):
        load_export(tmp_path)


def test_misspelt_column_names_closest(tmp_path: Path) -> None:
    pipeline = PIPELINE_CSV.replace("close_value", "Close Value", 1)
    write_export(tmp_path, sales_pipeline=pipeline)

    with pytest.raises(InputError) as caught:
        load_export(tmp_path)

    message = str(caught.value)
    assert "column 'close_value' is missing" in message
    assert "The closest header is 'Close Value': rename it to 'close_value'" in message
    assert caught.value.column == "close_value"


def test_missing_column_without_close_header(tmp_path: Path) -> None:
    pipeline = PIPELINE_CSV.replace(",close_value", ",amount_usd", 1)
    write_export(tmp_path, sales_pipeline=pipeline)

    with pytest.raises(InputError) as caught:
        load_export(tmp_path)

    assert "closest header" not in str(caught.value)


def test_repeated_product_raises(tmp_path: Path) -> None:
    products = PRODUCTS_CSV + "GTXPro,GTX,4900\n"
    write_export(tmp_path, products=products)
    with pytest.raises(InputError, match="appears more than once"):
        load_export(tmp_path)


def test_inputs_fingerprint_every_file(synthetic: Intake) -> None:
    rows = {Path(item.path).name: item.rows for item in synthetic.inputs}
    assert rows == {
        "accounts.csv": 2,
        "products.csv": 2,
        "sales_teams.csv": 2,
        "sales_pipeline.csv": 5,
    }
    assert all(len(item.sha256) == 64 for item in synthetic.inputs)


def read_rows(name: str) -> list[dict[str, str]]:
    with (DATASET / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def published() -> Intake:
    params = resolve_params(MAVEN_PARAMS, [f"data_dir={DATASET}"])
    return load_source(params)


@pytest.fixture(scope="module")
def pipeline_rows() -> list[dict[str, str]]:
    return read_rows("sales_pipeline.csv")


needs_dataset = pytest.mark.skipif(
    not DATASET.is_dir(), reason=f"Maven export not found at {DATASET}"
)


@pytest.mark.realdata
@needs_dataset
def test_published_row_counts(
    published: Intake, pipeline_rows: list[dict[str, str]]
) -> None:
    accounts = read_rows("accounts.csv")
    assert len(accounts) == 85
    assert len(published.tables["accounts"]) == len(accounts)
    assert len(pipeline_rows) == 8_800
    assert len(published.tables["opportunities"]) == len(pipeline_rows)
    assert published.quarantine.count() == 0


@pytest.mark.realdata
@needs_dataset
def test_published_won_deals(
    published: Intake, pipeline_rows: list[dict[str, str]]
) -> None:
    won = [row for row in pipeline_rows if row["deal_stage"] == "Won"]
    expected_total = sum(Decimal(row["close_value"]) for row in won)
    deals = published.tables["opportunities"]
    won_deals = deals[deals["stage_category"] == "won"]
    assert len(won) == 4_238
    assert expected_total == Decimal(10_005_534)
    assert len(won_deals) == len(won)
    assert won_deals["amount"].sum() == pytest.approx(float(expected_total))


@pytest.mark.realdata
@needs_dataset
def test_published_open_deals(
    published: Intake, pipeline_rows: list[dict[str, str]]
) -> None:
    open_rows = [
        row for row in pipeline_rows if row["deal_stage"] in ("Prospecting", "Engaging")
    ]
    no_account = [row for row in pipeline_rows if row["account"].strip() == ""]
    deals = published.tables["opportunities"]
    assert len(open_rows) == 2_089
    assert (deals["stage_category"] == "open").sum() == len(open_rows)
    assert len(no_account) == 1_425
    assert deals["account_id"].isna().sum() == len(no_account)


@pytest.mark.realdata
@needs_dataset
def test_published_list_prices(
    published: Intake, pipeline_rows: list[dict[str, str]]
) -> None:
    prices = {
        row["product"].replace(" ", "").lower(): Decimal(row["sales_price"])
        for row in read_rows("products.csv")
    }
    not_won = [row for row in pipeline_rows if row["deal_stage"] != "Won"]
    expected = sum(prices[row["product"].replace(" ", "").lower()] for row in not_won)
    deals = published.tables["opportunities"]
    priced = deals[deals["stage"] != "Won"]
    assert priced["amount"].notna().all()
    assert priced["amount"].sum() == pytest.approx(float(expected))


@pytest.mark.realdata
@needs_dataset
def test_published_past_pipeline_at_list_price(published: Intake) -> None:
    """On 2017-11-30, deals won in December still count at list price.

    5,096,663 is the list price sum of the deals engaged by 2017-11-30 and
    not closed by then, computed from the raw files. Their final amounts
    sum to 5,094,772.
    """
    snapshot = snapshot_opportunities(
        published.tables["opportunities"],
        published.tables["stage_history"],
        published.stage_map,
        dt.date(2017, 11, 30),
    )
    open_deals = snapshot[snapshot["is_open"]]
    assert open_deals["amount"].sum() == pytest.approx(5_096_663.0)


@pytest.mark.realdata
@needs_dataset
def test_published_export_date(
    published: Intake, pipeline_rows: list[dict[str, str]]
) -> None:
    dates = [
        row[column]
        for row in pipeline_rows
        for column in ("engage_date", "close_date")
        if row[column]
    ]
    export_date = pd.Timestamp(max(dates), tz="UTC")
    undated = {row["opportunity_id"] for row in pipeline_rows if not row["engage_date"]}
    deals = by_id(published.tables["opportunities"])
    assert export_date == pd.Timestamp("2017-12-31", tz="UTC")
    assert len(undated) == 500
    assert (deals.loc[sorted(undated), "stage"] == "Prospecting").all()
    assert (deals.loc[sorted(undated), "created_at"] == export_date).all()
    assert any("No engage_date on 500 deals" in note for note in published.notes)


@pytest.mark.realdata
@needs_dataset
def test_published_stage_history(
    published: Intake, pipeline_rows: list[dict[str, str]]
) -> None:
    stages = [row["deal_stage"] for row in pipeline_rows]
    expected = (
        stages.count("Prospecting")
        + stages.count("Engaging")
        + 2 * stages.count("Won")
        + 2 * stages.count("Lost")
    )
    assert expected == 15_511
    assert len(published.tables["stage_history"]) == expected


@pytest.mark.realdata
@needs_dataset
def test_published_accounts(published: Intake) -> None:
    accounts = published.tables["accounts"].set_index("account_id")
    agents = {row["sales_agent"] for row in read_rows("sales_teams.csv")}
    assert accounts.loc["Acme Corporation", "annual_revenue"] == 1_100_040_000.0
    assert accounts["owner"].isin(agents).all()
    assert accounts["region"].notna().all()
    assert accounts["created_at"].max() < pd.Timestamp("2017-12-31", tz="UTC")


def test_region_source_reaches_intake(synthetic: Intake) -> None:
    """The bundled profile states how the adapter derives an account's region."""
    region = synthetic.column_sources["accounts"]["region"]

    assert region.startswith("the regional office (sales_teams.csv)")
    assert "most recent deal" in region
    assert "\n" not in region


def test_bad_close_value_recorded_once(tmp_path: Path) -> None:
    """An invalid close_value is one blanked cell, named after close_value."""
    pipeline = PIPELINE_CSV.replace("2017-02-01,4500", "2017-02-01,12x4")
    intake = load_export(write_export(tmp_path, sales_pipeline=pipeline))

    blanked = rejected_reasons(intake, "opportunities")
    assert list(blanked["row"]) == [1]
    assert list(blanked["column"]) == ["amount"]
    assert blanked["reason"][0].startswith('column "close_value" (amount): ')
    assert intake.quarantine.count_blanked() == 1
    won = by_id(intake.tables["opportunities"]).loc["W1"]
    assert pd.isna(won["amount"])
    assert pd.isna(won["amount_original"])


def test_invalid_list_price_raises(tmp_path: Path) -> None:
    """A price list entry that is not a number names its file, row and cell."""
    products = PRODUCTS_CSV.replace("MG,55", "MG,55x")
    write_export(tmp_path, products=products)
    with pytest.raises(InputError, match="row 2, column sales_price") as error:
        load_export(tmp_path)
    assert "'55x'" in str(error.value)
    assert "products.csv" in str(error.value)
