"""Tests for opening the engine backend and redacting its settings."""

from __future__ import annotations

from types import SimpleNamespace

import ibis
import pandas as pd
import pytest

from acctlib import engine, prepare
from acctlib.errors import EngineError, ParameterError
from acctlib.params import REDACTED, redact_secrets, resolve_params


def make_touchpoints() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "touch_id": ["t1", "t2"],
            "account_id": ["a1", "a2"],
            "occurred_at": pd.to_datetime(
                ["2026-06-01T10:00:00Z", "2026-06-02T10:00:00Z"]
            ),
            "channel": ["webinar", "email"],
            "function": ["marketing", "sdr"],
        }
    )


def test_duckdb_engine_reuses_workspace():
    """With engine duckdb the workspace connection itself runs the work."""
    workspace = engine.connect()
    params = resolve_params(None, ["engine=duckdb"])

    backend = engine.connect_backend(params, workspace)

    assert backend is workspace
    engine.disconnect_backend(backend, workspace)
    assert workspace.raw_sql("SELECT 1").fetchall() == [(1,)]
    workspace.disconnect()


def test_optimizers_off_restores_earlier_setting():
    """Passes are off inside the block and as before after it, even on error."""
    con = engine.connect()
    con.raw_sql("SET disabled_optimizers = 'top_n'")

    def disabled():
        query = "SELECT current_setting('disabled_optimizers')"
        return con.raw_sql(query).fetchone()[0]

    with pytest.raises(RuntimeError):
        with engine.optimizers_off(con, "partial_aggregate_pushdown"):
            assert disabled() == "top_n,partial_aggregate_pushdown"
            raise RuntimeError("stop")
    assert disabled() == "top_n"
    con.disconnect()


def test_missing_backend_package_names_fix():
    """An engine whose driver is not installed names the pip command."""
    params = resolve_params(None, ["engine=snowflake"])

    with pytest.raises(ParameterError, match=r"ibis-framework\[snowflake\]"):
        engine.connect_backend(params)


def test_connection_error_hides_password(monkeypatch):
    """A failed connection names the engine but not the URL's password."""

    class FailingBackend:
        @staticmethod
        def connect(**options):
            raise RuntimeError("cannot reach postgres://ana:hunter2@db:5432/crm")

    monkeypatch.setattr(engine, "_import_backend", lambda name: FailingBackend)
    params = resolve_params(None, ["engine=postgres"])

    with pytest.raises(ParameterError, match="could not connect to engine") as caught:
        engine.connect_backend(params)

    assert "postgres://ana:***@db:5432/crm" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_unknown_engine_rejected():
    """An engine outside the declared choices is a parameter error."""
    with pytest.raises(ParameterError, match="choose one of duckdb, pyspark"):
        resolve_params(None, ["engine=excel"])


def test_touchpoints_uploaded_to_backend():
    """Validated touchpoints reach a backend that does not hold them yet."""
    backend = engine.connect()
    params = resolve_params(None, [])

    table = engine.load_touchpoints(backend, make_touchpoints(), params)

    assert table.count().execute() == 2
    assert backend.table("touchpoints").count().execute() == 2
    backend.disconnect()


def test_touchpoints_table_option_reads_existing():
    """engine_options.touchpoints_table names a table already in the backend."""
    backend = engine.connect()
    engine.write_table(backend, "crm_touches", make_touchpoints().head(1))
    params = resolve_params(None, ["engine_options={touchpoints_table: crm_touches}"])

    table = engine.load_touchpoints(backend, make_touchpoints(), params)

    assert table.count().execute() == 1
    backend.disconnect()


def test_touchpoints_table_option_with_schema():
    """A dotted touchpoints_table names the table's schema too."""
    backend = engine.connect()
    backend.raw_sql("CREATE SCHEMA crm")
    backend.create_table("touches", make_touchpoints(), database="crm")
    params = resolve_params(None, ["engine_options={touchpoints_table: crm.touches}"])

    table = engine.load_touchpoints(backend, None, params)

    assert table.count().execute() == 2
    backend.disconnect()


