"""Comparing two report runs: parameters, inputs, headline figures, tables.

A run folder contains ``manifest.json`` and its prepared tables as Parquet
under ``tables/`` (see :mod:`acctlib.build`). :func:`compare_runs` reads
both and lists every difference. A table added by a new prepare step is
compared too, because no list of tables is needed. Tables keyed by a unique
``account_id`` are compared account by account. Other tables are matched
row by row on their natural key where :data:`NATURAL_KEYS` names one, or
else on a key guessed from their column types, such as their text and date
columns, or on whole rows when no key is unique. Unless rows are matched
whole, the summary names each column that differs and in how many accounts
or rows.
"""

from __future__ import annotations

import json
import math
import textwrap
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from acctlib.accountmap import window_column_names
from acctlib.bookings import month_bookings_label
from acctlib.displaypaths import display_path, display_value
from acctlib.errors import AcctlibError
from acctlib.headlinefigures import figure_label, format_figure, format_figure_change
from acctlib.movement import flatten_headline
from acctlib.params import load_declarations

TABLES_DIR = "tables"
# Parameters that only locate output folders, so they change no figure.
OUTPUT_PARAMS = ("reports_dir", "work_dir")
# Parameters that only name the run folder. Unlike OUTPUT_PARAMS, a rebuild
# keeps them, so that it writes a folder of the same name.
RUN_NAME_PARAMS = ("variant",)
# Relative tolerance for floating-point figures: Parquet and JSON round
# trips keep doubles exactly, so only true changes exceed it.
TOLERANCE = 1e-9
MAX_LISTED_ACCOUNTS = 50
PARAMS_TITLE = "Parameters that change figures"
SETTINGS_TITLE = "Settings that change no figure"
# Tables whose touch counts the build names after influence_window_days,
# such as touches_30d. Other tables count touches over fixed windows.
WINDOW_NAMED_TABLES = ("account_map",)
# Account columns whose changes the comparison lists as moves, in this order.
MOVE_COLUMNS = ("status", "tier", "health_band", "at_risk")
# Keys of prepared tables whose column types do not show their key, such as
# a float tier, tried in order until one is unique in both runs. Credit
# sums add account_id where a deal's credit is split between its companies.
NATURAL_KEYS = {
    "attribution_credit_sums": (
        ("kind", "opportunity_id", "channel", "function"),
        ("kind", "opportunity_id", "channel", "function", "account_id"),
    ),
    "attribution_opportunities": (("kind", "opportunity_id"),),
    "attribution_coverage": (("tier", "type"),),
    "coverage_gaps": (("account_id", "gap"),),
    "tier_sensitivity": (("threshold", "change"),),
    "tier_shares": (("tier",),),
}


class RunError(AcctlibError):
    """A run folder is missing, incomplete or unreadable."""


@dataclass
class Run:
    """A report run read back from its folder."""

    path: Path
    manifest: dict[str, Any]
    tables: dict[str, pd.DataFrame]

    @property
    def label(self) -> str:
        """The run name, such as ``2026-06-30--short``, or else the folder name."""
        return self.manifest.get("run") or self.path.name

    @property
    def as_of(self) -> str | None:
        """The as-of date of the run, or None when the manifest has none."""
        return self.manifest.get("as_of") or self.manifest.get("params", {}).get(
            "as_of"
        )

    @property
    def display_path(self) -> str:
        """The run folder as pages show it, without the machine's folders."""
        return display_path(self.path)


