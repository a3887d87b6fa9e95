"""Build one report in this process and write its measurements as JSON.

Run by :mod:`benchmarks.run` in a subprocess, so every build starts cold
and its memory is its own::

    python -m benchmarks.build_child OUT_JSON DATA_DIR ROOT [--set name=value]

The build stages are wrapped to label the memory samples; their times come
from the build's own manifest (``timings_seconds``). CPU time is measured
for the stages that run in this process (intake and prepare, with
DuckDB's threads) and for the whole build, notebook workers and kernels
included. The build is imported
inside :func:`main`, because the build's notebook workers import this
module again, and ``acctlib build`` does not load the build into them
either.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import logging
import resource
import sys
import time
from pathlib import Path

from benchmarks.memory import TreeMemorySampler, max_process_rss_mb

STAGES = {
    "intake": ("acctlib.build", "load_source"),
    "prepare": ("acctlib.build", "prepare_workspace"),
    "notebooks": ("acctlib.build", "_execute_all"),
    "html_export": ("acctlib.publish", "write_section_page"),
}
# Stages whose work runs in this process, so its CPU time is theirs.
IN_PROCESS_STAGES = ("intake", "prepare")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out_json", type=Path)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("root", type=Path)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from acctlib import build, sample
    from acctlib.params import resolve_params

    params = resolve_params(
        None,
        [
            f"data_dir={args.data_dir}",
            f"as_of={sample.SAMPLE_END.isoformat()}",
            f"reports_dir={args.root / 'reports'}",
            f"work_dir={args.root / 'work'}",
            *args.overrides,
        ],
    )
    cpu_seconds: dict[str, float] = {}
    with TreeMemorySampler() as sampler:
        _label_stages(sampler, cpu_seconds)
        _time_prepare_steps(cpu_seconds)
        started = time.perf_counter()
        cpu_before = _cpu_seconds_used()
        result = build.build_report(params, command="python -m benchmarks.run")
        wall = time.perf_counter() - started
        cpu_seconds["total"] = _cpu_seconds_used() - cpu_before

    manifest = result.manifest
    measured = {
        "timings_seconds": manifest["timings_seconds"],
        "wall_seconds": round(wall, 3),
        "cpu_seconds": {k: round(v, 3) for k, v in cpu_seconds.items()},
        "peak_tree_mb": {k: round(v, 1) for k, v in sampler.peaks_mb.items()},
        "peak_tree_mb_total": round(sampler.peak_mb, 1),
        "max_process_rss_mb": round(max_process_rss_mb(), 1),
        "html_bytes": manifest["html_bytes"],
        "intake": manifest["intake"],
        "rejected_rows": manifest["rejected_rows"],
        "sections": manifest["sections"],
        "run_dir": str(result.run_dir),
    }
    args.out_json.write_text(json.dumps(measured, indent=2), encoding="utf-8")


def _label_stages(sampler: TreeMemorySampler, cpu_seconds: dict[str, float]) -> None:
    for label, (module_name, name) in STAGES.items():
        module = importlib.import_module(module_name)
        original = getattr(module, name)
        setattr(module, name, _labelled(sampler, label, original, cpu_seconds))


def _time_prepare_steps(cpu_seconds: dict[str, float]) -> None:
    """Record the CPU time of each step of the report date's prepare."""
    from acctlib import prepare

    def timed(step):
        @functools.wraps(step)
        def wrapper(context):
            started = time.process_time()
            step(context)
            cpu_seconds[f"prepare:{step.__name__.removeprefix('prepare_')}"] = (
                time.process_time() - started
            )

        return wrapper

    # The previous month-end runs its own list of steps, so these figures
    # are the report date's alone.
    prepare.PREPARE_STEPS[:] = [timed(step) for step in prepare.PREPARE_STEPS]


def _cpu_seconds_used() -> float:
    """Return the user and system CPU time of this process and its waited-for children.

    The build waits for its notebook workers, and they for their kernels,
    so after the build the children's share includes every notebook.
    """
    total = 0.0
    for scope in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(scope)
        total += usage.ru_utime + usage.ru_stime
    return total


def _labelled(sampler, label, function, cpu_seconds):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        cpu_started = time.process_time()
        with sampler.stage(label):
            result = function(*args, **kwargs)
        if label in IN_PROCESS_STAGES:
            # The build prepares the report date first and the previous
            # month-end second, and the manifest names them so.
            stage = label
            if label == "prepare" and label in cpu_seconds:
                stage = "prepare_previous_month"
            cpu_seconds[stage] = time.process_time() - cpu_started
        # Progress for long runs, which may be stopped before the JSON exists.
        print(
            f"  {label}: {time.perf_counter() - started:.1f} s, "
            f"peak {sampler.peaks_mb.get(label, 0):,.0f} MB",
            file=sys.stderr,
            flush=True,
        )
        return result

    return wrapper


if __name__ == "__main__":
    main()
