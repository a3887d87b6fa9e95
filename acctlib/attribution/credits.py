"""Every model's credit per opportunity, channel and function, and per campaign.

:func:`compute_attribution` runs the whole attribution of one run. It
selects the opportunities, builds the journeys in the engine, weights them
under every model and allocates cents. Each opportunity without a touch
gets a "No recorded touch" row, so every model's credits total the
opportunities' amounts to the cent.

The per-deal credits have a row per model, deal, channel and function,
tens of millions of rows on large sources, so they stay in the engine. The
engine keeps the sums of the heuristic models side by side, one row per
deal, channel and function, and unpivots them when the credits are read.
Every other table of the result is account-sized pandas.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import ibis
import pandas as pd

from acctlib import engine, schema
from acctlib.attribution import datadriven, heuristics
from acctlib.attribution.journeys import (
    build_journeys,
    count_excluded_touches,
    known_touches,
    opportunities_table,
    select_opportunities,
)
from acctlib.attribution.settings import AttributionSettings

logger = logging.getLogger(__name__)

NO_TOUCH = "No recorded touch"
CREDIT_KEYS = ["kind", "model", "opportunity_id", "channel", "function"]
CAMPAIGN_KEYS = ["kind", "model", "campaign"]
ATTRIBUTE_COLUMNS = [
    "kind",
    "opportunity_id",
    "account_id",
    "type",
    "outcome",
    "close_month",
]
JOURNEY_ATTRIBUTES = ["journey_id", *ATTRIBUTE_COLUMNS]


@dataclass
class AttributionResult:
    """Tables of one attribution run.

    ``credits`` is an Ibis expression over the per-deal sums cached on the
    engine (see :func:`acctlib.engine.cache_table`), which hold the
    heuristic models side by side; reading it gives one row per model. The
    other tables are account-sized pandas frames. :meth:`drop_cached`
    frees the engine's copies once the credits are stored.

    Attributes
    ----------
    credits
        Ibis table with one row per kind, model, opportunity, channel and
        function, in no particular order: ``kind``, ``model``,
        ``opportunity_id``, ``channel``, ``function`` (strings),
        ``touches`` (int64), ``credit_cents`` (int64), ``account_id``,
        ``type``, ``outcome`` (strings), ``close_month`` (date) and
        ``credit`` (float64, report currency). :meth:`fetch_credits`
        returns it as a sorted pandas frame.
    campaign_credits
        One row per kind, model and campaign: ``touches``, ``credit_cents``
        and ``credit``, with deals without a touch on "No recorded touch".
    opportunities
        One row per kind and opportunity credited: amount, window, type,
        outcome, ``touches``, ``first_touch_at``, ``sourced`` and
        ``influenced`` (marketing).
    excluded_touches
        Known touches that joined no journey, per kind and reason.
    excluded_opportunities
        Won deals that cannot be credited, with the reason.
    markov, shapley
        Channel weights the data-driven models learned.
    """

    credits: ibis.Table
    campaign_credits: pd.DataFrame
    opportunities: pd.DataFrame
    excluded_touches: pd.DataFrame
    excluded_opportunities: pd.DataFrame
    markov: pd.DataFrame = field(default_factory=pd.DataFrame)
    shapley: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    id_dtypes: dict[str, Any] = field(default_factory=dict, repr=False)
    """Dtypes of ``opportunity_id`` and ``account_id`` in the opportunities."""
    cached: list[ibis.Table] = field(default_factory=list, repr=False)
    """Engine tables that ``credits`` reads."""

    def drop_cached(self, con: Any) -> None:
        """Drop the engine tables behind ``credits``; ``credits`` is unusable after."""
        for table in self.cached:
            engine.drop_cached(con, table)
        self.cached = []

    def fetch_credits(self) -> pd.DataFrame:
        """Return ``credits`` as pandas, sorted by kind, model and deal.

        Meant for small runs and tests: on large sources the table has tens
        of millions of rows, so aggregate it in the engine instead.
        """
        with engine.quiet_conversions():
            frame = self.credits.order_by(CREDIT_KEYS).to_pandas()
        return _set_credit_dtypes(frame, self.id_dtypes)


def compute_attribution(
    con: Any,
    touches: ibis.Table,
    snapshot: pd.DataFrame,
    settings: AttributionSettings,
    deal_companies: pd.DataFrame | None = None,
) -> AttributionResult:
    """Compute every model's credit for the opportunities of ``snapshot``.

    Parameters
    ----------
    con
        Ibis backend holding ``touches``. The per-deal credit sums are
        cached there until :meth:`AttributionResult.drop_cached` (see
        :func:`acctlib.engine.cache_table`). The journeys and touch credits
        cached on the way are dropped before returning, except on Spark
        (see :func:`acctlib.engine.drop_cached`).
    touches
        Canonical touchpoints as an Ibis table.
    snapshot
        Output of :func:`acctlib.asof.snapshot_opportunities`.
    settings
        Models, windows and tie rules.
    deal_companies
        The intake's links of deals to companies, or None; a deal shared by
        several companies draws the touches of each (see
        :func:`~acctlib.attribution.journeys.select_opportunities`).
    """
    opportunities, excluded_opportunities = select_opportunities(
        snapshot, settings, deal_companies
    )
    opportunity_table = opportunities_table(opportunities)
    known = known_touches(touches, settings)
    journeys = _cache(con, build_journeys(known, opportunity_table, settings))

    heuristic = _cache(con, _credit_heuristics(journeys, settings))
    learned = {}
    if "markov" in settings.models:
        learned["markov"] = datadriven.compute_markov_weights(journeys, settings)
    if "shapley" in settings.models:
        learned["shapley"] = datadriven.compute_shapley_weights(journeys, settings)
    learned_credits = None
    if learned:
        parts = [
            datadriven.weight_by_channel(journeys, model, weights)
            for model, weights in learned.items()
        ]
        weighted = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
        learned_credits = _cache(con, heuristics.credit_journeys(weighted))

    summary = _summarize_journeys(journeys, opportunities)
    untouched = _no_touch_rows(summary, settings)
    models = settings.heuristic_models
    attributes = opportunities[ATTRIBUTE_COLUMNS]
    journey_attributes = opportunities[JOURNEY_ATTRIBUTES]
    heuristic_sums = _cache_sums(
        con, _sum_heuristics(heuristic, models, CREDIT_KEYS, journey_attributes)
    )
    learned_sums = _cache_sums(
        con, _sum_learned(learned_credits, CREDIT_KEYS, attributes)
    )
    credit_rows = _model_rows(
        heuristic_sums, learned_sums, models, CREDIT_KEYS, attributes
    )
    untouched_rows = untouched.merge(attributes, on=["kind", "opportunity_id"])
    untouched_rows = untouched_rows[list(credit_rows.columns)]
    credits = _add_no_touch_rows(credit_rows, untouched_rows)
    campaign_rows = _model_rows(
        _sum_heuristics(heuristic, models, CAMPAIGN_KEYS),
        _sum_learned(learned_credits, CAMPAIGN_KEYS),
        models,
        CAMPAIGN_KEYS,
    )
    with engine.quiet_conversions():
        campaign_frame = campaign_rows.to_pandas()
    campaign_credits = _summarize_campaigns(campaign_frame, untouched)
    excluded = count_excluded_touches(known, journeys, opportunity_table)
    for table in (journeys, heuristic, learned_credits):
        if table is not None:
            engine.drop_cached(con, table)
    return AttributionResult(
        credits=credits,
        cached=[sums for sums in (heuristic_sums, learned_sums) if sums is not None],
        campaign_credits=campaign_credits,
        opportunities=summary,
        excluded_touches=excluded,
        excluded_opportunities=excluded_opportunities,
        markov=learned.get("markov", pd.DataFrame()),
        shapley=learned.get("shapley", pd.DataFrame()),
        id_dtypes={
            column: opportunities[column].dtype
            for column in ("opportunity_id", "account_id")
        },
    )


def _cache(con: Any, expression: ibis.Table) -> ibis.Table:
    return engine.cache_table(con, expression, prefix="_attribution")


def _cache_sums(con: Any, sums: ibis.Table | None) -> ibis.Table | None:
    return None if sums is None else _cache(con, sums)


def _credit_heuristics(journeys: ibis.Table, settings: AttributionSettings):
    """Return each touch's heuristic credits, only the columns summed later.

    Deals are kept as ``journey_id``, one integer instead of two text
    columns; their columns are joined to the sums.
    """
    keys = ("journey_id", "kind", "channel", "function", "campaign")
    credited = heuristics.credit_heuristics(
        journeys, settings, columns=(*keys, "position", "amount_cents")
    )
    models = [f"credit_{model}" for model in settings.heuristic_models]
    return credited.select(*keys, *models)


def _sum_heuristics(
    heuristic: ibis.Table,
    models: tuple[str, ...],
    keys: list[str],
    attributes: pd.DataFrame | None = None,
) -> ibis.Table | None:
    """Sum ``touches`` and every heuristic model's credit per ``keys``, side by side.

    Each touch is aggregated once for all models, with one ``credit_<model>``
    column per model. With ``attributes`` (deal columns keyed by
    ``journey_id``) the touches are summed per journey and the deal's
    columns joined, which groups on an integer instead of the deal's kind
    and id. None when there is no model.
    """
    if not models:
        return None
    group = [key for key in keys if key != "model"]
    by_journey = attributes is not None
    if by_journey:
        group = ["journey_id", *(key for key in group if key in heuristic.columns)]
        group.remove("kind")
    credits = [f"credit_{model}" for model in models]
    sums = heuristic.group_by(group).aggregate(
        touches=ibis._.count(),
        **{credit: heuristic[credit].sum() for credit in credits},
    )
    if not by_journey:
        return sums
    deals = ibis.memtable(attributes)
    joined = sums.join(deals, "journey_id")
    extra = [column for column in attributes.columns if column not in keys]
    extra.remove("journey_id")
    return joined.select(
        *(key for key in keys if key != "model"), "touches", *credits, *extra
    )


def _sum_learned(
    learned: ibis.Table | None,
    keys: list[str],
    attributes: pd.DataFrame | None = None,
) -> ibis.Table | None:
    """Sum the learned models' ``touches`` and ``credit_cents`` per ``keys``."""
    if learned is None:
        return None
    grouped = learned.group_by(keys).aggregate(
        touches=learned.touch_id.count(),
        credit_cents=learned.credit_cents.sum(),
    )
    return _join_attributes(grouped, attributes)


