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
from acctlib.intake.canonical import RawTable, canonicalize, check_references, finish
from acctlib.intake.files import InputFile
from acctlib.intake.quarantine import Quarantine
from acctlib.params import PROJECT_ROOT, Params

logger = logging.getLogger(__name__)

PROFILES_DIR = PROJECT_ROOT / "params" / "profiles"


@dataclass
class Intake:
    """Result of reading a source: canonical tables, rejected rows, inputs."""

    tables: dict[str, pd.DataFrame]
    quarantine: Quarantine
    inputs: list[InputFile]
    notes: list[str] = field(default_factory=list)
    profile: str = "canonical"
    stage_map: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> pd.DataFrame:
        """Return rows read, accepted and rejected per table."""
        rows = []
        for name in schema.TABLES:
            read = sum(item.rows for item in self.inputs if item.table == name)
            if name not in self.tables and read == 0:
                continue
            accepted = len(self.tables.get(name, ()))
            rows.append(
                {
                    "table": name,
                    "read": read,
                    "accepted": accepted,
                    "rejected": self.quarantine.count(name),
                }
            )
        return pd.DataFrame(rows, columns=["table", "read", "accepted", "rejected"])


def load_profile(name_or_path: str) -> dict[str, Any]:
    """Read a source profile by name (``params/profiles/NAME.yaml``) or path."""
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
    profile.setdefault("name", candidate.stem)
    return profile


def load_source(params: Params) -> Intake:
    """Read the source named by ``params['profile']`` from ``params['data_dir']``."""
    profile = load_profile(str(params["profile"]))
    stage_map = _stage_map(params, profile)
    data_dir = Path(params["data_dir"])
    if not data_dir.is_dir():
        raise InputError(
            f"data folder {data_dir} not found; set data_dir to the folder holding "
            f"the {profile['name']} export files",
            file=str(data_dir),
        )
    adapter = importlib.import_module(
        f"acctlib.intake.{profile.get('adapter', 'canonical_files')}"
    )
    raw_tables, inputs = adapter.read_source(data_dir, profile, params)
    return assemble(raw_tables, inputs, stage_map, profile=profile["name"])


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
) -> Intake:
    """Validate raw tables into an Intake; required tables must be present."""
    quarantine = Quarantine()
    notes = [note for raw in raw_tables for note in raw.notes]
    tables = {}
    bulk_tables = [raw for raw in raw_tables if isinstance(raw, BulkRawTable)]
    for raw in raw_tables:
        if isinstance(raw, BulkRawTable):
            continue
        logger.info(
            "validating %s from %s (%d rows)", raw.table, raw.file, len(raw.frame)
        )
        tables[raw.table] = canonicalize(raw, quarantine, stage_map)
    present = set(tables) | {raw.table for raw in bulk_tables}
    for name, spec in schema.TABLES.items():
        if name not in present and not spec.optional:
            raise InputError(
                f"required table {name} is missing from the source; provide "
                f"{name}.csv (or .parquet, .xlsx) with columns "
                f"{', '.join(c.name for c in spec.columns if c.required)}"
            )
        if name not in present:
            notes.append(
                f"No {name} table in the source; sections that need it are omitted."
            )
    tables = check_references(tables, quarantine)
    for raw in bulk_tables:
        tables[raw.table] = validate_bulk_table(raw, tables, quarantine)
    tables = {name: finish(frame, name) for name, frame in tables.items()}
    return Intake(
        tables=tables,
        quarantine=quarantine,
        inputs=inputs,
        notes=notes,
        profile=profile,
        stage_map=dict(stage_map),
    )
