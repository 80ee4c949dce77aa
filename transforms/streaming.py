"""Beam DoFns of the streaming path: ingest each arriving file, then refresh its feedback.

A file is the unit: `IngestFile` runs one arrival through the batch run's own per-batch
functions (`transforms.batches`: read and parse, locate, anonymise, write), with the resources
the monthly DoFns share, so streaming and monthly results are the same by construction, and it
knows when the whole file is done without joining elements in an unbounded window. It is a
stateful DoFn keyed by the file's key: Beam runs one element of a key at a time, so two
generations of one file never race, and its state remembers the generation ingested, so a
duplicate notification changes nothing. The ledger entry carries that memory across
restarts. Its main output is one `(month/force, file)` element per force-month the file
touched (forces it has now and forces its previous generation had); `RefreshFeedback`, keyed
by force-month, rebuilds each one's feedback from the published parts, one at a time per
force-month.

A file whose ingestion raises (a poison file) does not fail the bundle, which a streaming
runner would retry for ever: its ledger entry records `failed` with the error, and it leaves
on the dead-letter output `dead_letter` (`DEAD_LETTER`), so the next generation of the file
is tried afresh and the rest of the stream goes on.

Must not stage or commit (streaming writes in place, into the generation the month's pointer
names, `store.current`; closing a month is a batch run, a new generation) and must
not load heavy resources outside `setup()`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.coders import StrUtf8Coder, VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec
from apache_beam.utils.shared import Shared

from crimegeo.standards.profiles import UnmatchedFileError, load_profiles
from crimegeo.store.current import live_root
from crimegeo.store.inputs import discover_month
from crimegeo.store.layout import UNKNOWN_FORCE_PARTITION
from crimegeo.store.ledger import (
    FAILED,
    PROCESSED,
    SKIPPED,
    UNCHANGED,
    UNRECOGNISED,
    now_iso,
    read_entry,
    write_entry,
)
from crimegeo.store.parts import part_paths, remove_parts
from crimegeo.transforms.arrivals import refresh_force_month
from crimegeo.transforms.batches import (
    Resources,
    anonymise_batch,
    locate_batch,
    parse_file,
    read_file,
    write_record_parts,
    write_rejected_parts,
)
from crimegeo.transforms.locate import LocateOptions
from crimegeo.transforms.notifications import FileArrival, is_newer, stored_version
from crimegeo.transforms.steps import load_shared, shared_handles

#: Tagged output of `IngestFile`: one outcome per arrival (ingested, duplicate, ...).
OUTCOMES = "outcomes"
#: Tagged output of `IngestFile`: each arrival whose ingestion raised, with the error.
DEAD_LETTER = "dead_letter"
DUPLICATE, STALE = "duplicate", "stale"
#: State of `IngestFile`: the generation of its file last ingested (or found in the ledger).
GENERATION_STATE = ReadModifyWriteStateSpec("generation", StrUtf8Coder())
#: State of `RefreshFeedback`: how many refreshes its force-month had (it makes the DoFn
#: stateful, so Beam runs one refresh of a force-month at a time).
REFRESHES_STATE = ReadModifyWriteStateSpec("refreshes", VarIntCoder())
_GENERATION = beam.DoFn.StateParam(GENERATION_STATE)
_REFRESHES = beam.DoFn.StateParam(REFRESHES_STATE)


class IngestFile(beam.DoFn):
    """Ingests one arrival (keyed by its file key) and publishes its parts in place."""

    def __init__(self, *, output: str, resources: Resources, shared: dict[str, Shared],
                 profile_dirs: tuple[str, ...], locate_options: LocateOptions,
                 publish_public: bool = True) -> None:
        self.output = output
        self.resources = resources
        self.shared = shared
        self.profile_dirs = profile_dirs
        self.locate_options = locate_options
        self.publish_public = publish_public
        self.ingested = Metrics.counter("crimegeo", "files_ingested")
        self.duplicates = Metrics.counter("crimegeo", "duplicate_notifications")
        self.poisoned = Metrics.counter("crimegeo", "files_dead_lettered")

    def setup(self) -> None:
        self.profiles = load_profiles(self.profile_dirs)
        self.loaded = load_shared(self.resources, self.shared)

    def process(self, element: tuple[str, FileArrival],
                generation: Any = _GENERATION) -> Iterator[Any]:
        key, arrival = element
        seen = generation.read()
        if seen is not None and not is_newer(arrival.generation, seen):
            self.duplicates.inc()
            yield pvalue.TaggedOutput(OUTCOMES, self._outcome(
                arrival, DUPLICATE if arrival.generation == seen else STALE))
            return
        version = None if arrival.refused else stored_version(arrival.url)
        if version is not None and is_newer(version[0], arrival.generation):
            # The object was replaced since this notification: ingest what is stored now,
            # under its own generation (its own notification will then be a duplicate).
            arrival = replace(arrival, generation=version[0], md5=version[1])
        previous = read_entry(self.output, key)
        if previous and not is_newer(arrival.generation, previous["generation"]):
            # Ingested before this job started (a restart, or a retried bundle): change
            # nothing, but make sure its feedback was published.
            generation.write(previous["generation"])
            self.duplicates.inc()
            yield pvalue.TaggedOutput(OUTCOMES, self._outcome(
                arrival, DUPLICATE if arrival.generation == previous["generation"] else STALE))
            for force in previous.get("forces", []):
                yield f"{previous['month']}/{force}", key
            return
        try:
            entry = self._ingest(arrival, previous)
        except Exception as error:  # noqa: BLE001 - a poison file must not stop the stream
            self.poisoned.inc()
            why = f"ingestion failed: {type(error).__name__}: {error}"
            entry = self._entry(arrival, previous, FAILED, why=why,
                                parts=list(previous.get("parts", [])) if previous else [],
                                forces=list(previous.get("forces", [])) if previous else [])
            yield pvalue.TaggedOutput(DEAD_LETTER, {"key": arrival.key, "url": arrival.url,
                                                    "generation": arrival.generation,
                                                    "error": why})
        touched = []
        if entry["status"] in (PROCESSED, SKIPPED, UNRECOGNISED) and previous:
            # The parts of the generation before may have been replaced or removed.
            touched += [f"{previous['month']}/{force}" for force in
                        sorted(set(previous.get("forces", [])) - set(entry["forces"]))]
        if entry["status"] == PROCESSED:
            touched += [f"{entry['month']}/{force}" for force in entry["forces"]]
        # Recorded with the entry: a kill before the refreshes leaves them pending, and the
        # next start redoes them (`pipelines.streaming.refresh_pending_feedback`).
        entry["feedback_pending"] = touched
        write_entry(self.output, entry)
        generation.write(entry["generation"])
        self.ingested.inc()
        yield pvalue.TaggedOutput(OUTCOMES, self._outcome(arrival, entry["status"], entry))
        for force_month in touched:
            yield force_month, key

    @staticmethod
    def _outcome(arrival: FileArrival, status: str, entry: dict | None = None) -> dict:
        outcome = {"key": arrival.key, "generation": arrival.generation, "status": status}
        if entry:
            outcome.update({k: entry.get(k) for k in (
                "month", "rows_in", "rows_written", "rows_rejected", "forces", "why",
                "seconds")})
        return outcome

    def _entry(self, arrival: FileArrival, previous: dict | None, status: str,
               **fields: Any) -> dict:
        history = list(previous.get("history", [])) if previous else []
        entry = {
            "key": arrival.key, "url": arrival.url, "file": arrival.name,
            "month": arrival.month, "generation": arrival.generation, "md5": arrival.md5,
            "size": arrival.size, "status": status, "processed_at": now_iso(),
            "forces": [], "parts": [], **fields,
        }
        if status in (PROCESSED, FAILED):
            history.append({"generation": arrival.generation, "status": status,
                            "checksum": entry.get("checksum"),
                            "processed_at": entry["processed_at"]})
        elif status == UNCHANGED and previous:
            # Same bytes under a new generation: nothing republished, the parts stand.
            entry.update({k: previous.get(k) for k in (
                "forces", "parts", "rows_in", "rows_written", "rows_rejected",
                "rejected_by_reason", "profile")})
        entry["history"] = history
        return entry

    def _ingest(self, arrival: FileArrival, previous: dict | None) -> dict:
        started = time.perf_counter()
        old_parts = list(previous.get("parts", [])) if previous else []
        if arrival.refused:
            remove_parts(self.output, old_parts)
            return self._entry(arrival, previous, SKIPPED, why=arrival.refused)
        if arrival.month is None:
            remove_parts(self.output, old_parts)
            return self._entry(arrival, previous, SKIPPED,
                               why="no YYYY-MM folder and no single month in the file name")
        try:
            discovery = discover_month(arrival.url, arrival.month, self.profiles)
        except FileNotFoundError:
            # Deleted since the notification; its parts stand until a close or a new version.
            return self._entry(arrival, previous, SKIPPED, parts=old_parts,
                               forces=list(previous.get("forces", [])) if previous else [],
                               why="the object no longer exists")
        except UnmatchedFileError as error:
            remove_parts(self.output, old_parts)
            return self._entry(arrival, previous, UNRECOGNISED, why=str(error))
        if not discovery.files:
            remove_parts(self.output, old_parts)
            why = discovery.skipped[0][1] if discovery.skipped else "not found"
            return self._entry(arrival, previous, SKIPPED, why=why)
        item = discovery.files[0]
        if (previous and previous.get("status") in (PROCESSED, UNCHANGED)
                and previous.get("checksum") == item.checksum
                and previous.get("month") == arrival.month):
            return self._entry(arrival, previous, UNCHANGED, checksum=item.checksum,
                               why="same bytes as the generation already ingested")

        profile = next(p for p in self.profiles if p.name == item.profile)
        parsed = parse_file(item, *read_file(item, profile), profile, arrival.month)
        anonymised = [anonymise_batch(locate_batch(batch, self.loaded, self.locate_options)[0],
                                      self.loaded)[0] for batch in parsed.records]
        rejected = [parsed.rejected] if parsed.rejected is not None else []
        if "skipped" in parsed.stats:  # wholly of another month: named, not rejected
            remove_parts(self.output, old_parts)
            return self._entry(arrival, previous, SKIPPED, why=parsed.stats["skipped"])
        rows_in, rows_rejected = parsed.stats["rows_in"], parsed.stats["rows_rejected"]
        rows_written = sum(batch.table.num_rows for batch in anonymised)
        counts = {"checksum": item.checksum, "profile": item.profile, "rows_in": rows_in,
                  "rows_written": rows_written, "rows_rejected": rows_rejected,
                  "rejected_by_reason": parsed.stats["rejected_by_reason"]}
        counted = parsed.stats.get("rows_counted", rows_in)
        if rows_in != rows_written + rows_rejected or counted != rows_in:
            return self._entry(arrival, previous, FAILED, **counts,
                               parts=old_parts, forces=list(previous.get("forces", []))
                               if previous else [],
                               why=f"{rows_in} rows in ({counted} data lines) but "
                                   f"{rows_written} written + {rows_rejected} rejected")

        kinds = ("restricted", "public") if self.publish_public else ("restricted",)
        # Into the month's live generation (the output root until the month's first close).
        root = live_root(self.output, arrival.month)
        for batch in anonymised:
            write_record_parts(root, arrival.month, batch, public=self.publish_public)
        record_forces = [batch.force for batch in anonymised]
        rejected_forces: list[str] = []
        for batch in rejected:
            rejected_forces.extend(force or UNKNOWN_FORCE_PARTITION for force in
                                   write_rejected_parts(root, arrival.month, batch))
        parts = (part_paths(arrival.month, item.name, record_forces, kinds)
                 + part_paths(arrival.month, item.name, rejected_forces, ("rejected",)))
        if not self.publish_public:
            # A k-anonymised public dataset needs the whole month: it is written at the close.
            old_parts = [p for p in old_parts if not p.startswith("public/")]
        remove_parts(self.output, set(old_parts) - set(parts))
        forces = sorted(set(record_forces) | set(rejected_forces))
        return self._entry(arrival, previous, PROCESSED, **counts, forces=forces,
                           parts=sorted(parts),
                           seconds=round(time.perf_counter() - started, 3))


class RefreshFeedback(beam.DoFn):
    """Rebuilds one force-month's feedback from its published parts (keyed by `month/force`)."""

    def __init__(self, output: str) -> None:
        self.output = output
        self.refreshed = Metrics.counter("crimegeo", "feedback_refreshed")

    def process(self, element: tuple[str, str],
                refreshes: Any = _REFRESHES) -> Iterator[dict]:
        force_month, key = element
        month, force = force_month.split("/", 1)
        started = time.perf_counter()
        result = refresh_force_month(self.output, month, force)
        refreshes.write((refreshes.read() or 0) + 1)
        if result["changed"]:
            self.refreshed.inc()
        yield {**result, "file": key, "seconds": round(time.perf_counter() - started, 3)}


