"""Tables, cards and chart frames of the tiering and health sections.

Each function takes an open :class:`~acctlib.workspace.Workspace` and
returns a styled table, cards, a note or a small aggregated frame for a
chart in :mod:`acctlib.accountcharts`, so a notebook cell is one call.
"""

from __future__ import annotations

import functools
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
from IPython.display import HTML

from acctlib import (
    accountcharts,
    charts,
    dealowners,
    engine,
    healthdiagnostics,
    healthvalidation,
    progression,
    schema,
    tables,
    tiering,
)
from acctlib.labels import WON_PLUS_WEIGHTED_OPEN_ACV, join_words, readable_column
from acctlib.summary import count_gap_accounts
from acctlib.tiering import TIER_LABELS
from acctlib.views import has_touchpoints, kpi_cards, note, value_measures_note
from acctlib.workspace import Workspace

MAX_SCATTER_POINTS = 1000
"""Accounts in the value-against-health scatter: flagged first, then by value.

With a thousand points the health page of 100,000 accounts stays near
the size of the 2,000-account sample's page.
"""
MAX_LISTED_ACCOUNTS = 100
"""Rows of an account list on the page; a CSV file beside it has every row.

Lists grow with the accounts, so without a limit the health page of
100,000 accounts was 42 MB. At 100 rows the sample's lists reach the
limit too, and the two pages differ by a few percent.
"""
MAX_LABELS = accountcharts.MAX_LABELS
"""Named accounts on the value-against-health scatter."""

# CSV files the build writes beside the pages with every row of a list
# that the health page cuts to MAX_LISTED_ACCOUNTS or KEY_ACCOUNTS_FOLDED.
AT_RISK_CSV = "at_risk_accounts.csv"
EXPANSION_READY_CSV = "expansion_ready_accounts.csv"
KEY_ACCOUNTS_CSV = "key_accounts.csv"
COVERAGE_GAPS_CSV = "coverage_gaps.csv"

LABELS = {
    "name": "Account",
    "owner": "Owner",
    "status": "Status",
    "tier_label": "Tier",
    "fit_score": "Fit",
    "value_score": "Value score",
    "engagement_score": "Engagement",
    "value_amount": WON_PLUS_WEIGHTED_OPEN_ACV,
    "reason": "Why this tier",
    "health_score": "Health",
    "health_change": "Change since last month",
    "drivers": "What moved it (health points)",
    "risk_reason": "Why at risk",
    "engagement_direction": "Engagement",
    "breadth_direction": "Breadth",
    "accounts": "Accounts",
    "open_pipeline": "Open pipeline",
    "bookings_12m": "Bookings, 12 months",
    "revenue": "Revenue, 12 months",
    "accounts_share": "Share of accounts",
    "open_pipeline_share": "Share of pipeline",
    "bookings_12m_share": "Share of bookings",
    "revenue_share": "Share of revenue",
    "win_rate": "Win rate, 12 months",
    "cycle_days": "Cycle (days)",
    "gap": "Gap",
    "open_opportunity": "Largest open opportunity",
    "stage": "Stage",
    "open_amount": "Amount",
    "marketing_30d": "Marketing, 30 days (campaign, channel, touches)",
    "at_risk": "At risk",
    "expansion_ready": "Expansion ready",
    "changes": "Since last month",
}


def tier_cards(ws: Workspace) -> Any:
    """Return cards of accounts: per tier, at risk, expansion ready, with gaps.

    Every card counts accounts. The coverage-gap count is taken from the
    ``coverage_gaps`` table, which has a row per gap, so an account with
    two gaps counts once. Without a touchpoints table, the at-risk,
    expansion and coverage cards carry a caveat, because the touch half of
    their rules cannot be checked. When health ranked wins or churn worse
    than chance, a non-zero at-risk card carries that caveat, because the
    at-risk list is ordered by health.
    """
    touched = has_touchpoints(ws)
    by_tier = ws.headline.get("accounts_by_tier", {})
    cards = [
        {"label": label, "value": tables.format_count(by_tier.get(label, 0))}
        for label in TIER_LABELS.values()
    ]
    caveats = {
        "At risk (Tier 1-2)": "stalled deals only: no touch data",
        "Expansion ready": "needs touch data, which the source lacks",
        "Accounts with coverage gaps": "owners and open deals only: no touch data",
    }
    for key, label in (
        ("accounts_at_risk", "At risk (Tier 1-2)"),
        ("accounts_expansion_ready", "Expansion ready"),
    ):
        cards.append(
            {"label": label, "value": tables.format_count(ws.headline.get(key))}
        )
    gap_accounts = None
    if ws.has_table("coverage_gaps"):
        gap_accounts = count_gap_accounts(ws.table("coverage_gaps"))
    cards.append(
        {
            "label": "Accounts with coverage gaps",
            "value": tables.format_count(gap_accounts),
        }
    )
    if not touched:
        for card in cards:
            card["caveat"] = caveats.get(card["label"], "")
    if ws.headline.get("accounts_at_risk") and _health_aucs_below_chance(ws.headline):
        risk_card = next(c for c in cards if c["label"] == "At risk (Tier 1-2)")
        risk_card["caveat"] = "listed by health, which ranked outcomes below chance"
    return kpi_cards(cards)


