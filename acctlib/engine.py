"""Connections to the run workspace and to the engine of touchpoint-scale work.

A run's prepared tables live in one DuckDB file, opened with :func:`connect`.
Touchpoint-scale work is written as Ibis expressions and runs on the backend
that :func:`connect_backend` opens from the ``engine`` parameter: the
workspace's own DuckDB by default, or Spark or a warehouse that Ibis
supports. Only account-sized results come back to pandas. A
touchpoint-sized result that the report keeps, such as the attribution
credits, goes from the engine into the workspace with
:func:`write_expression`.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import logging
import shutil
import tempfile
import time
import uuid
import warnings
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pandas as pd
import pyarrow as pa
from packaging.requirements import Requirement

from acctlib.errors import EngineError, ParameterError
from acctlib.intake.bulktable import BulkTable
from acctlib.params import redact_url_passwords

logger = logging.getLogger(__name__)

DEFAULT_ENGINE = "duckdb"
TOUCHPOINTS_TABLE_OPTION = "touchpoints_table"
"""``engine_options`` key naming a touchpoints table already in the backend."""
SPARK_EXIT_ON_OOM = "-XX:+ExitOnOutOfMemoryError"
"""JVM option that ends a Spark driver out of heap, which would hang otherwise."""
SPARK_PARQUET_ROWS = 1_000_000
"""Rows per Parquet row group of the touchpoints that Spark reads."""


def connect(path: str | Path | None = None, *, read_only: bool = False):
    """Open the DuckDB workspace at ``path`` (in memory when None) through Ibis.

    Several processes may open one file at once only when all of them open
    it ``read_only``; the build writes the file before any notebook reads it.
    """
    if path is None:
        return ibis.duckdb.connect()
    return ibis.duckdb.connect(str(path), read_only=read_only)


def set_temp_directory(con, folder: Path) -> None:
    """Have DuckDB connection ``con`` spill to ``folder``.

    An in-memory database spills to ``.tmp`` in the working folder of the
    process otherwise.
    """
    escaped = str(folder).replace("'", "''")
    con.raw_sql(f"SET temp_directory = '{escaped}'")


def limit_memory(con, limit: str) -> None:
    """Cap the memory of DuckDB connection ``con`` at ``limit``, such as "4GB".

    Past the cap DuckDB spills to its temporary folder, which for a
    workspace file is ``<file>.tmp`` next to it. An empty ``limit`` keeps
    DuckDB's default. The limit covers DuckDB's buffers only, not pandas.

    Raises
    ------
    ParameterError
        When DuckDB does not read ``limit`` as a size.
    """
    if not str(limit).strip():
        return
    try:
        con.con.execute("SET memory_limit = ?", [str(limit)])
    except duckdb.Error as error:
        raise ParameterError(
            f"duckdb_memory_limit {limit!r} is not a size DuckDB reads ({error}); "
            "use a number with a unit, such as 4GB or 500MB, or leave it empty"
        ) from error


def check_memory_limit(limit: str) -> None:
    """Raise ParameterError now if DuckDB does not read ``limit`` as a size.

    Sets the limit on a throwaway in-memory connection, so a build can
    reject a bad ``duckdb_memory_limit`` before intake.
    """
    con = connect()
    try:
        limit_memory(con, limit)
    finally:
        con.disconnect()


def check_backend_installed(name: str) -> None:
    """Raise ParameterError now if the Ibis backend ``name`` does not import.

    Also raises when a package of the ``ibis-framework[name]`` extra is
    missing. Connecting needs ``engine_options`` and the server, so only
    the installation is checked before intake. DuckDB is always installed.
    """
    if name == DEFAULT_ENGINE:
        return
    _import_backend(name)
    missing = _missing_extra_packages(name)
    if missing:
        raise _missing_backend(name, f"not installed: {', '.join(missing)}")


def _missing_extra_packages(name: str) -> list[str]:
    """Return the packages of the ``ibis-framework[name]`` extra that are missing.

    Some Ibis backend modules, such as snowflake's in Ibis 12, import their
    driver only when connecting, so a successful import proves nothing.
    """
    missing = []
    for line in importlib.metadata.requires("ibis-framework") or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or not marker.evaluate({"extra": name}):
            continue
        try:
            importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(requirement.name)
    return missing


def connect_backend(params: Mapping[str, Any], workspace_con: Any = None):
    """Open the Ibis backend named by ``params["engine"]``.

    With ``engine: duckdb`` the touchpoint-scale work runs in the workspace,
    so ``workspace_con`` is returned when given (an in-memory DuckDB
    otherwise). Any other engine is opened with ``ibis.<engine>.connect``
    and the keyword arguments in ``params["engine_options"]``; for
    ``pyspark`` a Spark session is built first from ``master`` (default
    ``local[*]``), ``app_name`` and the ``spark_conf`` mapping.

    Raises
    ------
    ParameterError
        When the backend's Python packages are not installed or the
        connection fails; the message names the engine and the fix.
    """
    name = str(params.get("engine", DEFAULT_ENGINE))
    options = {
        key: value
        for key, value in dict(params.get("engine_options") or {}).items()
        if key != TOUCHPOINTS_TABLE_OPTION
    }
    if name == DEFAULT_ENGINE and workspace_con is not None:
        return workspace_con

    backend_module = _import_backend(name)
    try:
        if name == "pyspark":
            return _connect_spark(backend_module, options)
        return backend_module.connect(**options)
    except ModuleNotFoundError as error:
        raise _missing_backend(name, error) from error
    except Exception as error:
        # Each backend raises its own driver's errors; the run reports them
        # all as a connection problem of the configured engine.
        # Drivers may echo the connection URL, password included.
        detail = redact_url_passwords(f"{type(error).__name__}: {error}")
        detail = detail.splitlines()[0]
        raise ParameterError(
            f"could not connect to engine {name!r}: {detail}; check "
            "engine_options (host, database, credentials) for that backend"
        ) from error


def disconnect_backend(backend: Any, workspace_con: Any = None) -> None:
    """Close ``backend`` unless it is the workspace connection itself.

    A Spark backend whose driver has exited is left as it is, because
    stopping its session would fail on the lost connection.
    """
    if backend is None or backend is workspace_con:
        return
    if backend.name == "pyspark" and _spark_driver_stopped(backend):
        return
    backend.disconnect()


def load_touchpoints(
    backend: Any,
    touchpoints: pd.DataFrame | BulkTable | None,
    params: Mapping[str, Any],
    *,
    stored: bool = False,
    folder: Path | None = None,
):
    """Return the touchpoints as an Ibis table on ``backend``, or None.

    ``engine_options.touchpoints_table`` names a table that already lives
    in the backend, where large data stays. Otherwise the validated
    ``touchpoints`` are used: read back as table ``touchpoints`` when
    ``stored`` says the backend already holds it (the workspace does),
    uploaded as that table otherwise. A :class:`BulkTable` is uploaded
    through Arrow. Local Spark reads them from a Parquet file that is
    written to a new folder inside ``folder`` (the system's temporary
    folder when None) and removed with ``backend``.
    """
    options = dict(params.get("engine_options") or {})
    existing = options.get(TOUCHPOINTS_TABLE_OPTION)
    if existing:
        return _table_by_name(backend, str(existing))
    if touchpoints is None:
        return None
    if stored:
        return backend.table("touchpoints")
    if backend.name == "pyspark" and _is_local_spark(backend):
        return _read_touchpoints_on_spark(backend, touchpoints, folder)
    if isinstance(touchpoints, BulkTable):
        touchpoints = touchpoints.to_arrow()
    with quiet_conversions():
        # Temporary tables and Spark's temporary views live as long as the
        # session and write nothing to the backend's catalog or warehouse.
        if backend.name == "pyspark":
            # NOTE: on a Spark cluster the executors cannot read a file of
            # the driver's machine, so the rows go through the driver's
            # heap, which needs spark.driver.memory to match.
            return backend.create_view(
                "touchpoints", ibis.memtable(touchpoints), overwrite=True
            )
        return backend.create_table(
            "touchpoints", obj=touchpoints, temp=True, overwrite=True
        )


def _is_local_spark(backend: Any) -> bool:
    """Return True when ``backend``'s Spark session runs on this machine."""
    return str(backend._session.sparkContext.master).startswith("local")


