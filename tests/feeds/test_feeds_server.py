"""The force feeds served by the real server on loopback: access, paths, ETags, limits, logs."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from feeds_support import (
    CANARY,
    FEED_FORCES,
    MONTHS,
    NO_FEED_FORCE,
    NO_INDEX_FORCE,
    make_keys,
    month_files,
    rerun_month,
    running_server,
    write_index,
    write_month,
)
from typer.testing import CliRunner

from crimegeo.feeds.app import create_app
from crimegeo.feeds.cli import app as cli_app
from crimegeo.standards.registry import load_registry

FILES = ("corrections.csv", "corrections.geojson", "corrections.json", "summary.json")
ALL_FORCES = (*FEED_FORCES, NO_FEED_FORCE)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def feed_paths(force: str, month: str = "2024-03") -> list[str]:
    """Every feed endpoint of one force (and one month)."""
    base = f"/v1/forces/{force}/months"
    return [base, f"{base}/{month}", *(f"{base}/{month}/{name}" for name in FILES)]


def comparable(response: httpx.Response) -> tuple:
    """What a client can observe of a response, less the Date header."""
    headers = sorted((k, v) for k, v in response.headers.items() if k.lower() != "date")
    return response.status_code, response.content, headers


def raw_get(base_url: str, target: bytes, key: str | None = None) -> tuple[int, bytes]:
    """Send ``GET target`` exactly as given (no URL normalising); ``(status, whole reply)``."""
    parts = urlsplit(base_url)
    request = b"GET " + target + b" HTTP/1.1\r\nHost: " + parts.netloc.encode() + b"\r\n"
    if key:
        request += b"Authorization: Bearer " + key.encode() + b"\r\n"
    request += b"Connection: close\r\n\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    match = re.match(rb"HTTP/1\.1 (\d{3})", reply)
    return (int(match.group(1)) if match else 0), reply


# -- the description -------------------------------------------------------------------------


def test_openapi_describes_the_feed_without_a_key(feed_server: dict) -> None:
    response = httpx.get(feed_server["url"] + "/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for name in FILES:
        operation = paths[f"/v1/forces/{{force}}/months/{{month}}/{name}"]["get"]
        assert {p["name"] for p in operation["parameters"]} == {"force", "month"}
        assert {"200", "304", "401", "404", "429"} <= set(operation["responses"])
        assert "422" not in operation["responses"]
        assert operation["security"] == [{"HTTPBearer": []}]
    assert "/v1/forces/{force}/months" in paths
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


# -- each force its own feed, and nothing else ------------------------------------------------


@pytest.mark.parametrize("force", FEED_FORCES)
def test_a_force_reads_its_own_feed(force: str, client_for: Callable, feed_server: dict) -> None:
    client = client_for(force)
    listing = client.get(f"/v1/forces/{force}/months")
    assert listing.status_code == 200
    assert listing.headers["etag"] == f'"{sha(listing.content)}"'
    body = listing.json()
    assert body["force"] == force
    assert [m["month"] for m in body["months"]] == list(MONTHS)
    for entry in body["months"]:
        folder = feed_server["output"] / "feedback" / f"force={force}" / f"month={entry['month']}"
        for name in ("corrections.csv", "corrections.geojson", "summary.json"):
            data = (folder / name).read_bytes()
            assert entry["files"][name] == {"sha256": sha(data), "bytes": len(data)}
            served = client.get(entry["links"][name])
            assert served.status_code == 200
            assert served.content == data
            assert served.headers["etag"] == f'"{sha(data)}"'
        assert entry["run_id"] == f"{entry['month']}-run-{force}"
    assert client.get("/v1/forces").json() == {"forces": [force]}


def test_listing_falls_back_to_folders_without_an_index(client_for: Callable,
                                                        feed_server: dict) -> None:
    force = NO_INDEX_FORCE
    assert not (feed_server["output"] / "feedback" / f"force={force}" / "index.json").exists()
    body = client_for(force).get(f"/v1/forces/{force}/months").json()
    assert [m["month"] for m in body["months"]] == list(MONTHS)
    csv_path = (feed_server["output"] / "feedback" / f"force={force}" / "month=2024-03"
                / "corrections.csv")
    assert body["months"][1]["files"]["corrections.csv"]["sha256"] == sha(csv_path.read_bytes())
    assert body["months"][1]["run_id"] == f"2024-03-run-{force}"


def test_no_force_reads_another_forces_feed(client_for: Callable) -> None:
    """Every force against every other force's feed: 404, exactly like a feed that is absent."""
    for caller in ALL_FORCES:
        client = client_for(caller)
        absent = [client.get(path) for path in feed_paths(caller, "1999-01")[1:]]
        reference = comparable(absent[0])
        assert reference[0] == 404
        assert all(comparable(r) == reference for r in absent)
        for target in ALL_FORCES:
            if target == caller:
                continue
            for path in feed_paths(target):
                response = client.get(path)
                assert comparable(response) == reference, (caller, path)
                assert "etag" not in response.headers


