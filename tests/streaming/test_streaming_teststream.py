"""The streaming pipeline fed GCS notifications from Beam's TestStream, checked after each step.

The notifications are the JSON object resources GCS publishes (bucket, name, generation, size,
md5Hash) with the `eventType` attribute, as `ReadFromPubSub(with_attributes=True)` yields them.
A test-only step in front plays the bucket: when a notification for a generation is emitted
it puts that generation's bytes at the object's path (unless a newer generation is already
there, as GCS would have), so each generation is read with its own content.

The local streaming runner (`BundleBasedDirectRunner`) runs one bundle at a time, so each
notification is handled, feedback included, before the next: a probe step after the pipeline's
outputs takes a snapshot of the output tree at every outcome and every feedback refresh.
"""

from __future__ import annotations

import json
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.io.gcp.pubsub import PubsubMessage
from apache_beam.testing.test_stream import TestStream as NotificationStream
from streaming_support import (
    CITY,
    KENT,
    MONTH,
    first_rows,
    snapshot,
    tree_digest,
    with_essex_rows,
)

from crimegeo.pipelines.settings import settings_from_argv
from crimegeo.pipelines.streaming import build_streaming_pipeline
from crimegeo.transforms.notifications import notification

BUCKET = "crimegeo-forces"
PREFIX = "incoming"


class UploadThenNotify(beam.PTransform):
    """TestStream of notifications, with each notified generation put in the 'bucket' first."""

    def __init__(self, stream: NotificationStream, objects: Path,
                 contents: dict[tuple[str, str], bytes]) -> None:
        super().__init__()
        self.stream = stream
        self.objects = str(objects)
        self.contents = contents

    def expand(self, begin: beam.pvalue.PBegin) -> beam.PCollection:
        return (begin | "TestStream" >> self.stream
                | "Upload" >> beam.Map(_upload, self.objects, self.contents))


def _upload(message: PubsubMessage, objects: str, contents: dict) -> PubsubMessage:
    payload = json.loads(message.data)
    name, generation = payload["name"], payload["generation"]
    path = Path(objects) / name.removeprefix(f"{PREFIX}/")
    marker = path.with_name(f".{path.name}.generation")
    current = int(marker.read_text()) if marker.exists() else -1
    if int(generation) > current:  # GCS holds the newest generation only
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(contents[(name, generation)])
        marker.write_text(generation)
    return message


def _probe(element: dict, output: str, log: str, stage: str) -> None:
    state = snapshot(Path(output))
    state["digest"] = tree_digest(Path(output))
    with open(log, "a") as handle:
        handle.write(json.dumps({"stage": stage, "event": element, "state": state}) + "\n")


def _message(name: str, generation: str, data: bytes) -> PubsubMessage:
    attributes = {"eventType": "OBJECT_FINALIZE", "bucketId": BUCKET, "objectId": name,
                  "objectGeneration": generation, "payloadFormat": "JSON_API_V1",
                  "notificationConfig": f"projects/_/buckets/{BUCKET}/notificationConfigs/1"}
    return PubsubMessage(json.dumps(notification(BUCKET, name, generation, data)).encode(),
                         attributes)


