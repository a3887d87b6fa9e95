"""Writing the HTML pages of a run and the index of all runs.

A run folder contains one HTML page per section, ``index.html`` (the run's
contents page with its headline figures) and the files written by
:mod:`acctlib.build`. ``reports/index.html`` lists every run found in the
reports folder, read from each run's ``manifest.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import zoneinfo
from pathlib import Path
from typing import Any

import jinja2
import nbformat

from acctlib import dealowners, glossary, labels, pagesettings, render, tables
from acctlib.displaypaths import display_path, display_value

logger = logging.getLogger(__name__)

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(render.TEMPLATES_DIR)),
    autoescape=True,
    keep_trailing_newline=True,
)


def render_page(template: str, **context: Any) -> str:
    """Render one of the package's page templates, escaping every value."""
    return _ENV.get_template(template).render(**context)


def section_title(notebook: nbformat.NotebookNode, fallback: str) -> str:
    """Return the first level-1 markdown heading of a notebook."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def list_sections(
    manifest: dict[str, Any], notebooks: dict[str, nbformat.NotebookNode]
) -> list[dict[str, str]]:
    """Return the page file and title of every section of ``manifest``.

    A title is the first level-1 heading of the section's notebook, taken
    from ``notebooks`` (executed or not: running a notebook changes no
    markdown). The titles are also kept in ``manifest["section_titles"]``
    for the run's contents page.
    """
    sections = [
        {"file": f"{name}.html", "title": section_title(notebooks[name], name)}
        for name in manifest["sections"]
    ]
    manifest["section_titles"] = {s["file"]: s["title"] for s in sections}
    return sections


def write_section_page(
    run_dir: Path,
    name: str,
    notebook: nbformat.NotebookNode,
    manifest: dict[str, Any],
    sections: list[dict[str, str]],
) -> None:
    """Export the executed notebook of section ``name`` to ``run_dir/<name>.html``.

    ``sections`` is the output of :func:`list_sections`, for the navigation
    bar of the page.
    """
    report = _page_context(manifest, sections, f"{name}.html")
    report["title"] = page_title(section_title(notebook, name), manifest)
    report["toc"] = render.extract_toc(notebook)
    html = glossary.define_first_uses(render.export_html(notebook, report))
    (run_dir / f"{name}.html").write_text(html, encoding="utf-8")


def page_title(section: str, manifest: dict[str, Any]) -> str:
    """Return the browser title of a section page.

    For example ``Executive summary · Account review as of 2026-06-30``.
    The part after the section title is :func:`run_title`, the title of
    the run's contents page.
    """
    return f"{section} · {run_title(manifest)}"


def run_title(manifest: dict[str, Any]) -> str:
    """Return the title of a run, naming its slice and variant if any.

    For example ``Account review as of 2026-06-30`` or, for an owner slice
    with variant ``q3``, ``Account review of owner Fatima Cohen as of
    2026-06-30 (q3)``.
    """
    label = slice_label(manifest)
    of_slice = f" of {label}" if label else ""
    variant = f" ({manifest['variant']})" if manifest.get("variant") else ""
    return f"Account review{of_slice} as of {manifest['as_of']}{variant}"


def slice_label(manifest: dict[str, Any]) -> str:
    """Return the slice of a run, such as ``owner Fatima Cohen``, or ``""``."""
    return (manifest.get("headline") or {}).get("slice") or ""


def slice_notice(manifest: dict[str, Any]) -> str:
    """Return the notice at the top of every page of a sliced run, or ``""``.

    The figures it names as company-wide are the ones that
    :func:`acctlib.slicing.prepare_owner_slice` leaves unfiltered. When the
    headline has ``slice_deal_owners``, the notice ends with
    :func:`acctlib.dealowners.describe_deal_owners`.
    """
    label = slice_label(manifest)
    if not label:
        return ""
    notice = (
        f"This report covers only the accounts of {label}. Their scores, tiers "
        "and health are computed on the whole company, so each account shows "
        "the same figures as in the company report. These figures cover every "
        "account, not only this slice: the bookings forecast, stage "
        "benchmarks, health validation, campaign credits, the attribution "
        "lookback comparison, the count of excluded touches, the channel "
        "weights of the data-driven attribution models, the input row counts, "
        "and the rejected rows, stage-map checks and deal findings of the "
        "data-quality page."
    )
    deal_owners = (manifest.get("headline") or {}).get("slice_deal_owners")
    if deal_owners:
        params = manifest["params"]
        # A run before slice_owner existed names the owner as the parameter.
        owner = manifest["headline"].get("slice_owner", params["owner"])
        owners = dealowners.describe_owners(owner, params["team"])
        deal_sentences = dealowners.describe_deal_owners(
            deal_owners, owners, params["report_currency"]
        )
        notice = f"{notice} {deal_sentences}"
    return notice


def _page_context(manifest: dict[str, Any], sections, current: str) -> dict[str, Any]:
    """Return what the report template shows around a section's content.

    Folders and input files are shown by :func:`display_path`, so a page
    carries no absolute path of the machine that built it.
    """
    params = {name: display_value(value) for name, value in manifest["params"].items()}
    data_dir = manifest["params"]["data_dir"]
    inputs = [
        dict(
            item,
            table=labels.readable(item["table"]),
            path=display_path(item["path"], within=data_dir),
        )
        for item in manifest["inputs"]
    ]
    return {
        "sections": sections,
        "current": current,
        "as_of": manifest["as_of"],
        "variant": manifest["variant"],
        "slice_label": slice_label(manifest),
        "slice_notice": slice_notice(manifest),
        "currency": params["report_currency"],
        "generated_at": generation_time(manifest),
        "version": manifest["acctlib_version"],
        "git_commit": manifest["git_commit"],
        "command": manifest["command"],
        "inputs": inputs,
        "settings": pagesettings.page_settings(
            current.removesuffix(".html"),
            params | {"as_of": manifest["as_of"]},
            attribution_ran="attribution" in (manifest.get("headline") or {}),
        ),
        # Values read as a parameter file writes them: true, not True.
        "params": [
            (
                name,
                json.dumps(value, sort_keys=True)
                if isinstance(value, (dict, list, bool)) or value is None
                else str(value),
            )
            for name, value in sorted(params.items())
            # Output folders change no figure, and leaving them out keeps
            # the pages of two builds into different folders identical.
            if name not in ("reports_dir", "work_dir")
        ],
    }


def format_generated_at(generated_at: str, timezone: str) -> str:
    """Return a manifest's UTC generation time as local time in ``timezone``.

    For example ``2026-07-01T06:30:00Z`` in Europe/Berlin gives
    ``1 Jul 2026, 08:30 CEST``. Every page shows the generation time in
    this form, while ``manifest.json`` keeps the ISO 8601 text.
    """
    moment = dt.datetime.fromisoformat(generated_at.replace("Z", "+00:00"))
    local = moment.astimezone(zoneinfo.ZoneInfo(timezone))
    return f"{local.day} {local:%b %Y, %H:%M %Z}"


def generation_time(manifest: dict[str, Any]) -> str:
    """Return the run's generation time as pages show it, in its report timezone."""
    timezone = manifest.get("params", {}).get("report_timezone", "UTC")
    return format_generated_at(manifest["generated_at"], timezone)


