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

from collections.abc import Callable

import ibis

from acctlib.attribution.allocation import (
    allocate_cents_columns,
    allocate_cents_narrow,
)
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
    if model in _ROLE_MODELS:
        return ibis.ifelse(roles[_ROLE_MODELS[model]], one, zero)
    if model == "linear":
        return one
    if model == "time_decay":
        age_seconds = (
            journeys.window_end.epoch_seconds() - journeys.occurred_at.epoch_seconds()
        )
        age_days = age_seconds.cast("float64") / 86400.0
        return ibis.literal(2.0).pow(-age_days / settings.half_life_days)
    if model in _POSITION_MODELS:
        return _position_weight(journeys, *_POSITION_MODELS[model])
    raise ValueError(f"unknown heuristic model {model!r}")


# Models that give the whole amount to the touch of one role.
_ROLE_MODELS = {
    "first_touch": "first",
    "creation_touch": "creation",
    "last_touch": "last",
}


def _role_positions(journeys: ibis.Table) -> dict[str, tuple[ibis.Value, ibis.Value]]:
    """Return each role's position in the journey and whether the role exists."""
    last = journeys.touch_count - 1
    always = ibis.literal(True)
    return {
        "first": (ibis.literal(0).cast("int64"), always),
        "creation": (journeys.creation_position, always),
        "before_last": (last - 1, last >= 1),
        "last": (last, always),
    }


def _role_flags(journeys: ibis.Table) -> dict[str, ibis.Value]:
    return {
        role: (journeys.position == position) & exists
        for role, (position, exists) in _role_positions(journeys).items()
    }


def _position_weight(
    journeys: ibis.Table, role_weights: dict[str, float], spread: float
) -> ibis.Value:
    roles = _role_flags(journeys)
    key_weight = ibis.literal(0.0)
    is_key = ibis.literal(False)
    for role, weight in role_weights.items():
        key_weight = key_weight + ibis.ifelse(roles[role], weight, 0.0)
        is_key = is_key | roles[role]
    rest_count = journeys.touch_count - _count_key_touches(journeys, role_weights)
    rest_weight = ibis.ifelse(rest_count > 0, spread / rest_count.cast("float64"), 0.0)
    return ibis.ifelse(is_key, key_weight, rest_weight)


def _count_key_touches(journeys: ibis.Table, roles: dict[str, float]) -> ibis.Value:
    """Count the distinct positions that the key roles fall on.

    The count uses the positions alone, so it needs no window over the
    journey. A role adds one unless an earlier role is on the same touch.
    """
    count = ibis.literal(0).cast("int64")
    for is_new in _first_role_on_touch(journeys, roles).values():
        count = count + ibis.ifelse(is_new, 1, 0).cast("int64")
    return count


def _first_role_on_touch(
    journeys: ibis.Table, roles: dict[str, float]
) -> dict[str, ibis.Value]:
    """Return, per role, whether it exists and no earlier role is on its touch."""
    positions = _role_positions(journeys)
    flags = {}
    earlier: list[tuple[ibis.Value, ibis.Value]] = []
    for role in roles:
        position, exists = positions[role]
        is_new = exists
        for other_position, other_exists in earlier:
            is_new = is_new & ~(other_exists & (other_position == position))
        flags[role] = is_new
        earlier.append((position, exists))
    return flags


