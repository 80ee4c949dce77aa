"""Commit a staged month into the published output tree, atomically enough to survive a crash.

A run writes everything under `<output>/_staging/<run_id>/`. Only when the pipeline has finished
and every file's rows reconcile is the month swapped in:

1. a commit journal (`_staging/<run_id>/_commit.json`) lists every swap it will make;
2. for each output kind, the published month folder is moved to `_trash/`, and the staged one
   moved into its place;
3. the run manifest is written: **this is the commit point**;
4. the forces' feedback indexes are rebuilt, and trash, journal and staging removed.

A run killed before step 2 leaves the published month untouched (the next run deletes its
staging). A run killed during step 2 or before step 3 is rolled back by the next run
(`recover`), which puts every moved-aside folder back; one killed after step 3 is rolled
forward (its leftovers are cleaned). Readers therefore always find either the previous good
month or the new one. Must run on the driver, never inside a DoFn.
"""

from __future__ import annotations

import json
import uuid

import fsspec

from crimegeo.store.feedback import write_force_index
from crimegeo.store.files import (
    children,
    filesystem,
    move_tree,
    read_json,
    write_bytes_atomic,
    write_json_atomic,
)
from crimegeo.store.layout import FORCE_PREFIX, PARTITIONED_KINDS, OutputLayout, force_of
from crimegeo.store.manifest import checked_manifest
from crimegeo.store.parts import rows_by_force


class ReconciliationError(RuntimeError):
    """Rows in != rows written + rows rejected for some input file."""


def _plan(fs: fsspec.AbstractFileSystem, published: OutputLayout, staged: OutputLayout,
          month: str) -> list[dict]:
    """The swaps that publish a staged month: one per output kind and per feedback force."""
    pairs = [(staged.month(kind, month), published.month(kind, month))
             for kind in PARTITIONED_KINDS]
    forces = (set(children(fs, staged.feedback())) | set(children(fs, published.feedback())))
    for force in sorted(force_of(f) for f in forces if f.startswith(FORCE_PREFIX)):
        pairs.append((staged.feedback_month(force, month),
                      published.feedback_month(force, month)))
    trash = published.trash(uuid.uuid4().hex)
    return [{"staged": staged, "published": published, "trash": f"{trash}/{i}",
             "had_previous": fs.exists(published), "has_new": fs.exists(staged)}
            for i, (staged, published) in enumerate(pairs)
            if fs.exists(published) or fs.exists(staged)]


def commit_month(output: str, run_id: str, month: str, manifest: dict,
                 *, crash_after_swaps: int | None = None) -> list[str]:
    """Swap the staged month into place and write its manifest; returns published folders.

    `crash_after_swaps` exists for tests: raise after that many swaps, as a killed run would
    stop. A manifest that does not match `RunManifest` is refused before anything moves.
    """
    checked_manifest(manifest)
    fs, root = filesystem(output)
    layout = OutputLayout(root)
    fs.invalidate_cache()  # workers wrote the staging: listings must be fresh
    plan = _plan(fs, layout, layout.staged(run_id), month)
    journal = {"run_id": run_id, "month": month, "swaps": plan}
    write_bytes_atomic(OutputLayout(output).journal(run_id),
                       json.dumps(journal, indent=2).encode())
    for done, swap in enumerate(plan):
        if crash_after_swaps is not None and done == crash_after_swaps:
            raise RuntimeError(f"simulated crash after {done} swaps")
        if swap["had_previous"]:
            move_tree(fs, swap["published"], swap["trash"])
        if swap["has_new"]:
            move_tree(fs, swap["staged"], swap["published"])
    if crash_after_swaps is not None and crash_after_swaps >= len(plan):
        raise RuntimeError(f"simulated crash after all {len(plan)} swaps")
    write_manifest(output, month, manifest)  # the commit point
    _finish(fs, layout.staging(run_id), plan, output)
    return [swap["published"] for swap in plan if swap["has_new"]]


def _finish(fs: fsspec.AbstractFileSystem, staging: str, plan: list[dict], output: str) -> None:
    for force in sorted({force_of(s["published"].split("/feedback/", 1)[1].split("/", 1)[0])
                         for s in plan if "/feedback/" in s["published"]}):
        write_force_index(output, force)
    for swap in plan:
        if fs.exists(swap["trash"]):
            fs.rm(swap["trash"], recursive=True)
    if fs.exists(staging):
        fs.rm(staging, recursive=True)


def recover(output: str) -> list[str]:
    """Finish or undo commits interrupted by a crash, and remove dead runs' staging.

    Returns a line per action taken, for the log.
    """
    fs, root = filesystem(output)
    layout = OutputLayout(root)
    fs.invalidate_cache()
    actions = []
    for run_id in children(fs, layout.staging_root()):
        staging = layout.staging(run_id)
        journal_path = layout.journal(run_id)
        if fs.exists(journal_path):
            journal = json.loads(fs.cat_file(journal_path))
            committed = _manifest_run_id(output, journal["month"]) == journal["run_id"]
            if committed:
                actions.append(f"finished the commit of run {run_id}")
            else:
                for swap in reversed(journal["swaps"]):
                    if fs.exists(swap["trash"]):
                        if fs.exists(swap["published"]):
                            fs.rm(swap["published"], recursive=True)
                        move_tree(fs, swap["trash"], swap["published"])
                    elif not swap["had_previous"] and fs.exists(swap["published"]) and (
                            not fs.exists(swap["staged"])):
                        fs.rm(swap["published"], recursive=True)
                actions.append(f"rolled back the interrupted commit of run {run_id}")
            _finish(fs, staging, journal["swaps"], output)
        else:
            fs.rm(staging, recursive=True)
            actions.append(f"removed the staging of unfinished run {run_id}")
    trash = layout.trash_root()
    if fs.exists(trash) and not children(fs, layout.staging_root()):
        fs.rm(trash, recursive=True)
    return actions


