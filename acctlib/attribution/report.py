"""Tables, charts and cards of the attribution section.

Every function takes an open :class:`~acctlib.workspace.Workspace` whose
prepare step stored the attribution tables and returns one display object,
so a notebook cell is one call. Text from the CRM is escaped by
:func:`acctlib.tables.style_table` and by the charts' JSON encoding.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import altair as alt
import pandas as pd
from IPython.display import HTML

from acctlib import charts, tables, views
from acctlib.asof import as_of_cutoff
from acctlib.attribution.compare import sum_credit_cents
from acctlib.attribution.credits import NO_TOUCH
from acctlib.attribution.settings import (
    DATA_DRIVEN_MODELS,
    MODEL_DESCRIPTIONS,
    MODEL_LABELS,
)
from acctlib.attribution.shapley import OTHER
from acctlib.labels import join_words, readable, readable_column
from acctlib.lookup import is_in
from acctlib.tiering import TIER_LABELS

KIND_LABELS = {"revenue": "Won revenue", "pipeline": "Pipeline created"}
"""Names of the two credit kinds on the page."""

DIMENSION_LABELS = {
    "channel": "Channel",
    "function": "Function",
    "campaign": "Campaign",
    "tier": "Tier",
}


# Campaigns are the source's own names and identifiers, such as olist's
# lower-case hex ids, so they are shown as written. Channel, function and
# tier codes get words.
_SHOWN_AS_WRITTEN = frozenset({"campaign"})


def _readable_values(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Return ``frame`` with the codes of column ``by`` as words, campaigns kept."""
    if by in _SHOWN_AS_WRITTEN:
        return frame
    return readable_column(frame, by)


def has_attribution(ws) -> bool:
    """Return whether the run prepared attribution tables."""
    # The prepare step writes the headline only after storing every table.
    return "attribution" in ws.headline


def _missing() -> HTML:
    return views.note("No touchpoints in this run, so there is no attribution.")


def _headline(ws) -> dict:
    return ws.headline.get("attribution", {})


def has_won_credit(ws) -> bool:
    """Return whether any won revenue was credited to a recorded touch."""
    shares = ws.table("attribution_shares_channel")
    return bool((shares["channel"] != NO_TOUCH).any())


def _no_won_credit() -> HTML:
    return views.note(
        "No won deal by the report date has a recorded touch, "
        "so there is no won revenue to attribute."
    )


def _needs_won_credit(block: Callable[..., object]) -> Callable[..., object]:
    """Wrap a page block so that it shows the no-won-credit note instead."""

    @functools.wraps(block)
    def guarded(ws, *args, **kwargs):
        if not has_won_credit(ws):
            return _no_won_credit()
        return block(ws, *args, **kwargs)

    return guarded


def period_note(ws) -> HTML:
    """Return which deals the attribution's won revenue and pipeline cover.

    The credits cover every deal in the source won, or created, by the
    report date, so they differ from the executive summary's bookings of
    this year or month. The note names the attribution rather than the
    page, because the executive summary shows it beside those bookings.
    """
    if not has_attribution(ws):
        return _missing()
    deals = ws.table("attribution_opportunities")
    created = deals[deals["kind"] == "pipeline"]
    sentences = []
    # The note counts the reconciliation's deals, so the two agree.
    bridge = ws.table("attribution_bridge").set_index("step")
    if bridge.loc["Closed won", "opportunities"] > 0:
        sentences.append(_won_sentence(bridge, ws.currency))
    if len(created):
        sentences.append(_pipeline_sentence(ws, created))
    if not sentences:
        return views.note("No deal was created by the report date.")
    return views.note(" ".join(sentences), period=True)


def _pipeline_sentence(ws, created: pd.DataFrame) -> str:
    """Describe the pipeline deals credited: creation dates and count.

    Deals without an amount, with an amount below zero, or won with an
    amount of zero are not credited, so the sentence counts them apart
    when the workspace's snapshot has any.
    """
    count = len(created)
    text = (
        f"Attribution's pipeline is the {_deals(count)} created from "
        f"{created['created_at'].min():%d %b %Y} to {ws.as_of:%d %b %Y} with an "
        "amount, whether open, won or lost"
    )
    if ws.has_table("opportunity_snapshot"):
        snapshot = ws.table("opportunity_snapshot")
        created_at = pd.to_datetime(snapshot["created_at"], utc=True)
        known = snapshot[created_at < as_of_cutoff(ws.as_of)]
        left_out = known[~is_in(known["opportunity_id"], created["opportunity_id"])]
        missing = int(left_out["amount"].isna().sum())
        parts = _left_out_parts(missing, len(left_out) - missing)
        if parts:
            text += f"; {parts} left out"
    return text + "."