def _read_touchpoints_on_spark(
    backend: Any, touchpoints: pd.DataFrame | BulkTable, folder: Path | None
):
    """Write ``touchpoints`` to Parquet and return them as Spark's view ``touchpoints``.

    A memtable goes through the driver's heap and out inside Spark's tasks.
    On the 300,000 touchpoints of the bundled sample, the build's first
    Spark query then shipped a 17 MB task and ran the driver's default
    1 GB heap out of memory (local[1], pyspark 4.3). For a Parquet scan
    Spark sends only the file's path, and the tasks read the rows.
    """
    import pyarrow.parquet as pq

    target = Path(tempfile.mkdtemp(prefix="acctlib-spark-", dir=folder))
    weakref.finalize(backend, shutil.rmtree, target, ignore_errors=True)
    path = target / "touchpoints.parquet"
    if isinstance(touchpoints, BulkTable):
        reader = touchpoints.to_arrow_reader()
    else:
        table = pa.Table.from_pandas(touchpoints, preserve_index=False)
        reader = table.to_reader(max_chunksize=SPARK_PARQUET_ROWS)
    # Spark 4 rejects Parquet timestamps in nanoseconds, and its own
    # timestamps hold microseconds.
    with pq.ParquetWriter(path, reader.schema, coerce_timestamps="us") as writer:
        for batch in reader:
            writer.write_batch(batch, row_group_size=SPARK_PARQUET_ROWS)
    logger.debug("wrote the touchpoints for Spark to %s", path)
    with quiet_conversions():
        return backend.read_parquet(path, table_name="touchpoints")