def _manifest_run_id(output: str, month: str) -> str | None:
    try:
        return read_manifest(output, month).get("run_id")
    except FileNotFoundError:
        return None


def check_reconciliation(files: dict[str, dict]) -> None:
    """Raise unless, for every input file, rows in = rows written + rows rejected, and rows
    in equals the rows counted from the file's lines where a file's format allows that count
    (`rows_counted`): a parser that merged or lost rows cannot vouch for itself."""
    problems = []
    for name, stats in sorted(files.items()):
        rows_in = stats.get("rows_in", 0)
        written = stats.get("rows_written", 0)
        rejected = stats.get("rows_rejected", 0)
        if rows_in != written + rejected:
            problems.append(f"{name}: {rows_in} rows in but {written} written + {rejected} "
                            f"rejected = {written + rejected}")
        counted = stats.get("rows_counted")
        if counted is not None and counted != rows_in:
            problems.append(f"{name}: the file has {counted} data lines but the parser read "
                            f"{rows_in} rows")
    if problems:
        raise ReconciliationError("rows do not reconcile: " + "; ".join(problems))


class ShrinkError(RuntimeError):
    """A run would replace a force's published month with far fewer records."""


def check_shrink(output: str, run_id: str, month: str, max_shrink: float) -> None:
    """Refuse, discarding the run's staging, when a force's published month would lose
    `max_shrink` or more of its records (or all of them: a header-only resubmission)."""
    published = rows_by_force(output, "restricted", month)
    staged = rows_by_force(OutputLayout(output).staging(run_id), "restricted", month)
    shrunk = [(force, before, staged.get(force, 0)) for force, before in sorted(
        published.items()) if before and staged.get(force, 0) <= before * (1 - max_shrink)]
    if not shrunk:
        return
    fs, _ = filesystem(output)
    fs.rm(OutputLayout(output).staging(run_id), recursive=True)
    described = "; ".join(f"{force} from {before:,} to {after:,} records"
                          for force, before, after in shrunk)
    raise ShrinkError(f"refusing to publish {month}: it would shrink {described}; the "
                      "published month is kept (rerun with --allow-shrink if that is right)")


def write_file_stats(file_stats: dict, url: str) -> None:
    """Leave a run's per-file counts at `url` (`OutputLayout.file_stats`) for the driver."""
    write_bytes_atomic(url, json.dumps(file_stats, sort_keys=True).encode())


def take_file_stats(output: str, run_id: str) -> dict:
    """Read and remove the per-file counts a run's pipeline left in its staging folder."""
    fs, path = filesystem(OutputLayout(output).file_stats(run_id))
    file_stats = json.loads(fs.cat_file(path))
    fs.rm(path)
    return file_stats


def take_disclosure(output: str, run_id: str) -> dict:
    """Read and remove the per-force disclosure counts a run's pipeline left in its staging
    folder (empty when the pipeline had no records)."""
    fs, path = filesystem(OutputLayout(output).staged_disclosure(run_id))
    if not fs.exists(path):
        return {}
    counts = json.loads(fs.cat_file(path))
    fs.rm(path)
    return counts


def withhold_public(output: str, run_id: str, month: str, forces: list[str]) -> None:
    """Remove these forces' staged public partitions, so the commit publishes no public
    month for them (and removes the one published before); their restricted records and
    feedback are committed as usual."""
    fs, _ = filesystem(output)
    staged = OutputLayout(output).staged(run_id)
    for force in forces:
        _, partition = filesystem(staged.partition("public", month, force))
        if fs.exists(partition):
            fs.rm(partition, recursive=True)


def write_disclosure(output: str, month: str, report: dict) -> str:
    """Write the month's disclosure report (`runs/YYYY-MM/disclosure.json`) atomically."""
    return write_json_atomic(OutputLayout(output).disclosure(month), report)


def manifest_url(output: str, month: str) -> str:
    """Where the month's run manifest lives."""
    return OutputLayout(output).manifest(month)


def write_manifest(output: str, month: str, manifest: dict) -> str:
    """Write the run manifest atomically, once it matches `RunManifest`; returns its URL."""
    return write_json_atomic(manifest_url(output, month), checked_manifest(manifest))


def read_manifest(output: str, month: str) -> dict:
    """Read a month's run manifest; FileNotFoundError if the month was never committed."""
    manifest = read_json(manifest_url(output, month))
    if manifest is None:
        raise FileNotFoundError(f"no run manifest at {manifest_url(output, month)}")
    return manifest
