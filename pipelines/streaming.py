"""The streaming Beam pipeline: force files ingested as they arrive, on the monthly transforms.

On Dataflow its input is Cloud Storage's object notifications, read from Pub/Sub (see
docs/streaming.md for the notification and subscription set-up):

    python -m crimegeo.pipelines.streaming --streaming --runner DataflowRunner \
        --project PROJECT --region europe-west2 --temp_location gs://BUCKET/tmp \
        --subscription projects/PROJECT/subscriptions/crimegeo-arrivals \
        --input gs://BUCKET/incoming --output gs://BUCKET/output \
        --gazetteer gs://BUCKET/gazetteer

Without Dataflow, `crimegeo watch` (flows/watch.py) polls the input prefix and runs this same
pipeline over the new or changed files in micro-batches (`ingest_files`); tests feed it the
notification payloads GCS sends from Beam's `TestStream`. Each arriving file goes through the
batch run's parse, validate, geocode, area and anonymise DoFns (`transforms.streaming`), is
written as its own part under `month=/force=`, and its forces' feedback is republished at
once. A duplicate notification changes nothing; a newer generation of a file replaces the rows
of the older one. `close_month` is the monthly close: a batch run over the month's files,
which consolidates what streaming wrote into the final partitions.

Runners: the local streaming runner is Beam's `BundleBasedDirectRunner`, named explicitly
(`TestStream` and streaming need it: the in-process FnApiRunner refuses `TestStream`, and the
`DirectRunner` front door first tries to download Prism); micro-batches run on the in-process
FnApiRunner, as monthly runs do. This module only assembles and runs pipelines: the work is
in `transforms/`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from crimegeo.pipelines.local import local_streaming_runner
from crimegeo.pipelines.monthly import (
    MonthResult,
    check_month,
    locate_options,
    run_month,
    worker_resources,
)
from crimegeo.pipelines.settings import (
    FLOW_ONLY,
    RunSettings,
    add_settings_arguments,
    settings_from_argv,
)
from crimegeo.standards.profiles import load_profiles
from crimegeo.store.inputs import Discovery, discover_month
from crimegeo.store.ledger import month_entries, read_ledger, record_close, write_entry
from crimegeo.store.parts import published_parts
from crimegeo.transforms.arrivals import refresh_force_month
from crimegeo.transforms.notifications import FileArrival, list_arrivals, parse_notification
from crimegeo.transforms.streaming import IngestArrivals

#: What `flows/` uses from the layers below: flows may import pipelines, never transforms.
__all__ = [
    "FileArrival", "StreamingOptions", "build_streaming_pipeline", "close_month",
    "ingest_files", "list_arrivals", "read_ledger", "refresh_pending_feedback",
    "streaming_options",
]

class StreamingOptions(PipelineOptions):
    """Beam options only the streaming pipeline has: where its notifications come from.

    Everything else it is configured by is the run's `RunSettings`, as for the monthly run.
    """

    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None:
        parser.add_argument("--subscription", default=None,
                            help="Pub/Sub subscription (projects/P/subscriptions/S) receiving "
                                 "the input bucket's object notifications (JSON payload).")
        parser.add_argument("--topic", default=None,
                            help="Pub/Sub topic of the notifications, instead of "
                                 "--subscription (the runner makes a subscription).")
        parser.add_argument("--notified_prefix", default=None,
                            help="gs://BUCKET/PREFIX the notifications describe, when files "
                                 "are read from elsewhere (a mirror, tests); default --input.")


def streaming_options(settings: RunSettings) -> PipelineOptions:
    """Beam's options for the streaming pipeline: the runner and the options passed through."""
    return PipelineOptions(["--runner", settings.runner.runner, *settings.runner.beam_options])


def _ingest(settings: RunSettings) -> IngestArrivals:
    return IngestArrivals(
        output=settings.output, resources=worker_resources(settings),
        profile_dirs=settings.inputs.profiles, locate_options=locate_options(settings.locating),
        min_public_count=settings.anonymising.min_public_count)


def _arrivals_of(message: Any, notified_prefix: str, read_prefix: str) -> list[FileArrival]:
    arrival = parse_notification(message, notified_prefix=notified_prefix,
                                 read_prefix=read_prefix)
    return [arrival] if arrival is not None else []


def build_streaming_pipeline(settings: RunSettings, options: PipelineOptions | None = None, *,
                             source: beam.PTransform | None = None,
                             arrivals: Sequence[FileArrival] | None = None
                             ) -> tuple[beam.Pipeline, dict[str, beam.PCollection]]:
    """The streaming pipeline, not run; returns it and its `outcomes` and `feedback` outputs.

    The input is, in order of precedence: `arrivals` (a bounded micro-batch, as the watcher
    gives), `source` (any transform yielding GCS notifications: a `TestStream` in tests), or
    Pub/Sub (`--subscription` or `--topic`, with attributes). `options` are Beam's
    (default: `streaming_options(settings)`).
    """
    options = options if options is not None else streaming_options(settings)
    streaming = options.view_as(StreamingOptions)
    read_prefix = settings.inputs.input
    pipeline = beam.Pipeline(runner=local_streaming_runner(options), options=options)
    if arrivals is not None:
        files = pipeline | "Arrivals" >> beam.Create(list(arrivals), reshuffle=False)
    else:
        if source is None:
            if not (streaming.subscription or streaming.topic):
                raise ValueError("give --subscription or --topic to read notifications from")
            # Imported here: only a Pub/Sub pipeline needs Beam's GCP connector.
            from apache_beam.io.gcp.pubsub import ReadFromPubSub

            source = ReadFromPubSub(subscription=streaming.subscription,
                                    topic=None if streaming.subscription
                                    else streaming.topic, with_attributes=True)
        notified = streaming.notified_prefix or read_prefix
        files = (pipeline
                 | "Notifications" >> source
                 | "ParseNotifications" >> beam.FlatMap(_arrivals_of, notified, read_prefix))
    outputs = files | "IngestArrivals" >> _ingest(settings)
    return pipeline, outputs