def cache_table(backend: Any, expression: ibis.Table, prefix: str = "_acctlib"):
    """Compute ``expression`` once on ``backend`` and return a table of the result.

    On DuckDB and the SQL backends the result is a temporary table, kept
    until :func:`drop_cached` or the end of the session. Spark's Ibis
    backend rejects temporary tables, so there it is a temporary view of a
    local checkpoint, computed now. A cached view would keep the plan of
    ``expression``, and Spark would analyse that plan again in every query
    that reads the view, which for the plans of attribution ran the driver
    out of memory.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with quiet_conversions():
        if backend.name == "pyspark":
            backend.create_view(name, expression, overwrite=True)
            frame = backend._session.table(name).localCheckpoint(eager=True)
            frame.createOrReplaceTempView(name)
            return backend.table(name)
        if backend.name == "duckdb":
            return _create_table_as(backend, name, expression, temp=True)
        return backend.create_table(name, expression, temp=True)


def cache_parts(
    backend: Any, parts: list[ibis.Table], prefix: str = "_acctlib"
) -> ibis.Table:
    """Cache the rows of every expression of ``parts``, as :func:`cache_table` does.

    On DuckDB each part runs as its own statement appending to one table,
    so the engine needs memory for one part's intermediate rows at a time
    and spills less to disk. Other backends
    cache the union of the parts at once. The parts must share a schema.
    """
    if backend.name != "duckdb" or len(parts) == 1:
        union = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
        return cache_table(backend, union, prefix=prefix)
    table = cache_table(backend, parts[0], prefix=prefix)
    name = table.get_name().split(".")[-1]
    with quiet_conversions():
        for part in parts[1:]:
            backend.con.execute(f'INSERT INTO "{name}" {_compile_query(backend, part)}')
    return table


@contextlib.contextmanager
def optimizers_off(backend: Any, *names: str) -> Iterator[None]:
    """Turn off DuckDB's optimizer passes ``names`` for the statements inside.

    Other backends run unchanged. The passes turned off before are
    restored on the way out.
    """
    if backend.name != "duckdb":
        yield
        return
    con = backend.con
    before = con.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0]
    disabled = ",".join(filter(None, [before, *names]))
    con.execute(f"SET disabled_optimizers = '{disabled}'")
    try:
        yield
    finally:
        con.execute(f"SET disabled_optimizers = '{before}'")


def _create_table_as(
    backend: Any, name: str, expression: ibis.Table, *, temp: bool = False
) -> ibis.Table:
    """Create DuckDB table ``name`` from ``expression`` in one statement.

    ibis 12.0.0's ``create_table`` creates an empty table and inserts the
    query's rows, and with ``overwrite`` copies them once more, which for
    the credit table of a large source is tens of millions of rows.
    """
    kind = "TEMP TABLE" if temp else "TABLE"
    sql = _compile_query(backend, expression)
    backend.con.execute(f'CREATE OR REPLACE {kind} "{name}" AS {sql}')
    return backend.table(name)


def _compile_query(backend: Any, expression: ibis.Table) -> str:
    """Return the SQL of ``expression`` with its memtables registered on DuckDB."""
    # The hook registers the expression's memtables, as ibis does before a
    # query.
    backend._run_pre_execute_hooks(expression)
    return backend.compile(expression)


def drop_cached(backend: Any, table: ibis.Table) -> None:
    """Drop a table made by :func:`cache_table`, freeing the memory it holds.

    Does nothing on Spark: there the cached table is a view, which views
    made later may read, so it stays for the session.
    """
    if backend.name == "pyspark":
        return
    # DuckDB names a temporary table temp.main.<name>; the last part is the
    # name it was created with.
    name = table.get_name().split(".")[-1]
    with quiet_conversions():
        backend.drop_table(name)


def _table_by_name(backend: Any, name: str):
    """Open ``table``, ``database.table`` or ``catalog.database.table``."""
    *database, table = name.split(".")
    if not database:
        return backend.table(table)
    location = database[0] if len(database) == 1 else tuple(database)
    return backend.table(table, database=location)


def _import_backend(name: str):
    try:
        # Most backend modules import their driver package too, but see
        # _missing_extra_packages.
        importlib.import_module(f"ibis.backends.{name}")
        return getattr(ibis, name)
    except (ImportError, AttributeError) as error:
        raise _missing_backend(name, error) from error


def _missing_backend(name: str, error: Exception | str) -> ParameterError:
    return ParameterError(
        f"engine {name!r} is not available ({error}); install its Ibis "
        f"backend with: pip install 'ibis-framework[{name}]'"
    )


def _connect_spark(backend_module, options: dict[str, Any]):
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(str(options.pop("master", "local[*]")))
    builder = builder.appName(str(options.pop("app_name", "acctlib")))
    for key, value in spark_conf(options.pop("spark_conf", {})).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    logger.info("opened Spark session %s", session.sparkContext.applicationId)
    return backend_module.connect(session, **options)


def spark_conf(conf: Mapping[str, Any] | None) -> dict[str, str]:
    """Return the Spark settings of ``conf`` as text, with the driver ending on OOM.

    A driver JVM out of heap keeps running with broken threads, and Python
    waits for its reply forever. With :data:`SPARK_EXIT_ON_OOM` the JVM
    exits, the waiting call fails, and :func:`engine_failure` explains it.
    The option is added to any ``spark.driver.extraJavaOptions`` given.
    Spark reads driver settings only when its JVM starts, which is when
    the first session of the Python process opens.
    """
    settings = {str(key): str(value) for key, value in dict(conf or {}).items()}
    key = "spark.driver.extraJavaOptions"
    java_options = settings.get(key, "").split()
    if SPARK_EXIT_ON_OOM not in java_options:
        settings[key] = " ".join([*java_options, SPARK_EXIT_ON_OOM])
    return settings


def engine_failure(backend: Any, error: BaseException) -> EngineError | None:
    """Return an :class:`EngineError` explaining ``error`` of Spark, or None.

    Errors of other backends, and errors that did not come from Spark or
    its Java gateway, give None so that the caller re-raises them as they
    are.
    """
    if backend is None or getattr(backend, "name", None) != "pyspark":
        return None
    from py4j.protocol import Py4JNetworkError

    module = type(error).__module__
    # The lost connection reaches Python before the driver's process has
    # ended, so the check waits a moment for it.
    lost = isinstance(error, (ConnectionError, Py4JNetworkError))
    driver_stopped = _spark_driver_stopped(backend, wait_seconds=10 if lost else 0)
    if not (driver_stopped or module.startswith(("py4j", "pyspark"))):
        return None
    detail = f"{type(error).__name__}: {error}".splitlines()[0]
    if driver_stopped:
        cause = (
            "the Spark driver stopped, most likely out of memory; raise "
            "spark.driver.memory in engine_options.spark_conf (Spark's "
            "default is 1g)"
        )
    else:
        cause = "check the Spark settings in engine_options.spark_conf"
    return EngineError(
        f"engine 'pyspark' failed ({detail}); {cause}, or name a touchpoints "
        "table that Spark already holds with engine_options.touchpoints_table"
    )


def _spark_driver_stopped(backend: Any, wait_seconds: float = 0) -> bool:
    """Return True when the driver JVM that pyspark launched has exited.

    Polls for up to ``wait_seconds``. A driver that pyspark did not launch,
    such as that of Spark Connect, counts as running.
    """
    session = getattr(backend, "_session", None)
    gateway = getattr(getattr(session, "sparkContext", None), "_gateway", None)
    process = getattr(gateway, "proc", None)
    if process is None:
        return False
    deadline = time.monotonic() + wait_seconds
    while process.poll() is None:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


@contextlib.contextmanager
def quiet_conversions() -> Iterator[None]:
    """Silence the deprecation warnings ibis 12 raises inside its own code.

    ibis 12.0.0 reads pandas 3's deprecated ``future.infer_string`` option
    and calls DuckDB 2's deprecated ``fetch_arrow_table()`` on every frame it
    converts; neither is something a report reader can act on.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="The 'future.infer_string' option is deprecated"
        )
        warnings.filterwarnings(
            "ignore", message=r"fetch_arrow_table\(\) is deprecated"
        )
        yield


