"""Preparing a run: every prepare step, writing the run workspace.

Prepare once, render many. :func:`prepare_workspace` stores the canonical
tables, the as-of opportunity snapshot, the account map, the headline
figures and the intake results in one DuckDB file, which notebooks then
read through :mod:`acctlib.workspace`. A canonical table read by bulk
intake (touchpoints of a large source) is only a temporary table of the
prepare connection, so it is not in the file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
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
    health,
    keyaccounts,
    slicing,
    tiering,
)
from acctlib.attribution.prepare import prepare_attribution
from acctlib.attribution.settings import AttributionSettings
from acctlib.dataquality import prepare_data_quality
from acctlib.dealshares import DEAL_COMPANIES
from acctlib.forecast.methods import ForecastSettings
from acctlib.forecast.prepare import prepare_forecast
from acctlib.intake import Intake
from acctlib.params import Params

logger = logging.getLogger(__name__)

RELEASED_MEMORY_LIMIT = "256MB"
"""Workspace DuckDB memory after :meth:`PrepareContext.release_engine_memory`."""


@dataclass
class PrepareContext:
    """What the prepare steps of one run share.

    Each step reads the canonical tables from ``intake`` and the frames of
    earlier steps from ``frames``, stores its own tables with :meth:`store`,
    adds figures for the executive summary to ``headline`` and one-line
    explanations of anything it had to omit to ``notes``. Touchpoint-scale
    work runs as Ibis expressions on :meth:`touchpoints`, which lives on the
    ``engine`` backend; ``backend`` is ``con`` itself when the engine is
    DuckDB. Touchpoint-sized results are stored with :meth:`store_table`,
    and large frames that only a few later steps need with ``store(...,
    keep=False)``. Both are listed in ``engine_tables`` instead of
    ``frames``, and later steps get them with :meth:`read`. Views over
    them (:meth:`store_view`) are listed in ``engine_views``; the run
    exports their tables, not the views.
    ``month_end_states`` maps a date to the frames of
    :func:`acctlib.accountstate.compute_account_state` on it: the account
    history step keeps the last month-end's there, and a prepare of that
    date reuses them instead of computing them again. ``intake_stored`` is
    True once the intake tables are in the workspace. Steps read them there
    through :meth:`intake_table`, which writes them first when needed.
    ``step_seconds`` maps each step that ran, named without its
    ``prepare_`` prefix, to its wall-clock seconds. ``opportunity_history``
    is the :class:`acctlib.asof.OpportunityHistory` behind the snapshot of
    the account-map step, None when that step reused a month-end state.
    ``step_names`` names the steps of the run. ``touch_history`` and
    ``engagement_history`` are the touch activity and engagement of the
    account history's month-ends, which the account-map and progression
    steps compute with those of the as-of date and the history step uses.
    ``work_folder`` is the run's folder, where local Spark reads the
    touchpoints from a Parquet file.
    """

    con: Any
    intake: Intake
    params: Params
    backend: Any = None
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    headline: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    engine_tables: list[str] = field(default_factory=list)
    engine_views: list[str] = field(default_factory=list)
    month_end_states: dict[dt.date, dict[str, pd.DataFrame]] = field(
        default_factory=dict
    )
    intake_stored: bool = False
    step_seconds: dict[str, float] = field(default_factory=dict)
    opportunity_history: Any = None
    step_names: tuple[str, ...] = ()
    touch_history: dict[dt.date, pd.DataFrame] = field(default_factory=dict)
    engagement_history: dict[dt.date, tuple] = field(default_factory=dict)
    work_folder: Path | None = None
    _touch_cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def as_of(self) -> dt.date:
        return self.params.as_of

    def touchpoints(self):
        """Return the touchpoints as an Ibis table on the engine, or None."""
        if self.backend is None:
            self.backend = engine.connect_backend(self.params, self.con)
        if "touchpoints" not in self._touch_cache:
            stored = self.backend is self.con
            if stored:
                self.store_intake()
            self._touch_cache["touchpoints"] = engine.load_touchpoints(
                self.backend,
                self.intake.tables.get("touchpoints"),
                self.params,
                stored=stored,
                folder=self.work_folder,
            )
        return self._touch_cache["touchpoints"]

    def store_intake(self) -> None:
        """Write the intake tables to the workspace unless they are already there.

        On a source of 100,000 accounts and 15 million touchpoints, writing
        them took about 9 s. A prepare whose steps read no intake
        table from the workspace skips it.
        """
        if self.intake_stored:
            return
        for name, frame in self.intake.tables.items():
            engine.write_table(self.con, name, frame)
        self.intake_stored = True

    def intake_table(self, name: str):
        """Return intake table ``name`` as an Ibis table on the workspace.

        The intake tables are written to the workspace first if no step has
        written them yet.
        """
        self.store_intake()
        return self.con.table(name)

    def release_engine_memory(self) -> None:
        """Cap the workspace DuckDB at :data:`RELEASED_MEMORY_LIMIT` for later steps.

        A step whose remaining work is in pandas calls it. DuckDB then
        writes the table data above the cap, such as the touchpoints of bulk
        intake (about 1.6 GB on the large benchmark size), to its temporary
        folder, and reads it back if a later step queries it.
        """
        engine.limit_memory(self.con, RELEASED_MEMORY_LIMIT)

    def close_backend(self) -> None:
        """Close the engine backend unless it is the workspace itself."""
        engine.disconnect_backend(self.backend, self.con)
        self.backend = None
        self._touch_cache.clear()

    def store(self, name: str, frame: pd.DataFrame, *, keep: bool = True) -> None:
        """Write ``frame`` to the workspace, and keep it for later steps.

        With ``keep=False`` the frame is only written: it is listed in
        ``engine_tables``, and later steps read what they need of it with
        :meth:`read`. On the large benchmark size, the tier and health
        histories take about 700 MB as frames. Written only, they leave
        that memory free for attribution and the forecast.
        """
        engine.write_table(self.con, name, frame)
        if keep:
            self.frames[name] = frame
            return
        self.frames.pop(name, None)
        if name not in self.engine_tables:
            self.engine_tables.append(name)

    def has_table(self, name: str) -> bool:
        """Return whether a step stored table ``name``, as a frame or not."""
        return (
            name in self.frames
            or name in self.engine_tables
            or name in self.engine_views
        )

    def exported_engine_tables(self) -> list[str]:
        """Return the tables not in ``frames`` that the run exports.

        Views are left out: a view's rows follow from its tables, which are
        exported, and a view that unpivots a table has many times its rows.
        """
        return sorted(self.engine_tables)

    def read(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Return stored table ``name``, or only its ``columns``, as a frame."""
        frame = self.frames.get(name)
        if frame is not None:
            return frame if columns is None else frame[columns]
        table = self.con.table(name)
        if columns is not None:
            table = table.select(*columns)
        return engine.read_frame(table)

    def store_table(self, name: str, table) -> None:
        """Write the Ibis ``table`` to the workspace without a pandas copy.

        For touchpoint-sized results: later steps read them from ``con``,
        and the table is listed in ``engine_tables``, not in ``frames``.
        """
        engine.write_expression(self.con, name, table)
        if name not in self.engine_tables:
            self.engine_tables.append(name)

    def store_view(self, name: str, expression) -> None:
        """Store the Ibis ``expression`` over workspace tables as view ``name``.

        The view costs no storage and follows its tables, so slicing the
        tables slices it too. It is read like a table but not exported.
        """
        engine.write_view(self.con, name, expression)
        if name not in self.engine_views:
            self.engine_views.append(name)


