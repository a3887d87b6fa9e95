"""A report built from a sample whose CRM names carry markup and formulas."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from acctlib import sample
from tests.conftest import small_params

MARKUP = "<img src=x onerror=alert(1)>"
SCRIPT_END = "</script><script>alert(2)</script>"
POISONED_STAGE = f"{MARKUP}{SCRIPT_END}"
RENAMED_STAGE = "Discovery"
# Name prefixes that a spreadsheet would run as formulas, then markup.
NAME_PREFIXES = [MARKUP, SCRIPT_END, "=1+2 ", "+1 ", "-1 ", "@SUM(A1) "]
# SMTP credentials present in the environment while the report is built;
# none of them may reach a file of the run.
SECRETS = {
    "ACCTLIB_SMTP_USER": "reports@example.com",
    "ACCTLIB_SMTP_PASSWORD": "s3cret-Smtp-Passw0rd",
}


def poison_sample(folder) -> None:
    """Rewrite account, stage and campaign names of the sample in ``folder``."""
    accounts = pd.read_csv(folder / "accounts.csv", dtype=str, keep_default_na=False)
    prefixes = [NAME_PREFIXES[i % len(NAME_PREFIXES)] for i in range(len(accounts))]
    accounts["name"] = [
        p + name for p, name in zip(prefixes, accounts["name"], strict=True)
    ]
    accounts.to_csv(folder / "accounts.csv", index=False)

    for table in ("opportunities", "stage_history"):
        frame = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
        frame["stage"] = frame["stage"].replace(RENAMED_STAGE, POISONED_STAGE)
        frame.to_csv(folder / f"{table}.csv", index=False)

    touches = pd.read_csv(folder / "touchpoints.csv", dtype=str, keep_default_na=False)
    touches["campaign"] = touches["campaign"].where(touches["campaign"] == "", MARKUP)
    touches.to_csv(folder / "touchpoints.csv", index=False)


@pytest.fixture(scope="session")
def untrusted_report(tmp_path_factory):
    """BuildResult of a small-sample report whose names carry markup.

    The build runs with SMTP credentials in the environment (see SECRETS).
    """
    from acctlib.build import build_report

    data = tmp_path_factory.mktemp("untrusted-sample")
    sample.write_sample(data, accounts=60)
    poison_sample(data)
    root = tmp_path_factory.mktemp("untrusted-report")
    params = small_params(data, root)
    stage_map = dict(params["stage_map"])
    stage_map[POISONED_STAGE] = stage_map.pop(RENAMED_STAGE)
    saved = {name: os.environ.get(name) for name in SECRETS}
    os.environ.update(SECRETS)
    try:
        return build_report(
            params.replace(stage_map=stage_map), command="acctlib build"
        )
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