def _deals(count: int) -> str:
    """Return "1 deal" or "3 deals", with thousands separators."""
    return f"{tables.format_count(count)} {'deal' if count == 1 else 'deals'}"


def _left_out_parts(
    missing: int, not_positive: int, not_positive_amount: str | None = None
) -> str:
    """Return the deals left out for their amount, followed by "is" or "are".

    Returns "" when no deal is left out. ``not_positive_amount``, when
    given, follows the count of deals with an amount of zero or less.
    """
    parts = []
    if missing:
        parts.append(f"{_deals(missing)} without an amount")
    if not_positive:
        part = f"{_deals(not_positive)} with an amount of zero or less"
        if not_positive_amount:
            part += f" ({not_positive_amount})"
        parts.append(part)
    if not parts:
        return ""
    verb = "is" if missing + not_positive == 1 else "are"
    return f"{' and '.join(parts)} {verb}"


_MISSING_AMOUNT = "Excluded: missing amount"
_NOT_POSITIVE_AMOUNT = "Excluded: amount of zero or less"


def _won_sentence(bridge: pd.DataFrame, currency: str) -> str:
    """Describe the closed-won deals of the bridge: close dates, count, amount.

    Closed won counts every won deal, but the credits, and with them the
    share of won revenue with a recorded touch, leave out won deals without
    an amount or with an amount of zero or less. When there are such deals,
    a second sentence gives the credited deals and amount and names the
    deals left out.
    """
    closed_won = bridge.loc["Closed won"]
    total = int(closed_won["opportunities"])
    text = "Attribution's won revenue is every deal won"
    if pd.notna(closed_won["first_close"]):
        text += (
            f" from {closed_won['first_close']:%d %b %Y} "
            f"to {closed_won['last_close']:%d %b %Y}"
        )
    decimals = tables.amount_decimals(closed_won["amount"])
    amount = tables.format_money(closed_won["amount"], currency, decimals=decimals)
    text += (
        ", the whole history in the data rather than this year's bookings: "
        f"{_deals(total)}, {amount}."
    )

    missing = _bridge_row(bridge, _MISSING_AMOUNT)
    not_positive = _bridge_row(bridge, _NOT_POSITIVE_AMOUNT)
    left_out = int(missing["opportunities"] + not_positive["opportunities"])
    if not left_out:
        return text
    # Missing amounts count as 0 in closed won, so only the deals of zero
    # or less change the amount.
    credited_amount = closed_won["amount"] - not_positive["amount"]
    credited = tables.format_money(credited_amount, currency, decimals=decimals)
    parts = _left_out_parts(
        int(missing["opportunities"]),
        int(not_positive["opportunities"]),
        tables.format_money(not_positive["amount"], currency, decimals=decimals),
    )
    return (
        f"{text} The credits, and the share of won revenue with a recorded "
        f"touch, cover the {_deals(total - left_out)} with an amount above "
        f"zero, {credited}; {parts} left out."
    )


def _bridge_row(bridge: pd.DataFrame, step: str) -> pd.Series:
    """Return the bridge's ``opportunities`` and ``amount`` of ``step``, else 0."""
    if step in bridge.index:
        return bridge.loc[step, ["opportunities", "amount"]]
    return pd.Series({"opportunities": 0, "amount": 0.0})


def answer_cards(ws) -> HTML:
    """Return cards: robust channels and functions, coverage, lookback."""
    if not has_attribution(ws):
        return _missing()
    figures = _headline(ws)
    robust = ", ".join(map(readable, figures["robust_channels"])) or "none"
    functions = ", ".join(map(readable, figures["robust_functions"])) or "none"
    suggested = figures.get("suggested_lookback_days")
    top = ws.params["attribution_robust_top"]
    cards = [
        {"label": f"Channels in the top {top} under every model", "value": robust},
        {"label": f"Functions in the top {top} under every model", "value": functions},
        {
            "label": "Won revenue with a recorded touch",
            "value": tables.format_percent(figures.get("revenue_coverage")),
        },
        {
            "label": "Lookback used / suggested",
            "value": f"{figures['lookback_days']} / "
            + (f"{suggested} days" if suggested else "–"),
        },
    ]
    blocks = views.kpi_cards(cards).data
    if figures["robust_functions"]:
        # Text under the cards, so the page's glossary defines function
        # abbreviations such as AE beside the card that shows them.
        blocks += views.note(
            "Functions are the teams whose people made the touches, such as "
            f"{functions}."
        ).data
    return HTML(blocks)