def test_a_force_without_feedback_has_an_empty_listing(client_for: Callable) -> None:
    client = client_for(NO_FEED_FORCE)
    assert client.get(f"/v1/forces/{NO_FEED_FORCE}/months").json() == {
        "force": NO_FEED_FORCE, "months": []}
    assert client.get(f"/v1/forces/{NO_FEED_FORCE}/months/2024-03/corrections.csv"
                      ).status_code == 404


def test_an_operator_reads_every_force(client_for: Callable, feed_server: dict) -> None:
    client = client_for("*")
    assert client.get("/v1/forces").json() == {"forces": sorted(FEED_FORCES)}
    for force in FEED_FORCES:
        for path in feed_paths(force):
            assert client.get(path).status_code == 200, path
    assert client.get("/v1/forces/not-a-force/months").status_code == 404


# -- keys ---------------------------------------------------------------------------------------


def test_missing_malformed_and_unknown_keys_get_401(feed_server: dict) -> None:
    url = feed_server["url"] + "/v1/forces/kent/months/2024-03/corrections.csv"
    kent = feed_server["keys"]["kent"]
    key_id = kent.split(".")[1]
    wrong_secret = f"cgf.{key_id}.{'A' * 43}"
    headers = [{}, {"Authorization": "Basic a2VudDprZW50"}, {"Authorization": "Bearer"},
               {"Authorization": "Bearer not-a-key"}, {"Authorization": f"Bearer {wrong_secret}"},
               {"Authorization": f"Bearer cgf.000000000000.{'B' * 43}"},
               {"Authorization": f"Bearer {kent}x"}, {"Authorization": f"Token {kent}"}]
    replies = [httpx.get(url, headers=h) for h in headers]
    for reply in replies:
        assert reply.status_code == 401
        assert reply.headers["www-authenticate"] == "Bearer"
        assert reply.json() == replies[0].json()
    assert httpx.get(url, headers={"Authorization": f"Bearer {kent}"}).status_code == 200


def test_a_revoked_key_gets_401_at_once(tmp_path: Path, feed_output: Path) -> None:
    keys_path = tmp_path / "keys.json"
    keys = make_keys(keys_path, ("kent", "merseyside"))
    app = create_app(str(feed_output), keys_path)
    runner = CliRunner()
    with running_server(app) as url:
        def status(force: str) -> int:
            return httpx.get(f"{url}/v1/forces/{force}/months",
                             headers={"Authorization": f"Bearer {keys[force]}"}).status_code

        assert status("kent") == 200
        result = runner.invoke(cli_app, ["keys", "revoke", "kent", "--keys", str(keys_path)])
        assert result.exit_code == 0, result.output
        assert status("kent") == 401
        assert status("merseyside") == 200
        # a new key for the same force works; the old stays revoked
        result = runner.invoke(cli_app, ["keys", "add", "kent", "--keys", str(keys_path)])
        keys["kent-old"], keys["kent"] = keys["kent"], result.output.strip().splitlines()[-1]
        assert status("kent") == 200
        assert status("kent-old") == 401


# -- paths --------------------------------------------------------------------------------------


BAD_FORCES = ["KENT", "Kent", "kent%20", "%20kent", "force=kent", "kent.", "..", "%2e%2e", "*",
              "kent%00", "ken", "not-a-force", "-", "k" * 65, "kent%2Fmonths"]
