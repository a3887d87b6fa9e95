"""Findings on deals whose CRM stage and dated stage history disagree.

An export carries each deal's current stage and, for some stages, the date
the deal entered it. When the dates stop short of the current stage, the
as-of snapshot (:mod:`acctlib.asof`) takes the current stage on or after
the export date and dates a close without its own entry by ``close_date``.
These findings name the deals so that the reader knows which figures rest
on the current stage rather than on dated history. A third names the
closed deals whose ``close_date`` contradicts the dated entry into their
closing stage, which the snapshot dates by that entry instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from acctlib.asof import (
    CLOSE_AFTER_ENTRY,
    CLOSE_BEFORE_CREATION,
    CLOSE_BEFORE_ENTRY,
    LATE_CLOSE_DAYS,
    OpportunityHistory,
)
from acctlib.errors import InputError
from acctlib.labels import join_words

logger = logging.getLogger(__name__)

STAGE_DIFFERS_CHECK = "stage differs from history"
"""Check name in ``dq_findings`` of deals counted in their CRM stage."""
CLOSE_UNDATED_CHECK = "close missing from history"
"""Check name in ``dq_findings`` of closes dated only by ``close_date``."""
CLOSE_REDATED_CHECK = "close dated by history"
"""Check name in ``dq_findings`` of closes dated by history, not ``close_date``."""

FIRST_IDS = 5
"""How many deal IDs a finding names."""


def check_stage_history(
    tables: Mapping[str, Any],
    stage_map: Mapping[str, Mapping[str, Any]],
    as_of: dt.date,
    currency: str,
    *,
    default_contract_months: int = 12,
    prepared: OpportunityHistory | None = None,
    snapshot: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Return findings on the stages of ``as_of`` that the history does not date.

    Parameters
    ----------
    tables
        Canonical tables; needs ``opportunities`` and uses ``stage_history``
        when present. Without stage history there is nothing to compare.
    stage_map, default_contract_months
        As for :func:`acctlib.asof.snapshot_opportunities`.
    as_of
        Report date.
    currency
        Report currency, named in the messages.
    prepared, snapshot
        The history and its snapshot on ``as_of`` when the caller has them,
        such as the account-map step: building them again took 2 s on the
        large benchmark size. Both or neither.

    Returns
    -------
    list of dict
        Findings with ``check``, ``rows``, ``amount`` (report currency) and
        ``message``: deals counted in a CRM stage that differs from their
        dated history (:data:`STAGE_DIFFERS_CHECK`), and deals closed on or
        before ``as_of`` whose history has no entry of their closing stage
        (:data:`CLOSE_UNDATED_CHECK`), and deals closed on ``as_of`` whose
        close the history dates because ``close_date`` contradicts it
        (:data:`CLOSE_REDATED_CHECK`).
    """
    stage_history = tables.get("stage_history")
    if stage_history is None or stage_history.empty:
        return []
    try:
        if prepared is None or snapshot is None:
            prepared = OpportunityHistory(
                tables["opportunities"],
                stage_history,
                stage_map,
                default_contract_months=default_contract_months,
            )
            snapshot = prepared.snapshot(as_of)
    except InputError as error:
        # The stage-map lint and the build report such errors themselves.
        logger.info("CRM stages not compared with the stage history: %s", error)
        return []
    findings = [
        _describe_undated_closes(snapshot, prepared.close_entries, as_of, currency),
        _describe_differing_stages(snapshot, prepared.exported_on, as_of, currency),
        _describe_redated_closes(snapshot, prepared.redated_closes, currency),
    ]
    return [finding for finding in findings if finding is not None]


def _describe_differing_stages(
    snapshot: pd.DataFrame,
    exported_on: dt.date | None,
    as_of: dt.date,
    currency: str,
) -> dict[str, Any] | None:
    differs = snapshot[snapshot["history_stage_asof"].notna()]
    if differs.empty:
        return None
    count = len(differs)
    amount = float(differs["amount"].fillna(0).sum())
    parts = []
    for category in ("won", "lost", "open"):
        group = differs[differs["stage_category_asof"] == category]
        if group.empty:
            continue
        parts.append(
            f"{len(group):,} {category} "
            f"({_money(group['amount'].fillna(0).sum(), currency)})"
        )
    first = differs.head(FIRST_IDS)
    examples = ", ".join(
        f"{row.opportunity_id} ({row.stage}, history {row.history_stage_asof})"
        for row in first.itertuples()
    )
    deals = "deal is" if count == 1 else "deals are"
    return {
        "check": STAGE_DIFFERS_CHECK,
        "rows": count,
        "amount": amount,
        "message": (
            f"{count:,} {deals} in another stage in the CRM export than their "
            f"dated stage history shows on {as_of:%d %b %Y}, worth "
            f"{_money(amount, currency)}. The export is from "
            f"{exported_on:%d %b %Y} or later, so the report counts them in "
            f"their CRM stage: {', '.join(parts)}. First: {examples}. Earlier "
            "month-ends follow the dated history, so changes since then "
            "include these moves. Open deals in a CRM stage without a date show "
            "no time in stage and are never flagged as stalled. Export the date "
            "each stage was entered (HubSpot: every 'Date entered' column) so "
            "that the history dates every stage."
        ),
    }