def _health_aucs(headline: dict) -> dict[str, float | None]:
    """Return the AUC of health for ``win`` and ``churn`` from the headline."""
    return {
        outcome: headline.get(f"health_auc_{outcome}") for outcome in ("win", "churn")
    }


def _health_aucs_below_chance(headline: dict) -> bool:
    """Return whether health ranked wins or churn worse than chance."""
    aucs = _health_aucs(headline).values()
    return any(healthvalidation.is_below_chance(auc) for auc in aucs)


def tier_pyramid_frame(ws: Workspace) -> pd.DataFrame:
    """Return ``tier_label``, ``accounts`` and ``value`` per tier, Tier 1 first.

    ``value`` is missing for a tier whose accounts all have an unknown
    ``value_amount``, and 0 for a tier without accounts.
    """
    tiers = ws.table("account_tiers")
    groups = tiers.groupby("tier")
    grouped = pd.DataFrame(
        {
            "accounts": groups["account_id"].size(),
            "value": groups["value_amount"].sum(min_count=1),
        }
    )
    grouped = grouped.reindex(list(TIER_LABELS), fill_value=0).reset_index()
    grouped["tier_label"] = grouped["tier"].map(TIER_LABELS)
    return grouped


def tier_shares_table(ws: Workspace) -> Any:
    """Return each tier's share of accounts, pipeline, bookings and revenue.

    The shares are of the figures on accounts. A note below the table names
    the amounts on deals without an account, which the shares leave out,
    and, without revenue figures, why the revenue share is empty.
    """
    shares = ws.table("tier_shares")
    columns = [
        "tier_label",
        "accounts",
        "accounts_share",
        "open_pipeline_share",
        "bookings_12m_share",
        "revenue_share",
        "win_rate",
        "cycle_days",
    ]
    table = tables.style_table(
        shares[columns],
        counts=["accounts", "cycle_days"],
        percents=[
            "accounts_share",
            "open_pipeline_share",
            "bookings_12m_share",
            "revenue_share",
            "win_rate",
        ],
        labels=LABELS,
    )
    sentences = _shares_left_out(ws, shares)
    if shares["revenue_share"].isna().all():
        reason = (
            ws.headline.get("revenue_12m_missing_reason") or "No revenue in 12 months"
        )
        sentences.append(f"Share of revenue is left empty: {reason.lower()}.")
    if not sentences:
        return table
    return HTML(table.to_html() + note(" ".join(sentences)).data)


# Figures whose tier shares leave out deals without an account: the column
# of tier_shares and account_map, the share's label and the figure's name.
_SHARED_FIGURES = (
    ("open_pipeline", "Share of pipeline", "open pipeline"),
    ("bookings_12m", "Share of bookings", "bookings in 12 months"),
)


def _shares_left_out(ws: Workspace, shares: pd.DataFrame) -> list[str]:
    """Return a sentence per share that leaves out deals without an account.

    Each names the amount on accounts that the share is taken over, the
    amount left out and their sum, which is the whole figure of the report.
    """
    account_map = ws.table("account_map")
    orphan = account_map[account_map["account_id"] == schema.NO_ACCOUNT]
    sentences = []
    for column, label, figure in _SHARED_FIGURES:
        left_out = float(orphan[column].sum())
        if not left_out:
            continue
        on_accounts = float(shares[column].sum())
        total = on_accounts + left_out
        sentences.append(
            f"{label} is taken over the "
            f"{tables.format_money(on_accounts, ws.currency)} of {figure} on "
            f"accounts. It leaves out {tables.format_money(left_out, ws.currency)} "
            f"on deals without an account, so the whole {figure} is "
            f"{tables.format_money(total, ws.currency)}."
        )
    return sentences


def tier_accounts_table(ws: Workspace, tier: int, n: int = 25) -> Any:
    """Return the ``n`` accounts of one tier with the highest value, with reasons."""
    tiers = ws.table("account_tiers")
    frame = tiers[tiers["tier"] == tier].sort_values(
        ["value_amount", "account_id"], ascending=[False, True]
    )
    if frame.empty:
        return note(f"No account is in {TIER_LABELS[tier]}.")
    columns = [
        "name",
        "owner",
        "status",
        "fit_score",
        "value_score",
        "engagement_score",
        "value_amount",
        "reason",
    ]
    score_columns = [f"{name}_score" for name in tiering.SCORES]
    styled = tables.style_table(
        readable_column(frame.head(n)[columns], "status"),
        currency=ws.currency,
        money=["value_amount"],
        counts=score_columns,
        labels=LABELS,
    )
    # Scores read as the tier reasons write them, so that 49.9 does not
    # show as 50 under a threshold of 50.
    thresholds = tiering.score_thresholds(
        tiering.parse_tier_rules(ws.params["tier_rules"])
    )
    for name in tiering.SCORES:
        formatter = functools.partial(tiering.format_score, thresholds=thresholds[name])
        styled = styled.format(formatter, subset=[f"{name}_score"], na_rep="–")
    if tier != 1:
        return styled
    # Other pages show the same accounts' won + open ACV, in full. The page
    # explains it once, at its first tier table.
    return HTML(value_measures_note().data + styled.to_html())