BAD_MONTHS = ["2024-13", "2024-00", "2024-3", "202403", "2024-03x", "x2024-03", "2024_03",
              "2024-03%00", "..", "%2e%2e", "month=2024-03", "2024-03%2F..", "99999-01",
              "２０２４-03", "2024-0３", " 2024-03", "2024-03 "]


def test_malformed_forces_and_months_get_404(feed_server: dict) -> None:
    key = feed_server["keys"]["*"]
    targets = [f"/v1/forces/{f}/months" for f in BAD_FORCES]
    targets += [f"/v1/forces/{f}/months/2024-03/corrections.csv" for f in BAD_FORCES]
    targets += [f"/v1/forces/kent/months/{m}/{name}" for m in BAD_MONTHS for name in FILES]
    targets += [f"/v1/forces/kent/months/{m}" for m in BAD_MONTHS]
    for target in targets:
        status, reply = raw_get(feed_server["url"], target.encode(), key)
        assert status in (400, 404), (target, reply[:200])
        assert CANARY.encode() not in reply


TRAVERSALS = [
    b"/v1/forces/../secret.txt",
    b"/v1/forces/kent/../../secret.txt",
    b"/v1/forces/%2e%2e/months",
    b"/v1/forces/..%2f..%2fsecret.txt/months",
    b"/v1/forces/kent%2f..%2f..%2f..%2fsecret.txt/months/2024-03/corrections.csv",
    b"/v1/forces/kent/months/..%2f..%2f..%2fsecret.txt/corrections.csv",
    b"/v1/forces/kent/months/2024-03/..%2fsecret.txt",
    b"/v1/forces/kent/months/2024-03/..%2f..%2f..%2f..%2fsecret.txt",
    b"/v1/forces/kent/months/2024-03/secret.txt",
    b"/v1/forces/kent/months/2024-03/%2e%2e/%2e%2e/index.json",
    b"/v1/forces/kent/months/2024-03/%252e%252e%252fsecret.txt",
    b"/v1/forces/kent/months/..%5c..%5csecret.txt/summary.json",
    b"/v1/forces/kent/months/2024-03/corrections.csv/../../../../secret.txt",
    b"/v1/forces/kent/months/2024-03/corrections.csv%00.txt",
    b"/v1/forces/kent/index.json",
    b"/v1/forces/kent/secret.txt",
    b"/v1/forces/%2fetc%2fpasswd/months",
    b"/v1/forces/kent/months/%2fetc%2fpasswd/corrections.csv",
    b"//v1/forces/kent/months/2024-03/secret.txt",
    b"/v1/forces/kent/months/2024-03/corrections.csv;../../secret.txt",
]


class SpyFS:
    """Wraps an fsspec filesystem and records every path the store asks for."""

    def __init__(self, fs: object) -> None:
        self.fs = fs
        self.paths: list[str] = []

    def __getattr__(self, name: str) -> object:
        attribute = getattr(self.fs, name)
        if not callable(attribute):
            return attribute

        def recorded(path: str, *args: object, **kwargs: object) -> object:
            self.paths.append(path)
            return attribute(path, *args, **kwargs)

        return recorded


def test_traversal_attempts_never_leave_the_feedback_tree(feed_server: dict) -> None:
    store = feed_server["app"].state.store
    spy = SpyFS(store.fs)
    store.fs, original = spy, store.fs
    try:
        for key in (feed_server["keys"]["kent"], feed_server["keys"]["*"]):
            for target in TRAVERSALS:
                status, reply = raw_get(feed_server["url"], target, key)
                assert status in (400, 404), (target, reply[:300])
                assert CANARY.encode() not in reply
            # a query string is not a path: the file asked for, and only it
            status, reply = raw_get(feed_server["url"], b"/v1/forces/kent/months/2024-03/"
                                    b"corrections.csv?path=../../secret.txt&file=../index.json",
                                    key)
            csv_path = (feed_server["output"] / "feedback" / "force=kent" / "month=2024-03"
                        / "corrections.csv")
            assert status == 200 and reply.endswith(b"\r\n\r\n" + csv_path.read_bytes())
    finally:
        store.fs = original
    root = re.escape(store.root)
    codes = "|".join(re.escape(code) for code in load_registry().codes)
    allowed = re.compile(
        rf"^{root}/(runs/\d{{4}}-(0[1-9]|1[0-2])/current\.json|"  # the month's pointer
        rf"(generations/[\w.-]+/)?feedback(/force=({codes})(/index\.json|/month=\d{{4}}-"
        rf"(0[1-9]|1[0-2])(/(corrections\.csv|corrections\.geojson|summary\.json))?)?)?)$")
    assert spy.paths, "the well-formed attempts should have reached the store"
    assert all(allowed.match(path) for path in spy.paths), spy.paths


