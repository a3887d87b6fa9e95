"""Attribution benchmark: acctlib against hand-written SQL and ChannelAttribution.

::

    python -m benchmarks.attribution [--sizes 1000000,5000000,10000000]
        [--paths 1000000] [--channel-attribution-python PATH]

For each size (touchpoints) it writes or reuses seeded data
(:mod:`benchmarks.attribution_data`) and runs, each in its own process so
that peak memory is its own (:mod:`benchmarks.attribution_child`):

- acctlib's attribution with all eight heuristic models, then its Markov
  and Shapley channel weights on the journeys of the same data;
- the hand-written DuckDB query computing the same credits
  (:mod:`benchmarks.attribution_sql`), whose credit totals must equal
  acctlib's to the cent;
- for scale, the lighter query of :mod:`benchmarks.reference` (won deals
  only, credit per model and channel, no cents), in this process.

On ``--paths`` closed journeys it times acctlib's Markov removal effects
and Shapley values and checks the removal effects against an independent
dense solve. Given a scratch Python that has ChannelAttribution (GPL,
never a dependency), it also times that package's ``markov_model`` on the
same paths, given two ways: the distinct paths with their counts, and one
row per journey. acctlib's Markov is timed on each of the two inputs, and
each ratio compares the two packages on the same input. The report prints
the ratios held to :mod:`benchmarks.targets`, and the figures go to
``benchmarks/results/attribution-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks import reference, targets
from benchmarks.attribution_data import AS_OF, ensure_path_data, ensure_touch_data
from benchmarks.sizes import RESULTS_DIR

DEFAULT_SIZES = (1_000_000, 5_000_000, 10_000_000)
DEFAULT_PATHS = 1_000_000
CHILD_SCRIPT = Path(__file__).with_name("channel_attribution_child.py")
# The inputs ChannelAttribution is timed on; acctlib is timed on each too.
PATH_INPUTS = {
    "channel_attribution": "distinct paths with counts",
    "channel_attribution_per_journey": "one row per journey",
}


def run_benchmark(
    sizes: tuple[int, ...] = DEFAULT_SIZES,
    paths: int = DEFAULT_PATHS,
    channel_attribution_python: str | None = None,
) -> dict[str, Any]:
    """Measure every size and the path comparison; return the figures."""
    measured: dict[str, Any] = {"load_average_at_start": _load_average(), "sizes": {}}
    for touchpoints in sizes:
        print(f"[attribution] {touchpoints:,} touchpoints", flush=True)
        data_dir, rows = ensure_touch_data(touchpoints)
        acctlib_run = _run_child("acctlib", data_dir)
        sql_run = _run_child("sql", data_dir)
        simple_sql = reference.time_sql_attribution(data_dir, AS_OF)
        measured["sizes"][str(touchpoints)] = {
            "rows": rows,
            "acctlib": acctlib_run,
            "sql": sql_run,
            "simple_sql": simple_sql,
            "same_credits": acctlib_run["credits"] == sql_run["credits"],
            "ratio": _ratio(acctlib_run, "heuristics", sql_run, "sql"),
        }
    if paths > 0:
        print(f"[attribution] Markov on {paths:,} paths", flush=True)
        measured["paths"] = _measure_paths(paths, channel_attribution_python)
    measured["load_average_at_end"] = _load_average()
    measured["targets"] = target_rows(measured)
    return measured


def _measure_paths(paths: int, python: str | None) -> dict[str, Any]:
    data_dir, rows = ensure_path_data(paths)
    with tempfile.TemporaryDirectory(prefix="acctlib-paths-") as scratch:
        paths_csv = Path(scratch) / "paths.csv"
        result = _run_child("paths", data_dir, "--paths-csv", str(paths_csv))
        result["rows"] = rows
        if python:
            result["channel_attribution"] = _run_channel_attribution(
                python, paths_csv, Path(scratch) / "result.csv", result, "markov_paths"
            )
            result["channel_attribution_per_journey"] = _run_channel_attribution(
                python,
                paths_csv.with_name("journeys.csv"),
                Path(scratch) / "result-journeys.csv",
                result,
                "markov",
            )
    return result


def _run_channel_attribution(
    python: str,
    paths_csv: Path,
    out_csv: Path,
    acctlib_run: dict[str, Any],
    stage: str,
) -> dict[str, Any]:
    """Time ChannelAttribution on one input against acctlib's ``stage``.

    ``stage`` is acctlib's Markov on the same input: ``markov_paths`` for
    the distinct paths with counts, ``markov`` for one journey per row.
    """
    completed = subprocess.run(
        [python, str(CHILD_SCRIPT), str(paths_csv), str(out_csv)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1:]}
    seconds = float(completed.stdout.strip().splitlines()[-1])
    estimate = pd.read_csv(out_csv)
    estimate["channel_name"] = estimate["channel_name"].str.strip()
    shares = estimate.set_index("channel_name")["total_conversions"]
    shares = shares / shares.sum()
    exact = pd.Series(acctlib_run["markov_shares"])
    difference = (shares.reindex(exact.index).fillna(0.0) - exact).abs().max()
    return {
        "seconds": seconds,
        "max_share_difference_points": round(float(difference) * 100, 3),
        "acctlib_stage": stage,
        "speedup": round(seconds / acctlib_run["stages"][stage]["seconds"], 2),
    }


def _run_child(task: str, data_dir: Path, *extra: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        out_json = Path(scratch) / "measured.json"
        command = [
            sys.executable,
            "-m",
            "benchmarks.attribution_child",
            task,
            str(data_dir),
            str(out_json),
            *extra,
        ]
        subprocess.run(command, check=True)
        return json.loads(out_json.read_text(encoding="utf-8"))


def _ratio(numerator: dict, stage: str, denominator: dict, other: str) -> float:
    seconds = numerator["stages"][stage]["seconds"]
    return round(seconds / denominator["stages"][other]["seconds"], 3)


def _now() -> str:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return now.isoformat().replace("+00:00", "Z")


def _load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def target_rows(measured: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the heuristic-ratio row of the largest size and the Markov rows.

    Markov has one row per input ChannelAttribution was given, each against
    acctlib's Markov on that same input.
    """
    rows = []
    if measured["sizes"]:
        largest = max(measured["sizes"], key=int)
        ratio = measured["sizes"][largest]["ratio"]
        rows.append(
            targets.make_row(
                f"heuristic attribution / SQL query, {int(largest):,} touchpoints",
                ratio,
                targets.MAX_ATTRIBUTION_RATIO,
            )
        )
    if "paths" not in measured:
        return rows
    for key, label in PATH_INPUTS.items():
        outside = measured["paths"].get(key) or {}
        name = f"ChannelAttribution / acctlib Markov, {label}"
        if "speedup" in outside:
            rows.append(
                targets.make_row(
                    name, outside["speedup"], targets.MIN_MARKOV_SPEEDUP, at_least=True
                )
            )
        else:
            rows.append(targets.make_missing(name, "ChannelAttribution not run"))
    return rows


