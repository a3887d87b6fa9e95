"""Compare the deals of an owner slice with the deals its owners own.

A slice keeps the accounts that the selected owners own, with every deal
at those accounts, because tiers, health and attribution are per account.
The account owner and the deal owner can differ: in the Maven export an
account's owner is the sales agent of its latest deal. So a slice can hold
deals of other owners and leave out deals that its owners own elsewhere.
:func:`summarize_deal_owners` counts both, and :func:`describe_deal_owners`
states them where the slice is described.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pandas as pd

from acctlib.schema import NO_ACCOUNT
from acctlib.tables import format_money


def normalize_owners(owners: pd.Series) -> pd.Series:
    """Return ``owners`` trimmed and case-folded, with a missing owner as ``""``."""
    return owners.astype(object).fillna("").astype(str).str.strip().str.casefold()


def summarize_deal_owners(
    snapshot: pd.DataFrame,
    account_ids: Collection[str],
    owners: Collection[str],
) -> dict[str, Any] | None:
    """Count the slice's deals of other owners and its owners' deals elsewhere.

    Parameters
    ----------
    snapshot
        Company-wide output of :func:`acctlib.asof.snapshot_opportunities`
        before slicing: ``account_id``, ``owner`` (deal owner, may be
        missing), ``amount`` (report currency), ``is_open`` and ``is_won``
        as of the report date, one row per deal.
    account_ids
        Accounts of the slice.
    owners
        Selected owners, trimmed and case-folded as
        :func:`normalize_owners` returns them.

    Returns
    -------
    dict or None
        None when the snapshot has no ``owner`` column or no deal has an
        owner. Otherwise plain Python values:

        - ``slice_deals`` (int): deals at the slice's accounts;
        - ``other_owners``: deals at the slice's accounts whose owner is
          not selected;
        - ``no_owner``: deals at the slice's accounts without an owner;
        - ``own_deals`` (int): deals of the selected owners, at any account
          or at none;
        - ``outside_slice``: deals of the selected owners at accounts
          outside the slice, or without an account.

        Each of the three groups is a dict of ``deals`` (int),
        ``open_pipeline`` (summed ``amount`` of deals open on the report
        date) and ``won`` (summed ``amount`` of deals won by the report
        date), amounts rounded to cents. ``outside_slice`` also has
        ``without_account`` (int), its deals that have no account.
    """
    if "owner" not in snapshot.columns:
        return None
    deal_owners = normalize_owners(snapshot["owner"])
    has_owner = deal_owners.ne("")
    if not has_owner.any():
        return None

    in_slice = snapshot["account_id"].isin(list(account_ids))
    is_selected = has_owner & deal_owners.isin(list(owners))
    outside = is_selected & ~in_slice
    without_account = outside & _lacks_account(snapshot["account_id"])

    outside_summary = _summarize_deals(snapshot, outside)
    outside_summary["without_account"] = int(without_account.sum())
    return {
        "slice_deals": int(in_slice.sum()),
        "other_owners": _summarize_deals(snapshot, in_slice & has_owner & ~is_selected),
        "no_owner": _summarize_deals(snapshot, in_slice & ~has_owner),
        "own_deals": int(is_selected.sum()),
        "outside_slice": outside_summary,
    }


def _lacks_account(account_ids: pd.Series) -> pd.Series:
    text = account_ids.astype(object).fillna("").astype(str).str.strip()
    return text.eq("") | text.eq(NO_ACCOUNT)


def _summarize_deals(snapshot: pd.DataFrame, rows: pd.Series) -> dict[str, Any]:
    amounts = snapshot["amount"]
    return {
        "deals": int(rows.sum()),
        "open_pipeline": round(float(amounts[rows & snapshot["is_open"]].sum()), 2),
        "won": round(float(amounts[rows & snapshot["is_won"]].sum()), 2),
    }


def describe_owners(owner: str, team: str) -> str:
    """Return the owners of a slice as its notes name them, such as ``Fatima Cohen``.

    A team reads as ``the members of team east``; with both set, the slice
    contains the accounts of either, so both are named.
    """
    names = []
    if owner:
        names.append(owner)
    if team:
        names.append(f"the members of team {team}")
    return " or ".join(names)


def differs_from_owners(summary: dict[str, Any]) -> bool:
    """Return whether a slice's deals differ from the deals its owners own.

    ``summary`` is the output of :func:`summarize_deal_owners`.
    """
    groups = ("other_owners", "no_owner", "outside_slice")
    return any(summary[group]["deals"] for group in groups)


def describe_account_basis(
    figures: str, summary: dict[str, Any] | None, slice_label: str, owners: str
) -> str:
    """Return the caption saying that a slice's ``figures`` are of its accounts.

    ``figures`` names them, such as ``"These velocity figures"``, and
    ``slice_label`` is the slice as :func:`acctlib.slicing.describe_slice`
    names it. Returns ``""`` when ``summary`` is None, as for a company run
    or a source whose deals have no owner, or when the slice's deals are
    exactly its owners' deals.
    """
    if not summary or not differs_from_owners(summary):
        return ""
    return (
        f"{figures} count every deal at the accounts of {slice_label}, whoever "
        f"owns it, so they are not the figures of the deals of {owners}. The "
        "notice at the top of the page counts the deals that differ."
    )


def describe_deal_owners(summary: dict[str, Any], owners: str, currency: str) -> str:
    """Return the sentences that state how a slice's deals differ from its owners'.

    ``summary`` is the output of :func:`summarize_deal_owners`, ``owners``
    the output of :func:`describe_owners` and ``currency`` the report
    currency of its amounts.
    """
    other = summary["other_owners"]
    no_owner = summary["no_owner"]
    outside = summary["outside_slice"]
    if not differs_from_owners(summary):
        return (
            f"Every deal at these accounts belongs to {owners}, and every deal "
            f"of {owners} is at these accounts."
        )

    sentences = [
        "The pipeline, bookings and win figures of this slice count every deal "
        "at these accounts, whoever owns it."
    ]
    total = _count(summary["slice_deals"], "deal")
    if other["deals"]:
        sentences.append(
            f"Of the {total} at these accounts, {other['deals']:,} "
            f"{_verb(other['deals'], 'belongs', 'belong')} to other owners "
            f"({_amounts(other, currency)})."
        )
    else:
        sentences.append("No deal at these accounts belongs to another owner.")
    if no_owner["deals"]:
        sentences.append(
            f"{_count(no_owner['deals'], 'deal')} at these accounts "
            f"{_verb(no_owner['deals'], 'has', 'have')} no owner "
            f"({_amounts(no_owner, currency)})."
        )
    if outside["deals"]:
        sentences.append(
            _describe_outside(outside, summary["own_deals"], owners, currency)
        )
    else:
        sentences.append(f"Every deal of {owners} is at these accounts.")
    return " ".join(sentences)


def _describe_outside(
    outside: dict[str, Any], own_deals: int, owners: str, currency: str
) -> str:
    deals = outside["deals"]
    without = outside["without_account"]
    where = "at accounts outside this slice"
    if without == deals:
        where = "without an account"
    elif without:
        where += f" or, for {without:,} of them, without an account"
    return (
        f"Of the {_count(own_deals, 'deal')} of {owners}, {deals:,} "
        f"{_verb(deals, 'is', 'are')} left out because "
        f"{_verb(deals, 'it is', 'they are')} {where} ({_amounts(outside, currency)})."
    )


def _amounts(group: dict[str, Any], currency: str) -> str:
    return (
        f"open pipeline {format_money(group['open_pipeline'], currency)}, "
        f"won to date {format_money(group['won'], currency)}"
    )


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun if number == 1 else noun + 's'}"


def _verb(number: int, singular: str, plural: str) -> str:
    return singular if number == 1 else plural
