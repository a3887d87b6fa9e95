"""Rule-based models on aggregated paths, which carry no dates or deals.

``paths`` frames come from :func:`acctlib.intake.journeys.load_paths`: one
row per distinct channel sequence with ``conversions``, ``nulls`` and
``value``. First and last touch give a path's conversions and value to its
first and last channel; linear splits them equally over the path's touches,
so a channel that occurs twice gets two shares. Markov removal effects on
the same frames come from :func:`acctlib.attribution.markov.count_path_transitions`.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def split_paths(text: pd.Series, separator: str = " > ") -> pd.Series:
    """Split path text into Arrow lists of channel names, trimmed.

    Returns a Series of ``list<dictionary<int32, string>>`` with the index
    of ``text``: every touch is a channel number into one list of
    names. A missing or empty path gives a missing list, which counts no
    transitions. It is the fast input for
    :func:`acctlib.attribution.markov.count_path_transitions`, which reads
    the numbers without making a Python object per touch.
    """
    values = pa.chunked_array(pa.array(text)).combine_chunks()
    if pa.types.is_null(values.type):
        values = values.cast(pa.string())
    values = pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)
    # Halves split in two threads, as Arrow lets go of the GIL.
    middle = len(values) // 2
    halves = [values.slice(0, middle), values.slice(middle)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        split = list(pool.map(lambda half: _split_half(half, separator), halves))
    offsets = [lists.offsets.to_numpy() for lists, _ in split]
    offsets = np.concatenate([offsets[0][:-1], offsets[1] + offsets[0][-1]])
    nulls = np.concatenate([lists.is_null().to_numpy(False) for lists, _ in split])
    encoded = pa.chunked_array([channels for _, channels in split])
    channels = encoded.unify_dictionaries().combine_chunks()
    # Trimming the few distinct names, not every touch, can make two equal.
    trimmed = pc.utf8_trim_whitespace(channels.dictionary)
    if not trimmed.equals(channels.dictionary):
        numbers, names = pd.factorize(trimmed.to_pandas())
        channels = pa.DictionaryArray.from_arrays(
            pa.array(numbers[channels.indices.to_numpy()], pa.int32()),
            pa.array(np.asarray(names, dtype=object), pa.string()),
        )
    nested = pa.ListArray.from_arrays(
        pa.array(offsets, pa.int32()), channels, mask=pa.array(nulls)
    )
    return pd.Series(pd.arrays.ArrowExtensionArray(nested), index=text.index)


def _split_half(values: pa.Array, separator: str) -> tuple[pa.ListArray, pa.Array]:
    """Split ``values`` into lists and dictionary-encode their names."""
    lists = pc.split_pattern(values, separator)
    return lists, pc.dictionary_encode(lists.values)


def compute_path_heuristics(paths: pd.DataFrame) -> pd.DataFrame:
    """Return first, last and linear touch conversions and value per channel.

    Returns ``channel`` and, for each model ``first_touch``, ``last_touch``
    and ``linear``, the columns ``<model>_conversions`` and
    ``<model>_value``, sorted by channel.
    """
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for channels, conversions, value in zip(
        paths["channels"], paths["conversions"], paths["value"], strict=True
    ):
        if len(channels) == 0:
            continue
        totals[channels[0]]["first_touch_conversions"] += conversions
        totals[channels[0]]["first_touch_value"] += value
        totals[channels[-1]]["last_touch_conversions"] += conversions
        totals[channels[-1]]["last_touch_value"] += value
        for channel in channels:
            totals[channel]["linear_conversions"] += conversions / len(channels)
            totals[channel]["linear_value"] += value / len(channels)
    columns = [
        f"{model}_{measure}"
        for model in ("first_touch", "last_touch", "linear")
        for measure in ("conversions", "value")
    ]
    frame = pd.DataFrame.from_dict(totals, orient="index").reindex(columns=columns)
    frame = frame.fillna(0.0).rename_axis("channel").reset_index()
    return frame.sort_values("channel").reset_index(drop=True)