_ENV.filters["generation_time"] = generation_time
# Table names such as stage_history read "Stage history" on the pages.
_ENV.filters["readable"] = labels.readable


# Size budget of one page on the sample data. An executive opens the
# summary from an email, so it stays small, and sections may carry more.
SUMMARY_SECTION = "00-executive-summary.html"
SUMMARY_BUDGET_BYTES = 2_000_000
SECTION_BUDGET_BYTES = 5_000_000


def check_size_budget(html_bytes: dict[str, int]) -> list[str]:
    """Log the size of every page; return a warning for each over its budget.

    The executive summary may take :data:`SUMMARY_BUDGET_BYTES`, every
    other section :data:`SECTION_BUDGET_BYTES`; the run's contents page is
    not checked.
    """
    warnings = []
    for name, size in sorted(html_bytes.items()):
        if name == "index.html":
            continue
        budget = (
            SUMMARY_BUDGET_BYTES if name == SUMMARY_SECTION else SECTION_BUDGET_BYTES
        )
        logger.info("%s: %.2f MB (budget %.0f MB)", name, size / 1e6, budget / 1e6)
        if size > budget:
            message = (
                f"{name} is {size / 1e6:.1f} MB, over its budget of "
                f"{budget / 1e6:.0f} MB; aggregate tables and charts further"
            )
            logger.warning(message)
            warnings.append(message)
    return warnings


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
        title=run_title(manifest),
        slice_notice=slice_notice(manifest),
        sections=sections,
        cards=tables.headline_cards(manifest["headline"], currency, manifest["as_of"]),
        rejected=tables.format_count(manifest["rejected_rows"]),
        unreconciled=unreconciled_tables(manifest),
    )
    page = glossary.define_first_uses(page)
    (run_dir / "index.html").write_text(page, encoding="utf-8")


