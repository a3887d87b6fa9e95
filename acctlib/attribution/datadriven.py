"""Markov and Shapley credit for journeys, trained on closed opportunities.

Both models learn one weight per channel from the ``pipeline`` journeys of
won opportunities (converted) and lost ones (not converted). They then
credit every journey of either kind. Each channel in a journey gets the
opportunity's amount in proportion to its weight, split equally over that
channel's touches. A journey whose channels all have weight 0 is credited
linearly (see :mod:`acctlib.attribution.allocation`).
"""

from __future__ import annotations

import ibis
import pandas as pd

from acctlib.attribution import markov, shapley
from acctlib.attribution.settings import AttributionSettings

# Channel sets are summed as int64 bit masks, one bit per channel.
MAX_MASK_CHANNELS = 62
WEIGHT_SCHEMA = {"channel": "string", "player": "string", "channel_weight": "float64"}
# Columns and dtypes of the weight tables, also when a table has no rows.
MARKOV_SCHEMA = {
    "channel": "string",
    "removal_effect": "float64",
    "share": "float64",
    "player": "string",
    "channel_weight": "float64",
}
SHAPLEY_SCHEMA = {
    "channel": "string",
    "player": "string",
    "shapley_value": "float64",
    "share": "float64",
    "channel_weight": "float64",
}


def closed_journeys(journeys: ibis.Table) -> ibis.Table:
    """Select the pipeline journeys of won and lost opportunities."""
    return journeys.filter(
        journeys.kind == "pipeline", journeys.outcome.isin(["won", "lost"])
    )


def count_unconverted_journeys(opportunities: pd.DataFrame) -> int:
    """Count the lost deals with a touch among the journeys the models learn from.

    ``opportunities`` has one row per kind and opportunity with ``kind``,
    ``outcome`` and ``touches``, as
    :attr:`~acctlib.attribution.credits.AttributionResult.opportunities`
    stores them. Without such a journey every journey converts, so the
    Markov removal effects follow how many journeys pass through each
    channel, and Shapley values only which channel sets occur.
    """
    lost = (
        (opportunities["kind"] == "pipeline")
        & (opportunities["outcome"] == "lost")
        & (opportunities["touches"] > 0)
    )
    return int(lost.sum())


def compute_markov_weights(
    journeys: ibis.Table, settings: AttributionSettings
) -> pd.DataFrame:
    """Return removal effects per channel with ``player`` and ``channel_weight``."""
    transitions = markov.count_journey_transitions(
        closed_journeys(journeys), settings.markov_order
    )
    effects = markov.compute_removal_effects(transitions)
    weights = effects.assign(player=effects["channel"], channel_weight=effects["share"])
    return weights[list(MARKOV_SCHEMA)].astype(MARKOV_SCHEMA)


def collect_channel_sets(journeys: ibis.Table) -> pd.DataFrame:
    """Return distinct channel sets of closed journeys with won and lost counts.

    Returns ``channels`` (frozenset of channel names), ``conversions`` and
    ``nulls``, one row per distinct set. Up to :data:`MAX_MASK_CHANNELS`
    channels, the engine sums each set as a bit mask, so only the distinct
    sets come back. With more channels, every journey's channels come back
    to pandas.
    """
    closed = closed_journeys(journeys)
    pairs = closed.select("journey_id", "outcome", "channel").distinct()
    channels = sorted(pairs.select("channel").distinct().to_pandas()["channel"])
    if len(channels) > MAX_MASK_CHANNELS:
        return _collect_sets_in_pandas(pairs)
    bits = ibis.memtable(
        pd.DataFrame(
            {
                "channel": pd.Series(channels, dtype="string"),
                "bit": [1 << number for number in range(len(channels))],
            }
        ),
        schema={"channel": "string", "bit": "int64"},
    )
    masked = pairs.join(bits, "channel")
    per_journey = masked.group_by(["journey_id", "outcome"]).aggregate(
        mask=masked.bit.sum()
    )
    per_set = per_journey.group_by("mask").aggregate(
        conversions=(per_journey.outcome == "won").cast("int64").sum(),
        nulls=(per_journey.outcome == "lost").cast("int64").sum(),
    )
    frame = per_set.to_pandas()
    frame["channels"] = [
        frozenset(name for number, name in enumerate(channels) if mask >> number & 1)
        for mask in frame["mask"].astype("int64")
    ]
    frame = frame.astype({"conversions": "int64", "nulls": "int64"})
    frame = frame.sort_values("mask").reset_index(drop=True)
    return frame[["channels", "conversions", "nulls"]]


