"""End to end: the real pipeline's output served by ``python -m crimegeo.feeds serve`` in a
subprocess.

The demo month (four forces) is run through the pipeline; keys are made with the command line;
the server is the command line's. Endpoints whose files the pipeline does not write yet are
skipped, naming the missing file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from crimegeo.feeds.cli import app as cli_app
from tests.conftest import live, run_month_args

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DEMO_FORCES = ("city-of-london", "kent", "west-midlands", "merseyside")
MONTH = "2024-03"


def _run_pipeline(demo_month: dict, output: Path) -> None:

    run_month_args(["--month", MONTH, "--input", str(demo_month["root"] / "input"),
                              "--output", str(output), "--gazetteer", demo_month["gazetteer"]])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(demo_month: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The pipeline's output for the demo month, served by the CLI on a loopback port."""
    root = tmp_path_factory.mktemp("feeds-e2e")
    output = root / "output"
    _run_pipeline(demo_month, output)
    keys_path = root / "keys.json"
    keys = {}
    for force in (*DEMO_FORCES, "*"):
        result = CliRunner().invoke(cli_app, ["keys", "add", force, "--keys", str(keys_path),
                                              "--iterations", "100000"])
        assert result.exit_code == 0, result.output
        keys[force] = result.output.strip().splitlines()[-1]
    log_path = root / "server.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")])}
    for _attempt in range(3):
        port = _free_port()
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "crimegeo.feeds", "serve", "--output", str(output),
                 "--keys", str(keys_path), "--port", str(port), "--rate-limit", "100000"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        if process.poll() is None:
            break
    else:
        pytest.fail("the feeds server did not start: " + log_path.read_text()[-2000:])
    try:
        yield {"url": url, "output": output, "keys": keys, "log": log_path, "demo": demo_month}
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _client(served: dict, force: str) -> httpx.Client:
    return httpx.Client(base_url=served["url"], timeout=30,
                        headers={"Authorization": f"Bearer {served['keys'][force]}"})


def _month_dir(served: dict, force: str) -> Path:
    return live(served["output"], MONTH) / "feedback" / f"force={force}" / f"month={MONTH}"


@pytest.mark.parametrize("force", DEMO_FORCES)
def test_each_force_pulls_its_corrections(served: dict, force: str) -> None:
    with _client(served, force) as client:
        listing = client.get(f"/v1/forces/{force}/months")
        assert listing.status_code == 200
        assert [m["month"] for m in listing.json()["months"]] == [MONTH]
        reply = client.get(f"/v1/forces/{force}/months/{MONTH}/corrections.csv")
        assert reply.status_code == 200
        on_disk = (_month_dir(served, force) / "corrections.csv").read_bytes()
        assert reply.content == on_disk
        etag = reply.headers["etag"]
        assert etag == f'"{hashlib.sha256(on_disk).hexdigest()}"'
        assert client.get(f"/v1/forces/{force}/months/{MONTH}/corrections.csv",
                          headers={"If-None-Match": etag}).status_code == 304
        rows = list(csv.DictReader(io.StringIO(on_disk.decode())))
        document = client.get(f"/v1/forces/{force}/months/{MONTH}/corrections.json").json()
        assert document["count"] == len(rows) > 0
        assert [r["crime_id"] or None for r in rows] == [r["crime_id"]
                                                          for r in document["records"]]
        for other in DEMO_FORCES:
            if other != force:
                assert client.get(f"/v1/forces/{other}/months/{MONTH}/corrections.csv"
                                  ).status_code == 404


@pytest.mark.parametrize("name", ["corrections.geojson", "summary.json"])
def test_geojson_and_summary_are_served_as_the_pipeline_wrote_them(served: dict,
                                                                    name: str) -> None:
    missing = [f for f in DEMO_FORCES if not (_month_dir(served, f) / name).exists()]
    assert not missing, f"the pipeline wrote no {name} for {missing}"
    for force in DEMO_FORCES:
        with _client(served, force) as client:
            reply = client.get(f"/v1/forces/{force}/months/{MONTH}/{name}")
        assert reply.status_code == 200
        assert reply.content == (_month_dir(served, force) / name).read_bytes()
        body = reply.json()
        if name == "summary.json":
            assert body["force"] == force and body["month"] == MONTH
        else:
            rows = (_month_dir(served, force) / "corrections.csv").read_text().splitlines()
            assert len(body["features"]) == len(rows) - 1


def test_the_listing_matches_the_pipelines_index(served: dict) -> None:
    index_path = served["output"] / "feedback" / "force=kent" / "index.json"
    index = json.loads(index_path.read_text())
    with _client(served, "kent") as client:
        listing = client.get("/v1/forces/kent/months").json()
    served_files = {m["month"]: m["files"] for m in listing["months"]}
    index_files = {m["month"]: m["files"] for m in index["months"]}
    assert served_files == index_files


def test_pulls_during_a_real_rerun_are_whole(served: dict) -> None:
    """The pipeline reruns the month while kent pulls: every reply is one run's file."""
    path = _month_dir(served, "kent") / "corrections.csv"
    before = path.read_bytes()
    failures: list[str] = []
    bodies: set[bytes] = set()
    finished = threading.Event()

    def pull() -> None:
        with _client(served, "kent") as client:
            for _ in range(400):
                if finished.is_set():
                    return
                reply = client.get(f"/v1/forces/kent/months/{MONTH}/corrections.csv")
                if reply.status_code != 200:
                    failures.append(f"status {reply.status_code}")
                elif reply.headers["etag"] != (
                        f'"{hashlib.sha256(reply.content).hexdigest()}"'):
                    failures.append("etag is not the body's sha256")
                else:
                    bodies.add(reply.content)

    pullers = [threading.Thread(target=pull) for _ in range(3)]
    for thread in pullers:
        thread.start()
    try:
        _run_pipeline(served["demo"], served["output"])
    finally:
        finished.set()
        for thread in pullers:
            thread.join(60)
    after = path.read_bytes()
    assert not failures, failures[:5]
    assert bodies <= {before, after}


def test_server_logs_never_show_keys(served: dict) -> None:
    with _client(served, "kent") as client:
        client.get(f"/v1/forces/kent/months/{MONTH}/corrections.csv")
    line = f"GET /v1/forces/kent/months/{MONTH}/corrections.csv 200 force=kent"
    deadline = time.monotonic() + 5  # the line is written once the reply has been sent
    while line not in served["log"].read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = served["log"].read_text()
    assert line in log
    for key in served["keys"].values():
        assert key not in log and key.split(".")[2] not in log
    assert "Bearer" not in log