def lookback_note(ws) -> HTML:
    """Return a note that explains the lookback and gives the days used."""
    if not has_attribution(ws):
        return _missing()
    figures = _headline(ws)
    used = figures["lookback_days"]
    text = (
        "A deal's touches count toward its credit from the lookback before its "
        "creation up to the end of its close date, or the report date while it "
        f"is open. This report used a lookback of {used} days."
    )
    suggested = figures.get("suggested_lookback_days")
    if suggested:
        text += (
            f" The accounts' own journeys suggest {suggested} days, from how long "
            "before creation the won deals had their first touch."
        )
    return views.note(text)


def models_note(ws) -> HTML:
    """Return a note listing how each model of the run splits a deal's amount."""
    shares = ws.table("attribution_shares_function")
    present = set(shares["model"])
    half_life = f"{float(ws.params['attribution_half_life_days']):g}"
    learned_from = "the won and lost deals"
    if _all_journeys_convert(ws):
        learned_from = "won deals alone, because no deal with a touch was lost"
    items = [
        f"{MODEL_LABELS[model]} gives "
        + MODEL_DESCRIPTIONS[model].format(
            half_life=half_life, learned_from=learned_from
        )
        + "."
        for model in MODEL_LABELS
        if model in present
    ]
    if not items:
        return HTML("")
    return views.note_list(
        "How each model splits a won deal's amount over its journey's touches:",
        items,
    )


def _all_journeys_convert(ws) -> bool:
    """Return whether no journey the data-driven models learn from was lost.

    False when the run did not count such journeys.
    """
    return _headline(ws).get("unconverted_journeys") == 0


ALL_CONVERT = (
    "No deal with a recorded touch was lost by the report date, so every "
    "journey the data-driven models learn from converted. On this source "
    "they cannot tell channels apart by their effect on winning: a channel's "
    "Markov removal effect reflects how many journeys pass through it, and "
    "Shapley values depend only on which sets of channels occur, because "
    "every set converts."
)
"""Warning on the data-driven models when no journey failed to convert."""


def answer_note(ws) -> HTML:
    """Return a note naming the channels in the top ranks under every model.

    A top rank under every model does not fix the share, so
    the note also gives each such channel's lowest and highest share.
    """
    if not has_attribution(ws):
        return _missing()
    if not has_won_credit(ws):
        return _no_won_credit()
    figures = _headline(ws)
    top = ws.params["attribution_robust_top"]
    robust = figures["robust_channels"]
    if not robust:
        return views.note(
            f"No channel ranks in the top {top} under every model: the credit "
            "each channel gets depends on the model, so read the comparison below."
        )
    compare = ws.table("attribution_compare_channel").set_index("channel")
    channels = [readable(channel) for channel in robust]
    if len(channels) == 1:
        text = (
            f"{channels[0]} ranks in the top {top} channels under every model, "
            "so its place among channels does not depend on the model. Its "
            f"share does: it ranges from {_share_range(compare, robust[0])} "
            "across the models."
        )
    else:
        shares = "; ".join(
            f"{readable(channel)} {_share_range(compare, channel)}"
            for channel in robust
        )
        text = (
            f"{', '.join(channels)} rank in the top {top} channels under every "
            "model, so their place among channels does not depend on the model. "
            f"Their shares do, across the models: {shares}."
        )
    return views.note(text)


def _share_range(compare: pd.DataFrame, channel: str) -> str:
    """Return a channel's lowest to highest share, such as "12.2% to 29.9%"."""
    low = tables.format_percent(compare.loc[channel, "min_share"])
    high = tables.format_percent(compare.loc[channel, "max_share"])
    return f"{low} to {high}"


def _model_label(model: str) -> str:
    return MODEL_LABELS.get(model, model)


def _models_in(frame: pd.DataFrame) -> list[str]:
    """Return the model columns of ``frame`` in the order of :data:`MODEL_LABELS`.

    Pivoted tables list models alphabetically by code; the report lists
    them from first touch to the data-driven models, in every table and
    chart alike.
    """
    return [model for model in MODEL_LABELS if model in frame.columns]


