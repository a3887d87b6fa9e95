"""The run workspace: one DuckDB file holding every prepared table.

Prepare once, render many. :func:`prepare_workspace` stores the canonical
tables, the as-of opportunity snapshot, the account map, the headline
figures and the intake results. A canonical table read by bulk intake
(touchpoints of a large source) is only a temporary table of the prepare
connection, so it is not in the file. Every notebook then opens the same
file read-only through :func:`open_workspace`, so the sections of one
report can never disagree.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from acctlib import (
    accountmap,
    accountstate,
    asof,
    engine,
    forecast,
    keyaccounts,
    slicing,
)
from acctlib.attribution.prepare import prepare_attribution
from acctlib.dataquality import prepare_data_quality
from acctlib.dealshares import DEAL_COMPANIES, split_shared_deals
from acctlib.intake import Intake
from acctlib.params import PROJECT_ROOT, Params

logger = logging.getLogger(__name__)

WORKSPACE_FILE = "workspace.duckdb"


@dataclass
class PrepareContext:
    """What the prepare steps of one run share.

    Each step reads the canonical tables from ``intake`` and the frames of
    earlier steps from ``frames``, stores its own tables with :meth:`store`,
    adds figures for the executive summary to ``headline`` and one-line
    explanations of anything it had to omit to ``notes``. Touchpoint-scale
    work runs as Ibis expressions on :meth:`touchpoints`, which lives on the
    ``engine`` backend; ``backend`` is ``con`` itself when the engine is
    DuckDB. Touchpoint-sized results are stored with :meth:`store_table`
    and listed in ``engine_tables`` instead of ``frames``.
    ``month_end_states`` maps a date to the frames of
    :func:`acctlib.accountstate.compute_account_state` on it: the account
    history step keeps the last month-end's there, and a prepare of that
    date reuses them instead of computing them again.
    """

    con: Any
    intake: Intake
    params: Params
    backend: Any = None
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    headline: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    engine_tables: list[str] = field(default_factory=list)
    month_end_states: dict[dt.date, dict[str, pd.DataFrame]] = field(
        default_factory=dict
    )
    _touch_cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def as_of(self) -> dt.date:
        return self.params.as_of

    def touchpoints(self):
        """Return the touchpoints as an Ibis table on the engine, or None."""
        if self.backend is None:
            self.backend = engine.connect_backend(self.params, self.con)
        if "touchpoints" not in self._touch_cache:
            self._touch_cache["touchpoints"] = engine.load_touchpoints(
                self.backend,
                self.intake.tables.get("touchpoints"),
                self.params,
                stored=self.backend is self.con,
            )
        return self._touch_cache["touchpoints"]

    def close_backend(self) -> None:
        """Close the engine backend unless it is the workspace itself."""
        engine.disconnect_backend(self.backend, self.con)
        self.backend = None
        self._touch_cache.clear()

    def store(self, name: str, frame: pd.DataFrame) -> None:
        """Keep ``frame`` for later steps and write it to the workspace."""
        self.frames[name] = frame
        engine.write_table(self.con, name, frame)

    def store_table(self, name: str, table) -> None:
        """Write the Ibis ``table`` to the workspace without a pandas copy.

        For touchpoint-sized results: later steps read them from ``con``,
        and the table is listed in ``engine_tables``, not in ``frames``.
        """
        engine.write_expression(self.con, name, table)
        if name not in self.engine_tables:
            self.engine_tables.append(name)


def prepare_account_map(context: PrepareContext) -> None:
    """Store the as-of opportunity snapshot, the account map and the headline."""
    intake, params = context.intake, context.params
    revenue = intake.tables.get("revenue")
    state = context.month_end_states.get(context.as_of)
    if state is not None:
        snapshot, account_map = state["snapshot"], state["account_map"]
    else:
        snapshot = asof.snapshot_opportunities(
            intake.tables["opportunities"],
            intake.tables.get("stage_history"),
            intake.stage_map,
            context.as_of,
            default_contract_months=params["default_contract_months"],
        )
        activity = _summarize_activity(context, snapshot)
        account_map = accountmap.compute_account_map(
            intake.tables["accounts"],
            snapshot,
            activity,
            revenue,
            context.as_of,
            stage_map=intake.stage_map,
            deal_shares=intake.extras.get(DEAL_COMPANIES),
        )
    context.store("opportunity_snapshot", snapshot)
    context.store("account_map", account_map)
    context.headline.update(
        accountmap.compute_headline(account_map, snapshot, revenue, context.as_of)
    )


# The prepare steps, in order. A step may use the frames stored by the steps
# before it, and all steps read the same intake and parameters.
PREPARE_STEPS: list[Callable[[PrepareContext], None]] = [
    prepare_account_map,
    prepare_data_quality,
    accountstate.prepare_progression,
    accountstate.prepare_tiers_and_health,
    accountstate.prepare_account_history,
    keyaccounts.prepare_key_accounts,
    prepare_attribution,
    forecast.prepare_forecast,
    # Slicing filters what every step before it stored, so it stays last.
    slicing.prepare_owner_slice,
]


# The steps the month-over-month comparison needs on the previous
# month-end: account_map with the headline, then the progression that
# account_tiers and account_health are built from. Slicing stays last, so
# that a sliced report compares sliced tables.
MOVEMENT_STEPS: list[Callable[[PrepareContext], None]] = [
    prepare_account_map,
    accountstate.prepare_progression,
    accountstate.prepare_tiers_and_health,
    slicing.prepare_owner_slice,
]


def prepare_workspace(
    intake: Intake,
    params: Params,
    path: Path,
    steps: list[Callable[[PrepareContext], None]] | None = None,
    month_end_states: dict[dt.date, dict[str, pd.DataFrame]] | None = None,
) -> PrepareContext:
    """Write the prepared tables of one run to the DuckDB file at ``path``.

    Runs ``steps`` (every step of :data:`PREPARE_STEPS` when None) and
    returns their context, whose headline figures and notes also go into
    the ``run_info`` table. The returned context's connection is closed.
    ``month_end_states`` are states that an earlier prepare of the same
    intake and parameters computed (see :class:`PrepareContext`).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    con = engine.connect(path)
    try:
        engine.limit_memory(con, params.get("duckdb_memory_limit", ""))
        for name, frame in intake.tables.items():
            engine.write_table(con, name, frame)
        context = PrepareContext(
            con=con,
            intake=intake,
            params=params,
            month_end_states=dict(month_end_states or {}),
        )
        try:
            for step in PREPARE_STEPS if steps is None else steps:
                started = time.perf_counter()
                step(context)
                elapsed = time.perf_counter() - started
                logger.info("%s took %.1f s", step.__name__, elapsed)
        finally:
            context.close_backend()

        engine.write_table(con, "rejected_rows", intake.quarantine.to_frame())
        engine.write_table(con, "intake_counts", intake.counts())
        run_info = {
            "params": params.to_json(),
            "stage_map": intake.stage_map,
            "headline": context.headline,
            "notes": [*intake.notes, *context.notes],
            "profile": intake.profile,
            "tables": sorted(intake.tables),
            "inputs": [item.__dict__ for item in intake.inputs],
        }
        _write_run_info(con, run_info)
    finally:
        con.disconnect()
    logger.info("prepared workspace %s", path)
    return context