def _describe_undated_closes(
    snapshot: pd.DataFrame,
    close_entries: pd.DataFrame,
    as_of: dt.date,
    currency: str,
) -> dict[str, Any] | None:
    closed = snapshot[
        snapshot["opportunity_id"].isin(close_entries["opportunity_id"])
        & (snapshot["is_won"] | snapshot["is_lost"])
        & (snapshot["stage_asof"] == snapshot["stage"])
        & snapshot["history_stage_asof"].isna()
    ]
    if closed.empty:
        return None
    count = len(closed)
    amount = float(closed["amount"].fillna(0).sum())
    parts = []
    for flag, word in (("is_won", "won"), ("is_lost", "lost")):
        group = closed[closed[flag]]
        if not group.empty:
            parts.append(
                f"{len(group):,} {word} "
                f"({_money(group['amount'].fillna(0).sum(), currency)})"
            )
    stages = ", ".join(repr(stage) for stage in sorted(closed["stage"].unique()))
    first = ", ".join(closed["opportunity_id"].head(FIRST_IDS).astype(str))
    deals, their = ("deal has", "its") if count == 1 else ("deals have", "their")
    return {
        "check": CLOSE_UNDATED_CHECK,
        "rows": count,
        "amount": amount,
        "message": (
            f"{count:,} closed {deals} no dated entry of {their} closing stage "
            f"({stages}) in the stage history, so the report dates each close "
            f"by its close_date: {' and '.join(parts)}. First: {first}. Export "
            "the date each closing stage was entered (HubSpot: the 'Date "
            "entered' column of each closing stage)."
        ),
    }


_REASON_WORDS = {
    CLOSE_BEFORE_CREATION: "before the deal's creation",
    CLOSE_BEFORE_ENTRY: f"over {LATE_CLOSE_DAYS} days before that entry",
    CLOSE_AFTER_ENTRY: "after that entry, with no later stage in the history",
}


def _describe_redated_closes(
    snapshot: pd.DataFrame, redated_closes: pd.DataFrame, currency: str
) -> dict[str, Any] | None:
    """Describe the deals closed in their CRM stage whose close the history dates."""
    closed = snapshot[
        (snapshot["is_won"] | snapshot["is_lost"])
        & (snapshot["stage_asof"] == snapshot["stage"])
    ]
    dates = redated_closes.drop_duplicates("opportunity_id")
    redated = closed.merge(
        dates[["opportunity_id", "entered_on", "reason"]], on="opportunity_id"
    )
    if redated.empty:
        return None

    count = len(redated)
    amount = float(redated["amount"].fillna(0).sum())
    parts = []
    for flag, word in (("is_won", "won"), ("is_lost", "lost")):
        group = redated[redated[flag]]
        if not group.empty:
            parts.append(
                f"{len(group):,} {word} "
                f"({_money(group['amount'].fillna(0).sum(), currency)})"
            )

    reasons = redated["reason"].value_counts()
    reason_parts = [
        f"{reasons[reason]:,} {'is' if reasons[reason] == 1 else 'are'} {words}"
        for reason, words in _REASON_WORDS.items()
        if reason in reasons.index
    ]

    first = redated.head(FIRST_IDS)
    examples = ", ".join(
        f"{row.opportunity_id} (close_date {row.close_date:%d %b %Y}, "
        f"{row.stage} entered {row.entered_on:%d %b %Y})"
        for row in first.itertuples()
    )
    deals = "deal has" if count == 1 else "deals have"
    return {
        "check": CLOSE_REDATED_CHECK,
        "rows": count,
        "amount": amount,
        "message": (
            f"{count:,} closed {deals} a close_date that contradicts the "
            "dated stage history, so the report dates each close by the "
            "latest entry into its closing stage, on every report date "
            f"alike: {' and '.join(parts)}. Of their close dates, "
            f"{join_words(reason_parts)}. First: {examples}. Correct the "
            "close dates in the CRM."
        ),
    }


def _money(amount: float, currency: str) -> str:
    return f"{currency} {amount:,.0f}".strip()
