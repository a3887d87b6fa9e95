"""Deals and contracts of the sample CRM: the customer lifecycle.

Prospects get new-business opportunities until one is won. A win starts a
contract term on the first day of the next month. During a term a customer
may buy expansions, co-termed to the term's end, and about 75 to 120 days
before the end a renewal opportunity opens. A won renewal starts the next term with
the base and expansion value carried over. A lost renewal is churn, and the
contract ends with the term.

Deals are drawn in rounds (one new-business attempt per prospect, one term
per customer), each round vectorised over all accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from acctlib.sample_accounts import AccountDraw
from acctlib.sample_time import (
    business_time,
    month_of,
    month_start,
    next_weekday,
    shift_to_quarter_end,
)

MIN_CYCLE_DAYS = 30
MAX_CYCLE_DAYS = 270
CONTRACT_MONTHS = np.array([12, 24, 36])
SOURCES = np.array(["marketing", "sdr", "partner", "ae"], dtype=object)
SOURCE_SHARES = np.array([0.50, 0.30, 0.07, 0.13])
SOURCE_WIN_FACTOR = np.array([1.0, 0.85, 1.3, 1.1])

# Fixed conversion rates of the sample, in USD per unit of the deal
# currency. They are round figures for the generated data, not market rates.
USD_PER_UNIT = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27}


@dataclass(frozen=True)
class DealDraw:
    """Deals and contract terms before they become canonical tables.

    ``deals`` has one row per opportunity, with these columns:

    - ``account``: row of the accounts table.
    - ``kind``: opportunity type.
    - ``created``: day number with the time of day.
    - ``planned_close``: day the deal closes if it is won.
    - ``won``: the outcome the deal is heading for.
    - ``final_day``: day it closes on that outcome.
    - ``closed``: whether it closes on or before the end date.
    - ``reached``: open stages entered on the deal's path.
    - ``contract_months``, ``currency``, ``amount_original`` (contract value
      in that currency), ``amount`` (in USD) and ``acv`` (``amount`` per year).
    - ``source``: team that sourced a new-business deal.
    - ``term``: term of an expansion or renewal, -1 for new business.

    ``terms`` has one row per contract term: ``term`` (its number),
    ``account``, ``start_month`` and ``end_month`` (month numbers, end
    exclusive), ``acv`` in USD, ``health``, ``expansion_acv`` (annual value
    of the expansions won during the term) and ``renewal`` (won, lost, open,
    or none when no renewal exists yet).
    """

    deals: pd.DataFrame
    terms: pd.DataFrame


def generate_deals(
    rng: np.random.Generator,
    accounts: AccountDraw,
    start_day: int,
    end_day: int,
    open_stages: int,
) -> DealDraw:
    """Draw every opportunity and contract term between the two days."""
    new_business = _draw_new_business(rng, accounts, start_day, end_day, open_stages)
    won = new_business[new_business["won"] & new_business["closed"]]
    terms = pd.DataFrame(
        {
            "account": won["account"].to_numpy(),
            "start_month": month_of(won["final_day"].to_numpy()) + 1,
            "months": won["contract_months"].to_numpy(),
            "acv": won["acv"].to_numpy(),
        }
    )

    # Each pass handles one term per customer. The first pass runs even
    # without customers, so empty results keep their columns and dtypes.
    deal_rounds = [new_business]
    term_rounds = []
    while not term_rounds or len(terms):
        first_term = sum(len(done) for done in term_rounds)
        terms = _describe_terms(rng, accounts, terms, first_term)
        expansions = _draw_expansions(rng, accounts, terms, end_day, open_stages)
        terms = _add_expansion_value(terms, expansions)
        renewals, outcome, next_terms = _draw_renewals(
            rng, accounts, terms, end_day, open_stages
        )
        deal_rounds += [expansions, renewals]
        term_rounds.append(terms.assign(renewal=outcome))
        starts = month_start(next_terms["start_month"].to_numpy())
        terms = next_terms[starts <= end_day].reset_index(drop=True)

    deals = pd.concat(deal_rounds, ignore_index=True)
    terms = pd.concat(term_rounds, ignore_index=True)
    columns = ["term", "account", "start_month", "end_month", "acv", "health"]
    return DealDraw(deals=deals, terms=terms[columns + ["expansion_acv", "renewal"]])


def _draw_new_business(
    rng: np.random.Generator,
    accounts: AccountDraw,
    start_day: int,
    end_day: int,
    open_stages: int,
) -> pd.DataFrame:
    """Draw new-business attempts per prospect until a win or the end date.

    Sales reaches each account 14 days after it is created, or for accounts
    that existed before ``start_day`` at a random day in the first year, so
    the launch brings no burst of deals. Attempts then arrive at a yearly
    rate of 2.4 times the account's propensity. After a loss the account
    waits 60 to 240 days and then arrives at 90% of that rate. An attempt
    still open at the end date stops the chain.
    """
    rate = 2.4 * accounts.propensity * accounts.size_factor**0.1
    launch_ramp = start_day + np.floor(rng.random(len(rate)) * 365)
    available = np.maximum(np.floor(accounts.created) + 14, launch_ramp)
    next_day = next_weekday(available + rng.exponential(365.0 / rate))
    pending = np.flatnonzero(next_day <= end_day)

    rounds = []
    while not rounds or len(pending):
        deals = _draw_new_business_round(
            rng, accounts, pending, next_day[pending], end_day, open_stages
        )
        rounds.append(deals)
        lost = deals[deals["closed"] & ~deals["won"]]
        retry = lost["account"].to_numpy()
        wait = rng.integers(60, 241, len(retry))
        wait = wait + rng.exponential(365.0 / (0.9 * rate[retry]))
        next_day[retry] = next_weekday(lost["final_day"].to_numpy() + wait)
        pending = retry[next_day[retry] <= end_day]
    return pd.concat(rounds, ignore_index=True)


def _draw_new_business_round(
    rng: np.random.Generator,
    accounts: AccountDraw,
    account: np.ndarray,
    created_day: np.ndarray,
    end_day: int,
    open_stages: int,
) -> pd.DataFrame:
    """Draw one new-business opportunity for each account in ``account``.

    Annual contract value is lognormal with a median of 9,000 USD at 200
    employees, growing with the 0.45 power of head count. The cycle to a
    win is about 75 days at 15,000 USD and grows with the 0.3 power of value.
    """
    count = len(account)
    size = accounts.size_factor[account]
    acv = 9_000 * size**0.45 * accounts.deal_factor[account]
    acv = np.maximum(acv * rng.lognormal(0.0, 0.6, count), 1_500)
    cycle = 75 * (acv / 15_000) ** 0.3 * rng.lognormal(0.0, 0.35, count)
    cycle = np.clip(np.round(cycle), MIN_CYCLE_DAYS, 240).astype("int64")
    planned_close = shift_to_quarter_end(
        rng,
        created_day,
        created_day + cycle,
        min_cycle=MIN_CYCLE_DAYS,
        max_cycle=MAX_CYCLE_DAYS,
    )

    source = rng.choice(len(SOURCES), size=count, p=SOURCE_SHARES)
    win_probability = 0.26 * SOURCE_WIN_FACTOR[source]
    win_probability *= np.where(accounts.is_target[account], 1.25, 1.0)
    win_probability *= np.where(_in_fourth_quarter(planned_close), 1.3, 1.0)

    deals = pd.DataFrame(
        {
            "account": account,
            "kind": "new_business",
            "created": business_time(rng, created_day, accounts.region[account]),
            "planned_close": planned_close,
            "acv": acv,
            "contract_months": rng.choice(CONTRACT_MONTHS, count, p=[0.65, 0.15, 0.2]),
            "source": SOURCES[source],
            "term": -1,
        }
    )
    deals = _add_prices(deals, accounts)
    return _resolve_outcomes(rng, deals, win_probability, end_day, open_stages)


def _describe_terms(
    rng: np.random.Generator,
    accounts: AccountDraw,
    terms: pd.DataFrame,
    first_term: int,
) -> pd.DataFrame:
    """Add term numbers from ``first_term``, end month and a health draw.

    Term health mixes the account's lasting health with noise of this term,
    so a healthy customer usually, but not always, stays healthy.
    """
    terms = terms.copy()
    terms["term"] = first_term + np.arange(len(terms))
    terms["end_month"] = terms["start_month"] + terms["months"]
    noise = rng.normal(0.0, 1.0, len(terms))
    terms["health"] = 0.75 * accounts.health[terms["account"]] + 0.66 * noise
    return terms


def _draw_expansions(
    rng: np.random.Generator,
    accounts: AccountDraw,
    terms: pd.DataFrame,
    end_day: int,
    open_stages: int,
) -> pd.DataFrame:
    """Draw expansion opportunities within each term, co-termed to its end.

    Expansions open between 60 days after the term starts and 120 days
    before it ends, at a rate of 2 a year within that window (about one in
    a 12-month term), more for big and healthy customers. They add about 30%
    of the base value and close at least 35 days before the term ends, so
    each covers at least one month.
    """
    term_start = month_start(terms["start_month"].to_numpy())
    term_end = month_start(terms["end_month"].to_numpy())
    window = np.maximum(term_end - 120 - (term_start + 60), 0)
    account = terms["account"].to_numpy()
    health = terms["health"].to_numpy()
    rate = 2.0 * accounts.size_factor[account] ** 0.2 * np.exp(0.3 * health)
    counts = rng.poisson(rate * window / 365.0)

    term_row = np.repeat(np.arange(len(terms)), counts)
    offset = np.floor(rng.random(len(term_row)) * window[term_row])
    created_day = next_weekday(term_start[term_row] + 60 + offset)
    keep = created_day <= end_day
    term_row, created_day = term_row[keep], created_day[keep]
    account = account[term_row]
    count = len(term_row)

    acv = terms["acv"].to_numpy()[term_row] * rng.lognormal(np.log(0.3), 0.5, count)
    acv = np.maximum(acv, 1_000)
    cycle = 45 * (acv / 5_000) ** 0.2 * rng.lognormal(0.0, 0.3, count)
    cycle = np.clip(np.round(cycle), MIN_CYCLE_DAYS, 150).astype("int64")
    planned_close = shift_to_quarter_end(
        rng, created_day, created_day + cycle, min_cycle=MIN_CYCLE_DAYS, max_cycle=180
    )
    planned_close = np.minimum(planned_close, term_end[term_row] - 35)
    months = terms["end_month"].to_numpy()[term_row] - (month_of(planned_close) + 1)
    win_probability = np.clip(0.55 + 0.1 * health[term_row], 0.2, 0.85)

    deals = pd.DataFrame(
        {
            "account": account,
            "kind": "expansion",
            "created": business_time(rng, created_day, accounts.region[account]),
            "planned_close": planned_close,
            "acv": acv,
            "contract_months": months,
            "source": None,
            "term": terms["term"].to_numpy()[term_row],
        }
    )
    deals = _add_prices(deals, accounts)
    return _resolve_outcomes(rng, deals, win_probability, end_day, open_stages)


def _add_expansion_value(terms: pd.DataFrame, expansions: pd.DataFrame) -> pd.DataFrame:
    """Add the annual value of each term's won, closed expansions."""
    won = expansions[expansions["won"] & expansions["closed"]]
    added = won.groupby("term")["acv"].sum()
    terms = terms.copy()
    terms["expansion_acv"] = terms["term"].map(added).fillna(0.0).to_numpy()
    return terms


