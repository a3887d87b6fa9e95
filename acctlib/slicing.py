"""Slice a prepared run to one owner's or one team's accounts.

Every score is computed on the whole company first, so an account shows the
same tier, health and figures in the company view and in its owner's view:
percentile ranks, stall thresholds and win rates keep their company-wide
reference. :func:`prepare_owner_slice`, the last prepare step, then keeps
only the rows of the selected accounts in every stored table and in the
canonical tables, and recomputes the summaries built from those rows
(headline, tier shares, sensitivity, velocity, transitions).
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from acctlib import (
    accountmap,
    dealowners,
    engine,
    progression,
    schema,
    summary,
    tiering,
    tiermovement,
)
from acctlib.attribution import prepare as attribution_prepare
from acctlib.errors import ParameterError, closest_hint
from acctlib.intake.bulktable import BulkTable

logger = logging.getLogger(__name__)

COMPANY_TABLES = (
    "stage_durations",
    "stage_conversion",
    "health_validation",
    "health_validation_deciles",
)
"""Tables that stay company-wide in a slice: benchmarks and score validation."""


def select_account_ids(
    accounts: pd.DataFrame, owner: str, team: str, teams: Mapping[str, Any]
) -> list[str]:
    """Return the sorted ids of the accounts owned by ``owner`` or ``team``'s members.

    Owner names match after trimming spaces and ignoring case. Raises
    :class:`ParameterError` for a team missing from ``teams`` or a
    selection without any account.
    """
    owners = dealowners.normalize_owners(accounts["owner"])
    selected_owners = select_owners(owner, team, teams)
    ids = sorted(accounts.loc[owners.isin(selected_owners), "account_id"].astype(str))
    if not ids:
        selection = " or ".join(
            f"{kind} {value!r}"
            for kind, value in (("owner", owner), ("team", team))
            if value
        )
        if not owners.ne("").any():
            raise ParameterError(
                f"{selection} owns no account: no account of the source has an "
                "owner, so the report cannot be sliced by owner or team. Map "
                "the export's owner column in the profile, or build the report "
                "without owner and team."
            )
        raise ParameterError(
            f"{selection} owns no account; {_list_owners(accounts['owner'], owner)}. "
            "Check the spelling against the owner column of the accounts file"
        )
    return ids


def select_owners(owner: str, team: str, teams: Mapping[str, Any]) -> set[str]:
    """Return ``owner`` and the members of ``team``, trimmed and case-folded.

    Raises :class:`ParameterError` for a team missing from ``teams``.
    """
    selected: set[str] = set()
    if owner:
        selected.add(owner.strip().casefold())
    if team:
        check_team(team, teams)
        selected.update(str(member).strip().casefold() for member in teams[team])
    return selected


def check_team(team: str, teams: Mapping[str, Any]) -> None:
    """Raise ParameterError if ``team`` is set and missing from ``teams``.

    Needs no data, so a build calls it before intake. Whether the team's
    members own accounts is checked after intake by :func:`check_owner_slice`.
    """
    if team and team not in teams:
        known = ", ".join(sorted(teams)) or "none declared"
        hint = closest_hint(team, teams)
        raise ParameterError(
            f"team {team!r} is not in the teams parameter (known: {known}).{hint} "
            "Add it as teams: {name: [owner, ...]}"
        )


def spell_owner_as_crm(owners: pd.Series, owner: str) -> str:
    """Return ``owner`` as the CRM's owner column ``owners`` spells it.

    The slice matches owners trimmed and case-folded, so ``priya natarajan``
    selects the accounts of ``Priya Natarajan``, and titles and notes then
    use the CRM's spelling. Where the column spells the name in several
    ways, the spelling of most rows wins, ties going to the first in
    sorted order. ``owner`` comes back trimmed when no row matches.
    """
    folded = owner.strip().casefold()
    names = owners.dropna().astype(str).str.strip()
    matching = names[names.str.casefold() == folded]
    if matching.empty:
        return owner.strip()
    counts = matching.value_counts()
    return min(counts.index, key=lambda name: (-counts[name], name))


def _list_owners(owners: pd.Series, owner: str, limit: int = 20) -> str:
    """Return up to ``limit`` known owners, the ones closest to ``owner`` first."""
    known = sorted(set(owners.dropna().astype(str).str.strip()) - {""})
    closest = _closest_owners(owner, known) if owner else []
    others = [name for name in known if name not in closest]
    first_others = others[: max(limit - len(closest), 0)]
    listed = ", ".join(first_others)
    if len(others) > len(first_others):
        listed += f" and {len(others) - len(first_others)} more"
    if not closest:
        return f"known owners: {listed}"
    close = ", ".join(repr(name) for name in closest)
    return f"closest known owners: {close}; other owners: {listed}"


def _closest_owners(name: str, known: list[str]) -> list[str]:
    """Return up to three of the ``known`` owners closest to ``name``, ignoring case.

    The names are shown as the accounts file spells them.
    """
    by_folded: dict[str, str] = {}
    for owner in known:
        by_folded.setdefault(owner.casefold(), owner)
    close = difflib.get_close_matches(name.strip().casefold(), by_folded, n=3)
    return [by_folded[folded] for folded in close]


def _check_team_members(team: str, members: list[str], owners: pd.Series) -> None:
    """Raise ParameterError naming every member of ``team`` who owns no account.

    A misspelt member would otherwise drop that owner's accounts from the
    slice without any message. Each such member is listed with up to three
    close owner names, found with :func:`difflib.get_close_matches`.
    """
    known = sorted(set(owners.dropna().astype(str).str.strip()) - {""})
    folded_known = {name.casefold() for name in known}
    problems = []
    for member in members:
        if member.strip().casefold() in folded_known:
            continue
        close = _closest_owners(member, known)
        if close:
            hint = "closest known owners: " + ", ".join(repr(name) for name in close)
        else:
            hint = "no known owner has a similar name"
        problems.append(f"{member!r} ({hint})")
    if problems:
        raise ParameterError(
            f"team {team!r} in the teams parameter lists owners who own no "
            f"account: {'; '.join(problems)}. Correct the spelling against the "
            "owner column of the accounts file, or remove the member"
        )


def check_owner_slice(params: Any, tables: Mapping[str, Any]) -> None:
    """Raise ParameterError now if the ``owner`` or ``team`` owns no account.

    A team member who owns no account raises too.

    ``tables`` are the intake's tables. The build and ``acctlib check``
    call it before any prepare step, so a misspelt owner stops the run in
    seconds rather than after the last step.
    """
    owner, team, teams = params["owner"], params["team"], params["teams"]
    if team and team in teams:
        members = [str(member) for member in teams[team]]
        _check_team_members(team, members, tables["accounts"]["owner"])
    if owner or team:
        select_account_ids(tables["accounts"], owner, team, teams)


def prepare_owner_slice(context: Any) -> None:
    """Filter every stored table to the accounts of the ``owner`` or ``team`` parameter.

    Does nothing when both parameters are empty. Must run after every other
    prepare step. When deals have owners, the headline's
    ``slice_deal_owners`` stores :func:`acctlib.dealowners.summarize_deal_owners`
    of the company-wide snapshot, and a run note states it.
    """
    owner, team = context.params["owner"], context.params["team"]
    if not owner and not team:
        return
    ids = select_account_ids(
        context.frames["account_map"], owner, team, context.params["teams"]
    )
    opportunity_ids = _opportunity_ids(context.intake.tables["opportunities"], ids)
    company_snapshot = context.frames.get("opportunity_snapshot")
    deal_owners = None
    if company_snapshot is not None:
        deal_owners = dealowners.summarize_deal_owners(
            company_snapshot, ids, select_owners(owner, team, context.params["teams"])
        )

    for name, frame in list(context.frames.items()):
        if name in COMPANY_TABLES:
            continue
        if "account_id" in frame.columns:
            context.store(
                name, frame[frame["account_id"].isin(ids)].reset_index(drop=True)
            )
    # NOTE: tables without an account_id, such as the forecast and the
    # campaign credits, stay company-wide. The slice note below names them.
    for name in context.engine_tables:
        _filter_bulk(context.con, name, ids)
    if company_snapshot is not None:
        attribution_prepare.summarize_slice(context, ids, company_snapshot)
    # Intake tables that no step wrote to the workspace need no filtering.
    stored = context.intake.tables if context.intake_stored else {}
    for name, frame in stored.items():
        if isinstance(frame, BulkTable):
            # The workspace already contains the whole table, so it is
            # filtered there instead of being read into pandas.
            _filter_bulk(context.con, name, ids)
            continue
        engine.write_table(
            context.con, name, _filter_canonical(frame, ids, opportunity_ids)
        )

    _recompute_summaries(context)
    if owner:
        owner = spell_owner_as_crm(context.frames["account_map"]["owner"], owner)
        context.headline["slice_owner"] = owner
    label = describe_slice(owner, team)
    context.headline["slice"] = label
    context.notes.append(
        f"Sliced to {label}: {len(ids)} {'account' if len(ids) == 1 else 'accounts'}. "
        "Scores, tiers and health are the "
        "company-wide ones; stage benchmarks and health validation cover every "
        "account. So do the forecast, the campaign credits, the lookback "
        "comparison, the count of excluded touches, the channel weights of "
        "the data-driven models, the input row counts, and the rejected rows, "
        "stage-map checks and deal findings of the data-quality page. The "
        "account tables and the attribution credits, shares, model comparison, "
        "coverage, sourced revenue and bridge are the slice's."
    )
    if deal_owners is not None:
        context.headline["slice_deal_owners"] = deal_owners
        context.notes.append(
            dealowners.describe_deal_owners(
                deal_owners,
                dealowners.describe_owners(owner, team),
                context.params["report_currency"],
            )
        )


def describe_slice(owner: str, team: str) -> str:
    """Return the slice as page titles name it, such as ``owner Fatima Cohen``.

    With both parameters set the slice contains the accounts of either, so
    the label names both.
    """
    return " and ".join(
        f"{kind} {value}" for kind, value in (("owner", owner), ("team", team)) if value
    )


def _opportunity_ids(opportunities: pd.DataFrame, ids: list[str]) -> set[str]:
    return set(
        opportunities.loc[opportunities["account_id"].isin(ids), "opportunity_id"]
    )


def _filter_canonical(
    frame: pd.DataFrame, ids: list[str], opportunity_ids: set[str]
) -> pd.DataFrame:
    if "account_id" in frame.columns:
        return frame[frame["account_id"].isin(ids)].reset_index(drop=True)
    if "opportunity_id" in frame.columns:
        return frame[frame["opportunity_id"].isin(opportunity_ids)].reset_index(
            drop=True
        )
    return frame


def _filter_bulk(con: Any, name: str, ids: list[str]) -> None:
    """Keep the rows of workspace table ``name`` whose account is in ``ids``."""
    keys = pd.DataFrame({"account_id": ids}, dtype="str")
    raw = con.con
    raw.register("_slice_accounts", keys)
    try:
        raw.execute(
            f'DELETE FROM "{name}" WHERE account_id IS NULL OR account_id NOT IN '
            "(SELECT account_id FROM _slice_accounts)"
        )
    finally:
        raw.unregister("_slice_accounts")


def _recompute_summaries(context: Any) -> None:
    frames, as_of = context.frames, context.as_of
    tiers, account_map = frames["account_tiers"], frames["account_map"]
    opportunities = frames["opportunity_progression"]
    rules = tiering.parse_tier_rules(context.params["tier_rules"])

    context.headline.update(
        accountmap.compute_headline(
            account_map,
            frames["opportunity_snapshot"],
            _filter_revenue(context, account_map),
            as_of,
        )
    )
    counts = tiers["tier"].value_counts()
    context.headline["accounts_by_tier"] = {
        label: int(counts.get(number, 0))
        for number, label in tiering.TIER_LABELS.items()
    }
    health = frames["account_health"]
    context.headline["accounts_at_risk"] = int(health["at_risk"].sum())
    context.headline["accounts_expansion_ready"] = int(health["expansion_ready"].sum())
    if "coverage_gaps" in frames:
        gaps = frames["coverage_gaps"]
        context.headline["coverage_gaps"] = summary.count_gap_accounts(gaps)

    context.store(
        "tier_shares",
        tiermovement.summarize_tier_shares(tiers, account_map, opportunities, as_of),
    )
    context.store(
        "tier_sensitivity", tiermovement.compute_threshold_sensitivity(tiers, rules)
    )
    velocity = [
        progression.compute_pipeline_velocity(opportunities, tiers, group, as_of)
        .rename(columns={group: "group"})
        .assign(grouping=group)
        for group in ("tier_label", "industry")
    ]
    context.store("pipeline_velocity", pd.concat(velocity, ignore_index=True))
    if context.has_table("tier_history"):
        history = context.read("tier_history")
        context.store(
            "tier_transitions", tiermovement.compute_transitions(history, as_of)
        )


def _filter_revenue(context: Any, account_map: pd.DataFrame) -> pd.DataFrame | None:
    revenue = context.intake.tables.get("revenue")
    if revenue is None:
        return None
    ids = account_map.loc[account_map["account_id"] != schema.NO_ACCOUNT, "account_id"]
    return revenue[revenue["account_id"].isin(ids)]