def test_no_touchpoints_gives_none():
    backend = engine.connect()

    assert engine.load_touchpoints(backend, None, resolve_params(None, [])) is None
    backend.disconnect()


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"password": "hunter2"}, {"password": REDACTED}),
        ({"token": "abc", "user": "ana"}, {"token": REDACTED, "user": "ana"}),
        ({"credentials_path": "/k.json"}, {"credentials_path": REDACTED}),
        (
            {"spark_conf": {"spark.hadoop.fs.s3a.access.key": "AK", "x": "1"}},
            {"spark_conf": {"spark.hadoop.fs.s3a.access.key": REDACTED, "x": "1"}},
        ),
        (
            {"url": "postgres://ana:hunter2@db:5432/crm"},
            {"url": f"postgres://ana:{REDACTED}@db:5432/crm"},
        ),
        (
            {"master": "local[2]", "keyspace": "crm"},
            {"master": "local[2]", "keyspace": "crm"},
        ),
    ],
)
def test_redact_secrets(options, expected):
    assert redact_secrets(options) == expected


def test_manifest_form_hides_engine_secrets():
    """Params.to_json, which manifests store, never contains the password."""
    params = resolve_params(
        None,
        ["engine=postgres", "engine_options={user: ana, password: hunter2}"],
    )

    stored = params.to_json()

    assert stored["engine_options"] == {"user": "ana", "password": REDACTED}
    assert params["engine_options"]["password"] == "hunter2"
    assert "hunter2" not in repr(params)


def test_cache_table_keeps_computed_rows():
    """A cached expression is computed once; later source changes do not reach it."""
    backend = engine.connect()
    source = backend.create_table("touches", make_touchpoints())
    expression = source.filter(source.channel == "email")

    cached = engine.cache_table(backend, expression)
    backend.raw_sql("DELETE FROM touches")

    assert cached.count().execute() == 1
    assert "_acctlib_" in cached.get_name()
    backend.disconnect()


def test_write_expression_from_workspace_engine():
    """An expression on the workspace itself is stored with CREATE TABLE AS."""
    workspace = engine.connect()
    source = workspace.create_table(
        "source", pd.DataFrame({"account_id": ["A1", "A2"], "cents": [5, 7]})
    )

    engine.write_expression(workspace, "stored", source.filter(source.cents > 5))

    assert workspace.table("stored").to_pandas().to_dict("list") == {
        "account_id": ["A2"],
        "cents": [7],
    }


def test_write_expression_streams_other_backend(tmp_path):
    """An expression on another backend is streamed into the workspace."""
    other = engine.connect()
    rows = pd.DataFrame({"account_id": [f"A{i}" for i in range(5)], "cents": range(5)})
    source = other.create_table("source", rows)
    workspace = engine.connect(tmp_path / "workspace.duckdb")

    engine.write_expression(workspace, "stored", source.order_by("cents"))
    engine.export_parquet(workspace, "stored", tmp_path / "stored.parquet")

    stored = workspace.table("stored").order_by("cents").to_pandas()
    assert stored["account_id"].tolist() == rows["account_id"].tolist()
    exported = pd.read_parquet(tmp_path / "stored.parquet")
    assert exported["cents"].tolist() == [0, 1, 2, 3, 4]


def test_export_in_any_order_keeps_rows_and_setting(tmp_path):
    """An export in any order writes every row and leaves the order setting."""
    workspace = engine.connect(tmp_path / "workspace.duckdb")
    workspace.con.execute(
        "CREATE TABLE stored AS SELECT i AS cents, 'A' || (i % 7) AS account_id "
        "FROM range(300000) t(i)"
    )
    workspace.con.execute(
        "CREATE VIEW doubled AS SELECT cents * 2 AS cents FROM stored"
    )

    engine.export_parquet(
        workspace, "doubled", tmp_path / "doubled.parquet", keep_order=False
    )

    exported = pd.read_parquet(tmp_path / "doubled.parquet")
    assert sorted(exported["cents"].tolist()) == list(range(0, 600000, 2))
    setting = "SELECT current_setting('preserve_insertion_order')"
    assert workspace.con.execute(setting).fetchone()[0] is True


def test_drop_cached_removes_table():
    """A dropped cache table is no longer in the backend."""
    backend = engine.connect()
    cached = engine.cache_table(backend, ibis.memtable({"cents": [1, 2]}))

    engine.drop_cached(backend, cached)

    names = backend.con.execute(
        "SELECT table_name FROM information_schema.tables"
    ).fetchall()
    assert (cached.get_name().split(".")[-1],) not in names


def test_memory_limit_caps_workspace_and_spills_beside_it(tmp_path):
    con = engine.connect(tmp_path / "workspace.duckdb")
    engine.limit_memory(con, "500MB")
    limit, folder = con.con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchone()
    assert limit == "476.8 MiB"
    assert folder == str(tmp_path / "workspace.duckdb.tmp")