class IngestArrivals(beam.PTransform):
    """File arrivals in; each file's parts and its forces' feedback published in place.

    Returns `{"outcomes": ..., "feedback": ..., "dead_letter": ...}`: one outcome per
    arrival (its status and counts), one element per force-month feedback refresh, and one
    per arrival whose ingestion raised (its ledger entry says `failed`, with the error).
    """

    def __init__(self, *, output: str, resources: Resources,
                 profile_dirs: tuple[str, ...], locate_options: LocateOptions,
                 min_public_count: int) -> None:
        super().__init__()
        self.output = output
        self.resources = resources
        self.profile_dirs = profile_dirs
        self.locate_options = locate_options
        self.min_public_count = min_public_count

    def expand(self, arrivals: beam.PCollection) -> dict[str, beam.PCollection]:
        shared = shared_handles()
        ingested = (
            arrivals
            | "KeyByFile" >> beam.Map(lambda arrival: (arrival.key, arrival)
                                      ).with_output_types(tuple[str, FileArrival])
            | "IngestFile" >> beam.ParDo(IngestFile(
                output=self.output, resources=self.resources, shared=shared,
                profile_dirs=self.profile_dirs, locate_options=self.locate_options,
                publish_public=self.min_public_count <= 1)).with_outputs(
                    OUTCOMES, DEAD_LETTER, main="touched"))
        feedback = (
            ingested.touched
            | "TypeForceMonth" >> beam.Map(lambda kv: kv).with_output_types(tuple[str, str])
            | "RefreshFeedback" >> beam.ParDo(RefreshFeedback(self.output)))
        return {"outcomes": ingested[OUTCOMES], "feedback": feedback,
                "dead_letter": ingested[DEAD_LETTER]}