def _draw_renewals(
    rng: np.random.Generator,
    accounts: AccountDraw,
    terms: pd.DataFrame,
    end_day: int,
    open_stages: int,
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Draw the renewal of each term and the terms that won renewals start.

    Returns the renewal deals, the renewal outcome of every term (won, lost,
    open, or none when the renewal opens after ``end_day``) and the next
    terms.

    A renewal opens 75 to 120 days before the term ends, moved off weekends
    to the next Monday. Heading for a win, it closes 1 to 40 days before the
    term ends, but a lost renewal may close sooner. It is won with a probability
    of about 0.8, lower for small customers, customers in poor health and
    those without expansions. The renewal price is the base plus expansion
    value, raised by up to 8% for 85% of renewals and cut by 5% to 25% for
    the rest.
    """
    term_end = month_start(terms["end_month"].to_numpy())
    created_day = next_weekday(term_end - rng.integers(75, 121, len(terms)))
    planned_close = term_end - rng.integers(1, 41, len(terms))
    has_renewal = created_day <= end_day
    account = terms["account"].to_numpy()

    logit = 1.9 + 1.2 * terms["health"].to_numpy()
    logit += 0.25 * np.log(accounts.size_factor[account])
    logit += np.where(terms["expansion_acv"].to_numpy() > 0, 0.3, 0.0)
    win_probability = 1.0 / (1.0 + np.exp(-logit))

    uplift = np.where(
        rng.random(len(terms)) < 0.85,
        rng.uniform(1.0, 1.08, len(terms)),
        rng.uniform(0.75, 0.95, len(terms)),
    )
    acv = (terms["acv"].to_numpy() + terms["expansion_acv"].to_numpy()) * uplift
    deals = pd.DataFrame(
        {
            "account": account,
            "kind": "renewal",
            "created": business_time(rng, created_day, accounts.region[account]),
            "planned_close": planned_close,
            "acv": acv,
            "contract_months": rng.choice(
                CONTRACT_MONTHS, len(terms), p=[0.75, 0.15, 0.1]
            ),
            "source": None,
            "term": terms["term"].to_numpy(),
        }
    )
    deals = _add_prices(deals, accounts)
    deals = _resolve_outcomes(rng, deals, win_probability, end_day, open_stages)

    outcome = np.where(deals["won"], "won", "lost").astype(object)
    outcome[~deals["closed"].to_numpy()] = "open"
    outcome[~has_renewal] = "none"
    renewed = outcome == "won"
    next_terms = pd.DataFrame(
        {
            "account": account[renewed],
            "start_month": terms["end_month"].to_numpy()[renewed],
            "months": deals["contract_months"].to_numpy()[renewed],
            "acv": deals["acv"].to_numpy()[renewed],
        }
    )
    deals = deals[has_renewal].reset_index(drop=True)
    return deals, outcome, next_terms


def _resolve_outcomes(
    rng: np.random.Generator,
    deals: pd.DataFrame,
    win_probability: np.ndarray,
    end_day: int,
    open_stages: int,
) -> pd.DataFrame:
    """Decide each deal's outcome, the day it closes and the stages it enters.

    A lost deal drops out after entering 1 to ``open_stages`` stages, and
    each later stage is less likely (weights 0.6 to the power of the stage
    index). It is closed lost after a share of its planned cycle that grows
    with the stage it reached, but never sooner than 30 days after creation.
    A deal whose closing day falls after ``end_day`` is still open at the
    end date.
    """
    count = len(deals)
    created_day = np.floor(deals["created"].to_numpy())
    planned_close = deals["planned_close"].to_numpy().astype("int64")
    won = rng.random(count) < np.clip(win_probability, 0.0, 0.95)

    weights = 0.6 ** np.arange(open_stages)
    lost_stage = 1 + rng.choice(open_stages, size=count, p=weights / weights.sum())
    share = lost_stage / open_stages * rng.uniform(0.7, 1.0, count)
    lost_day = created_day + np.maximum(
        MIN_CYCLE_DAYS, np.round((planned_close - created_day) * share)
    )
    lost_day = np.minimum(lost_day, planned_close)

    deals = deals.copy()
    deals["won"] = won
    deals["final_day"] = np.where(won, planned_close, lost_day).astype("int64")
    deals["closed"] = deals["final_day"].to_numpy() <= end_day
    deals["reached"] = np.where(won, open_stages, lost_stage)
    return deals


def _add_prices(deals: pd.DataFrame, accounts: AccountDraw) -> pd.DataFrame:
    """Price each deal in its account's contract currency.

    The contract value is rounded to 10 units of that currency and converted
    to USD at ``USD_PER_UNIT``. ``acv`` is then recomputed from the USD
    amount, so revenue and annualised values agree with the amount shown.
    """
    currency = accounts.contract_currency[deals["account"].to_numpy()]
    usd_per_unit = pd.Series(currency).map(USD_PER_UNIT).to_numpy(dtype=float)
    months = deals["contract_months"].to_numpy()
    contract_value = deals["acv"].to_numpy() * months / 12
    amount_original = np.maximum(np.round(contract_value / usd_per_unit, -1), 10.0)
    amount = np.round(amount_original * usd_per_unit, 2)

    deals = deals.copy()
    deals["currency"] = currency
    deals["amount_original"] = amount_original
    deals["amount"] = amount
    deals["acv"] = amount * 12 / months
    return deals


def _in_fourth_quarter(days: np.ndarray) -> np.ndarray:
    return month_of(days) % 12 >= 9
