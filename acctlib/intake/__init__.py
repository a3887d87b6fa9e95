"""Intake: read a data source into validated canonical tables.

:func:`load_source` reads the files a source profile names, parses and
validates every table, keeps rejected rows with their reasons, and returns
an :class:`Intake` with the accepted tables and the fingerprints of every
input file.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from acctlib import schema
from acctlib.errors import InputError, ParameterError
from acctlib.intake.bulk import BulkRawTable, validate_bulk_table
from acctlib.intake.bulktable import BulkTable
from acctlib.intake.canonical import (
    FILE,
    ROW,
    RawTable,
    canonicalize,
    check_references,
    column_parser_options,
    finish,
    reject_history_of_rejected_deals,
    reject_undated_closed,
)
from acctlib.intake.currency import (
    CANONICAL_RATES_FILE,
    blank_contradicting_marks,
    convert_amounts,
    count_basis,
    load_rates,
)
from acctlib.intake.files import InputFile, find_table_file, sha256_file
from acctlib.intake.mapped import PROFILE_PATH
from acctlib.intake.profiles import check_profile_keys
from acctlib.intake.quality import check_opportunities, merge_duplicate_accounts
from acctlib.intake.quarantine import ROW_REJECTED, Quarantine
from acctlib.intake.stagelint import lint_stage_map
from acctlib.labels import table_in_words
from acctlib.lookup import is_in
from acctlib.params import PROJECT_ROOT, Params

logger = logging.getLogger(__name__)

PROFILES_DIR = PROJECT_ROOT / "params" / "profiles"


@dataclass
class Intake:
    """Result of reading a source: canonical tables, rejected rows, inputs.

    ``extras`` contains the audit tables of intake: ``account_merges``
    (:mod:`acctlib.intake.dedupe`), ``stage_lint``
    (:mod:`acctlib.intake.stagelint`), ``quality_findings``
    (:mod:`acctlib.intake.quality`) and, for HubSpot, ``deal_companies``
    (deals linked to several companies) and ``unmapped_stage_ids`` (stage
    IDs in stage-date columns that the stage map does not name). A table
    read by bulk intake (:mod:`acctlib.intake.bulk`) is a :class:`BulkTable`
    kept in DuckDB, not a pandas frame. ``received`` counts the rows handed
    to validation per table, and ``merged`` the accounts merged into another.
    ``opportunity_options`` maps each opportunities file to the parser
    options of its columns, so that rejected rows can be read as intake
    read the accepted ones. ``column_sources`` is the profile's mapping of
    table to column to where the source's value comes from.
    """

    tables: dict[str, pd.DataFrame | BulkTable]
    quarantine: Quarantine
    inputs: list[InputFile]
    notes: list[str] = field(default_factory=list)
    profile: str = "canonical"
    stage_map: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, pd.DataFrame] = field(default_factory=dict)
    received: dict[str, int] = field(default_factory=dict)
    merged: dict[str, int] = field(default_factory=dict)
    currency_basis: dict[str, Any] = field(default_factory=dict)
    opportunity_options: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=dict
    )
    column_sources: dict[str, dict[str, str]] = field(default_factory=dict)

    def params_in_effect(self, params: Params) -> dict[str, Any]:
        """Return ``params`` in JSON form with the stage map this intake used.

        A source profile's own stage map replaces the ``stage_map`` parameter
        when the run left it at its default. Manifests and report footers
        record the map in effect, so that ``acctlib verify`` rebuilds the run
        with it and the footer shows it.
        """
        return {**params.to_json(), "stage_map": dict(self.stage_map)}

    def counts(self) -> pd.DataFrame:
        """Return rows read, accepted, rejected and merged per table.

        Accepted, rejected and merged rows add up to the rows read wherever
        :meth:`reconciliation` marks the table reconciled.
        """
        return self.reconciliation()[
            ["table", "read", "accepted", "rejected", "merged"]
        ]

    def reconciliation(self) -> pd.DataFrame:
        """Return rows read, accepted, rejected and merged per table.

        ``read`` is the number of rows handed to validation (for tables an
        adapter derives, such as stage history from deal columns, the rows
        it derived). ``reconciled`` is True when read equals accepted plus
        rejected plus merged. ``cells_blanked`` counts cells of optional
        columns blanked in accepted rows, outside that sum.
        """
        rows = []
        for name in schema.TABLES:
            read = self.received.get(
                name, sum(item.rows for item in self.inputs if item.table == name)
            )
            if name not in self.tables and read == 0:
                continue
            accepted = len(self.tables.get(name, ()))
            rejected = self.quarantine.count(name)
            merged = self.merged.get(name, 0)
            rows.append(
                {
                    "table": name,
                    "read": read,
                    "accepted": accepted,
                    "rejected": rejected,
                    "merged": merged,
                    "cells_blanked": self.quarantine.count_blanked(name),
                    "reconciled": read == accepted + rejected + merged,
                }
            )
        return pd.DataFrame(
            rows,
            columns=[
                "table",
                "read",
                "accepted",
                "rejected",
                "merged",
                "cells_blanked",
                "reconciled",
            ],
        )


def load_profile(name_or_path: str) -> dict[str, Any]:
    """Read a source profile by name (``params/profiles/NAME.yaml``) or path.

    Raises ParameterError for a key that the profile's adapter does not read.
    """
    candidate = Path(name_or_path)
    if candidate.suffix not in (".yaml", ".yml"):
        candidate = PROFILES_DIR / f"{name_or_path}.yaml"
    if not candidate.is_file():
        known = sorted(path.stem for path in PROFILES_DIR.glob("*.yaml"))
        raise ParameterError(
            f"source profile {name_or_path!r} not found at {candidate}; "
            f"known profiles: {', '.join(known)}"
        )
    profile = yaml.safe_load(candidate.read_text(encoding="utf-8")) or {}
    check_profile_keys(profile, str(candidate))
    profile.setdefault("name", candidate.stem)
    profile[PROFILE_PATH] = str(candidate)
    return profile


MISSING_TABLE_NOTE = "No {} table in the source; figures that need it are left out."
MISSING_TABLE_NOTES = {
    "stage_history": (
        "No {} table in the source: stage durations, conversion and stalled "
        "opportunities are left out."
    ),
    "touchpoints": (
        "No {} table in the source: attribution is omitted, and engagement, "
        "marketing touches, expansion-ready flags and sales and marketing "
        "coverage are left out."
    ),
}
"""Run notes for an optional table the source lacks, by table name."""


def load_source(params: Params) -> Intake:
    """Read the source named by ``params['profile']`` from ``params['data_dir']``."""
    profile = load_profile(str(params["profile"]))
    stage_map = _stage_map(params, profile)
    data_dir = Path(params["data_dir"])
    if not data_dir.is_dir():
        where = "" if data_dir.is_absolute() else f" (from {Path.cwd()})"
        # The bundled sample is generated, not committed, so name the command.
        generate = (
            f" To write the bundled sample there, run 'acctlib sample --out "
            f"{data_dir}' or 'make sample'."
            if data_dir.name == "sample"
            else ""
        )
        raise InputError(
            f"data folder {data_dir} not found{where}; set data_dir to the folder "
            f"holding the {profile['name']} export files. A relative data_dir is "
            f"read from the folder the command runs in.{generate}",
            file=str(data_dir),
        )
    adapter = importlib.import_module(
        f"acctlib.intake.{profile.get('adapter', 'canonical_files')}"
    )
    # An adapter returns its raw tables, the input fingerprints and,
    # optionally, audit tables of its own (such as deal_companies). It reads
    # the stage map in effect from the profile, to translate stage IDs.
    profile = {**profile, "stage_map": stage_map}
    raw_tables, inputs, *rest = adapter.read_source(data_dir, profile, params)
    extras = rest[0] if rest else {}
    rates_path = _rates_path(data_dir, profile)
    rates = None
    if rates_path:
        rates = load_rates(rates_path)
        # The rates change the figures, so the manifest fingerprints them
        # and acctlib verify notices when they change.
        digest = sha256_file(rates_path)
        inputs = [*inputs, InputFile("rates", str(rates_path), digest, len(rates))]
    intake = assemble(
        raw_tables,
        inputs,
        stage_map,
        profile=profile["name"],
        report_currency=str(params["report_currency"]),
        rates=rates,
        merge_accounts=bool(params["merge_duplicate_accounts"]),
        extras=extras,
        converted_amount_column=_maps_amount_column(profile),
        canonical_layout=_is_canonical_layout(profile),
    )
    intake.column_sources = {
        table: {column: " ".join(str(text).split()) for column, text in columns.items()}
        for table, columns in (profile.get("column_sources") or {}).items()
    }
    return intake


def _is_canonical_layout(profile: Mapping[str, Any]) -> bool:
    return profile.get("adapter", "canonical_files") == "canonical_files"


def _rates_path(data_dir: Path, profile: Mapping[str, Any]) -> Path | None:
    """Return the rates table of the source, or None when it has none.

    A profile's ``rates_file`` is relative to the data folder and must
    exist. The canonical layout reads ``rates.csv`` (or ``.parquet``,
    ``.xlsx``) from the data folder when it is there.
    """
    rates_file = profile.get("rates_file")
    if rates_file:
        return data_dir / rates_file
    if _is_canonical_layout(profile):
        stem = Path(CANONICAL_RATES_FILE).stem
        return find_table_file(data_dir, stem)
    return None


def _maps_amount_column(profile: Mapping[str, Any]) -> bool:
    """Tell whether the profile maps an export column onto ``amount``.

    Profiles map the export's converted column there, as the Salesforce
    and HubSpot profiles do. The canonical layout and adapters that compute
    ``amount`` map none.
    """
    for key, spec in (profile.get("tables") or {}).items():
        table = str(spec.get("table", key))
        if table == "opportunities" and "amount" in (spec.get("columns") or {}):
            return True
    return False


def _stage_map(params: Params, profile: Mapping[str, Any]) -> dict[str, Any]:
    """Use the profile's stage map unless the run set stage_map itself."""
    if "stage_map" in profile and params.sources.get("stage_map") == "default":
        return dict(profile["stage_map"])
    return dict(params["stage_map"])


