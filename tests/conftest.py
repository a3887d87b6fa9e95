"""Shared fixtures: a small deterministic sample CRM and a report built from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from acctlib import sample
from acctlib.params import resolve_params

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"
SMALL_ACCOUNTS = 200


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory) -> Path:
    """Folder with a 200-account sample CRM in the canonical layout."""
    out = tmp_path_factory.mktemp("small-sample")
    sample.write_sample(out, accounts=SMALL_ACCOUNTS)
    return out


def small_params(data_dir: Path, root: Path, *overrides: str):
    """Resolve parameters for a build of ``data_dir`` into ``root``."""
    return resolve_params(
        None,
        [
            f"data_dir={data_dir}",
            f"as_of={sample.SAMPLE_END.isoformat()}",
            f"reports_dir={root / 'reports'}",
            f"work_dir={root / 'work'}",
            *overrides,
        ],
    )


@pytest.fixture(scope="session")
def small_report(small_sample, tmp_path_factory):
    """BuildResult of a full report build on the small sample."""
    from acctlib.build import build_report

    root = tmp_path_factory.mktemp("small-report")
    return build_report(
        small_params(small_sample, root), command="acctlib build (test)"
    )
