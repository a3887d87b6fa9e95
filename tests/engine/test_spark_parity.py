"""Touchpoint-scale results on local Spark equal DuckDB's, through Ibis.

One local Spark session (about 10 to 30 seconds to start on two cores)
serves every case. Each case runs one engine computation on the small
sample twice, on the DuckDB workspace and on Spark, and compares the frames
exactly; money columns are compared to the cent.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pytest

from acctlib import accountmap, accountstate, asof, engine
from acctlib.attribution.credits import compute_attribution
from acctlib.attribution.settings import AttributionSettings
from acctlib.engagementhistory import summarize_engagement_history
from acctlib.intake import load_source
from tests.conftest import small_params

pytestmark = [
    pytest.mark.spark,
    # pyspark 4.3's toPandas passes pandas 3 the deprecated copy keyword.
    pytest.mark.filterwarnings(
        "ignore:The copy keyword is deprecated:pandas.errors.Pandas4Warning"
    ),
]

SPARK_OPTIONS = {
    "master": "local[2]",
    "app_name": "acctlib-parity-test",
    "spark_conf": {
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.sql.session.timeZone": "UTC",
    },
}


@dataclass
class ParityInputs:
    """Parameters, validated tables and the as-of snapshot of one sample."""

    params: object
    tables: dict[str, pd.DataFrame]
    snapshot: pd.DataFrame


@pytest.fixture(scope="session")
def parity_inputs(small_sample, tmp_path_factory) -> ParityInputs:
    root = tmp_path_factory.mktemp("spark-parity")
    params = small_params(small_sample, root)
    intake = load_source(params)
    snapshot = asof.snapshot_opportunities(
        intake.tables["opportunities"],
        intake.tables.get("stage_history"),
        intake.stage_map,
        params.as_of,
        default_contract_months=params["default_contract_months"],
    )
    return ParityInputs(params=params, tables=intake.tables, snapshot=snapshot)


@pytest.fixture(scope="session")
def spark_backend(parity_inputs, tmp_path_factory):
    """Ibis pyspark backend on a local two-core session, loopback only."""
    scratch = tmp_path_factory.mktemp("spark")
    options = {
        **SPARK_OPTIONS,
        "spark_conf": {
            **SPARK_OPTIONS["spark_conf"],
            "spark.sql.warehouse.dir": str(scratch / "warehouse"),
            "spark.local.dir": str(scratch / "local"),
        },
    }
    params = parity_inputs.params.replace(engine="pyspark", engine_options=options)
    backend = engine.connect_backend(params)
    backend._session.sparkContext.setLogLevel("ERROR")
    yield backend
    backend._session.stop()


@pytest.fixture(scope="session")
def duckdb_backend():
    backend = engine.connect()
    yield backend
    backend.disconnect()


def summarize_activity(backend, touches, inputs: ParityInputs) -> pd.DataFrame:
    return accountmap.summarize_touch_activity(
        touches,
        inputs.snapshot,
        inputs.params.as_of,
        window_days=inputs.params["influence_window_days"],
        lookback_days=inputs.params["lookback_days"],
    )


def summarize_engagement_months(backend, touches, inputs: ParityInputs):
    """Engagement on the three month-ends before the as-of date, stacked."""
    dates = accountstate.month_ends_before(inputs.params.as_of, 3)
    history = summarize_engagement_history(touches, dates, weekly_dates=dates[-1:])
    frames = [history[date][0].assign(month_end=str(date)) for date in dates]
    return pd.concat(frames, ignore_index=True)


def attribute(backend, touches, inputs: ParityInputs):
    """Run the whole attribution, every model, on ``backend``."""
    settings = AttributionSettings.from_params(inputs.params, inputs.params.as_of)
    return compute_attribution(backend, touches, inputs.snapshot, settings)


@pytest.fixture(scope="session")
def attribution_runs(parity_inputs, spark_backend, duckdb_backend):
    """Attribution results on DuckDB and on Spark, computed once for all cases."""
    touchpoints = parity_inputs.tables["touchpoints"]
    runs = {}
    for name, backend in (("duckdb", duckdb_backend), ("spark", spark_backend)):
        touches = engine.load_touchpoints(backend, touchpoints, parity_inputs.params)
        runs[name] = attribute(backend, touches, parity_inputs)
    return runs


# Engine computations compared between DuckDB and Spark: a name, the
# function taking the backend, its Ibis touchpoints table and the inputs,
# and the money columns compared to the cent.
PARITY_CASES: dict[str, tuple[Callable[..., pd.DataFrame], tuple[str, ...]]] = {
    "touch_activity": (summarize_activity, ()),
    "engagement_history": (summarize_engagement_months, ()),
}


@pytest.mark.parametrize("case", sorted(PARITY_CASES))
def test_spark_matches_duckdb(case, parity_inputs, spark_backend, duckdb_backend):
    """The same Ibis code gives identical frames on Spark and DuckDB."""
    compute, money_columns = PARITY_CASES[case]
    touchpoints = parity_inputs.tables["touchpoints"]
    on_duckdb = engine.load_touchpoints(
        duckdb_backend, touchpoints, parity_inputs.params
    )
    on_spark = engine.load_touchpoints(spark_backend, touchpoints, parity_inputs.params)

    expected = compute(duckdb_backend, on_duckdb, parity_inputs)
    result = compute(spark_backend, on_spark, parity_inputs)

    assert len(expected) > 0
    for column in money_columns:
        assert (result[column] - expected[column]).abs().max() < 0.005, column
    pd.testing.assert_frame_equal(result, expected, check_exact=not money_columns)


def test_spark_reads_touchpoints_from_parquet(parity_inputs, spark_backend, tmp_path):
    """Local Spark scans the touchpoints from a Parquet file in the given folder."""
    touchpoints = parity_inputs.tables["touchpoints"]

    table = engine.load_touchpoints(
        spark_backend, touchpoints, parity_inputs.params, folder=tmp_path
    )

    files = spark_backend._session.table("touchpoints").inputFiles()
    assert len(files) == 1
    assert str(tmp_path) in files[0]
    assert files[0].endswith("touchpoints.parquet")
    assert table.count().execute() == len(touchpoints)


# Attribution tables compared between the engines, with their money columns.
ATTRIBUTION_TABLES = {
    "credits": ("credit_cents", "credit"),
    "campaign_credits": ("credit_cents", "credit"),
    "opportunities": ("amount_cents", "amount"),
    "excluded_touches": (),
    "markov": (),
    "shapley": (),
}


def _attribution_table(run, table: str) -> pd.DataFrame:
    if table == "credits":
        return run.fetch_credits()
    return getattr(run, table)


@pytest.mark.parametrize("table", sorted(ATTRIBUTION_TABLES))
def test_spark_attribution_matches_duckdb(table, attribution_runs):
    """Each attribution table on Spark equals DuckDB's, money to the cent."""
    expected = _attribution_table(attribution_runs["duckdb"], table)
    result = _attribution_table(attribution_runs["spark"], table)

    assert len(expected) > 0
    for column in ATTRIBUTION_TABLES[table]:
        assert (result[column] - expected[column]).abs().max() < 0.005, column
    pd.testing.assert_frame_equal(result, expected)