def write_table(con, name: str, df: pd.DataFrame | BulkTable) -> None:
    """Store ``df`` as table ``name`` in the workspace, replacing any earlier one.

    A :class:`BulkTable` is copied from its own DuckDB database without
    passing through pandas, into a temporary table that lives as long as
    ``con`` and is not written to the workspace file. No notebook reads a
    bulk table, and writing 3 million rows to a DuckDB file took 8 to 15 s
    on the loaded 2-core benchmark machine, so 15 million touchpoints
    would take about a minute (an estimate).

    Object columns that hold no value at all (an empty frame, or a column
    that is missing everywhere) are stored as text, because DuckDB cannot
    create a column of the NULL type.
    """
    if isinstance(df, BulkTable):
        df.copy_into(con.con, name)
        logger.debug("stored table %s with %d rows", name, len(df))
        return
    untyped = [
        column
        for column in df.columns
        if df[column].dtype == object and df[column].isna().all()
    ]
    if untyped:
        df = df.astype({column: "str" for column in untyped})
    with quiet_conversions():
        con.create_table(name, obj=df, overwrite=True)
    logger.debug("stored table %s with %d rows", name, len(df))


def write_expression(con, name: str, expression: ibis.Table) -> None:
    """Store the rows of ``expression`` as table ``name`` in the workspace.

    When ``expression`` runs on the workspace connection ``con`` itself,
    the table is created from it inside DuckDB (``CREATE TABLE ... AS``),
    so no row passes through Python. On any other backend, such as Spark,
    the rows are streamed into the workspace as Arrow record batches, so
    the whole table is never held in memory at once. Replaces any earlier
    table ``name``.
    """
    if ibis.get_backend(expression) is con:
        with quiet_conversions():
            _create_table_as(con, name, expression)
        logger.debug("stored table %s from the workspace engine", name)
        return
    with quiet_conversions():
        batches = _record_batches(expression)
    view = f"_acctlib_batches_{uuid.uuid4().hex[:12]}"
    con.con.register(view, batches)
    try:
        con.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM {view}')
    finally:
        con.con.unregister(view)
    logger.debug(
        "stored table %s from engine %s", name, ibis.get_backend(expression).name
    )


