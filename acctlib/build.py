"""Building a dated report: intake, prepare, render, publish.

:func:`build_report` runs the whole pipeline for one set of parameters.
The run folder is assembled under a temporary name inside ``reports_dir``
and renamed into place only when every notebook succeeded, so a failed
build never replaces or damages an earlier report. A failed notebook is
kept under ``work_dir/failed-runs/`` for debugging.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import json
import logging
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
import zoneinfo
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd

from acctlib import (
    __version__,
    accountmap,
    engine,
    movement,
    publish,
    render,
    schema,
    slicing,
)
from acctlib.compare import OUTPUT_PARAMS
from acctlib.displaypaths import display_command, display_path
from acctlib.errors import AcctlibError, BuildError, ParameterError, RunBusyError
from acctlib.intake import describe_unreconciled, load_source
from acctlib.intake.bulktable import BulkTable
from acctlib.intake.quarantine import write_csv_safely
from acctlib.params import PROJECT_ROOT, Params, load_declarations
from acctlib.prepare import (
    MOVEMENT_STEPS,
    check_step_settings,
    prepare_workspace,
    store_run_notes,
)
from acctlib.workspace import WORKSPACE_FILE

logger = logging.getLogger(__name__)

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
# Prepared tables are kept in the run folder as Parquet, so a run can be
# verified and compared without its work folder.
TABLES_DIR = "tables"
EXPORT_MEMORY_LIMIT = "512MB"
"""DuckDB memory cap while prepared tables are copied to Parquet.