@_needs_won_credit
def plot_shares(ws, by: str = "channel") -> alt.LayerChart:
    """Return a heat map of each value's share of credit under every model.

    Returns a note in place of the chart when no won revenue has a touch.
    """
    shares = ws.table(f"attribution_shares_{by}")
    shares = shares[shares[by] != NO_TOUCH]
    # Models go in the order of the tables beside the chart.
    present = set(shares["model"])
    models = [_model_label(model) for model in MODEL_LABELS if model in present]
    model_labels = shares["model"].map(_model_label)
    shares = _readable_values(shares, by).assign(model=model_labels)
    order = (
        shares.groupby(by)["share"].mean().sort_values(ascending=False).index.tolist()
    )
    label = DIMENSION_LABELS[by]
    # White figures on the darker cells: the colour scale spans the shares
    # shown, so darkness follows the share's place between their extremes.
    low, high = shares["share"].min(), shares["share"].max()
    shares = shares.assign(dark=shares["share"] > low + 0.6 * (high - low))
    cells = alt.Chart(shares).encode(
        # Steep labels on wide steps, because model names are long.
        x=alt.X(
            "model:N",
            sort=models,
            title=None,
            axis=alt.Axis(labelAngle=-45, labelLimit=220),
        ),
        y=alt.Y(f"{by}:N", sort=order, title=label),
    )
    # Each cell prints its share, so a reader without a pointer, or with
    # the page printed, reads the figure and not only the colour. One
    # decimal matches the comparison table beside the chart.
    figures = cells.mark_text(fontSize=11).encode(
        text=alt.Text("share:Q", format=".1%"),
        color=alt.condition(alt.datum.dark, alt.value("white"), alt.value("black")),
    )
    rects = cells.mark_rect().encode(
        color=alt.Color(
            "share:Q",
            title="Share",
            scale=alt.Scale(scheme="blues"),
            legend=alt.Legend(format="%"),
        ),
        tooltip=[
            alt.Tooltip(f"{by}:N", title=label),
            alt.Tooltip("model:N", title="Model"),
            alt.Tooltip("share:Q", title="Share", format=".1%"),
            alt.Tooltip("credit:Q", title="Credit", format=",.0f"),
        ],
    )
    # Cells 46 px wide fit "100.0%" at font size 11.
    return alt.layer(
        rects, figures, title=f"Share of won revenue credit by {by} and model"
    ).properties(height=alt.Step(18), width=alt.Step(46))


@_needs_won_credit
def comparison_table(ws, by: str = "channel") -> object:
    """Return shares under every model with spread, worst rank and robust flag."""
    table = ws.table(f"attribution_compare_{by}")
    models = _models_in(table)
    columns = [by, *models, "spread", "worst_rank", "robust"]
    frame = _readable_values(table[columns], by)
    labels = {
        by: DIMENSION_LABELS[by],
        "spread": "Spread (max − min)",
        "worst_rank": "Worst rank",
        "robust": "Robust",
    }
    labels.update({model: _model_label(model) for model in models})
    return tables.style_table(
        frame,
        percents=models,
        points=["spread"],
        flags=["robust"],
        counts=["worst_rank"],
        labels=labels,
        caption=f"Robust: in the top {ws.params['attribution_robust_top']} "
        "with credit above zero under every model. Equal shares take the "
        "worse rank.",
    )