def test_oversized_paths_and_headers_are_refused(feed_server: dict) -> None:
    key = feed_server["keys"]["kent"]
    url = feed_server["url"]
    long_force = "k" * 600
    status, _ = raw_get(url, f"/v1/forces/{long_force}/months".encode(), key)
    assert status == 414
    status, _ = raw_get(url, b"/v1/forces/kent/months?" + b"a" * 600, key)
    assert status == 414
    status, _ = raw_get(url, b"/v1/forces/kent/months/2024-03/" + b"../" * 3000, key)
    assert status in (400, 404, 414)
    for size in (70_000, 1_000_000):  # beyond the HTTP parser's limit: refused or cut off
        try:
            status, reply = raw_get(url, b"/v1/forces/kent/" + b"a" * size, key)
        except OSError:
            status, reply = 0, b""
        assert status != 200 and CANARY.encode() not in reply
    try:
        huge = httpx.get(url + "/v1/forces/kent/months",
                         headers={"Authorization": "Bearer " + "x" * 200_000})
        assert huge.status_code in (400, 401, 431)
    except httpx.HTTPError:
        pass  # the server may simply close the connection
    assert httpx.get(url + "/v1/forces/kent/months",
                     headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_only_get_is_allowed(client_for: Callable) -> None:
    client = client_for("kent")
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = client.request(method, "/v1/forces/kent/months/2024-03/corrections.csv")
        assert response.status_code == 405


# -- content and ETags ------------------------------------------------------------------------


def test_if_none_match_returns_304_for_the_current_etag(client_for: Callable) -> None:
    client = client_for("kent")
    for path in feed_paths("kent"):
        first = client.get(path)
        etag = first.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"')
        for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            again = client.get(path, headers={"If-None-Match": header})
            assert again.status_code == 304, (path, header)
            assert again.content == b""
            assert again.headers["etag"] == etag
        changed = client.get(path, headers={"If-None-Match": '"stale"'})
        assert changed.status_code == 200 and changed.content == first.content


def test_content_types_and_corrections_json(client_for: Callable, feed_server: dict) -> None:
    client = client_for("kent")
    base = "/v1/forces/kent/months/2024-03"
    csv_reply = client.get(f"{base}/corrections.csv")
    assert csv_reply.headers["content-type"].startswith("text/csv")
    assert client.get(f"{base}/corrections.geojson").headers["content-type"] == (
        "application/geo+json")
    summary = client.get(f"{base}/summary.json")
    assert summary.json()["run_id"] == "2024-03-run-kent"
    reply = client.get(f"{base}/corrections.json")
    assert reply.headers["etag"] == f'"{sha(csv_reply.content)}-json"'
    document = reply.json()
    assert document["source_sha256"] == sha(csv_reply.content)
    expected = month_files("kent", "2024-03", "2024-03-run-kent", 6)["corrections.csv"]
    assert csv_reply.content == expected
    assert document["count"] == 6 == len(document["records"])
    first, second = document["records"][:2]
    assert first["supplied_location"] == "'=HYPERLINK(\"x\")"  # kept as in the CSV
    assert first["source_row"] == 1 and isinstance(first["lon"], float)
    assert first["geocode_score"] is None and second["geocode_score"] == 1.0
    assert second["reasons"] == ["MISSING_COORDINATES", "GEOCODED_STREET"]
    assert reply.headers["cache-control"] == "private, no-cache"


# -- rate limits and logs -------------------------------------------------------------------


def test_rate_limit_per_key(tmp_path: Path, feed_output: Path) -> None:
    keys_path = tmp_path / "keys.json"
    keys = make_keys(keys_path, ("kent", "merseyside"))
    app = create_app(str(feed_output), keys_path, rate_limit=3, burst=3,
                     auth_failures_per_minute=3)
    with running_server(app) as url:
        def get(force: str, key: str) -> httpx.Response:
            return httpx.get(f"{url}/v1/forces/{force}/months",
                             headers={"Authorization": f"Bearer {key}"})

        assert [get("kent", keys["kent"]).status_code for _ in range(3)] == [200] * 3
        limited = get("kent", keys["kent"])
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 20
        assert get("merseyside", keys["merseyside"]).status_code == 200  # its own bucket
        # failed authentications are limited per address
        statuses = [get("kent", f"cgf.{keys['kent'].split('.')[1]}.{'C' * 43}").status_code
                    for _ in range(4)]
        assert statuses == [401, 401, 401, 429]


def test_failed_keys_from_one_address_cannot_lock_out_other_keys(tmp_path: Path,
                                                                  feed_output: Path) -> None:
    """Issue 17, finding 10: behind a TLS proxy every client has the proxy's address, so 31
    bad keys from anyone used to answer 429 to every valid key not yet checked."""
    keys_path = tmp_path / "keys.json"
    keys = make_keys(keys_path, ("kent", "merseyside"))
    app = create_app(str(feed_output), keys_path, rate_limit=1000,
                     auth_failures_per_minute=3)
    with running_server(app) as url:
        def get(key: str, force: str = "merseyside") -> int:
            return httpx.get(f"{url}/v1/forces/{force}/months",
                             headers={"Authorization": f"Bearer {key}"}).status_code

        merseyside_id = keys["merseyside"].split(".")[1]
        unknown = [get(f"cgf.{n:012x}.{'A' * 43}") for n in range(31)]
        guesses = [get(f"cgf.{merseyside_id}.{'B' * 43}") for _ in range(5)]
        assert set(unknown) == {401} and guesses == [401, 401, 401, 429, 429]
        # Nobody's failures touch another key: each is checked for the first time here.
        assert get(keys["kent"], "kent") == 200
        assert get(keys["*"]) == 200


def test_concurrent_wrong_keys_cannot_slip_past_the_failure_limit(
        tmp_path: Path, feed_output: Path) -> None:
    """Issue 17, finding 10: the limit was checked before the slow key check and charged
    after it, so requests sent together all got their check."""
    keys_path = tmp_path / "keys.json"
    keys = make_keys(keys_path, ("kent",))
    app = create_app(str(feed_output), keys_path, rate_limit=1000,
                     auth_failures_per_minute=3)
    wrong = f"cgf.{keys['kent'].split('.')[1]}.{'C' * 43}"
    with running_server(app) as url, concurrent.futures.ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(
            lambda _: httpx.get(f"{url}/v1/forces/kent/months", timeout=60,
                                headers={"Authorization": f"Bearer {wrong}"}).status_code,
            range(12)))
    assert sorted(statuses) == [401] * 3 + [429] * 9


