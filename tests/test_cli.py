"""Tests for acctlib.cli: help, check and verify of the ``acctlib`` command."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from acctlib import cli, verify
from acctlib.params import DEFAULTS_FILE
from acctlib.verify import Verification
from tests.intake.test_maven import write_export

# The console script that ``pip install`` wrote for acctlib.cli:main.
ACCTLIB = Path(sys.executable).with_name("acctlib")
# A parameter's entry starts with its name and default, indented two spaces.
ENTRY = re.compile(r"^  ([a-z0-9_]+): (.+)$")


def run_help(command: str, columns: int = 80) -> str:
    result = subprocess.run(
        [str(ACCTLIB), command, "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": str(columns)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def parameter_lines(help_text: str) -> list[str]:
    """Return the lines of the parameters section of ``help_text``."""
    _, heading, section = help_text.partition("\nparameters:\n")
    assert heading, "the help has no parameters section"
    return section.splitlines()


def listed_parameters(help_text: str) -> dict[str, str]:
    """Return the default of every parameter listed in ``help_text``."""
    return {
        match[1]: match[2]
        for line in parameter_lines(help_text)
        if (match := ENTRY.match(line))
    }


@pytest.mark.parametrize("command", ["build", "check"])
def test_help_lists_every_parameter(command):
    declared = yaml.safe_load(DEFAULTS_FILE.read_text(encoding="utf-8"))
    listed = listed_parameters(run_help(command))

    assert len(declared) > 40
    assert sorted(listed) == sorted(declared)


def test_help_shows_defaults_and_summaries():
    help_text = run_help("build")
    listed = listed_parameters(help_text)

    assert listed["influence_window_days"] == "90 days"
    assert listed["late_stage_probability"] == "60%"
    assert listed["report_currency"] == "USD"
    assert listed["month_over_month"] == "true"
    assert listed["as_of"] == "(empty)"
    assert listed["fit_weights"] == "{industry: 40, size: 40, region: 20}"
    assert listed["stage_map"] == "7 entries, listed in params/default.yaml"
    assert (
        "  influence_window_days: 90 days\n"
        "      Window before the as-of date in which touches count as recent"
        " influence.\n"
    ) in help_text
    assert "reports/<as-of>--<variant>/." in help_text


@pytest.mark.parametrize(
    "command", ["build", "check", "verify", "compare", "email", "sample"]
)
def test_help_has_description(command):
    usage, _, rest = run_help(command).partition("\n\n")
    description = rest.split("\n\n", maxsplit=1)[0]

    assert usage.startswith(f"usage: acctlib {command}")
    assert not description.startswith("options:")
    assert len(description) > 40


def test_every_command_has_description():
    parser = cli.build_parser()
    commands = next(
        action
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    )

    assert set(commands.choices) == {
        "build",
        "check",
        "verify",
        "compare",
        "email",
        "sample",
    }
    for name, command in commands.choices.items():
        assert command.description, name


def test_sample_help_shows_defaults():
    help_text = " ".join(run_help("sample").split())

    assert "random seed (default 20260630)" in help_text
    assert "number of accounts (default 2000)" in help_text
    assert "file format (default csv)" in help_text


def test_help_shows_list_items_plainly():
    listed = listed_parameters(run_help("build"))

    assert listed["attribution_window_days"] == "30, 60, 90, 180, 365 days"
    assert listed["attribution_channel_priority"] == "(empty)"
    assert listed["attribution_models"] == "10 items, listed in params/default.yaml"


def test_every_listed_parameter_has_summary():
    lines = parameter_lines(run_help("build"))
    for index, line in enumerate(lines):
        if ENTRY.match(line):
            assert lines[index + 1].startswith("      "), line
            assert lines[index + 1].strip(), line


def test_help_fits_80_columns():
    too_wide = [line for line in run_help("build").splitlines() if len(line) > 80]

    assert too_wide == []


@pytest.mark.parametrize(("identical", "kept"), [(True, False), (False, True)])
def test_verify_removes_identical_rebuild(monkeypatch, tmp_path, identical, kept):
    """A temporary rebuild is removed when it matches and kept when it differs."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    folders = []

    def rebuild(run_dir, out_dir):
        folders.append(out_dir)
        (out_dir / "reports").mkdir()
        comparison = SimpleNamespace(identical_results=identical, differences=list)
        return Verification(rebuilt_dir=out_dir / "reports", comparison=comparison)

    monkeypatch.setattr(verify, "verify_run", rebuild)
    code = cli.main(["verify", str(tmp_path / "run")])

    assert code == (0 if identical else 1)
    assert len(folders) == 1
    assert folders[0].exists() == kept


