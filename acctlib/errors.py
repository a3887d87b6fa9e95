"""Exceptions raised by acctlib.

Every error derives from :class:`AcctlibError`, so a caller can catch the
whole family. Each message states what failed, on which value, and what to do.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class AcctlibError(Exception):
    """Root of every error that acctlib raises on purpose."""


class ParameterError(AcctlibError):
    """A parameter is unknown, has the wrong type or lies outside its bounds."""


class InputError(AcctlibError):
    """An input file cannot be read or does not have the expected shape.

    Parameters
    ----------
    message
        What failed and how to fix it.
    file, row, column, value
        Where the problem sits. ``row`` is the 1-based data row, header
        excluded, so row 1 is the first line after the header. Blank lines
        of a CSV file count as rows, as a spreadsheet shows them.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        self.value = value
        super().__init__(message)

    def __reduce__(self):
        # Keep where the problem sits when the error leaves a worker process.
        fields = {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "value": self.value,
        }
        return (_rebuild_input_error, (str(self), fields))


def _rebuild_input_error(message: str, fields: dict) -> InputError:
    return InputError(message, **fields)


class BuildError(AcctlibError):
    """A notebook failed while a report was being built.

    Parameters
    ----------
    notebook
        File name of the notebook that failed.
    cell
        0-based index of the failing cell, when known.
    detail
        The error name and message reported by the kernel.
    """

    def __init__(self, notebook: str, cell: int | None, detail: str) -> None:
        self.notebook = notebook
        self.cell = cell
        self.detail = detail
        where = f"cell {cell}" if cell is not None else "an unknown cell"
        super().__init__(f"notebook {notebook} failed in {where}: {detail}")

    def __reduce__(self):
        # Rebuild from the fields, so the error survives a worker process.
        return (type(self), (self.notebook, self.cell, self.detail))


class EngineError(AcctlibError):
    """The engine of touchpoint-scale work, such as Spark, failed during a run."""


class RunBusyError(AcctlibError):
    """Another build is using the same work folder for the same run."""


def closest_hint(name: str, valid: Iterable[str]) -> str:
    """Return " Did you mean 'x'?" for the valid name closest to ``name``, or "".

    The first valid name that differs from ``name`` only in case or
    surrounding spaces is the closest, however short, so "a" finds "A".
    Otherwise the cutoff of 0.5 finds one-letter slips and swapped letters,
    such as "linaer" for "linear", without suggesting unrelated names.
    """
    valid = list(valid)
    folded = name.strip().casefold()
    same = [candidate for candidate in valid if candidate.strip().casefold() == folded]
    if same:
        return f" Did you mean {same[0]!r}?"
    closest = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    return f" Did you mean {closest[0]!r}?" if closest else ""
