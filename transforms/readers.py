"""Reading one input file by its profile into a table of source strings.

Pure functions (no Beam): they take a file's bytes-opening callable and a profile and return an
all-string pyarrow table of the source columns, the 1-based data row number of each row, and the
rows that could not be read at all (with their raw text). Nothing is dropped silently.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from crimegeo.standards.profiles import ForceProfile, python_encoding, read_header

#: Column holding each JSON Lines row's original text, for the rejected output.
RAW_LINE_COLUMN = "__raw_line__"


@dataclass
class UnreadableRow:
    """A row that could not be split into fields: its number, raw text and what was wrong."""

    source_row: int
    raw: str
    detail: str


@dataclass
class ReadResult:
    """Source columns as strings, the data row number of each row, and the unreadable rows."""

    table: pa.Table
    row_numbers: pa.Array
    unreadable: list[UnreadableRow] = field(default_factory=list)

    #: The data rows counted from the file's lines, apart from the parser (None where a
    #: field may span lines, so lines are not rows).
    rows_counted: int | None = None

    @property
    def rows_in(self) -> int:
        """Every data row the file holds: readable plus unreadable."""
        return self.table.num_rows + len(self.unreadable)


#: What a line with a stray double quote is replaced by for the parser: one field, so it
#: is an invalid row where the line was, and keeps every other row's number.
_DAMAGED = b"\x00crimegeo-damaged-line\x00"
_DAMAGED_TEXT = _DAMAGED.decode("ascii")


def _isolate_stray_quotes(data: bytes, header_end: int) -> tuple[bytes, dict[int, bytes], int]:
    """For a format whose fields never span lines: replace each data line holding an odd
    number of double quotes (a stray quote, which would make the parser read on to the end
    of the file) by a placeholder. Returns the bytes, the damaged lines by data row number,
    and the number of data rows counted from the lines (blank lines are not rows). Array
    work over the bytes: Python touches only the damaged lines."""
    body = np.frombuffer(data, dtype=np.uint8, offset=header_end)
    breaks = np.flatnonzero(body == 0x0A)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(body)]))
    last = ends - 1
    ends = np.where((ends > starts) & (body[np.maximum(last, 0)] == 0x0D), last, ends)
    rows = ends > starts
    quotes = np.bincount(np.searchsorted(breaks, np.flatnonzero(body == 0x22)),
                         minlength=len(starts))
    numbers = np.cumsum(rows)
    odd = np.flatnonzero(rows & (quotes % 2 == 1))
    counted = int(numbers[-1]) if len(numbers) else 0
    if not len(odd):
        return data, {}, counted
    damaged: dict[int, bytes] = {}
    pieces, cursor = [data[:header_end]], 0
    for line in odd.tolist():
        start, end = int(starts[line]), int(ends[line])
        damaged[int(numbers[line])] = bytes(body[start:end])
        pieces += [bytes(body[cursor:start]), _DAMAGED]
        cursor = end
    pieces.append(bytes(body[cursor:]))
    return b"".join(pieces), damaged, counted


def read_csv_strings(opener: Callable[[], IO[bytes]], profile: ForceProfile) -> ReadResult:
    """Read a delimited file with pyarrow, every column as a nullable string.

    Rows with the wrong number of fields are kept as `UnreadableRow`s with their raw text;
    the remaining rows keep their true data row numbers.
    """
    header = read_header(opener, "csv", profile.encoding, profile.delimiter)
    if not header:
        return ReadResult(pa.table({}), pa.array([], pa.int64()))
    unreadable: list[UnreadableRow] = []

    damaged: dict[int, bytes] = {}

    def on_invalid_row(row: Any) -> str:
        number = int(row.number) - 1 if row.number is not None else -1
        if row.text == _DAMAGED_TEXT and number in damaged:
            unreadable.append(UnreadableRow(
                source_row=number,
                raw=damaged[number].decode(python_encoding(profile.encoding), "replace"),
                detail="a stray double quote (no field of this format spans lines)"))
            return "skip"
        unreadable.append(UnreadableRow(
            source_row=number, raw=row.text,
            detail=f"expected {row.expected_columns} fields, found {row.actual_columns}",
        ))
        return "skip"

    # Duplicate or blank header names would collide: make them unique but recognisable.
    seen: dict[str, int] = {}
    names = []
    for name in header:
        count = seen.get(name, 0)
        seen[name] = count + 1
        names.append(name if count == 0 else f"{name}.{count}")
    encoding = profile.encoding.lower()
    arrow_encoding = "utf8" if encoding in ("utf-8", "utf8", "utf-8-sig") else profile.encoding
    with opener() as raw:
        # The whole file as one Arrow buffer: read from a Python file object, the reader
        # would take the GIL for every block, and wait behind Python work on other threads.
        content, counted = raw.read(), None
        header_end = content.find(b"\n") + 1
        if not profile.fields_span_lines and len(names) > 1 and header_end:
            content, damaged, counted = _isolate_stray_quotes(content, header_end)
        elif not profile.fields_span_lines:
            counted = 0 if not header_end else None
        data = pa.BufferReader(pa.py_buffer(content))
        table = pacsv.read_csv(
            data,
            read_options=pacsv.ReadOptions(
                encoding=arrow_encoding, column_names=names, skip_rows=1, use_threads=False,
                block_size=1 << 24,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=profile.delimiter, newlines_in_values=True,
                invalid_row_handler=on_invalid_row,
            ),
            convert_options=pacsv.ConvertOptions(
                # UTF-8 files are read as bytes and decoded after: one undecodable byte then
                # costs its row, not the whole file (and month) in a conversion error.
                column_types={name: pa.binary() if arrow_encoding == "utf8" else pa.string()
                              for name in names},
                null_values=list(profile.null_values),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    # pyarrow numbers records from the first line read (after the skipped header, it counts
    # the header again as record 1 in its invalid-row numbers); the readable rows are the
    # complement of the unreadable ones among 1..N.
    total = table.num_rows + len(unreadable)
    numbers = np.arange(1, total + 1, dtype=np.int64)  # not a Python range: 70 ms a month
    if unreadable:
        bad = np.array([u.source_row for u in unreadable], dtype=np.int64)
        numbers = numbers[~np.isin(numbers, bad)]
    row_numbers = pa.array(numbers, pa.int64())
    if arrow_encoding == "utf8":
        table, row_numbers = _decode_utf8(table, row_numbers, profile.delimiter, unreadable)
    return ReadResult(table, row_numbers, unreadable, rows_counted=counted)


def _decode_utf8(table: pa.Table, row_numbers: pa.Array, delimiter: str,
                 unreadable: list[UnreadableRow]) -> tuple[pa.Table, pa.Array]:
    """The byte columns as text; rows holding bytes that are not UTF-8 become unreadable
    rows (their raw text with those bytes escaped), and the rest go on."""
    bad = np.zeros(table.num_rows, dtype=bool)
    decoded: dict[str, pa.ChunkedArray] = {}
    for name in table.column_names:
        try:
            decoded[name] = table[name].cast(pa.string())
        except pa.ArrowInvalid:
            for index, value in enumerate(table[name].to_pylist()):
                if value is not None and not _is_utf8(value):
                    bad[index] = True
    if bad.any():
        numbers = row_numbers.to_pylist()
        for index in np.flatnonzero(bad).tolist():
            values = [table[name][index].as_py() or b"" for name in table.column_names]
            columns = [name for name, value in zip(table.column_names, values, strict=True)
                       if not _is_utf8(value)]
            unreadable.append(UnreadableRow(
                source_row=numbers[index],
                raw=delimiter.join(value.decode("utf-8", "backslashreplace")
                                   for value in values),
                detail=f"bytes that are not UTF-8 in {', '.join(columns)} (escaped here)"))
        keep = pa.array(~bad)
        table, row_numbers = table.filter(keep), row_numbers.filter(keep)
        unreadable.sort(key=lambda row: row.source_row)
        decoded = {name: table[name].cast(pa.string()) for name in table.column_names}
    return pa.table({name: decoded[name] for name in table.column_names}), row_numbers


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


#: The most of a deeply nested line kept in its rejected row (the rest is only brackets).
_RAW_LIMIT = 10_000


def _get_path(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def read_jsonl_strings(opener: Callable[[], IO[bytes]], profile: ForceProfile) -> ReadResult:
    """Read a JSON Lines file, taking the profile's (dotted) columns as strings.

    Lines end at a line feed only (JSON Lines' own rule), so a carriage return inside a line
    cannot split it in two. A line that is not a JSON object, holds bytes the profile's
    encoding cannot decode, or nests too deeply to parse becomes an `UnreadableRow` (its
    bytes escaped) and every other line goes on; blank lines are not rows. The rows are also
    counted from the bytes, apart from the JSON parser.
    """
    paths = sorted(set(profile.columns.values()))
    values: dict[str, list[str | None]] = {path: [] for path in paths}
    raw_lines: list[str] = []
    numbers: list[int] = []
    unreadable: list[UnreadableRow] = []
    nulls = set(profile.null_values)
    codec = python_encoding(profile.encoding)
    with opener() as raw:
        content = raw.read()
    if codecs.lookup(codec).name != "utf-8-sig" and "\n".encode(codec) != b"\n":
        # UTF-16 and kin: a line feed is not the byte 0x0A, so lines are found in the text.
        content, codec = content.decode(codec, "backslashreplace").encode(), "utf-8"
    lines = content.split(b"\n")
    counted = sum(1 for line in lines if line.strip())
    row = 0
    for line_bytes in lines:
        if not line_bytes.strip():
            continue
        row += 1
        try:
            line = line_bytes.decode(codec).removesuffix("\r")
        except UnicodeDecodeError as error:
            unreadable.append(UnreadableRow(
                row, line_bytes.decode(codec, "backslashreplace").removesuffix("\r"),
                f"bytes that are not {profile.encoding} at byte {error.start} (escaped here)"))
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
        except RecursionError:
            unreadable.append(UnreadableRow(row, line[:_RAW_LIMIT],
                                            "JSON nested too deeply to read"))
            continue
        except ValueError as error:
            unreadable.append(UnreadableRow(row, line, f"not a valid JSON object: {error}"))
            continue
        numbers.append(row)
        raw_lines.append(line)
        for path in paths:
            value = _get_path(obj, path)
            if value is None or isinstance(value, dict | list):
                values[path].append(None)
            else:
                as_text = value if isinstance(value, str) else json.dumps(value)
                values[path].append(None if as_text in nulls else as_text)
    table = pa.table({path: pa.array(column, pa.string()) for path, column in values.items()})
    table = table.append_column(RAW_LINE_COLUMN, pa.array(raw_lines, pa.string()))
    return ReadResult(table, pa.array(numbers, pa.int64()), unreadable, rows_counted=counted)


def read_source(opener: Callable[[], IO[bytes]], profile: ForceProfile) -> ReadResult:
    """Read a file by its profile's format."""
    if profile.format == "jsonl":
        return read_jsonl_strings(opener, profile)
    return read_csv_strings(opener, profile)
