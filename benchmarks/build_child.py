"""Build one report in this process and write its measurements as JSON.

Run by :mod:`benchmarks.run` in a subprocess, so every build starts cold
and its memory is its own::

    python -m benchmarks.build_child OUT_JSON DATA_DIR ROOT [--set name=value]

The build stages are wrapped to label the memory samples; their times come
from the build's own manifest (``timings_seconds``). The build is imported
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
    with TreeMemorySampler() as sampler:
        _label_stages(sampler)
        started = time.perf_counter()
        result = build.build_report(params, command="python -m benchmarks.run")
        wall = time.perf_counter() - started

    manifest = result.manifest
    measured = {
        "timings_seconds": manifest["timings_seconds"],
        "wall_seconds": round(wall, 3),
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


def _label_stages(sampler: TreeMemorySampler) -> None:
    for label, (module_name, name) in STAGES.items():
        module = importlib.import_module(module_name)
        original = getattr(module, name)
        setattr(module, name, _labelled(sampler, label, original))


def _labelled(sampler, label, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        with sampler.stage(label):
            result = function(*args, **kwargs)
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
