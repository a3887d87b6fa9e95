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


def hold_lock(lock_file: Path) -> subprocess.Popen:
    """Start a process that keeps ``lock_file`` locked until its stdin closes."""
    lock_file.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_second_build_of_same_run_is_rejected(tmp_path: Path) -> None:
    params = small_params(tmp_path / "data", tmp_path)
    holder = hold_lock(tmp_path / "work" / params.run_name / ".lock")
    try:
        with pytest.raises(RunBusyError) as caught:
            build_report(params)
    finally:
        holder.communicate("")
    message = str(caught.value)
    assert "another build of run 2026-06-30" in message
    # Another work_dir alone would let both builds write reports/2026-06-30.
    assert "--set variant=NAME" in message
    assert "work_dir=PATH" not in message
    assert not (tmp_path / "reports").exists()


def test_variant_build_passes_lock_of_main_run(tmp_path: Path) -> None:
    main_run = small_params(tmp_path / "missing", tmp_path)
    variant_run = small_params(tmp_path / "missing", tmp_path, "variant=second")
    holder = hold_lock(tmp_path / "work" / main_run.run_name / ".lock")
    try:
        # Past the lock, the build stops at the missing data folder.
        with pytest.raises(InputError):
            build_report(variant_run)
    finally:
        holder.communicate("")
    assert (tmp_path / "work" / "2026-06-30--second" / ".lock").exists()


def test_failed_build_releases_its_lock(tmp_path: Path) -> None:
    params = small_params(tmp_path / "missing", tmp_path)
    with pytest.raises(InputError):
        build_report(params)
    # The lock is free again: the next build gets past it to the same input error.
    with pytest.raises(InputError):
        build_report(params)