@dataclass
class Comparison:
    """Every difference between run ``a`` and run ``b``.

    ``params``, ``inputs`` and ``headline`` contain (name, value in a,
    value in b) triples. ``params`` leaves out :data:`OUTPUT_PARAMS`,
    :data:`RUN_NAME_PARAMS` and the parameters declared technical, such
    as ``parallel_notebooks``, whose differences ``settings`` contains,
    because they change no figure. ``tables`` contains one dict per differing table
    with keys ``table``, ``summary`` and ``changes``, a frame of
    per-account changes that is empty for tables without ``account_id``.
    """

    a: Run
    b: Run
    params: list[tuple[str, Any, Any]] = field(default_factory=list)
    settings: list[tuple[str, Any, Any]] = field(default_factory=list)
    inputs: list[tuple[str, Any, Any]] = field(default_factory=list)
    headline: list[tuple[str, Any, Any]] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)

    @property
    def labels(self) -> tuple[str, str]:
        """Return names that tell the two runs apart.

        Runs are named by their run name. Two runs of one name get their
        folders as :func:`display_path` shows them. When those are equal
        too, each name gets as many parent folders as it takes to differ.
        """
        if self.a.label != self.b.label:
            return self.a.label, self.b.label
        if self.a.display_path != self.b.display_path:
            return self.a.display_path, self.b.display_path
        # NOTE: at least one run lies outside the working folder here, so
        # these names may show folder names of the machine.
        a_parts, b_parts = self.a.path.resolve().parts, self.b.path.resolve().parts
        for depth in range(1, max(len(a_parts), len(b_parts)) + 1):
            a_label = "/".join(a_parts[-depth:]).lstrip("/")
            b_label = "/".join(b_parts[-depth:]).lstrip("/")
            if a_label != b_label:
                return a_label, b_label
        return self.a.label, f"{self.b.label} (the same folder)"

    @property
    def identical_results(self) -> bool:
        """True when headline figures and every prepared table are equal."""
        return not self.headline and not self.tables

    def differences(self) -> list[str]:
        """Return every difference as one line of text."""
        lines = [f"parameter {n}: {a!r} -> {b!r}" for n, a, b in self.params]
        lines += [f"input {n}: {a} -> {b}" for n, a, b in self.inputs]
        lines += [f"headline {n}: {a} -> {b}" for n, a, b in self.headline]
        lines += [f"table {t['table']}: {t['summary']}" for t in self.tables]
        return lines


def load_run(path: str | Path) -> Run:
    """Read a run folder's manifest and prepared tables.

    Raises
    ------
    RunError
        When the folder has no ``manifest.json`` or a table cannot be read.
    """
    path = Path(path)
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise RunError(
            f"{path} is not a report run: manifest.json not found; "
            "pass a folder such as reports/2026-06-30"
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    tables = {}
    for table_path in sorted((path / TABLES_DIR).glob("*.parquet")):
        try:
            tables[table_path.stem] = pd.read_parquet(table_path)
        except (OSError, ValueError) as error:
            raise RunError(
                f"cannot read prepared table {table_path}: {error}"
            ) from error
    return Run(path=path, manifest=manifest, tables=tables)


def compare_runs(a: Run, b: Run) -> Comparison:
    """Return every difference between two runs."""
    comparison = Comparison(a=a, b=b)
    settings = _settings_names()
    comparison.params = _diff_mappings(
        _flatten_params(a.manifest["params"], settings),
        _flatten_params(b.manifest["params"], settings),
    )
    comparison.settings = _diff_mappings(
        _settings(a.manifest["params"], settings),
        _settings(b.manifest["params"], settings),
    )
    comparison.inputs = _diff_mappings(_inputs(a), _inputs(b))
    comparison.headline = _diff_mappings(
        flatten_headline(a.manifest.get("headline", {})),
        flatten_headline(b.manifest.get("headline", {})),
    )
    renames_a, renames_b = _window_renames(a, b)
    for name in sorted(set(a.tables) | set(b.tables)):
        table_a, table_b = a.tables.get(name), b.tables.get(name)
        if name in WINDOW_NAMED_TABLES and table_a is not None and table_b is not None:
            table_a = table_a.rename(columns=renames_a)
            table_b = table_b.rename(columns=renames_b)
        difference = compare_tables(name, table_a, table_b)
        if difference:
            comparison.tables.append(difference)
    return comparison


def _settings_names() -> frozenset[str]:
    """Return the names of the parameters that change no figure.

    They are the output folders, the run name's variant and the technical
    parameters.
    """
    technical = {
        name
        for name, declaration in load_declarations().items()
        if declaration.technical
    }
    return frozenset(OUTPUT_PARAMS) | frozenset(RUN_NAME_PARAMS) | technical


def _flatten_params(
    params: Mapping[str, Any], skipped: frozenset[str] = frozenset(), prefix: str = ""
) -> dict[str, Any]:
    """Return the parameters as ``{dotted.name: value}``, without ``skipped``.

    ``skipped`` names top-level parameters to leave out. A nested mapping
    such as ``tier_rules`` becomes one entry per value, such as
    ``tier_rules.tier_2.value``, so that a comparison names only the values
    that differ. An empty mapping stays one value.
    """
    flat = {}
    for key, value in params.items():
        if not prefix and key in skipped:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten_params(value, prefix=f"{name}."))
        else:
            flat[name] = value
    return flat


