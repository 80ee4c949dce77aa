"""Commit a staged month as a new generation, atomically for readers; recover from crashes.

A run writes everything under `<output>/_staging/<run_id>/`. Only when the pipeline has finished
and every file's rows reconcile is the month committed (`store.current` explains generations):

1. the run manifest and disclosure report are written into the staging folder, and a commit
   journal (`_commit.json`) lists the forces whose feedback index changes and the generation
   the commit will delete;
2. the staging folder is moved to `generations/<run_id>/` (one rename locally; a copy on an
   object store, which no reader sees: nothing points at it yet);
3. the month's pointer `runs/YYYY-MM/current.json` is switched to it: **the commit point**, one
   atomic write, the same on a bucket as on a disk;
4. the forces' feedback indexes are rebuilt, the generation before the previous one is deleted
   (the previous one stays for readers still reading it, until the next commit), and the
   journal removed.

A run killed before step 3 leaves the pointer, and so every reader, on the previous month; the
next run's `recover` deletes the unreferenced staging or generation. One killed after step 3 is
rolled forward (`recover` finishes step 4). Must run on the driver, never inside a DoFn.
"""

from __future__ import annotations

import json

import fsspec

from crimegeo.store.current import (
    IN_PLACE,
    generation_name,
    generation_root,
    live_months,
    live_root,
    read_pointer,
    referenced_generations,
    switch_pointer,
)
from crimegeo.store.feedback import write_force_index
from crimegeo.store.files import (
    children,
    filesystem,
    force_folders,
    move_tree,
    read_json,
    write_bytes_atomic,
    write_json_atomic,
)
from crimegeo.store.layout import PARTITIONED_KINDS, OutputLayout
from crimegeo.store.manifest import checked_manifest
from crimegeo.store.parts import rows_by_force

#: The points inside `commit_month` a test can stop it at, as a kill would, in order.
COMMIT_STEPS = ("staged", "moved", "switched", "indexed")


class ReconciliationError(RuntimeError):
    """Rows in != rows written + rows rejected for some input file."""


class SimulatedCrashError(RuntimeError):
    """Raised by `commit_month(..., crash_at=STEP)`: a kill at that step, for tests."""


def _feedback_forces(fs: fsspec.AbstractFileSystem, root: str, month: str) -> set[str]:
    layout = OutputLayout(root)
    return {force for force in force_folders(fs, layout.feedback())
            if fs.exists(layout.feedback_month(force, month))}


def commit_month(output: str, run_id: str, month: str, manifest: dict, *,
                 disclosure: dict | None = None, crash_at: str | None = None) -> list[str]:
    """Commit the staged month as generation `generations/<run_id>` and point the month at
    it; returns the generation's published folders.

    `disclosure` (the month's disclosure report) is committed with it. `crash_at` exists for
    tests: raise `SimulatedCrashError` at that step of `COMMIT_STEPS`, as a killed run would stop.
    A manifest that does not match `RunManifest` is refused before anything moves.
    """
    if crash_at is not None and crash_at not in COMMIT_STEPS:
        raise ValueError(f"crash_at must be one of {COMMIT_STEPS}")

    def stop_if(step: str) -> None:
        if crash_at == step:
            raise SimulatedCrashError(f"simulated crash at commit step {step!r}")

    checked_manifest(manifest)
    fs, root = filesystem(output)
    layout, urls = OutputLayout(root), OutputLayout(output)
    fs.invalidate_cache()  # workers wrote the staging: listings must be fresh
    staged = urls.staged(run_id)
    if disclosure is not None:
        write_json_atomic(staged.disclosure(month), disclosure)
    write_json_atomic(staged.manifest(month), manifest)
    before = read_pointer(output, month)
    _, live = filesystem(live_root(output, month))
    forces = _feedback_forces(fs, layout.staging(run_id), month) | _feedback_forces(
        fs, live, month)
    write_json_atomic(urls.journal(run_id), {
        "run_id": run_id, "month": month, "forces": sorted(forces),
        # the generation before the previous one: no reader can still be reading it
        "drop": before["previous"] if before else None})
    stop_if("staged")
    move_tree(fs, layout.staging(run_id), layout.generation(run_id))
    stop_if("moved")
    switch_pointer(output, month, run_id)  # the commit point
    stop_if("switched")
    _finish(output, run_id, crash_at=crash_at)
    generation = OutputLayout(layout.generation(run_id))
    folders = [generation.month(kind, month) for kind in PARTITIONED_KINDS] + [
        generation.feedback_month(force, month) for force in sorted(forces)]
    return [f for f in folders if fs.exists(f)]


