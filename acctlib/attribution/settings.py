"""Attribution settings, read from the run's parameters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from acctlib.errors import ParameterError, closest_hint

HEURISTIC_MODELS = (
    "first_touch",
    "creation_touch",
    "last_touch",
    "linear",
    "time_decay",
    "u_shaped",
    "w_shaped",
    "full_path",
)
DATA_DRIVEN_MODELS = ("markov", "shapley")
MODELS = HEURISTIC_MODELS + DATA_DRIVEN_MODELS
MODEL_LABELS = {
    "first_touch": "First touch",
    "creation_touch": "Opportunity-creation touch",
    "last_touch": "Last touch",
    "linear": "Linear",
    "time_decay": "Time decay",
    "u_shaped": "U-shaped",
    "w_shaped": "W-shaped",
    "full_path": "Full path",
    "markov": "Markov removal effect",
    "shapley": "Shapley value",
}
# Each model's split of a deal's amount, in words for readers of the report.
# ``{half_life}`` is the time-decay half-life in days, and ``{learned_from}``
# names the deals the data-driven models learn from.
MODEL_DESCRIPTIONS = {
    "first_touch": "all of it to the first touch",
    "creation_touch": (
        "all of it to the deal-creation touch: the last touch strictly before "
        "the deal's creation instant, or the first touch when none comes before it"
    ),
    "last_touch": "all of it to the last touch up to the close",
    "linear": "equal parts to every touch",
    "time_decay": (
        "more to touches nearer the close, half as much for each "
        "{half_life} days further back"
    ),
    "u_shaped": "40% each to the first and last touch, 20% over the others",
    "w_shaped": (
        "30% each to the first, deal-creation and last touch, 10% over the others"
    ),
    "full_path": (
        "22.5% each to the first, deal-creation, second-to-last and last "
        "touch, 10% over the others. The usual full path weighs first touch, "
        "lead creation, opportunity creation and closed won, but the data has "
        "no lead-creation date, so the second-to-last touch replaces the "
        "lead-creation step"
    ),
    "markov": (
        "each channel a weight by how far the chance of winning drops without "
        "it, learned from {learned_from}, and splits each deal among "
        "its journey's channels by those weights"
    ),
    "shapley": (
        "each channel a weight by what it adds to the chance of winning, "
        "averaged over every mix of channels, learned from {learned_from}, and "
        "splits each deal among its journey's channels by those weights"
    ),
}
ASSIGNMENTS = ("next", "all")
KINDS = ("revenue", "pipeline")


@dataclass(frozen=True)
class AttributionSettings:
    """How journeys are built and credit is weighted.

    Attributes
    ----------
    as_of
        Report date; touches and closes after its end are unknown.
    lookback_days
        Days before an opportunity's creation from which touches join its
        journey.
    assignment
        ``next``: a touch belongs to the account's opportunity that closes
        first on or after it, among those whose window contains it.
        ``all``: a touch belongs to every opportunity whose window contains
        it.
    half_life_days
        Half-life of the time-decay model, in days before the close.
    markov_order
        Order of the Markov chain: how many previous channels form a state.
    shapley_max_channels
        Channels valued exactly by Shapley; rarer channels share one
        "other" player above this count.
    channel_priority
        Channels in the order that breaks ties between touches at the same
        instant. Unlisted channels follow, ordered by function along the
        funnel (:data:`~acctlib.attribution.journeys.FUNNEL_ORDER`), then
        by name, and the touch id breaks any remaining tie.
    models
        Models to compute, a subset of :data:`MODELS`.
    robust_top
        Rank within which a channel must stay under every model to be robust.
    bootstrap_samples
        Resamples of accounts for the share intervals.
    window_days
        Lookbacks compared in the window sensitivity.
    seed
        Seed of the bootstrap draws.
    """

    as_of: dt.date
    lookback_days: int = 180
    assignment: str = "next"
    half_life_days: float = 7.0
    markov_order: int = 1
    shapley_max_channels: int = 12
    channel_priority: tuple[str, ...] = ()
    models: tuple[str, ...] = MODELS
    robust_top: int = 3
    bootstrap_samples: int = 200
    window_days: tuple[int, ...] = (30, 60, 90, 180, 365)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.assignment not in ASSIGNMENTS:
            raise ParameterError(
                f"attribution_assignment is {self.assignment!r}; use one of "
                f"{', '.join(ASSIGNMENTS)}"
            )
        unknown = [model for model in self.models if model not in MODELS]
        if unknown:
            hint = closest_hint(unknown[0], MODELS)
            raise ParameterError(
                f"attribution_models lists unknown model(s) {', '.join(unknown)}."
                f"{hint} Known models: {', '.join(MODELS)}."
            )

    @property
    def heuristic_models(self) -> tuple[str, ...]:
        return tuple(model for model in self.models if model in HEURISTIC_MODELS)

    @classmethod
    def from_params(cls, params: Mapping[str, Any], as_of: dt.date):
        """Build settings from resolved run parameters."""
        return cls(
            as_of=as_of,
            lookback_days=int(params["lookback_days"]),
            assignment=str(params["attribution_assignment"]),
            half_life_days=float(params["attribution_half_life_days"]),
            markov_order=int(params["attribution_markov_order"]),
            shapley_max_channels=int(params["attribution_shapley_max_channels"]),
            channel_priority=tuple(params["attribution_channel_priority"]),
            models=tuple(params["attribution_models"]),
            robust_top=int(params["attribution_robust_top"]),
            bootstrap_samples=int(params["attribution_bootstrap_samples"]),
            window_days=_parse_days(params["attribution_window_days"]),
            seed=int(params["seed"]),
        )


def _parse_days(values: list[str]) -> tuple[int, ...]:
    try:
        days = tuple(sorted({int(value) for value in values}))
    except ValueError as error:
        raise ParameterError(
            f"attribution_window_days must list whole numbers of days, got {values!r}"
        ) from error
    if not days or days[0] < 1:
        raise ParameterError(
            f"attribution_window_days must list positive day counts, got {values!r}"
        )
    return days