def tier_movers_table(ws: Workspace, n: int = 40) -> Any:
    """Return the accounts whose tier changed since last month and why."""
    movers = ws.table("tier_movers")
    if movers.empty:
        return note("No account changed tier since the previous month-end.")
    frame = movers.head(n).copy()
    frame["move"] = (
        "Tier " + frame["from_tier"].astype(str) + " → " + frame["to_tier"].astype(str)
    )
    columns = [
        "name",
        "move",
        "moved_by",
        "fit_change",
        "value_change",
        "engagement_change",
    ]
    return tables.style_table(
        frame[columns],
        labels={
            "name": "Account",
            "move": "Move",
            "moved_by": "Score that moved it",
            "fit_change": "Fit change",
            "value_change": "Value score change",
            "engagement_change": "Engagement change",
        },
    )


def transitions_frame(ws: Workspace) -> pd.DataFrame:
    """Return the tier transition counts (month and year)."""
    return ws.table("tier_transitions")


def sensitivity_table(ws: Workspace) -> Any:
    """Return tier counts with each threshold moved by -10% and +10%."""
    frame = ws.table("tier_sensitivity")
    frame = frame.assign(threshold=frame["threshold"].map(_threshold_label))
    return tables.style_table(
        frame,
        counts=["tier_1", "tier_2", "tier_3", "tier_4", "accounts_moved"],
        percents=["change"],
        labels={
            "threshold": "Threshold",
            "change": "Change",
            "base": "Threshold now",
            "value": "Moved to",
            "tier_1": "Tier 1",
            "tier_2": "Tier 2",
            "tier_3": "Tier 3",
            "tier_4": "Tier 4",
            "accounts_moved": "Accounts changing tier",
        },
    )


def _threshold_label(code: str) -> str:
    """Return "Tier 1 fit" for a threshold code such as ``tier_1.fit``."""
    tier, _, score = str(code).partition(".")
    if not tier.startswith("tier_") or not score:
        return str(code)
    return f"Tier {tier.removeprefix('tier_')} {score.replace('_', ' ')}"


def health_distribution_frame(ws: Workspace) -> pd.DataFrame:
    """Return accounts per 10-point health bin and tier, scored accounts only."""
    health = ws.table("account_health")
    health = health[health["health_score"].notna()]
    bins = (np.floor(health["health_score"].clip(0, 99.9) / 10) * 10).astype(int)
    frame = health.assign(bin_start=bins, tier_label=health["tier"].map(TIER_LABELS))
    return (
        frame.groupby(["bin_start", "tier_label"], as_index=False)
        .size()
        .rename(columns={"size": "accounts"})
    )


def unscored_health_note(ws: Workspace) -> Any:
    """Return a note counting accounts without a health score, or None."""
    health = ws.table("account_health")
    unscored = int(health["health_score"].isna().sum())
    if unscored == 0:
        return None
    noun, verb = ("account has", "is") if unscored == 1 else ("accounts have", "are")
    return note(
        f"{unscored:,} {noun} no health score and {verb} left out of the "
        "chart: the source has no data for any component of their profile's "
        "health weights."
    )


def constant_components_note(ws: Workspace) -> Any:
    """Return a note naming the health components that do not separate accounts.

    Returns None when every component separates accounts (see
    :func:`acctlib.healthdiagnostics.find_constant_components`).
    """
    constant = healthdiagnostics.find_constant_components(
        ws.table("account_health"), ws.params["health_weights"]
    )
    text = healthdiagnostics.describe_constant_components(constant)
    return note(text) if text else None


def widespread_risk_note(ws: Workspace) -> Any:
    """Return a note on why nearly every Tier 1 and 2 account is at risk, or None.

    See :func:`acctlib.healthdiagnostics.describe_widespread_risk` for when
    the note appears.
    """
    text = _describe_widespread_risk(ws)
    return note(text) if text else None


def _describe_widespread_risk(ws: Workspace) -> str:
    if not ws.has_table("opportunity_progression"):
        return ""
    health = ws.table("account_health")
    reasons = healthdiagnostics.summarize_risk_reasons(
        health,
        ws.table("opportunity_progression"),
        late_probability=ws.params["late_stage_probability"],
    )
    return healthdiagnostics.describe_widespread_risk(health, reasons)


def value_health_frame(ws: Workspace) -> pd.DataFrame:
    """Return value and health per valued, scored account for the scatter.

    Flagged accounts come first; the ``MAX_LABELS`` most valuable of them
    carry their name as ``label``. :func:`value_health_note` counts the
    accounts left out.
    """
    frame = _value_health_accounts(ws)
    frame = frame[(frame["value_amount"] > 0) & frame["health_score"].notna()]
    frame["flag"] = np.where(
        frame["at_risk"],
        "at risk",
        np.where(frame["expansion_ready"], "expansion ready", "none"),
    )
    frame["flagged"] = frame["flag"] != "none"
    frame = frame.sort_values(
        ["flagged", "value_amount", "account_id"], ascending=[False, False, True]
    )
    labelled = frame["flagged"] & (frame["flagged"].cumsum() <= MAX_LABELS)
    frame["label"] = np.where(labelled, frame["name"], "")
    columns = ["name", "value_amount", "health_score", "flag", "label"]
    return frame.head(MAX_SCATTER_POINTS)[columns].reset_index(drop=True)


