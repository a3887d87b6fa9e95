"""The render floor: the fixed cost of running and exporting notebooks.

Runs as many notebooks as the report has sections, each only importing the
libraries the report notebooks import, through the same papermill call,
kernel and worker-process pool as the build, then exports each to HTML with
the report template. No build can be faster than this floor::

    python -m benchmarks.floor OUT_JSON NOTEBOOKS PARALLEL
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

from acctlib import render
from benchmarks.memory import TreeMemorySampler, max_process_rss_mb

IMPORTS = """\
from acctlib import charts, summary, tables, views
from acctlib.workspace import open_workspace
import altair, duckdb, ibis, pandas"""


def make_floor_notebook() -> nbformat.NotebookNode:
    """Return a notebook with a parameters cell and one cell of imports."""
    parameters = nbformat.v4.new_code_cell('workspace = ""')
    parameters.metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Render floor"),
            parameters,
            nbformat.v4.new_code_cell(IMPORTS),
        ]
    )
    notebook.metadata["kernelspec"] = {
        "name": render.KERNEL_NAME,
        "display_name": "acctlib",
        "language": "python",
    }
    return notebook


def run_floor(count: int, parallel: int) -> dict[str, float]:
    """Execute and export ``count`` import-only notebooks; return seconds."""
    with tempfile.TemporaryDirectory(prefix="acctlib-floor-") as scratch:
        folder = Path(scratch)
        sources = []
        for index in range(count):
            source = folder / f"floor-{index:02d}.ipynb"
            nbformat.write(make_floor_notebook(), source)
            sources.append(source)

        started = time.perf_counter()
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=parallel, mp_context=context) as pool:
            outputs = [folder / f"executed-{s.name}" for s in sources]
            list(pool.map(_execute, sources, outputs))
        executed = time.perf_counter() - started

        step = time.perf_counter()
        for output in outputs:
            notebook = nbformat.read(output, as_version=4)
            html = render.export_html(notebook, _report_context(output.stem))
            output.with_suffix(".html").write_text(html, encoding="utf-8")
        exported = time.perf_counter() - step
    return {
        "notebooks": executed,
        "html_export": exported,
        "total": executed + exported,
    }


def _execute(source: Path, output: Path) -> None:
    render.execute_notebook(source, output, {"workspace": ""}, timeout=600)


def _report_context(name: str) -> dict:
    return {
        "sections": [{"file": f"{name}.html", "title": name}],
        "current": f"{name}.html",
        "as_of": "2026-06-30",
        "variant": "",
        "currency": "USD",
        "generated_at": "2026-07-01T00:00:00Z",
        "version": "floor",
        "git_commit": None,
        "command": "python -m benchmarks.floor",
        "inputs": [],
        "params": [],
        "toc": [],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out_json", type=Path)
    parser.add_argument("notebooks", type=int)
    parser.add_argument("parallel", type=int)
    args = parser.parse_args()
    with TreeMemorySampler() as sampler:
        seconds = run_floor(args.notebooks, args.parallel)
    measured = {
        "timings_seconds": {k: round(v, 3) for k, v in seconds.items()},
        "peak_tree_mb_total": round(sampler.peak_mb, 1),
        "max_process_rss_mb": round(max_process_rss_mb(), 1),
    }
    args.out_json.write_text(json.dumps(measured, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