def test_spark_credits_cover_every_model(attribution_runs, parity_inputs):
    """The Spark run credits every configured model for each credit kind."""
    credits = attribution_runs["spark"].fetch_credits()
    models = set(parity_inputs.params["attribution_models"])

    assert set(credits["model"]) == models
    assert set(credits["kind"]) == {"revenue", "pipeline"}


def test_spark_credits_stream_into_workspace(attribution_runs, tmp_path):
    """Credits computed on Spark are streamed into a DuckDB workspace intact."""
    workspace = engine.connect(tmp_path / "workspace.duckdb")
    engine.write_expression(
        workspace, "attribution_credits", attribution_runs["spark"].credits
    )

    stored = workspace.table("attribution_credits").to_pandas()
    expected = attribution_runs["duckdb"].fetch_credits()
    keys = ["kind", "model", "opportunity_id", "channel", "function"]
    stored = stored.sort_values(keys).reset_index(drop=True)
    assert len(stored) == len(expected)
    assert stored["credit_cents"].tolist() == expected["credit_cents"].tolist()
    workspace.disconnect()


def test_spark_shared_deal_credits_match_duckdb(
    parity_inputs, spark_backend, duckdb_backend
):
    """A deal shared by two companies draws the same touches on both engines."""
    snapshot = parity_inputs.snapshot
    deal = snapshot[snapshot["is_won"].astype(bool)].iloc[0]
    other = sorted(set(snapshot["account_id"]) - {deal["account_id"]})[0]
    links = pd.DataFrame(
        {
            "opportunity_id": [deal["opportunity_id"]] * 2,
            "account_id": [deal["account_id"], other],
            "share": [0.5, 0.5],
        }
    )
    settings = AttributionSettings.from_params(
        parity_inputs.params, parity_inputs.params.as_of
    )
    touchpoints = parity_inputs.tables["touchpoints"]
    runs = {}
    for name, backend in (("duckdb", duckdb_backend), ("spark", spark_backend)):
        touches = engine.load_touchpoints(backend, touchpoints, parity_inputs.params)
        result = compute_attribution(
            backend, touches, snapshot, settings, deal_companies=links
        )
        runs[name] = result.fetch_credits()

    pd.testing.assert_frame_equal(runs["spark"], runs["duckdb"])
    shared = runs["duckdb"]["opportunity_id"] == deal["opportunity_id"]
    assert shared.any()


# Runs in its own process, because Spark reads spark.driver.memory only when
# the JVM starts and the session fixture's JVM is already running.
OUT_OF_MEMORY_SCRIPT = textwrap.dedent(
    """
    from acctlib import engine
    from acctlib.params import resolve_params

    options = "{master: 'local[1]', spark_conf: {spark.driver.memory: 512m}}"
    params = resolve_params(None, ["engine=pyspark", f"engine_options={options}"])
    backend = engine.connect_backend(params)
    jvm = backend._session.sparkContext._jvm
    try:
        # 2 GB of longs, past the 512 MB heap (Spark needs at least 450 MB).
        jvm.java.lang.reflect.Array.newInstance(jvm.java.lang.Long.TYPE, 2**28)
    except Exception as error:
        print(engine.engine_failure(backend, error))
        engine.disconnect_backend(backend)
    """
)


def test_spark_driver_out_of_memory_stops():
    """A driver out of heap exits, and the failure names the memory setting."""
    result = subprocess.run(
        [sys.executable, "-c", OUT_OF_MEMORY_SCRIPT],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"},
    )

    assert "the Spark driver stopped, most likely out of memory" in result.stdout
    assert "spark.driver.memory" in result.stdout