def prepare_account_map(context: PrepareContext) -> None:
    """Store the as-of opportunity snapshot, the account map and the headline."""
    intake, params = context.intake, context.params
    revenue = intake.tables.get("revenue")
    state = context.month_end_states.get(context.as_of)
    if state is not None:
        snapshot, account_map = state["snapshot"], state["account_map"]
    else:
        history = asof.OpportunityHistory(
            intake.tables["opportunities"],
            intake.tables.get("stage_history"),
            intake.stage_map,
            default_contract_months=params["default_contract_months"],
        )
        snapshot = history.snapshot(context.as_of)
        context.opportunity_history = history
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


def check_step_settings(params: Params) -> None:
    """Raise ParameterError for a step parameter that no data can make valid.

    Reads the tiering, health, attribution and forecast settings the way
    their steps do. Also checks the DuckDB memory limit, that the engine's
    Ibis backend is installed and that the team is in ``teams``. The build
    calls it before intake, so a misspelt setting stops it early. Owner
    names need the data, so :func:`acctlib.slicing.check_owner_slice`
    checks them after intake.
    """
    tiering.TierConfig.from_params(params)
    health.check_health_weights(params["health_weights"], params["health_missing_rule"])
    AttributionSettings.from_params(params, params.as_of)
    ForecastSettings.from_params(params)
    engine.check_memory_limit(params.get("duckdb_memory_limit", ""))
    engine.check_backend_installed(str(params.get("engine", engine.DEFAULT_ENGINE)))
    slicing.check_team(params["team"], params["teams"])


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
    prepare_forecast,
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


