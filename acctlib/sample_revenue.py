"""Monthly revenue and customer signals of the sample CRM.

A contract term earns its annual value divided by 12 in every month from its
first month to the month before it ends. A won expansion adds its own annual
value divided by 12 from the month after it closes to the term's end.
No month after the end date earns revenue.

Signals follow the same terms: monthly product usage (active users) and
support tickets. Customers heading for churn use the product less and file
more, and more severe, tickets as their last term runs out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from acctlib.sample_accounts import AccountDraw
from acctlib.sample_time import (
    business_time,
    month_of,
    month_start,
    to_dates,
    to_timestamps,
)

# List price of one user per year in USD, used to turn revenue into users.
USD_PER_USER_YEAR = 900.0


def generate_revenue(
    deals: pd.DataFrame, terms: pd.DataFrame, accounts: AccountDraw, end_day: int
) -> pd.DataFrame:
    """Build the canonical revenue table from contract terms and expansions."""
    last_month = int(month_of(np.array([end_day]))[0])
    term_months = _expand_months(terms, last_month)

    won = deals[(deals["kind"] == "expansion") & deals["won"] & deals["closed"]]
    term_end = terms.set_index("term")["end_month"]
    expansions = pd.DataFrame(
        {
            "account": won["account"].to_numpy(),
            "start_month": month_of(won["final_day"].to_numpy()) + 1,
            "end_month": term_end.reindex(won["term"]).to_numpy(),
            "acv": won["acv"].to_numpy(),
        }
    )
    expansion_months = _expand_months(expansions, last_month)

    rows = pd.concat([term_months, expansion_months], ignore_index=True)
    rows["amount"] = rows["acv"] / 12
    monthly = rows.groupby(["account", "month"], as_index=False)["amount"].sum()
    return pd.DataFrame(
        {
            "account_id": accounts.frame["account_id"].to_numpy()[monthly["account"]],
            "month": to_dates(month_start(monthly["month"].to_numpy())),
            "amount": np.round(monthly["amount"].to_numpy(), 2),
        }
    )


def generate_signals(
    rng: np.random.Generator,
    terms: pd.DataFrame,
    revenue: pd.DataFrame,
    accounts: AccountDraw,
    end_day: int,
) -> pd.DataFrame:
    """Draw monthly product usage and support tickets for every customer.

    Usage is recorded at 23:00 UTC on the last day of each month (or on the
    end date for the last, partial month). A ticket's value is its severity,
    1 (low) to 4 (urgent).
    """
    last_month = int(month_of(np.array([end_day]))[0])
    months = _expand_months(terms, last_month)
    months["progress"] = (months["month"] - months["start_month"]) / (
        months["end_month"] - months["start_month"]
    )
    months["churn"] = months["renewal"].to_numpy() == "lost"
    recorded_day = np.minimum(month_start(months["month"].to_numpy() + 1) - 1, end_day)

    usage = _product_usage(rng, months, revenue, accounts)
    tickets = _support_tickets(rng, months, accounts, end_day)
    frames = [
        pd.DataFrame(
            {
                "account": months["account"].to_numpy(),
                "occurred": recorded_day + 23 / 24,
                "signal_type": "product_usage",
                "value": usage,
            }
        ),
        tickets,
    ]
    signals = pd.concat(frames, ignore_index=True)
    signals = signals.sort_values(
        ["account", "occurred", "signal_type", "value"],
        kind="stable",
        ignore_index=True,
    )
    return pd.DataFrame(
        {
            "account_id": accounts.frame["account_id"].to_numpy()[signals["account"]],
            "occurred_at": to_timestamps(signals["occurred"].to_numpy()),
            "signal_type": signals["signal_type"].to_numpy(dtype=object),
            "value": signals["value"].to_numpy(dtype=float),
        }
    )


def _expand_months(spans: pd.DataFrame, last_month: int) -> pd.DataFrame:
    """Return one row per month of each span, up to and including ``last_month``.

    ``spans`` needs ``start_month`` and ``end_month`` (exclusive). Its other
    columns are repeated onto each month.
    """
    start = spans["start_month"].to_numpy().astype("int64")
    stop = np.minimum(spans["end_month"].to_numpy().astype("int64"), last_month + 1)
    counts = np.maximum(stop - start, 0)
    rows = np.repeat(np.arange(len(spans)), counts)
    first_row = np.repeat(np.cumsum(counts) - counts, counts)
    expanded = spans.iloc[rows].reset_index(drop=True)
    expanded["month"] = start[rows] + np.arange(len(rows)) - first_row
    return expanded


def _product_usage(
    rng: np.random.Generator,
    months: pd.DataFrame,
    revenue: pd.DataFrame,
    accounts: AccountDraw,
) -> np.ndarray:
    """Draw monthly active users from the revenue of the month.

    Healthy customers use 70% to 85% of the users they pay for, rising over
    a term. A customer heading for churn falls from 75% to about 25%.
    """
    account_id = accounts.frame["account_id"].to_numpy()[months["account"]]
    month_day = month_start(months["month"].to_numpy())
    paid = pd.Series(
        revenue["amount"].to_numpy(),
        index=pd.MultiIndex.from_arrays(
            [revenue["account_id"].to_numpy(), revenue["month"].to_numpy()]
        ),
    )
    key = pd.MultiIndex.from_arrays([account_id, to_dates(month_day).to_numpy()])
    users = paid.reindex(key).to_numpy() * 12 / USD_PER_USER_YEAR

    progress = months["progress"].to_numpy()
    churn = months["churn"].to_numpy()
    share = np.where(churn, 0.75 * (1 - 0.65 * progress**1.5), 0.70 + 0.15 * progress)
    share = share * rng.lognormal(0.0, 0.08, len(months))
    return np.maximum(np.round(users * share), 1.0)


def _support_tickets(
    rng: np.random.Generator,
    months: pd.DataFrame,
    accounts: AccountDraw,
    end_day: int,
) -> pd.DataFrame:
    """Draw support tickets per customer month.

    A customer of median size files about 0.3 tickets a month, and bigger
    customers file more. A customer heading for churn files up to 3.5 times
    as many by the end of its term, and more of them are urgent.
    """
    account = months["account"].to_numpy()
    churn = months["churn"].to_numpy()
    rate = 0.3 * accounts.size_factor[account] ** 0.3
    rate = rate * np.where(churn, 1 + 2.5 * months["progress"].to_numpy(), 1.0)
    row = np.repeat(np.arange(len(months)), rng.poisson(rate))

    first_day = month_start(months["month"].to_numpy()[row])
    last_day = np.minimum(month_start(months["month"].to_numpy()[row] + 1) - 1, end_day)
    day = first_day + np.floor(rng.random(len(row)) * (last_day - first_day + 1))
    severity = np.where(
        churn[row],
        rng.choice([1, 2, 3, 4], len(row), p=[0.2, 0.3, 0.3, 0.2]),
        rng.choice([1, 2, 3, 4], len(row), p=[0.4, 0.35, 0.2, 0.05]),
    )
    return pd.DataFrame(
        {
            "account": account[row],
            "occurred": business_time(rng, day, accounts.region[account[row]]),
            "signal_type": "support_ticket",
            "value": severity.astype(float),
        }
    )