class _PositionAllocation:
    """Allocate a position model's credit from each row alone.

    A position model gives at most four key touches their own weights and
    every other touch of the journey the same weight, so each row can
    compute its journey's total weight, floor cents and remainders from its
    own columns (see :class:`~acctlib.attribution.allocation.ClosedForm`).
    """

    def __init__(self, role_weights: dict[str, float], spread: float) -> None:
        self.role_weights = role_weights
        self.spread = spread
        self.roles = [*role_weights, "rest"]

    def helper_columns(self, staged: ibis.Table, credit: str) -> dict:
        """Return the weight of each role's touch, and the rest's count and weight."""
        positions = _role_positions(staged)
        columns = {}
        for role in self.role_weights:
            role_position, _ = positions[role]
            # Summed in the order of _position_weight, so the weight is the same.
            weight = ibis.literal(0.0)
            for other, other_weight in self.role_weights.items():
                other_position, other_exists = positions[other]
                on_touch = other_exists & (other_position == role_position)
                weight = weight + ibis.ifelse(on_touch, other_weight, 0.0)
            columns[f"_{credit}_weight_{role}"] = weight.cast("float64")
        rest_count = staged.touch_count - _count_key_touches(staged, self.role_weights)
        rest_weight = ibis.ifelse(
            rest_count > 0, self.spread / rest_count.cast("float64"), 0.0
        )
        columns[f"_{credit}_rest_count"] = rest_count
        columns[f"_{credit}_weight_rest"] = rest_weight.cast("float64")
        return columns

    def total(self, staged: ibis.Table, credit: str) -> ibis.Value:
        return self._sum_over_touches(
            staged, credit, lambda role: staged[f"_{credit}_weight_{role}"]
        )

    def remainder_columns(self, staged: ibis.Table, credit: str, remainder_of) -> dict:
        return {
            f"_{credit}_remainder_{role}": remainder_of(
                staged, credit, staged[f"_{credit}_weight_{role}"]
            )
            for role in self.roles
        }

    def floor_sum(self, staged: ibis.Table, credit: str, floor_of) -> ibis.Value:
        return self._sum_over_touches(
            staged,
            credit,
            lambda role: floor_of(staged, credit, staged[f"_{credit}_weight_{role}"]),
        )

    def _sum_over_touches(self, staged: ibis.Table, credit: str, value_of):
        """Sum ``value_of(role)`` once per key touch, then over the rest."""
        total = None
        for role, is_new in _first_role_on_touch(staged, self.role_weights).items():
            term = ibis.ifelse(is_new, value_of(role), 0)
            total = term if total is None else total + term
        return total + staged[f"_{credit}_rest_count"] * value_of("rest")

    def rank(self, staged: ibis.Table, credit: str) -> ibis.Value:
        """Count the touches that come before the row.

        A touch comes before the row when its remainder is larger, or equal
        at an earlier position, as the window of
        :func:`~acctlib.attribution.allocation.allocate_cents_expr` orders
        them.
        """
        own = staged[f"_remainder_{credit}"]
        position = staged.position
        positions = _role_positions(staged)
        rank = ibis.literal(0).cast("int64")
        keys_before = ibis.literal(0).cast("int64")
        is_key = ibis.literal(False)
        first_on_touch = _first_role_on_touch(staged, self.role_weights)
        for role in self.role_weights:
            role_position, exists = positions[role]
            is_new = first_on_touch[role]
            theirs = staged[f"_{credit}_remainder_{role}"]
            before = (theirs > own) | ((theirs == own) & (role_position < position))
            other_touch = is_new & (role_position != position)
            rank = rank + ibis.ifelse(other_touch & before, 1, 0).cast("int64")
            keys_before = keys_before + ibis.ifelse(
                is_new & (role_position < position), 1, 0
            ).cast("int64")
            is_key = is_key | (exists & (role_position == position))

        rest = staged[f"_{credit}_remainder_rest"]
        other_rest = staged[f"_{credit}_rest_count"] - ibis.ifelse(is_key, 0, 1)
        rest_before = ibis.cases(
            (rest > own, other_rest.cast("int64")),
            (rest == own, (position - keys_before).cast("int64")),
            else_=0,
        )
        return rank + rest_before.cast("int64")


