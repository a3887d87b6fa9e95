"""Membership tests on text columns that stay fast on large inputs.

pandas 3 stores text in Arrow-backed arrays, and their ``isin`` turns the
list of candidates into Python objects one at a time. Against the 300,000
deal IDs of the large benchmark source that took 1.3 s per call, while the
same test on object arrays, which use a hash table, took 0.09 s.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


def is_in(values: pd.Series | pd.Index, candidates: Iterable) -> pd.Series | np.ndarray:
    """Return where ``values`` are among ``candidates``, as ``values.isin`` does.

    A Series gives a boolean Series on its index, an Index a boolean array.
    """
    if not isinstance(candidates, pd.Series | pd.Index):
        candidates = pd.Index(list(candidates))
    targets = pd.Index(candidates.astype(object))
    if isinstance(values, pd.Index):
        return values.astype(object).isin(targets)
    return pd.Series(
        values.astype(object).isin(targets).to_numpy(dtype=bool), index=values.index
    )
