"""The attribution prepare step: every credit table a report reads."""

from __future__ import annotations

import logging

import ibis
import pandas as pd

from acctlib import engine
from acctlib.attribution import compare
from acctlib.attribution.credits import (
    SUM_KEYS,
    compute_attribution,
    unpivot_credits,
)
from acctlib.attribution.datadriven import count_unconverted_journeys
from acctlib.attribution.journeys import excluded_touch_note, select_opportunities
from acctlib.attribution.settings import AttributionSettings
from acctlib.dealshares import DEAL_COMPANIES, shared_links, split_shared_cents_expr

logger = logging.getLogger(__name__)

DIMENSIONS = ("channel", "function", "campaign")


def prepare_attribution(context) -> None:
    """Store credits, comparisons, coverage and the bridge in the workspace.

    Needs the ``touchpoints`` table and the ``opportunity_snapshot`` frame of
    the account-map step; without touchpoints it returns at once.
    Tables stored: ``attribution_credits``, ``attribution_campaign_credits``,
    ``attribution_opportunities``,
    ``attribution_excluded_touches``, ``attribution_shares_<dimension>``,
    ``attribution_compare_<dimension>`` for channel and function,
    ``attribution_rank_correlation``, ``attribution_sourced``,
    ``attribution_coverage``, ``attribution_bridge``,
    ``attribution_intervals``, ``attribution_windows``,
    ``attribution_markov`` and ``attribution_shapley``.

    ``attribution_credits`` is a view that unpivots the table
    ``attribution_credit_sums``, which holds every model's credit side by
    side, written from the engine with :meth:`PrepareContext.store_table`.
    Neither is in ``context.frames``, and the run exports the sums, not
    the view: on the large benchmark size the view has 42.6 million rows,
    ten times the sums, and writing it to Parquet took about 10 s against
    2 s for the sums.
    """
    if "touchpoints" not in context.intake.tables:
        # Intake's note on the missing table already says attribution is omitted.
        return
    settings = AttributionSettings.from_params(context.params, context.as_of)
    snapshot = context.frames["opportunity_snapshot"]
    touches = context.intake_table("touchpoints")
    links = context.intake.extras.get(DEAL_COMPANIES)
    result = compute_attribution(context.con, touches, snapshot, settings, links)

    sums = _split_credits(context, result.credit_sums, result.models)
    context.store_table("attribution_credit_sums", _add_credit_tiers(context, sums))
    stored = context.con.table("attribution_credit_sums")
    context.store_view("attribution_credits", unpivot_credits(stored, result.models))
    context.store("attribution_campaign_credits", result.campaign_credits)
    context.store("attribution_opportunities", result.opportunities)
    context.store("attribution_excluded_touches", result.excluded_touches)
    context.store("attribution_markov", result.markov)
    context.store("attribution_shapley", _shapley_table(result.shapley))
    _store_comparisons(context, result.credit_sums, result.campaign_credits, settings)
    _store_checks(context, result.opportunities)
    _store_bridge(context, snapshot, result.credits, result.excluded_opportunities)
    note = excluded_touch_note(result.excluded_touches, settings.as_of)
    if note:
        context.notes.append(note)
    # The workspace has its own copy, so the engine's cache can go.
    result.drop_cached(context.con)

    windows = compare.compute_window_sensitivity(
        touches,
        snapshot,
        settings,
        deal_companies=links,
        credits=stored,
    )
    context.store("attribution_windows", windows)
    suggested = compare.suggest_lookback(
        touches, snapshot, settings, deal_companies=links
    )
    unconverted = count_unconverted_journeys(result.opportunities)
    _add_headline(context, result.opportunities, settings, suggested, unconverted)


