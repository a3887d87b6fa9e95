"""Adapter for the Maven Analytics "CRM Sales Opportunities" export.

The export has four CSV files, read with CRLF line endings and an optional
UTF-8 byte-order mark: ``accounts.csv``, ``products.csv``,
``sales_teams.csv`` and ``sales_pipeline.csv``. Its join keys are names,
not IDs. The adapter maps the files onto the canonical ``accounts``,
``opportunities`` and ``stage_history`` tables as text cells, and the usual
intake then parses and validates them. Every cell is stripped of
surrounding whitespace before names are joined.

Export date
    The latest ``engage_date`` or ``close_date`` in ``sales_pipeline.csv``.
    Prospecting deals carry no date, so they and any other deal without an
    ``engage_date`` are created on the export date. An export without any
    date falls back to the ``as_of`` parameter. A note counts these deals.

Accounts, one per row of ``accounts.csv``
    ``account_id`` and ``name`` are the company name (``account``), which is
    the only key the pipeline uses for an account. ``industry`` is
    ``sector``, ``country`` is ``office_location``, ``employees`` is
    ``employees`` and ``parent_account_id`` is ``subsidiary_of``.
    ``annual_revenue`` is ``revenue`` times 1,000,000, because the export
    states revenue in millions of USD. ``owner`` is the sales agent of the
    account's most recent opportunity, the one with the latest
    ``engage_date``. Deals without a date rank below dated ones, and the
    greatest ``opportunity_id`` wins a tie. ``region`` is that agent's
    ``regional_office`` in ``sales_teams.csv``. ``created_at`` is the
    account's earliest ``engage_date``, or the export date when none of its
    deals has one. The profile's ``label_corrections`` may replace
    misspelt industry or country labels, and a note counts each replacement.

Opportunities, one per row of ``sales_pipeline.csv``
    ``opportunity_id``, ``owner`` (``sales_agent``) and ``stage``
    (``deal_stage``) are copied. ``account_id`` is ``account``, and a blank
    account stays blank, so the deal is reported under "No account".
    ``type`` is ``new_business``, because the export has no deal type.
    ``name`` is the product as ``products.csv`` spells it. ``amount`` is
    ``close_value`` for Won deals. Lost and open deals get the product's
    list price (``sales_price``), because Lost deals carry a close_value of
    0 and open deals none. Product names match the price list after spaces
    are removed and case is ignored, so ``GTXPro`` finds ``GTX Pro``. A
    product that still matches nothing keeps its own name and leaves the
    amount of its Lost and open deals empty, with a note, instead of being
    rejected. A ``sales_price`` that is not a non-negative number stops
    intake with its row. ``amount_original`` is the same amount and
    ``currency`` is USD, and a bad ``close_value`` is recorded once, under
    ``amount``.
    ``amount_open`` is the list price of every deal, because a Won deal was
    valued at it while open: an as-of date before its close counts the list
    price, not the close_value it had not reached yet. A deal whose product
    has no list price falls back to its amount on those dates.
    ``created_at`` is ``engage_date`` at midnight UTC, or the export date
    with ``created_at_estimated`` set, so that those deals never count as
    new.
    ``close_date`` is ``close_date`` for Won and Lost deals and empty for
    every other stage.

Stage history, derived from ``sales_pipeline.csv``
    Engaging, Won and Lost deals entered Engaging at ``engage_date``. Won
    and Lost deals entered their stage at ``close_date``. Prospecting deals
    entered Prospecting at their ``created_at``. Deals in any other stage
    get no history, and the stage map rejects them unless it lists the stage.
    Timestamps are ISO 8601 text at midnight UTC.

Each table names the Maven column a canonical column is copied from in
:attr:`RawTable.headers`, so that rejection reasons name a column of the
Maven file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd

from acctlib.errors import InputError, ParameterError
from acctlib.intake.canonical import FILE, ROW, RawTable
from acctlib.intake.files import InputFile, read_text_frame, sha256_file
from acctlib.intake.mapped import closest_header
from acctlib.params import Params

PROSPECTING = "Prospecting"
ENGAGING = "Engaging"
WON = "Won"
LOST = "Lost"
CLOSED_STAGES = (WON, LOST)
ENGAGED_STAGES = (ENGAGING, WON, LOST)
SOURCE_CURRENCY = "USD"
REVENUE_UNIT = Decimal(1_000_000)  # accounts.csv states revenue in millions

DEFAULT_FILES = {
    "accounts": "accounts.csv",
    "products": "products.csv",
    "sales_teams": "sales_teams.csv",
    "pipeline": "sales_pipeline.csv",
}
SOURCE_COLUMNS = {
    "accounts": (
        "account",
        "sector",
        "revenue",
        "employees",
        "office_location",
        "subsidiary_of",
    ),
    "products": ("product", "sales_price"),
    "sales_teams": ("sales_agent", "regional_office"),
    "pipeline": (
        "opportunity_id",
        "sales_agent",
        "product",
        "account",
        "deal_stage",
        "engage_date",
        "close_date",
        "close_value",
    ),
}
# The table each file feeds, as recorded in the input fingerprints.
INPUT_TABLES = {
    "accounts": "accounts",
    "products": "products",
    "sales_teams": "sales_teams",
    "pipeline": "opportunities",
}
CORRECTABLE_COLUMNS = ("industry", "country", "region")

# The Maven column each canonical column is copied from. ``annual_revenue``
# is ``revenue`` converted from millions, and ``region``, ``owner`` and
# ``created_at`` come from the other files.
ACCOUNT_HEADERS = {
    "account_id": "account",
    "name": "account",
    "industry": "sector",
    "country": "office_location",
    "employees": "employees",
    "annual_revenue": "revenue",
    "parent_account_id": "subsidiary_of",
}
# amount and amount_original come from close_value for Won deals and from
# the price list in products.csv for the others. They name close_value,
# because the adapter raises on a list price that is not a number, so only
# close_value cells can fail later. Both copy the same cell, so a bad
# close_value is recorded once. amount_open is the list price of every
# deal, so it has no header.
OPPORTUNITY_HEADERS = {
    "opportunity_id": "opportunity_id",
    "account_id": "account",
    "amount": "close_value",
    "amount_original": "close_value",
    "stage": "deal_stage",
    "created_at": "engage_date",
    "close_date": "close_date",
    "owner": "sales_agent",
}


def read_source(
    data_dir: Path, profile: dict[str, Any], params: Params
) -> tuple[list[RawTable], list[InputFile]]:
    """Read the four Maven files into accounts, opportunities and stage_history."""
    _check_report_currency(params)
    paths = _source_paths(data_dir, profile)
    frames = {key: _read_source_file(path, key) for key, path in paths.items()}
    inputs = [
        InputFile(
            table=INPUT_TABLES[key],
            path=str(path),
            sha256=sha256_file(path),
            rows=len(frames[key]),
        )
        for key, path in paths.items()
    ]

    deals = _add_parsed_dates(frames["pipeline"])
    export_date, export_source = _find_export_date(deals, params.as_of)
    opportunities = _build_opportunities(
        deals, frames["products"], export_date, export_source, paths
    )
    stage_history = _build_stage_history(
        deals, opportunities.frame["created_at"], paths["pipeline"]
    )
    accounts = _build_accounts(
        frames["accounts"],
        deals,
        frames["sales_teams"],
        export_date,
        profile.get("label_corrections") or {},
        paths,
    )
    return [accounts, opportunities, *stage_history], inputs


def _check_report_currency(params: Params) -> None:
    currency = str(params["report_currency"])
    if currency != SOURCE_CURRENCY:
        raise ParameterError(
            f"report_currency is {currency!r}, but the maven profile has no "
            f"exchange rates and supplies every amount in {SOURCE_CURRENCY}; "
            f"set report_currency to {SOURCE_CURRENCY}"
        )


def _source_paths(data_dir: Path, profile: Mapping[str, Any]) -> dict[str, Path]:
    names = {**DEFAULT_FILES, **(profile.get("files") or {})}
    unknown = sorted(set(names) - set(DEFAULT_FILES))
    if unknown:
        raise ParameterError(
            f"profile {profile.get('name')!r} names unknown files "
            f"{', '.join(unknown)}; the keys of files are "
            f"{', '.join(DEFAULT_FILES)}"
        )
    return {key: data_dir / str(names[key]) for key in DEFAULT_FILES}


def _read_source_file(path: Path, key: str) -> pd.DataFrame:
    """Read one export file as stripped text with a 1-based ``_row`` column.

    Blank lines count in ``_row`` (see :func:`read_text_frame`).
    """
    frame = read_text_frame(path, row_column=ROW)
    rows = frame.pop(ROW)
    missing = [column for column in SOURCE_COLUMNS[key] if column not in frame]
    if missing:
        unread = [
            column for column in frame.columns if column not in SOURCE_COLUMNS[key]
        ]
        hint = closest_header([missing[0]], unread)
        closest = (
            f" The closest header is {hint!r}: rename it to {missing[0]!r}, then "
            "run again."
            if hint
            else ""
        )
        raise InputError(
            f"{path}: column {missing[0]!r} is missing; a Maven {path.name} has "
            f"columns {', '.join(SOURCE_COLUMNS[key])}, found "
            f"{', '.join(frame.columns) or 'none'}.{closest}",
            file=str(path),
            column=missing[0],
        )
    frame = frame.apply(lambda column: column.astype("str").str.strip())
    frame[ROW] = rows
    return frame


def _add_parsed_dates(pipeline: pd.DataFrame) -> pd.DataFrame:
    """Add ``engage_at`` and ``close_at``: the dates parsed, NaT when blank or invalid.

    Invalid cells keep their text in ``engage_date`` and ``close_date``, so
    intake rejects the rows that use them and names the cell.
    """
    return pipeline.assign(
        engage_at=_parse_dates(pipeline["engage_date"]),
        close_at=_parse_dates(pipeline["close_date"]),
    )


def _parse_dates(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text.where(text != ""), format="%Y-%m-%d", errors="coerce")


def _timestamp_text(text: pd.Series, dates: pd.Series) -> pd.Series:
    """Return ISO text at midnight UTC where ``dates`` parsed, else the raw ``text``."""
    formatted = dates.dt.strftime("%Y-%m-%dT00:00:00Z")
    return formatted.where(dates.notna(), text).astype("str")


def _find_export_date(deals: pd.DataFrame, as_of: dt.date) -> tuple[pd.Timestamp, str]:
    """Return the latest date in the pipeline and where that date came from."""
    latest = pd.concat([deals["engage_at"], deals["close_at"]]).max()
    if pd.isna(latest):
        return pd.Timestamp(as_of), "the as_of date, because the file has no dates"
    return latest, "the latest date in the file"


def _build_opportunities(
    deals: pd.DataFrame,
    products: pd.DataFrame,
    export_date: pd.Timestamp,
    export_source: str,
    paths: Mapping[str, Path],
) -> RawTable:
    _check_list_prices(products, paths["products"])
    price_list = _index_unique(
        products,
        "product",
        paths["products"],
        keys=products["product"].map(_product_key),
    )
    product_key = deals["product"].map(_product_key)
    catalog_name = product_key.map(price_list["product"])
    list_price = product_key.map(price_list["sales_price"])

    stage = deals["deal_stage"]
    is_won = stage == WON
    amount = deals["close_value"].where(is_won, list_price.fillna(""))
    export_text = export_date.strftime("%Y-%m-%dT00:00:00Z")
    created_at = _timestamp_text(deals["engage_date"], deals["engage_at"])
    created_at = created_at.where(deals["engage_date"] != "", export_text)
    is_closed = stage.isin(CLOSED_STAGES)

    frame = pd.DataFrame(
        {
            "opportunity_id": deals["opportunity_id"],
            "account_id": deals["account"],
            "name": catalog_name.fillna(deals["product"]),
            "type": "new_business",
            "stage": stage,
            "amount": amount,
            "amount_open": list_price.fillna(""),
            "amount_original": amount,
            "currency": SOURCE_CURRENCY,
            "created_at": created_at,
            "created_at_estimated": (deals["engage_date"] == "").map(
                {True: "true", False: "false"}
            ),
            "close_date": deals["close_date"].where(is_closed, ""),
            "owner": deals["sales_agent"],
            ROW: deals[ROW],
            FILE: str(paths["pipeline"]),
        }
    )
    file_name = paths["pipeline"].name
    notes = [
        *_product_notes(deals, catalog_name, is_won, file_name),
        *_date_notes(deals, export_date, export_source, is_closed, file_name),
        _amount_note(stage, is_won, list_price),
        *_no_account_notes(deals),
    ]
    return RawTable(
        table="opportunities",
        file=str(paths["pipeline"]),
        frame=frame,
        notes=[note for note in notes if note],
        headers=OPPORTUNITY_HEADERS,
    )


def _check_list_prices(products: pd.DataFrame, path: Path) -> None:
    """Raise InputError on the first ``sales_price`` that is not a plain number.

    A list price prices every Lost and open deal of its product, so one bad
    cell would blank the amounts of many deals. An empty price is allowed
    and leaves those amounts empty.
    """
    for row, product, price in zip(
        products[ROW], products["product"], products["sales_price"], strict=True
    ):
        if price == "" or _is_plain_number(price):
            continue
        raise InputError(
            f"{path}, row {row}, column sales_price: invalid list price {price!r} "
            f"for product {product!r}; expected a non-negative number such as "
            "1096 or 550.00. Correct the price, or leave it empty to give the "
            "product's Lost and open deals no amount.",
            file=str(path),
            row=int(row),
            column="sales_price",
            value=price,
        )


def _is_plain_number(text: str) -> bool:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return False
    return number.is_finite() and number >= 0


def _product_key(name: str) -> str:
    """Return a product name without whitespace and case, for matching."""
    return "".join(name.split()).casefold()


def _index_unique(
    frame: pd.DataFrame, key: str, path: Path, keys: pd.Series | None = None
) -> pd.DataFrame:
    """Index ``frame`` by ``keys`` (column ``key`` by default), which must be unique.

    Raises InputError naming the rows when a key repeats.
    """
    keys = frame[key] if keys is None else keys
    repeated = frame[keys.duplicated(keep=False)]
    if not repeated.empty:
        rows = ", ".join(str(row) for row in repeated[ROW])
        raise InputError(
            f"{path}: {key} {repeated[key].iloc[0]!r} appears more than once "
            f"(rows {rows}), so the lookup is ambiguous; keep one row per {key}",
            file=str(path),
            row=int(repeated[ROW].iloc[0]),
            column=key,
            value=repeated[key].iloc[0],
        )
    return frame.set_index(keys, drop=False)


def _product_notes(
    deals: pd.DataFrame, catalog_name: pd.Series, is_won: pd.Series, file_name: str
) -> list[str]:
    notes = []
    renamed = catalog_name.notna() & (catalog_name != deals["product"])
    pairs = pd.DataFrame({"source": deals["product"], "catalog": catalog_name})
    for (source, catalog), count in pairs[renamed].value_counts(sort=False).items():
        notes.append(
            f"Product {source!r} on {_count(count, 'deal')} in {file_name} "
            f"matched {catalog!r} in the price list once spaces and case were "
            "ignored; the deals are named after the price list."
        )

    unmatched = catalog_name.isna()
    if unmatched.any():
        names = ", ".join(
            repr(name) for name in sorted(set(deals["product"][unmatched]))
        )
        unpriced = int((unmatched & ~is_won).sum())
        notes.append(
            f"Products missing from the price list ({names}) on "
            f"{_count(int(unmatched.sum()), 'deal')}; the "
            f"{_count(unpriced, 'Lost or open deal')} among them have no amount."
        )
    return notes


def _date_notes(
    deals: pd.DataFrame,
    export_date: pd.Timestamp,
    export_source: str,
    is_closed: pd.Series,
    file_name: str,
) -> list[str]:
    notes = []
    undated = deals["engage_date"] == ""
    if undated.any():
        notes.append(
            f"No engage_date on {_count(int(undated.sum()), 'deal')} "
            f"({_count_by_stage(deals['deal_stage'][undated])}); their created_at "
            f"is the export date {export_date:%Y-%m-%d}, {export_source} "
            f"{file_name}."
        )
    dropped = ~is_closed & (deals["close_date"] != "")
    if dropped.any():
        notes.append(
            f"Dropped the close_date of {_count(int(dropped.sum()), 'open deal')}, "
            "because the export fills close_date only for Won and Lost deals."
        )
    return notes


def _amount_note(stage: pd.Series, is_won: pd.Series, list_price: pd.Series) -> str:
    priced = ~is_won & list_price.notna()
    if not priced.any():
        return ""
    return (
        f"Amounts: {_count(int(is_won.sum()), 'Won deal')} at close_value, "
        f"{_count(int(priced.sum()), 'other deal')} "
        f"({_count_by_stage(stage[priced])}) at the product list price."
    )


def _no_account_notes(deals: pd.DataFrame) -> list[str]:
    blank = deals["account"] == ""
    if not blank.any():
        return []
    return [
        f"No account on {_count(int(blank.sum()), 'deal')} "
        f"({_count_by_stage(deals['deal_stage'][blank])}); reported under "
        '"No account".'
    ]


def _count(number: int, noun: str) -> str:
    """Return ``number`` with ``noun``, adding an s unless the number is 1."""
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"


def _count_by_stage(stages: pd.Series) -> str:
    counts = stages.value_counts().sort_index()
    return ", ".join(f"{stage}: {count:,}" for stage, count in counts.items())


def _build_stage_history(
    deals: pd.DataFrame, created_at: pd.Series, path: Path
) -> list[RawTable]:
    """Derive the stage history as two tables, split by the column of entered_at.

    Prospecting and Engaging entries are dated from ``engage_date``, or
    the export date, and Won and Lost entries from ``close_date``, so each
    table names its own Maven column in rejection reasons. Stage history
    has no primary key, and :func:`acctlib.intake.canonical.finish` orders
    the entries by deal and time, so the split changes no accepted row.
    """
    stage = deals["deal_stage"]
    engaged = stage.isin(ENGAGED_STAGES)
    closed = stage.isin(CLOSED_STAGES)
    prospecting = stage == PROSPECTING
    engage_text = _timestamp_text(deals["engage_date"], deals["engage_at"])
    close_text = _timestamp_text(deals["close_date"], deals["close_at"])

    # A deal is either prospecting or engaged, so it has one opening entry.
    # It comes before the closing entry of its deal in the tables' order,
    # which finish keeps for entries at the same time.
    opened = pd.concat(
        [
            _history_entries(deals, prospecting, PROSPECTING, created_at),
            _history_entries(deals, engaged, ENGAGING, engage_text),
        ]
    )
    ended = _history_entries(deals, closed, stage, close_text)
    note = (
        f"Stage history derived from {path.name}: Prospecting at created_at "
        f"({_count(int(prospecting.sum()), 'deal')}), Engaging at engage_date "
        f"({_count(int(engaged.sum()), 'deal')}), Won or Lost at close_date "
        f"({_count(int(closed.sum()), 'deal')})."
    )
    parts = [
        (opened, [note], {"entered_at": "engage_date"}),
        (ended, [], {"stage": "deal_stage", "entered_at": "close_date"}),
    ]
    tables = []
    for entries, notes, headers in parts:
        entries = entries.sort_values(ROW, kind="stable")
        entries[FILE] = str(path)
        table = RawTable(
            table="stage_history",
            file=str(path),
            frame=entries.reset_index(drop=True),
            notes=notes,
            headers=headers,
        )
        tables.append(table)
    return tables


def _history_entries(
    deals: pd.DataFrame,
    selected: pd.Series,
    stage: str | pd.Series,
    entered_at: pd.Series,
) -> pd.DataFrame:
    stages = stage[selected] if isinstance(stage, pd.Series) else stage
    return pd.DataFrame(
        {
            "opportunity_id": deals["opportunity_id"][selected],
            "stage": stages,
            "entered_at": entered_at[selected],
            ROW: deals[ROW][selected],
        }
    )


def _build_accounts(
    accounts: pd.DataFrame,
    deals: pd.DataFrame,
    sales_teams: pd.DataFrame,
    export_date: pd.Timestamp,
    label_corrections: Mapping[str, Mapping[str, str]],
    paths: Mapping[str, Path],
) -> RawTable:
    account = accounts["account"]
    owner = account.map(_find_account_owners(deals))
    regions = _index_unique(sales_teams, "sales_agent", paths["sales_teams"])
    first_engaged = deals.groupby("account")["engage_at"].min()
    created = account.map(first_engaged)
    created_at = created.dt.strftime("%Y-%m-%dT00:00:00Z").fillna(
        export_date.strftime("%Y-%m-%dT00:00:00Z")
    )

    frame = pd.DataFrame(
        {
            "account_id": account,
            "name": account,
            "industry": accounts["sector"],
            "country": accounts["office_location"],
            "region": owner.map(regions["regional_office"]).fillna(""),
            "employees": accounts["employees"],
            "annual_revenue": accounts["revenue"].map(_millions_to_units),
            "owner": owner.fillna(""),
            "created_at": created_at,
            "parent_account_id": accounts["subsidiary_of"],
            ROW: accounts[ROW],
            FILE: str(paths["accounts"]),
        }
    )
    frame, notes = _apply_label_corrections(frame, label_corrections)
    notes += _account_notes(frame, deals, created, regions, export_date)
    return RawTable(
        table="accounts",
        file=str(paths["accounts"]),
        frame=frame,
        notes=notes,
        headers=ACCOUNT_HEADERS,
    )


def _find_account_owners(deals: pd.DataFrame) -> pd.Series:
    """Return the sales agent of each account's most recent deal, by account."""
    with_account = deals[deals["account"] != ""]
    ordered = with_account.sort_values(
        ["account", "engage_at", "opportunity_id"], na_position="first", kind="stable"
    )
    latest = ordered.drop_duplicates("account", keep="last")
    return latest.set_index("account")["sales_agent"]


