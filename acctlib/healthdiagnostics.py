"""Check whether health scores tell accounts apart.

A health component that (nearly) every scored account shares adds to
each score alike and ranks no account above another, so the health page
looks more informative than it is.

Each check returns a frame with a documented contract, and a ``describe_``
function turns it into the sentence that the pages show.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from acctlib import tables
from acctlib.health import COMPONENTS

CONSTANT_COMPONENT_SHARE = 0.9
"""Share of accounts sharing one value from which a component counts as constant.

At 90%, one account in ten at most differs, so the component ranks
nearly no account above another.
"""
MIN_COMPONENT_ACCOUNTS = 10
"""Accounts a component must score before it can count as constant.

A handful of accounts can share a value by chance, for example when
they all have a deal in the same stage.
"""
CONSTANT_COMPONENT_COLUMNS: dict[str, str] = {
    "component": "Health component, one of health.COMPONENTS.",
    "value": "The component's most common score, 0 to 100 (float).",
    "accounts": "Accounts with that score (int).",
    "scored": "Scored accounts whose health the component enters (int).",
    "share": "accounts / scored, 0 to 1 (float).",
}
"""Columns of :func:`find_constant_components`."""


def find_constant_components(
    health: pd.DataFrame,
    weights: Mapping[str, Mapping[str, float]],
    *,
    min_share: float = CONSTANT_COMPONENT_SHARE,
    min_accounts: int = MIN_COMPONENT_ACCOUNTS,
) -> pd.DataFrame:
    """Find the health components that nearly every scored account shares.

    Parameters
    ----------
    health
        ``account_health`` (see :data:`acctlib.health.ACCOUNT_HEALTH_COLUMNS`):
        ``health_score``, ``profile`` and one column per component.
    weights
        The ``health_weights`` parameter, ``{profile: {component: weight}}``.
        A component counts only for accounts whose profile weighs it above 0.
    min_share
        Share of those accounts that must have the most common score.
    min_accounts
        Accounts the component must score; fewer are never reported.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`CONSTANT_COMPONENT_COLUMNS`, one row per
        constant component, in the order of :data:`acctlib.health.COMPONENTS`.
        Empty when every component separates accounts.
    """
    scored = health[health["health_score"].notna()]
    rows = []
    for component in COMPONENTS:
        weight_by_profile = {
            profile: float(profile_weights.get(component, 0.0))
            for profile, profile_weights in weights.items()
        }
        weighted = scored["profile"].map(weight_by_profile).gt(0)
        values = scored.loc[weighted, component].dropna()
        if len(values) < min_accounts:
            continue
        counts = values.round(1).value_counts()
        top = counts[counts == counts.max()].sort_index()
        share = int(top.iloc[0]) / len(values)
        if share >= min_share:
            rows.append(
                {
                    "component": component,
                    "value": float(top.index[0]),
                    "accounts": int(top.iloc[0]),
                    "scored": len(values),
                    "share": share,
                }
            )
    return pd.DataFrame(rows, columns=list(CONSTANT_COMPONENT_COLUMNS))


def describe_constant_components(constant: pd.DataFrame) -> str:
    """Return one sentence per constant component, or '' without any.

    ``constant`` is the output of :func:`find_constant_components`.
    """
    sentences = []
    for row in constant.itertuples(index=False):
        name = row.component.replace("_", " ")
        value = tables.format_amount(row.value, decimals=1).removesuffix(".0")
        if row.accounts == row.scored:
            population = f"all {row.scored:,} accounts whose health includes it"
            effect = "does not separate accounts"
        else:
            share = tables.format_percent(row.share, decimals=0)
            population = (
                f"{row.accounts:,} of the {row.scored:,} accounts whose health "
                f"includes it ({share})"
            )
            effect = "barely separates accounts"
        sentences.append(
            f"The {name} component is {value} for {population}, so it {effect}: "
            "differences in health come from the other components."
        )
    return " ".join(sentences)