def value_health_note(ws: Workspace) -> Any:
    """Return a note counting the accounts the value-against-health scatter leaves out.

    Returns None when every account is plotted. An account without value
    is counted once, even when it has no health score either.
    """
    frame = _value_health_accounts(ws)
    unknown_value = frame["value_amount"].isna()
    no_value = ~(frame["value_amount"] > 0) & ~unknown_value
    no_health = ~no_value & ~unknown_value & frame["health_score"].isna()
    plottable = int((~no_value & ~unknown_value & ~no_health).sum())
    over_limit = max(plottable - MAX_SCATTER_POINTS, 0)

    sentences = []
    if unknown_value.any():
        sentences.append(
            f"The chart leaves out {_count_accounts(int(unknown_value.sum()))} "
            "whose won + weighted open ACV is unknown, because none of their "
            "won contracts or open deals has an amount."
        )
    if no_value.any():
        sentences.append(
            f"The chart leaves out {_count_accounts(int(no_value.sum()))} whose "
            "won + weighted open ACV is zero or less, because a log scale cannot "
            "show it."
        )
    if no_health.any():
        sentences.append(
            f"The chart leaves out {_count_accounts(int(no_health.sum()))} "
            "without a health score."
        )
    if over_limit:
        sentences.append(
            f"The chart shows at most {_count_accounts(MAX_SCATTER_POINTS)}, "
            "flagged ones first and then the most valuable, so it leaves out "
            f"{_count_accounts(over_limit, 'other account')}."
        )
    return note(" ".join(sentences)) if sentences else None


def _value_health_accounts(ws: Workspace) -> pd.DataFrame:
    """Return every account's health row with its ``value_amount``."""
    health = ws.table("account_health")
    tiers = ws.table("account_tiers")[["account_id", "value_amount"]]
    return health.merge(tiers, on="account_id")


