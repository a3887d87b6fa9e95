"""Reference figures: hand-written DuckDB SQL and optional outside tools.

:func:`time_sql_attribution` loads the touchpoints and opportunities of a
benchmark size into an in-memory DuckDB and times one hand-written query
that does the heuristic attribution join and weighting for every
rule-based model: won opportunities as of the as-of date, touches of the
same account from ``lookback_days`` before creation to the end of the close
date, journey positions, the weights of first touch, last touch, creation
touch, linear, time decay (7-day half-life), U-, W- and full-path shapes,
and credit per model and channel. Amounts are split proportionally to the
weights and not rounded to cents, so the query does somewhat less work
than acctlib, which allocates whole cents per opportunity.

acctlib's own attribution is timed against a query that computes the same
cents by :mod:`benchmarks.attribution`, which checks the ratio targets.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import time
from pathlib import Path

import duckdb

LOOKBACK_DAYS = 180
HALF_LIFE_DAYS = 7.0

ATTRIBUTION_SQL = """
WITH won AS (
    SELECT opportunity_id, account_id, amount,
           CAST(created_at AS TIMESTAMPTZ) AS created_at,
           CAST(created_at AS TIMESTAMPTZ) - INTERVAL {lookback} DAY AS window_start,
           CAST(CAST(close_date AS DATE) + 1 AS TIMESTAMPTZ) AS window_end
    FROM opportunities
    WHERE stage_category = 'won' AND CAST(close_date AS DATE) <= DATE '{as_of}'
),
journeys AS (
    SELECT w.opportunity_id, w.amount, w.created_at, w.window_end,
           t.touch_id, t.channel, CAST(t.occurred_at AS TIMESTAMPTZ) AS occurred_at,
           ROW_NUMBER() OVER journey - 1 AS position,
           COUNT(*) OVER whole AS n,
           COALESCE(MAX(CASE WHEN CAST(t.occurred_at AS TIMESTAMPTZ) < w.created_at
                             THEN 1 END) OVER whole, 0) AS has_creation
    FROM won w
    JOIN touchpoints t
      ON t.account_id = w.account_id
     AND CAST(t.occurred_at AS TIMESTAMPTZ) >= w.window_start
     AND CAST(t.occurred_at AS TIMESTAMPTZ) < w.window_end
    WINDOW journey AS (PARTITION BY w.opportunity_id
                       ORDER BY t.occurred_at, t.channel, t.touch_id),
           whole AS (PARTITION BY w.opportunity_id)
),
positioned AS (
    SELECT *,
           MAX(CASE WHEN occurred_at < created_at THEN position END)
               OVER (PARTITION BY opportunity_id) AS last_before_creation,
           epoch(window_end) - epoch(occurred_at) AS age_seconds
    FROM journeys
),
roles AS (
    SELECT *,
           COALESCE(last_before_creation, 0) AS creation,
           (position = 0)::INT AS is_first,
           (position = n - 1)::INT AS is_last,
           (position = COALESCE(last_before_creation, 0))::INT AS is_creation,
           (n >= 2 AND position = n - 2)::INT AS is_before_last
    FROM positioned
),
weights AS (
    SELECT opportunity_id, amount, channel, 'first_touch' AS model,
           is_first::DOUBLE AS weight FROM roles
    UNION ALL SELECT opportunity_id, amount, channel, 'last_touch',
           is_last::DOUBLE FROM roles
    UNION ALL SELECT opportunity_id, amount, channel, 'creation_touch',
           is_creation::DOUBLE FROM roles
    UNION ALL SELECT opportunity_id, amount, channel, 'linear', 1.0 FROM roles
    UNION ALL SELECT opportunity_id, amount, channel, 'time_decay',
           pow(2.0, -(age_seconds / 86400.0) / {half_life}) FROM roles
    UNION ALL SELECT opportunity_id, amount, channel, 'u_shaped',
           40.0 * is_first + 40.0 * is_last
           + CASE WHEN n > 2 AND is_first + is_last = 0 THEN 20.0 / (n - 2)
                  ELSE 0 END FROM roles
    UNION ALL SELECT opportunity_id, amount, channel, 'w_shaped',
           30.0 * is_first + 30.0 * is_creation + 30.0 * is_last
           + CASE WHEN is_first + is_creation + is_last = 0
                  THEN 10.0 / GREATEST(n - 3, 1) ELSE 0 END FROM roles
    UNION ALL SELECT opportunity_id, amount, channel, 'full_path',
           22.5 * (is_first + is_creation + is_before_last + is_last)
           + CASE WHEN is_first + is_creation + is_before_last + is_last = 0
                  THEN 10.0 / GREATEST(n - 4, 1) ELSE 0 END FROM roles
)
SELECT model, channel,
       SUM(amount * weight / total_weight) AS credit,
       COUNT(DISTINCT opportunity_id) AS opportunities