def _run_step(step: Callable[[PrepareContext], None], context: PrepareContext):
    """Run ``step``, turning a failure of Spark into an error that names the fix."""
    try:
        step(context)
    except Exception as error:
        failure = engine.engine_failure(context.backend, error)
        if failure is None:
            raise
        raise failure from error


def prepare_workspace(
    intake: Intake,
    params: Params,
    path: Path,
    steps: list[Callable[[PrepareContext], None]] | None = None,
    month_end_states: dict[dt.date, dict[str, pd.DataFrame]] | None = None,
    *,
    store_intake: bool = True,
    in_memory: bool = False,
) -> PrepareContext:
    """Write the prepared tables of one run to the DuckDB file at ``path``.

    Runs ``steps`` (every step of :data:`PREPARE_STEPS` when None) and
    returns their context, whose headline figures and notes also go into
    the ``run_info`` table. The returned context's connection is closed.
    ``month_end_states`` are states that an earlier prepare of the same
    intake and parameters computed (see :class:`PrepareContext`). With
    ``store_intake`` False, the intake tables are written only if a step
    reads them from the workspace (:meth:`PrepareContext.store_intake`).
    With ``in_memory`` True, the tables go to an in-memory database that
    closes with the connection, for a caller that reads only the returned
    frames. No file is written at ``path`` then, and DuckDB spills to
    ``<path>.tmp`` as it would for a workspace file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    con = engine.connect(None if in_memory else path)
    steps = PREPARE_STEPS if steps is None else steps
    try:
        if in_memory:
            engine.set_temp_directory(con, Path(f"{path}.tmp"))
        engine.limit_memory(con, params.get("duckdb_memory_limit", ""))
        context = PrepareContext(
            con=con,
            intake=intake,
            params=params,
            month_end_states=dict(month_end_states or {}),
            step_names=tuple(step.__name__ for step in steps),
            work_folder=path.parent,
        )
        if store_intake:
            context.store_intake()
        try:
            for step in steps:
                started = time.perf_counter()
                _run_step(step, context)
                elapsed = time.perf_counter() - started
                logger.info("%s took %.1f s", step.__name__, elapsed)
                context.step_seconds[step.__name__.removeprefix("prepare_")] = elapsed
        finally:
            context.close_backend()

        engine.write_table(con, "rejected_rows", intake.quarantine.to_frame())
        engine.write_table(con, "intake_counts", intake.counts())
        run_info = {
            "params": intake.params_in_effect(params),
            "stage_map": intake.stage_map,
            "headline": context.headline,
            "notes": [*intake.notes, *context.notes],
            "profile": intake.profile,
            "column_sources": intake.column_sources,
            "tables": sorted(intake.tables),
            "inputs": [item.__dict__ for item in intake.inputs],
        }
        _write_run_info(con, run_info)
    finally:
        con.disconnect()
    logger.info("prepared workspace %s", "in memory" if in_memory else path)
    return context


def _summarize_activity(context: PrepareContext, snapshot: pd.DataFrame):
    """Return the touch activity on the as-of date, keeping the history's too.

    One set of engine queries serves the as-of date and the month-ends of
    the account history, whose step reads them from ``touch_history``.
    """
    if context.touchpoints() is None:
        return None
    dates = [*accountstate.history_month_ends_to_keep(context), context.as_of]
    context.touch_history = accountstate.summarize_touch_history(
        context, dates, snapshot
    )
    return context.touch_history.pop(context.as_of)


def store_run_notes(path: Path, notes: list[str]) -> None:
    """Replace the ``notes`` of the ``run_info`` table in the workspace at ``path``.

    The build adds notes after prepare, such as a section left out, and the
    data-quality page reads the notes from the workspace.
    """
    con = engine.connect(path)
    try:
        info = engine.read_table(con, "run_info")
        value = json.dumps(notes, sort_keys=True, default=str)
        info.loc[info["key"] == "notes", "value"] = value
        engine.write_table(con, "run_info", info)
    finally:
        con.disconnect()


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
