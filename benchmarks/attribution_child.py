"""One attribution measurement in a fresh process, so peak memory is its own.

::

    python -m benchmarks.attribution_child TASK DATA_DIR OUT_JSON

Tasks:

- ``acctlib``: acctlib's whole attribution with the eight heuristic models
  on touchpoints and opportunities, then Markov and Shapley channel
  weights on the journeys of the same data;
- ``sql``: the hand-written query of :mod:`benchmarks.attribution_sql`;
- ``paths``: Markov removal effects and Shapley values on closed journeys,
  checked against an independent dense solve. It writes the paths for
  ChannelAttribution twice: aggregated (``--paths-csv``) and one row per
  journey (``journeys.csv`` next to it). It then times Markov again from
  the aggregated file's text (``markov_paths``), the input
  ChannelAttribution gets.

Loading the Parquet files into an in-memory DuckDB is not timed. The
``heuristics`` stage of ``acctlib`` and the ``sql`` stage do the same work:
each computes its credit sums per deal, channel and function, with the
models side by side, into a DuckDB table (acctlib's cached table, the
query's ``CREATE TEMP TABLE ... AS``) and fetches nothing of it. The
checksum compared between them is summed in DuckDB after the timed stage,
over one row per model read from each side's sums.
Each timed stage records its wall seconds, the resident set size before
it (``baseline_mb``) and the sampled peak during it (``peak_mb``).
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import psutil

from acctlib import schema
from acctlib.attribution import datadriven
from acctlib.attribution import markov as markov_model
from acctlib.attribution.credits import NO_TOUCH, compute_attribution
from acctlib.attribution.journeys import (
    build_journeys,
    known_touches,
    opportunities_table,
    select_opportunities,
)
from acctlib.attribution.paths import split_paths
from acctlib.attribution.settings import HEURISTIC_MODELS, AttributionSettings
from benchmarks import attribution_sql
from benchmarks.attribution_data import AS_OF
from benchmarks.memory import TreeMemorySampler

LOOKBACK_DAYS = 180
HALF_LIFE_DAYS = 7.0


class StageTimer:
    """Time labelled stages and keep their memory figures."""

    def __init__(self, sampler: TreeMemorySampler) -> None:
        self.sampler = sampler
        self.stages: dict[str, dict[str, float]] = {}

    def run(self, label: str, function, *args):
        baseline = _current_rss_mb()
        started = time.perf_counter()
        with self.sampler.stage(label):
            result = function(*args)
        seconds = time.perf_counter() - started
        self.stages[label] = {
            "seconds": round(seconds, 3),
            "baseline_mb": round(baseline, 1),
            "peak_mb": round(self.sampler.peaks_mb[label], 1),
        }
        return result


def _current_rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1024 / 1024


def _settings(models: tuple[str, ...]) -> AttributionSettings:
    return AttributionSettings(
        as_of=AS_OF,
        lookback_days=LOOKBACK_DAYS,
        half_life_days=HALF_LIFE_DAYS,
        models=models,
    )


def _load_snapshot(data_dir: Path) -> pd.DataFrame:
    snapshot = pd.read_parquet(data_dir / "opportunities.parquet")
    snapshot["created_at"] = snapshot["created_at"].astype(schema.TIMESTAMP)
    snapshot["close_date"] = pd.to_datetime(snapshot["close_date"]).astype(schema.DATE)
    return snapshot


def _checksum(credits: ibis.Table) -> dict[str, Any]:
    """Return touched credit rows and cents per kind and model, summed in DuckDB."""
    touched = credits.filter(credits.channel != NO_TOUCH)
    sums = touched.group_by(["kind", "model"]).aggregate(
        rows=touched.count(), cents=touched.credit_cents.sum()
    )
    frame = sums.order_by(["kind", "model"]).to_pandas()
    return {
        "rows": int(frame["rows"].sum()),
        "cents": {
            f"{row.kind}/{row.model}": int(row.cents)
            for row in frame.itertuples(index=False)
        },
    }


def measure_acctlib(data_dir: Path, timer: StageTimer) -> dict[str, Any]:
    con = ibis.duckdb.connect()
    con.raw_sql("SET enable_progress_bar = false")
    parquet = data_dir / "touchpoints.parquet"
    con.raw_sql(f"CREATE TABLE touchpoints AS SELECT * FROM read_parquet('{parquet}')")
    touches = con.table("touchpoints")
    snapshot = _load_snapshot(data_dir)

    heuristic = _settings(HEURISTIC_MODELS)
    result = timer.run(
        "heuristics", compute_attribution, con, touches, snapshot, heuristic
    )
    measured = {"credits": _checksum(result.credits)}
    del result

    learned = _settings(("markov", "shapley"))

    def build():
        opportunities, _ = select_opportunities(snapshot, learned)
        expression = build_journeys(
            known_touches(touches, learned), opportunities_table(opportunities), learned
        )
        name = f"_journeys_{uuid.uuid4().hex[:8]}"
        return con.create_table(name, expression, temp=True)

    journeys = timer.run("journeys", build)
    markov = timer.run("markov", datadriven.compute_markov_weights, journeys, learned)
    shapley = timer.run(
        "shapley", datadriven.compute_shapley_weights, journeys, learned
    )
    measured["markov_channels"] = int(len(markov))
    measured["shapley_channels"] = int(len(shapley))
    con.disconnect()
    return measured


def measure_sql(data_dir: Path, timer: StageTimer) -> dict[str, Any]:
    con = ibis.duckdb.connect()
    con.raw_sql("SET enable_progress_bar = false")
    con.raw_sql("SET TimeZone = 'UTC'")
    for table in ("touchpoints", "opportunities"):
        parquet = data_dir / f"{table}.parquet"
        con.raw_sql(f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{parquet}')")
    query = attribution_sql.format_credits_sql(AS_OF, LOOKBACK_DAYS, HALF_LIFE_DAYS)
    timer.run("sql", lambda: con.raw_sql(f"CREATE TEMP TABLE sql_sums AS {query}"))
    long = attribution_sql.UNPIVOT_SQL.format(table="sql_sums")
    con.raw_sql(f"CREATE TEMP VIEW sql_credits AS {long}")
    measured = {"credits": _checksum(con.table("sql_credits"))}
    con.disconnect()
    return measured


PATHS_SQL = """
SELECT string_agg(channel, ' > ' ORDER BY position) AS path,
       (ANY_VALUE(outcome) = 'won')::INT AS conversions,
       (ANY_VALUE(outcome) = 'lost')::INT AS nulls
