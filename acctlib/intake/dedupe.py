"""Merging duplicate accounts by website domain.

CRMs accumulate the same company twice ("Acme Widgets Inc." and "ACME
WIDGETS, INC"). Accounts whose websites normalise to the same domain are
merged into the account with the smallest ``account_id``, so the result
does not depend on row order. Every reference (opportunities, touchpoints,
revenue, signals, parents) is re-pointed to that survivor. The survivor
keeps its own fields except ``created_at``, which becomes the earliest of
the merged accounts (see :func:`acctlib.intake.quality.merge_duplicate_accounts`).

A website on a host that many organisations share (:data:`SHARED_HOSTS`:
social networks, free mail providers, site builders) is no evidence of
the same company, and neither is a placeholder typed where the website
is unknown (:data:`PLACEHOLDER_HOSTS` and the reserved names of
:data:`RESERVED_TOP_LEVEL_DOMAINS`), so such accounts are never merged.
The audit lists them as "not merged" with the reason when another
account has the same domain.

Accounts without a usable website (none, or one on a shared or
placeholder host) whose
normalised name equals another account's are only suggested, never merged,
because a name alone is weak evidence. Accounts with different domains
stay apart even when their names match. An audit table lists every merge,
every account kept apart on a shared host and every suggestion.

The domain is the website without scheme, ``www.``, port, path, query or
trailing dot, in lower case. The name is lower case without punctuation
and without legal suffixes such as Inc, Corp, LLC, Ltd, GmbH.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

AUDIT_COLUMNS = [
    "action",
    "account_id",
    "name",
    "into_account_id",
    "into_name",
    "key",
    "reason",
]
LEGAL_SUFFIXES = frozenset(
    {
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "llc",
        "ltd",
        "limited",
        "plc",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "bv",
        "nv",
        "srl",
        "pty",
        "oy",
        "ab",
        "as",
    }
)


# Hosts whose pages, profiles or mailboxes belong to many organisations, so
# two accounts with a website on one of them need not be the same company.
# A subdomain of a listed host (uk.linkedin.com, acme.wordpress.com) counts
# as the host. Extend the set when an export shows another such host.
SHARED_HOSTS = frozenset(
    {
        # Social networks and profile sites.
        "linkedin.com",
        "facebook.com",
        "fb.com",
        "twitter.com",
        "x.com",
        "instagram.com",
        "youtube.com",
        "tiktok.com",
        "pinterest.com",
        "xing.com",
        "github.com",
        "gitlab.com",
        "medium.com",
        "crunchbase.com",
        "angel.co",
        "wellfound.com",
        "t.me",
        "linktr.ee",
        # Free mail providers.
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "ymail.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "protonmail.com",
        "proton.me",
        "zoho.com",
        "gmx.de",
        "gmx.net",
        "gmx.com",
        "web.de",
        "t-online.de",
        "mail.ru",
        "yandex.ru",
        "qq.com",
        "163.com",
        "126.com",
        "naver.com",
        # Site builders and hosted blogs.
        "wixsite.com",
        "wix.com",
        "wordpress.com",
        "blogspot.com",
        "sites.google.com",
        "squarespace.com",
        "weebly.com",
        "webflow.io",
        "github.io",
        "netlify.app",
        "carrd.co",
        "jimdo.com",
        "jimdofree.com",
        "business.site",
    }
)


# Domains typed into a website field when the real one is unknown, so two
# accounts with one of them need not be the same company. The set contains
# the second-level names that RFC 2606 reserves for documentation, and
# common fillers. A subdomain of a listed domain (www2.example.com) counts
# as the domain. Extend the set when an export shows another filler.
PLACEHOLDER_HOSTS = frozenset(
    {
        # Reserved for documentation by RFC 2606, section 3.
        "example.com",
        "example.net",
        "example.org",
        # Fillers for "no website" or "unknown".
        "none.com",
        "na.com",
        "n-a.com",
        "tbd.com",
        "unknown.com",
        "noemail.com",
        "nowebsite.com",
        "website.com",
        "domain.com",
        "company.com",
        "email.com",
    }
)

# Top-level domains that RFC 2606 (section 2) and RFC 6761 (section 6)
# reserve, so no company's public website ends in one of them.
RESERVED_TOP_LEVEL_DOMAINS = frozenset({"test", "example", "invalid", "localhost"})


def normalize_domain(website: object) -> str:
    """Return the bare domain of a website, or "" when there is none."""
    if not isinstance(website, str):
        return ""
    text = website.strip().lower()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = re.split(r"[/?#]", text, maxsplit=1)[0]
    text = text.split("@")[-1].split(":")[0].strip(".")
    if text.startswith("www."):
        text = text[4:]
    return text if "." in text else ""


def is_shared_host(domain: str) -> bool:
    """Return whether ``domain`` is a :data:`SHARED_HOSTS` host or its subdomain."""
    return _is_listed(domain, SHARED_HOSTS)


def is_placeholder_host(domain: str) -> bool:
    """Return whether ``domain`` is a placeholder rather than a company's site.

    True for a :data:`PLACEHOLDER_HOSTS` domain or its subdomain, and for a
    name under a :data:`RESERVED_TOP_LEVEL_DOMAINS` top-level domain.
    """
    if not domain:
        return False
    if domain.rsplit(".", 1)[-1] in RESERVED_TOP_LEVEL_DOMAINS:
        return True
    return _is_listed(domain, PLACEHOLDER_HOSTS)


def _is_listed(domain: str, hosts: frozenset[str]) -> bool:
    """Return whether ``domain`` or a parent domain of it is in ``hosts``."""
    labels = domain.split(".")
    return any(".".join(labels[i:]) in hosts for i in range(len(labels)))


def normalize_name(name: object) -> str:
    """Return a company name without case, punctuation and legal suffixes."""
    if not isinstance(name, str):
        return ""
    words = re.sub(r"[^\w\s]", " ", name.lower()).split()
    while words and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


def find_duplicates(accounts: pd.DataFrame) -> tuple[dict[str, str], pd.DataFrame]:
    """Find accounts to merge by domain, to keep apart and to suggest by name.

    Parameters
    ----------
    accounts
        Raw accounts with ``account_id``, ``name`` and ``website`` (text;
        blank when unknown).

    Returns
    -------
    tuple
        The mapping from each merged ``account_id`` to its survivor, and the
        audit table (:data:`AUDIT_COLUMNS`), sorted by action and ID.
    """
    frame = accounts[accounts["account_id"].fillna("") != ""].copy()
    frame["domain"] = frame.get("website", pd.Series("", index=frame.index)).map(
        normalize_domain
    )
    frame["on_shared_host"] = frame["domain"].map(is_shared_host)
    frame["on_placeholder"] = frame["domain"].map(is_placeholder_host)
    # A domain on a shared or placeholder host is never a merge key.
    frame["unusable"] = frame["on_shared_host"] | frame["on_placeholder"]
    frame["name_key"] = frame["name"].map(normalize_name)
    frame = frame.sort_values("account_id", kind="stable")

    merges: dict[str, str] = {}
    audit = []
    # Plain dicts, because Series.get costs tens of microseconds per call
    # and the loops below call it for every account.
    names = frame.set_index("account_id")["name"].to_dict()
    has_domain = frame["domain"] != ""
    with_domain = frame[has_domain & ~frame["unusable"]]
    for domain, survivor, account_id in _same_domain_pairs(with_domain):
        merges[account_id] = survivor
        audit.append(
            _audit_row("merged", account_id, survivor, names, domain, "same domain")
        )
    placeholders = set(frame.loc[frame["on_placeholder"], "domain"])
    for domain, first, account_id in _same_domain_pairs(frame[frame["unusable"]]):
        if domain in placeholders:
            reason = (
                f"same domain, but {domain} is a placeholder, not a company "
                "website; not merged"
            )
        else:
            reason = (
                f"same domain, but many organisations use {domain} (social "
                "network, free mail or site builder); not merged"
            )
        audit.append(_audit_row("not merged", account_id, first, names, domain, reason))

    named_with_domain = _group_ids(with_domain)
    named = _group_ids(frame)
    # Plain lists, because itertuples reads every column of the accounts
    # table, one Arrow value at a time.
    without_domain = frame[~has_domain | frame["unusable"]]
    for account_id, name_key, domain in zip(
        without_domain["account_id"].tolist(),
        without_domain["name_key"].tolist(),
        without_domain["domain"].tolist(),
        strict=True,
    ):
        if not name_key:
            continue
        # Prefer accounts whose website confirms the company; else an
        # earlier account of the same name, so each pair is listed once.
        same_name = named_with_domain.get(name_key)
        if same_name is None:
            same_name = [a for a in named.get(name_key, []) if a < account_id]
        if domain in placeholders:
            reason = f"same name, placeholder website {domain}; not merged"
        elif domain:
            reason = f"same name, website on shared host {domain}; not merged"
        else:
            reason = "same name, no website to confirm; not merged"
        for target in sorted({merges.get(a, a) for a in same_name}):
            audit.append(
                _audit_row("suggested", account_id, target, names, name_key, reason)
            )
    table = pd.DataFrame(audit, columns=AUDIT_COLUMNS)
    return merges, table.sort_values(["action", "account_id", "into_account_id"])


def _same_domain_pairs(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Pair each account with the first account of its domain.

    Returns ``(domain, first_account_id, account_id)`` for every account
    after the first of a domain shared by several rows, in the order of
    ``frame``.
    """
    repeated = frame[frame["domain"].duplicated(keep=False)]
    pairs = []
    for domain, group in repeated.groupby("domain"):
        ids = group["account_id"].tolist()
        pairs += [(domain, ids[0], account_id) for account_id in ids[1:]]
    return pairs


def _group_ids(frame: pd.DataFrame) -> dict[str, list[str]]:
    """Return the account IDs of each ``name_key``, in row order.

    A plain loop, because ``groupby(...).agg(list)`` runs Python code per
    group and took about 25 s for 100,000 accounts on a loaded 2-core
    machine.
    """
    grouped: dict[str, list[str]] = {}
    for key, account_id in zip(
        frame["name_key"].tolist(), frame["account_id"].tolist(), strict=True
    ):
        grouped.setdefault(key, []).append(account_id)
    return grouped


def _audit_row(
    action: str,
    account_id: str,
    into: str,
    names: Mapping[str, str],
    key: str,
    reason: str,
) -> dict[str, str]:
    return {
        "action": action,
        "account_id": account_id,
        "name": names.get(account_id, ""),
        "into_account_id": into,
        "into_name": names.get(into, ""),
        "key": key,
        "reason": reason,
    }
