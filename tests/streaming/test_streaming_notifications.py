"""File arrivals: GCS notification payloads as GCS sends them, listings, months and the ledger."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from apache_beam.io.gcp.pubsub import PubsubMessage

from crimegeo.store.ledger import read_entry, read_ledger, write_entry
from crimegeo.transforms.notifications import (
    FileArrival,
    input_key,
    is_newer,
    list_arrivals,
    month_of,
    notification,
    parse_notification,
)

#: An OBJECT_FINALIZE notification as Cloud Storage publishes it (JSON_API_V1 payload).
GCS_PAYLOAD = {
    "kind": "storage#object",
    "id": "forces-in/incoming/2024-03/kent_crime_export_2024-03.csv/1711962000123456",
    "selfLink": "https://www.googleapis.com/storage/v1/b/forces-in/o/incoming%2F2024-03%2F"
                "kent_crime_export_2024-03.csv",
    "name": "incoming/2024-03/kent_crime_export_2024-03.csv",
    "bucket": "forces-in",
    "generation": "1711962000123456",
    "metageneration": "1",
    "contentType": "text/csv",
    "timeCreated": "2024-04-01T09:00:00.123Z",
    "updated": "2024-04-01T09:00:00.123Z",
    "storageClass": "STANDARD",
    "timeStorageClassUpdated": "2024-04-01T09:00:00.123Z",
    "size": "401092",
    "md5Hash": "yXQ0bX9Ih2i2nVQj1lT3kA==",
    "mediaLink": "https://storage.googleapis.com/download/storage/v1/b/forces-in/o/incoming%2F"
                 "2024-03%2Fkent_crime_export_2024-03.csv?generation=1711962000123456&alt=media",
    "crc32c": "n8Qb0w==",
    "etag": "CMCU+8Ts1oUDEAE=",
}
GCS_ATTRIBUTES = {
    "notificationConfig": "projects/_/buckets/forces-in/notificationConfigs/7",
    "eventType": "OBJECT_FINALIZE",
    "payloadFormat": "JSON_API_V1",
    "bucketId": "forces-in",
    "objectId": "incoming/2024-03/kent_crime_export_2024-03.csv",
    "objectGeneration": "1711962000123456",
    "eventTime": "2024-04-01T09:00:00.181Z",
}


def _message(payload: dict = GCS_PAYLOAD, **attributes: str) -> PubsubMessage:
    return PubsubMessage(json.dumps(payload).encode(), {**GCS_ATTRIBUTES, **attributes})


def test_a_finalize_notification_is_an_arrival() -> None:
    arrival = parse_notification(_message(), notified_prefix="gs://forces-in/incoming")
    assert arrival == FileArrival(
        key="2024-03/kent_crime_export_2024-03.csv",
        url="gs://forces-in/incoming/2024-03/kent_crime_export_2024-03.csv",
        name="kent_crime_export_2024-03.csv", month="2024-03", generation="1711962000123456",
        md5="yXQ0bX9Ih2i2nVQj1lT3kA==", size=401092)


def test_the_payload_alone_and_a_read_prefix_elsewhere() -> None:
    """`ReadFromPubSub()` without attributes gives the bytes; tests read a local mirror."""
    arrival = parse_notification(json.dumps(GCS_PAYLOAD).encode(),
                                 notified_prefix="gs://forces-in/incoming/",
                                 read_prefix="/mirror/in")
    assert arrival is not None
    assert arrival.url == "/mirror/in/2024-03/kent_crime_export_2024-03.csv"
    assert parse_notification(GCS_PAYLOAD, notified_prefix="gs://forces-in").key == (
        "incoming/2024-03/kent_crime_export_2024-03.csv")


@pytest.mark.parametrize("event", ["OBJECT_DELETE", "OBJECT_ARCHIVE", "OBJECT_METADATA_UPDATE"])
def test_other_events_are_not_arrivals(event: str) -> None:
    assert parse_notification(_message(eventType=event),
                              notified_prefix="gs://forces-in/incoming") is None


@pytest.mark.parametrize("name", [
    "output/restricted/month=2024-03/force=kent/part-1.parquet",  # outputs in the same bucket
    "incoming-old/2024-03/kent.csv",                               # a sibling prefix
    "incoming/2024-03/.kent.csv.part",                             # an upload in progress
    "incoming/_staging/2024-03/kent.csv",
    "incoming/2024-03/readme.pdf",
])
def test_objects_that_are_not_inputs(name: str) -> None:
    payload = {**GCS_PAYLOAD, "name": name}
    assert parse_notification(_message(payload, objectId=name),
                              notified_prefix="gs://forces-in/incoming") is None


def test_another_bucket_is_not_watched() -> None:
    payload = {**GCS_PAYLOAD, "bucket": "elsewhere"}
    assert parse_notification(_message(payload, bucketId="elsewhere"),
                              notified_prefix="gs://forces-in/incoming") is None


def test_notified_prefix_must_be_gcs() -> None:
    with pytest.raises(ValueError, match="gs://"):
        parse_notification(_message(), notified_prefix="/local/incoming")


def test_notification_builder_matches_gcs_fields() -> None:
    payload = notification("b", "incoming/2024-03/x.csv", 5, b"hello")
    assert payload["size"] == "5" and payload["md5Hash"] == "XUFAKrxLKna5cZ2REBfFkg=="
    assert payload["generation"] == "5"


@pytest.mark.parametrize(("key", "month"), [
    ("2024-03/kent.csv", "2024-03"),
    ("month=2024-03/kent.csv", "2024-03"),
    ("kent/2024-02/export.csv", "2024-02"),
    ("2024-03-city-of-london-street.csv", "2024-03"),
    ("2024-03/2024-02-late.csv", "2024-03"),      # the folder wins
    ("kent.csv", None),
    ("2024-13/kent.csv", None),
    ("2024-01-to-2024-02.csv", None),
])
def test_the_month_of_a_file(key: str, month: str | None) -> None:
    assert month_of(key) == month


def test_input_keys_and_generations() -> None:
    assert input_key("2024-03/kent.jsonl") and not input_key("2024-03/../kent.csv")
    assert is_newer("1002", "1001") and not is_newer("1001", "1002")
    assert not is_newer("1001", "1001") and is_newer("x", None)
    assert is_newer("100-5", "99-5")  # local generations: any change is new


def test_listing_a_local_folder(tmp_path: Path) -> None:
    (tmp_path / "2024-03").mkdir()
    settled = tmp_path / "2024-03" / "kent_crime_export_2024-03.csv"
    settled.write_bytes(b"a,b\n")
    old = time.time() - 60
    os.utime(settled, (old, old))
    (tmp_path / "2024-03" / "west-midlands-2024-03.jsonl").write_bytes(b"{}\n")
    (tmp_path / "2024-03" / ".upload.csv").write_bytes(b"partial")
    arrivals, unsettled = list_arrivals(str(tmp_path), settle_seconds=5)
    assert [a.key for a in arrivals] == ["2024-03/kent_crime_export_2024-03.csv"]
    assert unsettled == ["2024-03/west-midlands-2024-03.jsonl"]
    first = arrivals[0].generation
    settled.write_bytes(b"a,b\n1,2\n")
    os.utime(settled, (old + 1, old + 1))
    again, _ = list_arrivals(str(tmp_path), settle_seconds=5)
    assert again[0].generation != first and again[0].month == "2024-03"
    assert list_arrivals(str(tmp_path / "not-yet"))[0] == []


def test_ledger_entries_round_trip(tmp_path: Path) -> None:
    output = str(tmp_path / "out")
    assert read_entry(output, "2024-03/kent.csv") is None
    write_entry(output, {"key": "2024-03/kent.csv", "generation": "1", "month": "2024-03"})
    write_entry(output, {"key": "kent.csv", "generation": "2", "month": None})
    assert read_entry(output, "2024-03/kent.csv")["generation"] == "1"
    assert set(read_ledger(output)) == {"2024-03/kent.csv", "kent.csv"}
    assert set(read_ledger(output, ["kent.csv", "missing.csv"])) == {"kent.csv"}
    with pytest.raises(ValueError):
        write_entry(output, {"key": "../escape.csv"})
