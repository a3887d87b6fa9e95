"""Writing small export folders and profiles, and loading them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from acctlib.intake import Intake, load_source
from acctlib.params import resolve_params

AS_OF = "2024-12-31"


def write_files(folder: Path, files: dict[str, str | bytes]) -> Path:
    """Write each named text (UTF-8) or byte string into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
    return folder


def load(
    tmp_path: Path,
    files: dict[str, str | bytes],
    profile: str | dict[str, Any],
    *overrides: str,
) -> Intake:
    """Load ``files`` through ``profile`` (a name or a profile mapping)."""
    data = write_files(tmp_path / "data", files)
    if isinstance(profile, dict):
        path = tmp_path / "profile.yaml"
        path.write_text(yaml.safe_dump(profile), encoding="utf-8")
        profile = str(path)
    params = resolve_params(
        None,
        [f"data_dir={data}", f"profile={profile}", f"as_of={AS_OF}", *overrides],
    )
    return load_source(params)


def rejected_record(intake: Intake, table: str) -> dict[str, Any]:
    """Return the record of the one rejected row of ``table`` as a dict."""
    frame = intake.quarantine.to_frame()
    records = frame.loc[frame["table"] == table, "record"]
    assert len(records) == 1, f"expected one rejected row of {table}: {records}"
    return json.loads(records.iloc[0])


def mapped_profile(**options: Any) -> dict[str, Any]:
    """A profile for accounts.csv and opportunities.csv with label headers."""
    opportunity_columns = {
        "opportunity_id": ["Opportunity ID"],
        "account_id": ["Account ID"],
        "stage": ["Stage"],
        "amount": ["Amount (converted)"],
        "amount_original": ["Amount"],
        "currency": ["Currency"],
        "close_date": ["Close Date"],
        "created_at": ["Created"],
    }
    return {
        "name": "test",
        "adapter": "mapped",
        "options": options,
        "tables": {
            "accounts": {
                "files": ["accounts.csv", "accounts.xlsx"],
                "columns": {
                    "account_id": ["Account ID"],
                    "name": ["Account Name"],
                    "website": ["Website"],
                    "is_target": ["Target"],
                    "created_at": ["Created"],
                },
                "optional_columns": ["website", "is_target"],
                "constants": {"created_at": "2023-01-01"},
            },
            "opportunities": {
                "files": ["opportunities.csv", "opportunities.xlsx"],
                "columns": opportunity_columns,
                "optional_columns": ["currency"],
                "constants": {"type": "new_business", "created_at": "2024-01-01"},
            },
            "stage_history": {
                "optional": True,
                "files": ["history.csv"],
                "columns": {
                    "opportunity_id": ["Opportunity ID"],
                    "stage": ["Stage"],
                    "entered_at": ["Entered"],
                },
            },
        },
    }


def opportunities_csv(rows: list[tuple[str, str, str, str, str]]) -> str:
    """Opportunities as CSV: ID, account, stage, amount, close date."""
    lines = ["Opportunity ID,Account ID,Stage,Amount,Close Date"]
    lines += [",".join(_quote(cell) for cell in row) for row in rows]
    return "\n".join(lines) + "\n"


def _quote(cell: str) -> str:
    return f'"{cell}"' if "," in cell or '"' in cell else cell
