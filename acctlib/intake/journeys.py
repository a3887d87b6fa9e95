"""Adapter for journey exports: one row per touch, or aggregated paths.

Touch rows (profile ``journeys``)
    One row per touch with a journey id, a timestamp, a channel, a
    conversion flag and, optionally, a conversion value. The profile's
    ``columns`` names the source column of each. Every journey becomes an
    account (``account_id`` and ``name`` are the journey id, ``created_at``
    its first touch). Every touch becomes a touchpoint with the profile's
    ``function`` (marketing by default) and ``touch_type`` ``touch``. Each
    converting row closes a won opportunity: created and closed at the
    conversion, ``amount`` the row's value or the profile's
    ``default_value``. The journey is split at each conversion by the
    ``next`` assignment of attribution, because touches after one
    conversion belong to the next. A journey's touches after its last
    conversion, or all of them when it never converts, form one lost
    opportunity of amount 0 closed at its last touch, which data-driven
    models read as a journey that did not convert.

Aggregated paths (profile ``paths``)
    One row per path with the channel sequence joined by a separator and
    the number of journeys that converted and that did not, plus their
    value. Paths carry no dates, accounts or deals, so they cannot become
    canonical tables; :func:`load_paths` reads them for the path-level
    models (Markov removal effects and first, last and linear touch).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from acctlib import schema
from acctlib.errors import InputError
from acctlib.intake.canonical import ROW, RawTable, column_label
from acctlib.intake.files import SUFFIXES, InputFile, read_text_frame, sha256_file

TOUCH_FIELDS = ("journey_id", "occurred_at", "channel", "converted")
PATH_FIELDS = ("path", "conversions", "value", "nulls")
# The numeric fields of a path row and the dtype each is read as.
PATH_NUMBER_DTYPES = {"conversions": "int64", "nulls": "int64", "value": "float64"}
WON_STAGE = "Closed Won"
LOST_STAGE = "Closed Lost"
_TRUE = {"1", "true", "yes", "y", "t"}
# The touch-row field each canonical column is copied from, per table, so
# that rejection reasons name the export's column that the profile maps
# onto the field. An opportunity's amount is the value field or, where
# that is blank, the profile's default_value.
SOURCE_FIELDS = {
    "accounts": {
        "account_id": "journey_id",
        "name": "journey_id",
        "created_at": "occurred_at",
    },
    "opportunities": {"account_id": "journey_id", "amount": "value"},
    "touchpoints": {
        "account_id": "journey_id",
        "occurred_at": "occurred_at",
        "channel": "channel",
    },
}


def _first_existing(data_dir: Path, names: str | list[str]) -> Path:
    """Return the first of ``names`` present in ``data_dir``, else the first."""
    candidates = [names] if isinstance(names, str) else list(names)
    for name in candidates:
        if (data_dir / name).is_file():
            return data_dir / name
    return data_dir / candidates[0]


def read_source(
    data_dir: Path, profile: dict[str, Any], params: Any
) -> tuple[list[RawTable], list[InputFile]]:
    """Read a touch-row journey file into accounts, touchpoints and deals."""
    if profile.get("format") == "paths":
        raise InputError(
            "aggregated paths have no dates, accounts or deals, so they cannot "
            "build a report; read them with acctlib.intake.journeys.load_paths "
            "for path-level attribution, or export one row per touch",
            file=str(data_dir),
        )
    path = _first_existing(data_dir, profile["files"]["journeys"])
    raw = read_text_frame(path, sep=profile.get("separator", ","), row_column=ROW)
    rows = _rename_columns(raw, profile["columns"], TOUCH_FIELDS, path)
    tables = build_journey_tables(
        rows,
        default_value=str(profile.get("default_value", "1")),
        function=str(profile.get("function", "marketing")),
    )
    unread = _describe_unread_files(data_dir, path, profile)
    raw_tables = [
        RawTable(
            table=name,
            file=str(path),
            frame=frame,
            headers=_source_headers(name, profile["columns"]),
            # One table carries the note, so the run lists it once.
            notes=unread if name == "touchpoints" else [],
        )
        for name, frame in tables.items()
    ]
    inputs = [
        InputFile(
            table="touchpoints", path=str(path), sha256=sha256_file(path), rows=len(raw)
        )
    ]
    return raw_tables, inputs


def _describe_unread_files(
    data_dir: Path, path: Path, profile: Mapping[str, Any]
) -> list[str]:
    """Return a note naming the data files in ``data_dir`` other than ``path``.

    The adapter reads one journey file, the first of the profile's
    ``files: journeys`` that exists. A second export in the same folder,
    such as a variant of the same journeys, would otherwise be left out
    without a word. Files whose suffix is not one of
    :data:`~acctlib.intake.files.SUFFIXES`, such as a README, are not data
    and are not named.
    """
    unread = sorted(
        candidate.name
        for candidate in data_dir.iterdir()
        if candidate.is_file()
        and candidate.suffix.lower() in SUFFIXES
        and candidate.name != path.name
    )
    if not unread:
        return []
    names = profile["files"]["journeys"]
    names = [names] if isinstance(names, str) else list(names)
    verb = "is" if len(unread) == 1 else "are"
    return [
        f"{path.name} is read and {', '.join(unread)} in the same folder {verb} "
        f"not: the {profile.get('name', 'journeys')} profile reads one journey "
        f"file, the first of {', '.join(names)} that exists, because two "
        "exports of the same journeys would count every touch twice. To read "
        "another file instead, list it first under files: journeys in a copy "
        "of the profile and set the profile parameter to that copy's path."
    ]


def _source_headers(table: str, columns: Mapping[str, str]) -> dict[str, str]:
    """Return the export's header of each canonical column of ``table``.

    ``columns`` is the profile's map of touch-row fields onto headers.
    """
    return {
        canonical: columns[field]
        for canonical, field in SOURCE_FIELDS[table].items()
        if columns.get(field)
    }


def _rename_columns(
    raw: pd.DataFrame, columns: Mapping[str, str], required: tuple[str, ...], path
) -> pd.DataFrame:
    """Return the mapped columns of ``raw`` and ``_row``.

    ``_row`` is taken from ``raw`` when it has one, and else numbers the
    rows from 1.
    """
    renames = {source: field for field, source in columns.items() if source}
    found = [column for column in raw.columns if column != ROW]
    missing = [
        f"{field} ({columns.get(field)!r})"
        for field in required
        if columns.get(field) not in found
    ]
    if missing:
        raise InputError(
            f"{path} lacks the column(s) the profile maps to {', '.join(missing)}; "
            f"its columns are {', '.join(found)}; fix the profile's columns",
            file=str(path),
        )
    rows = raw[ROW] if ROW in raw.columns else range(1, len(raw) + 1)
    return raw.rename(columns=renames)[[*renames.values()]].assign(**{ROW: rows})


def _path_number_error(
    rows: pd.DataFrame, path: Path, columns: Mapping[str, str], error: ValueError
) -> InputError:
    """Return the error for the first path row whose number does not convert.

    ``error`` is the conversion's own error, used when no single cell fails.
    """
    for field, dtype in PATH_NUMBER_DTYPES.items():
        for row, text in zip(rows[ROW], rows[field], strict=True):
            try:
                pd.Series([text]).astype(dtype)
            except ValueError:
                label = column_label(field, {field: columns[field]})
                expected = "a whole number" if dtype == "int64" else "a number"
                return InputError(
                    f"{path}, row {row}: {label} is {text!r}, but it must be "
                    f"{expected}; fix the cell, or map {field} onto another "
                    "column in the profile's columns",
                    file=str(path),
                    row=int(row),
                    column=columns[field],
                    value=text,
                )
    return InputError(
        f"{path}: conversions and nulls must be whole numbers and value a "
        f"number ({error})",
        file=str(path),
    )


def build_journey_tables(
    rows: pd.DataFrame, *, default_value: str = "1", function: str = "marketing"
) -> dict[str, pd.DataFrame]:
    """Turn touch rows into text cells of accounts, touchpoints and opportunities.

    ``rows`` has ``journey_id``, ``occurred_at`` (ISO 8601 text, UTC when
    no offset), ``channel``, ``converted`` (1/0, true/false, yes/no) and
    optionally ``value`` (report currency), plus ``_row``. Returns frames
    keyed by canonical table name; intake parses and validates them.
    """
    frame = rows.copy()
    # A timestamp that does not parse stays as text in its touchpoint, which
    # intake then rejects with the row and value. It starts or ends no deal.
    frame["_time"] = pd.to_datetime(
        frame["occurred_at"], utc=True, format="ISO8601", errors="coerce"
    )
    frame["_converted"] = frame["converted"].str.strip().str.lower().isin(_TRUE)
    frame = frame.sort_values(["journey_id", "_time", ROW]).reset_index(drop=True)
    if "value" not in frame.columns:
        frame["value"] = ""
    frame["value"] = frame["value"].where(
        frame["value"].str.strip() != "", default_value
    )

    touchpoints = pd.DataFrame(
        {
            "touch_id": frame["journey_id"] + "-" + frame[ROW].astype(str),
            "account_id": frame["journey_id"],
            "occurred_at": frame["occurred_at"],
            "channel": frame["channel"],
            "function": function,
            "touch_type": "touch",
            ROW: frame[ROW],
        }
    )
    firsts = frame.groupby("journey_id", as_index=False).first()
    accounts = pd.DataFrame(
        {
            "account_id": firsts["journey_id"],
            "name": firsts["journey_id"],
            "created_at": firsts["occurred_at"],
            ROW: firsts[ROW],
        }
    )
    tables = {
        "accounts": accounts,
        "opportunities": _build_opportunities(frame),
        "touchpoints": touchpoints,
    }
    return {name: _add_blank_columns(name, table) for name, table in tables.items()}


def _add_blank_columns(name: str, table: pd.DataFrame) -> pd.DataFrame:
    """Add the canonical columns a journey export has no data for, empty."""
    blanks = {
        column.name: ""
        for column in schema.TABLES[name].columns
        if column.required and column.name not in table.columns
    }
    return table.assign(**blanks)


def _build_opportunities(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[frame["_time"].notna()]
    won = frame[frame["_converted"]].copy()
    won["number"] = won.groupby("journey_id").cumcount() + 1
    won_rows = pd.DataFrame(
        {
            "opportunity_id": won["journey_id"] + "-" + won["number"].astype(str),
            "account_id": won["journey_id"],
            "type": "new_business",
            "stage": WON_STAGE,
            "stage_category": "won",
            "amount": won["value"],
            "created_at": won["occurred_at"],
            "close_date": won["_time"].dt.strftime("%Y-%m-%d"),
            ROW: won[ROW],
        }
    )
    last_conversion = won.groupby("journey_id")["_time"].max()
    last = frame["journey_id"].map(last_conversion)
    after = last.isna() | (frame["_time"] > last)
    rest = frame[after & ~frame["_converted"]].groupby("journey_id").last()
    rest = rest.reset_index()
    lost_rows = pd.DataFrame(
        {
            "opportunity_id": rest["journey_id"] + "-open-end",
            "account_id": rest["journey_id"],
            "type": "new_business",
            "stage": LOST_STAGE,
            "stage_category": "lost",
            "amount": "0",
            "created_at": rest["occurred_at"],
            "close_date": rest["_time"].dt.strftime("%Y-%m-%d"),
            ROW: rest[ROW],
        }
    )
    return pd.concat([won_rows, lost_rows], ignore_index=True)


def load_paths(path: Path, profile: Mapping[str, Any]) -> pd.DataFrame:
    """Read an aggregated path file, grouping repeated paths.

    Returns ``path`` (the text as written), ``channels`` (list of channel
    names), ``conversions``, ``nulls`` (int) and ``value`` (float), one row
    per distinct path, sorted by path.
    """
    raw = read_text_frame(path, sep=profile.get("separator", ";"), row_column=ROW)
    rows = _rename_columns(raw, profile["columns"], PATH_FIELDS, path)
    try:
        rows = rows.astype(PATH_NUMBER_DTYPES)
    except ValueError as error:
        raise _path_number_error(rows, path, profile["columns"], error) from error
    rows = rows.drop(columns=[ROW])
    grouped = rows.groupby("path", as_index=False)[["conversions", "nulls", "value"]]
    result = grouped.sum()
    separator = profile.get("path_separator", " > ")
    result["channels"] = [
        [channel.strip() for channel in text.split(separator)]
        for text in result["path"]
    ]
    return result[["path", "channels", "conversions", "nulls", "value"]]
