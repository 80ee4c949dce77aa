"""What a file arrival is, and where arrivals come from: GCS notifications or a listing.

A `FileArrival` names one version of one input object: its key (the path under the watched
input prefix, such as `2024-03/kent_crime_export_2024-03.csv`), the URL it is read from, the
month it belongs to and its generation. Arrivals come from Google Cloud Storage object
notifications (the JSON object resource GCS publishes to Pub/Sub, with the `eventType`
attribute), or from listing the input prefix through fsspec (the local watcher). Both give the
same arrivals, so the pipeline after them is one pipeline.

Pure functions: no Beam (a Pub/Sub message is read by duck typing), no writing, no reading of
file contents except where a filesystem offers no generation (then the sha256 stands in).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import fsspec

from crimegeo.standards.months import MONTH_FOLDER, months_in
from crimegeo.store.files import sha256_of, unsafe_link
from crimegeo.store.inputs import INPUT_SUFFIXES

#: The one GCS event that means "a new object, or a new generation of one, is complete".
FINALIZE = "OBJECT_FINALIZE"


@dataclass(frozen=True)
class FileArrival:
    """One generation of one input object, ready to be ingested.

    `key` is the object's path under the input prefix and identifies the file across
    generations; `generation` identifies this version (GCS's object generation, or for local
    files `<mtime_ns>-<size>`); `md5` is GCS's base64 md5Hash when known.
    """

    key: str
    url: str
    name: str
    month: str | None
    generation: str
    md5: str | None = None
    size: int | None = None
    #: Why the file must not be read (a symbolic link that loops or leads outside the
    #: input), recorded in the ledger as skipped; None for an ordinary file.
    refused: str | None = None


def month_of(key: str) -> str | None:
    """The month a file belongs to: its deepest `YYYY-MM/` or `month=YYYY-MM/` folder, else
    the one month its file name carries; None when neither says.
    """
    *folders, name = key.split("/")
    for folder in reversed(folders):
        match = MONTH_FOLDER.fullmatch(folder)
        if match:
            return match.group(1)
    months = months_in(name)
    return months.pop() if len(months) == 1 else None


def input_key(key: str) -> bool:
    """Whether an object key under the input prefix is an input file to ingest.

    Hidden and underscore names (temporary uploads, `_SUCCESS` markers) anywhere in the path
    and files of other types are not.
    """
    parts = key.split("/")
    if any(not part or part in (".", "..") or part.startswith((".", "_")) for part in parts):
        return False
    return parts[-1].lower().endswith(INPUT_SUFFIXES)


def is_newer(generation: str, than: str | None) -> bool:
    """Whether `generation` supersedes `than`: numerically for GCS generations, else any change.

    A notification delivered late for an older GCS generation is therefore not newer.
    """
    if than is None:
        return True
    if generation.isdigit() and than.isdigit():
        return int(generation) > int(than)
    return generation != than


def _split_gs(prefix: str) -> tuple[str, str]:
    if not prefix.startswith("gs://"):
        raise ValueError(f"notifications describe gs:// objects; {prefix!r} is not a gs:// "
                         "prefix (give --notified_prefix gs://BUCKET/PREFIX)")
    bucket, _, path = prefix[len("gs://"):].partition("/")
    path = path.strip("/")
    return bucket, f"{path}/" if path else ""


def _payload(message: Any) -> tuple[dict, Mapping[str, str]]:
    """The JSON object resource and the attributes of a notification, however it arrives."""
    attributes: Mapping[str, str] = {}
    data = message
    if hasattr(message, "data") and hasattr(message, "attributes"):  # a PubsubMessage
        data, attributes = message.data, message.attributes or {}
    if isinstance(data, bytes | bytearray):
        data = data.decode("utf-8")
    if isinstance(data, str):
        data = json.loads(data) if data.strip() else {}
    if not isinstance(data, dict):
        raise ValueError(f"a notification payload must be a JSON object, got {type(data)}")
    return data, attributes


def parse_notification(message: Any, *, notified_prefix: str,
                       read_prefix: str | None = None) -> FileArrival | None:
    """The arrival a GCS notification announces, or None when it announces nothing to ingest.

    `message` is a Pub/Sub message (with `data` and `attributes`), its JSON bytes, or the
    decoded object resource (`bucket`, `name`, `generation`, `size`, `md5Hash`).
    `notified_prefix` is the `gs://BUCKET/PREFIX` being watched; objects outside it (such as
    outputs written to the same bucket), events other than `OBJECT_FINALIZE`, and names that
    are not input files give None. The file is read from `read_prefix` + key (default:
    `notified_prefix` itself; tests and mirrors read the same keys elsewhere).
    """
    data, attributes = _payload(message)
    event = attributes.get("eventType")
    if event is not None and event != FINALIZE:
        return None
    bucket, prefix = _split_gs(notified_prefix)
    name = str(data.get("name") or attributes.get("objectId") or "")
    if str(data.get("bucket") or attributes.get("bucketId") or "") != bucket:
        return None
    if not name.startswith(prefix) or not input_key(name[len(prefix):]):
        return None
    generation = str(data.get("generation") or attributes.get("objectGeneration") or "")
    if not generation:
        raise ValueError(f"notification for {name} carries no generation")
    key = name[len(prefix):]
    base = (read_prefix or notified_prefix).rstrip("/")
    size = data.get("size")
    return FileArrival(key=key, url=f"{base}/{key}", name=key.rsplit("/", 1)[-1],
                       month=month_of(key), generation=generation,
                       md5=data.get("md5Hash"), size=int(size) if size is not None else None)


def notification(bucket: str, name: str, generation: str | int, data: bytes | None = None,
                 *, size: int | None = None, md5_hash: str | None = None) -> dict:
    """A GCS `OBJECT_FINALIZE` payload (the fields we read), as GCS publishes it.

    For tests and for replaying objects into a subscription: `size` and `md5Hash` are taken
    from `data` when given.
    """
    import base64
    import hashlib

    if data is not None:
        size = len(data)
        md5_hash = base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324
    payload = {"kind": "storage#object", "bucket": bucket, "name": name,
               "generation": str(generation), "metageneration": "1",
               "contentType": "application/octet-stream"}
    if size is not None:
        payload["size"] = str(size)
    if md5_hash is not None:
        payload["md5Hash"] = md5_hash
    return payload


def object_generation(fs: fsspec.AbstractFileSystem, path: str,
                      info: Mapping[str, Any]) -> tuple[str, str | None]:
    """A version id and (when the store has one) an md5 for an object, from its listing.

    GCS: the object generation and md5Hash; S3: the version id or ETag; local files: the
    modification time in nanoseconds and the size; any other store: the sha256 of the bytes.
    """
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if info.get("generation"):
        return str(info["generation"]), info.get("md5Hash")
    if protocol in ("file", "local"):
        stat = os.stat(path)
        return f"{stat.st_mtime_ns}-{stat.st_size}", None
    for field in ("VersionId", "ETag", "etag"):
        if info.get(field):
            return str(info[field]).strip('"'), None
    return sha256_of(fs, path), None


def stored_version(url: str) -> tuple[str, str | None] | None:
    """The generation and md5 a store with object generations (GCS) holds at `url` now.

    None for stores without generations (local files), and when the object is gone.
    """
    fs, path = fsspec.core.url_to_fs(url)
    fs.invalidate_cache(path)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        return None
    if info.get("generation"):
        return str(info["generation"]), info.get("md5Hash")
    return None


def list_arrivals(input_url: str, *, settle_seconds: float = 0.0
                  ) -> tuple[list[FileArrival], list[str]]:
    """Every input file under `input_url` as an arrival, and the keys still being written.

    A local file modified less than `settle_seconds` ago may still be being copied in, so it
    is returned as unsettled instead (object stores show an object only once it is complete).
    A prefix that does not exist (yet) holds no files.
    """
    fs, root = fsspec.core.url_to_fs(input_url)
    root = root.rstrip("/")
    fs.invalidate_cache()
    if not fs.exists(root):  # an empty bucket prefix does not exist until a file lands
        return [], []
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    local = protocol in ("file", "local")
    base = input_url.rstrip("/")
    arrivals, unsettled = [], []
    now = time.time()
    for path, info in sorted(fs.find(root, detail=True).items()):
        key = path[len(root):].lstrip("/")
        if info.get("type") == "directory" or not input_key(key):
            continue
        refused = unsafe_link(fs, path, root)
        if refused:
            # Listed, never read: the link's own time stands for its generation.
            arrivals.append(FileArrival(key=key, url=f"{base}/{key}",
                                        name=key.rsplit("/", 1)[-1], month=month_of(key),
                                        generation=f"link-{os.lstat(path).st_mtime_ns}",
                                        refused=refused))
            continue
        if local and settle_seconds and now - os.stat(path).st_mtime < settle_seconds:
            unsettled.append(key)
            continue
        generation, md5 = object_generation(fs, path, info)
        arrivals.append(FileArrival(key=key, url=f"{base}/{key}", name=key.rsplit("/", 1)[-1],
                                    month=month_of(key), generation=generation, md5=md5,
                                    size=int(info.get("size") or 0)))
    return arrivals, unsettled