def _finish(output: str, run_id: str, *, crash_at: str | None = None) -> None:
    """Step 4 of a switched commit, from its journal: indexes, the old generation, journal."""
    fs, root = filesystem(output)
    generation = OutputLayout(generation_root(output, generation_name(run_id)))
    journal = read_json(generation.commit_journal())
    if journal is None:
        return
    live = live_months(output)
    month, drop = journal["month"], journal.get("drop")
    for force in journal["forces"]:  # only this month's entries are read again
        write_force_index(output, force, live=live, changed={month})
    if crash_at == "indexed":
        raise SimulatedCrashError("simulated crash at commit step 'indexed'")
    pointer = read_pointer(output, month) or {}
    if drop is not None and drop not in (pointer.get("generation"), pointer.get("previous")):
        _remove_generation_month(fs, OutputLayout(root), drop, month)
    _, path = filesystem(generation.commit_journal())
    fs.rm(path)


def _remove_generation_month(fs: fsspec.AbstractFileSystem, layout: OutputLayout,
                             generation: str, month: str) -> None:
    """Delete a superseded generation; for the in-place one, only this month's files."""
    if generation != IN_PLACE:
        path = layout.path(generation)
        if fs.exists(path):
            fs.rm(path, recursive=True)
        return
    doomed = [layout.month(kind, month) for kind in PARTITIONED_KINDS]
    doomed += [layout.feedback_month(force, month)
               for force in force_folders(fs, layout.feedback())]
    doomed += [layout.manifest(month), layout.disclosure(month)]
    for path in doomed:
        if fs.exists(path):
            fs.rm(path, recursive=True)
    fs.invalidate_cache()


def recover(output: str) -> list[str]:
    """Finish commits interrupted after their switch, delete what no pointer names (runs
    killed before their switch), and remove dead runs' staging.

    Must run with the output's lock held (no run of ours is live). Returns a line per action
    taken, for the log.
    """
    fs, root = filesystem(output)
    layout, urls = OutputLayout(root), OutputLayout(output)
    fs.invalidate_cache()
    actions = []
    for run_id in children(fs, layout.staging_root()):
        journal = read_json(urls.journal(run_id))
        if journal is not None and "swaps" in journal:
            actions.append(_undo_swaps(output, run_id, journal))
        fs.rm(layout.staging(run_id), recursive=True)
        actions.append(f"removed the staging of unfinished run {run_id}")
    referenced = referenced_generations(output)
    for run_id in children(fs, layout.generations()):
        name = generation_name(run_id)
        if name not in referenced:
            fs.rm(layout.generation(run_id), recursive=True)
            actions.append(f"removed generation {run_id}, which no month points at")
        elif read_json(OutputLayout(layout.generation(run_id)).commit_journal()) is not None:
            _finish(output, run_id)
            actions.append(f"finished the commit of run {run_id}")
    trash = layout.trash_root()
    if fs.exists(trash):
        fs.rm(trash, recursive=True)
    return actions


def _undo_swaps(output: str, run_id: str, journal: dict) -> str:
    """Roll back a commit that a version before generations left half-swapped."""
    fs, _ = filesystem(output)
    committed = _manifest_run_id(output, journal["month"]) == journal["run_id"]
    if committed:
        return f"finished the commit of run {run_id}"
    for swap in reversed(journal["swaps"]):
        if fs.exists(swap["trash"]):
            if fs.exists(swap["published"]):
                fs.rm(swap["published"], recursive=True)
            move_tree(fs, swap["trash"], swap["published"])
        elif not swap["had_previous"] and fs.exists(swap["published"]) and (
                not fs.exists(swap["staged"])):
            fs.rm(swap["published"], recursive=True)
    return f"rolled back the interrupted commit of run {run_id}"


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


def manifest_url(output: str, month: str) -> str:
    """Where the month's live run manifest is (in the generation its pointer names)."""
    return OutputLayout(live_root(output, month)).manifest(month)


def read_disclosure(output: str, month: str) -> dict | None:
    """The month's live disclosure report, or None."""
    return read_json(OutputLayout(live_root(output, month)).disclosure(month))


def read_manifest(output: str, month: str) -> dict:
    """Read a month's live run manifest; FileNotFoundError if the month was never committed."""
    url = manifest_url(output, month)
    manifest = read_json(url)
    if manifest is None:
        raise FileNotFoundError(f"no run manifest at {url}")
    return manifest
