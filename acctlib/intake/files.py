"""Reading input files as text, with fingerprints.

Every cell is read as text so that identifiers never turn into floats and
parsing happens in one place with row-level errors. CSV, Parquet and XLSX
are supported.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import logging
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from acctlib.errors import InputError

logger = logging.getLogger(__name__)

SUFFIXES = (".csv", ".parquet", ".xlsx")
FALLBACK_ENCODING = "cp1252"
# UTF-32 first, because the UTF-32 LE mark starts with the UTF-16 LE one.
BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# pandas renames the second "name" header "name.1", the third "name.2".
RENAMED_REPEAT = re.compile(r"^(.*)\.\d+$")
# The C parser's message for a line with more fields than the header.
FIELD_COUNT_ERROR = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
UNCLOSED_QUOTE_ERROR = re.compile(r"EOF inside string starting at row (\d+)")


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


def bom_encoding(data: bytes) -> str | None:
    """Return "utf-16" or "utf-32" when ``data`` starts with its byte-order mark."""
    for mark, encoding in BYTE_ORDER_MARKS:
        if data.startswith(mark):
            return encoding
    return None


def is_empty_file(path: Path) -> bool:
    """Tell whether a file has no bytes, or a CSV file only blank lines.

    Only CSV files under 64 bytes are read, so a large file costs no read.
    """
    size = path.stat().st_size
    if size == 0:
        return True
    if path.suffix.lower() != ".csv" or size >= 64:
        return False
    data = path.read_bytes()
    for mark, _ in BYTE_ORDER_MARKS:
        data = data.removeprefix(mark)
    data = data.removeprefix(codecs.BOM_UTF8)
    return not data.replace(b"\x00", b"").strip()


def decode_file(
    path: Path, encoding: str | None = None, fix: str = ""
) -> tuple[str, str]:
    """Decode a text file and return the text and the encoding used.

    Without a declared ``encoding`` a file that starts with a UTF-16 or
    UTF-32 byte-order mark is read in that encoding. Other files are read
    as UTF-8 (dropping a byte-order mark) or, when they are not valid
    UTF-8, as Windows-1252 (a superset of Latin-1's printable characters).
    The five bytes that Windows-1252 leaves undefined become U+FFFD. A file
    that is mostly UTF-8 raises instead (see :func:`check_mixed_encoding`),
    whose message ``fix`` extends with another remedy, such as declaring
    the encoding.
    """
    data = path.read_bytes()
    marked = None if encoding else bom_encoding(data)
    if marked:
        try:
            return data.decode(marked), marked
        except UnicodeDecodeError as error:
            raise InputError(
                f"cannot decode {path} as {marked.upper()}, which its byte-order "
                f"mark declares: {error}. Save the file as CSV UTF-8 and run "
                "again.",
                file=str(path),
            ) from error
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
        check_mixed_encoding(path, data, fix)
        return data.decode(FALLBACK_ENCODING, errors="replace"), FALLBACK_ENCODING


def check_mixed_encoding(path: Path, data: bytes, fix: str = "") -> None:
    """Raise when a file that is not valid UTF-8 is mostly UTF-8.

    Lines count as UTF-8 when they contain bytes above 0x7F and decode as
    UTF-8, and as not UTF-8 when they do not decode. Windows-1252 text
    rarely decodes as UTF-8, because its accented letters are single bytes
    followed by ASCII. So when the UTF-8 lines are at least as many as the
    others, the file mixes encodings, and reading it as Windows-1252 would
    garble every UTF-8 line, such as "Société" read as "SociÃ©tÃ©".

    Raises
    ------
    InputError
        Naming the file, the line of the first invalid byte and the byte.
    """
    body = data.removeprefix(codecs.BOM_UTF8)
    utf8_lines = 0
    other_lines = []
    # Lines end at LF, as first_invalid_utf8_line counts them.
    for number, line in enumerate(body.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            other_lines.append(number)
        else:
            utf8_lines += 1
    if utf8_lines < len(other_lines):
        return
    first_byte = len(data) - len(body)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        first_byte += error.start
    first_line = data.count(b"\n", 0, first_byte) + 1
    listed = ", ".join(str(number) for number in other_lines[:10])
    more = f" and {len(other_lines) - 10} more" if len(other_lines) > 10 else ""
    utf8_count = "1 line is" if utf8_lines == 1 else f"{utf8_lines} lines are"
    label = "line" if len(other_lines) == 1 else "lines"
    raise InputError(
        f"{path}: line {first_line} has the byte 0x{data[first_byte]:02X}, which "
        f"is not valid UTF-8, but the file's other non-ASCII text is UTF-8 "
        f"({utf8_count} UTF-8, and {len(other_lines)} not: {label} "
        f"{listed}{more}). Reading the whole file as Windows-1252 would garble "
        'that text, as in "SociÃ©tÃ©" for "Société". Retype the accented '
        "letters on the lines that are not UTF-8 and save the file as UTF-8 "
        f"(CSV UTF-8 in Excel){fix}, then run again.",
        file=str(path),
        row=max(first_line - 1, 1),
    )


def not_utf8_note(path: Path, encoding: str, silence: str) -> str:
    """Return the note for a file read as ``encoding`` because it is not UTF-8.

    ``silence`` is the advice that silences the note.
    """
    line = first_invalid_utf8_line(path)
    where = f" (the first invalid byte is on line {line})" if line else ""
    return f"{path.name} is not valid UTF-8{where}; read it as {encoding} ({silence})."


def read_text_frame(
    path: Path,
    *,
    encoding: str | None = "utf-8-sig",
    sep: str = ",",
    notes: list[str] | None = None,
    row_column: str | None = None,
    short_row_column: str | None = None,
    repeated_headers: str = "error",
) -> pd.DataFrame:
    """Read a CSV, Parquet or XLSX file with every column as text.

    A UTF-8 byte-order mark is removed from the first header. Parquet keeps
    its typed columns, which the parsers accept as they are. With
    ``encoding=None`` a CSV file is decoded by :func:`decode_file`, and a
    note is appended to ``notes`` when it was not valid UTF-8. With
    ``row_column``, that column gets each row's number, in which blank
    lines of a CSV file count (see :func:`csv_row_numbers`). A header that
    appears twice raises, or with ``repeated_headers="note"`` adds a note
    to ``notes`` and the first of the columns is read (see
    :func:`check_repeated_headers`). A CSV row with fewer fields than the
    header raises too, as one with more fields does, unless
    ``short_row_column`` names a column to receive the rejection reason of
    each such row ("" for the other rows, see :func:`short_row_reasons`).

    Raises
    ------
    InputError
        When the file is missing, empty or not readable as its suffix says.
    """
    if not path.is_file():
        raise InputError(f"input file {path} not found", file=str(path))
    suffix = path.suffix.lower()
    text = None
    if suffix == ".csv" and _starts_with_bom(path):
        encoding = None
    try:
        if suffix == ".csv" and encoding is None:
            text, used = decode_file(path)
            if used == FALLBACK_ENCODING and notes is not None:
                notes.append(
                    not_utf8_note(
                        path, used, 'save it as "CSV UTF-8" to silence this note'
                    )
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
            f"input file {path} is empty; expected a header row and data rows. "
            "Export the file again with its header row.",
            file=str(path),
        ) from error
    except pd.errors.ParserError as error:
        raise csv_parse_error(path, error, sep) from error
    except (UnicodeDecodeError, ValueError, OSError) as error:
        if suffix == ".xlsx" and not zipfile.is_zipfile(path):
            # pandas then raises "Excel file format cannot be determined".
            raise InputError(
                f"{path} is not an Excel workbook: an .xlsx file is a zip "
                "archive, and this one is not. If it is a CSV file, rename it "
                "to .csv; otherwise save the sheet again as an Excel workbook.",
                file=str(path),
            ) from error
        raise InputError(
            f"cannot read input file {path} as {suffix.lstrip('.').upper()}: {error}. "
            f"Expected a {suffix} file with one header row.",
            file=str(path),
        ) from error
    check_repeated_headers(
        path,
        frame.columns,
        text=text,
        sep=sep,
        encoding=encoding,
        notes=notes if repeated_headers == "note" else None,
    )
    frame.columns = [str(column).strip() for column in frame.columns]
    if suffix == ".csv":
        reasons = _short_row_reasons(path, text, sep, encoding, frame)
        if short_row_column is not None:
            frame[short_row_column] = reasons
        elif reasons.ne("").any():
            first = reasons[reasons.ne("")].iloc[0]
            raise InputError(
                f"{path}: {first.removeprefix(path.name + ' ')}, then run again.",
                file=str(path),
            )
    if row_column is None:
        return frame
    if text is not None:
        rows = text_row_numbers(text, sep, len(frame))
    elif suffix == ".csv" and file_line_count(path) != len(frame) + 1:
        with path.open(encoding=encoding, newline="") as handle:
            rows = csv_row_numbers(handle, sep, len(frame))
    else:
        rows = range(1, len(frame) + 1)
    return frame.assign(**{row_column: rows})


def _short_row_reasons(
    path: Path, text: str | None, sep: str, encoding: str | None, frame: pd.DataFrame
) -> pd.Series:
    """Return the reasons of the rows of ``frame`` that a CSV file cuts short."""
    if text is not None:
        return short_row_reasons(io.StringIO(text, newline=""), path, sep, frame)
    with path.open(encoding=encoding or "utf-8-sig", newline="") as handle:
        return short_row_reasons(handle, path, sep, frame)


def short_row_reasons(
    lines: Iterable[str], path: Path, sep: str, frame: pd.DataFrame
) -> pd.Series:
    """Return, per row of ``frame``, why it has fewer fields than the header, or "".

    pandas fills the missing fields of a short row with empty cells, which
    would hide a row cut off in the export. ``frame`` is ``lines`` read by
    pandas, which skips blank lines, so the i-th data row of
    :func:`find_short_rows` is the frame's i-th row. Every short row counts,
    including one from an export that leaves out trailing empty fields,
    because such a row cannot be distinguished from one cut short.
    """
    reasons = pd.Series("", index=frame.index, dtype=object)
    width = len(frame.columns)
    # pandas leaves the last cell of a short row empty, so a file without
    # such a cell needs no second pass through the csv module.
    if width == 0 or not frame.iloc[:, -1].eq("").any():
        return reasons
    try:
        count, short = find_short_rows(lines, sep, width)
    except csv.Error as error:
        logger.warning("%s: cannot check for short rows: %s", path, error)
        return reasons
    if count != len(frame):
        # NOTE: csv and pandas split this file into different numbers of
        # rows, so the positions cannot be matched and no row is flagged.
        logger.warning(
            "%s: cannot check for short rows, because csv reads %d data rows "
            "and pandas %d",
            path,
            count,
            len(frame),
        )
        return reasons
    for position, (line, fields) in short.items():
        reasons.iloc[position] = (
            f"{path.name} line {line} {short_row_problem(fields, width)}; export "
            "the file again or complete the row"
        )
    return reasons


def find_short_rows(
    lines: Iterable[str], sep: str, width: int
) -> tuple[int, dict[int, tuple[int, int]]]:
    """Return the number of data rows and the rows with fewer than ``width`` fields.

    Data rows are those of :func:`csv_row_numbers`, without blank lines.
    The dictionary maps the 0-based position of each short row among them
    onto the line where the row starts and its number of fields.
    """
    short = {}
    count = 0
    for count, (_, line, fields) in enumerate(_data_records(lines, sep), start=1):
        if fields < width:
            short[count - 1] = (line, fields)
    return count, short


def short_row_problem(fields: int, width: int) -> str:
    """Return "has 13 fields, but the header has 17, ..." for a short row."""
    noun = "field" if fields == 1 else "fields"
    return (
        f"has {fields} {noun}, but the header has {width}, so the row looks cut short"
    )


def check_repeated_headers(
    path: Path,
    columns: Iterable[object],
    *,
    text: str | None = None,
    sep: str = ",",
    encoding: str | None = "utf-8-sig",
    notes: list[str] | None = None,
) -> None:
    """Raise when a header appears more than once in the file's header row.

    pandas renames repeats (``name.1``), which would then be reported as
    missing or unknown columns. The header row is read again only when
    ``columns``, the headers pandas returned, contain such a name. ``text``
    is the decoded CSV text where the caller has it. With ``notes``, each
    repeated header adds a note instead, and the first of its columns is
    the one read: CRM exports repeat labels of columns that no profile
    reads, such as two objects' "Created Date".

    Raises
    ------
    InputError
        Naming the repeated header and its column numbers and letters.
    """
    if path.suffix.lower() not in (".csv", ".xlsx"):
        return
    names = {str(column) for column in columns}
    renamed = (RENAMED_REPEAT.match(name) for name in names)
    if not any(match and match.group(1) in names for match in renamed):
        return
    positions: dict[str, list[int]] = {}
    for number, cell in enumerate(_header_row(path, text, sep, encoding), start=1):
        header = cell.replace("\ufeff", "").strip()
        if header:
            positions.setdefault(header, []).append(number)
    for header, numbers in positions.items():
        if len(numbers) > 1:
            places = [f"{number} ({column_letter(number)})" for number in numbers]
            listed = ", ".join(places[:-1]) + " and " + places[-1]
            if notes is not None:
                notes.append(
                    f'{path.name}: header "{escape_invisible(header)}" appears '
                    f"{len(numbers)} times, in columns {listed}; only the first "
                    "of them is read."
                )
                continue
            raise InputError(
                f'{path}: header "{escape_invisible(header)}" appears '
                f"{len(numbers)} times, in columns {listed}. Rename or delete "
                "the repeated columns so that each header appears once, then "
                "run again.",
                file=str(path),
                column=header,
            )


def _header_row(
    path: Path, text: str | None, sep: str, encoding: str | None
) -> list[str]:
    """Return the cells of the first non-blank row of a CSV or XLSX file."""
    if path.suffix.lower() == ".xlsx":
        first = pd.read_excel(path, header=None, nrows=1, dtype=str)
        return [] if first.empty else first.iloc[0].fillna("").tolist()
    if text is not None:
        return _first_csv_row(io.StringIO(text, newline=""), sep)
    with path.open(encoding=encoding or "utf-8-sig", newline="") as handle:
        return _first_csv_row(handle, sep)


def _first_csv_row(lines: Iterable[str], sep: str) -> list[str]:
    for row in csv.reader(lines, delimiter=sep):
        if any(cell.strip() for cell in row):
            return row
    return []


def column_letter(number: int) -> str:
    """Return the spreadsheet letters of a 1-based column number (27 is AA)."""
    letters = ""
    while number > 0:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _starts_with_bom(path: Path) -> bool:
    """Tell whether a file starts with a UTF-16 or UTF-32 byte-order mark."""
    with path.open("rb") as handle:
        return bom_encoding(handle.read(4)) is not None


def csv_parse_error(
    path: Path, error: Exception, sep: str, fix: str = ""
) -> InputError:
    """Return the error for a CSV file that pandas could not split into fields.

    A line with more fields than the header is named with both counts.
    ``fix`` adds another remedy, such as declaring the delimiter.
    """
    unclosed = UNCLOSED_QUOTE_ERROR.search(str(error))
    if unclosed is not None:
        # pandas counts this row from 0 at the header, so it is the line's
        # 1-based number minus one.
        line = int(unclosed.group(1)) + 1
        return InputError(
            f"{path}: the double quote on line {line} is never closed, so "
            "everything after it reads as one field. Remove the stray quote "
            "or close it, then run again.",
            file=str(path),
        )
    match = FIELD_COUNT_ERROR.search(str(error))
    if match is None:
        return InputError(
            f"cannot read input file {path} as CSV with delimiter {sep!r}: "
            f"{error}. Expected a CSV file with one header row.",
            file=str(path),
        )
    expected, line, found = match.groups()
    foreign = foreign_delimiter_hint(_read_header_cells(path, sep))
    if foreign:
        return InputError(f"{path}: {foreign}", file=str(path))
    return InputError(
        f"{path}: line {line} has {found} fields, but the header has {expected}. "
        f"Put double quotes around each field that contains the delimiter "
        f'{sep!r} (as in "Acme, Inc."){fix}, then run again.',
        file=str(path),
    )


def foreign_delimiter_hint(header: list[str]) -> str:
    """Return advice for a header split by another delimiter, or "".

    ``header`` contains the cells of a header row read with commas. A single
    cell holding semicolons, tabs or bars means the file uses that
    delimiter, which explains any column that seems missing and any line
    with too many fields.
    """
    for delimiter, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
        if len(header) == 1 and delimiter in header[0]:
            return (
                f"The header is separated by {name}, but this reader expects "
                "commas: save the file as comma-separated CSV, or read it with "
                "a mapped source profile, which detects the delimiter."
            )
    return ""


def _read_header_cells(path: Path, sep: str) -> list[str]:
    """Return the header cells of a CSV file, or [] when it cannot be read."""
    try:
        text, _ = decode_file(path)
    except (OSError, UnicodeDecodeError, InputError):
        return []
    return _first_csv_row(io.StringIO(text, newline=""), sep)


def text_row_numbers(text: str, sep: str, count: int) -> list[int] | range:
    """Return the row numbers of the ``count`` data rows of CSV ``text``.

    See :func:`csv_row_numbers`. Text with one line per data row and the
    header has no blank line, so it is not read again.
    """
    if line_count(text) == count + 1:
        return range(1, count + 1)
    return csv_row_numbers(io.StringIO(text, newline=""), sep, count)


def line_count(text: str) -> int:
    """Return the number of lines of ``text``, where CRLF, LF or a lone CR ends one."""
    ends = text.count("\n") + text.count("\r") - text.count("\r\n")
    return ends if not text or text.endswith(("\n", "\r")) else ends + 1


def file_line_count(path: Path) -> int:
    """Return the number of lines of a file, counted as :func:`line_count` does.

    The file is read in blocks of 1 MiB, so a large file is never held in
    memory. The encoding must write CR and LF as single bytes, as UTF-8
    and the Windows code pages do.
    """
    ends = 0
    last = b""
    for block in _blocks(path):
        ends += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
        if last == b"\r" and block.startswith(b"\n"):
            ends -= 1  # a CRLF split between two blocks
        last = block[-1:]
    return ends if last in (b"", b"\n", b"\r") else ends + 1


def _blocks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    """Yield the bytes of a file in blocks of ``size`` bytes."""
    with path.open("rb") as handle:
        yield from iter(lambda: handle.read(size), b"")


def first_invalid_utf8_line(path: Path) -> int | None:
    """Return the 1-based line of the first byte that is not valid UTF-8, or None.

    The file is read in blocks of 1 MiB, as :func:`file_line_count` does.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 1
    for block in _blocks(path):
        try:
            decoder.decode(block)
        except UnicodeDecodeError as error:
            return lines + block.count(b"\n", 0, max(error.start, 0))
        lines += block.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return lines
    return None


def csv_row_numbers(lines: Iterable[str], sep: str, count: int) -> list[int]:
    """Return the row number of each of the ``count`` data rows of CSV ``lines``.

    ``lines`` are the file's lines with their line ends, as a file opened
    with ``newline=""`` yields them. Row 1 is the line after the header. A
    blank line (empty, or only spaces and tabs) counts as a row but is no
    data row, as in a spreadsheet, where it shows as an empty row. A
    quoted cell that spans several lines keeps its record one row. Blank
    lines before the header are skipped, as pandas and DuckDB skip them.

    ``count`` is the number of data rows the caller's CSV reader found.
    When this reading disagrees, the rows are numbered 1 to ``count`` with a
    warning, because the numbers would point at the wrong rows.
    """
    try:
        numbers = list(_data_row_numbers(lines, sep))
    except csv.Error as error:
        logger.warning("cannot find blank lines (%s); rows numbered in order", error)
        return list(range(1, count + 1))
    if not _same_count(len(numbers), count):
        return list(range(1, count + 1))
    return numbers


def csv_row_offsets(
    lines: Iterable[str], sep: str, count: int
) -> list[tuple[int, int]]:
    """Return where blank lines shift the row numbers of CSV ``lines``.

    Each pair is a data row's position (1-based, blank lines left out) and
    the number of blank lines above it, for every position where that
    number grows. Row numbers follow :func:`csv_row_numbers`, so the row
    number is the position plus the offset of the last pair at or before
    it. This keeps memory small for a file of millions of rows. On a
    disagreement with ``count`` the list is empty, with a warning.
    """
    offsets = []
    offset = 0
    position = 0
    try:
        for position, row in enumerate(_data_row_numbers(lines, sep), start=1):
            if row - position != offset:
                offset = row - position
                offsets.append((position, offset))
    except csv.Error as error:
        logger.warning("cannot find blank lines (%s); rows numbered in order", error)
        return []
    if not _same_count(position, count):
        return []
    return offsets


def _data_row_numbers(lines: Iterable[str], sep: str) -> Iterator[int]:
    """Yield the row number of each data row, as :func:`csv_row_numbers` defines it."""
    for row, _, _ in _data_records(lines, sep):
        yield row


def _data_records(lines: Iterable[str], sep: str) -> Iterator[tuple[int, int, int]]:
    """Yield the row number, first line and field count of each data row.

    Row numbers are those of :func:`csv_row_numbers`, and lines are 1-based
    with the header's line counted.
    """
    last_line = [""]

    def remember(lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            last_line[0] = line
            yield line

    header_seen = False
    row = 0
    read_lines = 0
    reader = csv.reader(remember(lines), delimiter=sep)
    for record in reader:
        first_line = read_lines + 1
        one_line = reader.line_num - read_lines == 1
        read_lines = reader.line_num
        blank = one_line and not last_line[0].strip(" \t\r\n")
        if not header_seen:
            header_seen = not blank
            continue
        row += 1
        if not blank:
            yield row, first_line, len(record)


def _same_count(found: int, count: int) -> bool:
    if found != count:
        logger.warning(
            "counted %d data rows while looking for blank lines, but the CSV "
            "reader read %d; rows are numbered in order, without blank lines",
            found,
            count,
        )
    return found == count


# Unicode general categories of characters that show nothing or only
# space: control (Cc), format such as zero-width spaces and the byte-order
# mark (Cf), line and paragraph separators (Zl, Zp), surrogates (Cs),
# private use (Co) and unassigned code points (Cn).
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def escape_invisible(text: str) -> str:
    """Show the invisible characters of ``text`` as Python escapes.

    Characters of :data:`INVISIBLE_CATEGORIES` and spaces other than the
    plain space (such as the no-break space) become escapes such as
    ``\\u200b`` or ``\\xa0``, so a reader can distinguish two headers that
    differ only in them. Printable letters, digits and symbols such as ä,
    ß, é or € stay as they are.
    """
    return "".join(_escape_if_invisible(character) for character in text)


def _escape_if_invisible(character: str) -> str:
    category = unicodedata.category(character)
    visible_space = character == " "
    if category in INVISIBLE_CATEGORIES or (category == "Zs" and not visible_space):
        return character.encode("unicode_escape").decode("ascii")
    return character
