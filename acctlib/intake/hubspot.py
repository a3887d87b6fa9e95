"""Adapter for HubSpot CRM exports: companies, deals, contacts, activities.

HubSpot's export writes property labels as headers ("Record ID", "Deal
Stage", "Associated Company IDs"); exports through the API or a warehouse
sync use internal names (``hs_object_id``, ``dealstage``). The profile
(``params/profiles/hubspot.yaml``) lists both; this module adds:

- Deal associations: ``Associated Company IDs`` lists every associated
  company, separated by ``;`` (or ``,``). The deal's ``account_id`` is the
  first listed company; every link goes to the ``deal_companies`` table
  with its share of the deal under the ``shared_deal_split`` parameter
  (``first``: 1 for the first company and 0 for the others; ``equal``:
  1/n each). The deal amount counts once whatever the rule.
- Stage IDs: exports with internal names carry stage IDs, not labels:
  ``dealstage`` holds ``closedwon`` or a number, and the stage dates sit in
  ``hs_date_entered_<stage id>`` and ``hs_date_exited_<stage id>``. A stage
  map entry names its IDs with ``ids`` (the profile lists the default
  pipeline's: ``appointmentscheduled``, ``qualifiedtobuy``, ...,
  ``closedwon``, ``closedlost``); a custom pipeline's numeric IDs are added
  the same way. A ``dealstage`` value that is a known ID becomes its label.
- Stage history: each ``Date entered "<stage> (<pipeline>)"`` column, and
  each ``hs_date_entered_<stage id>`` column whose ID the stage map names,
  becomes one stage-history row per deal with a date. Stage IDs that the
  map does not name are left out of the history and listed in the
  ``unmapped_stage_ids`` audit table (ID, column, deals with a date) when
  any deal has a date there; the stage-map lint reports them as errors.
  Exit dates are not history rows: the stage a deal moved to is not in
  them.
- Deal type ``New Business`` and ``Existing Business`` (HubSpot's two
  default values) become new_business and expansion; others map through
  ``type_map``.
- Activities (engagements): the type (EMAIL, CALL, MEETING, NOTE, TASK)
  sets the channel; ``function_map`` sets the team per type. The touch's
  account is its first associated company, else its first contact's
  company.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from acctlib.errors import ParameterError
from acctlib.intake.canonical import FILE, ROW, RawTable
from acctlib.intake.files import InputFile
from acctlib.intake.mapped import build_raw_table, pick_column, read_mapped_tables

DATE_ENTERED = re.compile(
    r'^(?:Date entered\s+["“]?(?P<label>.+?)["”]?|hs_date_entered_(?P<internal>.+))$',
    re.IGNORECASE,
)
DATE_EXITED = re.compile(r"^hs_date_exited_(?P<internal>.+)$", re.IGNORECASE)
UNMAPPED_ID_COLUMNS = ["stage_id", "column", "rows"]
PIPELINE_SUFFIX = re.compile(r"\s*\([^()]*\)$")
SPLIT_RULES = ("first", "equal")
DEAL_COMPANY_COLUMNS = ["opportunity_id", "account_id", "position", "share"]
# Deal columns that read_source derives from one column of the export, by
# the column-map key of that column, so that reasons name its header.
DERIVED_DEAL_COLUMNS = {"account_id": "company_ids", "type": "source_type"}


def read_source(
    data_dir: Path, profile: dict[str, Any], params: Any
) -> tuple[list[RawTable], list[InputFile], dict[str, pd.DataFrame]]:
    """Read HubSpot exports into the canonical tables and ``deal_companies``."""
    read, inputs, notes = read_mapped_tables(data_dir, profile)
    tables = profile["tables"]
    rule = str(params["shared_deal_split"])

    deals, deals_path = read["deals"]
    deals = deals.copy()
    stage_ids = stage_labels_by_id(profile.get("stage_map") or {})
    _label_stage_ids(deals, tables["deals"], stage_ids)
    companies = split_ids(_column(deals, tables["deals"], "company_ids"))
    deals["_account"] = companies.map(lambda ids: ids[0] if ids else "")
    deals["_type"] = _deal_types(deals, tables["deals"], profile)
    deal_ids = _column(deals, tables["deals"], "opportunity_id")
    deal_companies = compute_deal_companies(deal_ids, companies, rule, rows=deals[ROW])
    deal_companies[FILE] = str(deals_path)

    companies_frame, companies_path = read["companies"]
    raw_tables = [
        build_raw_table(
            "accounts",
            companies_frame,
            companies_path,
            tables["companies"],
            profile,
            notes,
        ),
        build_raw_table(
            "opportunities",
            deals,
            deals_path,
            tables["deals"],
            profile,
            derived=DERIVED_DEAL_COLUMNS,
        ),
    ]
    history, unmapped_ids = stage_history_from_columns(deals, deal_ids, stage_ids)
    if not history.empty:
        history[FILE] = str(deals_path)
        history_table = build_raw_table(
            "stage_history",
            history,
            deals_path,
            {
                "columns": {
                    "opportunity_id": "deal",
                    "stage": "stage",
                    "entered_at": "entered",
                }
            },
            profile,
            [
                f"Stage history: {len(history)} stage "
                f"{'entry' if len(history) == 1 else 'entries'} from the "
                f"'Date entered' columns of {deals_path.name}."
            ],
        )
        # The adapter derives these columns from the deals' "Date entered"
        # columns, so no header of the file names them.
        history_table.headers.clear()
        raw_tables.append(history_table)
    if "engagements" in read:
        touches, touches_path = read["engagements"]
        contacts = read.get("contacts")
        touches = _prepare_touches(touches, contacts, tables, profile)
        raw_tables.append(
            build_raw_table(
                "touchpoints", touches, touches_path, tables["engagements"], profile
            )
        )
    if companies.map(len).gt(1).any():
        raw_tables[1].notes.append(
            f"Shared deals count once; per-account amounts follow the "
            f"{rule!r} split rule (shared_deal_split)."
        )
    extras = {"deal_companies": deal_companies, "unmapped_stage_ids": unmapped_ids}
    return raw_tables, inputs, extras


def split_ids(cells: pd.Series) -> pd.Series:
    """Split ``9001;9002`` association cells into lists of IDs, in order."""
    return (
        cells.fillna("")
        .astype("str")
        .map(
            lambda cell: [
                part.strip() for part in re.split(r"[;,]", cell) if part.strip()
            ]
        )
    )


def compute_deal_companies(
    deal_ids: pd.Series,
    companies: pd.Series,
    rule: str,
    rows: pd.Series | None = None,
) -> pd.DataFrame:
    """Return one row per deal and associated company with its share.

    ``share`` is the fraction of the deal amount the company is credited
    with: under ``first`` 1.0 for the first listed company and 0.0 for the
    others, under ``equal`` 1/n for each of n companies. Deals without a
    company have no row. ``rows``, aligned with ``deal_ids``, gives each
    deal's file row; the result then has a ``_row`` column, with which
    intake drops the links of deal rows it rejects.
    """
    if rule not in SPLIT_RULES:
        raise ValueError(f"shared_deal_split must be one of {SPLIT_RULES}")
    file_rows = [None] * len(deal_ids) if rows is None else list(rows)
    links = []
    for deal, ids, row in zip(deal_ids, companies, file_rows, strict=True):
        unique = list(dict.fromkeys(ids))
        for position, company in enumerate(unique):
            if rule == "equal":
                share = 1.0 / len(unique)
            else:
                share = 1.0 if position == 0 else 0.0
            links.append((deal, company, position + 1, share, row))
    result = pd.DataFrame(links, columns=[*DEAL_COMPANY_COLUMNS, ROW])
    if rows is None:
        return result.drop(columns=ROW)
    return result.astype({ROW: "int64"})


def compute_account_amounts(
    opportunities: pd.DataFrame, deal_companies: pd.DataFrame
) -> pd.DataFrame:
    """Return won amounts per account under the deal-company shares.

    Deals without a company land on the ``No account`` row, so the column
    sums to the won total. Columns: ``account_id``, ``won_amount``,
    ``shared_deals`` (deals also credited to another company).
    """
    from acctlib.schema import NO_ACCOUNT

    won = opportunities[opportunities["stage_category"] == "won"]
    won = won[["opportunity_id", "amount"]].fillna({"amount": 0.0})
    links = deal_companies.merge(won, on="opportunity_id", how="inner")
    links["won_amount"] = links["amount"] * links["share"]
    counts = deal_companies.groupby("opportunity_id")["account_id"].transform("size")
    links["shared"] = (
        links["opportunity_id"]
        .map(deal_companies.assign(n=counts).groupby("opportunity_id")["n"].first())
        .gt(1)
    )
    per_account = links.groupby("account_id").agg(
        won_amount=("won_amount", "sum"), shared_deals=("shared", "sum")
    )
    unlinked = won[~won["opportunity_id"].isin(deal_companies["opportunity_id"])]
    if not unlinked.empty:
        per_account.loc[NO_ACCOUNT] = [unlinked["amount"].sum(), 0]
    result = per_account.reset_index()
    result["shared_deals"] = result["shared_deals"].astype("int64")
    return result


def stage_labels_by_id(stage_map: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Return the stage label of every stage ID the stage map's ``ids`` list.

    Keys are case-folded, because warehouse syncs may upper-case the IDs in
    column names; look IDs up with :func:`_fold_id`.

    Raises
    ------
    ParameterError
        When two stages claim the same ID.
    """
    labels: dict[str, str] = {}
    for label, entry in stage_map.items():
        ids = entry.get("ids") or []
        for stage_id in [ids] if isinstance(ids, str | int) else ids:
            key = _fold_id(stage_id)
            if key in labels and labels[key] != label:
                raise ParameterError(
                    f"stage id {key!r} is listed under both {labels[key]!r} and "
                    f"{label!r} in the stage map; keep it under one stage"
                )
            labels[key] = label
    return labels


