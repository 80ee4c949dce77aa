"""The same month on three runners gives the same output, and nothing reaches the internet.

The in-process runner, the multi-process DirectRunner (workers in other processes: the
pipeline must pickle, load the gazetteer in `setup()` and keep no state on the driver) and
`PortableRunner` against Beam's own Python job service, started here on loopback.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from crimegeo.pipelines.local import local_runner
from crimegeo.pipelines.monthly import beam_options
from crimegeo.pipelines.settings import settings_from_argv
from tests.conftest import live, run_month_args

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = ("localhost", "127.0.0.1", "::1", "0.0.0.0", "", None)


@pytest.fixture
def no_internet(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Refuse and record any name look-up or connection to a host other than loopback."""
    attempts: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def guarded(host: object, *args: object, **kwargs: object) -> object:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in LOOPBACK:
            attempts.append(str(name))
            raise socket.gaierror(f"test forbids internet access (to {name})")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    return attempts


@pytest.fixture(scope="module")
def job_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Beam's Python job service on loopback, on a free port; stopped afterwards."""
    folder = tmp_path_factory.mktemp("job-service")
    port_file = folder / "port"
    process = subprocess.Popen(
        [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main",
         "--port", "0", "--port_file", str(port_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder)
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("Beam's job service did not start")
            time.sleep(0.1)
        yield f"localhost:{port_file.read_text().strip()}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _run(demo_month: dict, output: Path, extra: list[str]) -> dict:
    args = ["--month", "2024-03", "--input", str(demo_month["root"] / "input"),
            "--output", str(output), "--gazetteer", demo_month["gazetteer"],
            "--run_id", "same-run", *extra]
    return run_month_args(args).manifest


def _published(output: Path) -> dict[str, bytes]:
    """Every published data file, by its path under its generation (manifests, indexes and
    pointers carry times)."""
    return {re.sub(r"^generations/[^/]+/", "", str(p.relative_to(output))): p.read_bytes()
            for p in sorted(output.rglob("*"))
            if p.is_file() and p.name not in ("manifest.json", "index.json", "current.json")}


def test_the_in_process_runner_is_beams_fnapi_runner_not_prism() -> None:
    from apache_beam.runners.portability.fn_api_runner.fn_runner import FnApiRunner

    options = beam_options(settings_from_argv(["--input", "i", "--output", "o",
                                               "--runner", "DirectRunner"]))
    assert isinstance(local_runner(options), FnApiRunner)
    portable = beam_options(settings_from_argv([
        "--input", "i", "--output", "o", "--runner", "PortableRunner",
        "--job_endpoint", "localhost:1"]))
    assert local_runner(portable) is None


@pytest.mark.slow
def test_same_month_same_output_on_three_runners(
        demo_month: dict, tmp_path: Path, job_service: str, no_internet: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Multi-process workers are new interpreters: they must find our packages.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    runs = {
        "in-process": [],
        "multi-process": ["--direct_running_mode=multi_processing", "--direct_num_workers",
                          "2"],
        "portable": ["--runner", "PortableRunner", "--job_endpoint", job_service,
                     "--environment_type", "LOOPBACK"],
    }
    manifests, outputs = {}, {}
    for name, extra in runs.items():
        outputs[name] = tmp_path / name
        manifests[name] = _run(demo_month, outputs[name], extra)
    assert no_internet == []  # no Prism download, no look-up of anything but loopback
    assert manifests["portable"]["runner"] == "PortableRunner"
    expected = manifests["in-process"]
    for name, manifest in manifests.items():
        assert manifest["files"].keys() == expected["files"].keys(), name
        for file_name, stats in manifest["files"].items():
            for key in ("rows_in", "rows_written", "rows_rejected", "rejected_by_reason",
                        "rows_by_status", "checksum"):
                assert stats[key] == expected["files"][file_name][key], (name, file_name, key)
        assert manifest["totals"] == expected["totals"], name
        assert manifest["forces"] == expected["forces"], name
    reference = _published(outputs["in-process"])
    assert any(path.endswith("corrections.csv") for path in reference)
    assert sum(path.endswith(".parquet") for path in reference) >= 8
    for name in ("multi-process", "portable"):
        published = _published(outputs[name])
        assert published.keys() == reference.keys(), name
        # Parquet parts and feedback files are byte-identical across runners.
        different = [path for path in reference if published[path] != reference[path]]
        assert different == [], (name, different)
        for kind, keys in (("restricted", ["source_file", "source_row"]),
                           ("public", ["persistent_id", "public_label"])):
            order = [(key, "ascending") for key in keys]
            ours = pq.read_table(live(outputs[name], "2024-03") / kind,
                                 partitioning=None).sort_by(order)
            theirs = pq.read_table(live(outputs["in-process"], "2024-03") / kind,
                                   partitioning=None).sort_by(order)
            assert ours.equals(theirs), (name, kind)