def test_check_rejects_owner_without_accounts(small_sample, capsys):
    code = cli.main(
        ["check", "--set", f"data_dir={small_sample}", "--set", "owner=Nobody Here"]
    )

    assert code == 2
    assert "owner 'Nobody Here' owns no account" in capsys.readouterr().err


def test_check_rejects_model_before_intake(tmp_path, capsys):
    # The data folder does not exist, so only a check before intake names
    # the model.
    code = cli.main(
        [
            "check",
            "--set",
            f"data_dir={tmp_path / 'absent'}",
            "--set",
            "attribution_models=[first_touch, linaer]",
        ]
    )

    assert code == 2
    error = capsys.readouterr().err
    assert "unknown model(s) linaer. Did you mean 'linear'?" in error


def test_check_reports_stale_data(small_sample, capsys):
    code = cli.main(
        ["check", "--set", f"data_dir={small_sample}", "--set", "as_of=2026-09-30"]
    )

    output = capsys.readouterr().out
    assert code == 0
    assert "data older than as-of" in output
    findings = output.partition("\nData-quality findings:\n")[2]
    assert "days before the as-of date 30 Sep 2026" in findings
    assert output.count("days before the as-of date 30 Sep 2026") == 1


def test_check_prints_each_note_once(tmp_path, capsys):
    export = write_export(tmp_path)
    code = cli.main(
        ["check", "--set", f"data_dir={export}", "--set", "profile=maven"]
        + ["--set", "as_of=2017-03-31"]
    )

    output = capsys.readouterr().out
    assert code == 0
    finding = '1 deal without a company, reported under "No account".'
    assert output.count(finding) == 1
    notes = output.partition("\nNotes:\n")[2].splitlines()
    assert notes
    assert len(notes) == len(set(notes))
    # The profile's own note gives the stages, so it differs and stays.
    assert '  No account on 1 deal (Engaging: 1); reported under "No account".' in notes


def test_check_rejects_team_member_without_accounts(small_sample, tmp_path, capsys):
    params_file = tmp_path / "team.yaml"
    params_file.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(small_sample),
                "teams": {"east": ["Fatima Cohen", "Nobody Real"]},
            }
        ),
        encoding="utf-8",
    )

    code = cli.main(["check", "--params", str(params_file), "--set", "team=east"])

    assert code == 2
    error = capsys.readouterr().err
    assert "team 'east'" in error
    assert "'Nobody Real'" in error


def run_without_data(command: str, setting: str, tmp_path) -> int:
    """Run ``command`` with ``setting`` on a data folder that does not exist.

    Reading input would fail with another error, so an error about
    ``setting`` shows that it was checked before intake.
    """
    return cli.main(
        [
            command,
            "--set",
            f"data_dir={tmp_path / 'missing'}",
            "--set",
            f"reports_dir={tmp_path / 'reports'}",
            "--set",
            f"work_dir={tmp_path / 'work'}",
            "--set",
            setting,
        ]
    )


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "health_weights={customer: {engagement_levle: 1}}",
            "health_weights.customer has unknown component 'engagement_levle'. "
            "Did you mean 'engagement_level'?",
        ),
        (
            "health_weights={customer: {usage: -1}}",
            "give non-negative numbers as weights",
        ),
        ("duckdb_memory_limit=lots", "duckdb_memory_limit 'lots' is not a size"),
        ("team=west", "team 'west' is not in the teams parameter"),
        ("engine=snowflake", "pip install 'ibis-framework[snowflake]'"),
    ],
    ids=["weight name", "negative weight", "memory limit", "team", "engine"],
)
@pytest.mark.parametrize("command", ["build", "check"])
def test_invalid_setting_stops_before_intake(
    command, setting, message, tmp_path, capsys
):
    # The snowflake case needs snowflake-connector-python to be missing,
    # as it is from the project's environment.
    code = run_without_data(command, setting, tmp_path)

    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("command", ["build", "check"])
def test_unknown_section_stops_before_intake(command, tmp_path, capsys):
    code = run_without_data(
        command, "sections=[00-executive-summary,99-nope]", tmp_path
    )

    assert code == 2
    error = capsys.readouterr().err
    assert "unknown section '99-nope' in parameter 'sections'" in error
    assert "Known sections: 00-executive-summary, 01-account-map" in error
    assert not (tmp_path / "reports").exists()


def test_module_runs_the_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "acctlib", "build", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: acctlib build")
