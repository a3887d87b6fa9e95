"""P10, P50 and P90 ranges by seeded simulation.

The pipeline methods treat every open deal as an independent draw: it
closes in its expected window with its probability, for its full amount,
or not at all. Each simulation adds up the deals that closed, so the spread
of the totals is the range. Draws come from a ``numpy`` generator seeded
from the run's ``seed``, the as-of date and the method, so a rerun gives
the same ranges.
"""

from __future__ import annotations

import datetime as dt
import warnings
import zlib

import numpy as np
import pandas as pd

QUANTILES = (0.10, 0.50, 0.90)

_CHUNK_DEALS = 2_000
_CHUNK_OCCURRENCES = 1_000_000
"""Occurrences drawn at once by :func:`simulate_repeat_totals` (about 20 MB)."""


def make_generator(seed: int, as_of: dt.date, method: str) -> np.random.Generator:
    """Return a generator whose stream depends only on seed, date and method."""
    method_key = zlib.crc32(method.encode("utf-8"))
    return np.random.default_rng([seed, as_of.toordinal(), method_key])


def simulate_deal_totals(
    amounts: np.ndarray,
    probabilities: np.ndarray,
    membership: np.ndarray,
    simulations: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Return simulated totals of independent deal outcomes per window.

    Parameters
    ----------
    amounts, probabilities
        One value per deal: amount (report currency, not negative) and
        chance to close (0 to 1).
    membership
        Deals-by-windows 0/1 matrix: 1 where the deal closes in the window.
    simulations
        Number of simulated outcomes.

    Returns
    -------
    numpy.ndarray
        Simulations-by-windows totals in the report currency.
    """
    totals = np.zeros((simulations, membership.shape[1]))
    weighted = np.asarray(amounts, dtype=float)[:, None] * membership
    probabilities = np.asarray(probabilities, dtype=float)
    # Deals are drawn in chunks so memory stays bounded for large pipelines.
    # One buffer takes each chunk's draws, and the 0/1 outcomes overwrite
    # them in place. A fresh array per chunk spent more time in page faults
    # than in drawing.
    buffer = np.empty((simulations, min(len(probabilities), _CHUNK_DEALS)))
    for start in range(0, len(probabilities), _CHUNK_DEALS):
        chunk = slice(start, start + _CHUNK_DEALS)
        wins = buffer[:, : len(probabilities[chunk])]
        if wins.shape[1] == buffer.shape[1]:
            rng.random(out=wins)
        else:
            # The generator fills only contiguous arrays, so the last,
            # narrower chunk gets its own.
            wins = rng.random(wins.shape)
        np.less(wins, probabilities[chunk], out=wins)
        totals += wins @ weighted[chunk]
    return totals


def simulate_repeat_totals(
    amounts: np.ndarray,
    rates: np.ndarray,
    simulations: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Return simulated totals of deals that recur at a Poisson rate.

    ``rates`` is a deals-by-windows matrix of expected occurrences of each
    past deal in each window; each occurrence books the deal's amount.

    Independent Poisson counts per deal add up to one Poisson count at the
    summed rate, and each of those occurrences is a given deal with a
    probability proportional to its rate. So each window draws one count
    per simulation, then the deal of every occurrence with scipy's alias
    method. The draws grow with the occurrences rather than with the deals:
    on the large benchmark size, a backtest window expects 1,300 to 3,400
    occurrences of 12,000 to 34,000 deals with a rate.
    """
    from scipy.stats.sampling import DiscreteAliasUrn

    totals = np.zeros((simulations, rates.shape[1]))
    amounts = np.asarray(amounts, dtype=float)
    for column in range(rates.shape[1]):
        drawn = rates[:, column] > 0
        if not drawn.any():
            continue
        column_rates = rates[drawn, column]
        counts = rng.poisson(column_rates.sum(), size=simulations)
        with warnings.catch_warnings():
            # UNU.RAN warns when round-off leaves a strip of its alias table
            # short of full, and fills it from the strip's own deal. Rerun
            # in Python on 39,568 rates alternating 1 and 0.5, its table
            # construction (dau.c) left 2e-11 of one strip short, which
            # moves a deal's probability by about 5e-16.
            warnings.filterwarnings(
                "ignore", message=".*squared histogram", category=RuntimeWarning
            )
            urn = DiscreteAliasUrn(column_rates, random_state=rng)
        totals[:, column] = _sum_occurrences(counts, urn, amounts[drawn])
    return totals


def _sum_occurrences(counts: np.ndarray, urn, amounts: np.ndarray) -> np.ndarray:
    """Return each simulation's sum of ``amounts`` over its ``counts`` draws.

    ``urn`` draws the deal of each occurrence. Simulations are drawn in
    blocks of at most :data:`_CHUNK_OCCURRENCES` occurrences (one simulation
    may exceed it alone), so that memory stays bounded. The blocks hold the
    same draws, in the same order, as one draw of every occurrence.
    """
    sums = np.zeros(len(counts))
    ends = np.cumsum(counts)
    start = 0
    while start < len(counts):
        limit = (ends[start - 1] if start else 0) + _CHUNK_OCCURRENCES
        stop = max(start + 1, int(np.searchsorted(ends, limit, side="right")))
        block = counts[start:stop]
        deals = urn.rvs(int(block.sum()))
        owners = np.repeat(np.arange(len(block)), block)
        sums[start:stop] = np.bincount(
            owners, weights=amounts[deals], minlength=len(block)
        )
        start = stop
    return sums


def summarize_samples(samples: np.ndarray) -> pd.DataFrame:
    """Return the mean, P10, P50 and P90 of each column of ``samples``.

    Values below zero are raised to zero first: no forecast is negative.
    """
    clipped = np.clip(np.asarray(samples, dtype=float), 0.0, None)
    p10, p50, p90 = np.quantile(clipped, QUANTILES, axis=0)
    return pd.DataFrame(
        {"forecast": clipped.mean(axis=0), "p10": p10, "p50": p50, "p90": p90}
    )
