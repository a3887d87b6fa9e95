"""Health on the RavenStack SaaS dataset, with usage and tickets as signals.

Subscriptions become won opportunities (ARR as amount, the subscription's
length as contract months), feature usage becomes ``product_usage``
signals and support tickets become ``support_ticket`` signals. The source
has no touchpoints, so engagement components are missing and health rests
on usage, support and deal data.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from acctlib import accountstate, engine, healthvalidation, schema
from acctlib.health import COMPONENTS
from acctlib.intake import Intake
from acctlib.intake.quarantine import Quarantine
from acctlib.params import resolve_params
from acctlib.prepare import PrepareContext
from tests.conftest import DATASETS

RAVENSTACK = DATASETS / "ravenstack-saas-churn"
AS_OF = dt.date(2024, 9, 30)

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        not RAVENSTACK.is_dir(), reason=f"dataset folder {RAVENSTACK} absent"
    ),
]


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(RAVENSTACK / f"ravenstack_{name}.csv", dtype=str)


def utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True).astype(schema.TIMESTAMP)


def load_tables() -> dict[str, pd.DataFrame]:
    """Map the RavenStack files onto canonical accounts, opportunities and signals."""
    raw_accounts = read("accounts")
    accounts = schema.empty_frame("accounts").reindex(range(len(raw_accounts)))
    accounts["account_id"] = raw_accounts["account_id"]
    accounts["name"] = raw_accounts["account_name"]
    accounts["industry"] = raw_accounts["industry"]
    accounts["country"] = raw_accounts["country"]
    accounts["created_at"] = utc(raw_accounts["signup_date"])
    accounts["is_target"] = False

    subscriptions = read("subscriptions")
    start = pd.to_datetime(subscriptions["start_date"])
    end = pd.to_datetime(subscriptions["end_date"]).fillna(pd.Timestamp("2030-01-01"))
    months = np.maximum(1, ((end - start).dt.days / 30.44).round()).astype("int64")
    opportunities = schema.empty_frame("opportunities").reindex(
        range(len(subscriptions))
    )
    opportunities["opportunity_id"] = subscriptions["subscription_id"]
    opportunities["account_id"] = subscriptions["account_id"]
    opportunities["type"] = "new_business"
    opportunities["stage"] = "Closed Won"
    opportunities["stage_category"] = "won"
    opportunities["amount"] = subscriptions["arr_amount"].astype(float)
    opportunities["created_at"] = utc(subscriptions["start_date"])
    opportunities["close_date"] = start.astype(schema.DATE)
    opportunities["contract_months"] = pd.array(months, dtype="Int64")

    usage = read("feature_usage").merge(
        subscriptions[["subscription_id", "account_id"]], on="subscription_id"
    )
    tickets = read("support_tickets")
    signals = pd.concat(
        [
            pd.DataFrame(
                {
                    "account_id": usage["account_id"],
                    "occurred_at": utc(usage["usage_date"]),
                    "signal_type": "product_usage",
                    "value": usage["usage_count"].astype(float),
                }
            ),
            pd.DataFrame(
                {
                    "account_id": tickets["account_id"],
                    "occurred_at": utc(tickets["submitted_at"]),
                    "signal_type": "support_ticket",
                    "value": 1.0,
                }
            ),
        ],
        ignore_index=True,
    )
    return {"accounts": accounts, "opportunities": opportunities, "signals": signals}


@pytest.fixture(scope="module")
def ravenstack_state():
    tables = load_tables()
    params = resolve_params(None, [f"as_of={AS_OF.isoformat()}"])
    con = engine.connect()
    for name, frame in tables.items():
        engine.write_table(con, name, frame)
    intake = Intake(
        tables=tables, quarantine=Quarantine(), inputs=[], stage_map=params["stage_map"]
    )
    context = PrepareContext(con=con, intake=intake, params=params)
    return tables, accountstate.compute_account_state(context, AS_OF)


def test_ravenstack_health_in_range(ravenstack_state):
    tables, state = ravenstack_state
    health = state["account_health"]
    signed_up = tables["accounts"]["created_at"] < pd.Timestamp("2024-10-01", tz="UTC")
    assert len(health) == signed_up.sum()
    scored = health["health_score"].notna()
    assert health.loc[scored, "health_score"].between(0, 100).all()
    # An account has no score only when no component its profile weighs
    # has data, and then it has no points either.
    points = [f"{component}_points" for component in COMPONENTS]
    assert health.loc[~scored, points].isna().all(axis=None)
    assert health.loc[scored, points].notna().all(axis=None)
    assert set(state["account_tiers"]["tier"]) <= {1, 2, 3, 4}


def test_ravenstack_signals_feed_health(ravenstack_state):
    _, state = ravenstack_state
    health = state["account_health"]
    customers = health[health["profile"] == "customer"]
    assert len(customers) > 100
    assert customers["usage"].notna().mean() > 0.5
    assert customers["support"].notna().mean() > 0.5
    # Without touchpoints the engagement components are missing, and the
    # reweight rule leaves them out of the score.
    assert health["engagement_trend"].isna().all()
    assert health["engagement_level"].isna().all()
    scored = health["health_score"].notna()
    assert (health.loc[scored, "engagement_level_points"] == 0).all()


def test_ravenstack_churn_auc_is_computed(ravenstack_state):
    _, state = ravenstack_state
    churn = read("churn_events")
    churn_date = pd.to_datetime(churn["churn_date"])
    window = (churn_date > pd.Timestamp(AS_OF)) & (
        churn_date <= pd.Timestamp(AS_OF) + pd.Timedelta(days=90)
    )
    churned = set(churn.loc[window, "account_id"])
    customers = state["account_health"]
    customers = customers[customers["profile"] == "customer"]
    labels = customers["account_id"].isin(churned).to_numpy()
    assert 0 < labels.sum() < len(labels)
    auc = healthvalidation.compute_auc(-customers["health_score"].to_numpy(), labels)
    assert 0.0 <= auc <= 1.0
