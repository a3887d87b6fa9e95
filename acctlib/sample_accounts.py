"""Accounts, sales reps and contacts of the sample CRM.

Company size drives most of the simulation: employee counts are lognormal
(median 200, a few companies above 10,000), and bigger companies get more
contacts, larger deals, longer sales cycles and more activity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from acctlib.sample_text import format_ids
from acctlib.sample_time import business_time, to_timestamps

REGIONS = ("North America", "EMEA", "APAC", "LATAM")
REGION_SHARES = np.array([0.48, 0.30, 0.14, 0.08])

# Countries per region with their share of the region's accounts.
COUNTRIES = (
    {"United States": 0.82, "Canada": 0.18},
    {
        "United Kingdom": 0.26,
        "Germany": 0.20,
        "France": 0.13,
        "Netherlands": 0.09,
        "Sweden": 0.06,
        "Spain": 0.06,
        "Italy": 0.05,
        "Ireland": 0.04,
        "Switzerland": 0.04,
        "United Arab Emirates": 0.03,
        "Israel": 0.02,
        "South Africa": 0.02,
    },
    {
        "Australia": 0.30,
        "Japan": 0.22,
        "Singapore": 0.16,
        "India": 0.18,
        "New Zealand": 0.06,
        "South Korea": 0.08,
    },
    {
        "Brazil": 0.40,
        "Mexico": 0.30,
        "Argentina": 0.10,
        "Chile": 0.10,
        "Colombia": 0.10,
    },
)

EURO_COUNTRIES = ("Germany", "France", "Netherlands", "Spain", "Italy", "Ireland")

LEGAL_SUFFIXES = {
    "United States": ("Inc.", "Corp.", "LLC"),
    "Canada": ("Inc.", "Ltd."),
    "United Kingdom": ("Ltd", "plc"),
    "Germany": ("GmbH", "AG"),
    "France": ("SA", "SAS"),
    "Netherlands": ("B.V.",),
    "Sweden": ("AB",),
    "Spain": ("S.L.", "S.A."),
    "Italy": ("S.p.A.", "S.r.l."),
    "Switzerland": ("AG",),
    "Japan": ("K.K.",),
    "Australia": ("Pty Ltd",),
    "New Zealand": ("Ltd",),
    "India": ("Pvt Ltd",),
    "Brazil": ("Ltda.", "S.A."),
    "Mexico": ("S.A. de C.V.",),
}

# Industry name, share of accounts, revenue per employee in USD, deal size
# factor, and words that make company names sound like that industry.
INDUSTRIES = (
    ("Software", 0.18, 250_000, 1.1, ("Software", "Labs", "Cloud", "Data", "Systems")),
    (
        "Financial Services",
        0.13,
        400_000,
        1.4,
        ("Capital", "Bank", "Payments", "Insurance", "Financial"),
    ),
    ("Healthcare", 0.11, 180_000, 1.1, ("Health", "Care", "Medical", "Bio", "Clinics")),
    (
        "Manufacturing",
        0.12,
        220_000,
        0.9,
        ("Industries", "Manufacturing", "Materials", "Machines", "Components"),
    ),
    (
        "Retail",
        0.10,
        300_000,
        0.8,
        ("Retail", "Stores", "Market", "Outfitters", "Goods"),
    ),
    (
        "Media & Entertainment",
        0.07,
        200_000,
        0.8,
        ("Media", "Studios", "Publishing", "Entertainment", "Broadcasting"),
    ),
    (
        "Telecommunications",
        0.06,
        450_000,
        1.2,
        ("Telecom", "Networks", "Wireless", "Communications", "Fiber"),
    ),
    ("Education", 0.07, 90_000, 0.6, ("Learning", "Academy", "Education", "Schools")),
    (
        "Transportation & Logistics",
        0.09,
        260_000,
        0.9,
        ("Logistics", "Freight", "Shipping", "Transport", "Cargo"),
    ),
    (
        "Energy & Utilities",
        0.07,
        600_000,
        1.1,
        ("Energy", "Power", "Utilities", "Renewables", "Solar"),
    ),
)

NAME_PREFIXES = (
    "Apex", "Atlas", "Beacon", "Blue", "Bright", "Cedar", "Clear", "Cobalt",
    "Copper", "Crest", "Delta", "Ever", "Falcon", "Granite", "Harbor", "Horizon",
    "Iron", "Juniper", "Keystone", "Lake", "Lumen", "Maple", "Meridian", "Noble",
    "North", "Nova", "Oak", "Orbit", "Pine", "Pioneer", "Prairie", "Quantum",
    "Red", "River", "Sable", "Silver", "Stone", "Summit", "Swift", "Terra",
    "Tidal", "True", "Union", "Vector", "Vista", "West", "Willow", "Zenith",
)  # fmt: skip
NAME_QUALIFIERS = ("Group", "Holdings", "International", "Global", "Partners")
REP_FIRST_NAMES = (
    "Aisha", "Ben", "Carla", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines",
    "Jonas", "Kara", "Luis", "Maya", "Nikhil", "Olivia", "Pablo", "Quinn",
    "Rosa", "Sam", "Tara", "Umar", "Vera", "Wes", "Yara", "Zane", "Ana", "Chen",
    "Dana", "Ethan", "Fatima", "Gabe", "Hana", "Ivan", "Julia", "Kofi", "Lena",
    "Marco", "Nora", "Omar", "Priya",
)  # fmt: skip
REP_LAST_NAMES = (
    "Adler", "Brooks", "Castro", "Diaz", "Evans", "Fischer", "Garcia", "Haddad",
    "Ito", "Jensen", "Kim", "Larsen", "Moreau", "Nakamura", "Okafor", "Patel",
    "Quintero", "Rossi", "Schmidt", "Tanaka", "Usman", "Varga", "Walsh", "Xu",
    "Young", "Zhang", "Bauer", "Cohen", "Dubois", "Eriksen", "Ferreira", "Gupta",
    "Hughes", "Iyer", "Jones", "Kowalski", "Lopez", "Murphy", "Novak", "Olsen",
)  # fmt: skip

ACCOUNTS_PER_REP = 40
MEDIAN_EMPLOYEES = 200


@dataclass(frozen=True)
class AccountDraw:
    """Accounts table plus the hidden traits that later steps draw from.

    Arrays are aligned with the rows of ``frame``. ``employees`` is the true
    head count, also where the table leaves it empty. ``created`` is a day
    number and ``first_contact`` the number of the account's first contact.
    ``contract_currency`` is the currency its deals are priced in, and
    ``health`` is a standard normal trait that drives renewal outcomes.
    """

    frame: pd.DataFrame
    names: np.ndarray
    region: np.ndarray
    employees: np.ndarray
    deal_factor: np.ndarray
    created: np.ndarray
    contacts: np.ndarray
    first_contact: np.ndarray
    is_target: np.ndarray
    owner: np.ndarray
    contract_currency: np.ndarray
    health: np.ndarray
    propensity: np.ndarray
    reps_by_region: tuple[np.ndarray, ...]

    @property
    def size_factor(self) -> np.ndarray:
        """Employees relative to the median company, as a ratio."""
        return self.employees / MEDIAN_EMPLOYEES


def generate_accounts(
    rng: np.random.Generator, count: int, start_day: int, end_day: int
) -> AccountDraw:
    """Draw ``count`` accounts created before ``end_day``.

    About 65% were imported in the two years before ``start_day``, the rest
    were added while the business grew, up to 30 days before ``end_day``.
    """
    region = rng.choice(len(REGIONS), size=count, p=REGION_SHARES)
    country = _draw_countries(rng, region)
    industry = rng.choice(len(INDUSTRIES), size=count, p=_industry_shares())
    log_employees = rng.normal(np.log(MEDIAN_EMPLOYEES), 1.7, count)
    employees = np.clip(np.round(np.exp(log_employees)), 5, 300_000).astype("int64")

    imported = rng.random(count) < 0.65
    growth_span = max(end_day - 30 - start_day, 0)
    created_day = np.where(
        imported,
        start_day - rng.integers(1, 731, count),
        start_day + np.floor(rng.random(count) * (growth_span + 1)),
    )
    created = business_time(rng, created_day, region)

    is_target = rng.random(count) < _target_probability(employees)
    contacts = 2 + rng.poisson(2.5 * (employees / MEDIAN_EMPLOYEES) ** 0.3)
    contacts = np.minimum(contacts, 60)
    first_contact = 1 + np.concatenate([[0], np.cumsum(contacts)[:-1]])

    reps_by_region = _draw_reps(rng, count)
    owner = _draw_owners(rng, region, reps_by_region)
    names = _draw_names(rng, industry, country)
    contract_currency = _draw_contract_currency(rng, country)

    health = rng.normal(0.0, 1.0, count)
    propensity = rng.lognormal(0.0, 0.5, count) * np.where(is_target, 1.8, 1.0)

    frame = pd.DataFrame(
        {
            "account_id": format_ids("A", np.arange(1, count + 1), 6),
            "name": names,
            "industry": np.array([e[0] for e in INDUSTRIES], dtype=object)[industry],
            "country": country,
            "region": np.array(REGIONS, dtype=object)[region],
            "employees": pd.array(employees, dtype="Int64"),
            "annual_revenue": _draw_annual_revenue(rng, employees, industry),
            "owner": owner,
            "created_at": to_timestamps(created),
            "parent_account_id": _draw_parents(rng, employees),
            "is_target": pd.array(is_target, dtype="boolean"),
        }
    )
    _blank_firmographics(rng, frame)

    return AccountDraw(
        frame=frame,
        names=names,
        region=region,
        employees=employees,
        deal_factor=np.array([entry[3] for entry in INDUSTRIES])[industry],
        created=created,
        contacts=contacts,
        first_contact=first_contact,
        is_target=is_target,
        owner=owner,
        contract_currency=contract_currency,
        health=health,
        propensity=propensity,
        reps_by_region=reps_by_region,
    )


def _industry_shares() -> np.ndarray:
    shares = np.array([entry[1] for entry in INDUSTRIES])
    return shares / shares.sum()


def _draw_countries(rng: np.random.Generator, region: np.ndarray) -> np.ndarray:
    country = np.empty(len(region), dtype=object)
    for code, shares in enumerate(COUNTRIES):
        rows = np.flatnonzero(region == code)
        names = np.array(list(shares), dtype=object)
        weights = np.array(list(shares.values()))
        country[rows] = rng.choice(names, size=len(rows), p=weights / weights.sum())
    return country


def _draw_contract_currency(
    rng: np.random.Generator, country: np.ndarray
) -> np.ndarray:
    """Price 70% of UK accounts in GBP and 70% of euro-area ones in EUR, else USD."""
    local = np.where(
        country == "United Kingdom",
        "GBP",
        np.where(np.isin(country, EURO_COUNTRIES), "EUR", "USD"),
    )
    signs_locally = rng.random(len(country)) < 0.7
    return np.where(signs_locally, local, "USD").astype(object)


def _target_probability(employees: np.ndarray) -> np.ndarray:
    """Return the chance of being a target account, higher for big companies."""
    logit = -1.95 + 1.1 * (np.log10(employees) - np.log10(MEDIAN_EMPLOYEES))
    return 1.0 / (1.0 + np.exp(-logit))


def _draw_reps(rng: np.random.Generator, accounts: int) -> tuple[np.ndarray, ...]:
    """Draw a roster of about one rep per 40 accounts, at least one per region.

    Names are distinct first and last name pairs, so a region has at most a
    quarter of those pairs (400 reps).
    """
    pairs = len(REP_FIRST_NAMES) * len(REP_LAST_NAMES)
    sizes = np.maximum(1, np.round(REGION_SHARES * accounts / ACCOUNTS_PER_REP))
    sizes = np.minimum(sizes.astype("int64"), pairs // len(REGIONS))
    chosen = rng.choice(pairs, size=int(sizes.sum()), replace=False)
    first = np.array(REP_FIRST_NAMES, dtype=object)[chosen // len(REP_LAST_NAMES)]
    last = np.array(REP_LAST_NAMES, dtype=object)[chosen % len(REP_LAST_NAMES)]
    names = first + " " + last
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return tuple(names[bounds[i] : bounds[i + 1]] for i in range(len(REGIONS)))


def _draw_owners(
    rng: np.random.Generator, region: np.ndarray, reps: tuple[np.ndarray, ...]
) -> np.ndarray:
    """Assign each account a rep of its region, leaving 6% without an owner."""
    owner = np.empty(len(region), dtype=object)
    for code, roster in enumerate(reps):
        rows = np.flatnonzero(region == code)
        owner[rows] = roster[rng.integers(0, len(roster), len(rows))]
    owner[rng.random(len(region)) < 0.06] = None
    return owner


def _draw_names(
    rng: np.random.Generator, industry: np.ndarray, country: np.ndarray
) -> np.ndarray:
    """Draw company names such as "Blue River Freight Ltd", unique per sample.

    A name drawn twice gets a qualifier ("Group", "Holdings", ...) and, past
    those, a number.
    """
    count = len(industry)
    prefixes = np.array(NAME_PREFIXES, dtype=object)
    first = prefixes[rng.integers(0, len(prefixes), count)]
    second = prefixes[rng.integers(0, len(prefixes), count)]
    two_words = (rng.random(count) < 0.5) & (first != second)
    stem = np.where(two_words, first + " " + second, first)

    core = np.empty(count, dtype=object)
    for code, entry in enumerate(INDUSTRIES):
        rows = np.flatnonzero(industry == code)
        words = np.array(entry[4], dtype=object)
        core[rows] = words[rng.integers(0, len(words), len(rows))]

    legal = np.empty(count, dtype=object)
    for name in np.unique(country):
        rows = np.flatnonzero(country == name)
        suffixes = np.array(LEGAL_SUFFIXES.get(name, ("Ltd", "Inc.")), dtype=object)
        legal[rows] = suffixes[rng.integers(0, len(suffixes), len(rows))]
    base = pd.Series(stem + " " + core, dtype=object)
    repeat = base.groupby(base).cumcount().to_numpy()
    qualifiers = np.array(("",) + NAME_QUALIFIERS, dtype=object)
    qualifier = qualifiers[np.minimum(repeat, len(NAME_QUALIFIERS))]
    base = np.where(repeat > 0, base + " " + qualifier, base)
    overflow = repeat > len(NAME_QUALIFIERS)
    number = (repeat - len(NAME_QUALIFIERS) + 1).astype(str)
    base = np.where(overflow, base + " " + number.astype(object), base)
    return (base + " " + legal).astype(object)


def _draw_annual_revenue(
    rng: np.random.Generator, employees: np.ndarray, industry: np.ndarray
) -> np.ndarray:
    """Draw annual revenue in USD, rounded to thousands, from head count."""
    revenue_per_employee = np.array([entry[2] for entry in INDUSTRIES])[industry]
    noise = rng.lognormal(0.0, 0.3, len(employees))
    return np.round(employees * revenue_per_employee * noise, -3)


def _blank_firmographics(rng: np.random.Generator, frame: pd.DataFrame) -> None:
    """Empty some firmographic cells in place, as CRMs leave them blank."""
    shares = {
        "industry": 0.02,
        "country": 0.01,
        "employees": 0.04,
        "annual_revenue": 0.08,
    }
    for column, share in shares.items():
        frame.loc[rng.random(len(frame)) < share, column] = None


def _draw_parents(rng: np.random.Generator, employees: np.ndarray) -> np.ndarray:
    """Make 3% of accounts subsidiaries of a company in the largest tenth."""
    count = len(employees)
    parent = np.full(count, None, dtype=object)
    large = np.flatnonzero(employees >= np.quantile(employees, 0.9))
    others = np.setdiff1d(np.arange(count), large)
    children = others[rng.random(len(others)) < 0.03]
    if len(large) and len(children):
        ids = format_ids("A", np.arange(1, count + 1), 6).to_numpy(dtype=object)
        parent[children] = ids[rng.choice(large, size=len(children))]
    return parent