def credit_table(ws, by: str = "channel", kind: str = "revenue") -> object:
    """Return credit per value and model, totalling the opportunities' amount.

    The credit table has a row per deal, so it is summed in the workspace's
    DuckDB and only one row per value and model is read. Without any
    credit of ``kind`` it returns a note.
    """
    sums = sum_credit_cents(
        ws.con.table("attribution_credit_sums"), [by, "model"], kind
    )
    if sums.empty:
        if kind == "revenue":
            return views.note(
                "No deal was won by the report date, so there is no won "
                "revenue to attribute."
            )
        return views.note("No opportunity was created by the report date.")
    table = sums.pivot_table(
        index=by, columns="model", values="credit_cents", aggfunc="sum", fill_value=0
    )
    table = table / 100.0
    order = [value for value in table.index if value != NO_TOUCH]
    order = sorted(order, key=lambda value: -table.loc[value].mean())
    if NO_TOUCH in table.index:
        order.append(NO_TOUCH)
    table = table.loc[order]
    table.loc["Total"] = table.sum()
    decimals = tables.amount_decimals(table.loc["Total"].abs().max())
    if decimals == 0:
        table = _round_parts(table, "Total")
    frame = _readable_values(table.reset_index(), by)
    if by == "tier":
        frame["tier"] = frame["tier"].map(_tier_label)
    frame.columns.name = None
    models = _models_in(frame)
    frame = frame[[c for c in frame.columns if c not in MODEL_LABELS] + models]
    if kind == "revenue":
        noun = "won revenue"
        coverage = _headline(ws).get("revenue_coverage")
    else:
        noun = "pipeline created"
        coverage = _touched_share(table.drop(index="Total"))
    caption = (
        f"Credit of {noun} by {by}. Each model totals the same amount, "
        f"and {tables.format_percent(coverage)} of the {noun} has a recorded touch."
    )
    if decimals == 0:
        caption += f" {tables.PARTS_ADD_UP}"
    return tables.style_table(
        frame,
        currency=ws.currency,
        money=models,
        money_decimals=decimals,
        labels={by: DIMENSION_LABELS[by], **{m: _model_label(m) for m in models}},
        caption=caption,
    )


def _round_parts(table: pd.DataFrame, total: str) -> pd.DataFrame:
    """Return ``table`` in whole units, each column's rows adding up to row ``total``.

    Every column is rounded with :func:`acctlib.tables.round_to_total`, so
    the rows other than ``total`` add up to the shown ``total``.
    """
    parts = table.index != total
    rounded = table.copy()
    for column in table.columns:
        target = float(table.loc[total, column])
        rounded.loc[parts, column] = tables.round_to_total(
            table.loc[parts, column], target
        )
        rounded.loc[total, column] = float(f"{target:.0f}")
    return rounded


def _tier_label(tier: object) -> object:
    """Return "Tier 1 Strategic" for tier 1; other values, such as "Total", stay."""
    if isinstance(tier, str) or pd.isna(tier):
        return "No tier" if tier is None or pd.isna(tier) else tier
    return TIER_LABELS.get(int(tier), tier)


def _touched_share(table: pd.DataFrame) -> float | None:
    """Return the share of credit not given to :data:`NO_TOUCH`, or None.

    ``table`` has a row per value and a column per model. A deal without a
    touch gives all its credit to :data:`NO_TOUCH` under every model, so
    the first model's column gives the share.
    """
    credit = table.iloc[:, 0]
    total = float(credit.sum())
    if total <= 0:
        return None
    untouched = float(credit.get(NO_TOUCH, 0.0))
    return 1.0 - untouched / total


def tier_credit_table(ws) -> object:
    """Return won revenue credit per account tier, or a note without tiers."""
    if "tier" not in ws.con.table("attribution_credit_sums").columns:
        return views.note(
            "No account tiers in this run, so credit is not split by tier."
        )
    return credit_table(ws, "tier")


@_needs_won_credit
def top_campaigns_table(ws, n: int = 15) -> object:
    """Return the campaigns with the most won revenue credit, per model."""
    shares = ws.table("attribution_shares_campaign")
    shares = shares[~shares["campaign"].isin([NO_TOUCH])]
    table = shares.pivot_table(
        index="campaign", columns="model", values="credit", aggfunc="sum", fill_value=0
    )
    table = table.loc[table.mean(axis=1).sort_values(ascending=False).index[:n]]
    frame = table.reset_index()
    frame.columns.name = None
    models = _models_in(frame)
    frame = frame[[c for c in frame.columns if c not in MODEL_LABELS] + models]
    return tables.style_table(
        frame,
        currency=ws.currency,
        money=models,
        labels={"campaign": "Campaign", **{m: _model_label(m) for m in models}},
    )


@_needs_won_credit
def rank_correlation_table(ws) -> object:
    """Return the Spearman rank correlation of channel shares between models."""
    frame = ws.table("attribution_rank_correlation")
    models = _models_in(frame)
    present = set(frame["model"])
    order = [model for model in MODEL_LABELS if model in present]
    frame = frame.set_index("model").loc[order, models].reset_index()
    caption = "1 means the two models rank channels identically."
    tied = _models_without_correlation(frame, models)
    if len(tied) == len(models):
        caption += (
            " No two models have a correlation, because each model gives every "
            "channel the same share or fewer than two channels have credit."
        )
    elif tied:
        labels = [_model_label(model) for model in tied]
        verb = "gives" if len(labels) == 1 else "give"
        caption += (
            f" {join_words(labels)} {verb} every channel the same share, so no rank "
            "order exists to correlate and the dashes mark the missing figures."
        )
    frame = frame.assign(model=frame["model"].map(_model_label))
    return tables.style_table(
        frame.round(2),
        labels={"model": "Model", **{m: _model_label(m) for m in models}},
        caption=caption,
    )


