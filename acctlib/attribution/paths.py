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

import pandas as pd


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