FROM journeys GROUP BY opportunity_id
"""
TRANSITIONS_SQL = """
WITH steps AS (
    SELECT opportunity_id, position, touch_count, outcome, channel AS target,
           COALESCE(lag(channel) OVER (
               PARTITION BY opportunity_id ORDER BY position), '(start)') AS source
    FROM journeys
)
SELECT source, target, count(*) AS count FROM steps
WHERE source <> target GROUP BY ALL
UNION ALL
SELECT target AS source,
       CASE WHEN outcome = 'won' THEN '(conversion)' ELSE '(null)' END AS target,
       count(*) AS count
FROM steps WHERE position = touch_count - 1 GROUP BY ALL
"""


def measure_paths(data_dir: Path, timer: StageTimer, paths_csv: Path) -> dict:
    con = ibis.duckdb.connect()
    con.raw_sql("SET enable_progress_bar = false")
    parquet = data_dir / "journeys.parquet"
    con.raw_sql(f"CREATE TABLE journeys AS SELECT * FROM read_parquet('{parquet}')")
    journeys = con.table("journeys")
    settings = _settings(("markov", "shapley"))
    markov = timer.run("markov", datadriven.compute_markov_weights, journeys, settings)
    shapley = timer.run(
        "shapley", datadriven.compute_shapley_weights, journeys, settings
    )

    transitions = con.raw_sql(TRANSITIONS_SQL).df()
    reference = dense_removal_effects(transitions)
    joined = markov.set_index("channel")["removal_effect"].align(reference)
    difference = float(np.max(np.abs(joined[0] - joined[1])))

    paths = con.raw_sql(PATHS_SQL).df()
    paths.to_csv(paths_csv.with_name("journeys.csv"), index=False)
    aggregated = paths.groupby("path", as_index=False)[["conversions", "nulls"]].sum()
    aggregated.to_csv(paths_csv, index=False)
    con.disconnect()
    written = pd.read_csv(paths_csv)
    from_paths = timer.run("markov_paths", markov_on_paths, written)
    joined = markov.set_index("channel")["removal_effect"].align(
        from_paths.set_index("channel")["removal_effect"]
    )
    path_difference = float(np.max(np.abs(joined[0] - joined[1])))
    return {
        "paths": int(len(paths)),
        "distinct_paths": int(len(aggregated)),
        "max_difference_paths_from_journeys": path_difference,
        "markov_shares": markov.set_index("channel")["share"].round(12).to_dict(),
        "shapley_shares": shapley.set_index("channel")["share"].round(12).to_dict(),
        "max_difference_from_dense_solve": difference,
    }


def markov_on_paths(paths: pd.DataFrame) -> pd.DataFrame:
    """Return removal effects from path text, as ChannelAttribution is given it.

    ``paths`` has ``path`` (channels joined by " > "), ``conversions`` and
    ``nulls``, read from the same CSV file that ChannelAttribution reads, so
    splitting the text is part of the timed work on both sides.
    """
    frame = paths.assign(channels=split_paths(paths["path"]))
    return markov_model.compute_removal_effects(
        markov_model.count_path_transitions(frame)
    )


def dense_removal_effects(transitions: pd.DataFrame) -> pd.Series:
    """Solve first-order removal effects with dense numpy, as a cross-check.

    Written apart from :mod:`acctlib.attribution.markov` (dense
    ``numpy.linalg.solve`` instead of sparse LU, own state handling), so
    agreement to 1e-9 shows the acctlib figures are the exact solution.
    """
    counts = transitions.astype({"count": "float64"})
    states = sorted(
        (set(counts["source"]) | set(counts["target"])) - {"(conversion)", "(null)"}
    )
    states.remove("(start)")
    order = ["(start)", *states]
    index = {state: number for number, state in enumerate(order)}
    size = len(order)
    matrix = np.zeros((size, size))
    converts = np.zeros(size)
    totals = counts.groupby("source")["count"].sum()
    for source, target, count in counts.itertuples(index=False):
        probability = count / totals[source]
        if target == "(conversion)":
            converts[index[source]] += probability
        elif target in index:
            matrix[index[source], index[target]] += probability

    def convert_probability(removed: str | None) -> float:
        keep = np.array([state != removed for state in order], dtype=float)
        kept = matrix * keep[:, None] * keep[None, :]
        solution = np.linalg.solve(np.eye(size) - kept, converts * keep)
        return float(solution[0])

    base = convert_probability(None)
    effects = {
        state: max(1 - convert_probability(state) / base, 0.0) for state in states
    }
    return pd.Series(effects, name="removal_effect")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.attribution_child")
    parser.add_argument("task", choices=["acctlib", "sql", "paths"])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("out_json", type=Path)
    parser.add_argument("--paths-csv", type=Path)
    args = parser.parse_args()
    with TreeMemorySampler() as sampler:
        timer = StageTimer(sampler)
        if args.task == "acctlib":
            measured = measure_acctlib(args.data_dir, timer)
        elif args.task == "sql":
            measured = measure_sql(args.data_dir, timer)
        else:
            measured = measure_paths(args.data_dir, timer, args.paths_csv)
    measured["stages"] = timer.stages
    args.out_json.write_text(json.dumps(measured, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