def _models_without_correlation(frame: pd.DataFrame, models: list[str]) -> list[str]:
    """Return the models whose rank correlation with every model is missing.

    Spearman's correlation divides by the spread of ranks, so it is missing
    for a model whose channel shares are all equal.
    """
    return [model for model in models if frame[model].isna().all()]


SOURCED_CAPTION = (
    "Sourced: the journey's latest touch at or before the opportunity's "
    "creation instant was a marketing touch, the rule of the account map's "
    "marketing-sourced, and a deal without such a touch is not sourced. This "
    "rule differs from the deal-creation touch of the models, which is the last "
    "touch strictly before the creation instant, or the first touch when none "
    "comes before it: a touch at the creation instant counts here but not "
    "there. Influenced: any marketing touch in the journey. Only deals with an "
    "amount have a journey."
)
"""Caption of :func:`sourced_table`, with the rules of sourced and influenced."""


def sourced_table(ws) -> object:
    """Return marketing-sourced and marketing-influenced pipeline and revenue."""
    frame = ws.table("attribution_sourced")
    frame = frame.assign(kind=frame["kind"].map(KIND_LABELS))
    return tables.style_table(
        frame,
        currency=ws.currency,
        money=["amount", "sourced", "influenced"],
        percents=["sourced_share", "influenced_share"],
        labels={
            "kind": "",
            "amount": "Total",
            "sourced": "Marketing-sourced",
            "influenced": "Marketing-influenced",
            "sourced_share": "Sourced share",
            "influenced_share": "Influenced share",
        },
        caption=SOURCED_CAPTION,
    )


def coverage_table(ws) -> object:
    """Return the share of won deals and revenue with a recorded touch."""
    frame = ws.table("attribution_coverage")
    if frame.empty:
        return views.note("No deal was won by the report date.")
    keys = [c for c in ("tier", "type") if c in frame.columns]
    if "type" in keys:
        frame = readable_column(frame, "type")
    if "tier" in keys:
        frame = frame.assign(tier=frame["tier"].map(_tier_label))
    return tables.style_table(
        frame,
        currency=ws.currency,
        counts=["opportunities", "touched"],
        money=["amount", "touched_amount"],
        percents=["opportunity_share", "amount_share"],
        labels={
            "tier": "Tier",
            "type": "Deal type",
            "opportunities": "Won deals",
            "touched": "With a touch",
            "opportunity_share": "Share of deals",
            "amount": "Won revenue",
            "touched_amount": "With a touch, revenue",
            "amount_share": "Share of revenue",
        },
        caption=None if "tier" in keys else "No tiers in this run; by deal type.",
    )


def bridge_table(ws) -> object:
    """Return closed-won reconciled to credited, no recorded touch and excluded.

    The caption names the rows that add up to closed won, so it lists the
    "Excluded" rows only when won deals were left out for their amount.
    """
    frame = ws.table("attribution_bridge")[["step", "amount", "opportunities"]]
    steps = frame["step"].tolist()
    parts = steps[1:-1]
    amounts = frame.set_index("step")["amount"]
    decimals = tables.amount_decimals(amounts["Closed won"])
    caption = (
        f'{_quoted_list(parts)} add up to "Closed won", so "Difference" must be 0.'
    )
    if not any(step.startswith("Excluded: ") for step in parts):
        caption += (
            " No won deal was left out for a missing amount or an amount of "
            "zero or less."
        )
    if decimals == 0:
        frame = frame.assign(amount=_round_bridge(amounts).to_numpy())
        caption += f" {tables.PARTS_ADD_UP}"
    return tables.style_table(
        frame,
        currency=ws.currency,
        money=["amount"],
        money_decimals=decimals,
        counts=["opportunities"],
        labels={"step": "", "amount": "Amount", "opportunities": "Won deals"},
        caption=caption,
    )