FROM (
    SELECT *, SUM(weight) OVER (PARTITION BY model, opportunity_id) AS total_weight
    FROM weights
)
WHERE total_weight > 0
GROUP BY model, channel
ORDER BY model, channel
"""


def load_tables(data_dir: Path) -> duckdb.DuckDBPyConnection:
    """Load touchpoints and opportunities of ``data_dir`` into memory."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    for table in ("touchpoints", "opportunities"):
        parquet = data_dir / f"{table}.parquet"
        source = (
            f"read_parquet('{parquet}')"
            if parquet.is_file()
            else f"read_csv('{data_dir / (table + '.csv')}', header=true)"
        )
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM {source}")
    return con


def time_sql_attribution(data_dir: Path, as_of: dt.date) -> dict[str, float]:
    """Return seconds and row counts of the hand-written attribution query."""
    con = load_tables(data_dir)
    touches = con.execute("SELECT COUNT(*) FROM touchpoints").fetchone()[0]
    query = ATTRIBUTION_SQL.format(
        lookback=LOOKBACK_DAYS, as_of=as_of.isoformat(), half_life=HALF_LIFE_DAYS
    )
    started = time.perf_counter()
    rows = con.execute(query).fetchall()
    seconds = time.perf_counter() - started
    con.close()
    return {"seconds": round(seconds, 3), "touchpoints": touches, "rows": len(rows)}


PATHS_SQL = """
WITH closed AS (
    SELECT opportunity_id, account_id, stage_category,
           CAST(created_at AS TIMESTAMPTZ) - INTERVAL {lookback} DAY AS window_start,
           CAST(CAST(close_date AS DATE) + 1 AS TIMESTAMPTZ) AS window_end
    FROM opportunities
    WHERE stage_category IN ('won', 'lost')
      AND CAST(close_date AS DATE) <= DATE '{as_of}'
)
SELECT path,
       SUM((stage_category = 'won')::INT) AS conversions,
       SUM((stage_category = 'lost')::INT) AS nulls
FROM (
    SELECT c.opportunity_id, ANY_VALUE(c.stage_category) AS stage_category,
           string_agg(t.channel, ' > ' ORDER BY t.occurred_at, t.channel, t.touch_id)
               AS path
    FROM closed c
    JOIN touchpoints t
      ON t.account_id = c.account_id
     AND CAST(t.occurred_at AS TIMESTAMPTZ) >= c.window_start
     AND CAST(t.occurred_at AS TIMESTAMPTZ) < c.window_end
    GROUP BY c.opportunity_id
)
GROUP BY path
ORDER BY path
"""


def export_paths(data_dir: Path, as_of: dt.date, target: Path) -> int:
    """Write the closed journeys' channel paths to ``target``; return paths."""
    con = load_tables(data_dir)
    query = PATHS_SQL.format(lookback=LOOKBACK_DAYS, as_of=as_of.isoformat())
    frame = con.execute(query).df()
    con.close()
    frame.to_csv(target, index=False)
    return len(frame)


def time_channel_attribution(
    python: str | None, data_dir: Path, as_of: dt.date, scratch: Path
) -> dict | None:
    """Time ChannelAttribution's markov_model in another Python, if given.

    ChannelAttribution is GPL and compiles from source, so it is never a
    dependency: pass ``--channel-attribution-python`` pointing at a scratch
    environment that has it installed. Returns None without one.
    """
    if not python:
        return None
    paths_csv = scratch / "paths.csv"
    paths = export_paths(data_dir, as_of, paths_csv)
    script = Path(__file__).with_name("channel_attribution_child.py")
    completed = subprocess.run(
        [python, str(script), str(paths_csv)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1:], "paths": paths}
    seconds = float(completed.stdout.strip().splitlines()[-1])
    return {"seconds": seconds, "paths": paths}