def summarize_slice(context, account_ids: list[str], snapshot: pd.DataFrame) -> None:
    """Store the credit summaries again, for the accounts of ``account_ids`` only.

    The owner slice calls it once it has kept only those accounts' rows of
    ``attribution_credit_sums`` and of the stored frames. Shares, model
    comparisons, rank correlations, intervals, coverage, sourced revenue,
    the bridge and the headline then describe the slice. ``snapshot`` is
    the whole company's opportunity snapshot: a won deal shared with a
    company outside the slice counts in the bridge with the slice's share,
    as its credits do. Campaign credits, the lookback comparison, the
    excluded touches and the channel weights of the data-driven models stay
    company-wide, because they are computed from the journeys and touches,
    which the slice does not recompute.
    """
    if not context.has_table("attribution_credit_sums"):
        return
    settings = AttributionSettings.from_params(context.params, context.as_of)
    links = context.intake.extras.get(DEAL_COMPANIES)
    credits = context.con.table("attribution_credits")
    opportunities = context.frames["attribution_opportunities"]
    won = _won_in_slice(snapshot, links, account_ids, credits)
    _, excluded = select_opportunities(snapshot, settings, links)
    excluded = excluded[excluded["opportunity_id"].isin(won["opportunity_id"])]

    _store_comparisons(
        context, context.con.table("attribution_credit_sums"), None, settings
    )
    _store_checks(context, opportunities)
    _store_bridge(context, won, credits, excluded)
    company = context.headline.get("attribution", {})
    _add_headline(
        context,
        opportunities,
        settings,
        company.get("suggested_lookback_days"),
        company.get("unconverted_journeys"),
    )


def _won_in_slice(
    snapshot: pd.DataFrame,
    links: pd.DataFrame | None,
    account_ids: list[str],
    credits: ibis.Table,
) -> pd.DataFrame:
    """Return the won deals of ``account_ids`` with the amount each counts for.

    A deal shared with other companies counts for the revenue credited to
    the slice's accounts. The credits split each credit row of a shared
    deal in whole cents, so their sum can differ by a cent from a share of
    the deal's amount, and the bridge of the slice would not add up.
    """
    won = snapshot[snapshot["is_won"].astype(bool)]
    shared_ids = shared_links(links)["opportunity_id"].unique().tolist()
    owned = won[
        won["account_id"].isin(account_ids) & ~won["opportunity_id"].isin(shared_ids)
    ]
    # The close dates give the bridge the range of the slice's won deals.
    dates = [column for column in ("close_date", "closed_on") if column in won]
    owned = owned[["opportunity_id", "is_won", "amount", *dates]]
    if not shared_ids:
        return owned
    revenue = compare.first_model_revenue(credits)
    revenue = revenue.filter(revenue.opportunity_id.isin(shared_ids))
    grouped = revenue.group_by("opportunity_id").aggregate(
        cents=revenue.credit_cents.sum()
    )
    with engine.quiet_conversions():
        shared = grouped.order_by("opportunity_id").to_pandas()
    shared = pd.DataFrame(
        {
            "opportunity_id": shared["opportunity_id"],
            "is_won": True,
            "amount": shared["cents"].astype("int64") / 100.0,
        }
    )
    closes = won[["opportunity_id", *dates]].drop_duplicates("opportunity_id")
    shared = shared.merge(closes, on="opportunity_id", how="left")
    return pd.concat([owned, shared], ignore_index=True)


def _split_credits(context, sums: ibis.Table, models: tuple[str, ...]) -> ibis.Table:
    """Split the credit of deals shared by several companies over them.

    ``sums`` holds each model's cents in a column named after it. Per-account
    credit then follows the ``shared_deal_split`` rule, as the account map
    and tiers do. Totals per model, channel and deal stay the same to the
    cent. A split row keeps its journey's ``touches`` count.
    """
    links = context.intake.extras.get(DEAL_COMPANIES)
    return split_shared_cents_expr(sums, links, list(models), SUM_KEYS)