def _settings(params: Mapping[str, Any], names: frozenset[str]) -> dict[str, Any]:
    return {name: value for name, value in params.items() if name in names}


def _window_renames(a: Run, b: Run) -> tuple[dict[str, str], dict[str, str]]:
    """Return renames that give both runs' window-named touch columns one name.

    A run with a 90-day window names its touch count ``touches_90d``, and
    one with 30 days ``touches_30d``. Both become ``touches_90d/30d``, the
    first run's window then the second's, so their values are compared.
    Runs with the same window, or without the parameter, keep their names.
    """
    window_a = a.manifest.get("params", {}).get("influence_window_days")
    window_b = b.manifest.get("params", {}).get("influence_window_days")
    if window_a is None or window_b is None or window_a == window_b:
        return {}, {}
    names_a, names_b = window_column_names(window_a), window_column_names(window_b)
    common = {base: f"{names_a[base]}/{window_b}d" for base in names_a}
    return (
        {names_a[base]: common[base] for base in names_a},
        {names_b[base]: common[base] for base in names_b},
    )


def _inputs(run: Run) -> dict[str, str]:
    return {
        item["table"]: f"{item['sha256'][:12]} ({item['rows']:,} rows)"
        for item in run.manifest.get("inputs", [])
    }


def _diff_mappings(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    missing = "(none)"
    return [
        (name, a.get(name, missing), b.get(name, missing))
        for name in sorted(set(a) | set(b))
        if not _same_value(a.get(name, missing), b.get(name, missing))
    ]


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    return a == b


def compare_tables(
    name: str, a: pd.DataFrame | None, b: pd.DataFrame | None
) -> dict[str, Any] | None:
    """Return how table ``name`` differs between two runs, or None if equal.

    The result has ``table``, a one-line ``summary`` and ``changes``: for a
    table keyed by a unique ``account_id``, one row per account in both runs
    and column that differ (``account_id``, ``name``, ``column``, ``a``,
    ``b``); otherwise an empty frame. Columns that only one run has are
    named in the summary, and the others are compared.
    """
    empty = pd.DataFrame(columns=["account_id", "name", "column", "a", "b"])
    if a is None or b is None:
        side = "first" if a is None else "second"
        return {
            "table": name,
            "summary": f"missing in the {side} run",
            "changes": empty,
        }
    parts = []
    if list(a.columns) != list(b.columns):
        only_a = [column for column in a.columns if column not in b.columns]
        only_b = [column for column in b.columns if column not in a.columns]
        parts.append(_column_difference(only_a, only_b))
        shared = [column for column in a.columns if column in b.columns]
        a, b = a[shared], b[shared]
    changes = empty
    if _is_account_table(a) and _is_account_table(b):
        changes, account_parts = _compare_accounts(a, b)
        parts += account_parts
    elif not _frames_equal(_sorted(a), _sorted(b)):
        # NOTE: _frames_equal is stricter than the row comparison about
        # types, such as an integer column stored as text in one run.
        key = _natural_key(name, a, b) or _row_key(a, b)
        parts += _compare_rows(a, b, key) or ["rows are equal in value, not in type"]
    if not parts:
        return None
    return {"table": name, "summary": "; ".join(parts), "changes": changes}


def _column_difference(only_a: list[str], only_b: list[str]) -> str:
    """Describe the columns that only one of two runs has."""
    sides = []
    if only_a:
        sides.append(f"only the first run has {', '.join(only_a)}")
    if only_b:
        sides.append(f"only the second run has {', '.join(only_b)}")
    if not sides:
        return "column order differs"
    return "columns differ: " + ", and ".join(sides)


def _compare_accounts(
    a: pd.DataFrame, b: pd.DataFrame
) -> tuple[pd.DataFrame, list[str]]:
    """Return the value changes of accounts in both runs and their description.

    Accounts that only one run has are counted, not listed as changed in
    every column.
    """
    ids_a, ids_b = set(a["account_id"]), set(b["account_id"])
    shared = ids_a & ids_b
    changes = _account_changes(
        a[a["account_id"].isin(shared)], b[b["account_id"].isin(shared)]
    )
    parts = []
    if not changes.empty:
        accounts = changes["account_id"].nunique()
        columns = _describe_columns(changes.groupby("column")["account_id"].nunique())
        verb = "account differs" if accounts == 1 else "accounts differ"
        parts.append(f"{accounts:,} {verb} in {columns}")
    for count, side in ((len(ids_a - ids_b), "first"), (len(ids_b - ids_a), "second")):
        if count:
            noun = "account" if count == 1 else "accounts"
            parts.append(f"{count:,} {noun} only in the {side} run")
    return changes, parts


def _compare_rows(a: pd.DataFrame, b: pd.DataFrame, key: list[str] | None) -> list[str]:
    """Describe how two tables without an account key differ.

    Rows are matched on ``key``, such as ``model`` and ``channel``. Rows
    whose key only one run has are counted, and the rows both runs share
    are compared value by value, naming each column that differs and in
    how many rows. Without a key, rows are matched whole.
    """
    if key is None:
        return _compare_whole_rows(a, b)
    left = a.set_axis(_key_index(a, key))
    right = b.set_axis(_key_index(b, key))
    parts = [
        _rows_only_in(int((~left.index.isin(right.index)).sum()), "first"),
        _rows_only_in(int((~right.index.isin(left.index)).sum()), "second"),
    ]
    shared = left.index.intersection(right.index, sort=False)
    if len(shared):
        left = left.loc[shared].reset_index(drop=True)
        right = right.loc[shared].reset_index(drop=True)
        differs = pd.Series(False, index=left.index)
        counts = {}
        for column in left.columns.difference(key, sort=False):
            column_differs = ~_equal_values(left[column], right[column])
            counts[column] = int(column_differs.sum())
            differs |= column_differs
        differing = int(differs.sum())
        if not differing and not any(parts):
            return []
        counts = pd.Series(counts, dtype="int64")
        parts.append(_shared_rows(len(shared), differing, counts))
    return [part for part in parts if part]


def _natural_key(name: str, a: pd.DataFrame, b: pd.DataFrame) -> list[str] | None:
    """Return the first key of :data:`NATURAL_KEYS` for ``name`` unique in both."""
    for key in NATURAL_KEYS.get(name, ()):
        columns = list(key)
        if not all(column in frame.columns for frame in (a, b) for column in key):
            continue
        if not a.duplicated(columns).any() and not b.duplicated(columns).any():
            return columns
    return None


def _row_key(a: pd.DataFrame, b: pd.DataFrame) -> list[str] | None:
    """Return the columns that identify a row in both tables, or None.

    The key is the shortest run of text and date columns, in table order,
    that is unique in both tables. Failing that, it is the shortest run of
    leading columns without floats or booleans, such as ``decile``.
    """
    types = pd.api.types
    text = [
        column
        for column in a.columns
        if not any(types.is_numeric_dtype(frame[column]) for frame in (a, b))
    ]
    leading = []
    for column in a.columns:
        if any(_is_float_or_bool(frame[column]) for frame in (a, b)):
            break
        leading.append(column)
    return _unique_prefix(a, b, text) or _unique_prefix(a, b, leading)


def _unique_prefix(
    a: pd.DataFrame, b: pd.DataFrame, columns: list[str]
) -> list[str] | None:
    for end in range(1, len(columns) + 1):
        key = columns[:end]
        if not a.duplicated(key).any() and not b.duplicated(key).any():
            return key
    return None


def _is_float_or_bool(series: pd.Series) -> bool:
    types = pd.api.types
    return types.is_float_dtype(series) or types.is_bool_dtype(series)


def _key_index(frame: pd.DataFrame, key: list[str]) -> pd.MultiIndex:
    """Return the key columns as text, so that missing values match."""
    return pd.MultiIndex.from_frame(_as_text(frame[key]))


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    values = frame.astype(object)
    return values.where(values.notna(), None).astype(str)


def _compare_whole_rows(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """Count the rows that only one run has, matching whole rows.

    A changed value makes its row count as one only in each run.
    """
    # NOTE: floats are matched as text here, without TOLERANCE, so a row
    # whose only change is below it still counts as a row in each run.
    rows_a = Counter(_as_text(a).itertuples(index=False))
    rows_b = Counter(_as_text(b).itertuples(index=False))
    shared = sum((rows_a & rows_b).values())
    parts = [
        _rows_only_in(sum((rows_a - rows_b).values()), "first"),
        _rows_only_in(sum((rows_b - rows_a).values()), "second"),
    ]
    if shared:
        parts.append(
            f"{shared:,} {'row is' if shared == 1 else 'rows are'} in both runs"
        )
    return [part for part in parts if part]


def _rows_only_in(count: int, side: str) -> str:
    if not count:
        return ""
    noun = "row" if count == 1 else "rows"
    return f"{count:,} {noun} only in the {side} run"


def _shared_rows(shared: int, differing: int, counts: pd.Series) -> str:
    """Describe the shared rows, with the columns that differ and in how many."""
    if not differing:
        if shared == 1:
            return "the 1 shared row is equal"
        return f"the {shared:,} shared rows are equal"
    columns = _describe_columns(counts)
    if shared == 1:
        return f"the 1 shared row differs in {columns}"
    verb = "differs" if differing == 1 else "differ"
    return f"{differing:,} of the {shared:,} shared rows {verb} in {columns}"


def _describe_columns(counts: pd.Series) -> str:
    """List the columns with a nonzero count, such as ``reason (1), tier (4)``.

    ``counts`` is indexed by column name. Columns are listed by name.
    """
    counts = counts[counts > 0].sort_index()
    return ", ".join(f"{column} ({count:,})" for column, count in counts.items())


def _is_account_table(frame: pd.DataFrame) -> bool:
    return "account_id" in frame.columns and frame["account_id"].is_unique


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    text = frame.astype("str")
    order = text.sort_values(list(text.columns)).index
    return frame.loc[order].reset_index(drop=True)


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    if a.shape != b.shape:
        return False
    try:
        pd.testing.assert_frame_equal(
            a, b, check_dtype=False, rtol=TOLERANCE, atol=TOLERANCE
        )
    except AssertionError:
        return False
    return True


def _account_changes(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Return one row per account and column whose value differs."""
    left = a.set_index("account_id")
    right = b.set_index("account_id")
    ids = sorted(set(left.index) | set(right.index), key=str)
    left, right = left.reindex(ids), right.reindex(ids)
    names = left["name"] if "name" in left.columns else pd.Series(ids, index=ids)
    names = names.fillna(right["name"] if "name" in right.columns else "")
    rows = []
    for column in left.columns:
        differs = ~_equal_values(left[column], right[column])
        for account_id in left.index[differs]:
            rows.append(
                {
                    "account_id": str(account_id),
                    "name": str(names[account_id]),
                    "column": column,
                    "a": _display(left.at[account_id, column]),
                    "b": _display(right.at[account_id, column]),
                }
            )
    return pd.DataFrame(rows, columns=["account_id", "name", "column", "a", "b"])


def _equal_values(a: pd.Series, b: pd.Series) -> pd.Series:
    both_missing = a.isna() & b.isna()
    if _is_number(a) and _is_number(b):
        a, b = a.astype("float64"), b.astype("float64")
        close = (a - b).abs() <= TOLERANCE * (1 + b.abs())
        return both_missing | close.fillna(False)
    return both_missing | (a.astype("str") == b.astype("str"))


def _is_number(series: pd.Series) -> bool:
    types = pd.api.types
    return types.is_numeric_dtype(series) and not types.is_bool_dtype(series)


def _display(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    if isinstance(value, float):
        # Headline counts are stored as floats, and read 2, not 2.00.
        decimals = 0 if value.is_integer() else 2
        return f"{value:,.{decimals}f}"
    return str(value)


def status_moves(comparison: Comparison) -> pd.DataFrame:
    """Return the accounts whose status, tier, health band or risk flag moved.

    Several tables carry the same column, such as ``tier`` in
    ``account_tiers`` and ``account_health``, so a move shows in each of
    them. The result lists each move once, with ``tables`` naming every
    table that shows it, ordered by ``MOVE_COLUMNS`` and account name.
    """
    columns = ["account_id", "name", "column", "a", "b", "tables"]
    frames = [
        item["changes"].assign(table=item["table"])
        for item in comparison.tables
        if not item["changes"].empty
    ]
    if not frames:
        return pd.DataFrame(columns=columns)
    changes = pd.concat(frames, ignore_index=True)
    changes = changes[changes["column"].isin(MOVE_COLUMNS)]
    if changes.empty:
        return pd.DataFrame(columns=columns)
    moves = (
        changes.groupby(["account_id", "name", "column", "a", "b"], sort=False)["table"]
        .agg(lambda tables: ", ".join(sorted(tables)))
        .rename("tables")
        .reset_index()
    )
    moves["order"] = moves["column"].map(MOVE_COLUMNS.index)
    moves = moves.sort_values(["order", "name", "account_id"], kind="stable")
    return moves[columns].reset_index(drop=True)


def _headline_rows(comparison: Comparison) -> list[tuple[str, str, str, str]]:
    """Return the headline differences as (label, first, second, change).

    Labels and numbers read as on the report pages, such as ``Bookings
    year to date`` and ``USD 10,005,534``. Two values that read the same
    once rounded are shown in full instead.
    """
    currency_a, currency_b = _currency(comparison.a), _currency(comparison.b)
    rows = []
    for name, a, b in comparison.headline:
        a_text = format_figure(name, a, currency_a)
        b_text = format_figure(name, b, currency_b)
        if a_text == b_text:
            a_text, b_text = repr(a), repr(b)
        change = "–"
        if currency_a == currency_b:
            change = format_figure_change(name, a, b, currency_a)
        label = _month_label(comparison) if name == "bookings_month" else None
        rows.append((label or figure_label(name), a_text, b_text, change))
    return rows


def _month_label(comparison: Comparison) -> str:
    """Return the label of the month's bookings, naming month-to-date runs.

    A run dated before a month's last day counts that month to date, and
    its pages label the figure so. When only one of the two runs does, the
    label names the kind of each run.
    """
    first = month_bookings_label(comparison.a.as_of)
    second = month_bookings_label(comparison.b.as_of)
    if first == second:
        return first
    return f"{first} (first run), {second.removeprefix('Bookings ')} (second run)"


def _currency(run: Run) -> str:
    """Return the report currency of ``run``, such as ``USD``."""
    params = run.manifest.get("params", {})
    headline = run.manifest.get("headline", {})
    return params.get("report_currency") or headline.get("report_currency") or ""


def format_text(comparison: Comparison) -> str:
    """Return the comparison as plain-text tables for a terminal."""
    sections = [f"Comparing {comparison.a.path} with {comparison.b.path}"]
    # Long values, such as a list of models, wrap so both show in full.
    header = ["name", "first", "second"]
    sections.append(_text_table(PARAMS_TITLE, header, comparison.params, wrap=True))
    if comparison.settings:
        sections.append(
            _text_table(SETTINGS_TITLE, header, comparison.settings, wrap=True)
        )
    sections.append(_text_table("Inputs", header, comparison.inputs, wrap=True))
    sections.append(
        _text_table(
            "Headline figures",
            ["figure", "first", "second", "change"],
            _headline_rows(comparison),
            wrap=True,
        )
    )
    summaries = [(item["table"], item["summary"]) for item in comparison.tables]
    sections.append(_text_table("Tables", ["table", "difference"], summaries))
    moves = status_moves(comparison)
    listed = moves.head(MAX_LISTED_ACCOUNTS)
    moved = _text_table(
        "Accounts that moved",
        ["account", "column", "first", "second", "tables"],
        [(r.name, r.column, r.a, r.b, r.tables) for r in listed.itertuples()],
    )
    if len(moves) > len(listed):
        moved += f"\nand {len(moves) - len(listed):,} more moves not listed"
    sections.append(moved)
    return "\n\n".join(sections) + "\n"


def _text_table(title: str, header: list[str], rows, *, wrap: bool = False) -> str:
    """Return ``rows`` as a table under ``title``, columns at most 40 wide.

    With ``wrap``, a longer cell wraps onto further lines. Without it, the
    cell is cut with an ellipsis, unless it is in the last column, which
    runs to the end of the line.
    """
    rows = [[str(cell) for cell in row] for row in rows]
    if not rows:
        return f"{title}: no differences"
    widths = [
        min(40, max(len(header[i]), *(len(row[i]) for row in rows)))
        for i in range(len(header))
    ]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        if wrap:
            lines += _wrapped_row(row, widths)
            continue
        # The last column runs to the end of the line, so only earlier
        # columns are cut to their width, with an ellipsis where cut.
        cells = [_fit(cell, w) for cell, w in zip(row[:-1], widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def _wrapped_row(row: list[str], widths: list[int]) -> list[str]:
    cells = [
        textwrap.wrap(cell, width) or [""]
        for cell, width in zip(row, widths, strict=True)
    ]
    lines = []
    for index in range(max(len(cell) for cell in cells)):
        parts = [
            (cell[index] if index < len(cell) else "").ljust(width)
            for cell, width in zip(cells, widths, strict=True)
        ]
        lines.append("  ".join(parts).rstrip())
    return lines


def _fit(cell: str, width: int) -> str:
    if len(cell) <= width:
        return cell.ljust(width)
    return cell[: width - 1] + "…"


def write_html(comparison: Comparison, target: Path) -> Path:
    """Write the comparison as a self-contained HTML page to ``target``."""
    from acctlib.publish import render_page

    moves = status_moves(comparison)
    # Parameters such as data_dir may be absolute paths of the machine.
    params = [
        (name, display_value(a), display_value(b)) for name, a, b in comparison.params
    ]
    settings = [
        (name, display_value(a), display_value(b)) for name, a, b in comparison.settings
    ]
    page = render_page(
        "compare.html.j2",
        comparison=comparison,
        params=params,
        params_title=PARAMS_TITLE,
        settings=settings,
        settings_title=SETTINGS_TITLE,
        headline=_headline_rows(comparison),
        moves=moves.head(MAX_LISTED_ACCOUNTS).to_dict("records"),
        moves_total=len(moves),
    )
    target.write_text(page, encoding="utf-8")
    return target
