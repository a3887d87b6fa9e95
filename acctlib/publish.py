"""Writing the HTML pages of a run and the index of all runs.

A run folder contains one HTML page per section, ``index.html`` (the run's
contents page with its headline figures) and the files written by
:mod:`acctlib.build`. ``reports/index.html`` lists every run found in the
reports folder, read from each run's ``manifest.json``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import jinja2
import nbformat

from acctlib import render, tables

logger = logging.getLogger(__name__)

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(render.TEMPLATES_DIR)),
    autoescape=True,
    keep_trailing_newline=True,
)


def section_title(notebook: nbformat.NotebookNode, fallback: str) -> str:
    """Return the first level-1 markdown heading of a notebook."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def write_section_pages(
    run_dir: Path, executed: dict[str, nbformat.NotebookNode], manifest: dict[str, Any]
) -> None:
    """Export every executed notebook to ``run_dir/<section>.html``."""
    sections = [
        {"file": f"{name}.html", "title": section_title(executed[name], name)}
        for name in manifest["sections"]
    ]
    manifest["section_titles"] = {s["file"]: s["title"] for s in sections}
    for name in manifest["sections"]:
        notebook = executed[name]
        report = _page_context(manifest, sections, f"{name}.html")
        report["toc"] = render.extract_toc(notebook)
        html = render.export_html(notebook, report)
        (run_dir / f"{name}.html").write_text(html, encoding="utf-8")


def _page_context(manifest: dict[str, Any], sections, current: str) -> dict[str, Any]:
    params = manifest["params"]
    return {
        "sections": sections,
        "current": current,
        "as_of": manifest["as_of"],
        "variant": manifest["variant"],
        "currency": params["report_currency"],
        "generated_at": manifest["generated_at"],
        "version": manifest["acctlib_version"],
        "git_commit": manifest["git_commit"],
        "command": manifest["command"],
        "inputs": manifest["inputs"],
        "params": [
            (
                name,
                json.dumps(value, sort_keys=True)
                if isinstance(value, (dict, list))
                else str(value),
            )
            for name, value in sorted(params.items())
        ],
    }


def html_sizes(run_dir: Path) -> dict[str, int]:
    """Return the size in bytes of every HTML page in ``run_dir``."""
    return {path.name: path.stat().st_size for path in sorted(run_dir.glob("*.html"))}


def write_run_index(run_dir: Path, manifest: dict[str, Any]) -> None:
    """Write the run's contents page, ``run_dir/index.html``."""
    currency = manifest["params"]["report_currency"]
    sections = [
        {"file": file, "title": title, "bytes": manifest["html_bytes"].get(file, 0)}
        for file, title in manifest["section_titles"].items()
    ]
    sections = [dict(s, size=f"{s['bytes'] / 1e6:.1f} MB") for s in sections]
    page = _ENV.get_template("run_index.html.j2").render(
        manifest=manifest,
        sections=sections,
        cards=tables.headline_cards(manifest["headline"], currency),
        rejected=tables.format_count(manifest["rejected_rows"]),
    )
    (run_dir / "index.html").write_text(page, encoding="utf-8")


def write_reports_index(reports_dir: Path) -> None:
    """Rewrite ``reports_dir/index.html`` listing every run, newest first."""
    runs = []
    for manifest_path in sorted(reports_dir.glob("*/manifest.json")):
        if manifest_path.parent.name.startswith("."):
            continue
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            logger.warning("skipping unreadable manifest %s: %s", manifest_path, error)
            continue
        currency = manifest["params"]["report_currency"]
        runs.append(
            {
                "folder": manifest_path.parent.name,
                "as_of": manifest["as_of"],
                "variant": manifest.get("variant") or "",
                "generated_at": manifest["generated_at"],
                "cards": tables.headline_cards(manifest["headline"], currency),
            }
        )
    runs.sort(key=lambda run: (run["as_of"], run["variant"]), reverse=True)
    page = _ENV.get_template("reports_index.html.j2").render(runs=runs)
    (reports_dir / "index.html").write_text(page, encoding="utf-8")
