"""Reading input files as text, with fingerprints.

Every cell is read as text so that identifiers never turn into floats and
parsing happens in one place with row-level errors. CSV, Parquet and XLSX
are supported.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from acctlib.errors import InputError

SUFFIXES = (".csv", ".parquet", ".xlsx")
FALLBACK_ENCODING = "cp1252"


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


def decode_file(path: Path, encoding: str | None = None) -> tuple[str, str]:
    """Decode a text file and return the text and the encoding used.

    Without a declared ``encoding`` the file is read as UTF-8 (dropping a
    byte-order mark) or, when it is not valid UTF-8, as Windows-1252 (a
    superset of Latin-1's printable characters). The five bytes that
    Windows-1252 leaves undefined become U+FFFD.
    """
    data = path.read_bytes()
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as error:
            raise InputError(
                f"cannot decode {path} as {encoding}: {error}; fix read.encoding "
                "in the profile",
                file=str(path),
            ) from error
    try:
        return data.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        return data.decode(FALLBACK_ENCODING, errors="replace"), FALLBACK_ENCODING


def read_text_frame(
    path: Path,
    *,
    encoding: str | None = "utf-8-sig",
    sep: str = ",",
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """Read a CSV, Parquet or XLSX file with every column as text.

    A UTF-8 byte-order mark is removed from the first header. Parquet keeps
    its typed columns, which the parsers accept as they are. With
    ``encoding=None`` a CSV file is decoded by :func:`decode_file`, and a
    note is appended to ``notes`` when it was not valid UTF-8.

    Raises
    ------
    InputError
        When the file is missing, empty or not readable as its suffix says.
    """
    if not path.is_file():
        raise InputError(f"input file {path} not found", file=str(path))
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv" and encoding is None:
            text, used = decode_file(path)
            if used != "utf-8-sig" and notes is not None:
                notes.append(
                    f"{path.name} is not valid UTF-8; read it as {used} "
                    '(save it as "CSV UTF-8" to silence this note).'
                )
            frame = pd.read_csv(
                io.StringIO(text), dtype=str, keep_default_na=False, sep=sep
            )
        elif suffix == ".csv":
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
