"""Tests of the seeded sample CRM: contracts, file format and business shape."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from acctlib import schema
from acctlib.errors import ParameterError
from acctlib.params import load_declarations
from acctlib.sample import SAMPLE_END, generate_sample, write_sample
from acctlib.sample_deals import USD_PER_UNIT

SEED = 20260630
ACCOUNTS = 600
END = pd.Timestamp(SAMPLE_END)
NEXT_DAY_UTC = pd.Timestamp(SAMPLE_END + dt.timedelta(days=1), tz="UTC")
STAGE_MAP = load_declarations()["stage_map"].default
STAGE_ORDER = {name: entry["order"] for name, entry in STAGE_MAP.items()}
OPEN_STAGES = sorted(
    (name for name, entry in STAGE_MAP.items() if entry["category"] == "open"),
    key=STAGE_ORDER.get,
)
SALES_CHANNELS = {"outbound_email", "call", "meeting", "demo", "qbr"}
MARKETING_CHANNELS = {
    "paid_search",
    "paid_social",
    "organic_search",
    "webinar",
    "event",
    "email",
    "content_syndication",
    "review_site",
    "direct",
}


@pytest.fixture(scope="module")
def sample() -> dict[str, pd.DataFrame]:
    return generate_sample(seed=SEED, accounts=ACCOUNTS)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple:
    out_dir = tmp_path_factory.mktemp("sample")
    rows = write_sample(out_dir, seed=SEED, accounts=200)
    return out_dir, rows


def _date(timestamps: pd.Series) -> pd.Series:
    """Return the UTC calendar date of each timestamp as a naive midnight."""
    return timestamps.dt.tz_localize(None).dt.normalize()


def _cycle_days(opportunities: pd.DataFrame) -> pd.Series:
    return (opportunities["close_date"] - _date(opportunities["created_at"])).dt.days


def _touch_days(sample: dict[str, pd.DataFrame]) -> pd.DataFrame:
    touches = sample["touchpoints"]
    return pd.DataFrame(
        {"account_id": touches["account_id"], "day": _date(touches["occurred_at"])}
    )


def _touches_before(
    deals: pd.DataFrame, touch_days: pd.DataFrame, low: int, high: int
) -> int:
    """Count account touches from ``high`` to ``low`` days before each close date."""
    pairs = deals[["opportunity_id", "account_id", "close_date"]].merge(
        touch_days, on="account_id"
    )
    lag = (pairs["close_date"] - pairs["day"]).dt.days
    return int(((lag > low) & (lag <= high)).sum())


# Contract of the tables


@pytest.mark.parametrize("table", list(schema.TABLES))
def test_table_columns_and_dtypes(sample, table):
    frame = sample[table]
    spec = schema.TABLES[table]
    assert list(frame.columns) == spec.column_names
    for column in spec.columns:
        expected = pd.api.types.pandas_dtype(schema.pandas_dtype(column.kind))
        assert frame[column.name].dtype == expected, column.name
    assert len(frame) > 0
    schema.validate(table, frame)


@pytest.mark.parametrize(
    ("table", "keys"),
    [
        ("accounts", ["account_id"]),
        ("opportunities", ["opportunity_id"]),
        ("stage_history", ["opportunity_id", "entered_at"]),
        ("touchpoints", ["touch_id"]),
        ("revenue", ["account_id", "month"]),
        ("signals", ["account_id", "occurred_at"]),
    ],
)
def test_rows_sorted_by_key(sample, table, keys):
    frame = sample[table]
    ordered = frame.sort_values(keys, kind="stable", ignore_index=True)
    pd.testing.assert_frame_equal(frame, ordered)


@pytest.mark.parametrize(
    ("table", "keys"),
    [
        ("stage_history", ["opportunity_id", "entered_at"]),
        ("revenue", ["account_id", "month"]),
    ],
)
def test_composite_keys_unique(sample, table, keys):
    assert not sample[table].duplicated(keys).any()


@pytest.mark.parametrize(
    ("table", "column", "pattern"),
    [
        ("accounts", "account_id", r"A\d{6}"),
        ("opportunities", "opportunity_id", r"O\d{6}"),
        ("touchpoints", "touch_id", r"T\d{7}"),
        ("touchpoints", "contact_id", r"C\d{7}"),
    ],
)
def test_identifier_format(sample, table, column, pattern):
    values = sample[table][column].dropna()
    assert values.str.fullmatch(pattern).all()


def test_references_resolve(sample):
    account_ids = set(sample["accounts"]["account_id"])
    opportunity_ids = set(sample["opportunities"]["opportunity_id"])
    assert set(sample["opportunities"]["account_id"]) <= account_ids
    assert set(sample["touchpoints"]["account_id"]) <= account_ids
    assert set(sample["revenue"]["account_id"]) <= account_ids
    assert set(sample["signals"]["account_id"]) <= account_ids
    assert set(sample["stage_history"]["opportunity_id"]) == opportunity_ids


def test_parent_accounts_exist(sample):
    accounts = sample["accounts"]
    children = accounts.dropna(subset=["parent_account_id"])
    assert len(children) > 0
    assert set(children["parent_account_id"]) <= set(accounts["account_id"])
    assert (children["parent_account_id"] != children["account_id"]).all()


# Dates and the end date


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("accounts", "created_at"),
        ("opportunities", "created_at"),
        ("stage_history", "entered_at"),
        ("touchpoints", "occurred_at"),
        ("signals", "occurred_at"),
    ],
)
def test_no_timestamp_after_end_date(sample, table, column):
    assert sample[table][column].max() < NEXT_DAY_UTC


def test_no_revenue_month_after_end_date(sample):
    assert sample["revenue"]["month"].max() <= END
    assert (sample["revenue"]["month"].dt.day == 1).all()


def test_closed_deals_close_by_end_date(sample):
    opportunities = sample["opportunities"]
    closed = opportunities[opportunities["stage_category"] != "open"]
    assert closed["close_date"].max() <= END


def test_open_deals_expected_after_end_date(sample):
    opportunities = sample["opportunities"]
    open_deals = opportunities[opportunities["stage_category"] == "open"]
    assert (open_deals["close_date"] > END).all()


def test_opportunities_created_within_history(sample):
    created = sample["opportunities"]["created_at"]
    assert created.min() >= pd.Timestamp("2023-07-01", tz="UTC")


# Stage history


def test_history_starts_at_first_stage(sample):
    history = sample["stage_history"]
    first = history.groupby("opportunity_id").first()
    opportunities = sample["opportunities"].set_index("opportunity_id")
    assert (first["stage"] == OPEN_STAGES[0]).all()
    assert (first["entered_at"] == opportunities.loc[first.index, "created_at"]).all()


def test_history_advances_in_stage_order(sample):
    history = sample["stage_history"]
    order = history["stage"].map(STAGE_ORDER)
    steps = order.groupby(history["opportunity_id"]).diff().dropna()
    assert (steps > 0).all()
    entered = history["entered_at"].groupby(history["opportunity_id"]).diff().dropna()
    assert (entered > pd.Timedelta(0)).all()


def test_closed_deals_end_on_close_date(sample):
    history = sample["stage_history"]
    last = history.groupby("opportunity_id").last()
    opportunities = sample["opportunities"].set_index("opportunity_id")
    closed = opportunities[opportunities["stage_category"] != "open"]
    closing = last.loc[closed.index]
    expected = closed["stage_category"].map(
        {"won": "Closed Won", "lost": "Closed Lost"}
    )
    assert (closing["stage"] == expected).all()
    assert (_date(closing["entered_at"]) == closed["close_date"]).all()


def test_open_deals_have_open_last_stage(sample):
    history = sample["stage_history"]
    last = history.groupby("opportunity_id").last()
    opportunities = sample["opportunities"].set_index("opportunity_id")
    open_ids = opportunities.index[opportunities["stage_category"] == "open"]
    assert last.loc[open_ids, "stage"].isin(OPEN_STAGES).all()


def test_current_stage_matches_history(sample):
    last = sample["stage_history"].groupby("opportunity_id")["stage"].last()
    opportunities = sample["opportunities"].set_index("opportunity_id")
    stage = last.loc[opportunities.index]
    assert (opportunities["stage"] == stage).all()
    for field in ("probability", "forecast_category"):
        mapped = stage.map({name: entry[field] for name, entry in STAGE_MAP.items()})
        assert (opportunities[field] == mapped).all(), field
    category = stage.map({name: entry["category"] for name, entry in STAGE_MAP.items()})
    assert (opportunities["stage_category"] == category).all()


def test_lost_deals_drop_from_several_stages(sample):
    history = sample["stage_history"]
    opportunities = sample["opportunities"]
    lost_ids = opportunities.loc[
        opportunities["stage_category"] == "lost", "opportunity_id"
    ]
    lost_history = history[history["opportunity_id"].isin(lost_ids)]
    open_entries = lost_history[lost_history["stage"].isin(OPEN_STAGES)]
    reached = open_entries.groupby("opportunity_id")["stage"].last()
    shares = reached.value_counts(normalize=True)
    middle = OPEN_STAGES[1:-1]
    assert shares.get(OPEN_STAGES[0], 0) > 0.2
    assert shares.reindex(middle).fillna(0).sum() > 0.3


def test_every_type_and_category_present(sample):
    opportunities = sample["opportunities"]
    assert set(opportunities["type"]) == set(schema.OPPORTUNITY_TYPES)
    assert set(opportunities["stage_category"]) == set(schema.STAGE_CATEGORIES)


# Business shape: seasonality, deal sizes, cycles


def test_quarter_end_months_close_more_deals(sample):
    opportunities = sample["opportunities"]
    won = opportunities[opportunities["stage_category"] == "won"]
    quarter_end_share = won["close_date"].dt.month.isin([3, 6, 9, 12]).mean()
    assert quarter_end_share > 0.45


def test_fourth_quarter_closes_more_deals(sample):
    opportunities = sample["opportunities"]
    close = opportunities.loc[opportunities["stage_category"] == "won", "close_date"]
    quarter = close.dt.quarter
    years = [2023, 2024, 2025]
    fourth = sum(((quarter == 4) & (close.dt.year == year)).sum() for year in years)
    third = sum(((quarter == 3) & (close.dt.year == year)).sum() for year in years)
    next_first = sum(
        ((quarter == 1) & (close.dt.year == year + 1)).sum() for year in years
    )
    # Comparing with the quarters on both sides cancels a steady growth trend.
    assert fourth > 1.15 * (third + next_first) / 2


def test_won_amounts_have_long_tail(sample):
    opportunities = sample["opportunities"]
    amounts = opportunities.loc[opportunities["stage_category"] == "won", "amount"]
    ranked = amounts.sort_values(ascending=False)
    top_decile = ranked.iloc[: int(np.ceil(len(ranked) / 10))]
    assert top_decile.sum() / ranked.sum() > 0.35
    assert amounts.mean() > 1.5 * amounts.median()


def test_amounts_grow_with_company_size(sample):
    opportunities = sample["opportunities"]
    new_business = opportunities[opportunities["type"] == "new_business"]
    sized = new_business.merge(
        sample["accounts"][["account_id", "employees"]], on="account_id"
    )
    sized = sized.dropna(subset=["amount", "employees"])
    rho = stats.spearmanr(sized["amount"], sized["employees"].astype(float)).statistic
    assert rho > 0.3


def test_closed_cycles_within_range(sample):
    opportunities = sample["opportunities"]
    closed = opportunities[opportunities["stage_category"] != "open"]
    cycle = _cycle_days(closed)
    assert cycle.min() >= 30
    assert cycle.max() <= 270


def test_cycles_grow_with_amount(sample):
    opportunities = sample["opportunities"]
    won = opportunities[
        (opportunities["stage_category"] == "won")
        & (opportunities["type"] == "new_business")
    ]
    rho = stats.spearmanr(won["amount"], _cycle_days(won)).statistic
    assert rho > 0.2


# Engagement


def test_engagement_rises_before_win(sample):
    opportunities = sample["opportunities"]
    won = opportunities[
        (opportunities["stage_category"] == "won")
        & (opportunities["close_date"] >= pd.Timestamp("2024-01-01"))
    ]
    touch_days = _touch_days(sample)
    late = _touches_before(won, touch_days, 0, 60)
    early = _touches_before(won, touch_days, 120, 180)
    # Both windows are 60 days long, so the counts compare as touches per week.
    assert late > 1.5 * early


def test_engagement_fades_before_churn(sample):
    opportunities = sample["opportunities"]
    renewals = opportunities[opportunities["type"] == "renewal"]
    touch_days = _touch_days(sample)
    ratios = {}
    for category in ("won", "lost"):
        closed = renewals[renewals["stage_category"] == category]
        last = _touches_before(closed, touch_days, 0, 90)
        before = _touches_before(closed, touch_days, 180, 270)
        ratios[category] = last / before
    assert ratios["lost"] < 0.8
    assert ratios["won"] > 1.0


def test_marketing_touches_precede_new_business(sample):
    opportunities = sample["opportunities"]
    new_business = opportunities[opportunities["type"] == "new_business"]
    touches = sample["touchpoints"]
    marketing = touches[touches["function"] == "marketing"]
    pairs = new_business[["opportunity_id", "account_id", "created_at"]].merge(
        marketing[["account_id", "occurred_at"]], on="account_id"
    )
    lead = pairs["created_at"] - pairs["occurred_at"]
    sourced = pairs[(lead > pd.Timedelta(0)) & (lead <= pd.Timedelta(days=90))]
    assert sourced["opportunity_id"].nunique() / len(new_business) > 0.4


def test_closed_deals_have_touches_during_deal(sample):
    opportunities = sample["opportunities"]
    closed = opportunities[opportunities["stage_category"] != "open"]
    pairs = closed[["opportunity_id", "account_id", "created_at", "close_date"]].merge(
        _touch_days(sample), on="account_id"
    )
    during = pairs[
        (pairs["day"] >= _date(pairs["created_at"]))
        & (pairs["day"] <= pairs["close_date"])
    ]
    assert during["opportunity_id"].nunique() / len(closed) > 0.9


# Revenue and contracts


def test_first_month_revenue_matches_amount(sample):
    opportunities = sample["opportunities"]
    won = opportunities[
        (opportunities["type"] == "new_business")
        & (opportunities["stage_category"] == "won")
    ]
    first_month = won["close_date"].dt.to_period("M").dt.to_timestamp() + pd.DateOffset(
        months=1
    )
    won = won.assign(month=first_month)[lambda frame: frame["month"] <= END]
    joined = won.merge(
        sample["revenue"], on=["account_id", "month"], suffixes=("", "_month")
    )
    assert len(joined) == len(won)
    expected = (joined["amount"] / joined["contract_months"].astype(float)).round(2)
    assert np.allclose(joined["amount_month"], expected, atol=0.011)


def test_revenue_stops_after_lost_renewal(sample):
    opportunities = sample["opportunities"]
    lost = opportunities[
        (opportunities["type"] == "renewal")
        & (opportunities["stage_category"] == "lost")
    ]
    assert len(lost) > 5
    last_month = sample["revenue"].groupby("account_id")["month"].max()
    last_month = last_month.loc[lost["account_id"]].to_numpy()
    # A renewal opens at most 120 days before its term ends.
    term_end_bound = _date(lost["created_at"]) + pd.Timedelta(days=121)
    assert (last_month < term_end_bound.to_numpy()).all()


def test_churned_accounts_get_no_deals(sample):
    opportunities = sample["opportunities"]
    lost = opportunities[
        (opportunities["type"] == "renewal")
        & (opportunities["stage_category"] == "lost")
    ]
    later = opportunities.merge(
        lost[["account_id", "close_date"]], on="account_id", suffixes=("", "_churn")
    )
    later = later[later["created_at"].dt.tz_localize(None) > later["close_date_churn"]]
    assert later.empty


def test_revenue_months_are_consecutive(sample):
    months = sample["revenue"]["month"].dt.to_period("M")
    steps = months.groupby(sample["revenue"]["account_id"]).diff().dropna()
    assert (steps.map(lambda step: step.n) == 1).all()


def test_revenue_stops_only_after_churn(sample):
    opportunities = sample["opportunities"]
    lost = opportunities[
        (opportunities["type"] == "renewal")
        & (opportunities["stage_category"] == "lost")
    ]
    last_month = sample["revenue"].groupby("account_id")["month"].max()
    stopped = set(last_month.index[last_month < END.replace(day=1)])
    # A renewal opens at most 120 days before its term ends.
    term_ended = _date(lost["created_at"]) + pd.Timedelta(days=121) <= END.replace(
        day=1
    )
    assert len(stopped) > 5
    assert stopped <= set(lost["account_id"])
    assert set(lost.loc[term_ended, "account_id"]) <= stopped


def test_expansions_raise_revenue(sample):
    opportunities = sample["opportunities"]
    won = opportunities[
        (opportunities["type"] == "expansion")
        & (opportunities["stage_category"] == "won")
    ]
    close_month = won["close_date"].dt.to_period("M").dt.to_timestamp()
    revenue = sample["revenue"].set_index(["account_id", "month"])["amount"]
    before = revenue.reindex(list(zip(won["account_id"], close_month, strict=True)))
    after = revenue.reindex(
        list(zip(won["account_id"], close_month + pd.DateOffset(months=1), strict=True))
    )
    present = after.notna().to_numpy()
    assert present.sum() > 10
    rise = after.to_numpy()[present] - before.to_numpy()[present]
    monthly = (won["amount"] / won["contract_months"].astype(float)).to_numpy()[present]
    assert (rise >= monthly - 0.02).all()


def test_renewals_open_near_contract_end(sample):
    opportunities = sample["opportunities"]
    renewals = opportunities[opportunities["type"] == "renewal"]
    cycle = _cycle_days(renewals[renewals["stage_category"] != "open"])
    assert cycle.between(30, 125).all()


def test_currency_conversion_at_fixed_rates(sample):
    opportunities = sample["opportunities"].dropna(subset=["amount"])
    assert set(opportunities["currency"]) == {"USD", "EUR", "GBP"}
    assert (opportunities["currency"] == "USD").mean() > 0.7
    rate = opportunities["currency"].map(USD_PER_UNIT)
    expected = (opportunities["amount_original"] * rate).round(2)
    assert np.allclose(opportunities["amount"], expected, atol=0.005)


# Touchpoints, contacts and accounts


def test_touch_functions_and_channels(sample):
    touches = sample["touchpoints"]
    assert set(touches["function"]) == set(schema.FUNCTIONS)
    by_function = touches.groupby("function")["channel"].agg(set)
    assert by_function["marketing"] == MARKETING_CHANNELS
    assert by_function["partner"] == {"partner_referral"}
    for function in ("sdr", "ae", "se", "cs"):
        assert by_function[function] <= SALES_CHANNELS, function
    assert touches["function"].value_counts(normalize=True)["partner"] < 0.02


def test_touch_types_vocabulary(sample):
    touch_types = set(sample["touchpoints"]["touch_type"])
    for expected in (
        "email_click",
        "form_fill",
        "attended",
        "call_connected",
        "meeting_held",
    ):
        assert expected in touch_types


def test_campaign_names(sample):
    touches = sample["touchpoints"]
    named = touches["campaign"].dropna()
    assert named.str.match(r"\d{4}-Q[1-4] \S").all()
    sales = touches[touches["function"].isin(["sdr", "ae", "se", "cs"])]
    assert sales["campaign"].isna().mean() > 0.8
    unpaid = touches[touches["channel"].isin(["organic_search", "direct"])]
    assert unpaid["campaign"].isna().all()
    webinars = touches[touches["channel"] == "webinar"]
    assert webinars["campaign"].str.endswith("Webinar Series").all()


def test_contacts_belong_to_one_account(sample):
    touches = sample["touchpoints"].dropna(subset=["contact_id"])
    accounts_per_contact = touches.groupby("contact_id")["account_id"].nunique()
    assert (accounts_per_contact == 1).all()


def test_bigger_accounts_have_more_contacts(sample):
    touches = sample["touchpoints"]
    contacts = touches.groupby("account_id")["contact_id"].nunique()
    sized = sample["accounts"].set_index("account_id")["employees"].dropna()
    sized = sized[sized.index.isin(contacts.index)]
    assert contacts.median() >= 3
    rho = stats.spearmanr(contacts.loc[sized.index], sized.astype(float)).statistic
    assert rho > 0.2


def test_account_names_unique(sample):
    assert sample["accounts"]["name"].is_unique


def test_account_profile(sample):
    accounts = sample["accounts"]
    assert accounts["industry"].nunique() == 10
    assert accounts["region"].nunique() == 4
    assert (
        accounts.dropna(subset=["country"]).groupby("country")["region"].nunique().max()
        == 1
    )
    assert 0.10 < accounts["is_target"].mean() < 0.20
    assert 0.01 < accounts["owner"].isna().mean() < 0.15
    target_size = accounts.loc[accounts["is_target"], "employees"].median()
    other_size = accounts.loc[~accounts["is_target"], "employees"].median()
    assert target_size > other_size


# Signals


def test_signals_cover_customers(sample):
    signals = sample["signals"]
    assert set(signals["signal_type"]) == {"product_usage", "support_ticket"}
    assert set(signals["account_id"]) <= set(sample["revenue"]["account_id"])
    usage = signals[signals["signal_type"] == "product_usage"]
    assert len(usage) == len(sample["revenue"])
    tickets = signals[signals["signal_type"] == "support_ticket"]
    assert tickets["value"].isin([1.0, 2.0, 3.0, 4.0]).all()


def test_usage_falls_before_churn(sample):
    signals = sample["signals"]
    usage = signals[signals["signal_type"] == "product_usage"]
    usage = usage.assign(
        month=_date(usage["occurred_at"]).dt.to_period("M").dt.to_timestamp()
    ).merge(sample["revenue"], on=["account_id", "month"])
    # Users per dollar of monthly revenue, so expansions do not count as usage.
    usage["users_per_dollar"] = usage["value"] / usage["amount"]

    opportunities = sample["opportunities"]
    renewals = opportunities[
        (opportunities["type"] == "renewal")
        & (opportunities["stage_category"] != "open")
    ]
    pairs = renewals[["account_id", "close_date", "stage_category"]].merge(
        usage, on="account_id"
    )
    lag = (pairs["close_date"] - pairs["month"]).dt.days
    late = (
        pairs[(lag >= 0) & (lag < 90)]
        .groupby("stage_category")["users_per_dollar"]
        .mean()
    )
    early = (
        pairs[(lag >= 240) & (lag < 330)]
        .groupby("stage_category")["users_per_dollar"]
        .mean()
    )
    assert late["lost"] < 0.8 * early["lost"]
    assert late["won"] > 0.95 * early["won"]


# Files


def test_write_sample_files(written):
    out_dir, rows = written
    names = sorted(path.name for path in out_dir.iterdir())
    expected = sorted([f"{table}.csv" for table in schema.TABLES] + ["README.md"])
    assert names == expected
    for table, count in rows.items():
        lines = (out_dir / f"{table}.csv").read_text(encoding="utf-8").splitlines()
        assert lines[0] == ",".join(schema.TABLES[table].column_names)
        assert len(lines) - 1 == count, table


def test_readme_names_seed_and_end_date(written):
    out_dir, _ = written
    readme = (out_dir / "README.md").read_text(encoding="utf-8")
    assert str(SEED) in readme
    assert SAMPLE_END.isoformat() in readme
    assert "touchpoints.csv" in readme


@pytest.mark.parametrize(
    ("table", "column", "pattern"),
    [
        ("accounts", "created_at", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"),
        ("touchpoints", "occurred_at", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"),
        ("opportunities", "close_date", r"\d{4}-\d\d-\d\d"),
        ("revenue", "month", r"\d{4}-\d\d-01"),
        ("opportunities", "amount", r"(\d+\.\d\d)?"),
        ("revenue", "amount", r"\d+\.\d\d"),
        ("accounts", "annual_revenue", r"(\d+\.\d\d)?"),
        ("accounts", "is_target", r"true|false"),
        ("accounts", "employees", r"(\d+)?"),
        ("opportunities", "probability", r"0|1|0\.\d+"),
    ],
)
def test_csv_field_format(written, table, column, pattern):
    out_dir, _ = written
    text = pd.read_csv(
        out_dir / f"{table}.csv", dtype=str, keep_default_na=False, encoding="utf-8"
    )
    assert text[column].str.fullmatch(pattern).all()


def test_csv_missing_values_are_empty(written):
    out_dir, _ = written
    text = pd.read_csv(out_dir / "accounts.csv", dtype=str, keep_default_na=False)
    assert (text["parent_account_id"] == "").any()
    assert not text.isin(["nan", "NaN", "None", "<NA>", "NaT"]).any().any()


def test_csv_values_match_frames(written):
    out_dir, _ = written
    frames = generate_sample(seed=SEED, accounts=200)
    opportunities = pd.read_csv(out_dir / "opportunities.csv", keep_default_na=True)
    expected = frames["opportunities"]
    assert (opportunities["opportunity_id"] == expected["opportunity_id"]).all()
    assert np.allclose(opportunities["amount"], expected["amount"], equal_nan=True)
    created = pd.to_datetime(opportunities["created_at"], utc=True)
    assert (created.to_numpy() == expected["created_at"].to_numpy()).all()


def test_same_seed_same_bytes(tmp_path):
    first = _file_hashes(tmp_path / "first", seed=7)
    second = _file_hashes(tmp_path / "second", seed=7)
    assert first == second


def test_other_seed_other_bytes(tmp_path):
    first = _file_hashes(tmp_path / "first", seed=7)
    second = _file_hashes(tmp_path / "second", seed=8)
    for name in first:
        if name != "README.md":
            assert first[name] != second[name], name


def _file_hashes(out_dir, *, seed):
    write_sample(out_dir, seed=seed, accounts=150)
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out_dir.iterdir())
    }


def test_parquet_round_trip(tmp_path):
    rows = write_sample(tmp_path, seed=SEED, accounts=100, file_format="parquet")
    frames = generate_sample(seed=SEED, accounts=100)
    for table, frame in frames.items():
        stored = pd.read_parquet(tmp_path / f"{table}.parquet")
        assert len(stored) == rows[table]
        pd.testing.assert_frame_equal(stored, frame, check_dtype=True)


# Size and arguments


def test_default_size_counts(tmp_path):
    rows = write_sample(tmp_path)
    assert rows["accounts"] == 2000
    assert 4_800 <= rows["opportunities"] <= 7_200
    assert 240_000 <= rows["touchpoints"] <= 360_000
    assert rows["revenue"] > 0


def test_counts_scale_with_accounts():
    small = generate_sample(seed=SEED, accounts=300)
    large = generate_sample(seed=SEED, accounts=900)
    for table in ("opportunities", "touchpoints", "revenue"):
        ratio = len(large[table]) / len(small[table])
        assert 2.4 < ratio < 3.6, table


def test_touch_scale_thins_touchpoints_only():
    full = generate_sample(seed=SEED, accounts=300)
    thinned = generate_sample(seed=SEED, accounts=300, touch_scale=0.5)
    ratio = len(thinned["touchpoints"]) / len(full["touchpoints"])
    assert 0.45 < ratio < 0.55
    for table in ("accounts", "opportunities", "stage_history", "revenue"):
        pd.testing.assert_frame_equal(thinned[table], full[table], obj=table)
    shares = [
        tables["touchpoints"]["function"].value_counts(normalize=True)
        for tables in (full, thinned)
    ]
    assert (shares[0] - shares[1]).abs().max() < 0.02
    schema.validate("touchpoints", thinned["touchpoints"])


@pytest.mark.parametrize(("accounts", "months"), [(1, 36), (5, 1), (40, 3)])
def test_tiny_samples_are_valid(accounts, months):
    tables = generate_sample(seed=SEED, accounts=accounts, months=months)
    for table, frame in tables.items():
        assert list(frame.columns) == schema.TABLES[table].column_names
        schema.validate(table, frame)


def test_other_end_date_moves_history():
    tables = generate_sample(
        seed=SEED, accounts=100, end_date=dt.date(2025, 3, 15), months=12
    )
    end = pd.Timestamp("2025-03-16", tz="UTC")
    assert tables["touchpoints"]["occurred_at"].max() < end
    assert tables["opportunities"]["created_at"].min() >= pd.Timestamp(
        "2024-04-01", tz="UTC"
    )
    assert tables["revenue"]["month"].max() <= pd.Timestamp("2025-03-01")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"accounts": 0}, "invalid accounts 0"),
        ({"months": 0}, "invalid months 0"),
        ({"seed": -1}, "invalid seed -1"),
        ({"touch_scale": 0}, "invalid touch_scale 0"),
        ({"touch_scale": float("nan")}, "invalid touch_scale nan"),
        ({"touch_scale": "half"}, "invalid touch_scale 'half'"),
        ({"end_date": "2026-06-30"}, "invalid end_date"),
        ({"end_date": dt.datetime(2026, 6, 30)}, "invalid end_date"),
    ],
)
def test_invalid_arguments_rejected(arguments, message):
    with pytest.raises(ParameterError, match=message):
        generate_sample(**arguments)


def test_invalid_file_format_rejected(tmp_path):
    with pytest.raises(ParameterError, match="invalid file_format 'xlsx'"):
        write_sample(tmp_path, accounts=10, file_format="xlsx")
    assert not any(tmp_path.iterdir())
