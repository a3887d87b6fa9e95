"""Rule-based attribution models, weighted per touch in the engine.

Each model gives every touch of a journey a non-negative weight; the
opportunity's amount is then split by :mod:`acctlib.attribution.allocation`.
With ``n`` touches at positions ``0 .. n-1`` and ``c`` the creation touch
(the last touch before the opportunity was created, or the first touch
when none precedes it):

- ``first_touch``: the touch at 0; ``last_touch``: the touch at ``n-1``;
- ``creation_touch``: the touch at ``c``;
- ``linear``: every touch equally;
- ``time_decay``: ``2 ** (-age / half_life_days)``, where ``age`` is the
  time in days from the touch to the end of the journey's window;
- ``u_shaped``: 40 on the first touch, 40 on the last, 20 spread over the
  others;
- ``w_shaped``: 30 each on the first, creation and last touch, 10 spread
  over the others;
- ``full_path``: 22.5 each on the first, creation, last-before-close (the
  one before the closing touch, ``n-2``) and closing touch (``n-1``), 10
  spread over the others.

A touch that plays several roles adds their weights. When no touch is left
for the spread share, the key touches' weights are scaled up to the whole,
so one touch takes everything under U-shaped and two touches take half
each.
"""

from __future__ import annotations

import ibis

from acctlib.attribution.allocation import allocate_cents_expr
from acctlib.attribution.journeys import (
    build_journeys,
    known_touches,
    opportunities_table,
)
from acctlib.attribution.settings import AttributionSettings

CREDIT_COLUMNS = (
    "kind",
    "model",
    "opportunity_id",
    "account_id",
    "touch_id",
    "occurred_at",
    "channel",
    "function",
    "campaign",
    "position",
    "weight",
    "amount_cents",
    "credit_cents",
)

# Roles per position-based model: (role weights, share spread over the rest).
_POSITION_MODELS = {
    "u_shaped": ({"first": 40.0, "last": 40.0}, 20.0),
    "w_shaped": ({"first": 30.0, "creation": 30.0, "last": 30.0}, 10.0),
    "full_path": (
        {"first": 22.5, "creation": 22.5, "before_last": 22.5, "last": 22.5},
        10.0,
    ),
}


def weight_touches(
    journeys: ibis.Table, model: str, settings: AttributionSettings
) -> ibis.Table:
    """Return ``journeys`` with ``model`` and its ``weight`` per touch."""
    weight = _model_weight(journeys, model, settings)
    return journeys.mutate(model=ibis.literal(model), weight=weight.cast("float64"))


def _model_weight(
    journeys: ibis.Table, model: str, settings: AttributionSettings
) -> ibis.Value:
    roles = _role_flags(journeys)
    one, zero = ibis.literal(1.0), ibis.literal(0.0)
    if model == "first_touch":
        return ibis.ifelse(roles["first"], one, zero)
    if model == "last_touch":
        return ibis.ifelse(roles["last"], one, zero)
    if model == "creation_touch":
        return ibis.ifelse(roles["creation"], one, zero)
    if model == "linear":
        return one
    if model == "time_decay":
        age_seconds = (
            journeys.window_end.epoch_seconds() - journeys.occurred_at.epoch_seconds()
        )
        age_days = age_seconds.cast("float64") / 86400.0
        return ibis.literal(2.0).pow(-age_days / settings.half_life_days)
    if model in _POSITION_MODELS:
        return _position_weight(journeys, roles, *_POSITION_MODELS[model])
    raise ValueError(f"unknown heuristic model {model!r}")


def _role_flags(journeys: ibis.Table) -> dict[str, ibis.Value]:
    last = journeys.touch_count - 1
    return {
        "first": journeys.position == 0,
        "creation": journeys.position == journeys.creation_position,
        "before_last": (journeys.position == last - 1) & (last >= 1),
        "last": journeys.position == last,
    }


def _position_weight(
    journeys: ibis.Table,
    roles: dict[str, ibis.Value],
    role_weights: dict[str, float],
    spread: float,
) -> ibis.Value:
    key_weight = ibis.literal(0.0)
    is_key = ibis.literal(False)
    for role, weight in role_weights.items():
        key_weight = key_weight + ibis.ifelse(roles[role], weight, 0.0)
        is_key = is_key | roles[role]
    journey = ibis.window(group_by=["kind", "opportunity_id"])
    key_count = is_key.cast("int64").sum().over(journey)
    rest_count = journeys.touch_count - key_count
    rest_weight = ibis.ifelse(rest_count > 0, spread / rest_count.cast("float64"), 0.0)
    return ibis.ifelse(is_key, key_weight, rest_weight)


def credit_journeys(weighted: ibis.Table) -> ibis.Table:
    """Allocate cents over weighted journey touches of several models."""
    allocated = allocate_cents_expr(weighted, ["kind", "model", "opportunity_id"])
    return allocated.select(*CREDIT_COLUMNS)


def compute_heuristic_credits(
    touches: ibis.Table,
    opportunities,
    settings: AttributionSettings,
) -> ibis.Table:
    """Return every heuristic model's credit per touch as one Ibis expression.

    Parameters
    ----------
    touches
        Ibis table of canonical touchpoints on any Ibis backend.
    opportunities
        pandas frame from :func:`acctlib.attribution.journeys.select_opportunities`.
    settings
        Models, lookback, assignment, half-life and channel priority.

    Returns
    -------
    ibis.Table
        One row per (kind, model, opportunity, touch) with
        :data:`CREDIT_COLUMNS`; ``credit_cents`` of an opportunity sum to
        its ``amount_cents`` under each model.
    """
    journeys = build_journeys(
        known_touches(touches, settings), opportunities_table(opportunities), settings
    )
    parts = [
        weight_touches(journeys, model, settings) for model in settings.heuristic_models
    ]
    weighted = ibis.union(*parts) if len(parts) > 1 else parts[0]
    return credit_journeys(weighted)
