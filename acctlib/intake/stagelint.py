"""Checking a stage map against the stages a source uses.

Findings, one row each, with a level:

- ``error``: a stage used by opportunities or the stage history is not in
  the stage map (the rows using it are rejected); the finding names the
  stage and the number of rows. Also a stage ID of a stage-date column
  that no stage map entry lists under ``ids`` (its dates are left out of
  the stage history); the finding names the ID, the column and the deals
  with a date there.
- ``warning``: the win probability falls as open stages advance (by
  ``order``).
- ``info``: the stage history moves an opportunity back to an earlier
  open stage, or skips open stages on its way forward.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from acctlib.params import load_declarations

LINT_COLUMNS = ["level", "check", "stage", "rows", "message"]


def lint_stage_map(
    stage_map: Mapping[str, Mapping[str, Any]],
    opportunity_stages: pd.Series,
    stage_history: pd.DataFrame | None,
    unmapped_ids: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return the stage-map findings (:data:`LINT_COLUMNS`).

    Parameters
    ----------
    stage_map
        Stage name to ``category``, ``probability`` and ``order``.
    opportunity_stages
        Raw stage of every opportunity row read, before any rejection.
        Stages are compared without their surrounding spaces, as intake
        reads them.
    stage_history
        Raw stage history with ``opportunity_id``, ``stage`` and parsed
        ``entered_at``, or None.
    unmapped_ids
        Stage IDs the source could not translate, with ``stage_id``,
        ``column`` and ``rows`` (deals with a date in the column), or None.
    """
    findings = _unmapped(stage_map, opportunity_stages, "opportunity")
    if unmapped_ids is not None:
        findings += _unmapped_ids(unmapped_ids)
    if stage_history is not None and not stage_history.empty:
        findings += _unmapped(stage_map, stage_history["stage"], "stage-history")
    findings += _falling_probabilities(stage_map)
    if stage_history is not None and not stage_history.empty:
        findings += _history_moves(stage_map, stage_history)
    return pd.DataFrame(findings, columns=LINT_COLUMNS)


def _unmapped(
    stage_map: Mapping[str, Any], stages: pd.Series, where: str
) -> list[dict[str, Any]]:
    # Intake strips the spaces around a stage before it looks the stage up,
    # so 'Closed Won ' counts as 'Closed Won' here too.
    stripped = stages.dropna().astype("str").str.strip()
    counts = stripped.value_counts().sort_index()
    return [
        {
            "level": "error",
            "check": "unmapped stage",
            "stage": stage,
            "rows": int(count),
            "message": (
                f"stage {stage!r} is not in the stage map but {count} {where} "
                f"{'row uses' if count == 1 else 'rows use'} it; "
                f"{_unmapped_advice(stage, stage_map)}"
            ),
        }
        for stage, count in counts.items()
        if stage not in stage_map and stage
    ]


def similar_stages(
    stage: object, stage_map: Mapping[str, Any]
) -> tuple[str | None, list[str]]:
    """Return the mapped stage that ``stage`` misspells, and those close to it.

    The first item is the mapped stage that differs from ``stage`` only in
    letter case or runs of spaces, or None. The second lists up to three
    mapped stages close to it (:func:`difflib.get_close_matches`, cutoff
    0.75), empty when the first item is set. Such a value is more likely a
    typo than a new stage.
    """
    known = {_fold(name): name for name in stage_map}
    same = known.get(_fold(stage))
    if same is not None:
        return same, []
    close = difflib.get_close_matches(_fold(stage), list(known), n=3, cutoff=0.75)
    return None, [known[name] for name in close]


def _unmapped_advice(stage: str, stage_map: Mapping[str, Any]) -> str:
    same, close = similar_stages(stage, stage_map)
    if same is not None:
        return f"the map has {same!r}, so write the stage as {same!r} or add it"
    if close:
        names = ", ".join(repr(name) for name in close)
        return f"closest mapped stages: {names}. Correct the value or add it"
    return (
        "add it with its category, probability and order."
        f"{replaced_default_note(stage)}"
    )


def _fold(stage: object) -> str:
    """Return ``stage`` in lower case with runs of spaces as one space."""
    return " ".join(str(stage).split()).casefold()