def test_notifications_duplicates_and_resubmissions(demo_month: dict, tmp_path: Path) -> None:
    source = Path(demo_month["input"])
    city, kent = (source / CITY).read_bytes(), (source / KENT).read_bytes()
    city_name, kent_name = f"{PREFIX}/{MONTH}/{CITY}", f"{PREFIX}/{MONTH}/{KENT}"
    steps = [  # (what, object name, generation, bytes)
        ("city with essex rows", city_name, "1001", with_essex_rows(city)),
        ("kent", kent_name, "2001", kent),
        ("kent duplicate", kent_name, "2001", kent),
        ("kent resubmitted, 300 rows", kent_name, "2002", first_rows(kent, 300)),
        ("city resubmitted without essex", city_name, "1002", city),
        ("city late stale notification", city_name, "1001", with_essex_rows(city)),
        ("not an input: an output object in the same bucket", "output/_ledger/x.json", "5",
         b"{}"),
    ]
    contents = {(name, generation): data for _, name, generation, data in steps}
    stream = NotificationStream(coder=beam.coders.PickleCoder())
    for _, name, generation, data in steps:
        stream = (stream.add_elements([_message(name, generation, data)])
                  .advance_processing_time(10))
    stream = stream.advance_watermark_to_infinity()

    objects, output, log = tmp_path / "bucket", tmp_path / "output", tmp_path / "probe.jsonl"
    settings = settings_from_argv([
        "--streaming", "--input", str(objects), "--notified_prefix", f"gs://{BUCKET}/{PREFIX}",
        "--output", str(output), "--gazetteer", demo_month["gazetteer"]])
    pipeline, outputs = build_streaming_pipeline(
        settings, source=UploadThenNotify(stream, objects, contents))
    assert type(pipeline.runner).__name__ == "BundleBasedDirectRunner"
    _ = outputs["outcomes"] | "ProbeOutcomes" >> beam.Map(_probe, str(output), str(log),
                                                          "outcome")
    _ = outputs["feedback"] | "ProbeFeedback" >> beam.Map(_probe, str(output), str(log),
                                                          "feedback")
    pipeline.run().wait_until_finish()

    events = [json.loads(line) for line in log.read_text().splitlines()]
    outcomes = [e for e in events if e["stage"] == "outcome"]
    assert [(o["event"]["key"], o["event"]["generation"], o["event"]["status"])
            for o in outcomes] == [
        (f"{MONTH}/{CITY}", "1001", "processed"),
        (f"{MONTH}/{KENT}", "2001", "processed"),
        (f"{MONTH}/{KENT}", "2001", "duplicate"),
        (f"{MONTH}/{KENT}", "2002", "processed"),
        (f"{MONTH}/{CITY}", "1002", "processed"),
        (f"{MONTH}/{CITY}", "1001", "stale"),
    ]  # the output object in the bucket was never an arrival

    # Events from one outcome to the next are that notification's handling: the state after
    # a step is the state at its last event.
    starts = [i for i, e in enumerate(events) if e["stage"] == "outcome"] + [len(events)]
    after = [events[end - 1]["state"] for end in starts[1:]]
    step_events = [events[begin:end] for begin, end in zip(starts[:-1], starts[1:], strict=True)]

    # 1. City, with 20 rows reported by Essex: two forces, each with parts and feedback now.
    first = after[0]
    assert set(first["restricted"]) == {"city-of-london", "essex"}
    assert first["files"]["essex"] == [CITY]
    essex_rows = first["restricted"]["essex"] + first["rejected"].get("essex", 0)
    assert essex_rows == 20
    assert first["public"] == first["restricted"]
    for force in ("city-of-london", "essex"):
        fed = first["feedback"][force]
        assert fed["records"] == first["restricted"][force]
        assert fed["provisional"] and fed["index_months"] == [MONTH]
    city_rows = first["restricted"]["city-of-london"]

    # 2. Kent arrives: its own part; the City's parts are untouched.
    second = after[1]
    assert second["files"]["kent"] == [KENT]
    assert second["restricted"]["city-of-london"] == city_rows
    kent_rows = second["restricted"]["kent"]
    assert second["feedback"]["kent"]["records"] == kent_rows
    assert second["feedback"]["kent"]["max_row"] > 300

    # 3. The duplicate notification changes nothing, not one byte.
    assert [e["stage"] for e in step_events[2]] == ["outcome"]  # no feedback refreshed
    assert after[2]["digest"] == after[1]["digest"]

    # 4. Kent resubmits 300 rows: they replace the 1000, in the outputs and the feedback.
    third = after[3]
    assert third["restricted"]["kent"] + third["rejected"].get("kent", 0) == 300
    assert third["restricted"]["kent"] < kent_rows
    assert third["max_row"]["kent"] <= 300
    assert third["feedback"]["kent"]["records"] == third["restricted"]["kent"]
    assert third["feedback"]["kent"]["max_row"] <= 300
    history = third["ledger"][f"{MONTH}/{KENT}"]["history"]
    assert [h["generation"] for h in history] == ["2001", "2002"]

    # 5. The City resubmits without the Essex rows: Essex's part and feedback month are gone.
    fourth = after[4]
    assert set(fourth["restricted"]) == {"city-of-london", "kent"}
    assert "essex" not in fourth["rejected"]
    assert fourth["restricted"]["city-of-london"] == city_rows
    gone = set(first["feedback"]) - set(fourth["restricted"]) - set(fourth["rejected"])
    assert "essex" in gone
    for force in gone:  # Essex, and rows of no force the two-force file had
        assert fourth["feedback"][force] == {"index_months": []}
    assert fourth["feedback"]["city-of-london"]["records"] == city_rows

    # 6. The late notification of the City's older generation changes nothing.
    assert [e["stage"] for e in step_events[5]] == ["outcome"]
    assert after[5]["digest"] == after[4]["digest"]
    last = events[-1]
    ledger = last["state"]["ledger"]
    assert {key: entry["generation"] for key, entry in ledger.items()} == {
        f"{MONTH}/{CITY}": "1002", f"{MONTH}/{KENT}": "2002"}
    assert [h["generation"] for h in ledger[f"{MONTH}/{CITY}"]["history"]] == ["1001", "1002"]