def test_empty_memory_limit_keeps_duckdb_default():
    con = engine.connect()
    before = con.con.execute("SELECT current_setting('memory_limit')").fetchone()
    engine.limit_memory(con, "")
    after = con.con.execute("SELECT current_setting('memory_limit')").fetchone()
    assert after == before


def test_unreadable_memory_limit_names_the_fix():
    with pytest.raises(ParameterError, match="such as 4GB or 500MB"):
        engine.limit_memory(engine.connect(), "plenty")


def test_read_frame_equals_ibis_to_pandas():
    con = engine.connect()
    frame = pd.DataFrame(
        {
            "account_id": ["A1", None, "A3"],
            "tier": pd.array([1, None, 3], dtype="Int64"),
            "score": [0.5, None, 2.0],
            "at_risk": pd.array([True, None, False], dtype="boolean"),
            "month_end": pd.to_datetime(["2026-05-31", None, "2026-06-30"]),
            "empty": [None, None, None],
        }
    )
    engine.write_table(con, "mixed", frame)
    con.con.execute("CREATE TABLE dated AS SELECT DATE '2026-06-30' AS day, NULL AS x")
    con.con.execute("CREATE TABLE empty AS SELECT * FROM mixed LIMIT 0")
    for name in ("mixed", "dated", "empty"):
        table = con.table(name)
        with engine.quiet_conversions():
            expected = table.to_pandas()
        pd.testing.assert_frame_equal(engine.read_frame(table), expected, obj=name)
        pd.testing.assert_frame_equal(engine.read_table(con, name), expected, obj=name)
    with engine.quiet_conversions():
        expected = con.table("mixed").select("tier", "month_end").to_pandas()
    selected = engine.read_frame(con.table("mixed").select("tier", "month_end"))
    pd.testing.assert_frame_equal(selected, expected)


def fake_spark_backend(exit_code: int | None) -> SimpleNamespace:
    """Return a pyspark-named backend whose driver exits with ``exit_code``.

    An ``exit_code`` of None is a driver that is still running.
    """
    process = SimpleNamespace(poll=lambda: exit_code)
    context = SimpleNamespace(_gateway=SimpleNamespace(proc=process))
    return SimpleNamespace(
        name="pyspark",
        _session=SimpleNamespace(sparkContext=context),
        disconnect=lambda: pytest.fail("disconnect called on a stopped driver"),
    )


def test_spark_conf_ends_driver_on_oom():
    settings = engine.spark_conf({"spark.sql.shuffle.partitions": 4})

    assert settings["spark.sql.shuffle.partitions"] == "4"
    assert settings["spark.driver.extraJavaOptions"] == engine.SPARK_EXIT_ON_OOM


def test_spark_conf_keeps_given_java_options():
    given = {"spark.driver.extraJavaOptions": "-Dfile.encoding=UTF-8"}

    settings = engine.spark_conf(given)

    expected = f"-Dfile.encoding=UTF-8 {engine.SPARK_EXIT_ON_OOM}"
    assert settings["spark.driver.extraJavaOptions"] == expected
    assert engine.spark_conf(settings) == settings


def test_stopped_spark_driver_names_the_fix():
    """A driver that exited, as on OOM, gives an error naming the settings."""
    failure = engine.engine_failure(fake_spark_backend(3), ConnectionError("reset"))

    assert isinstance(failure, EngineError)
    message = str(failure)
    assert "engine 'pyspark' failed (ConnectionError: reset)" in message
    assert "spark.driver.memory" in message
    assert "engine_options.touchpoints_table" in message


def test_py4j_error_of_running_spark_explained():
    from py4j.protocol import Py4JError

    failure = engine.engine_failure(fake_spark_backend(None), Py4JError("o42.sql"))

    assert isinstance(failure, EngineError)
    assert "Py4JError: o42.sql" in str(failure)
    assert "engine_options.spark_conf" in str(failure)


def test_other_errors_not_engine_failures():
    running = fake_spark_backend(None)

    assert engine.engine_failure(running, KeyError("account_id")) is None
    assert engine.engine_failure(engine.connect(), ConnectionError("x")) is None
    assert engine.engine_failure(None, ConnectionError("x")) is None


def test_prepare_step_raises_engine_error():
    """A step that fails on a stopped Spark driver stops with the fix, not a hang."""
    context = SimpleNamespace(backend=fake_spark_backend(3))

    def step(context):
        raise ConnectionRefusedError("gateway gone")

    with pytest.raises(EngineError, match="spark.driver.memory"):
        prepare._run_step(step, context)


def test_stopped_spark_driver_not_disconnected():
    engine.disconnect_backend(fake_spark_backend(3))
