"""Path text and transition counts on aggregated paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from acctlib.attribution import markov
from acctlib.attribution.paths import split_paths


def test_split_paths_trims_names_and_merges_equal_ones():
    text = pd.Series(["email > webinar", " event >  email ", "email  > event"])
    channels = split_paths(text)
    assert channels.tolist() == [
        ["email", "webinar"],
        ["event", "email"],
        ["email", "event"],
    ]
    assert channels.index.equals(text.index)


@pytest.mark.parametrize("rows", [[], ["email"], ["email > event", None]])
def test_split_paths_short_inputs(rows):
    """Inputs too short to halve split like longer ones."""
    channels = split_paths(pd.Series(rows, dtype="object"))
    expected = [None if row is None else row.split(" > ") for row in rows]
    found = [None if c is pd.NA else list(c) for c in channels.tolist()]
    assert found == expected


def test_split_paths_empty_text_gives_no_list():
    channels = split_paths(pd.Series(["", None, "email"], dtype="object"))
    assert channels.isna().tolist() == [True, True, False]
    paths = pd.DataFrame({"channels": channels, "conversions": [3, 4, 1], "nulls": 0})
    counted = markov.count_path_transitions(paths)
    assert counted.to_dict("list") == {
        "source": ["(start)", "email"],
        "target": ["email", "(conversion)"],
        "count": [1.0, 1.0],
    }


def random_paths(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = ["ads", "email", "event", "partner", "webinar"]
    channels = [list(rng.choice(names, size=rng.integers(0, 7))) for _ in range(rows)]
    return pd.DataFrame(
        {
            "channels": channels,
            "conversions": rng.integers(0, 3, rows),
            "nulls": rng.integers(0, 3, rows),
        }
    )


def loop_count(paths: pd.DataFrame, order: int) -> pd.DataFrame:
    """Count transitions one path at a time, as the definition reads."""
    counts: dict[tuple[str, str], float] = {}

    def add(source: str, target: str, value: float) -> None:
        if value:
            counts[(source, target)] = counts.get((source, target), 0.0) + value

    for channels, conversions, nulls in paths.itertuples(index=False):
        if not len(channels):
            continue
        states = [
            markov.STATE_SEPARATOR.join(channels[max(0, i - order + 1) : i + 1])
            for i in range(len(channels))
        ]
        for source, target in zip(["(start)", *states], states, strict=False):
            if source != target:
                add(source, target, conversions + nulls)
        add(states[-1], "(conversion)", conversions)
        add(states[-1], "(null)", nulls)
    rows = [(source, target, count) for (source, target), count in counts.items()]
    frame = pd.DataFrame(rows, columns=["source", "target", "count"])
    return frame.sort_values(["source", "target"]).reset_index(drop=True)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_counts_match_a_path_by_path_count(order):
    paths = random_paths(500, seed=order)
    expected = loop_count(paths, order)
    pd.testing.assert_frame_equal(markov.count_path_transitions(paths, order), expected)
    text = paths.assign(channels=split_paths(paths["channels"].str.join(" > ")))
    pd.testing.assert_frame_equal(markov.count_path_transitions(text, order), expected)