def _summarize_activity(context: PrepareContext, snapshot: pd.DataFrame):
    touches = context.touchpoints()
    if touches is None:
        return None
    params = context.params
    # A shared deal is a first opportunity of each company that shares it.
    split = split_shared_deals(
        snapshot, context.intake.extras.get(DEAL_COMPANIES), ["amount", "acv"]
    )
    return accountmap.summarize_touch_activity(
        touches,
        split,
        params.as_of,
        window_days=params["influence_window_days"],
        lookback_days=params["lookback_days"],
    )


def _write_run_info(con, info: dict[str, Any]) -> None:
    frame = pd.DataFrame(
        {
            "key": list(info),
            "value": [
                json.dumps(value, sort_keys=True, default=str)
                for value in info.values()
            ],
        }
    )
    engine.write_table(con, "run_info", frame)


@dataclass
class Workspace:
    """A prepared run opened read-only, as notebooks use it."""

    path: Path
    con: Any
    info: dict[str, Any]

    @property
    def params(self) -> dict[str, Any]:
        return self.info["params"]

    @property
    def as_of(self) -> dt.date:
        return dt.date.fromisoformat(self.params["as_of"])

    @property
    def currency(self) -> str:
        return self.params["report_currency"]

    @property
    def headline(self) -> dict[str, Any]:
        return self.info["headline"]

    @property
    def stage_map(self) -> dict[str, Any]:
        return self.info["stage_map"]

    def has_table(self, name: str) -> bool:
        # ibis 12's list_tables() calls fetch_arrow_table(), which DuckDB
        # 2.0.1 no longer has, so the catalog is queried directly.
        found = self.con.con.execute(
            "select 1 from information_schema.tables where table_name = ?", [name]
        ).fetchall()
        return bool(found)

    def table(self, name: str) -> pd.DataFrame:
        """Return a prepared table as pandas; use ``con`` for large tables."""
        return engine.read_table(self.con, name)


def open_workspace(path: str | Path | None = None) -> Workspace:
    """Open a prepared workspace read-only.

    With no path, prepare (once) and open a workspace of the bundled sample
    data, so a notebook also runs on its own in Jupyter.
    """
    if not path:
        path = _default_sample_workspace()
    path = Path(path)
    if path.is_dir():
        path = path / WORKSPACE_FILE
    con = engine.connect(path, read_only=True)
    rows = con.table("run_info").to_pandas()
    info = {row.key: json.loads(row.value) for row in rows.itertuples()}
    return Workspace(path=path, con=con, info=info)


def _default_sample_workspace() -> Path:
    """Return a workspace of the full sample, prepared on first use.

    The cache folder is keyed by a hash of the package's source, so a
    change to acctlib prepares a fresh workspace instead of reusing stale
    tables.
    """
    from acctlib import sample
    from acctlib.intake import load_source
    from acctlib.params import resolve_params

    source_hash = hashlib.sha256()
    for module in sorted(Path(__file__).parent.rglob("*.py")):
        source_hash.update(module.read_bytes())
    work = PROJECT_ROOT / ".acctlib-work" / f"notebook-{source_hash.hexdigest()[:12]}"
    path = work / WORKSPACE_FILE
    if path.is_file():
        return path
    data_dir = work / "data"
    sample.write_sample(data_dir)
    params = resolve_params(
        None, [f"data_dir={data_dir}", f"as_of={sample.SAMPLE_END.isoformat()}"]
    )
    partial = work / f"partial-{os.getpid()}.duckdb"
    prepare_workspace(load_source(params), params, partial)
    partial.replace(path)
    return path
