"""Benchmark the report build at several sizes against reference figures.

``make bench`` runs ``python -m benchmarks.run``: for each size it writes
(or reuses) seeded sample data, builds the full report in a subprocess and
records the time and peak memory of every stage, then measures in the same
run the render floor and a hand-written DuckDB attribution query on the
same data, then the attribution benchmark of :mod:`benchmarks.attribution`.
A table goes to stdout and the figures, with the machine's core count and
memory, to ``benchmarks/results/<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import psutil

from acctlib import sample
from acctlib.build import _git_commit, _package_versions
from benchmarks import attribution, reference, targets
from benchmarks.sizes import DATA_DIR, RESULTS_DIR, SIZES, ensure_data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run")
    parser.add_argument(
        "--sizes",
        default="sample,large",
        help="comma-separated sizes to run (sample, large, huge)",
    )
    parser.add_argument("--huge", action="store_true", help="also run the huge size")
    parser.add_argument(
        "--parallel", type=int, default=2, help="notebooks run at the same time"
    )
    parser.add_argument(
        "--channel-attribution-python",
        default=os.environ.get("CHANNEL_ATTRIBUTION_PYTHON"),
        help="python of a scratch environment with ChannelAttribution installed",
    )
    parser.add_argument(
        "--attribution-sizes",
        default=",".join(str(size) for size in attribution.DEFAULT_SIZES),
        help="touchpoint counts of the attribution benchmark; empty skips it",
    )
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.sizes.split(",") if name.strip()]
    if args.huge and "huge" not in names:
        names.append("huge")
    unknown = sorted(set(names) - set(SIZES))
    if unknown:
        parser.error(f"unknown size(s) {', '.join(unknown)}; use {', '.join(SIZES)}")

    results: dict[str, Any] = {
        "command": "python -m benchmarks.run " + " ".join(argv or sys.argv[1:]),
        "started_at": _now(),
        "machine": _machine(),
        "sizes": {},
    }
    for name in names:
        results["sizes"][name] = _measure_size(name, args)
    sections = next(iter(results["sizes"].values()))["build"]["sections"]
    results["render_floor"] = _run_child(
        ["benchmarks.floor", str(len(sections)), str(args.parallel)]
    )
    attribution_sizes = [int(n) for n in args.attribution_sizes.split(",") if n]
    if attribution_sizes:
        results["attribution"] = attribution.run_benchmark(
            tuple(attribution_sizes),
            channel_attribution_python=args.channel_attribution_python,
        )
    results["targets"] = targets.evaluate(results)

    print(targets.format_report(results))
    if "attribution" in results:
        print("\n" + attribution.format_report(results["attribution"]))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    target = RESULTS_DIR / f"{results['started_at'].replace(':', '')}.json"
    target.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nresults written to {target}")
    return 0


def _measure_size(name: str, args: argparse.Namespace) -> dict[str, Any]:
    size = SIZES[name]
    print(f"[{name}] data: {size.accounts:,} accounts ({size.file_format})", flush=True)
    data_dir, rows, generated = ensure_data(size)
    runs_dir = DATA_DIR / "runs" / name
    shutil.rmtree(runs_dir, ignore_errors=True)
    runs_dir.mkdir(parents=True)

    print(f"[{name}] building the report", flush=True)
    build = _run_child(
        [
            "benchmarks.build_child",
            str(data_dir),
            str(runs_dir),
            "--set",
            f"parallel_notebooks={args.parallel}",
        ]
    )
    print(f"[{name}] reference query", flush=True)
    as_of = sample.SAMPLE_END
    measured = {
        "accounts": size.accounts,
        "file_format": size.file_format,
        "rows": rows,
        "generate_seconds": None if generated is None else round(generated, 3),
        "build": build,
        "sql_attribution": reference.time_sql_attribution(data_dir, as_of),
    }
    with tempfile.TemporaryDirectory() as scratch:
        measured["channel_attribution"] = reference.time_channel_attribution(
            args.channel_attribution_python, data_dir, as_of, Path(scratch)
        )
    return measured


def _run_child(arguments: list[str]) -> dict[str, Any]:
    """Run ``python -m MODULE OUT_JSON ARGS...`` and return what it wrote."""
    module, *rest = arguments
    with tempfile.TemporaryDirectory() as scratch:
        out_json = Path(scratch) / "measured.json"
        command = [sys.executable, "-m", module, str(out_json), *rest]
        subprocess.run(command, check=True)
        return json.loads(out_json.read_text(encoding="utf-8"))


def _machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": _package_versions(),
        "git_commit": _git_commit(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _now() -> str:
    return (
        dt.datetime.now(dt.UTC)
        .replace(microsecond=0)
        .isoformat()
        .replace("+00:00", "Z")
    )


if __name__ == "__main__":
    raise SystemExit(main())