def _model_rows(
    heuristic_sums: ibis.Table | None,
    learned_sums: ibis.Table | None,
    models: tuple[str, ...],
    keys: list[str],
    attributes: pd.DataFrame | None = None,
) -> ibis.Table:
    """Return one row per model and ``keys`` with ``touches`` and ``credit_cents``.

    The heuristic sums hold the models side by side; each model becomes
    its own rows here, so reading the result unpivots them. The deal
    columns of ``attributes`` follow, as the sums carry them.
    """
    group = [key for key in keys if key != "model"]
    extra = [] if attributes is None else list(attributes.columns[2:])
    parts = []
    # The casts matter once the sums are cached: DuckDB stores a sum of
    # int64 as a wider integer.
    if heuristic_sums is not None:
        parts += [
            heuristic_sums.select(
                *group,
                *extra,
                model=ibis.literal(model),
                touches=heuristic_sums.touches.cast("int64"),
                credit_cents=heuristic_sums[f"credit_{model}"].cast("int64"),
            ).select(*keys, "touches", "credit_cents", *extra)
            for model in models
        ]
    if learned_sums is not None:
        learned_rows = learned_sums.mutate(
            touches=learned_sums.touches.cast("int64"),
            credit_cents=learned_sums.credit_cents.cast("int64"),
        )
        parts.append(learned_rows.select(*keys, "touches", "credit_cents", *extra))
    if not parts:
        empty = pd.DataFrame(columns=[*keys, "touches", "credit_cents"])
        schema = {**dict.fromkeys(keys, "string"), "touches": "int64"}
        sums = ibis.memtable(empty, schema={**schema, "credit_cents": "int64"})
        return _join_attributes(sums, attributes)
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


