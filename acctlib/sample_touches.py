"""Touchpoints of the sample CRM: marketing touches and sales activities.

Touches are drawn from segments. A segment is a span of days on one account
with an expected number of touches, a tilt and a mix of touch kinds. The
tilt shapes activity within the span: positive tilts rise towards the end
(deals heading for a win), negative tilts fade (lost deals, customers
heading for churn). The segments are:

- nurture: marketing touches on every account, from its creation or the
  first month of the history, whichever is later;
- sourcing: touches in the weeks before a new-business deal is created, by
  the team that sourced it (marketing, SDR, partner or the AE). For the
  first deals these can fall up to 90 days before the first month;
- deal: sales activity while a deal is open;
- customer: customer success and customer marketing during contract terms.

Sales teams rarely work weekends, so 90% of weekend sales touches and 60%
of weekend marketing touches are dropped. No touch falls after the end date
or on or before the day the account was created.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from acctlib.sample_accounts import AccountDraw
from acctlib.sample_text import decode_labels, format_ids, take_text
from acctlib.sample_time import (
    SECONDS_PER_DAY,
    business_time,
    month_of,
    month_start,
    tilted_fractions,
    to_timestamps,
)

# Touch kinds per segment mix: (function, channel, touch_type) and a weight.
MIXES = {
    "nurture": (
        (("marketing", "email", "email_open"), 30),
        (("marketing", "email", "email_click"), 8),
        (("marketing", "paid_social", "ad_click"), 8),
        (("marketing", "paid_search", "ad_click"), 5),
        (("marketing", "organic_search", "page_visit"), 10),
        (("marketing", "direct", "page_visit"), 6),
        (("marketing", "content_syndication", "content_download"), 5),
        (("marketing", "webinar", "registered"), 4),
        (("marketing", "webinar", "attended"), 3),
        (("marketing", "event", "attended"), 2),
        (("marketing", "review_site", "page_visit"), 3),
    ),
    "sourcing_marketing": (
        (("marketing", "paid_search", "ad_click"), 8),
        (("marketing", "paid_search", "form_fill"), 6),
        (("marketing", "paid_social", "ad_click"), 6),
        (("marketing", "paid_social", "form_fill"), 3),
        (("marketing", "organic_search", "page_visit"), 8),
        (("marketing", "organic_search", "form_fill"), 3),
        (("marketing", "webinar", "attended"), 8),
        (("marketing", "event", "attended"), 5),
        (("marketing", "email", "email_click"), 10),
        (("marketing", "content_syndication", "content_download"), 8),
        (("marketing", "review_site", "page_visit"), 5),
        (("marketing", "direct", "page_visit"), 5),
        (("marketing", "direct", "form_fill"), 6),
    ),
    "sourcing_sdr": (
        (("sdr", "outbound_email", "email_sent"), 40),
        (("sdr", "outbound_email", "email_reply"), 8),
        (("sdr", "call", "call_attempt"), 25),
        (("sdr", "call", "call_connected"), 8),
        (("sdr", "meeting", "meeting_held"), 5),
        (("marketing", "email", "email_open"), 10),
    ),
    "sourcing_partner": (
        (("partner", "partner_referral", "referral"), 5),
        (("partner", "partner_referral", "meeting_held"), 2),
    ),
    "sourcing_ae": (
        (("ae", "outbound_email", "email_sent"), 6),
        (("ae", "call", "call_connected"), 3),
        (("ae", "meeting", "meeting_held"), 2),
    ),
    "deal_new": (
        (("ae", "outbound_email", "email_sent"), 18),
        (("ae", "outbound_email", "email_reply"), 8),
        (("ae", "call", "call_connected"), 10),
        (("ae", "meeting", "meeting_held"), 12),
        (("se", "demo", "demo_held"), 6),
        (("se", "meeting", "meeting_held"), 4),
        (("sdr", "call", "call_attempt"), 3),
        (("marketing", "email", "email_click"), 5),
        (("marketing", "webinar", "attended"), 3),
        (("marketing", "event", "attended"), 2),
        (("marketing", "review_site", "page_visit"), 3),
        (("marketing", "direct", "page_visit"), 4),
        (("marketing", "content_syndication", "content_download"), 2),
        (("partner", "partner_referral", "meeting_held"), 1),
    ),
    "deal_customer": (
        (("cs", "meeting", "meeting_held"), 10),
        (("cs", "call", "call_connected"), 8),
        (("cs", "outbound_email", "email_sent"), 12),
        (("ae", "meeting", "meeting_held"), 8),
        (("ae", "outbound_email", "email_sent"), 8),
        (("se", "demo", "demo_held"), 4),
        (("marketing", "email", "email_click"), 4),
        (("marketing", "webinar", "attended"), 2),
    ),
    "customer": (
        (("cs", "outbound_email", "email_sent"), 14),
        (("cs", "outbound_email", "email_reply"), 5),
        (("cs", "call", "call_connected"), 8),
        (("cs", "meeting", "meeting_held"), 6),
        (("cs", "qbr", "meeting_held"), 4),
        (("marketing", "email", "email_open"), 10),
        (("marketing", "webinar", "attended"), 3),
        (("marketing", "event", "attended"), 1),
    ),
}

# Campaign programs per channel. A touch gets the campaign
# "<year>-Q<quarter> <program>". Organic search, direct visits and most sales
# touches carry no campaign, but 25% of SDR emails and calls belong to an
# outbound sequence.
PROGRAMS = {
    "paid_search": ("Brand Search", "Category Search"),
    "paid_social": ("Social Ads",),
    "webinar": ("Webinar Series",),
    "event": ("Field Events", "Trade Shows"),
    "email": ("Newsletter", "Nurture Email"),
    "content_syndication": ("Content Syndication",),
    "review_site": ("Review Sites",),
    "partner_referral": ("Partner Referrals",),
}
OUTBOUND_PROGRAM = "Outbound Sequence"
OUTBOUND_CAMPAIGN_SHARE = 0.25

# Share of page visits and ad clicks matched to the account (for example by
# IP address) but to no known contact.
ANONYMOUS = ("page_visit", "ad_click")
ANONYMOUS_SHARE = 0.25
WEEKEND_KEEP = {"sales": 0.1, "marketing": 0.4}

MIX_NAMES = tuple(MIXES)
KINDS = tuple(sorted({kind for mix in MIXES.values() for kind, _ in mix}))
PROGRAM_NAMES = tuple(
    sorted({name for names in PROGRAMS.values() for name in names} | {OUTBOUND_PROGRAM})
)


def generate_touchpoints(
    rng: np.random.Generator,
    accounts: AccountDraw,
    deals: pd.DataFrame,
    terms: pd.DataFrame,
    start_day: int,
    end_day: int,
    scale: float = 1.0,
) -> pd.DataFrame:
    """Draw every touch and return the canonical touchpoints table.

    ``scale`` multiplies the expected touches of every segment.
    """
    segments = pd.concat(
        [
            _nurture_segments(accounts, start_day, end_day),
            _sourcing_segments(deals, accounts),
            _deal_segments(deals),
            _customer_segments(terms, accounts),
        ],
        ignore_index=True,
    )
    touches = _draw_touches(rng, segments, accounts, end_day, scale)
    return _build_touchpoints(rng, touches, accounts)


def _segments(
    account: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    expected: np.ndarray,
    tilt: np.ndarray | float,
    mix: np.ndarray | str,
) -> pd.DataFrame:
    mix_code = pd.Series(mix, index=range(len(account))).map(
        {name: code for code, name in enumerate(MIX_NAMES)}
    )
    return pd.DataFrame(
        {
            "account": np.asarray(account, dtype="int64"),
            "start": np.asarray(start, dtype=float),
            "end": np.asarray(end, dtype=float),
            "expected": np.asarray(expected, dtype=float),
            "tilt": np.broadcast_to(np.asarray(tilt, dtype=float), len(account)),
            "mix": mix_code.to_numpy(dtype="int64"),
        }
    )


def _nurture_segments(
    accounts: AccountDraw, start_day: int, end_day: int
) -> pd.DataFrame:
    """Nurture touches: about 2 a month per account with four contacts.

    The rate grows with the square root of the contact count and is 50%
    higher on target accounts, which marketing works harder.
    """
    start = np.maximum(np.floor(accounts.created) + 1, start_day)
    end = np.full(len(start), end_day + 1.0)
    months = np.maximum(end - start, 0) / 30.44
    rate = 2.0 * np.sqrt(accounts.contacts / 4) * np.where(accounts.is_target, 1.5, 1.0)
    account = np.arange(len(start))
    return _segments(account, start, end, rate * months, 0.0, "nurture")


def _sourcing_segments(deals: pd.DataFrame, accounts: AccountDraw) -> pd.DataFrame:
    """Touches before a new-business deal, by its source.

    Marketing-sourced deals follow about 14 marketing touches in the 90
    days before, rising towards creation. SDR-sourced deals follow about 15
    SDR touches in the 45 days before, partner deals three referral touches
    in the 30 days before, and AE-sourced deals three AE touches in the 20
    days before. Bigger accounts get slightly more.
    """
    new_business = deals[deals["kind"] == "new_business"]
    plans = {
        "marketing": (90, 14.0, 2.5),
        "sdr": (45, 15.0, 1.0),
        "partner": (30, 3.0, 0.5),
        "ae": (20, 3.0, 0.0),
    }
    frames = []
    for source, (days, expected, tilt) in plans.items():
        sourced = new_business[new_business["source"] == source]
        account = sourced["account"].to_numpy()
        end = np.floor(sourced["created"].to_numpy())
        scale = accounts.size_factor[account] ** 0.1
        frames.append(
            _segments(
                account, end - days, end, expected * scale, tilt, f"sourcing_{source}"
            )
        )
    return pd.concat(frames, ignore_index=True)


def _deal_segments(deals: pd.DataFrame) -> pd.DataFrame:
    """Sales activity from a deal's creation to the close of its path.

    New business gets about 4 touches a week at 15,000 USD a year, and more
    for larger deals. Expansions get 2.5 a week, and renewals 2 when heading
    for a win or 0.3 when heading for a loss. Activity rises before a win
    (tilt 2 for new business, 1.5 for customers) and fades before a loss.
    Deals still open at the end date lose the touches drawn past it.
    """
    kind = deals["kind"].to_numpy()
    won = deals["won"].to_numpy()
    start = np.floor(deals["created"].to_numpy())
    end = deals["final_day"].to_numpy() + 1.0
    weeks = (end - start) / 7

    new_business = kind == "new_business"
    weekly = np.where(
        new_business, 4.0 * (deals["acv"].to_numpy() / 15_000) ** 0.15, 2.5
    )
    weekly = np.where((kind == "renewal") & ~won, 0.3, weekly)
    weekly = np.where((kind == "renewal") & won, 2.0, weekly)
    tilt = np.where(
        won, np.where(new_business, 2.0, 1.5), np.where(new_business, -0.8, -1.5)
    )
    mix = np.where(new_business, "deal_new", "deal_customer")
    return _segments(deals["account"].to_numpy(), start, end, weekly * weeks, tilt, mix)


def _customer_segments(terms: pd.DataFrame, accounts: AccountDraw) -> pd.DataFrame:
    """Customer success touches during each contract term.

    About 4 touches a month at median size, steady through the term. In a
    term whose renewal is lost they average 4.5 a month but fade with tilt
    -3.5, so the last weeks see about 3% of the rate of the first weeks.
    """
    account = terms["account"].to_numpy().astype("int64")
    start = month_start(terms["start_month"].to_numpy()).astype(float)
    end = month_start(terms["end_month"].to_numpy()).astype(float)
    churn = terms["renewal"].to_numpy() == "lost"
    monthly = np.where(churn, 4.5, 4.0) * accounts.size_factor[account] ** 0.2
    expected = monthly * (end - start) / 30.44
    tilt = np.where(churn, -3.5, 0.0)
    return _segments(account, start, end, expected, tilt, "customer")


def _draw_touches(
    rng: np.random.Generator,
    segments: pd.DataFrame,
    accounts: AccountDraw,
    end_day: int,
    scale: float,
) -> pd.DataFrame:
    """Draw touch days and kinds from the segments, dropping out-of-range ones."""
    counts = rng.poisson(segments["expected"].to_numpy() * scale)
    row = np.repeat(np.arange(len(segments)), counts)
    start = segments["start"].to_numpy()[row]
    length = segments["end"].to_numpy()[row] - start
    fraction = tilted_fractions(rng, segments["tilt"].to_numpy()[row])
    day = np.floor(start + fraction * length)
    account = segments["account"].to_numpy()[row]
    kind = _draw_kinds(rng, segments["mix"].to_numpy()[row])

    marketing = np.array([entry[0] == "marketing" for entry in KINDS])[kind]
    weekend = (day + 3) % 7 >= 5  # day 0, 1970-01-01, was a Thursday
    keep_share = np.where(marketing, WEEKEND_KEEP["marketing"], WEEKEND_KEEP["sales"])
    keep = ~weekend | (rng.random(len(day)) < keep_share)
    keep &= (day <= end_day) & (day > np.floor(accounts.created[account]))
    return pd.DataFrame(
        {"account": account[keep], "day": day[keep], "kind": kind[keep]}
    )


def _draw_kinds(rng: np.random.Generator, mix: np.ndarray) -> np.ndarray:
    """Draw a touch kind (index into ``KINDS``) for each touch from its mix."""
    kind = np.empty(len(mix), dtype="int64")
    for code, name in enumerate(MIX_NAMES):
        rows = np.flatnonzero(mix == code)
        options = np.array([KINDS.index(entry) for entry, _ in MIXES[name]])
        weights = np.array([weight for _, weight in MIXES[name]], dtype=float)
        kind[rows] = rng.choice(options, size=len(rows), p=weights / weights.sum())
    return kind


def _build_touchpoints(
    rng: np.random.Generator, touches: pd.DataFrame, accounts: AccountDraw
) -> pd.DataFrame:
    """Add time, contact and campaign, sort by time and number the touches.

    Touches are numbered in order of time, then account. Touches of one
    account in the same second keep the order in which they were drawn.
    """
    account = touches["account"].to_numpy()
    kind = touches["kind"].to_numpy()
    occurred = business_time(rng, touches["day"].to_numpy(), accounts.region[account])
    seconds = np.round(occurred * SECONDS_PER_DAY).astype("int64")

    # Touches favour the first contacts of an account, its main buyers.
    position = np.floor(accounts.contacts[account] * rng.random(len(account)) ** 1.8)
    contact = accounts.first_contact[account] + position.astype("int64")
    anonymous_kinds = [
        code for code, entry in enumerate(KINDS) if entry[2] in ANONYMOUS
    ]
    anonymous = np.isin(kind, anonymous_kinds)
    anonymous &= rng.random(len(kind)) < ANONYMOUS_SHARE
    program = _draw_programs(rng, kind)

    order = np.argsort(seconds * len(accounts.contacts) + account, kind="stable")
    kind = kind[order]
    contact_id = format_ids("C", contact[order], 7)
    contact_id = contact_id.mask(anonymous[order])
    return pd.DataFrame(
        {
            "touch_id": format_ids("T", np.arange(1, len(order) + 1), 7),
            "account_id": take_text(accounts.frame["account_id"], account[order]),
            "contact_id": contact_id,
            "occurred_at": to_timestamps(seconds[order] / SECONDS_PER_DAY),
            "channel": decode_labels([entry[1] for entry in KINDS], kind),
            "function": decode_labels([entry[0] for entry in KINDS], kind),
            "campaign": _campaign_names(program[order], seconds[order]),
            "touch_type": decode_labels([entry[2] for entry in KINDS], kind),
        }
    )


def _draw_programs(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    """Draw a campaign program (index into ``PROGRAM_NAMES``) or -1 for none."""
    program = np.full(len(kind), -1, dtype="int64")
    draw = rng.random(len(kind))
    for code, (function, channel, _) in enumerate(KINDS):
        rows = np.flatnonzero(kind == code)
        if function == "sdr" and channel in ("outbound_email", "call"):
            chosen = rows[draw[rows] < OUTBOUND_CAMPAIGN_SHARE]
            program[chosen] = PROGRAM_NAMES.index(OUTBOUND_PROGRAM)
        elif function in ("marketing", "partner") and channel in PROGRAMS:
            names = np.array([PROGRAM_NAMES.index(name) for name in PROGRAMS[channel]])
            program[rows] = names[np.floor(draw[rows] * len(names)).astype("int64")]
    return program


def _campaign_names(program: np.ndarray, seconds: np.ndarray) -> pd.Series:
    """Name each touch's campaign after the quarter it happened in."""
    quarter = month_of(seconds / SECONDS_PER_DAY) // 3
    code = np.where(program >= 0, quarter * len(PROGRAM_NAMES) + program, -1)
    unique, inverse = np.unique(code, return_inverse=True)
    labels = []
    for value in unique:
        quarter_number, program_code = divmod(int(max(value, 0)), len(PROGRAM_NAMES))
        year, quarter_of_year = divmod(quarter_number, 4)
        labels.append(
            f"{1970 + year}-Q{quarter_of_year + 1} {PROGRAM_NAMES[program_code]}"
        )
    return decode_labels(labels, np.where(code >= 0, inverse, -1))