def _millions_to_units(text: str) -> str:
    """Convert a revenue in millions, as text, to text in units.

    Decimal arithmetic keeps ``1100.04`` exact as ``1100040000.00``. Text
    that is not a number is returned unchanged, so intake rejects the row
    and names the cell.
    """
    if text == "":
        return text
    try:
        return format(Decimal(text) * REVENUE_UNIT, "f")
    except InvalidOperation:
        return text


def _apply_label_corrections(
    frame: pd.DataFrame, label_corrections: Mapping[str, Mapping[str, str]]
) -> tuple[pd.DataFrame, list[str]]:
    """Replace misspelt labels as the profile lists them, one note per label."""
    frame = frame.copy()
    notes = []
    for column, replacements in label_corrections.items():
        if column not in CORRECTABLE_COLUMNS:
            raise ParameterError(
                f"label_corrections names column {column!r}; it may correct "
                f"{', '.join(CORRECTABLE_COLUMNS)}"
            )
        for wrong, right in replacements.items():
            matched = frame[column] == str(wrong)
            if matched.any():
                frame.loc[matched, column] = str(right)
                notes.append(
                    f"Corrected {column} {wrong!r} to {right!r} on "
                    f"{_count(int(matched.sum()), 'account')}."
                )
    return frame, notes