def _join_attributes(sums: ibis.Table, attributes: pd.DataFrame | None) -> ibis.Table:
    if attributes is None:
        return sums
    joined = sums.left_join(ibis.memtable(attributes), ["kind", "opportunity_id"])
    return joined.select(*sums.columns, *attributes.columns[2:])


def _add_no_touch_rows(touched: ibis.Table, untouched: pd.DataFrame) -> ibis.Table:
    """Add the "No recorded touch" rows, with their deal attributes, in the engine."""
    rows = touched.union(ibis.memtable(untouched, schema=touched.schema()))
    return rows.mutate(
        touches=rows.touches.cast("int64"),
        credit_cents=rows.credit_cents.cast("int64"),
        credit=rows.credit_cents.cast("float64") / 100.0,
    )


def _set_credit_dtypes(
    credits: pd.DataFrame, id_dtypes: dict[str, Any]
) -> pd.DataFrame:
    for column in ("opportunity_id", "account_id"):
        credits[column] = credits[column].astype(id_dtypes.get(column, "str"))
    credits["close_month"] = credits["close_month"].astype(schema.DATE)
    credits["touches"] = credits["touches"].astype("int64")
    credits["credit_cents"] = credits["credit_cents"].astype("int64")
    credits["credit"] = credits["credit_cents"] / 100.0
    return credits