def assemble(
    raw_tables: list[RawTable],
    inputs: list[InputFile],
    stage_map: Mapping[str, Any],
    *,
    profile: str = "canonical",
    report_currency: str = "USD",
    rates: pd.DataFrame | None = None,
    merge_accounts: bool = True,
    extras: Mapping[str, pd.DataFrame] | None = None,
    converted_amount_column: bool = False,
    canonical_layout: bool = False,
) -> Intake:
    """Validate raw tables into an Intake; required tables must be present.

    The steps: parse and validate every table, convert amounts into
    ``report_currency``, merge duplicate accounts (when ``merge_accounts``),
    reject rows whose references point nowhere, then lint the stage map and
    check the opportunities for data-quality findings.
    ``converted_amount_column`` is True when the supplied ``amount`` is an
    export's converted column, which sets the currency basis it counts under.
    ``canonical_layout`` only changes how currency errors say to supply a
    rates table.
    """
    quarantine = Quarantine()
    tables: dict[str, pd.DataFrame] = {}
    received: dict[str, int] = {}
    table_files: dict[str, list[str]] = {}
    opportunity_file = "opportunities"
    bulk_tables = [raw for raw in raw_tables if isinstance(raw, BulkRawTable)]
    for raw in raw_tables:
        if isinstance(raw, BulkRawTable):
            continue
        logger.info(
            "validating %s from %s (%d rows)", raw.table, raw.file, len(raw.frame)
        )
        frame = canonicalize(raw, quarantine, stage_map, report_currency)
        received[raw.table] = received.get(raw.table, 0) + len(raw.frame)
        if raw.table in tables:
            frame = pd.concat([tables[raw.table], frame], ignore_index=True)
        tables[raw.table] = frame
        table_files.setdefault(raw.table, []).append(raw.file)
        if raw.table == "opportunities":
            opportunity_file = raw.file
    # Parsing adds notes to the raw tables, so they are collected after it.
    notes = [note for raw in raw_tables for note in raw.notes]
    present = set(tables) | {raw.table for raw in bulk_tables}
    for name, spec in schema.TABLES.items():
        if name not in present and not spec.optional:
            raise InputError(
                f"required table {name} is missing from the source; provide "
                f"{name}.csv (or .parquet, .xlsx) with columns "
                f"{', '.join(c.name for c in spec.columns if c.required)}"
            )
        if not spec.optional and received.get(name) == 0:
            # Without rows of a required table every later step works on
            # empty frames, and the build would fail only inside a notebook.
            raise InputError(
                f"required table {name} has a header row but no data rows in "
                f"{', '.join(table_files[name])}; export it again with its data rows",
                file=table_files[name][0],
            )
        if name not in present:
            note = MISSING_TABLE_NOTES.get(name, MISSING_TABLE_NOTE)
            notes.append(note.format(table_in_words(name)))

    # Checked before bulk tables are read, because every row of a bulk table
    # would be rejected against accounts that are all rejected.
    _check_required_rows(tables, received, table_files, quarantine)

    # Bulk tables are checked against the accounts before duplicate accounts
    # merge, so the merge re-points their references as it does for others.
    for raw in bulk_tables:
        tables[raw.table] = validate_bulk_table(raw, tables, quarantine)
        table_files.setdefault(raw.table, []).append(raw.file)
        received[raw.table] = sum(i.rows for i in inputs if i.table == raw.table)

    headers = {(raw.table, raw.file): raw.headers for raw in raw_tables}
    tables["opportunities"] = blank_contradicting_marks(
        tables["opportunities"], report_currency, quarantine, headers
    )
    tables["opportunities"], row_basis = convert_amounts(
        tables["opportunities"],
        report_currency,
        rates,
        opportunity_file,
        converted_column=converted_amount_column,
        canonical_layout=canonical_layout,
        blanked=_blanked_mask(tables["opportunities"], quarantine, "amount"),
    )
    row_basis.index = tables["opportunities"]["opportunity_id"]
    all_extras = dict(extras or {})
    merged: dict[str, int] = {}
    if merge_accounts:
        tables, audit = merge_duplicate_accounts(tables)
        merged["accounts"] = int((audit["action"] == "merged").sum())
        all_extras["account_merges"] = audit
        _repoint_deal_companies(all_extras, audit)
    tables = check_references(tables, quarantine, headers)
    tables = reject_undated_closed(tables, quarantine, stage_map, headers)
    tables = reject_history_of_rejected_deals(tables, quarantine)
    _drop_rejected_deal_links(all_extras, tables["opportunities"])
    # Counted once the references are checked, so rejected deals do not count.
    accepted = is_in(row_basis.index, tables["opportunities"]["opportunity_id"])
    basis = count_basis(row_basis[accepted])
    _check_required_rows(tables, received, table_files, quarantine)
    all_extras["stage_lint"] = lint_stage_map(
        stage_map,
        pd.concat(
            [raw.frame["stage"] for raw in raw_tables if raw.table == "opportunities"]
        ),
        tables.get("stage_history"),
        all_extras.get("unmapped_stage_ids"),
    )
    findings = check_opportunities(
        tables["opportunities"],
        all_extras,
        tables.get("stage_history"),
        report_currency=report_currency,
        rates=rates,
    )
    all_extras["quality_findings"] = findings
    notes += [message for message in findings["message"]]
    tables = {name: finish(frame, name) for name, frame in tables.items()}
    # An optional table without rows counts as absent, because the sections
    # that need it expect rows once the table exists.
    for name in [name for name, frame in tables.items() if len(frame) == 0]:
        if not schema.TABLES[name].optional:
            continue
        del tables[name]
        if received.get(name, 0) > 0:
            notes.append(
                f"Every row of the {table_in_words(name)} table was rejected (see "
                "rejected_rows.csv); figures that need it are left out."
            )
        else:
            # Notes appear on report pages, so they name files without folders.
            files = ", ".join(Path(file).name for file in table_files[name])
            notes.append(
                f"The {table_in_words(name)} table from {files} has no data rows; "
                "figures that need it are left out."
            )
    intake = Intake(
        tables=tables,
        quarantine=quarantine,
        inputs=inputs,
        notes=notes,
        profile=profile,
        stage_map=dict(stage_map),
        extras=all_extras,
        received=received,
        merged=merged,
        currency_basis={"report_currency": report_currency, **basis},
        opportunity_options=_opportunity_options(raw_tables),
    )
    intake.notes += describe_unreconciled(intake.reconciliation())
    return intake


