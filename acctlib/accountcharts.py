"""Chart builders for tiers, progression and health.

Every builder takes an already aggregated frame from
:mod:`acctlib.accountviews` and returns an altair chart; notebooks show it
with :func:`acctlib.charts.show`. None of them receives more than a few
hundred rows, whatever the size of the data.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
from IPython.display import HTML

from acctlib.charts import count_axis, no_data_note
from acctlib.forecast.labels import lower_first
from acctlib.labels import WON_PLUS_WEIGHTED_OPEN_ACV
from acctlib.tiering import TIER_LABELS

TIER_ORDER = list(TIER_LABELS.values())
TIER_COLORS = ["#1f4e79", "#2e86c1", "#48c9b0", "#bdc3c7"]
FROM_LABELS = {0: "New", **TIER_LABELS}
MAX_LABELS = 5
"""Named accounts on the value-against-health scatter.

Flagged accounts cluster at mid health, where more names overlap into an
unreadable block; the tooltip names every point.
"""
HEALTH_BIN_STARTS = list(range(0, 100, 10))
"""Starts of the 10-point bins that ``health_distribution_frame`` counts in."""


def plot_tier_pyramid(shares: pd.DataFrame, currency: str) -> alt.Chart:
    """Centred bars per tier, Tier 1 on top: width is accounts, label is value.

    ``shares`` has ``tier_label``, ``accounts`` and ``value``, the tiers'
    ``value_amount``: won ACV plus open ACV weighted by win probability.
    A missing ``value`` is unknown, not 0: the tier's label reads "value
    unknown" and the subtitle names the tier.
    """
    counts = shares["accounts"].map(
        lambda count: f"{count:,} account" if count == 1 else f"{count:,} accounts"
    )
    values = shares["value"].map(
        lambda value: "value unknown" if pd.isna(value) else f"{currency} {value:,.0f}"
    )
    data = shares.assign(
        left=-shares["accounts"] / 2,
        right=shares["accounts"] / 2,
        label=counts + " · " + values,
    )
    # The bars count accounts and only the labels carry money, so the
    # currency belongs to the labels' subtitle rather than to the title.
    subtitle = [
        f"Bar width is the number of accounts; each label adds the tier's "
        f"{lower_first(WON_PLUS_WEIGHTED_OPEN_ACV)} in {currency}."
    ]
    unknown = shares.loc[shares["value"].isna(), "tier_label"].tolist()
    if unknown:
        subtitle.append(
            f"Value unknown for {', '.join(unknown)}: no deal of their "
            "accounts has an amount."
        )
    title = alt.Title("Tier pyramid: accounts per tier", subtitle=subtitle)
    base = alt.Chart(data, title=title)
    bars = base.mark_bar().encode(
        y=alt.Y("tier_label:N", sort=TIER_ORDER, title=None),
        x=alt.X("left:Q", axis=None),
        x2="right:Q",
        color=alt.Color(
            "tier_label:N",
            sort=TIER_ORDER,
            scale=alt.Scale(domain=TIER_ORDER, range=TIER_COLORS),
            legend=None,
        ),
        tooltip=[
            alt.Tooltip("tier_label:N", title="Tier"),
            alt.Tooltip("accounts:Q", title="Accounts", format=","),
            alt.Tooltip("value:Q", title=WON_PLUS_WEIGHTED_OPEN_ACV, format=",.0f"),
        ],
    )
    labels = base.mark_text(align="left", dx=6).encode(
        y=alt.Y("tier_label:N", sort=TIER_ORDER), x="right:Q", text="label:N"
    )
    return (bars + labels).properties(height=200)


def plot_transition_heatmap(
    transitions: pd.DataFrame, period: str
) -> alt.LayerChart | HTML:
    """Heat map of accounts moving from one tier to another over ``period``.

    ``transitions`` has ``period``, ``from_tier``, ``to_tier`` and
    ``accounts``. A period without rows gives a note in place of the chart.
    """
    data = transitions[transitions["period"] == period].copy()
    title = (
        "Tier movement since last month"
        if period == "month"
        else "Tier movement over the year"
    )
    if data.empty:
        start = (
            "the previous month-end"
            if period == "month"
            else "the month-end 12 months before the as-of date"
        )
        return no_data_note(title, f"The tier history does not reach back to {start}.")
    data["from_label"] = data["from_tier"].map(FROM_LABELS)
    data["to_label"] = data["to_tier"].map(TIER_LABELS)
    from_order = list(FROM_LABELS.values())
    base = alt.Chart(data, title=title).encode(
        y=alt.Y("from_label:N", sort=from_order, title="From"),
        x=alt.X("to_label:N", sort=TIER_ORDER, title="To"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "accounts:Q", scale=alt.Scale(scheme="blues"), title="Accounts"
        ),
        tooltip=[
            alt.Tooltip("from_label:N", title="From"),
            alt.Tooltip("to_label:N", title="To"),
            alt.Tooltip("accounts:Q", title="Accounts", format=","),
        ],
    )
    text = base.mark_text().encode(text=alt.Text("accounts:Q", format=","))
    return (cells + text).properties(width=420, height=220)


def plot_engagement_small_multiples(weekly: pd.DataFrame) -> alt.Chart:
    """Weekly touches over 12 weeks, one small panel per account.

    ``weekly`` has ``name``, ``week`` (0 oldest to 11) and ``touches``.
    """
    return (
        alt.Chart(weekly, title="Weekly touches, last 12 weeks")
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "week:Q", title="Week (11 = latest)", scale=alt.Scale(domain=[0, 11])
            ),
            y=alt.Y("touches:Q", title="Touches", axis=count_axis()),
            tooltip=["name:N", "week:Q", "touches:Q"],
        )
        .properties(width=160, height=90)
        .facet(facet=alt.Facet("name:N", title=None), columns=4)
    )


def plot_stage_durations(durations: pd.DataFrame) -> alt.Chart:
    """Box plot of days in each open stage from precomputed quantiles.

    ``durations`` has ``stage``, ``order``, ``min``, ``q1``, ``median``,
    ``q3``, ``max`` (days) and ``visits``.
    """
    order = durations.sort_values("order")["stage"].tolist()
    base = alt.Chart(durations, title="Days in stage (completed stage visits)").encode(
        y=alt.Y("stage:N", sort=order, title=None)
    )
    whiskers = base.mark_rule().encode(x=alt.X("min:Q", title="Days"), x2="max:Q")
    boxes = base.mark_bar(size=14, color="#2e86c1").encode(
        x="q1:Q",
        x2="q3:Q",
        tooltip=[
            alt.Tooltip("stage:N", title="Stage"),
            alt.Tooltip("visits:Q", title="Visits", format=","),
            alt.Tooltip("q1:Q", title="25th percentile", format=".1f"),
            alt.Tooltip("median:Q", title="Median", format=".1f"),
            alt.Tooltip(
                "q3:Q", title="75th percentile (stall threshold)", format=".1f"
            ),
        ],
    )
    medians = base.mark_tick(color="white", size=14, thickness=2).encode(x="median:Q")
    return (whiskers + boxes + medians).properties(height=200)


def plot_health_by_tier(distribution: pd.DataFrame) -> alt.Chart:
    """Stacked histogram of health in 10-point bins, coloured by tier.

    ``distribution`` has ``bin_start`` (0, 10, ... 90), ``tier_label`` and
    ``accounts``. The axis lists all ten bins, so a bin without accounts
    shows as an empty slot instead of dropping out.
    """
    return (
        alt.Chart(distribution, title="Health distribution by tier")
        .mark_bar()
        .encode(
            x=alt.X(
                "bin_start:O",
                title="Health score (10-point bins)",
                scale=alt.Scale(domain=HEALTH_BIN_STARTS),
            ),
            y=alt.Y("accounts:Q", title="Accounts", axis=count_axis()),
            color=alt.Color(
                "tier_label:N",
                sort=TIER_ORDER,
                scale=alt.Scale(domain=TIER_ORDER, range=TIER_COLORS),
                title="Tier",
            ),
            tooltip=["bin_start:O", "tier_label:N", "accounts:Q"],
        )
    )


def plot_value_against_health(
    points: pd.DataFrame, currency: str, *, max_labels: int = MAX_LABELS
) -> alt.Chart:
    """Scatter of value against health; the most valuable flagged accounts are named.

    ``points`` has ``name``, ``value_amount``, ``health_score``, ``flag``
    (at risk, expansion ready or none) and ``label`` (name or empty).
    Only the ``max_labels`` most valuable labels are drawn, because more
    overlap; the tooltip names every point. Values must be above zero for
    the log scale.
    """
    points = _keep_top_labels(points, max_labels)
    title = f"{WON_PLUS_WEIGHTED_OPEN_ACV} ({currency}) against health"
    base = alt.Chart(points, title=title).encode(
        x=alt.X(
            "health_score:Q", title="Health score", scale=alt.Scale(domain=[0, 100])
        ),
        y=alt.Y(
            "value_amount:Q",
            title=f"{WON_PLUS_WEIGHTED_OPEN_ACV} ({currency})",
            scale=alt.Scale(type="log"),
            axis=alt.Axis(format="~s"),
        ),
    )
    dots = base.mark_circle(size=50, opacity=0.7).encode(
        color=alt.Color(
            "flag:N",
            scale=alt.Scale(
                domain=["at risk", "expansion ready", "none"],
                range=["#c0392b", "#27ae60", "#bdc3c7"],
            ),
            title="Flag",
        ),
        tooltip=[
            alt.Tooltip("name:N", title="Account"),
            alt.Tooltip("health_score:Q", title="Health", format=".1f"),
            alt.Tooltip(
                "value_amount:Q", title=WON_PLUS_WEIGHTED_OPEN_ACV, format=",.0f"
            ),
            alt.Tooltip("flag:N", title="Flag"),
        ],
    )
    labels = (
        base.mark_text(align="left", dx=5, fontSize=10)
        .encode(text="label:N")
        .transform_filter(alt.datum.label != "")
    )
    return (dots + labels).properties(height=320)


def _keep_top_labels(points: pd.DataFrame, max_labels: int) -> pd.DataFrame:
    """Return ``points`` with every label blank but the ``max_labels`` most valuable."""
    labelled = points["label"].fillna("") != ""
    top = points[labelled].nlargest(max_labels, "value_amount").index
    return points.assign(label=points["label"].where(points.index.isin(top), ""))


def plot_health_lift(deciles: pd.DataFrame) -> alt.Chart:
    """Lift of win and churn rates by health decile (10 = healthiest)."""
    return (
        alt.Chart(
            deciles, title="Outcome rate by health decile, relative to the average"
        )
        .mark_bar()
        .encode(
            x=alt.X("decile:O", title="Health decile (10 = healthiest)"),
            y=alt.Y("lift:Q", title="Lift (1 = average)"),
            column=alt.Column("outcome:N", title=None),
            tooltip=[
                "outcome:N",
                "decile:O",
                alt.Tooltip("rows:Q", format=","),
                alt.Tooltip("events:Q", format=","),
                alt.Tooltip("rate:Q", format=".1%"),
                alt.Tooltip("lift:Q", format=".2f"),
            ],
        )
        .properties(width=260, height=200)
    )