def test_request_logs_never_show_keys(feed_server: dict, client_for: Callable,
                                      caplog: pytest.LogCaptureFixture) -> None:
    kent = feed_server["keys"]["kent"]
    with caplog.at_level(logging.INFO, logger="feeds.access"):
        client = client_for("kent")
        client.get("/v1/forces/kent/months/2024-03/corrections.csv")
        client.get("/v1/forces/merseyside/months")
        client.get(f"/v1/forces/kent/months?key={kent}")
        client.get(f"/v1/forces/{kent}/months")
        httpx.get(feed_server["url"] + "/v1/forces/kent/months",
                  headers={"Authorization": f"Bearer {kent}x"})
        # the server logs a request once its reply is sent: wait for the last line
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
                " 401 " in r.getMessage() for r in caplog.records if r.name == "feeds.access"):
            time.sleep(0.01)
    lines = [r.getMessage() for r in caplog.records if r.name == "feeds.access"]
    text = caplog.text + "\n".join(lines)
    assert kent not in text and kent.split(".")[2] not in text
    assert "Bearer" not in text and "authorization" not in text.lower()
    key_id = kent.split(".")[1]
    assert any(re.match(rf"GET /v1/forces/kent/months/2024-03/corrections.csv 200 force=kent "
                        rf"key_id={key_id} \d+\.\dms$", line) for line in lines), lines
    assert any(line.startswith("GET /v1/forces/merseyside/months 404 force=kent")
               for line in lines)
    assert any(line.startswith("GET /v1/forces/kent/months 401 force=-") for line in lines)