def _record_batches(expression: ibis.Table, batch_rows: int = 1_000_000):
    """Return the rows of ``expression`` as a pyarrow RecordBatchReader."""
    backend = ibis.get_backend(expression)
    if backend.name != "duckdb":
        return expression.to_pyarrow_batches(chunk_size=batch_rows)
    # ibis 12.0.0 streams DuckDB results with fetch_record_batch(), which
    # DuckDB 2.0.1 no longer has, so the stream is opened here. The hook
    # registers the expression's memtables, as ibis does before a query.
    backend._run_pre_execute_hooks(expression)
    relation = backend.con.sql(backend.compile(expression))
    return relation.to_arrow_reader(batch_rows)


def write_view(con, name: str, expression: ibis.Table) -> None:
    """Store ``expression``, which reads workspace tables, as view ``name``.

    Replaces any earlier view ``name``. Readers of the workspace query it
    like a table.
    """
    with quiet_conversions():
        con.create_view(name, expression, overwrite=True)
    logger.debug("stored view %s", name)


def export_parquet(con, name: str, path: Path, *, keep_order: bool = True) -> None:
    """Write workspace table ``name`` to the Parquet file ``path`` in DuckDB.

    With ``keep_order`` False the rows may come in any order, which lets
    DuckDB write them from all its threads. The 49 million attribution
    credits of the large benchmark size took 35 s in order and 14 s
    without, at a 512 MB memory cap.
    """
    target = str(path).replace("'", "''")
    raw = con.con
    setting = "SELECT current_setting('preserve_insertion_order')"
    before = raw.execute(setting).fetchone()[0]
    raw.execute(f"SET preserve_insertion_order = {bool(keep_order)}")
    try:
        raw.execute(f"COPY \"{name}\" TO '{target}' (FORMAT parquet)")
    finally:
        raw.execute(f"SET preserve_insertion_order = {bool(before)}")