def _fold_id(stage_id: object) -> str:
    return str(stage_id).strip().casefold()


def _label_stage_ids(
    deals: pd.DataFrame, spec: Mapping[str, Any], stage_ids: Mapping[str, str]
) -> None:
    """Replace stage IDs in the deal stage column by their labels, in place."""
    candidates = (spec.get("columns") or {}).get("stage")
    source = pick_column(deals, candidates) if candidates else None
    if source is None or not stage_ids:
        return
    folded = deals[source].fillna("").map(_fold_id)
    labels = folded.map(stage_ids)
    deals[source] = labels.where(labels.notna(), deals[source])


def stage_history_from_columns(
    deals: pd.DataFrame,
    deal_ids: pd.Series,
    stage_ids: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return stage-history rows and the stage IDs the stage map does not name.

    History rows have ``deal``, ``stage``, ``entered`` and ``_row``, one per
    filled "Date entered" cell. The second frame has
    :data:`UNMAPPED_ID_COLUMNS`: per unknown ID in an ``hs_date_entered_``
    or ``hs_date_exited_`` column that has dates, the column and the deals
    with a date.
    """
    stage_ids = stage_ids or {}
    parts = []
    unmapped = []
    for column in deals.columns:
        match = DATE_ENTERED.match(str(column)) or DATE_EXITED.match(str(column))
        if match is None:
            continue
        dates = deals[column].fillna("").astype("str").str.strip()
        has_date = dates != ""
        internal = match.groupdict().get("internal")
        if internal is not None and _fold_id(internal) not in stage_ids:
            # An export may carry empty date columns of stages that no deal
            # entered, such as another pipeline's, so only IDs with dates
            # need a stage map entry.
            if has_date.any():
                unmapped.append((internal.strip(), str(column), int(has_date.sum())))
            continue
        if DATE_EXITED.match(str(column)):
            continue
        if internal is not None:
            stage = stage_ids[_fold_id(internal)]
        else:
            stage = PIPELINE_SUFFIX.sub("", match.group("label")).strip()
        parts.append(
            pd.DataFrame(
                {
                    "deal": deal_ids[has_date],
                    "stage": stage,
                    "entered": dates[has_date],
                    ROW: deals.loc[has_date, ROW],
                }
            )
        )
    unmapped_frame = pd.DataFrame(unmapped, columns=UNMAPPED_ID_COLUMNS)
    if not parts:
        return pd.DataFrame(columns=["deal", "stage", "entered", ROW]), unmapped_frame
    history = pd.concat(parts, ignore_index=True)
    # An export may carry both the label and the internal column of a stage,
    # each with one date per deal row, so the first column's date is kept.
    # Rows of a repeated deal row stay, so that intake rejects and counts them
    # with that row.
    history = history.drop_duplicates(["deal", "stage", ROW])
    return history.reset_index(drop=True), unmapped_frame


def _column(frame: pd.DataFrame, spec: Mapping[str, Any], name: str) -> pd.Series:
    candidates = (spec.get("columns") or {}).get(name)
    source = pick_column(frame, candidates) if candidates else None
    if source is None:
        return pd.Series("", index=frame.index)
    return frame[source].fillna("").astype("str").str.strip()


def _deal_types(
    deals: pd.DataFrame, spec: Mapping[str, Any], profile: Mapping[str, Any]
) -> pd.Series:
    type_map = {
        str(k).casefold(): v for k, v in (profile.get("type_map") or {}).items()
    }
    raw = _column(deals, spec, "source_type").str.casefold()
    return raw.map(type_map).fillna("new_business")


def _prepare_touches(
    touches: pd.DataFrame,
    contacts: tuple[pd.DataFrame, Path] | None,
    tables: Mapping[str, Any],
    profile: Mapping[str, Any],
) -> pd.DataFrame:
    spec = tables["engagements"]
    touches = touches.copy()
    companies = split_ids(_column(touches, spec, "company_ids"))
    contact_ids = split_ids(_column(touches, spec, "contact_ids"))
    account = companies.map(lambda ids: ids[0] if ids else "")
    if contacts is not None:
        frame = contacts[0]
        cspec = tables["contacts"]
        contact_company = pd.Series(
            split_ids(_column(frame, cspec, "company_ids"))
            .map(lambda ids: ids[0] if ids else "")
            .to_numpy(),
            index=_column(frame, cspec, "contact_id").to_numpy(),
        )
        contact_company = contact_company[~contact_company.index.duplicated()]
        via_contact = contact_ids.map(
            lambda ids: contact_company.get(ids[0], "") if ids else ""
        )
        account = account.where(account != "", via_contact)
    touches["_account"] = account
    touches["_contact"] = contact_ids.map(lambda ids: ids[0] if ids else "")
    kind = _column(touches, spec, "touch_type").str.casefold()
    touches["_touch_type"] = kind.where(kind != "", "activity")
    touches["_channel"] = touches["_touch_type"].str.replace(r"\W+", "_", regex=True)
    function_map = {
        str(k).casefold(): v for k, v in (profile.get("function_map") or {}).items()
    }
    touches["_function"] = (
        touches["_touch_type"]
        .map(function_map)
        .fillna(str(profile.get("activity_function", "ae")))
    )
    return touches
