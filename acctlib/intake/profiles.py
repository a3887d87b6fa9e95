"""Validation of source profiles' keys.

A misspelt key in a profile would otherwise be ignored, so a column map
entry, a table option or a setting such as ``type_map`` would silently
have no effect. :func:`check_profile_keys` rejects every key that the
profile's adapter does not read, naming the closest valid key.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from acctlib import schema
from acctlib.errors import ParameterError, closest_hint
from acctlib.intake.journeys import PATH_FIELDS, TOUCH_FIELDS
from acctlib.intake.mapped import MODIFIED_KEY, PROFILE_PATH, READ_KEYS
from acctlib.intake.maven import CORRECTABLE_COLUMNS, DEFAULT_FILES
from acctlib.intake.parsers import OPTION_KEYS

# Keys that intake reads from every profile, whatever its adapter. The
# loader adds PROFILE_PATH (the profile's file) to a profile it returns, so
# a profile written back to YAML from one may carry it.
COMMON_KEYS = frozenset(
    {
        "name",
        "adapter",
        "description",
        "stage_map",
        "rates_file",
        "column_sources",
        PROFILE_PATH,
    }
)

# Further top-level keys that each adapter reads.
ADAPTER_KEYS: dict[str, frozenset[str]] = {
    "canonical_files": frozenset(),
    "mapped": frozenset({"options", "read", "tables", "type_map"}),
    "salesforce": frozenset(
        {"options", "read", "tables", "type_map", "activity_function"}
    ),
    "hubspot": frozenset(
        {"options", "read", "tables", "type_map", "function_map", "activity_function"}
    ),
    "olist": frozenset({"options", "read", "tables"}),
    "maven": frozenset({"files", "label_corrections"}),
    "journeys": frozenset(
        {
            "format",
            "files",
            "separator",
            "path_separator",
            "columns",
            "default_value",
            "function",
        }
    ),
}

# Table keys of the adapters that read fixed exports, each the name of an
# export. The mapped adapter takes any key whose ``table`` is canonical.
ADAPTER_TABLES: dict[str, frozenset[str]] = {
    "salesforce": frozenset(
        {
            "accounts",
            "opportunities",
            "stage_history",
            "contacts",
            "campaigns",
            "campaign_members",
            "tasks",
            "events",
        }
    ),
    "hubspot": frozenset({"companies", "deals", "contacts", "engagements"}),
    "olist": frozenset({"leads", "deals"}),
}

# Table keys without which an adapter that reads fixed exports cannot run.
ADAPTER_REQUIRED_TABLES: dict[str, tuple[str, ...]] = {
    "salesforce": ("accounts", "opportunities"),
    "hubspot": ("companies", "deals"),
    "olist": ("leads", "deals"),
}

# Tables outside the canonical schema that an adapter reads to link others,
# with the column-map names it reads from each.
ADAPTER_OWN_TABLES: dict[str, dict[str, frozenset[str]]] = {
    "salesforce": {
        "contacts": frozenset({"contact_id", "account_id"}),
        "campaigns": frozenset({"campaign_id", "name", "channel"}),
    },
    "hubspot": {"contacts": frozenset({"contact_id", "company_ids"})},
}

# Fields of the journeys adapter's ``columns`` per ``format``. ``value`` is
# optional in touch rows.
JOURNEY_FIELDS = {
    "touches": frozenset({*TOUCH_FIELDS, "value"}),
    "paths": frozenset(PATH_FIELDS),
}

# Keys of one entry of a profile's ``tables`` section.
TABLE_KEYS = frozenset(
    {
        "files",
        "file",
        "table",
        "optional",
        "columns",
        "optional_columns",
        "constants",
        MODIFIED_KEY,
        "column_options",
        "options",
        "encoding",
        "delimiter",
    }
)

# Column-map names that an adapter reads besides the canonical columns.
ADAPTER_COLUMNS: dict[str, frozenset[str]] = {
    "salesforce": frozenset(
        {"source_type", "source_forecast_category", "what_id", "campaign_id"}
    ),
    "hubspot": frozenset({"source_type", "company_ids", "contact_ids"}),
}


def check_profile_keys(profile: Mapping[str, Any], source: str) -> None:
    """Raise ParameterError for a key that the profile's adapter does not read.

    Checks the top-level keys, the keys of ``read``, the parser options
    under ``options`` and the deal types that ``type_map`` maps onto. In
    each ``tables`` entry, checks its keys, its parser options and the
    canonical column names of its ``columns``, ``optional_columns``,
    ``constants`` and ``column_options``, and the table keys of adapters
    that read fixed exports, which must also list every table of
    :data:`ADAPTER_REQUIRED_TABLES`, none of them optional. For the
    journeys adapter, checks ``format`` and the keys of ``files`` and
    ``columns``. For the maven adapter, checks the keys of ``files`` and
    ``label_corrections``. ``source`` names the profile file in messages.
    """
    adapter = str(profile.get("adapter", "canonical_files"))
    if adapter not in ADAPTER_KEYS:
        _raise_unknown(adapter, ADAPTER_KEYS, "adapter", "", source)
    if adapter == "canonical_files":
        mapping_keys = sorted(set(profile) & set(ADAPTER_KEYS["mapped"]))
        if mapping_keys:
            raise ParameterError(
                f"the source profile {source} uses the canonical_files adapter, "
                f"which reads no {mapping_keys[0]!r}: canonical files already "
                "have the canonical columns, ISO 8601 timestamps and plain "
                "numbers. To map or parse another layout, set adapter: mapped."
            )
    _check_keys(profile, COMMON_KEYS | ADAPTER_KEYS[adapter], "key", "", source)
    _check_column_sources(profile.get("column_sources") or {}, source)
    _check_type_map(profile.get("type_map") or {}, source)
    _check_section(profile, "options", OPTION_KEYS, "", source)
    _check_section(profile, "read", READ_KEYS, "", source)
    if adapter == "journeys":
        _check_journeys(profile, source)
    if adapter == "maven":
        _check_section(profile, "files", DEFAULT_FILES, "", source)
        _check_section(profile, "label_corrections", CORRECTABLE_COLUMNS, "", source)
    tables = profile.get("tables")
    if not isinstance(tables, Mapping) or "tables" not in ADAPTER_KEYS[adapter]:
        return
    for key, spec in tables.items():
        _check_table(adapter, key, spec, source)
    _check_required_tables(adapter, tables, source)


def _check_required_tables(
    adapter: str, tables: Mapping[str, Any], source: str
) -> None:
    """Raise ParameterError when a table the adapter needs is missing or optional."""
    required = ADAPTER_REQUIRED_TABLES.get(adapter, ())
    needs = f"the {adapter} adapter needs the tables {' and '.join(required)}"
    for key in required:
        if key not in tables:
            raise ParameterError(
                f"table {key!r} is missing from tables of the source profile "
                f"{source}: {needs}. Add a {key!r} entry that names its export "
                f"file, as the bundled params/profiles/{adapter}.yaml does."
            )
        if tables[key].get("optional"):
            raise ParameterError(
                f"table {key!r} of the source profile {source} is marked "
                f"optional, but {needs}. Remove 'optional: true' from it."
            )


def _check_journeys(profile: Mapping[str, Any], source: str) -> None:
    """Raise ParameterError for an unknown format, file or column field."""
    data_format = str(profile.get("format", "touches"))
    if data_format not in JOURNEY_FIELDS:
        _raise_unknown(data_format, JOURNEY_FIELDS, "format", "", source)
    _check_section(profile, "files", {"journeys"}, "", source)
    _check_section(profile, "columns", JOURNEY_FIELDS[data_format], "", source)


def _check_column_sources(sources: Any, source: str) -> None:
    """Raise ParameterError unless ``sources`` maps canonical columns to text.

    ``column_sources`` maps a canonical table to its columns, and each
    column to a sentence part that states where the source's value comes
    from, which report tables show in their captions.
    """
    if not isinstance(sources, Mapping):
        raise ParameterError(
            f"column_sources of the source profile {source} must map a table to "
            f"its columns, not {sources!r}"
        )
    for table, columns in sources.items():
        if table not in schema.TABLES:
            _raise_unknown(table, schema.TABLES, "table", " in column_sources", source)
        if not isinstance(columns, Mapping):
            raise ParameterError(
                f"column_sources.{table} of the source profile {source} must map "
                f"a column to where its value comes from, not {columns!r}"
            )
        names = {column.name for column in schema.TABLES[table].columns}
        for column, text in columns.items():
            if column not in names:
                where = f" in column_sources.{table}"
                _raise_unknown(column, names, "column", where, source)
            if not isinstance(text, str) or not text.strip():
                raise ParameterError(
                    f"column_sources.{table}.{column} of the source profile "
                    f"{source} must be text that says where the value comes "
                    f"from, not {text!r}"
                )


def _check_table(adapter: str, key: str, spec: Any, source: str) -> None:
    """Raise ParameterError for an unknown key in the ``tables`` entry ``key``."""
    if not isinstance(spec, Mapping):
        raise ParameterError(
            f"table {key!r} of the source profile {source} must be a mapping "
            f"of files, columns and options, not {spec!r}"
        )
    if adapter in ADAPTER_TABLES and key not in ADAPTER_TABLES[adapter]:
        where = f" in tables (the {adapter} adapter reads these exports)"
        _raise_unknown(key, ADAPTER_TABLES[adapter], "table", where, source)
    _check_keys(spec, TABLE_KEYS, "key", f" in table {key!r}", source)
    _check_table_options(spec, key, source)
    table = str(spec.get("table", key))
    own_tables = ADAPTER_OWN_TABLES.get(adapter, {})
    if table in own_tables:
        names = set(own_tables[table])
    elif table in schema.TABLES:
        names = {column.name for column in schema.TABLES[table].columns}
        names |= ADAPTER_COLUMNS.get(adapter, frozenset())
    else:
        valid = set(schema.TABLES) | set(own_tables)
        _raise_unknown(table, valid, "table", f" for {key!r}", source)
    _check_column_names(spec, key, names, source)


def _check_column_names(
    spec: Mapping[str, Any], key: str, names: Collection[str], source: str
) -> None:
    """Raise ParameterError for a column name of table ``key`` not in ``names``."""
    for section in ("columns", "constants", "column_options"):
        where = f" in {section} of table {key!r}"
        _check_keys(spec.get(section) or {}, names, "column", where, source)
    mapped = set(spec.get("columns") or {})
    if spec.get(MODIFIED_KEY):
        mapped.add(MODIFIED_KEY)
    for name in spec.get("optional_columns") or ():
        if name not in mapped:
            where = f" in optional_columns of table {key!r} (not in its columns)"
            _raise_unknown(str(name), mapped, "column", where, source)


def _check_type_map(type_map: Mapping[str, Any], source: str) -> None:
    """Raise ParameterError for a type_map label mapped onto no deal type."""
    for label, value in type_map.items():
        if value not in schema.OPPORTUNITY_TYPES:
            hint = closest_hint(str(value), schema.OPPORTUNITY_TYPES)
            raise ParameterError(
                f"type_map of the source profile {source} maps {label!r} onto "
                f"{value!r}, which is not a deal type.{hint} Deal types: "
                f"{', '.join(schema.OPPORTUNITY_TYPES)}."
            )


def _check_table_options(spec: Mapping[str, Any], key: str, source: str) -> None:
    """Raise ParameterError for an unknown parser option of table ``key``.

    Checks the table's ``options`` and the options of each column under
    ``column_options``, whatever table the adapter reads.
    """
    where = f" of table {key!r}"
    _check_section(spec, "options", OPTION_KEYS, where, source)
    column_options = spec.get("column_options") or {}
    if not isinstance(column_options, Mapping):
        raise ParameterError(
            f"column_options{where} of the source profile {source} must map "
            f"column names to parser options, not {column_options!r}"
        )
    for column in column_options:
        label = f"column_options.{column}"
        _check_section(column_options, column, OPTION_KEYS, where, source, label)


def _check_section(
    parent: Mapping[str, Any],
    key: str,
    valid: Collection[str],
    where: str,
    source: str,
    label: str | None = None,
) -> None:
    """Raise ParameterError unless ``parent[key]`` maps only ``valid`` keys.

    A missing or empty section passes. ``label`` names the section in
    messages when it differs from ``key``, and ``where`` locates it as in
    :func:`_raise_unknown`.
    """
    section = parent.get(key)
    label = label or key
    if section is None:
        return
    if not isinstance(section, Mapping):
        raise ParameterError(
            f"{label}{where} of the source profile {source} must be a mapping "
            f"of {', '.join(sorted(valid))}, not {section!r}"
        )
    _check_keys(section, valid, "key", f" in {label}{where}", source)


def _check_keys(
    mapping: Mapping[str, Any],
    valid: Collection[str],
    kind: str,
    where: str,
    source: str,
) -> None:
    for key in mapping:
        if key not in valid:
            _raise_unknown(str(key), valid, kind, where, source)


def _raise_unknown(
    key: str, valid: Collection[str], kind: str, where: str, source: str
) -> None:
    """Raise ParameterError naming ``key``, the profile and the closest valid key.

    ``kind`` is what the key names (key, column, table) and ``where`` is the
    section it sits in, with a leading space, or empty for the top level.
    """
    # The loader's own key is no name a user writes, so it is not offered.
    names = sorted(name for name in valid if name != PROFILE_PATH)
    hint = closest_hint(key, names)
    raise ParameterError(
        f"unknown {kind} {key!r}{where} of the source profile {source}.{hint} "
        f"Valid names: {', '.join(names)}."
    )