def _count_accounts(count: int, noun: str = "account") -> str:
    """Return ``count`` with ``noun``, adding an s unless the count is 1."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def at_risk_frame(ws: Workspace) -> pd.DataFrame:
    """Return every at-risk account with the reason, Tier 1 and lowest health first."""
    order = ["tier", "health_score", "account_id"]
    return _flagged_accounts(ws, "at_risk", order, ["risk_reason"])


def _flagged_accounts(
    ws: Workspace, flag: str, order: list[str], extra: list[str]
) -> pd.DataFrame:
    """Return the accounts whose health flag ``flag`` is set, sorted by ``order``."""
    health = ws.table("account_health")
    frame = health[health[flag]].sort_values(order)
    frame = frame.assign(tier_label=frame["tier"].map(TIER_LABELS))
    columns = [
        "account_id",
        "name",
        "owner",
        "tier_label",
        "health_score",
        "health_change",
        *extra,
    ]
    return frame[columns].reset_index(drop=True)


def at_risk_table(ws: Workspace) -> Any:
    """Return the at-risk Tier 1 and 2 accounts with the reason."""
    frame = at_risk_frame(ws)
    if frame.empty:
        return note("No Tier 1 or Tier 2 account is at risk.")
    listing = _account_list(
        frame.drop(columns="account_id"), AT_RISK_CSV, "at-risk accounts"
    )
    warning = healthvalidation.describe_below_chance(_health_aucs(ws.headline))
    if not warning:
        return listing
    body = listing.data if isinstance(listing, HTML) else listing.to_html()
    return HTML(note(warning).data + body)


def at_risk_weekly_frame(ws: Workspace, tier: int = 1, n: int = 12) -> pd.DataFrame:
    """Return weekly touches of up to ``n`` at-risk accounts of ``tier``."""
    health = ws.table("account_health")
    risky = health[health["at_risk"] & (health["tier"] == tier)]
    risky = risky.sort_values(["health_score", "account_id"]).head(n)
    # The weekly table has 12 rows per engaged account; only the chosen
    # accounts' rows leave the engine.
    table = ws.con.table("account_weekly_touches")
    if risky.empty:
        table = table.limit(0)
    else:
        table = table.filter(table.account_id.isin(list(risky["account_id"])))
    with engine.quiet_conversions():
        weekly = table.to_pandas()
    frame = weekly.merge(risky[["account_id", "name"]], on="account_id")
    return frame.sort_values(["name", "week"]).reset_index(drop=True)


def engagement_small_multiples(ws: Workspace) -> Any:
    """Return the small multiples of at-risk Tier 1 accounts, or a note."""
    frame = at_risk_weekly_frame(ws)
    if frame.empty:
        health = ws.table("account_health")
        at_risk = (health["at_risk"] & (health["tier"] == 1)).any()
        if at_risk and not has_touchpoints(ws):
            return note(
                "The source has no touchpoints table, so there is no weekly "
                "engagement to chart for the at-risk Tier 1 accounts."
            )
        if at_risk:
            return note(
                "The at-risk Tier 1 accounts have no touches in the last 12 "
                "weeks, so there is no weekly engagement to chart."
            )
        return note("No Tier 1 account is at risk.")
    return _chart_block(accountcharts.plot_engagement_small_multiples(frame))


def expansion_frame(ws: Workspace) -> pd.DataFrame:
    """Return every expansion-ready customer, by tier."""
    return _flagged_accounts(ws, "expansion_ready", ["tier", "account_id"], [])


def expansion_table(ws: Workspace) -> Any:
    """Return expansion-ready customers: engagement and breadth rising."""
    frame = expansion_frame(ws)
    if frame.empty and not has_touchpoints(ws):
        return note(
            "The source has no touchpoints table, so no customer can show "
            "rising engagement and breadth, and none is marked expansion ready."
        )
    if frame.empty:
        return note("No customer has both rising engagement and rising breadth.")
    return _account_list(
        frame.drop(columns="account_id"),
        EXPANSION_READY_CSV,
        "expansion-ready accounts",
    )


def drivers_table(ws: Workspace, n: int = 30) -> Any:
    """Return accounts whose health moved beyond the noise band, largest first."""
    health = ws.table("account_health")
    moved = health[health["drivers"] != ""].copy()
    if moved.empty:
        return note("No account's health moved beyond the noise band since last month.")
    moved["size"] = moved["health_change"].abs()
    moved = moved.sort_values(["size", "account_id"], ascending=[False, True])
    shown = moved.head(n)
    shown = shown.assign(tier_label=shown["tier"].map(TIER_LABELS))
    columns = ["name", "tier_label", "health_score", "health_change", "drivers"]
    return tables.style_table(
        shown[columns],
        changes=["health_change"],
        labels=LABELS,
        caption=_describe_moved_health(len(moved), len(shown), ws),
    )


def _describe_moved_health(moved: int, shown: int, ws: Workspace) -> str:
    """Return how many accounts moved beyond the noise band and how many are shown."""
    band = ws.params["health_noise_band"]
    subject = "1 account's health" if moved == 1 else f"{moved:,} accounts' health"
    text = f"{subject} moved by more than {band:g} points since last month."
    if shown < moved:
        text += f" The table shows the {shown:,} largest moves."
    return text


def stage_durations_frame(ws: Workspace) -> pd.DataFrame:
    """Return the stage duration quantiles (empty without stage history)."""
    return ws.table("stage_durations")


def stage_table(ws: Workspace) -> Any:
    """Return stage durations and stage-to-stage conversion side by side."""
    durations = ws.table("stage_durations")
    if durations.empty:
        return note("No stage history: stage durations and conversion are left out.")
    frame = durations.merge(
        ws.table("stage_conversion")[["stage", "entered", "conversion"]],
        on="stage",
        how="left",
    )
    # A stage with too few visits, or whose q3 is under one day, has no
    # stall threshold, so its cell is empty.
    min_visits = ws.params["stall_min_visits"]
    thresholds = progression.compute_stall_thresholds(durations, min_visits)
    frame["q3"] = frame["stage"].map(thresholds)
    columns = ["stage", "visits", "median", "q3", "entered", "conversion"]
    # Only the day columns are rounded: the conversion shares keep their
    # precision until they are shown as percentages.
    frame = frame[columns].round({"median": 1, "q3": 1})
    table = tables.style_table(
        frame,
        counts=["visits", "entered"],
        percents=["conversion"],
        labels={
            "stage": "Stage",
            "visits": "Completed visits",
            "median": "Median days",
            "q3": "Stall threshold (75th percentile, days)",
            "entered": "Opportunities entered",
            "conversion": "Reached a later stage or won",
        },
    )
    notes = [_conversion_note(ws.stage_map, frame["stage"])]
    without_threshold = durations[~durations["stage"].isin(thresholds)]
    few = without_threshold["visits"] < min_visits
    if few.any():
        stages = without_threshold.loc[few, "stage"].tolist()
        notes.append(_few_visits_note(stages, min_visits))
    if (~few).any():
        notes.append(_short_threshold_note(without_threshold.loc[~few, "stage"]))
    return HTML(table.to_html() + note(" ".join(notes)).data)


def _conversion_note(stage_map: dict[str, Any], stages: pd.Series) -> str:
    """Return what the conversion share counts.

    When ``stages`` include the last open stage of ``stage_map``, the note
    adds that its share is the share won.
    """
    text = (
        "Reached a later stage or won is the share of the opportunities that "
        "entered a stage which then entered a later open stage or a won stage, "
        "counting those still open as not yet moved on."
    )
    open_stages = [s for s, entry in stage_map.items() if entry["category"] == "open"]
    if not open_stages:
        return text
    last = max(open_stages, key=lambda stage: stage_map[stage]["order"])
    if last not in set(stages):
        return text
    return (
        f"{text} From {last}, the last open stage, the only way on is a win, so "
        "its share is the share of its opportunities that were won."
    )


def _stages_subject(stages: list[str]) -> tuple[str, str, str]:
    """Return the subject, possessive and object pronoun that name ``stages``."""
    if len(stages) == 1:
        return f"Stage {stages[0]} has", "its", "it"
    return f"Stages {join_words(stages)} have", "their", "them"


def _few_visits_note(stages: list[str], min_visits: int) -> str:
    """Return why ``stages``, with fewer than ``min_visits`` visits, flag no stall."""
    subject, _, them = _stages_subject(stages)
    visits = "visit" if min_visits == 1 else "visits"
    return (
        f"{subject} no stall threshold, because fewer than {min_visits:,} "
        f"completed {visits} give no usual time in the stage, so no deal in "
        f"{them} is flagged as stalled. The parameter stall_min_visits sets "
        "this minimum."
    )


def _short_threshold_note(stages: list[str]) -> str:
    """Return why ``stages``, whose 75th percentile is under a day, flag no stall."""
    subject, owner, them = _stages_subject(list(stages))
    return (
        f"{subject} no stall threshold, because the 75th percentile of {owner} "
        "completed visits is under one day. A threshold that short would flag "
        f"nearly every open deal in {them} as stalled, so none is flagged, as "
        "in a stage without completed visits."
    )


def stalled_table(ws: Workspace, n: int = 30) -> Any:
    """Return open opportunities stalled in their stage, longest over first.

    Each is named by its ID, because sources such as Maven name deals after
    their product. The name column is left out when every name repeats the
    ID.
    """
    opps = ws.table("opportunity_progression")
    stalled = opps[opps["stalled"]].copy()
    if stalled.empty:
        return note("No open opportunity is stalled.")
    stalled["over"] = stalled["days_in_stage"] - stalled["stall_threshold_days"]
    stalled = stalled.sort_values(["over", "opportunity_id"], ascending=[False, True])
    names = ws.table("account_tiers")[["account_id", "name", "tier_label"]]
    frame = stalled.head(n).merge(
        names.rename(columns={"name": "account"}), on="account_id", how="left"
    )
    columns = [
        "opportunity_id",
        "name",
        "account",
        "tier_label",
        "stage_asof",
        "amount",
        "days_in_stage",
        "stall_threshold_days",
    ]
    if frame["name"].fillna(frame["opportunity_id"]).eq(frame["opportunity_id"]).all():
        columns.remove("name")
    return tables.style_table(
        frame[columns].round(1),
        currency=ws.currency,
        money=["amount"],
        counts=["days_in_stage", "stall_threshold_days"],
        labels={
            "opportunity_id": "Opportunity ID",
            "name": "Name",
            "account": "Account",
            "tier_label": "Tier",
            "stage_asof": "Stage",
            "amount": "Amount",
            "days_in_stage": "Days in stage",
            "stall_threshold_days": "Stall threshold (days)",
        },
    )


# Key accounts shown before the rest of the list is folded away.
KEY_ACCOUNTS_SHOWN = 25
KEY_ACCOUNTS_FOLDED = 500
"""Rows of the folded key-account list; a CSV file beside it has every row."""


def velocity_table(ws: Workspace, grouping: str = "tier_label") -> Any:
    """Return pipeline velocity per tier or per industry.

    Won deals closed before their creation date are left out of the cycle
    length, and won deals with an amount of zero or less or without an
    amount out of win rate, average won deal and cycle length. A note below
    the table counts each. In a slice whose deals differ from its owners'
    deals, the note starts by saying that velocity covers the slice's
    accounts.
    """
    velocity = ws.table("pipeline_velocity")
    frame = velocity[velocity["grouping"] == grouping].drop(columns="grouping")
    cycle_left_out = _sum_column(frame, "cycle_left_out")
    amount_left_out = _sum_column(frame, "amount_left_out")
    no_amount_left_out = _sum_column(frame, "no_amount_left_out")
    frame = frame.drop(
        columns=["cycle_left_out", "amount_left_out", "no_amount_left_out"],
        errors="ignore",
    )
    table = tables.style_table(
        frame,
        currency=ws.currency,
        money=["average_deal", "velocity_per_month"],
        counts=["open_opportunities", "cycle_days"],
        percents=["win_rate"],
        labels={
            "group": "Tier" if grouping == "tier_label" else grouping.capitalize(),
            "open_opportunities": "Open opportunities",
            "win_rate": "Win rate, 12 months",
            "average_deal": "Average won deal",
            "cycle_days": "Cycle (days)",
            "velocity_per_month": "Pipeline velocity per month",
        },
    )
    notes = []
    basis = _describe_slice_basis(ws)
    if basis:
        notes.append(basis)
    amount_note = _describe_amount_left_out(amount_left_out, no_amount_left_out)
    if amount_note:
        notes.append(amount_note)
    if cycle_left_out:
        deals = "won deal" if cycle_left_out == 1 else "won deals"
        notes.append(
            f"The cycle length leaves out {cycle_left_out:,} {deals} with a "
            "close date before the creation date. The data-quality findings "
            "list them as closed before created."
        )
    if not notes:
        return table
    return HTML(table.to_html() + note(" ".join(notes)).data)


def _describe_slice_basis(ws: Workspace) -> str:
    """Return the caption of a slice's velocity, or "" outside a slice."""
    label = ws.headline.get("slice")
    if not label:
        return ""
    owner = ws.headline.get("slice_owner", ws.params["owner"])
    owners = dealowners.describe_owners(owner, ws.params["team"])
    return dealowners.describe_account_basis(
        "These velocity figures", ws.headline.get("slice_deal_owners"), label, owners
    )


