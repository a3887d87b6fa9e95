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
import math
from collections.abc import Iterable
from itertools import chain

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse
import scipy.sparse.linalg

logger = logging.getLogger(__name__)

START = "(start)"
CONVERSION = "(conversion)"
NULL = "(null)"
# Joins the channels of a higher-order state; no channel name contains it.
STATE_SEPARATOR = "\x1f"


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

    Channels are numbered once and every step is counted with numpy, so
    the cost grows with the number of touches, not with a Python loop over
    them.
    """
    lengths, codes, names = _number_channels(paths["channels"])
    states, state_names = _number_states(codes, names, lengths, order)
    conversions = paths["conversions"].to_numpy(dtype="float64")
    nulls = paths["nulls"].to_numpy(dtype="float64")
    nonempty = lengths > 0
    first = (np.cumsum(lengths) - lengths)[nonempty]

    # State numbers start at 1, so 0 stands for (start) as a source. Each
    # step is the key source * size + target, built in place.
    size = len(state_names) + 1
    keys = np.empty(len(states), dtype="int64")
    np.multiply(states[:-1], size, out=keys[1:])
    keys[first] = 0
    keys += states
    journeys = np.repeat(conversions + nulls, lengths)
    step_counts = np.bincount(keys, weights=journeys, minlength=size * size)
    # Self-transitions are counted on the diagonal; dropping them there
    # is cheaper than leaving them out of every touch.
    step_counts[np.arange(size) * (size + 1)] = 0.0
    labels = np.array([START, *state_names], dtype=object)
    rows = [
        (labels[key // size], labels[key % size], step_counts[key])
        for key in np.flatnonzero(step_counts)
    ]
    last = states[first + lengths[nonempty] - 1]
    for target, counts in ((CONVERSION, conversions), (NULL, nulls)):
        ends = np.bincount(last, weights=counts[nonempty], minlength=size)
        rows += [(labels[state], target, ends[state]) for state in np.flatnonzero(ends)]
    frame = pd.DataFrame(rows, columns=["source", "target", "count"])
    frame["count"] = frame["count"].astype("float64")
    return frame.sort_values(["source", "target"]).reset_index(drop=True)


def _number_channels(channels: pd.Series) -> tuple[np.ndarray, np.ndarray, list]:
    """Return each path's length, every touch's channel number and the names.

    Channel numbers are int32 or int64 integers from 0.

    ``channels`` contains Python sequences, or Arrow lists as
    :func:`acctlib.attribution.paths.split_paths` returns them; Arrow lists
    are numbered without making a Python object per touch.
    """
    dtype = channels.dtype
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_list(dtype.pyarrow_dtype):
        lists = pa.chunked_array(pa.array(channels)).combine_chunks()
        lengths = pc.fill_null(pc.list_value_length(lists), 0)
        encoded = pc.list_flatten(lists)
        if not pa.types.is_dictionary(encoded.type):
            encoded = pc.dictionary_encode(encoded)
        # The int32 numbers are read in place, without a copy per touch.
        return (
            lengths.to_numpy().astype("int64"),
            encoded.indices.to_numpy(),
            encoded.dictionary.to_pylist(),
        )
    lengths = channels.map(len).to_numpy(dtype="int64")
    flat = list(chain.from_iterable(channels))
    codes, names = pd.factorize(pd.Series(flat, dtype="object"))
    return lengths, codes.astype("int64"), list(names)


def _number_states(
    codes: np.ndarray, names: pd.Index, lengths: np.ndarray, order: int
) -> tuple[np.ndarray, list[str]]:
    """Number each touch's state (its last ``order`` channels) from 1.

    Returns the state number of every touch and the state names, joined
    with :data:`STATE_SEPARATOR`, in number order starting at 1.
    """
    if order == 1:
        return codes + 1, list(names)
    position = np.arange(len(codes)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    columns = []
    for back in range(order - 1, -1, -1):
        # Code 0 marks "no channel this far back", at the start of a path.
        earlier = np.roll(codes, back) + 1
        columns.append(np.where(position >= back, earlier, 0))
    keys = np.stack(columns, axis=1)
    base = len(names) + 1
    if order * math.log2(base) < 62:
        # Each state as one integer in base ``len(names) + 1``.
        powers = base ** np.arange(order - 1, -1, -1, dtype="int64")
        states, packed = pd.factorize(keys @ powers)
        unique = (np.asarray(packed)[:, None] // powers) % base
    else:
        unique, states = np.unique(keys, axis=0, return_inverse=True)
    state_names = [
        STATE_SEPARATOR.join(names[code - 1] for code in row if code > 0)
        for row in unique
    ]
    return states.reshape(-1).astype("int64") + 1, state_names


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