def _add_credit_tiers(context, credits: ibis.Table) -> ibis.Table:
    """Add each account's ``tier`` to ``credits`` in the engine, when tiers ran."""
    tiers = context.frames.get("account_tiers")
    if tiers is None or "tier" not in tiers.columns:
        return credits
    tiers = tiers[["account_id", "tier"]].drop_duplicates("account_id")
    joined = credits.left_join(
        ibis.memtable(tiers.astype({"account_id": "str"})), "account_id"
    )
    return joined.select(*credits.columns, "tier")


def _add_tiers(context, frame: pd.DataFrame) -> pd.DataFrame:
    """Add each account's ``tier`` when the tiers step ran, else return ``frame``."""
    tiers = context.frames.get("account_tiers")
    if tiers is None or "tier" not in tiers.columns:
        return frame
    tiers = tiers[["account_id", "tier"]].drop_duplicates("account_id")
    return frame.merge(tiers, on="account_id", how="left")


def _shapley_table(values: pd.DataFrame) -> pd.DataFrame:
    return values.astype({"shapley_value": "float64", "share": "float64"})


def _store_comparisons(
    context,
    credits: ibis.Table,
    campaign_credits: pd.DataFrame | None,
    settings: AttributionSettings,
) -> None:
    """Store shares, model comparisons, rank correlations and intervals.

    ``credits`` is the credit sums, one column per model. Campaign shares
    are stored only when ``campaign_credits`` is given.
    """
    for dimension in DIMENSIONS:
        source = campaign_credits if dimension == "campaign" else credits
        if source is None:
            continue
        shares = compare.summarize_credit(source, dimension)
        context.store(f"attribution_shares_{dimension}", shares)
        if dimension == "campaign":
            continue
        table = compare.compare_models(shares, dimension, settings.robust_top)
        context.store(f"attribution_compare_{dimension}", table)
    channel_shares = context.frames["attribution_shares_channel"]
    correlation = compare.rank_correlation(channel_shares)
    context.store(
        "attribution_rank_correlation",
        correlation.rename_axis("model").reset_index(),
    )
    intervals = compare.bootstrap_shares(
        credits, settings.bootstrap_samples, settings.seed
    )
    context.store("attribution_intervals", intervals)


def _store_checks(context, opportunities: pd.DataFrame) -> None:
    """Store the coverage and the sourced and influenced revenue."""
    by = ["type"]
    opportunities = _add_tiers(context, opportunities)
    if "tier" in opportunities.columns:
        by = ["tier", "type"]
    context.store("attribution_coverage", compare.compute_coverage(opportunities, by))
    context.store(
        "attribution_sourced", compare.summarize_sourced_influenced(opportunities)
    )


def _store_bridge(
    context, won: pd.DataFrame, credits: ibis.Table, excluded: pd.DataFrame
) -> None:
    """Store the bridge from the closed-won of ``won`` to the credits."""
    bridge = compare.compute_bridge(won, credits, excluded)
    context.store("attribution_bridge", bridge)


def _add_headline(
    context,
    opportunities: pd.DataFrame,
    settings: AttributionSettings,
    suggested: int | None,
    unconverted: int | None,
) -> None:
    channels = context.frames["attribution_compare_channel"]
    functions = context.frames["attribution_compare_function"]
    coverage = compare.compute_coverage(opportunities)
    revenue_coverage = (
        float(coverage["amount_share"].iloc[0]) if len(coverage) else None
    )
    context.headline["attribution"] = {
        "robust_channels": channels.loc[channels["robust"], "channel"].tolist(),
        "robust_functions": functions.loc[functions["robust"], "function"].tolist(),
        "top_channel": channels["channel"].iloc[0] if len(channels) else None,
        "revenue_coverage": revenue_coverage,
        "lookback_days": settings.lookback_days,
        "suggested_lookback_days": suggested,
        # Lost deals with a touch, company-wide like the channel weights
        # that the data-driven models learn from them.
        "unconverted_journeys": unconverted,
    }