# -- a rerun while forces pull ---------------------------------------------------------------


def test_concurrent_pulls_during_a_rerun_never_mix_runs(tmp_path: Path) -> None:
    """Pullers see the old month or the new one, whole, while the month is rerun repeatedly."""
    output = tmp_path / "output"
    counts = {}
    write_month(output / "feedback" / "force=kent" / "month=2024-03", "kent", "2024-03",
                "run-000", 40)
    counts["run-000"] = 40
    write_index(output / "feedback" / "force=kent")
    keys_path = tmp_path / "keys.json"
    keys = make_keys(keys_path, ("kent",))
    app = create_app(str(output), keys_path, rate_limit=100_000)
    done = threading.Event()
    failures: list[str] = []
    seen: set[str] = set()

    def rerun() -> None:
        n = 0
        while not done.is_set() and n < 5000:
            n += 1
            run_id = f"run-{n:03d}"
            counts[run_id] = 40 + (n % 7) * 13  # runs differ in row count too
            rerun_month(output, "kent", "2024-03", run_id, counts[run_id], gap=0.003)

    def check(name: str, reply: httpx.Response) -> None:
        if reply.status_code != 200:
            failures.append(f"{name}: {reply.status_code}")
            return
        body = reply.content
        if name == "corrections.json":
            document = json.loads(body)
            details = {r["detail"] for r in document["records"]}
            if reply.headers["etag"] != f'"{document["source_sha256"]}-json"':
                failures.append("json etag does not match its source")
            rows = len(document["records"])
        elif name == "corrections.csv":
            lines = body.decode().splitlines()[1:]
            details = {line.rsplit(",", 1)[1] for line in lines}
            rows = len(lines)
        elif name == "corrections.geojson":
            features = json.loads(body)["features"]
            details = {f["properties"]["detail"] for f in features}
            rows = len(features)
        else:
            document = json.loads(body)
            details, rows = {f"run {document['run_id']}"}, document["records"]
        if name != "corrections.json" and reply.headers["etag"] != f'"{sha(body)}"':
            failures.append(f"{name}: etag is not the body's sha256")
        if len(details) != 1:
            failures.append(f"{name}: rows of several runs {sorted(details)}")
            return
        run_id = details.pop().removeprefix("run ")
        seen.add(run_id)
        if counts.get(run_id) != rows:
            failures.append(f"{name}: {rows} rows, run {run_id} wrote {counts.get(run_id)}")

    def pull(worker: int) -> None:
        names = ("corrections.csv", "corrections.json", "corrections.geojson", "summary.json")
        headers = {"Authorization": f"Bearer {keys['kent']}"}
        with httpx.Client(base_url=url, headers=headers, timeout=20) as client:
            for i in range(60):
                name = names[(i + worker) % len(names)]
                check(name, client.get(f"/v1/forces/kent/months/2024-03/{name}"))
                listing = client.get("/v1/forces/kent/months")
                if listing.status_code != 200 or [m["month"] for m in listing.json()[
                        "months"]] != ["2024-03"]:
                    failures.append(f"listing: {listing.status_code} {listing.text[:200]}")

    with running_server(app) as url:
        swapper = threading.Thread(target=rerun)
        pullers = [threading.Thread(target=pull, args=(w,)) for w in range(4)]
        swapper.start()
        for thread in pullers:
            thread.start()
        for thread in pullers:
            thread.join(60)
        done.set()
        swapper.join(60)
    assert not failures, failures[:10]
    assert len(seen) > 3, "the pulls should have seen several runs"
