"""`crimegeo watch` end to end, as a real process, on a local folder and on a GCS emulator.

Three force files land over time; the watcher is stopped with Ctrl-C (SIGINT) half-way and
started again; the third file lands while it is down. Every file must be ingested exactly
once: one "ingested" line per file across both runs, one generation in each ledger history,
and each force's parts and feedback published.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import fsspec
import pytest
from streaming_support import CITY, KENT, MONTH, WEST_MIDLANDS, gcs_emulator

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
FILES = [(CITY, "city-of-london"), (KENT, "kent"), (WEST_MIDLANDS, "west-midlands")]


def _start(input_url: str, output_url: str, gazetteer: str, log: Path) -> subprocess.Popen:
    # PYTHONFAULTHANDLER: a watcher that will not stop is sent SIGABRT, which dumps every
    # thread's stack into the log, so a hang says where it hung.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
           "PYTHONFAULTHANDLER": "1"}
    handle = open(log, "a")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "crimegeo.flows.watch", "--input", input_url, "--output", output_url,
         "--gazetteer", gazetteer, "--interval", "0.5", "--settle", "0.3"],
        cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen, log: Path) -> None:
    process.send_signal(signal.SIGINT)
    try:
        status = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        process.wait(timeout=30)
        pytest.fail(f"the watcher did not stop within 60 s of Ctrl-C; it said:\n{log.read_text()}")
    assert status == 0, log.read_text()  # a clean stop between batches


def _wait_for(condition: Callable[[], bool], what: str, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; watcher said:\n{log.read_text()}")
        time.sleep(0.2)


def _ledger(output_url: str) -> dict[str, dict]:
    fs, root = fsspec.core.url_to_fs(output_url)
    fs.invalidate_cache()
    base = f"{root.rstrip('/')}/_ledger/files"
    if not fs.exists(base):
        return {}
    entries = [json.loads(fs.cat_file(p)) for p in fs.find(base) if p.endswith(".json")]
    return {entry["key"]: entry for entry in entries}


def _watch_three_files(input_url: str, output_url: str, demo_month: dict, log: Path,
                       drop: Callable[[str, bytes], None]) -> None:
    source = Path(demo_month["input"])
    keys = [f"{MONTH}/{name}" for name, _ in FILES]

    def ingested(*wanted: str) -> Callable[[], bool]:
        return lambda: all(_ledger(output_url).get(k, {}).get("status") == "processed"
                           for k in wanted)

    watcher = _start(input_url, output_url, demo_month["gazetteer"], log)
    try:
        _wait_for(lambda: "watching" in log.read_text(), "the watcher to start", log)
        drop(f"{MONTH}/{FILES[0][0]}", (source / FILES[0][0]).read_bytes())
        _wait_for(ingested(keys[0]), "the first file", log)
        time.sleep(1.0)  # a few idle polls: nothing is ingested twice
        drop(f"{MONTH}/{FILES[1][0]}", (source / FILES[1][0]).read_bytes())
        _wait_for(ingested(keys[1]), "the second file", log)
    finally:
        _stop(watcher, log)
    assert "stopped:" in log.read_text()
    # The third file lands while no watcher runs; the restarted one takes it, and only it.
    drop(f"{MONTH}/{FILES[2][0]}", (source / FILES[2][0]).read_bytes())
    watcher = _start(input_url, output_url, demo_month["gazetteer"], log)
    try:
        _wait_for(ingested(keys[2]), "the third file", log)
        time.sleep(1.5)  # more idle polls
    finally:
        _stop(watcher, log)

    text = log.read_text()
    lines = [line for line in text.splitlines() if line.startswith("ingested ")]
    assert sorted(line.split()[1] for line in lines) == sorted(keys), text
    ledger = _ledger(output_url)
    assert set(ledger) == set(keys)
    for key in keys:
        assert len(ledger[key]["history"]) == 1, ledger[key]
        assert ledger[key]["rows_in"] == ledger[key]["rows_written"] + ledger[key]["rows_rejected"]
    assert "3 file(s) in the ledger" not in text.split("stopped:")[0]
    assert "2 file(s) in the ledger" in text  # the restart found the first two
    fs, root = fsspec.core.url_to_fs(output_url)
    fs.invalidate_cache()
    for _, force in FILES:
        assert fs.glob(f"{root}/restricted/month={MONTH}/force={force}/*.parquet")
        summary = json.loads(fs.cat_file(
            f"{root}/feedback/force={force}/month={MONTH}/summary.json"))
        assert summary["provisional"] and summary["records"] > 0
        index = json.loads(fs.cat_file(f"{root}/feedback/force={force}/index.json"))
        assert [m["month"] for m in index["months"]] == [MONTH]


def test_watch_a_local_folder(demo_month: dict, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()

    def drop(key: str, data: bytes) -> None:
        target = incoming / key
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.part")
        temporary.write_bytes(data)
        os.replace(temporary, target)

    _watch_three_files(str(incoming), str(tmp_path / "output"), demo_month,
                       tmp_path / "watch.log", drop)


def test_watch_a_bucket_on_the_gcs_emulator(demo_month: dict, tmp_path: Path) -> None:
    bucket = "crimegeo-watch"
    with gcs_emulator(bucket):
        gcs = fsspec.filesystem("gs")

        def drop(key: str, data: bytes) -> None:
            gcs.pipe_file(f"{bucket}/incoming/{key}", data)

        _watch_three_files(f"gs://{bucket}/incoming", f"gs://{bucket}/output", demo_month,
                           tmp_path / "watch.log", drop)
        gcs.invalidate_cache()
        entry = json.loads(gcs.cat_file(f"{bucket}/output/_ledger/files/{MONTH}/{KENT}.json"))
        assert entry["generation"].isdigit() and entry["md5"]  # GCS's own generation and md5