def _summarize_campaigns(
    grouped: pd.DataFrame, untouched: pd.DataFrame
) -> pd.DataFrame:
    untouched = untouched.groupby(["kind", "model"], as_index=False).agg(
        touches=("touches", "sum"), credit_cents=("credit_cents", "sum")
    )
    frame = pd.concat([grouped, untouched.assign(campaign=NO_TOUCH)], ignore_index=True)
    frame["touches"] = frame["touches"].astype("int64")
    frame["credit_cents"] = frame["credit_cents"].astype("int64")
    frame["credit"] = frame["credit_cents"] / 100.0
    return frame.sort_values(CAMPAIGN_KEYS).reset_index(drop=True)


def _no_touch_rows(
    summary: pd.DataFrame, settings: AttributionSettings
) -> pd.DataFrame:
    missing = summary.loc[summary["touches"] == 0]
    rows = [
        missing[["kind", "opportunity_id", "amount_cents"]].assign(model=model)
        for model in settings.models
    ]
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return frame.rename(columns={"amount_cents": "credit_cents"}).assign(
        channel=NO_TOUCH, function=NO_TOUCH, touches=0
    )


def _summarize_journeys(
    journeys: ibis.Table, opportunities: pd.DataFrame
) -> pd.DataFrame:
    is_marketing = journeys.function == "marketing"
    sources = (journeys.position == 0) & (journeys.occurred_at < journeys.created_at)
    summary = journeys.group_by(["kind", "opportunity_id"]).aggregate(
        touches=journeys.touch_id.count(),
        first_touch_at=journeys.occurred_at.min(),
        sourced=(sources & is_marketing).any(),
        influenced=is_marketing.any(),
    )
    deals = opportunities.drop(columns=["journey_id", "accounts"], errors="ignore")
    result = deals.merge(summary.to_pandas(), on=["kind", "opportunity_id"], how="left")
    result["touches"] = result["touches"].fillna(0).astype("int64")
    for column in ("sourced", "influenced"):
        result[column] = result[column].astype("boolean").fillna(False).astype(bool)
    result["first_touch_at"] = pd.to_datetime(result["first_touch_at"], utc=True)
    return result