def test_a_restarted_job_ingests_nothing_twice(demo_month: dict, tmp_path: Path) -> None:
    """A new job (state lost) finds ingested generations in the ledger: nothing changes."""
    source = Path(demo_month["input"])
    objects, output = tmp_path / "bucket", tmp_path / "output"
    (objects / MONTH).mkdir(parents=True)
    data = (source / KENT).read_bytes()
    (objects / MONTH / KENT).write_bytes(data)
    args = ["--streaming", "--input", str(objects), "--notified_prefix",
            f"gs://{BUCKET}/{PREFIX}", "--output", str(output),
            "--gazetteer", demo_month["gazetteer"]]
    message = _message(f"{PREFIX}/{MONTH}/{KENT}", "7", data)

    def run() -> None:
        stream = (NotificationStream(coder=beam.coders.PickleCoder()).add_elements([message])
                  .advance_watermark_to_infinity())
        pipeline, _ = build_streaming_pipeline(settings_from_argv(args), source=stream)
        pipeline.run().wait_until_finish()

    run()
    first = tree_digest(output)
    run()
    assert tree_digest(output) == first
    entry = json.loads((output / "_ledger" / "files" / MONTH / f"{KENT}.json").read_text())
    assert [h["generation"] for h in entry["history"]] == ["7"]


@pytest.mark.parametrize("attributes", [{"eventType": "OBJECT_DELETE"},
                                        {"eventType": "OBJECT_ARCHIVE"},
                                        {"eventType": "OBJECT_METADATA_UPDATE"}])
def test_events_other_than_finalize_ingest_nothing(demo_month: dict, tmp_path: Path,
                                                   attributes: dict) -> None:
    objects, output = tmp_path / "bucket", tmp_path / "output"
    (objects / MONTH).mkdir(parents=True)
    data = (Path(demo_month["input"]) / KENT).read_bytes()
    (objects / MONTH / KENT).write_bytes(data)
    payload = json.dumps(notification(BUCKET, f"{PREFIX}/{MONTH}/{KENT}", "3", data)).encode()
    stream = (NotificationStream(coder=beam.coders.PickleCoder())
              .add_elements([PubsubMessage(payload, attributes)])
              .advance_watermark_to_infinity())
    pipeline, _ = build_streaming_pipeline(settings_from_argv([
        "--streaming", "--input", str(objects), "--notified_prefix", f"gs://{BUCKET}/{PREFIX}",
        "--output", str(output)]), source=stream)
    pipeline.run().wait_until_finish()
    assert not output.exists() or not any(output.rglob("*.parquet"))
