"""Reading input files as text, with fingerprints.

Every cell is read as text so that identifiers never turn into floats and
parsing happens in one place with row-level errors. CSV, Parquet and XLSX
are supported.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from acctlib.errors import InputError

SUFFIXES = (".csv", ".parquet", ".xlsx")


@dataclass(frozen=True)
class InputFile:
    """Fingerprint of one input file."""

    table: str
    path: str
    sha256: str
    rows: int


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_table_file(data_dir: Path, stem: str) -> Path | None:
    """Return ``data_dir/stem`` with the first supported suffix that exists."""
    for suffix in SUFFIXES:
        candidate = data_dir / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def read_text_frame(
    path: Path, *, encoding: str = "utf-8-sig", sep: str = ","
) -> pd.DataFrame:
    """Read a CSV, Parquet or XLSX file with every column as text.

    A UTF-8 byte-order mark is removed from the first header. Parquet keeps
    its typed columns, which the parsers accept as they are.

    Raises
    ------
    InputError
        When the file is missing, empty or not readable as its suffix says.
    """
    if not path.is_file():
        raise InputError(f"input file {path} not found", file=str(path))
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(
                path, dtype=str, keep_default_na=False, encoding=encoding, sep=sep
            )
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix == ".xlsx":
            frame = pd.read_excel(path, dtype=str, keep_default_na=False)
        else:
            raise InputError(
                f"input file {path} has unsupported type {suffix!r}; "
                "expected .csv, .parquet or .xlsx",
                file=str(path),
            )
    except InputError:
        raise
    except pd.errors.EmptyDataError as error:
        raise InputError(
            f"input file {path} is empty; expected a header row and data rows",
            file=str(path),
        ) from error
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError, OSError) as error:
        raise InputError(
            f"cannot read input file {path} as {suffix.lstrip('.').upper()}: {error}. "
            f"Expected a {suffix} file with one header row.",
            file=str(path),
        ) from error
    frame.columns = [str(column).strip() for column in frame.columns]
    return frame


def escape_invisible(text: str) -> str:
    """Show invisible and non-ASCII characters of ``text`` as escapes."""
    return text.encode("unicode_escape").decode("ascii")