def _describe_amount_left_out(not_positive: int, no_amount: int) -> str:
    """Return the note on won deals that velocity leaves out for their amount.

    ``not_positive`` counts won deals with an amount of zero or less and
    ``no_amount`` those without an amount. Returns "" when both are 0.
    """
    total = not_positive + no_amount
    if not total:
        return ""
    refunds = "with an amount of zero or less, such as refunds and credits"
    missing = "without an amount"
    deals = "won deal" if total == 1 else "won deals"
    if not no_amount:
        reason = f" {refunds}"
    elif not not_positive:
        reason = f" {missing}"
    else:
        reason = f": {not_positive:,} {refunds}, and {no_amount:,} {missing}"
    return (
        f"Win rate, average won deal and cycle length leave out {total:,} "
        f"{deals} of the last 12 months{reason}, as attribution does."
    )


def _sum_column(frame: pd.DataFrame, column: str) -> int:
    """Return the sum of ``column``, or 0 in a table stored without it."""
    if column not in frame.columns:
        return 0
    return int(frame[column].sum())


def health_validation_table(ws: Workspace) -> Any:
    """Return rows, events, rate and AUC of health for wins and churn.

    An outcome without an AUC gets a note below the table with the reason.
    """
    summary = ws.table("health_validation")
    if summary.empty or summary["rows"].sum() == 0:
        return note(
            "Too little history to test health: it needs month-ends 90 days back."
        )
    reasons = _auc_missing_reasons(summary)
    warning = healthvalidation.describe_below_chance(
        dict(zip(summary["outcome"], summary["auc"], strict=True))
    )
    summary = summary.drop(columns="auc_missing_reason", errors="ignore")
    # AUC is shown to three decimals as text: a second Styler.format call
    # would drop the formats style_table set on the other columns.
    auc = summary["auc"].map(lambda value: "–" if pd.isna(value) else f"{value:.3f}")
    styled = tables.style_table(
        readable_column(summary, "outcome").assign(auc=auc),
        counts=["rows", "events", "month_ends"],
        percents=["rate"],
        labels={
            "outcome": "Outcome in the next 90 days",
            "rows": "Account-months scored",
            "events": "Events",
            "rate": "Rate",
            "auc": "AUC, 0.5 is chance",
            "month_ends": "Month-ends",
        },
    )
    sentences = [
        f"No AUC for {outcome}, because {reason}." for outcome, reason in reasons
    ]
    if warning:
        sentences.append(warning)
    if not sentences:
        return styled
    return HTML(styled.to_html() + note(" ".join(sentences)).data)


