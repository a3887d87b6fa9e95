"""Tests that requirements.lock, environment.yml and pyproject.toml agree."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from acctlib.lockfile import normalise, read_environment, read_lock, write_environment
from acctlib.params import PROJECT_ROOT

LOCK_FILE = PROJECT_ROOT / "requirements.lock"
ENVIRONMENT_FILE = PROJECT_ROOT / "environment.yml"
PYPROJECT_FILE = PROJECT_ROOT / "pyproject.toml"

CORE_PACKAGES = [
    "pandas",
    "duckdb",
    "ibis-framework",
    "pandera",
    "statsmodels",
    "altair",
    "papermill",
    "nbconvert",
    "nbclient",
    "ipykernel",
    "pytest",
    "nbval",
]


def compare_pins(lock: dict[str, str], environment: dict[str, str]) -> dict[str, tuple]:
    """Return ``{package: (lock version, environment version)}`` where they differ.

    A package missing from one side has None as its version there.
    """
    names = sorted(set(lock) | set(environment))
    return {
        name: (lock.get(name), environment.get(name))
        for name in names
        if lock.get(name) != environment.get(name)
    }


def write_environment_file(path: Path, pins: list[str]) -> Path:
    lines = ["name: acctlib", "dependencies:", "  - python=3.11", "  - pip", "  - pip:"]
    lines += [f"      - {pin}" for pin in pins]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def project_requirements() -> list[Requirement]:
    """Return the dependencies and test extras declared in pyproject.toml."""
    project = tomllib.loads(PYPROJECT_FILE.read_text(encoding="utf-8"))["project"]
    texts = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        texts += extra
    return [Requirement(text) for text in texts]


def test_lock_and_environment_pin_same_set():
    lock = read_lock(LOCK_FILE)
    environment = read_environment(ENVIRONMENT_FILE)

    assert lock, "requirements.lock pins no package"
    assert compare_pins(lock, environment) == {}


def test_environment_installs_only_python_and_pip_from_conda():
    content = yaml.safe_load(ENVIRONMENT_FILE.read_text(encoding="utf-8"))
    conda_entries = [
        entry for entry in content["dependencies"] if not isinstance(entry, dict)
    ]

    assert conda_entries == ["python=3.11", "pip"]


def test_environment_installs_project():
    content = yaml.safe_load(ENVIRONMENT_FILE.read_text(encoding="utf-8"))
    pip_entries = next(
        entry["pip"] for entry in content["dependencies"] if isinstance(entry, dict)
    )

    assert "-e ." in pip_entries


@pytest.mark.parametrize(
    ("lock_pins", "environment_pins", "expected"),
    [
        pytest.param(
            ["pandas==3.1.1", "numpy==2.4.6"],
            ["pandas==3.1.0", "numpy==2.4.6"],
            {"pandas": ("3.1.1", "3.1.0")},
            id="version-differs",
        ),
        pytest.param(
            ["pandas==3.1.1", "duckdb==2.0.1"],
            ["pandas==3.1.1"],
            {"duckdb": ("2.0.1", None)},
            id="missing-from-environment",
        ),
        pytest.param(
            ["pandas==3.1.1"],
            ["pandas==3.1.1", "polars==1.0.0"],
            {"polars": (None, "1.0.0")},
            id="extra-in-environment",
        ),
        pytest.param(
            ["PyYAML==6.0.4", "et_xmlfile==2.0.0"],
            ["pyyaml==6.0.4", "et-xmlfile==2.0.0"],
            {},
            id="names-normalised",
        ),
    ],
)
def test_drift_is_detected(tmp_path, lock_pins, environment_pins, expected):
    lock_path = tmp_path / "requirements.lock"
    lock_path.write_text("\n".join(lock_pins) + "\n", encoding="utf-8")
    environment_path = write_environment_file(
        tmp_path / "environment.yml", environment_pins
    )

    found = compare_pins(read_lock(lock_path), read_environment(environment_path))

    assert found == expected


def test_write_environment_round_trips(tmp_path):
    environment_path = tmp_path / "environment.yml"

    write_environment(environment_path, LOCK_FILE)

    assert read_environment(environment_path) == read_lock(LOCK_FILE)
    assert environment_path.read_text(encoding="utf-8") == ENVIRONMENT_FILE.read_text(
        encoding="utf-8"
    )


def test_read_lock_skips_comments_and_blanks(tmp_path):
    lock_path = tmp_path / "requirements.lock"
    lock_path.write_text(
        "# generated\n\nPandas==3.1.1  # data frames\nibis-framework[duckdb]==12.0.0\n",
        encoding="utf-8",
    )

    assert read_lock(lock_path) == {"pandas": "3.1.1", "ibis-framework": "12.0.0"}


@pytest.mark.parametrize("line", ["pandas>=3.0", "pandas", "-e ."])
def test_read_lock_rejects_unpinned_line(tmp_path, line):
    lock_path = tmp_path / "requirements.lock"
    lock_path.write_text(f"numpy==2.4.6\n{line}\n", encoding="utf-8")

    with pytest.raises(ValueError, match=r"line 2: .* is not a name==version pin"):
        read_lock(lock_path)


def test_read_environment_rejects_unpinned_entry(tmp_path):
    environment_path = write_environment_file(
        tmp_path / "environment.yml", ["pandas>=3.0"]
    )

    with pytest.raises(ValueError, match=r"'pandas>=3\.0' is not a name==version pin"):
        read_environment(environment_path)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("PyYAML", "pyyaml"),
        ("et_xmlfile", "et-xmlfile"),
        ("zope.interface", "zope-interface"),
        ("ibis-framework[duckdb]", "ibis-framework"),
        ("typing__extensions", "typing-extensions"),
    ],
)
def test_normalise(name, expected):
    assert normalise(name) == expected


@pytest.mark.parametrize("package", CORE_PACKAGES)
def test_core_package_is_pinned(package):
    assert package in read_lock(LOCK_FILE)


def test_core_packages_are_declared_in_pyproject():
    declared = {normalise(requirement.name) for requirement in project_requirements()}

    assert set(CORE_PACKAGES) - declared == set()


@pytest.mark.parametrize(
    "requirement", project_requirements(), ids=lambda requirement: requirement.name
)
def test_pyproject_requirement_is_pinned_compatibly(requirement):
    lock = read_lock(LOCK_FILE)
    name = normalise(requirement.name)

    assert name in lock
    assert requirement.specifier.contains(lock[name], prereleases=True)