def _account_notes(
    frame: pd.DataFrame,
    deals: pd.DataFrame,
    created: pd.Series,
    regions: pd.DataFrame,
    export_date: pd.Timestamp,
) -> list[str]:
    notes = []
    undated = int(created.isna().sum())
    if undated:
        notes.append(
            f"No deal with an engage_date for {_count(undated, 'account')}; "
            f"their created_at is the export date {export_date:%Y-%m-%d}."
        )

    no_owner = int((frame["owner"] == "").sum())
    if no_owner:
        notes.append(f"No deals, so no owner, for {_count(no_owner, 'account')}.")
    unknown_agent = (frame["owner"] != "") & ~frame["owner"].isin(regions.index)
    if unknown_agent.any():
        notes.append(
            "Owner missing from the sales teams file for "
            f"{_count(int(unknown_agent.sum()), 'account')}; region left empty."
        )

    parents = frame["parent_account_id"]
    orphans = (parents != "") & ~parents.isin(frame["account_id"])
    if orphans.any():
        notes.append(
            "Parent (subsidiary_of) missing from the accounts file for "
            f"{_count(int(orphans.sum()), 'account')}."
        )

    agents = deals[deals["account"] != ""].groupby("account")["sales_agent"].nunique()
    if not agents.empty and agents.max() > 1:
        notes.append(
            f"Accounts have deals from {agents.min()} to {agents.max()} sales "
            f"agents (median {agents.median():g}); owner is the agent of the "
            "most recent deal by engage_date."
        )
    return notes
