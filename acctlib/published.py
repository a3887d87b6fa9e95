"""Comparing the files people read in two run folders: CSV exports and pages.

A run folder contains the CSV exports and HTML pages of a report next to its
prepared tables (see :mod:`acctlib.build`). :func:`compare_published`
compares the CSV files line by line and the pages by their visible text,
the text outside scripts, styles and chart drawings. Two builds of the same
data and parameters differ only in the page footers: in the generation
time, the acctlib version and commit, and the output folders in the
command that reproduces the run. Those are masked before pages are
compared.
"""

from __future__ import annotations

import csv
import re
from html.parser import HTMLParser
from pathlib import Path

# Elements whose content a reader does not see as text: the chart drawings
# carry the same figures as the prepared tables and the pages' own text.
HIDDEN_ELEMENTS = ("script", "style", "svg")
# "Generated 6 Dec 2026, 12:21 UTC" in a page footer or a run's index page.
GENERATED_AT = re.compile(r"Generated \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d \S+")
# "by acctlib 0.1.0 (commit 46840e9...)" in a page footer.
BUILT_BY = re.compile(r"by acctlib [^\s(]+( \(commit [^)]*\))?")
# "reports_dir=.../r1" in the command that reproduces a run.
OUTPUT_FOLDER = re.compile(r"\b(reports_dir|work_dir)=\S+")
# Characters of a differing line shown before and after the first change.
CONTEXT_CHARS = 40


class _TextParser(HTMLParser):
    """Collect the visible text of a page, one line per text node."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden_depth = 0
        self.lines: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag in HIDDEN_ELEMENTS:
            self.hidden_depth += 1

    def handle_endtag(self, tag) -> None:
        if tag in HIDDEN_ELEMENTS and self.hidden_depth:
            self.hidden_depth -= 1

    def handle_data(self, data) -> None:
        text = " ".join(data.split())
        if text and not self.hidden_depth:
            self.lines.append(text)


def page_text(path: Path) -> list[str]:
    """Return the visible text of the HTML page ``path``, one line per text node.

    White space is collapsed. The generation time, the acctlib version and
    commit, and the output folders are masked, because they differ between
    rebuilds.
    """
    parser = _TextParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    lines = []
    for line in parser.lines:
        line = GENERATED_AT.sub("Generated (time)", line)
        line = BUILT_BY.sub("by acctlib (version)", line)
        lines.append(OUTPUT_FOLDER.sub(r"\1=(folder)", line))
    return lines


def compare_published(a_dir: Path, b_dir: Path) -> list[str]:
    """Return one line per CSV file or HTML page that differs between two runs.

    Files are those directly in the run folders. A line names the file and
    its first difference, or the run that lacks the file.
    """
    differences = []
    for pattern, compare_file in (("*.csv", _compare_csv), ("*.html", _compare_page)):
        names_a = {path.name for path in a_dir.glob(pattern)}
        names_b = {path.name for path in b_dir.glob(pattern)}
        for name in sorted(names_a | names_b):
            if name not in names_b:
                differences.append(f"file {name}: missing in the second run")
            elif name not in names_a:
                differences.append(f"file {name}: missing in the first run")
            else:
                difference = compare_file(a_dir / name, b_dir / name)
                if difference:
                    differences.append(f"file {name}: {difference}")
    return differences


def _compare_csv(a: Path, b: Path) -> str | None:
    """Describe the first differing row of two CSV files, or return None."""
    rows_a, rows_b = _read_csv(a), _read_csv(b)
    if rows_a == rows_b:
        return None
    header = rows_a[0] if rows_a else []
    for index, (row_a, row_b) in enumerate(zip(rows_a, rows_b, strict=False)):
        if row_a == row_b:
            continue
        line = index + 1
        if index == 0 or len(row_a) != len(row_b):
            return f"line {line} differs: {_shorten(row_a)} -> {_shorten(row_b)}"
        column = _first_change(row_a, row_b)
        name = header[column] if column < len(header) else f"column {column + 1}"
        row_id = f" ({header[0]} {row_a[0]})" if header and column else ""
        more = _count_more(rows_a, rows_b, index, "row")
        return (
            f"line {line}{row_id}, {name}: {row_a[column]!r} -> {row_b[column]!r}{more}"
        )
    rows = len(rows_a) - 1, len(rows_b) - 1
    return f"{rows[0]:,} rows in the first run, {rows[1]:,} in the second"


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def _compare_page(a: Path, b: Path) -> str | None:
    """Describe the first differing text line of two pages, or return None."""
    lines_a, lines_b = page_text(a), page_text(b)
    if lines_a == lines_b:
        return None
    for index, (line_a, line_b) in enumerate(zip(lines_a, lines_b, strict=False)):
        if line_a == line_b:
            continue
        label = f", after {_shorten(lines_a[index - 1])!r}" if index else ""
        start = _first_change(line_a, line_b)
        more = _count_more(lines_a, lines_b, index, "line")
        return (
            f"text line {index + 1}{label}: {_excerpt(line_a, start)!r} -> "
            f"{_excerpt(line_b, start)!r}{more}"
        )
    counts = len(lines_a), len(lines_b)
    return f"{counts[0]:,} text lines in the first run, {counts[1]:,} in the second"


def _count_more(items_a: list, items_b: list, index: int, noun: str) -> str:
    """Describe how many items differ after ``index``: `` (3 more lines differ)``."""
    later = sum(
        1
        for item_a, item_b in zip(
            items_a[index + 1 :], items_b[index + 1 :], strict=False
        )
        if item_a != item_b
    )
    later += abs(len(items_a) - len(items_b))
    if not later:
        return ""
    if later == 1:
        return f" (1 more {noun} differs)"
    return f" ({later:,} more {noun}s differ)"


def _first_change(a: str | list[str], b: str | list[str]) -> int:
    """Return the index of the first character or cell that differs."""
    for index, (item_a, item_b) in enumerate(zip(a, b, strict=False)):
        if item_a != item_b:
            return index
    return min(len(a), len(b))


def _excerpt(line: str, start: int) -> str:
    """Return ``line`` around character ``start``, marking cuts with ``…``."""
    begin = max(start - CONTEXT_CHARS, 0)
    end = start + CONTEXT_CHARS
    text = line[begin:end]
    if begin:
        text = "…" + text
    if end < len(line):
        text += "…"
    return text


def _shorten(value: str | list[str]) -> str:
    text = ",".join(value) if isinstance(value, list) else value
    return _excerpt(text, 0)
