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

import contextlib
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


def build_folder(manifest: dict) -> Path | None:
    """Return the folder the build ran in, or None when it is not recorded or gone.

    Relative paths in a run's parameters and inputs resolve against it.
    Runs built before acctlib recorded ``working_dir`` have none.
    """
    recorded = manifest.get("working_dir")
    if recorded and Path(recorded).is_dir():
        return Path(recorded)
    return None


def check_inputs(manifest: dict, base: Path | None = None) -> None:
    """Raise InputChangedError unless every input matches its recorded SHA-256.

    Relative input paths resolve against ``base``, the folder the build ran
    in, or against the current folder when ``base`` is None.
    """
    problems = []
    relative_missing = []
    for item in manifest.get("inputs", []):
        path = Path(item["path"])
        full = base / path if base is not None else path
        if not full.is_file():
            problems.append(f"{path} not found")
            if not path.is_absolute():
                relative_missing.append(path)
        elif sha256_file(full) != item["sha256"]:
            problems.append(f"{path} changed (SHA-256 differs from the manifest)")
    if not problems:
        return
    message = "cannot verify the run: " + "; ".join(problems) + "."
    restore = "Restore the original files or build a new run."
    if relative_missing and base is None:
        advice = _relative_path_advice(manifest, relative_missing[0])
        restore = f"{advice} If the files are gone, {restore[0].lower()}{restore[1:]}"
    raise InputChangedError(f"{message} {restore}")


def _relative_path_advice(manifest: dict, path: Path) -> str:
    """Explain where a relative input path such as ``path`` resolves."""
    cwd = Path.cwd()
    recorded = manifest.get("working_dir")
    if recorded:
        where = f"the build ran in {recorded}, which is not found, so {path}"
    else:
        where = f"the manifest does not record the folder the build ran in, so {path}"
    command = manifest.get("command")
    ran = f" (the build command was: {command})" if command else ""
    return (
        f"Relative input paths resolve against the folder the build ran in, "
        f"but {where} was looked up in the current folder {cwd}. Run acctlib "
        f"verify from the folder the build was run in{ran}."
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
        rebuilt. Relative input paths resolve against the folder the build
        ran in when the manifest records it, or else the current folder.
    AcctlibError
        When the rebuild would replace ``run_dir``.
    """
    from acctlib.build import build_report

    original = load_run(run_dir)
    base = build_folder(original.manifest)
    check_inputs(original.manifest, base)
    out_dir = Path(out_dir or tempfile.mkdtemp(prefix="acctlib-verify-")).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    original_dir = Path(run_dir).resolve()
    # The rebuild runs in the folder the original build ran in, so relative
    # paths in the parameters resolve to the same files, and pages show
    # them as the original pages do.
    with contextlib.chdir(base or Path.cwd()):
        params = params_from_manifest(original.manifest, out_dir)
        target = Path(params["reports_dir"]) / params.run_name
        if target.resolve() == original_dir:
            raise AcctlibError(
                f"verifying into {out_dir} would replace {run_dir}; "
                "pass --out with another folder"
            )
        logger.info("rebuilding %s into %s in %s", run_dir, out_dir, Path.cwd())
        result = build_report(params, command=original.manifest["command"])
    comparison = compare_runs(original, load_run(result.run_dir))
    files = compare_published(original_dir, result.run_dir)
    return Verification(result.run_dir, comparison, files)