def replaced_default_note(stage: str) -> str:
    """Return a sentence for a stage of the default map, or "" for any other.

    A ``stage_map`` parameter replaces the default map in full, so a map
    that lists only the stages to add leaves out the default ones, such as
    Closed Won. Rejection reasons and lint findings add this sentence.
    """
    if stage not in _default_stage_map():
        return ""
    return (
        " The default stage map has it, but a stage_map parameter replaces "
        "that map in full: copy the entries your data still uses from "
        "params/default.yaml"
    )


@functools.cache
def _default_stage_map() -> frozenset[str]:
    return frozenset(load_declarations()["stage_map"].default or {})


def _unmapped_ids(unmapped_ids: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "level": "error",
            "check": "unmapped stage id",
            "stage": str(row.stage_id),
            "rows": int(row.rows),
            "message": (
                f"stage id {row.stage_id!r} of column {row.column!r} is not in "
                f"the stage map but {row.rows} "
                f"{'deal has a date' if row.rows == 1 else 'deals have dates'} "
                f"there; add ids: [{row.stage_id!r}] to the stage it names"
            ),
        }
        for row in unmapped_ids.sort_values(["stage_id", "column"]).itertuples()
    ]


def _open_stages(stage_map: Mapping[str, Mapping[str, Any]]) -> list[str]:
    stages = [
        name
        for name, entry in stage_map.items()
        if entry.get("category") == "open" and entry.get("order") is not None
    ]
    return sorted(stages, key=lambda name: (stage_map[name]["order"], name))


def _falling_probabilities(
    stage_map: Mapping[str, Mapping[str, Any]],
) -> list[dict[str, Any]]:
    findings = []
    stages = [s for s in _open_stages(stage_map) if "probability" in stage_map[s]]
    for earlier, later in zip(stages, stages[1:], strict=False):
        before = float(stage_map[earlier]["probability"])
        after = float(stage_map[later]["probability"])
        if after < before:
            findings.append(
                {
                    "level": "warning",
                    "check": "falling probability",
                    "stage": later,
                    "rows": 0,
                    "message": (
                        f"probability falls from {before:.0%} at {earlier!r} to "
                        f"{after:.0%} at the later stage {later!r}"
                    ),
                }
            )
    return findings


def _history_moves(
    stage_map: Mapping[str, Mapping[str, Any]], history: pd.DataFrame
) -> list[dict[str, Any]]:
    open_stages = _open_stages(stage_map)
    position = {stage: index for index, stage in enumerate(open_stages)}
    ordered = history.sort_values(["opportunity_id", "entered_at"], kind="stable")
    ordered = ordered[ordered["opportunity_id"].notna()]
    # Only open stages take part, so each move goes from one open-stage
    # entry to the next open-stage entry of the same opportunity.
    steps = ordered["stage"].map(position)
    is_open = steps.notna().to_numpy()
    opportunity = ordered["opportunity_id"].to_numpy(dtype=object)[is_open]
    step = steps.to_numpy(dtype=float)[is_open].astype(np.int64)
    same = opportunity[1:] == opportunity[:-1]
    current, following = step[:-1][same], step[1:][same]
    backward = _count_pairs(current, following, following < current, open_stages)
    skipped = _count_pairs(current, following, following > current + 1, open_stages)
    findings = []
    for (origin, target), count in sorted(backward.items()):
        findings.append(
            _move_finding("backward move", origin, target, count, "moved back")
        )
    for (origin, target), count in sorted(skipped.items()):
        findings.append(
            _move_finding("skipped stages", origin, target, count, "skipped from")
        )
    return findings


def _count_pairs(
    current: np.ndarray, following: np.ndarray, selected: np.ndarray, stages: list[str]
) -> dict[tuple[str, str], int]:
    """Count the selected moves per (origin stage, target stage)."""
    codes = current[selected] * len(stages) + following[selected]
    values, counts = np.unique(codes, return_counts=True)
    return {
        (stages[code // len(stages)], stages[code % len(stages)]): int(count)
        for code, count in zip(values, counts, strict=True)
    }


def _move_finding(
    check: str, origin: str, target: str, count: int, verb: str
) -> dict[str, Any]:
    return {
        "level": "info",
        "check": check,
        "stage": target,
        "rows": count,
        "message": (
            f"{count} {'opportunity' if count == 1 else 'opportunities'} "
            f"{verb} {origin!r} to {target!r}"
        ),
    }