def ingest_files(settings: RunSettings, arrivals: Sequence[FileArrival]) -> dict[str, dict]:
    """Run the pipeline over a micro-batch of arrivals to the end; their ledger entries."""
    if not arrivals:
        return {}
    options = streaming_options(settings)
    options.view_as(StandardOptions).streaming = False
    pipeline, _ = build_streaming_pipeline(settings, options, arrivals=arrivals)
    pipeline.run().wait_until_finish()
    entries = read_ledger(settings.output, [arrival.key for arrival in arrivals])
    for key, entry in entries.items():  # the run refreshed them: nothing is pending now
        if entry.get("feedback_pending"):
            entries[key] = {**entry, "feedback_pending": []}
            write_entry(settings.output, entries[key])
    return entries


def refresh_pending_feedback(output: str, ledger: dict[str, dict] | None = None) -> list[str]:
    """Redo the feedback refreshes a killed ingestion left pending; the force-months done.

    A file's ledger entry is written before its forces' feedback is rebuilt, with the
    force-months still to rebuild; they are cleared once the run has finished. Whatever is
    still listed at a start was cut short, and is rebuilt from the published parts here.
    `ledger` is the output's ledger when the caller has read it already.
    """
    done: set[str] = set()
    for entry in (read_ledger(output) if ledger is None else ledger).values():
        pending = entry.get("feedback_pending") or []
        for force_month in pending:
            if force_month not in done:
                month, force = force_month.split("/", 1)
                refresh_force_month(output, month, force)
                done.add(force_month)
        if pending:
            write_entry(output, {**entry, "feedback_pending": []})
    return sorted(done)


def _inputs(discovery: Discovery) -> dict[str, str]:
    return {item.name: item.checksum for item in discovery.files}


def close_month(settings: RunSettings, month: str, discovery: Discovery | None = None, *,
                rounds: int = 3, run_id: str | None = None) -> MonthResult:
    """Close a month: one batch run over its files replaces what streaming wrote for it.

    The result is by construction what a single batch run over the same files gives: the
    final restricted, public and rejected partitions, the feedback (no longer provisional)
    and the run manifest. If the month's files change while it runs (a force resubmits during
    the close), it runs again, up to `rounds` times. What the close found is recorded at
    `_ledger/closed/<month>.json`: the files it closed, which of them streaming had ingested
    (same checksum), and how many streamed parts it left byte-identical.
    """
    month = check_month(month)
    output, profiles = settings.output, load_profiles(settings.inputs.profiles)
    streamed = published_parts(output, month)
    entries = month_entries(output, month)
    result, rounds_run = None, 0
    while rounds_run < max(rounds, 1):
        rounds_run += 1
        if discovery is None:
            discovery = discover_month(settings.inputs.input, month, profiles)
        result = run_month(settings, month, discovery, run_id=run_id)
        after = discover_month(settings.inputs.input, month, profiles)
        if _inputs(after) == _inputs(discovery):
            break
        discovery = after
        run_id = None  # each round is a run of its own
    assert result is not None
    closed = published_parts(output, month)
    files = _inputs(discovery)
    ingested = {entry["file"]: entry for entry in entries.values()
                if entry.get("status") in ("processed", "unchanged")}
    record_close(output, month, {
        "run_id": result.manifest["run_id"],
        "rounds": rounds_run,
        "files": files,
        "streamed": sorted(name for name, checksum in files.items()
                           if ingested.get(name, {}).get("checksum") == checksum),
        "not_streamed": sorted(name for name, checksum in files.items()
                               if ingested.get(name, {}).get("checksum") != checksum),
        "parts": {
            "identical": sum(1 for p, digest in closed.items() if streamed.get(p) == digest),
            "changed": sorted(p for p, digest in closed.items()
                              if p in streamed and streamed[p] != digest),
            "added": sorted(set(closed) - set(streamed)),
            "removed": sorted(set(streamed) - set(closed)),
        },
    })
    return result


def _help() -> str:
    parser = argparse.ArgumentParser(
        prog="python -m crimegeo.pipelines.streaming",
        formatter_class=argparse.RawTextHelpFormatter,
        description=__doc__.split("\n\n")[0] + "\n\nAny other option passes to Beam "
                    "(--runner, --project, --region, --temp_location, ...).")
    StreamingOptions._add_argparse_args(parser.add_argument_group("notifications"))
    add_settings_arguments(parser.add_argument_group("the run's settings"), exclude=FLOW_ONLY)
    return parser.format_help()


def main(argv: Sequence[str] | None = None) -> None:
    """Launch the streaming pipeline (Dataflow, or locally with `--streaming`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if "-h" in argv or "--help" in argv:
        print(_help())
        return
    settings = settings_from_argv(argv, exclude=FLOW_ONLY)
    options = streaming_options(settings)
    options.view_as(StandardOptions).streaming = True
    pipeline, _ = build_streaming_pipeline(settings, options)
    result = pipeline.run()
    if options.view_as(StandardOptions).runner in ("BundleBasedDirectRunner", "DirectRunner"):
        result.wait_until_finish()
    else:
        print(f"submitted; job state {result.state}; the job runs until it is drained")


if __name__ == "__main__":
    main()