The copy streams rows, so the cap only stops DuckDB from buffering the
largest tables while the notebooks run beside it. Copying the 49 million
credit rows of the large benchmark size took about 4 GB uncapped. At 512MB
the process peaked at about 580 MB and spilled nothing, for the same CPU
time (DuckDB 2.0.1, 2-core benchmark machine).
"""
PACKAGES = (
    "pandas",
    "numpy",
    "duckdb",
    "ibis-framework",
    "sqlglot",
    "pandera",
    "statsmodels",
    "altair",
    "vl-convert-python",
    "papermill",
    "nbconvert",
    "nbclient",
    "ipykernel",
    "pyarrow",
)


@dataclass
class BuildResult:
    """Run folder, manifest and stage timings of one build."""

    run_dir: Path
    manifest: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


def build_report(params: Params, *, command: str = "acctlib build") -> BuildResult:
    """Build the report for ``params`` into ``reports_dir/<run name>/``.

    Raises
    ------
    InputError
        When an input cannot be read; nothing is written to reports_dir.
    BuildError
        When a notebook fails; the executed notebook is kept under
        ``work_dir/failed-runs/`` and earlier reports stay as they were.
    RunBusyError
        When another build of the same run is using ``work_dir``.
    """
    with _lock_run(Path(params["work_dir"]) / params.run_name):
        return _build_locked(params, command)


@contextlib.contextmanager
def _lock_run(work_dir: Path):
    """Hold an exclusive lock on ``work_dir`` while a build uses it.

    Two builds of the same run would otherwise write the same workspace
    file at once. The operating system releases the lock when the process
    ends, so a crashed build leaves no stale lock behind.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    with open(work_dir / ".lock", "w", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunBusyError(
                f"another build of run {work_dir.name} is using {work_dir}; "
                "wait for it to finish, or give this build its own run name "
                "with --set variant=NAME, which names its work and report "
                "folders"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_locked(params: Params, command: str) -> BuildResult:
    started = time.perf_counter()
    sections = section_paths(params["sections"])
    _check_timezone(params["report_timezone"])
    check_step_settings(params)
    workers = max(1, min(params["parallel_notebooks"], len(sections)))
    with _notebook_workers(workers) as pool:
        return _build_with_workers(params, command, sections, pool, workers, started)


@contextlib.contextmanager
def _notebook_workers(count: int):
    """Yield a pool of ``count`` notebook worker processes.

    Each worker process runs one notebook at a time, so the kernel clients
    of parallel notebooks share no event loop. The pool starts its
    processes on the first task, which is a warm-up (see
    :func:`_warm_up_kernels`) or a notebook.
    """
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=count, mp_context=context)
    try:
        yield pool
    except BaseException:
        # A failed build runs none of the notebooks still queued, and
        # raises its error without waiting for warm-ups to finish.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def _warm_up_kernels(pool: ProcessPoolExecutor, count: int, cwd: Path) -> None:
    """Have the workers of ``pool`` start ``count`` warm kernels in ``cwd``.

    The kernels import the report's libraries while the build goes on (see
    :func:`acctlib.render.start_warm_kernel`). Each warm-up waits for its
    imports, so that one worker is busy while the other takes the next
    warm-up.
    """
    for _ in range(count):
        warm_up = pool.submit(render.start_warm_kernel, cwd, wait=True)
        warm_up.add_done_callback(_log_warm_up_failure)


def _log_warm_up_failure(future) -> None:
    # A notebook without a warm kernel starts its own, and reports any
    # failure of that kernel as its own.
    if not future.cancelled() and future.exception() is not None:
        logger.warning("warming up a notebook kernel failed: %s", future.exception())


def _log_intake(params: Params, intake) -> None:
    """Log the rows read, and warnings for rejected rows and stage-map errors."""
    rejected = intake.quarantine.count()
    logger.info(
        "read %s: %s accepted rows, %s rejected",
        params["data_dir"],
        f"{sum(len(frame) for frame in intake.tables.values()):,}",
        f"{rejected:,}",
    )
    if rejected:
        rows = "input row was" if rejected == 1 else "input rows were"
        logger.warning(
            "%s %s rejected: rejected_rows.csv in the run folder lists each "
            "with its reason, and the data-quality section counts them",
            f"{rejected:,}",
            rows,
        )
    for note in describe_unreconciled(intake.reconciliation()):
        logger.warning(note)
    _log_stage_lint(intake)


def _log_stage_lint(intake, max_listed: int = 5) -> None:
    """Log a warning naming the stage-map lint errors, at most ``max_listed``.

    The build does not fail on them. Rows of an unmapped stage without a
    category are rejected, and rows with a category are kept under it.
    """
    lint = intake.extras.get("stage_lint")
    if lint is None or lint.empty:
        return
    errors = lint.loc[lint["level"] == "error", "message"].tolist()
    if not errors:
        return
    listed = "; ".join(errors[:max_listed])
    if len(errors) > max_listed:
        listed += f"; and {len(errors) - max_listed} more"
    logger.warning(
        "the stage map lint found %d %s: %s. Where a stage is misspelt, "
        "correct it in the export instead. `acctlib check` lists every "
        "finding, and the report's data-quality section shows them",
        len(errors),
        "error" if len(errors) == 1 else "errors",
        listed,
    )


def _build_with_workers(
    params: Params,
    command: str,
    sections: list[Path],
    pool: ProcessPoolExecutor,
    workers: int,
    started: float,
) -> BuildResult:
    timings: dict[str, float] = {}
    # Notebooks run inside the run's work folder and open the workspace by
    # its file name, so the executed notebooks carry no absolute path.
    work_dir = Path(params["work_dir"]) / params.run_name
    kernel_dir = work_dir.absolute()
    step = time.perf_counter()
    intake = load_source(params)
    timings["intake"] = time.perf_counter() - step
    # A source read by bulk intake takes minutes to prepare, so kernels
    # warmed up now would only hold memory (about 1.2 GB for two on the
    # large benchmark size) through its largest steps. They start once the
    # tables are prepared, while the previous month-end is. Any other
    # source warms them up now, beside prepare. Warming one kernel per
    # section instead slowed the sample's prepare from 18 s to 25 s on an
    # idle 2-core machine and saved about 2 s of notebooks.
    warm_after_prepare = any(
        isinstance(table, BulkTable) for table in intake.tables.values()
    )
    if not warm_after_prepare:
        _warm_up_kernels(pool, workers, kernel_dir)
    _log_intake(params, intake)
    slicing.check_owner_slice(params, intake.tables)

    step = time.perf_counter()
    workspace = work_dir / WORKSPACE_FILE
    prepared = prepare_workspace(intake, params, workspace)
    timings["prepare"] = time.perf_counter() - step
    for name, seconds in prepared.step_seconds.items():
        timings[f"prepare:{name}"] = seconds
    if warm_after_prepare:
        _warm_up_kernels(pool, workers, kernel_dir)
    previous_headline = None
    if params["month_over_month"]:
        step = time.perf_counter()
        previous_headline = _prepare_previous_month(
            intake, params, work_dir, workspace, prepared
        )
        timings["prepare_previous_month"] = time.perf_counter() - step
    prepared.month_end_states.clear()

    sections = _drop_sections_without_tables(sections, workspace, prepared)
    store_run_notes(workspace, [*intake.notes, *prepared.notes])

    reports_dir = Path(params["reports_dir"])
    reports_dir.mkdir(parents=True, exist_ok=True)
    staging = reports_dir / f".staging-{params.run_name}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "notebooks").mkdir(parents=True)
    try:
        generated_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        manifest = _manifest(params, intake, prepared, sections, command, generated_at)
        manifest["headline_previous"] = previous_headline
        # The tables and CSV files need no notebook, so they are written
        # while the notebooks run, and each section's page is written as
        # soon as its notebook has run.
        export = functools.partial(
            _export_run_files, intake, prepared, staging, workspace, params
        )
        write_page = _page_writer(staging, sections, manifest, timings)
        _execute_all(
            pool,
            workers,
            sections,
            staging,
            kernel_dir,
            params,
            timings,
            export,
            write_page,
        )
        timings["total"] = time.perf_counter() - started
        manifest["timings_seconds"] = {k: round(v, 3) for k, v in timings.items()}
        manifest["html_bytes"] = publish.html_sizes(staging)
        manifest["size_warnings"] = publish.check_size_budget(manifest["html_bytes"])
        publish.write_run_index(staging, manifest)
        (staging / "manifest.json").write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        _warn_if_parameters_differ(reports_dir / params.run_name, manifest["params"])
        run_dir = _move_into_place(staging, reports_dir / params.run_name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    publish.write_reports_index(reports_dir)
    logger.info("report written to %s", run_dir / "index.html")
    return BuildResult(run_dir=run_dir, manifest=manifest, timings=timings)


def section_paths(names: list[str]) -> list[Path]:
    """Return the notebook of each section in ``names``, in order.

    Raises ParameterError naming every section without a notebook under
    :data:`NOTEBOOKS_DIR`, so that ``build`` and ``check`` stop before
    reading any input.
    """
    paths = []
    unknown = []
    for name in names:
        path = NOTEBOOKS_DIR / (name if name.endswith(".ipynb") else f"{name}.ipynb")
        if path.is_file():
            paths.append(path)
        else:
            unknown.append(name)
    if unknown:
        known = sorted(path.stem for path in NOTEBOOKS_DIR.glob("*.ipynb"))
        listed = ", ".join(repr(name) for name in unknown)
        noun = "section" if len(unknown) == 1 else "sections"
        raise ParameterError(
            f"unknown {noun} {listed} in parameter 'sections': "
            f"{display_path(NOTEBOOKS_DIR)}/ has no notebook of that name. "
            f"Known sections: {', '.join(known)}"
        )
    return paths


def _check_timezone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ParameterError(
            f"invalid report_timezone {name!r}; use an IANA name such as "
            "'UTC' or 'Europe/Berlin'"
        ) from error


def _drop_sections_without_tables(
    sections: list[Path], workspace: Path, prepared
) -> list[Path]:
    """Leave out sections whose required prepared tables are missing.

    A notebook lists the tables it needs under ``acctlib.requires`` in its
    metadata. When a source lacks an optional table (touchpoints, say), the
    prepare step that needs it stores nothing, and the section is omitted
    with one line in the run's notes instead of failing the build.
    """
    con = engine.connect(workspace, read_only=True)
    try:
        present = {
            row[0]
            for row in con.con.execute(
                "select table_name from information_schema.tables"
            ).fetchall()
        }
    finally:
        con.disconnect()
    kept = []
    for path in sections:
        metadata = _read_notebook(path).metadata.get("acctlib", {})
        missing = [name for name in metadata.get("requires", []) if name not in present]
        if missing:
            # The note is for readers of the report, and the log names the
            # prepared tables for the analyst who builds it.
            note = f"Section {path.stem} is left out: the source has no data for it."
            prepared.notes.append(note)
            logger.warning("%s Missing prepared tables: %s.", note, ", ".join(missing))
            continue
        kept.append(path)
    return kept


def _execute_all(
    pool: ProcessPoolExecutor,
    workers: int,
    sections: list[Path],
    staging: Path,
    kernel_dir: Path,
    params: Params,
    timings: dict[str, float],
    meanwhile: Callable[[], None],
    on_executed: Callable[[str, nbformat.NotebookNode], None],
) -> None:
    """Run every section notebook on the ``workers`` processes of ``pool``.

    The notebooks run in ``kernel_dir``, the folder of the run's workspace.
    ``meanwhile`` is called in this process once every notebook has been
    submitted, so that its work overlaps theirs. ``on_executed`` is called
    with each section's name and executed notebook as soon as it has run,
    while later notebooks still run.
    """
    total = len(sections)
    run_dir = Path(params["reports_dir"]) / params.run_name
    futures = {}
    # The pool queues what it cannot start at once, so each notebook is
    # logged when it has run, numbered in the order of completion.
    logger.info("running %d notebooks, %d at a time", total, workers)
    for source in sections:
        output = staging / "notebooks" / source.name
        # The notebook records where it came from and where the run keeps
        # it, not the temporary folder it is written to.
        recorded = (
            display_path(source),
            display_path(run_dir / "notebooks" / source.name),
        )
        # The worker processes import render, not this module, so they do
        # not load what only preparing needs, such as scipy and statsmodels.
        future = pool.submit(
            render.run_notebook,
            source,
            output,
            {"workspace": WORKSPACE_FILE},
            timeout=params["notebook_timeout_seconds"],
            cwd=kernel_dir,
            recorded_paths=recorded,
        )
        futures[future] = (source, output)
    meanwhile()
    for finished, future in enumerate(as_completed(futures), 1):
        source, output = futures[future]
        try:
            elapsed = future.result()
        except BuildError:
            _keep_failed(output, params)
            for other in futures:
                other.cancel()
            raise
        timings[f"notebook:{source.stem}"] = elapsed
        logger.info("[%d/%d] %s done in %.1f s", finished, total, source.name, elapsed)
        on_executed(source.stem, nbformat.read(output, as_version=4))


def _page_writer(
    staging: Path, sections: list[Path], manifest: dict[str, Any], timings
) -> Callable[[str, nbformat.NotebookNode], None]:
    """Return a function writing one section's page into ``staging``.

    It adds the seconds it takes to ``timings["html_export"]``. Those
    seconds overlap the notebooks still running.
    """
    notebooks = {path.stem: _read_notebook(path) for path in sections}
    pages = publish.list_sections(manifest, notebooks)
    timings["html_export"] = 0.0

    def write_page(name: str, notebook: nbformat.NotebookNode) -> None:
        step = time.perf_counter()
        publish.write_section_page(staging, name, notebook, manifest, pages)
        timings["html_export"] += time.perf_counter() - step

    return write_page


def _read_notebook(path: Path) -> nbformat.NotebookNode:
    """Return the notebook at ``path``, or an empty one when it is unreadable."""
    try:
        return nbformat.read(path, as_version=4)
    except (ValueError, OSError, nbformat.ValidationError):
        # An unreadable notebook is reported, with its name, when it runs.
        return nbformat.v4.new_notebook()


def _export_run_files(intake, prepared, staging: Path, workspace: Path, params) -> None:
    """Write the CSV files beside the pages and the prepared tables."""
    write_csv_safely(intake.quarantine.to_frame(), staging / "rejected_rows.csv")
    _export_account_map(
        workspace, staging / "account_map.csv", params["influence_window_days"]
    )
    _export_account_lists(workspace, staging)
    _export_prepared_tables(
        prepared, staging / TABLES_DIR, workspace, params["influence_window_days"]
    )


def _export_account_lists(workspace: Path, target: Path) -> None:
    """Write every row of the health page's account lists as CSV files.

    The page lists a limited number of rows and its note names the file
    that has the rest, because readers of the page cannot open Parquet.
    """
    from acctlib import accountviews
    from acctlib.workspace import open_workspace

    ws = open_workspace(workspace)
    try:
        for file_name, frame in accountviews.account_lists(ws).items():
            write_csv_safely(frame, target / file_name)
    finally:
        ws.con.disconnect()


def _export_account_map(workspace: Path, target: Path, window_days: int) -> None:
    """Write the full account map beside the report for spreadsheet users.

    The touch counts are named after the window the run used, such as
    ``touches_30d`` with ``influence_window_days: 30``; inside the workspace
    they keep their fixed ``_90d`` names. Amounts are rounded to cents and
    employee counts written as whole numbers, so a sum such as
    11049.960000000001 reads 11049.96; the Parquet table keeps the
    unrounded values.
    """
    con = engine.connect(workspace, read_only=True)
    try:
        frame = engine.read_table(con, "account_map")
    finally:
        con.disconnect()
    money = [column for column in schema.ACCOUNT_MAP_MONEY if column in frame]
    frame[money] = frame[money].round(2)
    if "employees" in frame and pd.api.types.is_float_dtype(frame["employees"]):
        frame["employees"] = frame["employees"].round().astype("Int64")
    columns = accountmap.window_column_names(window_days)
    write_csv_safely(frame.rename(columns=columns), target)


def _prepare_previous_month(
    intake, params, work_dir, workspace, prepared
) -> dict[str, Any] | None:
    """Prepare the previous month-end and store what changed since then.

    The prepare steps of :data:`MOVEMENT_STEPS` run on the same intake as
    of the earlier date into ``work_dir/previous-month/``. They store the
    tables the movements are read from and the headline figures of the
    account map, tiers and health. Figures of other steps (attribution,
    forecast, key accounts, health validation) get no previous value. The
    changes go into the current workspace (tables ``headline_changes``,
    ``account_movements`` and ``reversed_bookings``) and
    into ``prepared`` so that the manifest and the Parquet export carry
    them. Returns the previous headline with its ``as_of`` date, or None
    with a note when preparing the earlier date fails.
    """
    earlier = movement.previous_month_end(params.as_of)
    previous_params = params.replace(as_of=earlier)
    try:
        previous = prepare_workspace(
            intake,
            previous_params,
            work_dir / "previous-month" / WORKSPACE_FILE,
            steps=MOVEMENT_STEPS,
            month_end_states=prepared.month_end_states,
            # Its steps reuse the month-end state of the account history,
            # so they read no intake table from this workspace.
            store_intake=False,
            # Only the returned frames are read, so no table goes to disk.
            in_memory=True,
        )
    except AcctlibError as error:
        # The report of this month stays useful without the comparison.
        note = f"No comparison with {earlier}: preparing that date failed ({error})."
        logger.warning(note)
        prepared.notes.append(note)
        return None
    # Month-to-date bookings are set against the same days of the earlier month.
    compared_headline = movement.align_month_bookings(
        previous.headline, previous.frames["opportunity_snapshot"], params.as_of
    )
    # A deal whose creation date is a stand-in after that month-end may be
    # older, so it counts as open then too rather than as new this month.
    estimated_new_deals = movement.find_estimated_new_deals(
        prepared.frames["opportunity_snapshot"], earlier
    )
    compared_headline = movement.count_estimated_deals_as_previous(
        compared_headline, estimated_new_deals
    )
    changes = movement.compute_headline_changes(
        prepared.headline,
        compared_headline,
        new_year=earlier.year != params.as_of.year,
    )
    moves = movement.compute_account_movements(prepared.frames, previous.frames)
    reversed_bookings = movement.find_reversed_bookings(
        prepared.frames["opportunity_snapshot"],
        previous.frames["opportunity_snapshot"],
        params.as_of,
        earlier,
    )
    compared = {
        "headline_changes": changes,
        "account_movements": moves,
        "reversed_bookings": reversed_bookings,
    }
    prepared.frames.update(compared)
    con = engine.connect(workspace)
    try:
        for name, frame in compared.items():
            engine.write_table(con, name, frame)
    finally:
        con.disconnect()
    logger.info("compared with %s: %d account movements", earlier, len(moves))
    return {"as_of": earlier.isoformat(), **previous.headline}


def _export_prepared_tables(
    prepared, target: Path, workspace: Path, window_days: int = 90
) -> None:
    """Write every prepared table to ``target/<name>.parquet``.

    The account map's touch counts are named after the run's window, as
    in the account map CSV. Other tables keep their names: their counts
    cover fixed windows, such as the 30 and 90 days of
    ``account_progression``. DuckDB copies the tables and views stored
    from the engine straight from the workspace, in no particular row
    order, so they are never loaded into pandas. A table that only backs a
    view is left out.
    """
    target.mkdir(parents=True, exist_ok=True)
    for name, frame in sorted(prepared.frames.items()):
        if name == "account_map":
            frame = frame.rename(columns=accountmap.window_column_names(window_days))
        frame.to_parquet(target / f"{name}.parquet", index=False)
    names = prepared.exported_engine_tables()
    if not names:
        return
    con = engine.connect(workspace, read_only=True)
    try:
        engine.limit_memory(con, EXPORT_MEMORY_LIMIT)
        for name in names:
            # Rows of these tables come in no particular order anyway.
            path = target / f"{name}.parquet"
            engine.export_parquet(con, name, path, keep_order=False)
    finally:
        con.disconnect()


def _keep_failed(executed: Path, params: Params) -> None:
    """Copy a failed executed notebook to ``work_dir/failed-runs/<run>/``."""
    if not executed.is_file():
        return
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = Path(params["work_dir"]) / "failed-runs" / f"{params.run_name}-{stamp}"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target / executed.name)
    logger.error("failed notebook kept at %s", target / executed.name)


def _warn_if_parameters_differ(run_dir: Path, params: dict[str, Any]) -> None:
    """Log a warning when ``run_dir`` was built with other parameters than ``params``.

    ``params`` is the JSON form of the new run's parameters. The output
    folders and the technical parameters, which no figure depends on, are
    not compared, and neither is a parameter that only one of the two runs
    records, such as one declared after the old run was built.
    """
    manifest_file = run_dir / "manifest.json"
    if not manifest_file.is_file():
        return
    try:
        recorded = json.loads(manifest_file.read_text(encoding="utf-8"))["params"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        logger.warning(
            "replacing run %s, whose parameters could not be read from %s: %s",
            run_dir.name,
            manifest_file,
            error,
        )
        return
    declarations = load_declarations()
    ignored = set(OUTPUT_PARAMS) | {
        name for name, declaration in declarations.items() if declaration.technical
    }
    differences = [
        f"{name} {_short_json(recorded[name])} -> {_short_json(params[name])}"
        for name in sorted(set(recorded) & set(params) - ignored)
        if recorded[name] != params[name]
    ]
    if differences:
        logger.warning(
            "replacing run %s, which was built with other parameters: %s",
            run_dir.name,
            "; ".join(differences),
        )


def _short_json(value: Any, limit: int = 60) -> str:
    """Return ``value`` as JSON, cut to ``limit`` characters with ``...``."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    if len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


def _move_into_place(staging: Path, final: Path) -> Path:
    """Replace ``final`` with ``staging``, keeping the old folder until the swap."""
    previous = final.with_name(f".previous-{final.name}-{os.getpid()}")
    if final.exists():
        final.rename(previous)
    staging.rename(final)
    shutil.rmtree(previous, ignore_errors=True)
    return final


def _manifest(
    params, intake, prepared, sections, command, generated_at
) -> dict[str, Any]:
    return {
        "acctlib_version": __version__,
        "run": params.run_name,
        "as_of": params.as_of.isoformat(),
        "variant": params["variant"],
        "generated_at": generated_at.isoformat().replace("+00:00", "Z"),
        # The command is only shown. A rerun reads the parameters and
        # inputs below, which keep their paths as given.
        "command": display_command(command),
        # Relative paths in the parameters and inputs resolve against this
        # folder, so that ``acctlib verify`` can rebuild from any folder.
        "working_dir": os.getcwd(),
        "params": intake.params_in_effect(params),
        "seed": params["seed"],
        "profile": intake.profile,
        "inputs": [item.__dict__ for item in intake.inputs],
        "intake": intake.counts().to_dict("records"),
        "rejected_rows": intake.quarantine.count(),
        "rejected_by_reason": intake.quarantine.summary().to_dict("records"),
        "notes": [*intake.notes, *prepared.notes],
        "headline": prepared.headline,
        "sections": [path.stem for path in sections],
        "python": sys.version.split()[0],
        "packages": _package_versions(),
        "git_commit": _git_commit(),
    }


def _package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _git_commit() -> str | None:
    """Return the checked-out commit, with ``-dirty`` when files changed."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{commit}-dirty" if status else commit
