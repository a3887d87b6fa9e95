"""Shapley values of channels from the channel sets of journeys.

The worth of a coalition of channels ``S`` is, as in the
marketing-attribution-models package's ``conv_rate`` setting,
``v(S) = sum of rate(T) over observed channel sets T contained in S``,
where ``rate(T)`` is the conversion rate (won over won plus lost) of the
journeys whose distinct channels are exactly ``T``. Shapley values are
then computed exactly by enumerating every subset of the players, so the
number of players is capped: above ``max_channels`` the channels on the
fewest journeys share one player, :data:`OTHER`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from acctlib.errors import ParameterError

OTHER = "other"
MAX_PLAYERS = 20  # 2**20 subsets keep the exact enumeration below a second


def shapley_values(
    worth: Mapping[frozenset, float], players: Sequence[str]
) -> dict[str, float]:
    """Return the exact Shapley value of each player.

    ``worth`` maps coalitions (frozensets of players) to their value; a
    coalition it leaves out is worth 0. Runs in ``O(n * 2**n)``.
    """
    values = _worth_array(worth, players)
    return _shapley_from_array(values, len(players), players)


def _worth_array(
    worth: Mapping[frozenset, float], players: Sequence[str]
) -> np.ndarray:
    _check_player_count(len(players))
    bits = {player: 1 << position for position, player in enumerate(players)}
    values = np.zeros(1 << len(players))
    for coalition, value in worth.items():
        values[sum(bits[player] for player in coalition)] = value
    return values


def _shapley_from_array(
    values: np.ndarray, n: int, players: Sequence[str]
) -> dict[str, float]:
    masks = np.arange(1 << n)
    sizes = np.array([int(mask).bit_count() for mask in masks])
    factorial = np.array([math.factorial(k) for k in range(n + 1)], dtype=float)
    result = {}
    for position, player in enumerate(players):
        bit = 1 << position
        without = masks[(masks & bit) == 0]
        weight = factorial[sizes[without]] * factorial[n - sizes[without] - 1]
        gains = values[without | bit] - values[without]
        result[player] = float((weight * gains).sum() / factorial[n])
    return result


def _check_player_count(n: int) -> None:
    if n > MAX_PLAYERS:
        raise ParameterError(
            f"exact Shapley values over {n} players need 2**{n} coalitions; "
            f"set attribution_shapley_max_channels to {MAX_PLAYERS} or fewer"
        )


def group_rare_channels(sets: pd.DataFrame, max_channels: int) -> dict[str, str]:
    """Map each channel to its Shapley player.

    ``sets`` has ``channels`` (frozensets) and ``journeys`` (count). When
    more than ``max_channels`` channels occur, the ``max_channels - 1``
    channels on the most journeys (ties by name) stay players and the rest
    become :data:`OTHER`.
    """
    _check_player_count(max_channels)
    reach: dict[str, float] = {}
    for channels, journeys in zip(sets["channels"], sets["journeys"], strict=True):
        for channel in channels:
            reach[channel] = reach.get(channel, 0.0) + journeys
    ranked = sorted(reach, key=lambda channel: (-reach[channel], channel))
    if len(ranked) <= max_channels:
        return {channel: channel for channel in ranked}
    kept = set(ranked[: max_channels - 1])
    return {channel: channel if channel in kept else OTHER for channel in ranked}


def compute_channel_shapley(sets: pd.DataFrame, max_channels: int) -> pd.DataFrame:
    """Return each channel's Shapley value and share from journey channel sets.

    Parameters
    ----------
    sets
        One row per journey group with ``channels`` (frozenset of channel
        names), ``conversions`` and ``nulls`` (won and lost journeys).
    max_channels
        Players valued exactly; rarer channels are grouped into ``other``.

    Returns
    -------
    pandas.DataFrame
        ``channel``, ``player`` (the channel or ``other``),
        ``shapley_value`` and ``share`` (the player's value over the sum of
        the positive values, 0 when none is positive; a player's channels
        each carry the player's figures), sorted by channel.
    """
    sets = sets.assign(journeys=sets["conversions"] + sets["nulls"])
    player_of = group_rare_channels(sets, max_channels)
    players = sorted(set(player_of.values()))
    grouped = sets.assign(
        players=[frozenset(player_of[c] for c in s) for s in sets["channels"]]
    )
    totals = grouped.groupby("players")[["conversions", "journeys"]].sum()
    rates = (totals["conversions"] / totals["journeys"]).fillna(0.0)

    exact = _worth_array(rates.to_dict(), players)
    worth = _sum_over_subsets(exact, len(players))
    values = _shapley_from_array(worth, len(players), players)
    positive = sum(max(value, 0.0) for value in values.values())
    rows = [
        {
            "channel": channel,
            "player": player,
            "shapley_value": values[player],
            "share": max(values[player], 0.0) / positive if positive > 0 else 0.0,
        }
        for channel, player in sorted(player_of.items())
    ]
    return pd.DataFrame(rows, columns=["channel", "player", "shapley_value", "share"])


def _sum_over_subsets(values: np.ndarray, n: int) -> np.ndarray:
    """Return ``w`` with ``w[S] = sum of values[T] for T subset of S``."""
    result = values.copy()
    masks = np.arange(1 << n)
    for position in range(n):
        bit = 1 << position
        has_bit = (masks & bit) != 0
        result[has_bit] += result[masks[has_bit] ^ bit]
    return result