def describe_unreconciled(counts: pd.DataFrame) -> list[str]:
    """Return one warning per table whose row counts do not reconcile.

    ``counts`` is :meth:`Intake.reconciliation`. Such a table has rows that
    intake neither accepted nor listed in ``rejected_rows.csv``, or rows
    counted twice, so figures from it may be incomplete.
    """
    notes = []
    for row in counts[~counts["reconciled"]].itertuples():
        gap = row.read - (row.accepted + row.rejected + row.merged)
        if gap > 0:
            mismatch = f"{gap:,} {'row was' if gap == 1 else 'rows were'} neither"
            mismatch += " accepted, rejected nor merged"
        else:
            mismatch = f"{-gap:,} more {'row was' if gap == -1 else 'rows were'}"
            mismatch += " counted than read"
        notes.append(
            f"The row counts of the {table_in_words(row.table)} table do not "
            f"reconcile: {row.read:,} read, {row.accepted:,} accepted, "
            f"{row.rejected:,} rejected and {row.merged:,} merged, so {mismatch}. "
            "Figures from that table may be incomplete. This is a defect of "
            "acctlib: report it with the input file, and see `acctlib check` "
            "for the counts."
        )
    return notes


def _opportunity_options(
    raw_tables: list[RawTable],
) -> dict[str, dict[str, dict[str, Any]]]:
    """Return the parser options of every opportunities column, by file."""
    spec = schema.TABLES["opportunities"]
    options: dict[str, dict[str, dict[str, Any]]] = {}
    for raw in raw_tables:
        if raw.table != "opportunities" or isinstance(raw, BulkRawTable):
            continue
        columns = {
            column.name: column_parser_options(raw, column) for column in spec.columns
        }
        for file in {raw.file, *raw.frame[FILE].astype("str")}:
            options[file] = columns
    return options