def unreconciled_tables(manifest: dict[str, Any]) -> list[str]:
    """Return the tables whose rows read differ from accepted + rejected + merged."""
    return [
        row["table"]
        for row in manifest["intake"]
        if row["read"] != row["accepted"] + row["rejected"] + row["merged"]
    ]


INDEX_CARD_HEADERS = (
    "Customers",
    "Open pipeline",
    "Bookings in the month",
    "Bookings year to date",
    "Revenue, 12 complete months",
)
"""Column headers of the reports index, one per card of :func:`tables.headline_cards`.

They name no period, because each run's month and revenue window depend on
its own as-of date. Each cell shows the card's own label below its value.
"""


def _index_cards(manifest: dict[str, Any], currency: str) -> list[dict[str, str]]:
    """Return a run's headline cards, each with its own label as ``period``.

    ``period`` is empty where the label equals the column header. A run
    dated inside a month has month-to-date bookings and a revenue window
    that ends the month before, so its cells name their own periods.
    """
    cards = tables.headline_cards(manifest["headline"], currency, manifest["as_of"])
    if len(cards) != len(INDEX_CARD_HEADERS):
        raise ValueError(
            f"the reports index has {len(INDEX_CARD_HEADERS)} column headers but "
            f"the headline has {len(cards)} cards; update INDEX_CARD_HEADERS"
        )
    for card, header in zip(cards, INDEX_CARD_HEADERS, strict=True):
        card["period"] = "" if card["label"] == header else card["label"]
    return cards


def write_reports_index(reports_dir: Path) -> None:
    """Rewrite ``reports_dir/index.html`` listing every run.

    Runs are ordered by as-of date, newest first, and runs of one date by
    run name, so the order does not depend on the order of the folders.
    """
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
                "run": manifest.get("run") or manifest_path.parent.name,
                "as_of": manifest["as_of"],
                "variant": manifest.get("variant") or "",
                "slice": slice_label(manifest),
                "generated_at": (
                    generation_time(manifest) if manifest.get("generated_at") else ""
                ),
                "cards": _index_cards(manifest, currency),
            }
        )
    runs.sort(key=lambda run: run["run"])
    runs.sort(key=lambda run: run["as_of"], reverse=True)
    page = _ENV.get_template("reports_index.html.j2").render(
        runs=runs, headers=INDEX_CARD_HEADERS
    )
    page = glossary.define_first_uses(page)
    (reports_dir / "index.html").write_text(page, encoding="utf-8")
