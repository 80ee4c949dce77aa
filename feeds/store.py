"""Reading the feedback tree of a run output, safely and self-consistently.

The pipeline writes, under the output root (any fsspec URL)::

    feedback/force=<code>/index.json
    feedback/force=<code>/month=<YYYY-MM>/corrections.csv
    feedback/force=<code>/month=<YYYY-MM>/corrections.geojson
    feedback/force=<code>/month=<YYYY-MM>/summary.json

Paths come from :class:`crimegeo.store.OutputLayout`, the owner of the output layout.
Safety: a force code must be one of the registry's codes and a month must match
``YYYY-MM``; both are checked before any path is built, and file names come from a fixed
list (``FEEDBACK_FILES``), so no request can name a path outside the feedback tree.

Those month folders are read in the generation the month's pointer names
(``runs/YYYY-MM/current.json``, see ``crimegeo.store.current``): a rerun commits a whole new
generation and switches the pointer in one write, then rewrites ``index.json``. Every response
is built from one read of one file of one generation, and its ETag is the sha256 of the very
bytes served (or, for JSON corrections, of the CSV bytes they were derived from), so a response
is never a mix of two runs. The generation before is kept until the month's next commit, so a
file is still there when the pointer switched between resolving it and reading it; one that is
missing while the index lists it (the index trails a switch by moments) is read again briefly.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import time
from collections.abc import Iterable

import pyarrow as pa

from crimegeo.standards.months import is_month
from crimegeo.standards.schema import CORRECTION_SCHEMA
from crimegeo.store.current import IN_PLACE, generation_root, live_months
from crimegeo.store.files import filesystem, read_file, sha256_hex
from crimegeo.store.layout import FEEDBACK_FILES, OutputLayout, force_of

#: Columns the JSON form gives as numbers (when the cell is a finite number).
INTEGER_COLUMNS = frozenset(f.name for f in CORRECTION_SCHEMA if pa.types.is_integer(f.type))
FLOAT_COLUMNS = frozenset(f.name for f in CORRECTION_SCHEMA if pa.types.is_floating(f.type)
                          ) - {"supplied_x", "supplied_y"}
#: What a pointer may name: one folder under `generations/` (no `..`, no other place).
_GENERATION = re.compile(r"generations/[A-Za-z0-9_-][A-Za-z0-9._-]*")
#: Longest force code accepted before looking it up (registry codes are far shorter).
MAX_FORCE_LENGTH = 64


def valid_month(month: object) -> bool:
    """Whether ``month`` is a ``YYYY-MM`` string with a month 01-12."""
    return is_month(month)


class FeedStore:
    """The feedback tree of one output root, read through fsspec.

    ``codes`` are the force codes that may appear in a request (the registry's). ``retry_seconds``
    bounds how long a read waits for a month that the index lists but that is being swapped.
    """

    def __init__(self, output_url: str, codes: Iterable[str], *,
                 retry_seconds: float = 2.0) -> None:
        """Open the output root ``output_url`` (local path or any fsspec URL)."""
        self.output_url = output_url
        self.fs, root = filesystem(output_url)
        self.layout = OutputLayout(root)
        self.codes = frozenset(codes)
        self.retry_seconds = retry_seconds

    @property
    def root(self) -> str:
        """The output root's bare path on its filesystem."""
        return self.layout.root

    # -- validation -----------------------------------------------------------------------

    def valid_force(self, force: object) -> bool:
        """Whether ``force`` is a registry force code (exactly, no normalising)."""
        return isinstance(force, str) and len(force) <= MAX_FORCE_LENGTH and force in self.codes

    def _force_dir(self, force: str) -> str:
        if not self.valid_force(force):  # never reached from the app, which checks first
            raise ValueError("invalid force code")
        return self.layout.force_feedback(force)

    def _month_file(self, force: str, month: str, name: str) -> str:
        if not valid_month(month):
            raise ValueError("invalid month")
        self._force_dir(force)  # checks the force
        return self._month_layout(month).feedback_file(force, month, name)

    def _month_layout(self, month: str) -> OutputLayout:
        """The layout of the generation the month's pointer names (the root without one)."""
        data = self._cat(self.layout.pointer(month))
        try:
            generation = json.loads(data)["generation"] if data is not None else IN_PLACE
        except (ValueError, KeyError, TypeError):
            generation = IN_PLACE
        if generation != IN_PLACE and not _GENERATION.fullmatch(str(generation)):
            generation = IN_PLACE  # a pointer we did not write: never follow it elsewhere
        return OutputLayout(generation_root(self.layout.root, generation))

    # -- reads ------------------------------------------------------------------------------

    def _ls(self, path: str) -> list[str]:
        """Names under ``path``, listed afresh (bucket filesystems cache listings)."""
        self.fs.invalidate_cache(path)
        try:
            return self.fs.ls(path, detail=False)
        except (FileNotFoundError, NotADirectoryError):
            return []

    def _cat(self, path: str) -> bytes | None:
        """The bytes of ``path`` in one read, or None if it is not a readable file."""
        return read_file(self.fs, path)

    def forces(self) -> list[str]:
        """Registry codes that have a feedback folder, in sorted order."""
        found = []
        for name in self._ls(self.layout.feedback()):
            force = force_of(name)
            if force is not None and self.valid_force(force):
                found.append(force)
        return sorted(found)

    def read_index(self, force: str) -> dict | None:
        """The force's parsed ``index.json``, or None when absent or not a valid index."""
        self._force_dir(force)  # checks the force
        data = self._cat(self.layout.feedback_index(force))
        if data is None:
            return None
        try:
            index = json.loads(data)
        except ValueError:
            return None
        if not isinstance(index, dict) or not isinstance(index.get("months"), list):
            return None
        return index

    def months(self, force: str) -> list[dict]:
        """The force's months, newest last: month, run_id, updated_at and files with checksums.

        From ``index.json`` when there is one; otherwise by listing the month folders and
        hashing their files.
        """
        index = self.read_index(force)
        if index is not None:
            return _normalise_index(index)
        return self._months_from_folders(force)

    def _months_from_folders(self, force: str) -> list[dict]:
        months = []
        self._force_dir(force)  # checks the force
        self.fs.invalidate_cache()
        for month in live_months(self.output_url):
            if not valid_month(month):
                continue
            files = {}
            run_id = None
            for file_name in FEEDBACK_FILES:
                data = self._cat(self._month_file(force, month, file_name))
                if data is None:
                    continue
                files[file_name] = {"sha256": sha256_hex(data), "bytes": len(data)}
                if file_name == "summary.json":
                    run_id = _run_id(data)
            if files:
                months.append({"month": month, "run_id": run_id, "updated_at": None,
                               "files": files})
        return months

    def _listed(self, force: str, month: str, name: str) -> bool:
        """Whether the force's index lists ``name`` for ``month`` (so it should exist)."""
        index = self.read_index(force)
        if index is None:
            return False
        for entry in _normalise_index(index):
            if entry["month"] == month:
                return name in entry["files"]
        return False

    def read_month_file(self, force: str, month: str, name: str) -> bytes | None:
        """The bytes of one month file in one read, or None when there is no such file.

        When the file is missing but the force's index lists it, the month is being swapped
        by a rerun: read again, with a short back-off, for up to ``retry_seconds``.
        """
        if name not in FEEDBACK_FILES:
            raise ValueError(f"not a month file: {name!r}")
        path = self._month_file(force, month, name)
        data = self._cat(path)
        if data is not None or not self._listed(force, month, name):
            return data
        deadline = time.monotonic() + self.retry_seconds
        delay = 0.005
        while time.monotonic() < deadline:
            time.sleep(delay)
            data = self._cat(path)
            if data is not None:
                return data
            delay = min(delay * 2, 0.1)
        return None


def _run_id(summary: bytes) -> str | None:
    try:
        value = json.loads(summary)
    except ValueError:
        return None
    run_id = value.get("run_id") if isinstance(value, dict) else None
    return run_id if isinstance(run_id, str) else None


def _normalise_index(index: dict) -> list[dict]:
    """The index's months with only the expected fields, valid months, sorted by month."""
    default_updated = index.get("updated_at") if isinstance(index.get("updated_at"), str) else None
    months: dict[str, dict] = {}
    for entry in index.get("months", []):
        if not isinstance(entry, dict) or not valid_month(entry.get("month")):
            continue
        files = {}
        raw_files = entry.get("files") if isinstance(entry.get("files"), dict) else {}
        for name in FEEDBACK_FILES:
            info = raw_files.get(name)
            if isinstance(info, dict) and isinstance(info.get("sha256"), str):
                files[name] = {"sha256": info["sha256"], "bytes": info.get("bytes")}
        run_id = entry.get("run_id")
        updated = entry.get("updated_at", default_updated)
        months[entry["month"]] = {
            "month": entry["month"],
            "run_id": run_id if isinstance(run_id, str) else None,
            "updated_at": updated if isinstance(updated, str) else None,
            "files": files,
        }
    return [months[m] for m in sorted(months)]


def _typed(column: str, value: str) -> object:
    if value == "":
        return None
    if column in INTEGER_COLUMNS:
        try:
            return int(value)
        except ValueError:
            return value
    if column in FLOAT_COLUMNS:
        try:
            number = float(value)
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    if column == "reasons":
        return [code for code in value.split(";") if code]
    return value


def corrections_json(csv_bytes: bytes, force: str, month: str) -> bytes:
    """The JSON form of a month's corrections, derived from exactly ``csv_bytes``.

    ``{"force", "month", "source_sha256", "count", "columns", "records": [...]}``: one object
    per CSV row with the CSV's columns. Empty cells become null, the integer and float
    columns of ``CORRECTION_SCHEMA`` (``source_row``, ``candidate_count``; ``lon``, ``lat``,
    ``x_bng``, ``y_bng``, ``geocode_score``, the candidates' distances; not the supplied
    coordinates, kept as written) numbers, ``reasons`` a list of reason codes; text is kept
    exactly as in the CSV (including the apostrophe that neutralises spreadsheet formulas).
    """
    # A cell can be as long as the force's own upload made it (a whole free-text field):
    # Python's csv module refuses cells over 128 KiB unless told the document may hold one.
    if len(csv_bytes) > csv.field_size_limit():
        csv.field_size_limit(len(csv_bytes))
    reader = csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig"), newline=""))
    columns = list(reader.fieldnames or [])
    records = [{column: _typed(column, row.get(column) or "") for column in columns}
               for row in reader]
    document = {"force": force, "month": month, "source_sha256": sha256_hex(csv_bytes),
                "count": len(records), "columns": columns, "records": records}
    return (json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