def read_table(con, name: str) -> pd.DataFrame:
    """Return a workspace table as a pandas frame."""
    return read_frame(con.table(name))


def read_frame(expression: ibis.Table) -> pd.DataFrame:
    """Return the rows of an Ibis table on DuckDB as pandas, through Arrow.

    The frame equals ``expression.to_pandas()``, dtypes included. Ibis's
    own conversion first turns every column with a missing value into
    Python objects: the account map of 100,000 accounts took 1.6 s to read
    that way and 0.1 s this way.
    """
    # NOTE: ibis 12 uses this converter inside to_pandas() on DuckDB, but
    # it is not a documented interface.
    from ibis.backends.duckdb.converter import DuckDBPandasData

    with quiet_conversions():
        table = expression.to_pyarrow()
        columns = {
            name: _column_to_pandas(column)
            for name, column in zip(table.column_names, table.columns, strict=True)
        }
        frame = pd.DataFrame(columns)
        return DuckDBPandasData.convert_table(frame, expression.schema())


def _column_to_pandas(column: Any) -> Any:
    """Return an Arrow column in the form ibis's DuckDB conversion expects.

    Ibis goes through Python lists for nested and dictionary columns and for
    every column with a missing value. Arrow's own conversion gives the same
    frame, except for a column with no value at all: it would read NaN
    where ibis reads None.
    """
    import pyarrow.types as types

    nested = types.is_nested(column.type) or types.is_dictionary(column.type)
    if nested or 0 < len(column) == column.null_count:
        return column.to_pylist()
    return column.to_pandas()