def format_report(measured: dict[str, Any]) -> str:
    """Return the attribution tables as Markdown."""
    lines = [
        "| touchpoints | acctlib s | acctlib peak MB | SQL s | SQL peak MB "
        "| ratio | same cents | Markov s | Shapley s | simple SQL s |",
        "|" + " --- |" * 10,
    ]
    for size, run in measured["sizes"].items():
        acctlib_stages = run["acctlib"]["stages"]
        sql_stage = run["sql"]["stages"]["sql"]
        heuristics = acctlib_stages["heuristics"]
        lines.append(
            f"| {int(size):,} | {heuristics['seconds']:.2f} "
            f"| {heuristics['peak_mb']:,.0f} | {sql_stage['seconds']:.2f} "
            f"| {sql_stage['peak_mb']:,.0f} | {run['ratio']:.2f} "
            f"| {'yes' if run['same_credits'] else 'NO'} "
            f"| {acctlib_stages['markov']['seconds']:.2f} "
            f"| {acctlib_stages['shapley']['seconds']:.2f} "
            f"| {run['simple_sql']['seconds']:.2f} |"
        )
    if "paths" in measured:
        lines += _path_lines(measured["paths"])
    lines += ["", "| target | value | limit | verdict |", "| --- | --- | --- | --- |"]
    for row in measured["targets"]:
        value = "" if row["value"] is None else f"{row['value']:,.2f}"
        lines.append(
            f"| {row['target']} | {value} | {row['limit']} | {row['verdict']} |"
        )
    lines.append(
        f"\nload average at start {measured['load_average_at_start']}, "
        f"at end {measured['load_average_at_end']}"
    )
    return "\n".join(lines)


def _path_lines(paths: dict[str, Any]) -> list[str]:
    """Return the Markov and ChannelAttribution lines of the path run."""
    lines: list[str] = []
    stages = paths["stages"]
    lines.append(
        f"\nMarkov on {paths['paths']:,} paths ({paths['distinct_paths']:,} "
        f"distinct): acctlib {stages['markov']['seconds']:.2f} s on the "
        f"journeys, {stages['markov_paths']['seconds']:.2f} s on the distinct "
        "paths' text, exact "
        f"(max difference from a dense solve "
        f"{paths['max_difference_from_dense_solve']:.1e}); Shapley "
        f"{stages['shapley']['seconds']:.2f} s"
    )
    for key, label in PATH_INPUTS.items():
        outside = paths.get(key)
        if outside and "seconds" in outside:
            lines.append(
                f"ChannelAttribution markov_model on {label}: "
                f"{outside['seconds']:.2f} s ({outside['speedup']:.1f}x acctlib's "
                f"time), shares within {outside['max_share_difference_points']:.2f} "
                "points of the exact ones"
            )
        elif outside:
            lines.append(f"ChannelAttribution on {label} failed: {outside['error']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.attribution")
    parser.add_argument(
        "--sizes",
        default=",".join(str(size) for size in DEFAULT_SIZES),
        help="comma-separated touchpoint counts to generate and measure",
    )
    parser.add_argument(
        "--paths",
        type=int,
        default=DEFAULT_PATHS,
        help="closed journeys for the Markov comparison (0 skips it)",
    )
    parser.add_argument(
        "--channel-attribution-python",
        default=os.environ.get("CHANNEL_ATTRIBUTION_PYTHON"),
        help="python of a scratch environment with ChannelAttribution installed",
    )
    args = parser.parse_args(argv)

    sizes = tuple(int(size) for size in args.sizes.split(",") if size.strip())
    started = _now()
    measured = run_benchmark(sizes, args.paths, args.channel_attribution_python)
    measured["command"] = "python -m benchmarks.attribution " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    measured["started_at"] = started
    print(format_report(measured))

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    target = RESULTS_DIR / f"attribution-{started.replace(':', '')}.json"
    target.write_text(json.dumps(measured, indent=2) + "\n", encoding="utf-8")
    print(f"\nresults written to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
