"""Tests for acctlib.displaypaths: paths as report pages show them."""

from __future__ import annotations

import pytest

from acctlib.displaypaths import display_command, display_path, display_value

OUTSIDE = "/home/alice/exports/crm"


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    """Change the working folder to a new, empty folder."""
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("data/sample", "data/sample"),
        ("./data/../data/sample", "data/sample"),
        (".", "."),
        (OUTSIDE, "crm"),
        (f"{OUTSIDE}/", "crm"),
        ("../exports/crm", "crm"),
        ("/", "/"),
    ],
)
def test_display_path_cases(cwd, path, expected):
    assert display_path(path) == expected


def test_display_path_absolute_under_cwd(cwd):
    assert display_path(cwd / "data" / "sample") == "data/sample"


def test_display_path_within_data_folder(cwd):
    displayed = display_path(f"{OUTSIDE}/accounts.csv", within=OUTSIDE)

    assert displayed == "crm/accounts.csv"


def test_display_path_within_ignored_under_cwd(cwd):
    displayed = display_path(cwd / "data" / "accounts.csv", within=cwd / "data")

    assert displayed == "data/accounts.csv"


def test_display_path_outside_within(cwd):
    assert display_path("/srv/other/accounts.csv", within=OUTSIDE) == "accounts.csv"


def test_display_command_rewrites_paths(cwd):
    command = (
        "acctlib build --params /home/alice/team.yaml "
        f"--set data_dir={OUTSIDE} --set 'owner=Yara Kim' "
        f"--set reports_dir={cwd}/reports --params=../params/x.yaml"
    )

    displayed = display_command(command)

    assert displayed == (
        "acctlib build --params .../team.yaml --set data_dir=.../crm "
        "--set 'owner=Yara Kim' --set reports_dir=reports --params=.../x.yaml"
    )


@pytest.mark.parametrize(
    "command",
    [
        "acctlib build (test)",
        "acctlib build --params params/sample.yaml --set as_of=2026-06-30",
    ],
)
def test_display_command_keeps_others(cwd, command):
    assert display_command(command) == command


def test_display_command_unclosed_quote(cwd):
    displayed = display_command(f"acctlib build --set data_dir={OUTSIDE} --set 'x")

    assert displayed == "acctlib build --set data_dir=.../crm --set 'x"


def test_display_value_searches_nested(cwd):
    value = {
        "database": f"{OUTSIDE}/crm.duckdb",
        "spark_conf": {"spark.local.dir": "/scratch/alice/spark"},
        "paths": ["data/sample", "../secret/folder"],
        "port": 5432,
    }

    assert display_value(value) == {
        "database": "crm.duckdb",
        "spark_conf": {"spark.local.dir": "spark"},
        "paths": ["data/sample", "folder"],
        "port": 5432,
    }
    assert display_value("canonical") == "canonical"
    assert display_value(None) is None
