"""Every model's credit per opportunity, channel and function, and per campaign.

:func:`compute_attribution` runs the whole attribution of one run. It
selects the opportunities, builds the journeys in the engine, weights them
under every model and allocates cents. Each opportunity without a touch
gets a "No recorded touch" row, so every model's credits total the
opportunities' amounts to the cent.

The per-deal credits have a row per model, deal, channel and function,
tens of millions of rows on large sources, so they stay in the engine. The
engine keeps every model's sums side by side, one row per deal, channel
and function (``credit_sums``), and unpivots them when the credits are
read. Every other table of the result is account-sized pandas.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.selectors as selectors
import numpy as np
import pandas as pd

from acctlib import engine, schema
from acctlib.attribution import datadriven, heuristics
from acctlib.attribution.journeys import (
    attach_deals,
    count_excluded_touches,
    find_unpriced_accounts,
    known_touches,
    opportunities_table,
    order_journeys,
    select_opportunities,
)
from acctlib.attribution.settings import AttributionSettings

logger = logging.getLogger(__name__)

NO_TOUCH = "No recorded touch"
CREDIT_KEYS = ["kind", "model", "opportunity_id", "channel", "function"]
SUM_KEYS = ["kind", "opportunity_id", "channel", "function"]
"""Keys of the credit sums, which hold the models side by side."""
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
DEAL_COLUMNS = ATTRIBUTE_COLUMNS[2:]
"""Deal columns each credit row carries."""
JOURNEY_ROWS_PER_PART = 4_000_000
"""Journey rows credited per engine statement; larger sources run in parts."""
JOURNEY_TOUCH_COLUMNS = ["touch_id", "occurred_at", "channel", "function", "campaign"]
"""Touch columns the cached journeys keep; credits are per deal, not per account."""


@dataclass
class AttributionResult:
    """Tables of one attribution run.

    ``credit_sums`` holds every model's credit side by side, on the
    per-deal sums cached on the engine (see
    :func:`acctlib.engine.cache_table`); ``credits`` unpivots it into one
    row per model (:func:`unpivot_credits`). The other tables are
    account-sized pandas frames. :meth:`drop_cached` frees the engine's
    copies once the credits are stored.

    Attributes
    ----------
    credit_sums
        Ibis table with one row per kind, opportunity, channel and
        function, in no particular order: ``kind``, ``opportunity_id``,
        ``channel``, ``function`` (strings), ``touches`` (int64),
        ``account_id``, ``type``, ``outcome`` (strings), ``close_month``
        (date), then one int64 column of credit cents per model of
        ``models``, named after the model.
    models
        The models credited, in the order of their columns.
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
        outcome, ``touches``, ``first_touch_at``, ``sourced`` (the latest
        touch at or before creation is a marketing touch) and ``influenced``
        (any marketing touch in the journey).
    excluded_touches
        Known touches that joined no journey, per kind and reason.
    excluded_opportunities
        Won deals that cannot be credited, with the reason.
    markov, shapley
        Channel weights the data-driven models learned, with the columns of
        :data:`~acctlib.attribution.datadriven.MARKOV_SCHEMA` and
        :data:`~acctlib.attribution.datadriven.SHAPLEY_SCHEMA`. A model
        that was not run has no rows.
    """

    credit_sums: ibis.Table
    models: tuple[str, ...]
    campaign_credits: pd.DataFrame
    opportunities: pd.DataFrame
    excluded_touches: pd.DataFrame
    excluded_opportunities: pd.DataFrame
    markov: pd.DataFrame = field(
        default_factory=lambda: datadriven.empty_weights(datadriven.MARKOV_SCHEMA)
    )
    shapley: pd.DataFrame = field(
        default_factory=lambda: datadriven.empty_weights(datadriven.SHAPLEY_SCHEMA)
    )
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

    @property
    def credits(self) -> ibis.Table:
        """The credit sums as one row per model (see :func:`unpivot_credits`)."""
        return unpivot_credits(self.credit_sums, self.models)

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
    # The journeys are cached without their deal columns, and every read
    # joins them back from one row per deal. The cache then keeps ten
    # columns per touch instead of nineteen.
    ordered = _cache(
        con, order_journeys(known, opportunity_table, settings, JOURNEY_TOUCH_COLUMNS)
    )
    journeys = attach_deals(ordered, opportunity_table)

    learned = {}
    if "markov" in settings.models:
        learned["markov"] = datadriven.compute_markov_weights(journeys, settings)
    if "shapley" in settings.models:
        learned["shapley"] = datadriven.compute_shapley_weights(journeys, settings)
    models = (*settings.heuristic_models, *learned)
    groups = None
    if models:
        parts = [
            _credit_touches(attach_deals(rows, opportunity_table), settings, learned)
            for rows in _split_journeys(ordered, len(opportunities))
        ]
        # DuckDB 2.0.1 groups the touch credits below their join on journey
        # and position, into about one group per row. Without that pass the
        # step took 18 to 19 CPU s instead of 23 on the medium benchmark size.
        with engine.optimizers_off(con, "partial_aggregate_pushdown"):
            groups = engine.cache_parts(con, parts, prefix="_attribution")

    summary = _summarize_journeys(journeys, opportunities)
    untouched = _no_touch_rows(summary, settings)
    attributes = opportunities[ATTRIBUTE_COLUMNS]
    journey_attributes = opportunities[JOURNEY_ATTRIBUTES]
    sums = None
    if groups is not None:
        sums = _cache(
            con, _sum_credits(groups, models, CREDIT_KEYS, journey_attributes)
        )
    credit_sums = _wide_credits(sums, models, attributes, untouched)
    campaign_sums = None
    if groups is not None:
        campaign_sums = _sum_credits(groups, models, CAMPAIGN_KEYS)
    campaign_rows = _model_rows(campaign_sums, models, CAMPAIGN_KEYS)
    with engine.quiet_conversions():
        campaign_frame = campaign_rows.to_pandas()
    campaign_credits = _summarize_campaigns(campaign_frame, untouched)
    unpriced = find_unpriced_accounts(snapshot, opportunities, settings)
    excluded = count_excluded_touches(
        known, journeys, opportunity_table, settings, unpriced
    )
    for table in (ordered, groups):
        if table is not None:
            engine.drop_cached(con, table)
    return AttributionResult(
        credit_sums=credit_sums,
        models=models,
        cached=[] if sums is None else [sums],
        campaign_credits=campaign_credits,
        opportunities=summary,
        excluded_touches=excluded,
        excluded_opportunities=excluded_opportunities,
        # A data-driven model that was not run keeps its empty default.
        **learned,
        id_dtypes={
            column: opportunities[column].dtype
            for column in ("opportunity_id", "account_id")
        },
    )


def _cache(con: Any, expression: ibis.Table) -> ibis.Table:
    return engine.cache_table(con, expression, prefix="_attribution")


def _split_journeys(ordered: ibis.Table, journeys: int) -> list[ibis.Table]:
    """Split the cached journeys into parts of about :data:`JOURNEY_ROWS_PER_PART` rows.

    Parts are ranges of ``journey_id`` (0 to ``journeys`` - 1), so each
    journey is whole in one part and its credits do not depend on the
    split.
    """
    rows = int(ordered.count().to_pyarrow().as_py())
    count = max(1, min(journeys, math.ceil(rows / JOURNEY_ROWS_PER_PART)))
    if count == 1:
        return [ordered]
    bounds = np.linspace(0, journeys, count + 1).round().astype("int64")
    return [
        ordered.filter(ordered.journey_id >= int(low), ordered.journey_id < int(high))
        for low, high in zip(bounds[:-1], bounds[1:], strict=True)
    ]


def _credit_touches(
    journeys: ibis.Table,
    settings: AttributionSettings,
    learned: dict[str, pd.DataFrame],
) -> ibis.Table:
    """Return every model's credit, side by side, summed per journey and touch kind.

    One row per ``journey_id``, ``kind``, ``channel``, ``function`` and
    ``campaign`` with ``touches`` and one ``credit_<model>`` column per
    heuristic model, then per model of ``learned`` (channel weights of the
    data-driven models). Deals are kept as ``journey_id``, one integer
    instead of two text columns; their columns are joined to the sums.
    """
    keys = ("journey_id", "kind", "channel", "function", "campaign")
    credited = heuristics.credit_heuristics(
        journeys,
        settings,
        columns=(*keys, "position", "amount_cents"),
        weights={f"weight_{model}": f"credit_{model}" for model in learned},
        add_weights=lambda rows: datadriven.add_channel_weights(rows, learned),
    )
    credits = [f"credit_{model}" for model in (*settings.heuristic_models, *learned)]
    return credited.group_by(list(keys)).aggregate(
        touches=ibis._.count(),
        **{credit: credited[credit].sum() for credit in credits},
    )


def _sum_credits(
    groups: ibis.Table,
    models: tuple[str, ...],
    keys: list[str],
    attributes: pd.DataFrame | None = None,
) -> ibis.Table:
    """Sum ``touches`` and every model's credit per ``keys``, side by side.

    ``groups`` is the output of :func:`_credit_touches`. With
    ``attributes`` (deal columns keyed by ``journey_id``) the sums are per
    journey and the deal's columns are joined, which groups on an integer
    instead of the deal's kind and id.
    """
    group = [key for key in keys if key != "model"]
    by_journey = attributes is not None
    if by_journey:
        group = ["journey_id", *(key for key in group if key in groups.columns)]
        group.remove("kind")
    credits = [f"credit_{model}" for model in models]
    sums = groups.group_by(group).aggregate(
        touches=groups.touches.sum(),
        **{credit: groups[credit].sum() for credit in credits},
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


def unpivot_credits(sums: ibis.Table, models: Sequence[str]) -> ibis.Table:
    """Return credit sums as one row per model, with ``credit`` in report currency.

    ``sums`` is :attr:`AttributionResult.credit_sums`, with any columns
    added after it (such as ``tier``). The columns are ``kind``, ``model``,
    ``opportunity_id``, ``channel``, ``function``, ``touches``,
    ``credit_cents`` (int64), ``account_id``, ``type``, ``outcome``,
    ``close_month``, ``credit`` (float64), then the added columns.
    """
    deal = [c for c in DEAL_COLUMNS if c in sums.columns]
    added = [c for c in sums.columns if c not in (*SUM_KEYS, "touches", *deal, *models)]
    if models:
        rows = sums.pivot_longer(
            selectors.cols(*models), names_to="model", values_to="credit_cents"
        )
    else:
        rows = sums.mutate(
            model=ibis.literal(None, "string"), credit_cents=ibis.literal(0, "int64")
        ).filter(ibis.literal(False))
    cents = rows.credit_cents.cast("int64")
    return rows.select(
        "kind",
        "model",
        "opportunity_id",
        "channel",
        "function",
        rows.touches.cast("int64").name("touches"),
        cents.name("credit_cents"),
        *deal,
        (cents.cast("float64") / 100.0).name("credit"),
        *added,
    )


def _wide_credits(
    sums: ibis.Table | None,
    models: tuple[str, ...],
    attributes: pd.DataFrame,
    untouched: pd.DataFrame,
) -> ibis.Table:
    """Return every model's cents side by side, "No recorded touch" rows included.

    ``sums`` is the output of :func:`_sum_credits` per journey, or None
    when no model ran. ``untouched`` has one row per model and deal
    without a touch (:func:`_no_touch_rows`), and ``attributes`` the
    :data:`ATTRIBUTE_COLUMNS` of each deal.
    """
    deal = list(DEAL_COLUMNS)
    if sums is None:
        empty = attributes.iloc[:0].assign(
            channel=pd.Series(dtype="str"),
            function=pd.Series(dtype="str"),
            touches=pd.Series(dtype="int64"),
        )
        return ibis.memtable(empty[[*SUM_KEYS, "touches", *deal]])
    # The casts matter once the sums are cached: DuckDB stores a sum of
    # int64 as a wider integer.
    touched = sums.select(
        *SUM_KEYS,
        sums.touches.cast("int64").name("touches"),
        *deal,
        *(sums[f"credit_{model}"].cast("int64").name(model) for model in models),
    )
    if untouched.empty:
        return touched
    wide = untouched.pivot(
        index=["kind", "opportunity_id"], columns="model", values="credit_cents"
    ).reset_index()
    wide = wide.merge(attributes, on=["kind", "opportunity_id"])
    wide = wide.assign(channel=NO_TOUCH, function=NO_TOUCH, touches=0)
    rows = ibis.memtable(wide[list(touched.columns)], schema=touched.schema())
    return touched.union(rows, distinct=False)


def _model_rows(
    sums: ibis.Table | None, models: tuple[str, ...], keys: list[str]
) -> ibis.Table:
    """Return one row per model and ``keys`` with ``touches`` and ``credit_cents``.

    The sums hold the models side by side; each model becomes its own rows
    here, so reading the result unpivots them.
    """
    group = [key for key in keys if key != "model"]
    if sums is None:
        empty = pd.DataFrame(columns=[*keys, "touches", "credit_cents"])
        schema = {**dict.fromkeys(keys, "string"), "touches": "int64"}
        return ibis.memtable(empty, schema={**schema, "credit_cents": "int64"})
    parts = [
        sums.select(
            *group,
            model=ibis.literal(model),
            touches=sums.touches.cast("int64"),
            credit_cents=sums[f"credit_{model}"].cast("int64"),
        ).select(*keys, "touches", "credit_cents")
        for model in models
    ]
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


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
    """Summarize each journey: touch count, first touch and marketing flags.

    ``sourced`` is the rule of the account map's ``marketing_sourced``
    (:func:`acctlib.accountmap.summarize_touch_activity`): the journey's
    latest touch at or before the creation instant is a marketing touch.

    NOTE: touches at the same instant count in journey order here (channel
    priority, channel, touch id) but by touch id alone in the account map,
    so a marketing and another touch at one instant can flag differently.
    """
    is_marketing = journeys.function == "marketing"
    source_function = journeys.function.argmax(
        journeys.position, where=journeys.occurred_at <= journeys.created_at
    )
    summary = journeys.group_by(["kind", "opportunity_id"]).aggregate(
        touches=journeys.touch_id.count(),
        first_touch_at=journeys.occurred_at.min(),
        sourced=source_function == "marketing",
        influenced=is_marketing.any(),
    )
    deals = opportunities.drop(columns=["journey_id", "accounts"], errors="ignore")
    result = deals.merge(summary.to_pandas(), on=["kind", "opportunity_id"], how="left")
    result["touches"] = result["touches"].fillna(0).astype("int64")
    for column in ("sourced", "influenced"):
        result[column] = result[column].astype("boolean").fillna(False).astype(bool)
    result["first_touch_at"] = pd.to_datetime(result["first_touch_at"], utc=True)
    return result
