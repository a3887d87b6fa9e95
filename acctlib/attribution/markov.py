"""Markov-chain removal effects, solved exactly as an absorbing chain.

Each journey is a path ``(start) -> s1 -> ... -> sn -> (conversion)`` or
``-> (null)``. With order ``k`` a state is the last ``k`` channels (fewer at
the start of a path). Transition probabilities are the observed transition
counts normalised per source state. Self-transitions are dropped, which
leaves every absorption probability unchanged.

The conversion probability from ``(start)`` is solved exactly from
``(I - Q) x = r``, where ``Q`` contains the transient-to-transient
probabilities and ``r`` the probabilities of converting in one step.
Removing a channel sends every transition into a state that contains it to
``(null)``; its removal effect is ``1 - p_removed / p``, and a channel's
share is its removal effect over the sum of all of them. Nothing is
simulated, so the figures are deterministic.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence

import ibis
import numpy as np
import pandas as pd
import scipy.sparse
import scipy.sparse.linalg

logger = logging.getLogger(__name__)

START = "(start)"
CONVERSION = "(conversion)"
NULL = "(null)"
# Joins the channels of a higher-order state; no channel name contains it.
STATE_SEPARATOR = "\x1f"


def _states_of(path: Sequence[str], order: int) -> list[str]:
    return [
        STATE_SEPARATOR.join(path[max(0, index - order + 1) : index + 1])
        for index in range(len(path))
    ]


def count_path_transitions(paths: pd.DataFrame, order: int = 1) -> pd.DataFrame:
    """Count transitions in aggregated paths.

    Parameters
    ----------
    paths
        One row per path with ``channels`` (a sequence of channel names),
        ``conversions`` and ``nulls`` (journeys with this path that
        converted and that did not).
    order
        Channels per state.

    Returns
    -------
    pandas.DataFrame
        ``source``, ``target`` and ``count`` (float), one row per observed
        transition, self-transitions left out.
    """
    counts: Counter = Counter()
    for channels, conversions, nulls in zip(
        paths["channels"], paths["conversions"], paths["nulls"], strict=True
    ):
        if len(channels) == 0:
            continue
        journeys = conversions + nulls
        states = [START, *_states_of(list(channels), order)]
        for source, target in zip(states[:-1], states[1:], strict=True):
            if source != target:
                counts[(source, target)] += journeys
        if conversions:
            counts[(states[-1], CONVERSION)] += conversions
        if nulls:
            counts[(states[-1], NULL)] += nulls
    return _transition_frame(counts.items())


def count_journey_transitions(journeys: ibis.Table, order: int = 1) -> pd.DataFrame:
    """Count transitions over closed journeys in the engine.

    ``journeys`` is a journey table (see
    :func:`acctlib.attribution.journeys.build_journeys`) already filtered
    to one kind and to won and lost opportunities; won journeys end in
    ``(conversion)``, lost ones in ``(null)``. It needs ``journey_id``,
    ``position``, ``touch_count``, ``channel`` and ``outcome``. Returns the
    frame of :func:`count_path_transitions`.
    """
    if order == 1:
        counted = _count_first_order(journeys)
    else:
        counted = _count_higher_order(journeys, order)
    result = counted.to_pandas()
    items = zip(
        zip(result["source"], result["target"], strict=True),
        result["count"].astype("float64"),
        strict=True,
    )
    return _transition_frame(items)


def _count_first_order(journeys: ibis.Table) -> ibis.Table:
    """Count first-order transitions without a window over the journeys.

    A state is one channel, so each step pairs a touch with the next one:
    ``next_channel`` when the journeys have it (see
    :func:`acctlib.attribution.journeys.build_journeys`), else a join to the
    next position, which is cheaper than sorting every journey for ``lag``.
    The start and end transitions need only the first and last touch.
    """
    starts = journeys.filter(journeys.position == 0).select(
        source=ibis.literal(START), target=journeys.channel
    )
    if "next_channel" in journeys.columns:
        # One scan for steps and ends: the last touch has no next channel,
        # so its target is the outcome.
        outcome = ibis.ifelse(journeys.outcome == "won", CONVERSION, NULL)
        steps = journeys.select(
            source=journeys.channel,
            target=journeys.next_channel.fill_null(outcome),
        )
        steps = steps.filter(steps.source != steps.target)
        counted = [
            part.group_by(["source", "target"]).aggregate(count=ibis._.count())
            for part in (starts, steps)
        ]
        return ibis.union(*counted, distinct=False)

    ends = journeys.filter(journeys.position == journeys.touch_count - 1)
    ends = ends.select(
        source=ends.channel,
        target=ibis.ifelse(ends.outcome == "won", CONVERSION, NULL),
    )
    earlier = journeys.filter(journeys.position < journeys.touch_count - 1)
    earlier = earlier.select("journey_id", "position", source=earlier.channel)
    later = journeys.filter(journeys.position > 0)
    later = later.select("journey_id", before=later.position - 1, target=later.channel)
    steps = earlier.join(
        later,
        [
            earlier.journey_id == later.journey_id,
            earlier.position == later.before,
        ],
    ).select("source", "target")
    steps = steps.filter(steps.source != steps.target)
    counted = [
        part.group_by(["source", "target"]).aggregate(count=ibis._.count())
        for part in (starts, steps, ends)
    ]
    return ibis.union(*counted, distinct=False)


def _count_higher_order(journeys: ibis.Table, order: int) -> ibis.Table:
    journey = ibis.window(group_by="journey_id", order_by="position")
    state = journeys.channel
    for lag in range(1, order):
        earlier = journeys.channel.lag(lag).over(journey)
        state = ibis.ifelse(earlier.isnull(), state, earlier + STATE_SEPARATOR + state)
    staged = journeys.mutate(state=state)
    staged = staged.mutate(previous=staged.state.lag(1).over(journey))
    steps = staged.select(source=staged.previous.fill_null(START), target=staged.state)
    ends = staged.filter(staged.position == staged.touch_count - 1)
    ends = ends.select(
        source=ends.state,
        target=ibis.ifelse(ends.outcome == "won", CONVERSION, NULL),
    )
    both = steps.union(ends, distinct=False)
    both = both.filter(both.source != both.target)
    return both.group_by(["source", "target"]).aggregate(count=ibis._.count())


def _transition_frame(items: Iterable) -> pd.DataFrame:
    rows = [(source, target, float(count)) for (source, target), count in items]
    frame = pd.DataFrame(rows, columns=["source", "target", "count"])
    return frame.sort_values(["source", "target"]).reset_index(drop=True)


def compute_removal_effects(transitions: pd.DataFrame) -> pd.DataFrame:
    """Solve the chain and return each channel's removal effect and share.

    Parameters
    ----------
    transitions
        Output of :func:`count_path_transitions` or
        :func:`count_journey_transitions`.

    Returns
    -------
    pandas.DataFrame
        ``channel``, ``removal_effect`` (0 to 1) and ``share`` (removal
        effects normalised to sum to 1, or 0 when all are 0), sorted by
        channel. The conversion probability of the full chain is stored in
        ``attrs["conversion_probability"]``.
    """
    states = sorted(
        (set(transitions["source"]) | set(transitions["target"]))
        - {START, CONVERSION, NULL}
    )
    transient = [START, *states]
    index = {state: position for position, state in enumerate(transient)}
    channels = sorted({c for state in states for c in state.split(STATE_SEPARATOR)})
    if not states:
        empty = pd.DataFrame({"channel": [], "removal_effect": [], "share": []})
        empty.attrs["conversion_probability"] = 0.0
        return empty

    q_matrix, conversion_step = _transition_matrices(transitions, index)
    base = _conversion_probability(
        q_matrix, conversion_step, np.zeros(len(index), bool)
    )
    effects = []
    for channel in channels:
        removed = np.array(
            [False] + [channel in state.split(STATE_SEPARATOR) for state in states]
        )
        without = _conversion_probability(q_matrix, conversion_step, removed)
        effect = 1.0 - without / base if base > 0 else 0.0
        effects.append(max(effect, 0.0))

    result = pd.DataFrame({"channel": channels, "removal_effect": effects})
    total = result["removal_effect"].sum()
    result["share"] = result["removal_effect"] / total if total > 0 else 0.0
    result.attrs["conversion_probability"] = base
    return result


def _transition_matrices(transitions: pd.DataFrame, index: dict[str, int]):
    size = len(index)
    outgoing = transitions.groupby("source")["count"].sum()
    probability = transitions["count"] / transitions["source"].map(outgoing)
    sources = transitions["source"].map(index).to_numpy()
    is_transient = transitions["target"].isin(index).to_numpy()
    targets = transitions["target"].map(index)
    q_matrix = scipy.sparse.csr_matrix(
        (
            probability[is_transient].to_numpy(),
            (sources[is_transient], targets[is_transient].astype(int).to_numpy()),
        ),
        shape=(size, size),
    )
    converts = (transitions["target"] == CONVERSION).to_numpy()
    conversion_step = np.zeros(size)
    np.add.at(conversion_step, sources[converts], probability[converts].to_numpy())
    return q_matrix, conversion_step


def _conversion_probability(
    q_matrix: scipy.sparse.csr_matrix, conversion_step: np.ndarray, removed: np.ndarray
) -> float:
    """Return the probability of absorbing in ``(conversion)`` from ``(start)``.

    Removed states keep no outgoing probability, and transitions into them
    are dropped, which sends that probability mass to ``(null)``.
    """
    keep = scipy.sparse.diags((~removed).astype(float))
    q_kept = keep @ q_matrix @ keep
    step = np.where(removed, 0.0, conversion_step)
    system = scipy.sparse.identity(q_matrix.shape[0], format="csc") - q_kept.tocsc()
    solution = scipy.sparse.linalg.spsolve(system, step)
    return float(np.atleast_1d(solution)[0])