def _auc_missing_reasons(summary: pd.DataFrame) -> list[tuple[str, str]]:
    """Return (outcome, reason) for each outcome of ``summary`` without an AUC."""
    if "auc_missing_reason" not in summary.columns:
        return []
    reasons = summary["auc_missing_reason"].fillna("")
    return [
        (outcome, reason)
        for outcome, reason in zip(summary["outcome"], reasons, strict=True)
        if reason
    ]


def lift_frame(ws: Workspace) -> pd.DataFrame:
    """Return the lift by health decile for the lift chart."""
    return ws.table("health_validation_deciles")


def key_accounts_frame(ws: Workspace) -> pd.DataFrame:
    """Return every Tier 1 and Tier 2 account, Tier 1 and lowest health first.

    The at-risk and expansion-ready flags read "yes" or "no", and open
    amounts are rounded to cents.
    """
    frame = ws.table("key_accounts")
    columns = [
        "account_id",
        "name",
        "owner",
        "tier_label",
        "open_opportunity",
        "stage",
        "open_amount",
        "marketing_30d",
        "health_score",
        "at_risk",
        "expansion_ready",
        "changes",
    ]
    frame = frame[columns].copy()
    frame["open_amount"] = frame["open_amount"].round(2)
    for flag in ("at_risk", "expansion_ready"):
        frame[flag] = np.where(frame[flag].fillna(False).astype(bool), "yes", "no")
    return frame


def key_accounts_table(ws: Workspace) -> Any:
    """Return the Tier 1 and Tier 2 accounts for the review meeting.

    The first ``KEY_ACCOUNTS_SHOWN`` rows (Tier 1 first, lowest health
    first) are shown open; a longer list follows folded, up to
    ``KEY_ACCOUNTS_FOLDED`` rows. Beyond that, a note names the CSV file
    that has every row.
    """
    display_frame = key_accounts_frame(ws).drop(columns="account_id")
    if display_frame.empty:
        return note("No account is in Tier 1 or Tier 2.")
    first = tables.style_table(
        display_frame.head(KEY_ACCOUNTS_SHOWN),
        currency=ws.currency,
        money=["open_amount"],
        labels=LABELS,
    )
    if len(display_frame) <= KEY_ACCOUNTS_SHOWN:
        return first
    folded = display_frame.head(KEY_ACCOUNTS_FOLDED)
    listed = tables.style_table(
        folded, currency=ws.currency, money=["open_amount"], labels=LABELS
    )
    if len(folded) == len(display_frame):
        summary = f"All {len(display_frame):,} Tier 1 and Tier 2 accounts"
    else:
        summary = (
            f"The first {len(folded):,} of {len(display_frame):,} Tier 1 and "
            "Tier 2 accounts"
        )
    rest = _row_limit_note(
        len(folded), len(display_frame), KEY_ACCOUNTS_CSV, "Tier 1 and Tier 2 accounts"
    )
    # A folded <details> keeps the page short and needs no script to open.
    return HTML(
        f"{first.to_html()}<details class='acctlib-more'><summary>{summary}"
        f"</summary>{listed.to_html()}{rest}</details>"
    )


def coverage_gaps_table(ws: Workspace) -> Any:
    """Return Tier 1 and expansion-ready accounts without coverage."""
    gaps = ws.table("coverage_gaps")
    # Without touches, sales and marketing coverage cannot be checked.
    touched = has_touchpoints(ws)
    unchecked = note(
        "The source has no touchpoints table, so sales and marketing coverage "
        "are not checked: only missing owners and expansion-ready customers "
        "without an open opportunity are listed."
    )
    if gaps.empty:
        tiers = ws.table("account_tiers")
        if not (tiers["tier"] == 1).any():
            return note("No account is in Tier 1, so no coverage gap is listed.")
        if not touched:
            return unchecked
        return note("Every Tier 1 account has an owner, sales and marketing coverage.")
    listed = _account_list(
        gaps.drop(columns="account_id"),
        COVERAGE_GAPS_CSV,
        "coverage gaps",
    )
    body = listed.data if isinstance(listed, HTML) else listed.to_html()
    body = _gap_count_note(gaps) + body
    if touched:
        return HTML(body)
    return HTML(unchecked.data + body)


