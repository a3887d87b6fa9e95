"""Flags on the win-probability calibration table.

A decile is flagged when its actual win rate differs from the predicted
one by more than :data:`MAX_GAP` and by more than chance explains for its
number of deals: :data:`Z_SCORE` binomial standard errors of the predicted
rate, ``sqrt(p * (1 - p) / deals)``. The second condition keeps a decile
of a few deals, whose win rate swings widely by chance, from being flagged.
Kept apart from :mod:`acctlib.forecast.winprob`, so that the notebook reads
it without importing statsmodels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_GAP = 0.10
"""Gap between actual and predicted win rate (a share) that a flag needs."""

Z_SCORE = 1.96
"""Standard errors a gap must exceed, a two-sided 95% test under the normal
approximation to the binomial."""


def flag_deciles(calibration: pd.DataFrame) -> pd.Series:
    """Flag each decile whose actual win rate is off its prediction.

    ``calibration`` has ``deals``, ``predicted`` and ``actual`` (shares
    0 to 1), as :func:`acctlib.forecast.winprob.summarize_calibration`
    returns it.
    """
    predicted = calibration["predicted"].astype(float)
    deals = calibration["deals"].astype(float).clip(lower=1.0)
    gap = (calibration["actual"].astype(float) - predicted).abs()
    error = np.sqrt(predicted * (1.0 - predicted) / deals)
    return (gap > MAX_GAP) & (gap > Z_SCORE * error)


def describe_flags(calibration: pd.DataFrame) -> str:
    """Return sentences that name the flagged deciles, or state that none is."""
    flagged = calibration[flag_deciles(calibration)]
    gap = f"{MAX_GAP:.0%}".replace("%", " percentage points")
    if flagged.empty:
        return (
            f"No decile's actual win rate differs from its predicted rate by "
            f"more than {gap} and by more than chance explains for its number "
            "of deals."
        )
    if len(flagged) == 1:
        first = "1 decile differs from its predicted win rate"
    else:
        first = f"{len(flagged)} deciles differ from their predicted win rate"
    sentences = [
        f"{first} by more than {gap}, more than chance explains for the number "
        "of deals."
    ]
    for row in flagged.itertuples():
        sentences.append(
            f"In decile {int(row.decile)} the predicted win rate was "
            f"{row.predicted:.1%}, and {row.actual:.1%} of its "
            f"{int(row.deals):,} deals were won."
        )
    sentences.append("Read the model's probabilities in those ranges with care.")
    return " ".join(sentences)
