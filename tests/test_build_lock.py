"""Two builds of the same run never share a work folder at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from acctlib.build import build_report
from acctlib.errors import InputError, RunBusyError
from tests.conftest import small_params

HOLD_LOCK = """
import fcntl, sys
handle = open(sys.argv[1], "w")
fcntl.flock(handle, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


def test_second_build_of_same_run_is_rejected(tmp_path: Path) -> None:
    params = small_params(tmp_path / "data", tmp_path)
    run_dir = tmp_path / "work" / params.run_name
    run_dir.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(run_dir / ".lock")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunBusyError, match=r"another build of run 2026-06-30"):
            build_report(params)
    finally:
        holder.communicate("")
    assert not (tmp_path / "reports").exists()


def test_failed_build_releases_its_lock(tmp_path: Path) -> None:
    params = small_params(tmp_path / "missing", tmp_path)
    with pytest.raises(InputError):
        build_report(params)
    # The lock is free again: the next build gets past it to the same input error.
    with pytest.raises(InputError):
        build_report(params)
