"""Membership tests on text columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from acctlib.lookup import is_in


def test_series_keeps_its_index():
    values = pd.Series(["A1", "A2", None, "A3"], index=[10, 11, 12, 13], dtype="str")

    result = is_in(values, pd.Series(["A3", "A1"], dtype="str"))

    assert result.index.tolist() == [10, 11, 12, 13]
    assert result.tolist() == [True, False, False, True]


def test_index_gives_array():
    values = pd.Index(["O1", "O2", "O3"], dtype="str")

    result = is_in(values, ["O2"])

    assert isinstance(result, np.ndarray)
    assert result.tolist() == [False, True, False]


def test_agrees_with_isin_on_text():
    values = pd.Series([f"D{number}" for number in range(1_000)], dtype="str")
    candidates = pd.Series([f"D{number}" for number in range(0, 2_000, 3)], dtype="str")

    assert is_in(values, candidates).equals(values.isin(candidates))
