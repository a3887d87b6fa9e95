"""Seeded attribution benchmark data: touchpoints, opportunities and paths.

The data is drawn with numpy and written to Parquet by DuckDB, so even
10 million touchpoints take seconds. Each size lives under
``benchmarks/data/attribution/<name>/`` (ignored by git) and is reused
while its recorded generator arguments stay the same.

Touchpoints: about 100 per account, spread uniformly over the 36 months
before :data:`AS_OF`, on channels drawn with fixed weights. Opportunities:
3 per account, created uniformly over the same months, closing 14 to 200
days later. A deal that closes by the as-of date is won with probability
0.35 and lost otherwise, and later closes stay open.

Paths: closed journeys for the Markov comparison, one row per touch with
``journey_id``, ``opportunity_id``, ``position``, ``touch_count``,
``channel``, ``next_channel``, ``outcome`` and ``kind``, the columns of
acctlib's journey table that Markov and Shapley read. The chance of a
win rises with the channels on the path, so removal effects differ
between channels.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from benchmarks.sizes import DATA_DIR

ATTRIBUTION_DIR = DATA_DIR / "attribution"
AS_OF = dt.date(2026, 6, 30)
HISTORY_DAYS = 3 * 365
TOUCHES_PER_ACCOUNT = 100
OPPORTUNITIES_PER_ACCOUNT = 3
WIN_RATE = 0.35
SEED = 20261204
GENERATOR_VERSION = 1
PATHS_VERSION = 3

# Channel, function that makes the touch, and draw weight.
CHANNELS = (
    ("email", "marketing", 30),
    ("paid_search", "marketing", 10),
    ("paid_social", "marketing", 9),
    ("organic_search", "marketing", 10),
    ("direct", "marketing", 6),
    ("content_syndication", "marketing", 5),
    ("webinar", "marketing", 5),
    ("event", "marketing", 3),
    ("review_site", "marketing", 3),
    ("outbound_email", "sdr", 9),
    ("call", "sdr", 6),
    ("meeting", "ae", 3),
    ("demo", "se", 1),
    ("partner_referral", "partner", 1),
)
# Added to the win probability of a path per distinct channel on it.
PATH_LIFT = {"webinar": 0.08, "event": 0.06, "meeting": 0.1, "demo": 0.12}
CAMPAIGNS = 60
TYPES = ("new_business", "expansion", "renewal")


def ensure_touch_data(touchpoints: int) -> tuple[Path, dict[str, int]]:
    """Write (or reuse) a size with ``touchpoints`` rows; return folder, rows."""
    accounts = max(touchpoints // TOUCHES_PER_ACCOUNT, 1)
    arguments = {
        "version": GENERATOR_VERSION,
        "touchpoints": touchpoints,
        "accounts": accounts,
        "seed": SEED,
    }
    folder = ATTRIBUTION_DIR / f"touches-{touchpoints}"
    rows = _reuse(folder, arguments)
    if rows is None:
        started = time.perf_counter()
        rows = _write_touch_data(folder, touchpoints, accounts)
        _stamp(folder, arguments, rows, time.perf_counter() - started)
    return folder, rows


def ensure_path_data(paths: int) -> tuple[Path, dict[str, int]]:
    """Write (or reuse) ``paths`` closed journeys; return folder, rows."""
    arguments = {"version": PATHS_VERSION, "paths": paths, "seed": SEED}
    folder = ATTRIBUTION_DIR / f"paths-{paths}"
    rows = _reuse(folder, arguments)
    if rows is None:
        started = time.perf_counter()
        rows = _write_path_data(folder, paths)
        _stamp(folder, arguments, rows, time.perf_counter() - started)
    return folder, rows


def _reuse(folder: Path, arguments: dict) -> dict[str, int] | None:
    stamp = folder / "generated.json"
    if not stamp.is_file():
        return None
    recorded = json.loads(stamp.read_text(encoding="utf-8"))
    return recorded["rows"] if recorded["arguments"] == arguments else None


def _stamp(folder: Path, arguments: dict, rows: dict, seconds: float) -> None:
    record = {"arguments": arguments, "rows": rows, "seconds": round(seconds, 3)}
    (folder / "generated.json").write_text(json.dumps(record, indent=2))


def _channel_probabilities() -> np.ndarray:
    weights = np.array([weight for _, _, weight in CHANNELS], dtype="float64")
    return weights / weights.sum()


def _history_start() -> pd.Timestamp:
    return pd.Timestamp(AS_OF, tz="UTC") + pd.Timedelta(days=1 - HISTORY_DAYS)


def _write_touch_data(folder: Path, touchpoints: int, accounts: int) -> dict:
    rng = np.random.default_rng(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    start_seconds = int(_history_start().timestamp())
    span_seconds = HISTORY_DAYS * 86_400

    draws = pd.DataFrame(
        {
            "number": np.arange(touchpoints, dtype="int64"),
            "account": rng.integers(0, accounts, touchpoints),
            "second": start_seconds + rng.integers(0, span_seconds, touchpoints),
            "channel": rng.choice(
                len(CHANNELS), touchpoints, p=_channel_probabilities()
            ),
            "campaign": rng.integers(-CAMPAIGNS // 3, CAMPAIGNS, touchpoints),
        }
    )
    opportunities = accounts * OPPORTUNITIES_PER_ACCOUNT
    created = start_seconds + rng.integers(0, span_seconds, opportunities)
    cycle_days = rng.integers(14, 201, opportunities)
    deals = pd.DataFrame(
        {
            "number": np.arange(opportunities, dtype="int64"),
            "account": np.repeat(np.arange(accounts), OPPORTUNITIES_PER_ACCOUNT),
            "created": created,
            "close_day": (created // 86_400) + cycle_days,
            "won": rng.random(opportunities) < WIN_RATE,
            "amount_cents": np.round(rng.lognormal(10.0, 1.0, opportunities) * 100),
            "type": rng.integers(0, len(TYPES), opportunities),
        }
    )
    channel_names = [name for name, _, _ in CHANNELS]
    channel_functions = [function for _, function, _ in CHANNELS]
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.register("draws", draws)
    con.register("deals", deals)
    con.execute(
        f"""
        COPY (
            SELECT 'T' || lpad(number::VARCHAR, 10, '0') AS touch_id,
                   'A' || lpad(account::VARCHAR, 8, '0') AS account_id,
                   make_timestamptz(second * 1000000) AS occurred_at,
                   {channel_names}[channel + 1] AS channel,
                   {channel_functions}[channel + 1] AS function,
                   CASE WHEN campaign >= 0
                        THEN 'campaign-' || lpad(campaign::VARCHAR, 2, '0') END
                       AS campaign
            FROM draws ORDER BY number
        ) TO '{folder / "touchpoints.parquet"}' (FORMAT parquet)
        """
    )
    as_of_day = (AS_OF - dt.date(1970, 1, 1)).days
    con.execute(
        f"""
        COPY (
            SELECT 'O' || lpad(number::VARCHAR, 9, '0') AS opportunity_id,
                   'A' || lpad(account::VARCHAR, 8, '0') AS account_id,
                   {list(TYPES)}[type + 1] AS type,
                   amount_cents / 100.0 AS amount,
                   make_timestamptz(created * 1000000) AS created_at,
                   DATE '1970-01-01' + close_day::INTEGER AS close_date,
                   close_day <= {as_of_day} AND won AS is_won,
                   close_day <= {as_of_day} AND NOT won AS is_lost,
                   CASE WHEN close_day > {as_of_day} THEN 'open'
                        WHEN won THEN 'won' ELSE 'lost' END AS stage_category
            FROM deals ORDER BY number
        ) TO '{folder / "opportunities.parquet"}' (FORMAT parquet)
        """
    )
    con.close()
    return {"touchpoints": touchpoints, "opportunities": opportunities}


def _write_path_data(folder: Path, paths: int) -> dict:
    rng = np.random.default_rng(SEED + 1)
    folder.mkdir(parents=True, exist_ok=True)
    lengths = np.minimum(rng.geometric(0.25, paths), 20)
    journey = np.repeat(np.arange(paths), lengths)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    position = np.arange(len(journey)) - np.repeat(offsets, lengths)
    channel = rng.choice(len(CHANNELS), len(journey), p=_channel_probabilities())

    lift = np.array([PATH_LIFT.get(name, 0.0) for name, _, _ in CHANNELS])
    seen = np.zeros((paths, len(CHANNELS)), dtype=bool)
    seen[journey, channel] = True
    win_probability = np.minimum(0.1 + seen @ lift, 0.9)
    won = rng.random(paths) < win_probability

    rows = pd.DataFrame(
        {
            "journey": journey,
            "position": position,
            "touch_count": np.repeat(lengths, lengths),
            "channel": channel,
            "next_channel": _next_in_journey(channel, position, lengths),
            "won": won[journey],
        }
    )
    channel_names = [name for name, _, _ in CHANNELS]
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.register("journey_rows", rows)
    con.execute(
        f"""
        COPY (
            SELECT journey AS journey_id, 'pipeline' AS kind,
                   'P' || lpad(journey::VARCHAR, 9, '0') AS opportunity_id,
                   position, touch_count,
                   {channel_names}[channel + 1] AS channel,
                   {channel_names}[next_channel + 1] AS next_channel,
                   CASE WHEN won THEN 'won' ELSE 'lost' END AS outcome
            FROM journey_rows ORDER BY journey, position
        ) TO '{folder / "journeys.parquet"}' (FORMAT parquet)
        """
    )
    con.close()
    return {"paths": paths, "touches": int(len(journey))}


def _next_in_journey(
    channel: np.ndarray, position: np.ndarray, lengths: np.ndarray
) -> pd.arrays.IntegerArray:
    """Return each touch's next channel code, missing on a journey's last touch."""
    following = pd.array(np.append(channel[1:], 0), dtype="Int64")
    is_last = position == np.repeat(lengths, lengths) - 1
    following[is_last] = pd.NA
    return following
