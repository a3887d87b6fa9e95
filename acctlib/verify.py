"""Verifying a run: rebuild it from its manifest and compare the results.

:func:`verify_run` checks that every input file still has the SHA-256
recorded in the run's manifest, rebuilds the report with the recorded
parameters into a separate folder, and compares every headline figure and
prepared table with :func:`acctlib.compare.compare_runs`, and the CSV
exports and the pages' visible text with
:func:`acctlib.published.compare_published`. A reviewer gets the same
numbers from the same data, or the list of what differs.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from acctlib.compare import OUTPUT_PARAMS, Comparison, compare_runs, load_run
from acctlib.errors import AcctlibError
from acctlib.intake.files import sha256_file
from acctlib.params import Params, resolve_params
from acctlib.published import compare_published

logger = logging.getLogger(__name__)


class InputChangedError(AcctlibError):
    """An input file of a run is missing or no longer has its recorded SHA-256."""


@dataclass
class Verification:
    """The rebuilt run and its comparison with the original.

    ``files`` contains one line per CSV export or HTML page that differs,
    as :func:`acctlib.published.compare_published` returns them.
    """

    rebuilt_dir: Path
    comparison: Comparison
    files: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return self.comparison.identical_results and not self.files

    def differences(self) -> list[str]:
        """Return the differing headline figures, tables and files, one per line."""
        lines = [
            line
            for line in self.comparison.differences()
            if line.startswith(("headline ", "table "))
        ]
        return lines + self.files


def check_inputs(manifest: dict) -> None:
    """Raise InputChangedError unless every input matches its recorded SHA-256."""
    problems = []
    for item in manifest.get("inputs", []):
        path = Path(item["path"])
        if not path.is_file():
            problems.append(f"{path} not found")
        elif sha256_file(path) != item["sha256"]:
            problems.append(f"{path} changed (SHA-256 differs from the manifest)")
    if problems:
        raise InputChangedError(
            "cannot verify the run because its inputs differ: "
            + "; ".join(problems)
            + ". Restore the original files or build a new run."
        )


def params_from_manifest(manifest: dict, out_dir: Path) -> Params:
    """Return the run's recorded parameters with output folders under ``out_dir``."""
    recorded = {
        name: value
        for name, value in manifest["params"].items()
        if name not in OUTPUT_PARAMS
    }
    params_file = out_dir / "params.yaml"
    params_file.write_text(yaml.safe_dump(recorded, sort_keys=True), encoding="utf-8")
    return resolve_params(
        params_file,
        [f"reports_dir={out_dir / 'reports'}", f"work_dir={out_dir / 'work'}"],
    )


def verify_run(run_dir: str | Path, out_dir: str | Path | None = None) -> Verification:
    """Rebuild ``run_dir`` from its manifest and compare the results.

    Parameters
    ----------
    run_dir
        A run folder such as ``reports/2026-06-30``.
    out_dir
        Folder that receives the rebuilt run; a new temporary folder when
        None. The rebuild goes to ``out_dir/reports/<run>``, which must not
        be ``run_dir`` itself.

    Raises
    ------
    InputChangedError
        When an input file is missing or its SHA-256 changed; nothing is
        rebuilt.
    AcctlibError
        When the rebuild would replace ``run_dir``.
    """
    from acctlib.build import build_report

    original = load_run(run_dir)
    check_inputs(original.manifest)
    out_dir = Path(out_dir or tempfile.mkdtemp(prefix="acctlib-verify-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    params = params_from_manifest(original.manifest, out_dir)
    target = Path(params["reports_dir"]) / params.run_name
    if target.resolve() == Path(run_dir).resolve():
        raise AcctlibError(
            f"verifying into {out_dir} would replace {run_dir}; "
            "pass --out with another folder"
        )
    logger.info("rebuilding %s into %s", run_dir, out_dir)
    result = build_report(params, command=original.manifest["command"])
    comparison = compare_runs(original, load_run(result.run_dir))
    files = compare_published(Path(run_dir), result.run_dir)
    return Verification(result.run_dir, comparison, files)