def credit_heuristics(
    journeys: ibis.Table,
    settings: AttributionSettings,
    models: tuple[str, ...] | None = None,
    *,
    keep_weights: bool = False,
    columns: tuple[str, ...] | None = None,
    weights: dict[str, str] | None = None,
    add_weights: Callable[[ibis.Table], ibis.Table] | None = None,
) -> ibis.Table:
    """Allocate every heuristic model's credit per journey touch, side by side.

    Parameters
    ----------
    journeys
        Output of :func:`acctlib.attribution.journeys.build_journeys`.
    settings
        Half-life and the models to credit.
    models
        Heuristic models to credit; ``settings.heuristic_models`` when None.
    keep_weights
        Also return each model's weight as ``weight_<model>`` (float).
    columns
        Journey columns to return next to the credits, by default those
        listed below; fewer columns make the allocation cheaper. They
        must include ``journey_id``, ``position`` and ``amount_cents``.
    weights
        More weight columns to allocate next to the models (name to credit
        column name), such as the data-driven models' weights; their credit
        columns follow the models'. ``add_weights`` adds them to narrow
        journey rows of ``journey_id``, ``position``, ``amount_cents`` and
        ``channel``.

    Returns
    -------
    ibis.Table
        One row per journey touch with ``journey_id``, ``kind``, ``opportunity_id``,
        ``account_id``, ``touch_id``, ``occurred_at``, ``channel``,
        ``function``, ``campaign``, ``position``, ``amount_cents`` and one
        ``credit_<model>`` column (int64 cents) per model. Under each model
        an opportunity's credits sum to its ``amount_cents``.

    Notes
    -----
    First, last and creation touch give the whole amount to one touch, and
    linear gives ``amount // n`` cents to each of ``n`` touches plus one
    cent to each of the first ``amount % n``. Both are what the
    largest-remainder rule of :mod:`acctlib.attribution.allocation` gives
    for those weights, so only the other models go through it.
    """
    models = settings.heuristic_models if models is None else models
    columns = _TOUCH_COLUMNS if columns is None else columns
    extra_weights = dict(weights or {})
    amount = journeys.amount_cents
    closed_form = {}
    weights = {}
    for model in models:
        if keep_weights or model in _POSITION_MODELS:
            weights[f"weight_{model}"] = _model_weight(journeys, model, settings).cast(
                "float64"
            )
        if model in _ROLE_MODELS:
            role = _role_flags(journeys)[_ROLE_MODELS[model]]
            closed_form[f"credit_{model}"] = ibis.ifelse(role, amount, 0).cast("int64")
        elif model == "linear":
            count = journeys.touch_count
            extra = ibis.ifelse(journeys.position < amount % count, 1, 0)
            closed_form[f"credit_{model}"] = (amount // count + extra).cast("int64")
    staged = journeys.select(
        *columns, "touch_count", "creation_position", **weights, **closed_form
    )
    positional = {
        f"weight_{model}": f"credit_{model}"
        for model in models
        if model in _POSITION_MODELS
    }
    if keep_weights:
        # Keep a copy of each weight, because allocation drops its inputs.
        staged = staged.mutate(
            **{f"_input_{name}": staged[name] for name in positional}
        )
        positional = {f"_input_{name}": credit for name, credit in positional.items()}
    closed_forms = {
        credit: _PositionAllocation(*_POSITION_MODELS[credit.removeprefix("credit_")])
        for credit in positional.values()
    }
    allocated = allocate_cents_columns(
        staged, positional, ["journey_id"], closed_forms, count="touch_count"
    )
    grouped = [
        model
        for model in models
        if f"credit_{model}" not in closed_form and model not in _POSITION_MODELS
    ]
    if grouped or extra_weights:
        # Allocated on narrow rows read from the journeys again, so the
        # totals, floor sums and ranks move a few columns, not every one.
        narrow = journeys.select(
            "journey_id",
            "position",
            "amount_cents",
            *(["channel"] if add_weights else []),
            **{
                f"weight_{model}": _model_weight(journeys, model, settings).cast(
                    "float64"
                )
                for model in grouped
            },
        )
        if add_weights is not None:
            narrow = add_weights(narrow)
        credited = allocate_cents_narrow(
            narrow,
            {f"weight_{model}": f"credit_{model}" for model in grouped} | extra_weights,
            ["journey_id"],
        )
        allocated = allocated.join(credited, ["journey_id", "position"])
    order = [f"credit_{model}" for model in models] + list(extra_weights.values())
    if keep_weights:
        order += [f"weight_{model}" for model in models]
    return allocated.select(*columns, *order)


_TOUCH_COLUMNS = (
    "journey_id",
    "kind",
    "opportunity_id",
    "account_id",
    "touch_id",
    "occurred_at",
    "channel",
    "function",
    "campaign",
    "position",
    "amount_cents",
)


def melt_credits(wide: ibis.Table, models: tuple[str, ...]) -> ibis.Table:
    """Turn :func:`credit_heuristics` columns into one row per model and touch.

    Returns :data:`CREDIT_COLUMNS`; ``wide`` must have been built with
    ``keep_weights=True``.
    """
    parts = [
        wide.select(
            *_TOUCH_COLUMNS,
            model=ibis.literal(model),
            weight=wide[f"weight_{model}"],
            credit_cents=wide[f"credit_{model}"],
        ).select(*CREDIT_COLUMNS)
        for model in models
    ]
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


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
    wide = credit_heuristics(journeys, settings, keep_weights=True)
    return melt_credits(wide, settings.heuristic_models)
