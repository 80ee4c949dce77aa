"""The feedback tree: a force-month's files, a month's summary, and each force's index.

`feedback/force=CODE/month=YYYY-MM/` holds `FEEDBACK_FILES`; `feedback/force=CODE/index.json`
lists the force's months with each file's sha256 and size and the run that wrote it, so a
force can pull only what is new. The index is written again from the month folders whenever
they change (a commit, a streaming refresh), reading only the month that changed: the other
months' entries are kept while their generation is live. A month's folder is read and written
in the root the month's pointer names (`store.current.live_root`), the index at the output root.
What goes into the files is decided in `transforms/feedback.py`; this module only reads and
writes them.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import fsspec

from crimegeo.store.current import generation_name, generation_root, live_months, live_root
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


def write_force_index(output: str, force: str, *, live: dict[str, str] | None = None,
                      changed: Collection[str] | None = None) -> dict:
    """Rebuild a force's `index.json` from its live month folders, with checksums.

    `live` is `store.current.live_months(output)` when the caller has it (one listing for
    many forces). `changed` names the months whose feedback the caller changed (a commit's
    month, a streaming refresh's): every other month keeps its entry from the index as it
    was, where that entry is of the run whose generation is live, since a committed
    generation's feedback is never rewritten without its month named here. So a commit reads
    one month's files, not every month's again (a commit after 96 months read 12,000 files
    for 43 forces: `benchmarks/commit_cost.py --history`). None reads every month again.
    """
    fs, _ = filesystem(output)
    kept = _entries_kept(output, force, changed) if changed is not None else {}
    months = []
    for month, month_root in (live_months(output) if live is None else live).items():
        entry = kept.get(month)
        if entry is not None and month_root == generation_root(
                output, generation_name(entry["run_id"])):
            months.append(entry)
            continue
        entry = _month_entry(fs, OutputLayout(filesystem(month_root)[1]), force, month)
        if entry is not None:
            months.append(entry)
    index = {"force": force,
             "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
             "months": months}
    write_bytes_atomic(OutputLayout(output).feedback_index(force), json_bytes(index))
    return index


def _entries_kept(output: str, force: str, changed: Collection[str]) -> dict[str, dict]:
    """The entries of a force's index as it is, by month, but for the `changed` months and
    any entry without a run (an index that cannot be read keeps nothing: it is rebuilt)."""
    try:
        before = read_json(OutputLayout(output).feedback_index(force))
    except ValueError:  # not JSON: rebuilt from the files
        return {}
    entries = before.get("months") if isinstance(before, dict) else None
    return {entry["month"]: entry for entry in entries if isinstance(entry, dict)
            and isinstance(entry.get("month"), str) and entry["month"] not in changed
            and isinstance(entry.get("run_id"), str) and entry.get("files")
            } if isinstance(entries, list) else {}


def _month_entry(fs: fsspec.AbstractFileSystem, published: OutputLayout, force: str,
                 month: str) -> dict | None:
    """A force-month's index entry, read from its files (None where it has none)."""
    if not fs.exists(published.feedback_month(force, month)):
        return None
    files = {}
    run_id = None
    for file_name in FEEDBACK_FILES:
        data = read_file(fs, published.feedback_file(force, month, file_name))
        if data is None:
            continue
        files[file_name] = {"sha256": sha256_hex(data), "bytes": len(data)}
        if file_name == SUMMARY_FILE:
            run_id = json.loads(data).get("run_id")
    return {"month": month, "run_id": run_id, "files": files} if files else None