def _round_bridge(amounts: pd.Series) -> pd.Series:
    """Return the bridge's amounts in whole units that reconcile as shown.

    ``amounts`` is indexed by step, "Closed won" first and "Difference"
    last. Both are rounded on their own, and the rows between them are
    rounded to add up to closed won less the difference, as shown.
    """
    closed_won = float(f"{amounts['Closed won']:.0f}")
    difference = float(f"{amounts['Difference']:.0f}")
    parts = tables.round_to_total(amounts.iloc[1:-1], closed_won - difference)
    return pd.concat(
        [
            pd.Series({"Closed won": closed_won}),
            parts,
            pd.Series({"Difference": difference}),
        ]
    )


def _quoted_list(items: list[str]) -> str:
    """Return ``"a"``, ``"a" and "b"`` or ``"a", "b" and "c"``."""
    return join_words([f'"{item}"' for item in items])


def excluded_touches_table(ws) -> object:
    """Return known touches that joined no journey, by kind and reason."""
    frame = ws.table("attribution_excluded_touches")
    frame = frame.assign(
        kind=frame["kind"].map(KIND_LABELS).fillna(frame["kind"]),
        reason=frame["reason"].str.capitalize(),
    )
    return tables.style_table(
        frame,
        counts=["touches"],
        labels={"kind": "Credit kind", "reason": "Reason", "touches": "Touches"},
        caption="Known touches that joined no deal's journey, so they earn no "
        "credit of that kind, by the reason they joined none.",
    )


@_needs_won_credit
def plot_intervals(ws, model: str = "linear") -> alt.Chart:
    """Return each channel's share with its bootstrap interval under ``model``.

    Returns a note when ``model`` was not run.
    """
    if model not in ws.params["attribution_models"]:
        return views.note(
            f"The {_model_label(model)} model was not run, because "
            "attribution_models does not list it, so it has no intervals."
        )
    frame = ws.table("attribution_intervals")
    frame = readable_column(frame[frame["model"] == model], "channel")
    base = alt.Chart(
        frame, title=f"Channel share under {_model_label(model)}, 90% interval"
    )
    order = frame.sort_values("share", ascending=False)["channel"].tolist()
    rule = base.mark_rule().encode(
        y=alt.Y("channel:N", sort=order, title=None),
        x=alt.X("low:Q", title="Share of credit", axis=alt.Axis(format="%")),
        x2="high:Q",
    )
    point = base.mark_point(filled=True).encode(
        y=alt.Y("channel:N", sort=order),
        x="share:Q",
        tooltip=[
            alt.Tooltip("channel:N", title="Channel"),
            alt.Tooltip("share:Q", title="Share", format=".1%"),
            alt.Tooltip("low:Q", title="Low", format=".1%"),
            alt.Tooltip("high:Q", title="High", format=".1%"),
        ],
    )
    return (rule + point).properties(height=alt.Step(18))


@_needs_won_credit
def plot_windows(ws, model: str = "linear") -> alt.Chart:
    """Return each channel's share as the lookback grows, under ``model``."""
    frame = ws.table("attribution_windows")
    frame = readable_column(frame[frame["model"] == model], "channel")
    return (
        alt.Chart(frame, title=f"Channel share by lookback ({_model_label(model)})")
        .mark_line(point=True)
        .encode(
            x=alt.X("lookback_days:Q", title="Lookback (days)"),
            y=alt.Y("share:Q", title="Share of credit", axis=alt.Axis(format="%")),
            color=alt.Color("channel:N", title="Channel"),
            tooltip=[
                alt.Tooltip("channel:N", title="Channel"),
                alt.Tooltip("lookback_days:Q", title="Lookback"),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
            ],
        )
    )