def _collect_sets_in_pandas(pairs: ibis.Table) -> pd.DataFrame:
    frame = pairs.to_pandas()
    per_journey = frame.groupby(["journey_id", "outcome"])["channel"].agg(frozenset)
    frame = per_journey.reset_index().rename(columns={"channel": "channels"})
    frame["conversions"] = (frame["outcome"] == "won").astype("int64")
    frame["nulls"] = (frame["outcome"] == "lost").astype("int64")
    return frame.groupby("channels", as_index=False)[["conversions", "nulls"]].sum()


def compute_shapley_weights(
    journeys: ibis.Table, settings: AttributionSettings
) -> pd.DataFrame:
    """Return Shapley values per channel with ``player`` and ``channel_weight``."""
    sets = collect_channel_sets(journeys)
    if sets.empty:
        return empty_weights(SHAPLEY_SCHEMA)
    values = shapley.compute_channel_shapley(sets, settings.shapley_max_channels)
    weights = values.assign(channel_weight=values["share"])
    return weights[list(SHAPLEY_SCHEMA)].astype(SHAPLEY_SCHEMA)


def empty_weights(schema: dict[str, str]) -> pd.DataFrame:
    """Return a weight table with no rows and the columns of ``schema``."""
    return pd.DataFrame(
        {name: pd.Series(dtype=dtype) for name, dtype in schema.items()}
    )


def add_channel_weights(
    journeys: ibis.Table, weights_by_model: dict[str, pd.DataFrame]
) -> ibis.Table:
    """Add ``weight_<model>`` per touch: its player's weight over the player's touches.

    ``journeys`` needs ``journey_id`` and ``channel``. ``weights_by_model``
    maps a model to its frame of ``channel``, ``player`` and
    ``channel_weight``; a channel missing from it weighs 0. Returns
    ``journeys`` with one float64 weight column per model.
    """
    staged = journeys
    # Counting a player's touches in each journey is a pass over every
    # touch, so models that group the channels into the same players share
    # one count.
    counts: dict[frozenset, str] = {}
    count_of: dict[str, str] = {}
    for model, weights in weights_by_model.items():
        table = ibis.memtable(
            weights[list(WEIGHT_SCHEMA)].astype({"channel_weight": "float64"}),
            schema=WEIGHT_SCHEMA,
        )
        joined = staged.left_join(table, "channel")
        added = {f"_weight_{model}": joined.channel_weight.fill_null(0.0)}
        grouping = _player_grouping(weights)
        if grouping not in counts:
            counts[grouping] = f"_player_{len(counts)}"
            added[counts[grouping]] = joined.player.fill_null(joined.channel)
        count_of[model] = counts[grouping]
        staged = joined.select(*staged.columns, **added)
    # Counted per journey and player, then joined back: a window would sort
    # the journey rows, while a grouped count hashes them (2.7 of 44 CPU s
    # less for the credits of 12 million journey rows).
    counted = staged
    for player in counts.values():
        per_player = counted.group_by(["journey_id", player]).aggregate(
            **{f"_touches{player}": ibis._.count().cast("float64")}
        )
        joined = counted.view().join(per_player, ["journey_id", player])
        counted = joined.select(*counted.columns, f"_touches{player}")
    return counted.select(
        *journeys.columns,
        **{
            f"weight_{model}": counted[f"_weight_{model}"]
            / counted[f"_touches{player}"]
            for model, player in count_of.items()
        },
    )


def _player_grouping(weights: pd.DataFrame) -> frozenset:
    """Return the channels of ``weights`` that play as another player, with it.

    Every other channel plays as itself, so two weight tables with equal
    groupings count the same touches per player.
    """
    pairs = zip(weights["channel"], weights["player"], strict=True)
    return frozenset(
        (channel, player)
        for channel, player in pairs
        if pd.notna(player) and player != channel
    )