def _blanked_mask(
    frame: pd.DataFrame, quarantine: Quarantine, column: str
) -> pd.Series:
    """Mark the rows of opportunities ``frame`` whose ``column`` cell was blanked.

    The cell had text in the file that intake could not use, so it differs
    from a cell that was empty.
    """
    cells = quarantine.blanked_cells("opportunities", column)
    if not cells:
        return pd.Series(False, index=frame.index, dtype="bool")
    keys = pd.MultiIndex.from_arrays(
        [frame[FILE].astype("str"), frame[ROW].astype("int64")]
    )
    return pd.Series(keys.isin(list(cells)), index=frame.index, dtype="bool")


def _check_required_rows(
    tables: Mapping[str, pd.DataFrame | BulkTable],
    received: Mapping[str, int],
    table_files: Mapping[str, list[str]],
    quarantine: Quarantine,
) -> None:
    """Raise when every row of a required table was rejected.

    Without rows of a required table the build would fail later, inside
    prepare or a notebook. Intake stops before ``rejected_rows.csv`` is
    written, so the message gives the most common reasons and, for each,
    its first rejected row.
    """
    for name, spec in schema.TABLES.items():
        if spec.optional or name not in tables or len(tables[name]) > 0:
            continue
        if received.get(name, 0) == 0:
            continue
        rejected = quarantine.to_frame()
        rejected = rejected[
            (rejected["table"] == name) & (rejected["action"] == ROW_REJECTED)
        ].drop_duplicates(["file", "row"])
        # Ties keep the order of their first row.
        counts = rejected.groupby("reason", sort=False).size()
        counts = counts.sort_values(ascending=False, kind="stable")
        if counts.empty:
            continue
        first = rejected[rejected["reason"] == counts.index[0]].iloc[0]
        raise InputError(
            f"every row of required table {name} was rejected ({len(rejected)} "
            f"of {received[name]} rows in {', '.join(table_files[name])}), so "
            f"no report can be built. {_describe_reasons(rejected, counts)} "
            "Correct those cells (or the rows they point at), then run "
            "`acctlib check` again: it lists the rejected rows that remain, and "
            "`--rejected FILE` writes all of them.",
            file=str(first["file"]),
            row=int(first["row"]),
            column=str(first["column"]),
            value=first["value"],
        )


