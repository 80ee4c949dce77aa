"""A month read from and written to Google Cloud Storage, for real, against an emulator.

The tests start `gcp-storage-emulator` on loopback. Inputs are uploaded through Beam's own GCS
file system, the run reads and writes through gcsfs, and the outputs and feedback are read back
through both.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from crimegeo.store.current import live_files, live_layout
from tests.conftest import run_month_args

pytestmark = pytest.mark.slow
BUCKET = "crimegeo-test"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def emulator():
    port = _free_port()
    host = f"http://127.0.0.1:{port}"
    executable = Path(sys.executable).with_name("gcp-storage-emulator")
    process = subprocess.Popen(
        [str(executable), "start", "--host", "127.0.0.1", "--port", str(port),
         "--in-memory", "--default-bucket", BUCKET],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("the GCS emulator did not start within 30 s")
    saved = {k: os.environ.get(k) for k in ("STORAGE_EMULATOR_HOST",)}
    os.environ["STORAGE_EMULATOR_HOST"] = host
    # Beam looks for Google credentials with retries before falling back to an anonymous
    # client; against an emulator there are none, so start it anonymous straight away.
    from apache_beam.internal.gcp import auth

    auth._Credentials._credentials_init = True
    auth._Credentials._credentials = None
    import fsspec

    fsspec.filesystem("gs").invalidate_cache()
    yield host
    process.kill()
    process.wait()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _beam_upload(local: Path, url: str) -> None:
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.create(url) as handle:
        handle.write(local.read_bytes())


def _beam_read(url: str) -> bytes:
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(url) as handle:
        return handle.read()


def test_a_month_in_a_bucket(emulator: str, demo_month: dict) -> None:
    import fsspec
    from apache_beam.io.filesystems import FileSystems


    for name in demo_month["files"]:
        _beam_upload(Path(demo_month["input"]) / name, f"gs://{BUCKET}/input/2024-03/{name}")
    gcs = fsspec.filesystem("gs")
    gcs.put(demo_month["gazetteer"], f"{BUCKET}/gazetteer", recursive=True)

    output = f"gs://{BUCKET}/output"
    result = run_month_args([
        "--month", "2024-03", "--input", f"gs://{BUCKET}/input", "--output", output,
        "--gazetteer", f"gs://{BUCKET}/gazetteer"])
    manifest = result.manifest
    assert set(manifest["files"]) == set(demo_month["files"])
    for stats in manifest["files"].values():
        assert stats["rows_in"] == stats["rows_written"] + stats["rows_rejected"]
        assert stats["url"].startswith(f"gs://{BUCKET}/input/2024-03/")

    # Through Beam's GCS file system: list and read the published Parquet and feedback.
    generation = live_layout(output, "2024-03")  # the month's pointer names it
    assert generation.root.startswith(f"{output}/generations/")
    parts = [m.path for m in FileSystems.match(
        [f"{generation.month('restricted', '2024-03')}/*/*.parquet"])[0].metadata_list]
    assert len(parts) == 4
    rows = sum(pq.read_table(io.BytesIO(_beam_read(p))).num_rows for p in parts)
    assert rows == manifest["totals"]["rows_written"]
    feedback = _beam_read(generation.feedback_file("kent", "2024-03", "corrections.csv"))
    assert feedback.startswith(b"crime_id,month,source_file")
    summary = json.loads(_beam_read(generation.feedback_file("kent", "2024-03", "summary.json")))
    assert summary["force"] == "kent" and summary["records"] > 0
    index = json.loads(_beam_read(f"{output}/feedback/force=kent/index.json"))
    assert [m["month"] for m in index["months"]] == ["2024-03"]
    # Through gcsfs: the manifest, and nothing left in staging.
    gcs.invalidate_cache()
    stored = json.loads(gcs.cat_file(generation.manifest("2024-03")))
    assert stored["run_id"] == manifest["run_id"]
    assert not gcs.exists(f"{BUCKET}/output/_staging/{manifest['run_id']}")
    # Credentials never reach the manifest.
    text = json.dumps(stored)
    assert "token" not in text.lower() and "secret" not in text.lower()

    # A rerun replaces the month in the bucket too.
    again = run_month_args([
        "--month", "2024-03", "--input", f"gs://{BUCKET}/input", "--output", output,
        "--gazetteer", f"gs://{BUCKET}/gazetteer"])
    gcs.invalidate_cache()
    parts_again = live_files(output, "restricted", "2024-03")
    assert len(parts_again) == 4 and again.manifest["run_id"] in parts_again[0]
    assert again.manifest["totals"] == manifest["totals"]
