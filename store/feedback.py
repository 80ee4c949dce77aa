"""The feedback tree: a force-month's files, a month's summary, and each force's index.

`feedback/force=CODE/month=YYYY-MM/` holds `FEEDBACK_FILES`; `feedback/force=CODE/index.json`
lists the force's months with each file's sha256 and size and the run that wrote it, so a
force can pull only what is new. The index is rebuilt from the month folders themselves
whenever they change (a commit, a streaming refresh). A month's folder is read and written in
the root the month's pointer names (`store.current.live_root`), the index at the output root.
What goes into the files is decided in `transforms/feedback.py`; this module only reads and
writes them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from crimegeo.store.current import live_months, live_root
from crimegeo.store.files import (
    filesystem,
    force_folders,
    json_bytes,
    read_file,
    read_json,
    sha256_hex,
    write_bytes_atomic,
)
from crimegeo.store.layout import FEEDBACK_FILES, OutputLayout

SUMMARY_FILE = "summary.json"
CORRECTIONS_CSV = "corrections.csv"


@dataclass
class PublishedFeedback:
    """One force's published feedback for a month, as a reader finds it."""

    force: str
    missing: list[str]  # of FEEDBACK_FILES
    summary: dict | None
    index: dict | None  # the force's index.json
    corrections: int  # data rows of corrections.csv
    corrections_url: str


def published_feedback(output: str, month: str) -> list[PublishedFeedback]:
    """Every force's published feedback for `month` (forces without it are left out)."""
    month_root = live_root(output, month)
    fs, root = filesystem(month_root)
    published, urls = OutputLayout(root), OutputLayout(month_root)
    found = []
    for force in force_folders(fs, published.feedback()):
        if not fs.exists(published.feedback_month(force, month)):
            continue
        csv_path = published.feedback_file(force, month, CORRECTIONS_CSV)
        corrections = 0
        if fs.exists(csv_path):
            with fs.open(csv_path, "rb") as handle:
                corrections = max(sum(1 for _ in handle) - 1, 0)
        found.append(PublishedFeedback(
            force=force,
            missing=[name for name in FEEDBACK_FILES
                     if not fs.exists(published.feedback_file(force, month, name))],
            summary=read_json(urls.feedback_file(force, month, SUMMARY_FILE)),
            index=read_json(OutputLayout(output).feedback_index(force)),
            corrections=corrections,
            corrections_url=urls.feedback_file(force, month, CORRECTIONS_CSV)))
    return found


def read_summary(output: str, force: str, month: str) -> dict | None:
    """A published month's summary.json, or None if there is none."""
    return read_json(OutputLayout(live_root(output, month)).feedback_file(
        force, month, SUMMARY_FILE))


def write_feedback(output: str, force: str, month: str, files: Mapping[str, bytes],
                   *, only_changed: bool = False) -> list[str]:
    """Write a force-month's feedback files atomically, in `FEEDBACK_FILES` order (the summary
    last, so a reader that sees the new summary finds the new corrections).

    With `only_changed`, a file whose published bytes are already `files[name]` is left alone.
    Returns the names written.
    """
    month_root = live_root(output, month)
    fs, root = filesystem(month_root)
    published, urls = OutputLayout(root), OutputLayout(month_root)
    written = []
    for name in (name for name in FEEDBACK_FILES if name in files):
        data = files[name]
        if only_changed and read_file(fs, published.feedback_file(force, month, name)) == data:
            continue
        write_bytes_atomic(urls.feedback_file(force, month, name), data)
        written.append(name)
    return written


def remove_feedback(output: str, force: str, month: str) -> bool:
    """Remove a force-month's feedback folder; whether there was one."""
    fs, root = filesystem(live_root(output, month))
    folder = OutputLayout(root).feedback_month(force, month)
    if not fs.exists(folder):
        return False
    fs.rm(folder, recursive=True)
    return True


def write_force_index(output: str, force: str, *, live: dict[str, str] | None = None) -> dict:
    """Rebuild a force's `index.json` from its live month folders, with checksums.

    `live` is `store.current.live_months(output)` when the caller has it (one listing for
    many forces)."""
    fs, _ = filesystem(output)
    months = []
    for month, month_root in (live_months(output) if live is None else live).items():
        published = OutputLayout(filesystem(month_root)[1])
        if not fs.exists(published.feedback_month(force, month)):
            continue
        files = {}
        run_id = None
        for file_name in FEEDBACK_FILES:
            path = published.feedback_file(force, month, file_name)
            data = read_file(fs, path)
            if data is None:
                continue
            files[file_name] = {"sha256": sha256_hex(data), "bytes": len(data)}
            if file_name == SUMMARY_FILE:
                run_id = json.loads(data).get("run_id")
        if files:
            months.append({"month": month, "run_id": run_id, "files": files})
    index = {"force": force,
             "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
             "months": months}
    write_bytes_atomic(OutputLayout(output).feedback_index(force), json_bytes(index))
    return index