def _gap_count_note(gaps: pd.DataFrame) -> str:
    """Return a note with how many gaps the table lists and on how many accounts.

    The executive summary counts accounts with a gap, and this table has a
    row per gap, so the note gives both counts.
    """
    count = len(gaps)
    accounts = count_gap_accounts(gaps)
    gap_noun = "coverage gap" if count == 1 else "coverage gaps"
    account_noun = "account" if accounts == 1 else "accounts"
    text = f"{count:,} {gap_noun} on {accounts:,} {account_noun}"
    if count > accounts:
        text += ": one row per gap, and an account can have more than one"
    return note(f"{text}.").data


def account_lists(ws: Workspace) -> dict[str, pd.DataFrame]:
    """Return every row of each account list of the health page, by CSV file name.

    The page cuts long lists and points to these files for the rest, so the
    build writes them beside the pages. A list whose table the run did not
    prepare is left out.
    """
    builders = {
        KEY_ACCOUNTS_CSV: ("key_accounts", key_accounts_frame),
        COVERAGE_GAPS_CSV: ("coverage_gaps", lambda ws: ws.table("coverage_gaps")),
        AT_RISK_CSV: ("account_health", at_risk_frame),
        EXPANSION_READY_CSV: ("account_health", expansion_frame),
    }
    return {
        file_name: build(ws)
        for file_name, (table, build) in builders.items()
        if ws.has_table(table)
    }


def executive_highlights(ws: Workspace) -> list[Any]:
    """Return the executive summary's tier and health blocks.

    Cards with accounts per tier, at-risk, expansion-ready and coverage
    gaps, a note on why when nearly every Tier 1 and 2 account is at risk,
    the tier pyramid, and a one-line note on how well health predicted
    wins and churn.
    """
    blocks = [tier_cards(ws)]
    risk_sentence = _describe_widespread_risk(ws)
    if risk_sentence:
        blocks.append(note(risk_sentence))
    blocks.append(
        _chart_block(
            accountcharts.plot_tier_pyramid(tier_pyramid_frame(ws), ws.currency)
        )
    )
    health_sentence = _describe_health_aucs(ws.headline)
    if health_sentence:
        blocks.append(note(health_sentence))
    return blocks


def _account_list(frame: pd.DataFrame, csv_name: str, noun: str) -> Any:
    """Return the first ``MAX_LISTED_ACCOUNTS`` rows of ``frame`` as a table.

    A longer ``frame`` gets a note naming the CSV file ``csv_name`` that has
    every row, with ``noun`` naming the rows in that note.
    """
    shown = frame.head(MAX_LISTED_ACCOUNTS)
    styled = tables.style_table(shown, changes=["health_change"], labels=LABELS)
    change_note = _missing_change_note(shown)
    if len(frame) <= MAX_LISTED_ACCOUNTS and not change_note:
        return styled
    limit_note = _row_limit_note(MAX_LISTED_ACCOUNTS, len(frame), csv_name, noun)
    return HTML(styled.to_html() + change_note + limit_note)


def _missing_change_note(shown: pd.DataFrame) -> str:
    """Return a note on "–" changes, or '' when every listed account has one."""
    if "health_change" not in shown or shown["health_change"].notna().all():
        return ""
    return note(
        "A change of – means the account had no health score at the previous "
        "month-end: it was not yet in the data or had no activity to score."
    ).data


def _row_limit_note(listed: int, total: int, csv_name: str, noun: str) -> str:
    """Return a note naming the CSV file beside the report with every row, or ''."""
    if listed >= total:
        return ""
    return note(
        f"Listed: {listed:,} of {total:,} {noun}. Every row is in "
        f"{csv_name} beside this report."
    ).data


def _describe_health_aucs(headline: dict) -> str:
    """Return how well health ranked wins and churn, or '' without any result.

    An outcome without an AUC is named with the reason stored beside it.
    """
    ranked, missing = [], []
    for outcome, noun in (("win", "next-90-day wins"), ("churn", "churn")):
        auc = headline.get(f"health_auc_{outcome}")
        reason = headline.get(f"health_auc_{outcome}_missing_reason")
        if auc is not None:
            ranked.append(f"{noun} with AUC {auc:.2f}")
        elif reason:
            missing.append(f"Health has no AUC for {noun}, because {reason}.")
    sentences = []
    if ranked:
        sentences.append(
            "On the last year's month-ends, health ranked "
            + " and ".join(ranked)
            + " (0.5 is chance, 1 is perfect)."
        )
    warning = healthvalidation.describe_below_chance(_health_aucs(headline))
    if warning:
        sentences.append(warning)
    return " ".join(sentences + missing)


def _chart_block(chart: alt.TopLevelMixin) -> HTML:
    """Return a chart as a displayable block that renders offline."""
    return HTML(charts.chart_html(chart))
