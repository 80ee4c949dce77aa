"""The ingest ledger: which generation of which input file was ingested, when, with what counts.

One small JSON object per input file, at `<output>/_ledger/files/<key>.json` (the key is the
file's path under the input prefix, such as `2024-03/kent.csv`), written only by the step that
ingests that file, after its parts are published: so entries never contend, a reader sees a
file either not yet ingested or ingested with its counts, and a restarted watcher or streaming
job skips exactly the files whose current generation is recorded. Each entry keeps the history
of the generations ingested, which is how tests prove a file was ingested exactly once.
Closing a month records the run that closed it at `<output>/_ledger/closed/<month>.json`.

Pure fsspec: no Beam. Must not decide what to ingest (the pipeline and watcher do) and must
never be written anywhere but under `<output>/_ledger/`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from crimegeo.store.files import filesystem, read_json, write_json_atomic
from crimegeo.store.layout import OutputLayout

#: Statuses of an entry: ingested and published; recognised as not an input to ingest
#: (no month, another month's file name, no profile matches); or failed to reconcile.
PROCESSED, UNCHANGED, SKIPPED, UNRECOGNISED, FAILED = (
    "processed", "unchanged", "skipped", "unrecognised", "failed")


def now_iso() -> str:
    """The current UTC time, to the millisecond, as the ledger records it."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def read_entry(output: str, key: str) -> dict | None:
    """The ledger entry of `key`, or None when the file was never seen."""
    return read_json(OutputLayout(output).ledger_entry(key))


def write_entry(output: str, entry: dict) -> str:
    """Write a file's entry atomically (one object upload, or temporary name then rename)."""
    return write_json_atomic(OutputLayout(output).ledger_entry(entry["key"]), entry)


def read_ledger(output: str, keys: Iterable[str] | None = None) -> dict[str, dict]:
    """Every entry of the ledger (or only those of `keys`), by key."""
    fs, root = filesystem(output)
    layout = OutputLayout(root)
    base = layout.ledger_files()
    fs.invalidate_cache()
    if keys is not None:
        paths = [layout.ledger_entry(key) for key in keys]
        paths = [path for path in paths if fs.exists(path)]
    else:
        paths = [p for p in fs.find(base) if p.endswith(".json")
                 and not p.rsplit("/", 1)[-1].startswith(".")] if fs.exists(base) else []
    if not paths:
        return {}
    contents = fs.cat(paths)
    if isinstance(contents, bytes):  # one path may come back as its bytes
        contents = {paths[0]: contents}
    entries = (json.loads(data) for data in contents.values())
    return {entry["key"]: entry for entry in entries}


def month_entries(output: str, month: str) -> dict[str, dict]:
    """The entries of the files of `month`."""
    return {key: entry for key, entry in read_ledger(output).items()
            if entry.get("month") == month}


def record_close(output: str, month: str, record: dict) -> str:
    """Record that `month` was closed (consolidated by a batch run); returns its URL."""
    return write_json_atomic(OutputLayout(output).ledger_close(month),
                             {"month": month, "closed_at": now_iso(), **record})


def read_close(output: str, month: str) -> dict | None:
    """The record of `month`'s last close, or None when it was never closed."""
    return read_json(OutputLayout(output).ledger_close(month))
