"""Text columns of the sample tables, built with pyarrow.

Touchpoint tables reach millions of rows, so identifiers and labels are
built as Arrow string arrays and wrapped in pandas ``str`` series without
passing through Python objects.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def format_ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """Format numbers as zero-padded text identifiers such as ``A000042``.

    The width grows past ``width`` when the largest number needs more digits,
    so the identifiers of one table always sort in number order.
    """
    numbers = np.asarray(numbers, dtype="int64")
    if len(numbers):
        width = max(width, len(str(int(numbers.max()))))
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
    return _to_series(pc.binary_join_element_wise(prefix, digits, ""))


def decode_labels(labels: Sequence[str], codes: np.ndarray) -> pd.Series:
    """Return ``labels[code]`` for each code, missing where the code is negative."""
    codes = np.asarray(codes, dtype="int64")
    indices = pa.array(codes, mask=codes < 0)
    dictionary = pa.DictionaryArray.from_arrays(
        indices, pa.array(list(labels), pa.string())
    )
    return _to_series(dictionary.cast(pa.string()))


def take_text(values: pd.Series, positions: np.ndarray) -> pd.Series:
    """Return the text values at ``positions``, as a new 0-based series."""
    selected = pa.array(values, from_pandas=True).take(pa.array(positions, pa.int64()))
    return _to_series(selected)


def _to_series(array: pa.Array | pa.ChunkedArray) -> pd.Series:
    return pd.Series(pd.array(array, dtype="str"))
