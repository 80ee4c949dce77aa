"""Commit a staged month into the published output tree, and write its run manifest.

A run writes everything under `<output>/_staging/<run_id>/`; only when the pipeline has finished
is the month swapped in: each published month folder is first moved aside, the staged one moved
into place, then the old one deleted. A rerun therefore replaces exactly its month and leaves
other months alone. Must run on the driver after the pipeline, never inside a DoFn.
"""

from __future__ import annotations

import json
import uuid

import fsspec

from transforms.outputs import PARTITIONED_KINDS, write_bytes_atomic

STAGING_FOLDER = "_staging"
TRASH_FOLDER = "_trash"


class ReconciliationError(RuntimeError):
    """Rows in != rows written + rows rejected for some input file."""


def staging_url(output: str, run_id: str) -> str:
    """The staging folder of one run."""
    return f"{output.rstrip('/')}/{STAGING_FOLDER}/{run_id}"


def _swap(fs: fsspec.AbstractFileSystem, staged: str, published: str, trash: str) -> None:
    old = None
    if fs.exists(published):
        old = f"{trash}/{uuid.uuid4().hex}"
        fs.makedirs(trash, exist_ok=True)
        fs.mv(published, old, recursive=True)
    if fs.exists(staged):
        fs.makedirs(published.rsplit("/", 1)[0], exist_ok=True)
        fs.mv(staged, published, recursive=True)
    if old is not None:
        fs.rm(old, recursive=True)


def commit_month(output: str, run_id: str, month: str) -> list[str]:
    """Swap the staged month into place for every output kind; returns the published folders."""
    fs, root = fsspec.core.url_to_fs(output)
    root = root.rstrip("/")
    staging = f"{root}/{STAGING_FOLDER}/{run_id}"
    trash = f"{root}/{TRASH_FOLDER}"
    published = []
    for kind in PARTITIONED_KINDS:
        target = f"{root}/{kind}/month={month}"
        _swap(fs, f"{staging}/{kind}/month={month}", target, trash)
        if fs.exists(target):
            published.append(target)
    # Feedback is partitioned force first, so forces can list their own months.
    feedback_root = f"{root}/feedback"
    staged_forces = set()
    if fs.exists(f"{staging}/feedback"):
        for path in fs.ls(f"{staging}/feedback", detail=False):
            staged_forces.add(path.rstrip("/").rsplit("/", 1)[-1])
    existing_forces = set()
    if fs.exists(feedback_root):
        for path in fs.ls(feedback_root, detail=False):
            existing_forces.add(path.rstrip("/").rsplit("/", 1)[-1])
    for force_folder in sorted(staged_forces | existing_forces):
        target = f"{feedback_root}/{force_folder}/month={month}"
        _swap(fs, f"{staging}/feedback/{force_folder}/month={month}", target, trash)
        if fs.exists(target):
            published.append(target)
    fs.rm(staging, recursive=True)
    return published


def clean_stale_staging(output: str, keep: str | None = None) -> list[str]:
    """Remove staging and trash left by runs that died; returns what was removed."""
    fs, root = fsspec.core.url_to_fs(output)
    removed = []
    for folder in (STAGING_FOLDER, TRASH_FOLDER):
        base = f"{root.rstrip('/')}/{folder}"
        if not fs.exists(base):
            continue
        for path in fs.ls(base, detail=False):
            if keep and path.rstrip("/").endswith("/" + keep):
                continue
            fs.rm(path, recursive=True)
            removed.append(path)
    return removed


def check_reconciliation(files: dict[str, dict]) -> None:
    """Raise unless, for every input file, rows in = rows written + rows rejected."""
    problems = []
    for name, stats in sorted(files.items()):
        rows_in = stats.get("rows_in", 0)
        written = stats.get("rows_written", 0)
        rejected = stats.get("rows_rejected", 0)
        if rows_in != written + rejected:
            problems.append(f"{name}: {rows_in} rows in but {written} written + {rejected} "
                            f"rejected = {written + rejected}")
    if problems:
        raise ReconciliationError("rows do not reconcile: " + "; ".join(problems))


def manifest_url(output: str, month: str) -> str:
    """Where the month's run manifest lives."""
    return f"{output.rstrip('/')}/runs/{month}/manifest.json"


def write_manifest(output: str, month: str, manifest: dict) -> str:
    """Write the run manifest atomically; returns its URL."""
    url = manifest_url(output, month)
    write_bytes_atomic(url, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    return url


def read_manifest(output: str, month: str) -> dict:
    """Read a month's run manifest."""
    with fsspec.open(manifest_url(output, month), "rb") as handle:
        return json.loads(handle.read())