def _describe_reasons(rejected: pd.DataFrame, counts: pd.Series, limit: int = 3) -> str:
    """Describe the ``limit`` most common reasons, each with its first row."""
    several_files = rejected["file"].nunique() > 1
    parts = []
    for reason, rows in counts.head(limit).items():
        first = rejected[rejected["reason"] == reason].iloc[0]
        where = f"{first['file']} row" if several_files else "row"
        parts.append(
            f'"{reason}" on {rows} {"row" if rows == 1 else "rows"}, first on '
            f"{where} {first['row']}, column {first['column']}, "
            f"value {first['value']!r}"
        )
    others = len(counts) - limit
    more = f", and {others} other reasons" if others > 0 else ""
    return f"Most common reasons: {'; '.join(parts)}{more}."


def _drop_rejected_deal_links(
    extras: dict[str, pd.DataFrame], opportunities: pd.DataFrame
) -> None:
    """Keep only the deal-company links of accepted opportunity rows.

    An adapter builds the links from every row of its deals file, before
    intake rejects any. Without this step a rejected duplicate row would
    credit its deal a second time. Links without ``_file`` and ``_row``
    columns are left as they are.
    """
    links = extras.get("deal_companies")
    if links is None or not {FILE, ROW} <= set(links.columns):
        return
    accepted = pd.MultiIndex.from_arrays(
        [opportunities[FILE].astype("str"), opportunities[ROW].astype("int64")]
    )
    keys = pd.MultiIndex.from_arrays(
        [links[FILE].astype("str"), links[ROW].astype("int64")]
    )
    accepted_links = links[keys.isin(accepted)].drop(columns=[FILE, ROW])
    extras["deal_companies"] = accepted_links.reset_index(drop=True)


def _repoint_deal_companies(
    extras: dict[str, pd.DataFrame], audit: pd.DataFrame
) -> None:
    """Point deal-company links at the surviving account of each merge."""
    links = extras.get("deal_companies")
    merges = audit[audit["action"] == "merged"]
    if links is None or merges.empty:
        return
    survivors = dict(zip(merges["account_id"], merges["into_account_id"], strict=True))
    links = links.assign(account_id=links["account_id"].replace(survivors))
    extras["deal_companies"] = links