def learned_weights_table(ws) -> object:
    """Return the Markov removal effects and Shapley values per channel.

    A data-driven model left out of ``attribution_models`` has no columns
    in the table, and the caption names it.
    """
    models = ws.params["attribution_models"]
    run = [model for model in DATA_DRIVEN_MODELS if model in models]
    if not run:
        return views.note(
            "Neither the Markov nor the Shapley model is in attribution_models, "
            "so no channel weights were learned."
        )
    markov = ws.table("attribution_markov")
    shapley = ws.table("attribution_shapley")
    if markov.empty and shapley.empty:
        return views.note(
            "No won or lost opportunity by the report date has a recorded "
            "touch, so the data-driven models learned no channel weights."
        )
    frame = markov[["channel", "removal_effect", "share"]].merge(
        _shapley_rows(shapley),
        on="channel",
        how="outer",
        suffixes=("_markov", "_shapley"),
    )
    grouped = bool(frame["player"].eq(OTHER).any())
    frame = readable_column(readable_column(frame, "channel"), "player")
    columns = {
        "markov": ["removal_effect", "share_markov"],
        "shapley": ["player", "share_shapley"],
    }
    skipped = [model for model in DATA_DRIVEN_MODELS if model not in run]
    for model in skipped:
        frame = frame.drop(columns=columns[model])
    # Without Markov columns, a channel grouped into "other" has no figure
    # of its own left, and the "Other (...)" row already names it.
    shares = [f"share_{model}" for model in run]
    frame = frame.dropna(subset=shares, how="all")
    frame = frame.sort_values(f"share_{run[0]}", ascending=False)

    sentences = [ALL_CONVERT] if _all_journeys_convert(ws) else []
    sentences.append(WEIGHTS_TO_CREDIT)
    if "shapley" in run:
        sentences.append(_shapley_players_sentence(ws, grouped))
    names = {"markov": "Markov", "shapley": "Shapley"}
    sentences += [
        f"The {names[model]} model was not run, because attribution_models "
        "does not list it."
        for model in skipped
    ]
    percents = ["removal_effect", "share_markov", "share_shapley"]
    return tables.style_table(
        frame,
        percents=[column for column in percents if column in frame.columns],
        labels={
            "channel": "Channel",
            "removal_effect": "Markov removal effect",
            "share_markov": "Markov weight",
            "player": "Shapley player",
            "share_shapley": "Shapley weight",
        },
        caption=" ".join(sentences),
    )


WEIGHTS_TO_CREDIT = (
    "A weight is not a share of credit. Each deal's amount is split among the "
    "channels of its journey in proportion to their weights, and each "
    "channel's part equally over its touches, so a channel's share of credit "
    "depends on which channels each journey has and can differ from its weight. "
    "A journey whose channels all weigh 0 is split equally over its touches."
)
"""Caption sentences of the weights table on how a weight becomes credit."""


def _shapley_players_sentence(ws, grouped: bool) -> str:
    """Return how many Shapley players there are and how "other" is split."""
    limit = ws.params["attribution_shapley_max_channels"]
    text = f"Shapley values are exact over at most {limit} players."
    if not grouped:
        return text
    named_players = limit - 1
    if named_players == 0:
        players = 'all channels share the player "other"'
    else:
        noun, verb = ("channel", "is a player")
        if named_players > 1:
            noun, verb = ("channels", "are players")
        players = (
            f"the {named_players} {noun} on the most won and lost journeys {verb}, and "
            'the rest share the player "other"'
        )
    return (
        f"{text} Because more than {limit} channels occur, {players}. Its "
        'weight is given once, on the row "Other (...)" that lists them, and in '
        "each journey it is split equally over the touches of those channels, "
        "so each gets credit in proportion to its touches there."
    )


def _shapley_rows(shapley: pd.DataFrame) -> pd.DataFrame:
    """Return ``channel``, ``player`` and ``share`` with each player's share once.

    Every channel grouped into the player :data:`OTHER` keeps its row with
    the player but no share. One added row, ``channel`` "Other (a, b, ...)",
    carries the player's share, so the shares add up to 100%.
    """
    rows = shapley[["channel", "player", "share"]].copy()
    grouped = rows["player"] == OTHER
    if not grouped.any():
        return rows
    members = sorted(str(readable(channel)) for channel in rows.loc[grouped, "channel"])
    other = pd.DataFrame(
        {
            "channel": [f"Other ({', '.join(members)})"],
            "player": [OTHER],
            "share": [float(rows.loc[grouped, "share"].iloc[0])],
        }
    )
    rows.loc[grouped, "share"] = float("nan")
    return pd.concat([rows, other], ignore_index=True)


def executive_highlights(ws) -> list[object]:
    """Return the attribution headline for the executive summary.

    The period and lookback notes come first, because the summary shows
    the attribution beside bookings of this month and year.
    """
    if not has_attribution(ws):
        return [_missing()]
    blocks = [period_note(ws), answer_cards(ws), lookback_note(ws)]
    if not has_won_credit(ws):
        return [*blocks, _no_won_credit()]
    return [
        *blocks,
        answer_note(ws),
        HTML(charts.chart_html(plot_shares(ws, "function"))),
        models_note(ws),
    ]
