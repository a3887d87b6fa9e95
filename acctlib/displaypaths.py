"""Paths as reports show them: without the folders of the user's machine.

Report pages are emailed, and a reviewer who rebuilds the same data from
another folder should get the same pages. A path under the working folder
is therefore shown relative to it, and any other path by its last name
only, such as ``crm`` for ``/home/alice/exports/crm``. Manifests keep the
parameters and input paths as given, because ``acctlib verify`` rebuilds
a run from them.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any


def display_path(path: str | Path, *, within: str | Path | None = None) -> str:
    """Return ``path`` as a report shows it.

    A path under the working folder is shown relative to it. A path under
    ``within``, a folder outside the working folder, is shown as that
    folder's name followed by the rest of the path, such as
    ``crm/accounts.csv``. Any other path is shown as its last name.
    Symbolic links are not followed.
    """
    cwd = Path(os.getcwd())
    full = _absolute(path, cwd)
    if full.is_relative_to(cwd):
        return full.relative_to(cwd).as_posix()
    if within is not None:
        folder = _absolute(within, cwd)
        if full.is_relative_to(folder):
            return (Path(folder.name) / full.relative_to(folder)).as_posix()
    return full.name or full.as_posix()


def display_command(command: str) -> str:
    """Return a command line with its path arguments shown by :func:`display_path`.

    A word is a path argument when it starts with ``/`` or ``..``, either
    whole (``--params /home/alice/team.yaml``) or after the first ``=``
    (``--set data_dir=/home/alice/exports/crm``). A path outside the
    working folder is shown as ``.../`` and its last name, such as
    ``data_dir=.../crm``. A copied command then shows which folder to fill
    in, and run as shown it fails on a missing folder instead of reading
    another one. A command without such a word
    is returned unchanged. Text that shell rules cannot split, such as one
    with an unclosed quote, is split at white space.
    """
    try:
        words = shlex.split(command)
        join = shlex.join
    except ValueError:
        words = command.split()
        join = " ".join
    displayed = [_display_word(word) for word in words]
    if displayed == words:
        return command
    return join(displayed)


def display_value(value: Any) -> Any:
    """Return a parameter value with its path strings shown by :func:`display_path`.

    Strings that start with ``/`` or ``..`` are paths; lists and mappings
    are searched through. Any other value is returned as it is.
    """
    if isinstance(value, str):
        return display_path(value) if _is_path(value) else value
    if isinstance(value, dict):
        return {key: display_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [display_value(item) for item in value]
    return value


def _absolute(path: str | Path, cwd: Path) -> Path:
    # normpath removes ".." without resolving symbolic links, unlike
    # Path.resolve, so a linked data folder under cwd stays under it.
    return Path(os.path.normpath(cwd / path))


def _is_path(text: str) -> bool:
    return text.startswith(("/", ".."))


def _display_word(word: str) -> str:
    if _is_path(word):
        return _display_argument(word)
    name, equals, value = word.partition("=")
    if equals and _is_path(value):
        return f"{name}={_display_argument(value)}"
    return word


def _display_argument(path: str) -> str:
    """Return ``path`` as :func:`display_path` does, marked ``.../`` when outside."""
    cwd = Path(os.getcwd())
    if _absolute(path, cwd).is_relative_to(cwd):
        return display_path(path)
    return f".../{display_path(path)}"
