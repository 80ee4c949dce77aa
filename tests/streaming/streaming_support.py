"""Helpers of the streaming tests: snapshots of an output tree, tables to compare, an emulator."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.conftest import live

MONTH = "2024-03"
CITY = "2024-03-city-of-london-street.csv"
KENT = "kent_crime_export_2024-03.csv"
MERSEYSIDE = "merseyside_2024-03_reexport.csv"
WEST_MIDLANDS = "west-midlands-2024-03.jsonl"


def tree_digest(output: Path) -> dict[str, str]:
    """sha256 of every file under `output`, by relative path (what "nothing changed" means)."""
    return {str(path.relative_to(output)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(output.rglob("*")) if path.is_file()}


def _forces(folder: Path) -> dict[str, pa.Table]:
    if not folder.exists():
        return {}
    return {child.name.removeprefix("force="): pq.read_table(child)
            for child in sorted(folder.iterdir())
            if child.is_dir() and any(child.glob("*.parquet"))}


def snapshot(output: Path, month: str = MONTH) -> dict:
    """What a force and an analyst would see now: rows, files, feedback and ledger."""
    restricted = _forces(live(output, month) / "restricted" / f"month={month}")
    public = _forces(live(output, month) / "public" / f"month={month}")
    rejected = _forces(live(output, month) / "rejected" / f"month={month}")
    feedback = {}
    base = output / "feedback"
    for folder in sorted(base.glob("force=*")) if base.exists() else []:
        force = folder.name.removeprefix("force=")
        index = json.loads((folder / "index.json").read_text())
        month_folder = live(output, month) / "feedback" / folder.name / f"month={month}"
        entry: dict = {"index_months": [m["month"] for m in index["months"]]}
        if month_folder.exists():
            with open(month_folder / "corrections.csv", newline="") as handle:
                rows = list(csv.DictReader(handle))
            summary = json.loads((month_folder / "summary.json").read_text())
            entry.update({"corrections": len(rows), "records": summary["records"],
                          "rejected": summary["rejected"],
                          "provisional": summary.get("provisional", False),
                          "source_files": sorted({r["source_file"] for r in rows}),
                          "max_row": max((int(r["source_row"]) for r in rows), default=0)})
        feedback[force] = entry
    ledger = {}
    for path in sorted((output / "_ledger" / "files").rglob("*.json")):
        value = json.loads(path.read_text())
        ledger[value["key"]] = value
    return {
        "restricted": {f: t.num_rows for f, t in restricted.items()},
        "public": {f: t.num_rows for f, t in public.items()},
        "rejected": {f: t.num_rows for f, t in rejected.items()},
        "files": {f: sorted(set(t["source_file"].to_pylist())) for f, t in restricted.items()},
        "max_row": {f: max(t["source_row"].to_pylist()) for f, t in restricted.items()},
        "feedback": feedback,
        "ledger": ledger,
    }


def sorted_table(output: Path, kind: str, month: str = MONTH) -> pa.Table:
    """A published kind's rows for a month, partition columns included, in a stable order
    (by source file and row; the public rows, which have no source, by all their columns)."""
    folder = live(output, month) / kind / f"month={month}"
    table = pq.read_table(folder)
    table = table.replace_schema_metadata(None)
    columns = [c for c in table.column_names if c != "force"]
    table = table.select(columns).append_column(
        "force", table["force"].cast(pa.string()))
    if "source_file" in table.column_names:
        keys = ["source_file", "source_row"]
    else:  # the public dataset carries no source: order by every plain column
        keys = [f.name for f in table.schema if not pa.types.is_nested(f.type)]
    return table.sort_by([(key, "ascending") for key in keys])


def feedback_bytes(output: Path, month: str = MONTH) -> dict[str, bytes]:
    """Each force's corrections.csv and corrections.geojson of a month."""
    root = live(output, month)
    return {str(path.relative_to(root)): path.read_bytes()
            for path in sorted((root / "feedback").glob(f"force=*/month={month}/*"))
            if path.suffix in (".csv", ".geojson")}


def summaries(output: Path, month: str = MONTH) -> dict[str, dict]:
    """Each force's summary.json of a month without its run id and provisional flag."""
    values = {}
    for path in sorted((live(output, month) / "feedback").glob(
            f"force=*/month={month}/summary.json")):
        value = json.loads(path.read_text())
        value.pop("run_id", None)
        value.pop("provisional", None)
        values[path.parent.parent.name] = value
    return values


def with_essex_rows(city_csv: bytes, count: int = 20) -> bytes:
    """The City of London police.uk file plus `count` rows reported by Essex Police."""
    lines = city_csv.decode("utf-8-sig").splitlines()
    extra = [line.replace("City of London Police,City of London Police",
                          "Essex Police,Essex Police") for line in lines[1:count + 1]]
    return ("\n".join(lines + extra) + "\n").encode()


def first_rows(data: bytes, rows: int) -> bytes:
    """A CSV's header and its first `rows` data rows (bytes kept as they are)."""
    lines = data.split(b"\n")
    return b"\n".join(lines[:rows + 1]) + b"\n"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gcs_emulator(bucket: str) -> Iterator[str]:
    """A `gcp-storage-emulator` on loopback with `bucket`, its URL in STORAGE_EMULATOR_HOST."""
    port = free_port()
    executable = Path(sys.executable).with_name("gcp-storage-emulator")
    process = subprocess.Popen(
        [str(executable), "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory",
         "--default-bucket", bucket], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    host = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the GCS emulator did not start within 30 s") from None
                time.sleep(0.1)
        saved = os.environ.get("STORAGE_EMULATOR_HOST")
        os.environ["STORAGE_EMULATOR_HOST"] = host
        import fsspec

        fsspec.filesystem("gs").invalidate_cache()
        try:
            yield host
        finally:
            if saved is None:
                os.environ.pop("STORAGE_EMULATOR_HOST", None)
            else:
                os.environ["STORAGE_EMULATOR_HOST"] = saved
    finally:
        process.kill()
        process.wait()


def read_lines(stream: io.TextIOBase | None) -> list[str]:
    """All lines of a finished subprocess stream."""
    return stream.read().splitlines() if stream is not None else []
