"""The watcher loop: stops cleanly between batches, retries a failed batch a few times, leaves
alone what is not an input, does not republish a file whose bytes did not change, and its
command has help however it is mounted."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import typer
from rich.console import Console
from streaming_support import KENT, MONTH, tree_digest
from typer.testing import CliRunner

from crimegeo.flows.watch import MAX_ATTEMPTS, Polling, Watcher, app, stop_on_signals, watch
from crimegeo.pipelines.settings import settings_from_argv
from crimegeo.store.ledger import read_ledger, write_entry
from tests.conftest import live

ROOT = Path(__file__).resolve().parents[2]
QUIET = Console(file=open(os.devnull, "w"))  # noqa: SIM115


def _inputs(tmp_path: Path, names: list[str]) -> Path:
    incoming = tmp_path / "incoming" / MONTH
    incoming.mkdir(parents=True)
    for name in names:
        (incoming / name).write_text("Crime ID,Month\n1,2024-03\n")
    return tmp_path / "incoming"


def test_ctrl_c_stops_between_batches(tmp_path: Path) -> None:
    incoming = _inputs(tmp_path, ["a-2024-03.csv", "b-2024-03.csv", "c-2024-03.csv"])
    batches: list[list[str]] = []

    def ingest(settings: object, arrivals: list) -> dict:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of the batch ...
        time.sleep(0.2)
        batches.append([a.key for a in arrivals])  # ... which still finishes
        return {a.key: {"key": a.key, "generation": a.generation, "status": "processed",
                        "rows_in": 1, "rows_written": 1, "rows_rejected": 0, "forces": []}
                for a in arrivals}

    watcher = Watcher(settings_from_argv(["--input", str(incoming),
                                          "--output", str(tmp_path / "out")]),
                      Polling(settle=0.0, max_files=1, interval=0.1), QUIET, ingest)
    # Whatever handled SIGINT before (a shell's background job ignores it) is put back.
    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # so the os.kill is heard
    try:
        with stop_on_signals(QUIET) as stop:
            status = watcher.run(stop)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    finally:
        signal.signal(signal.SIGINT, before)
    assert batches == [[f"{MONTH}/a-2024-03.csv"]]  # no second batch was started
    assert status.ingested == 1 and stop.is_set()


def test_a_failing_batch_is_retried_then_left(tmp_path: Path) -> None:
    incoming = _inputs(tmp_path, ["a-2024-03.csv"])
    calls = []

    def ingest(settings: object, arrivals: list) -> dict:
        calls.append(len(arrivals))
        raise OSError("the bucket is unreachable")

    watcher = Watcher(settings_from_argv(["--input", str(incoming),
                                          "--output", str(tmp_path / "out")]),
                      Polling(settle=0.0, interval=0.01), QUIET, ingest)
    status = watcher.run(threading.Event(), once=True)
    assert len(calls) == MAX_ATTEMPTS and status.failures == MAX_ATTEMPTS
    assert watcher.poll() == []  # this generation is left until it changes


def test_what_is_not_an_input_is_recorded_once(demo_month: dict, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    (incoming / MONTH).mkdir(parents=True)
    (incoming / MONTH / "mystery-2024-03.csv").write_text("a,b\n1,2\n")
    shutil.copy(Path(demo_month["input"]) / KENT, incoming / "kent_without_month.csv")
    watcher = Watcher(settings_from_argv(["--input", str(incoming),
                                          "--output", str(tmp_path / "out"),
                                          "--gazetteer", demo_month["gazetteer"]]),
                      Polling(settle=0.0), QUIET)
    status = watcher.run(threading.Event(), once=True)
    assert status.not_ingested == 2 and status.batches == 1
    statuses = {key: entry["status"] for key, entry in watcher.ledger.items()}
    assert statuses == {f"{MONTH}/mystery-2024-03.csv": "unrecognised",
                        "kent_without_month.csv": "skipped"}
    assert "profiles tried" in watcher.ledger[f"{MONTH}/mystery-2024-03.csv"]["why"].lower()
    assert watcher.poll() == []
    assert not (tmp_path / "out" / "restricted").exists()


def test_same_bytes_under_a_new_generation_republish_nothing(demo_month: dict,
                                                             tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    (incoming / MONTH).mkdir(parents=True)
    target = incoming / MONTH / KENT
    shutil.copy(Path(demo_month["input"]) / KENT, target)
    output = tmp_path / "out"
    watcher = Watcher(settings_from_argv(["--input", str(incoming), "--output", str(output),
                                          "--gazetteer", demo_month["gazetteer"]]),
                      Polling(settle=0.0), QUIET)
    assert watcher.run(threading.Event(), once=True).ingested == 1
    published = {p: d for p, d in tree_digest(output).items() if not p.startswith("_ledger")}
    later = time.time() + 5
    os.utime(target, (later, later))  # touched: a new generation, the same bytes
    status = watcher.run(threading.Event(), once=True)
    assert status.unchanged == 1 and status.ingested == 1
    assert published == {p: d for p, d in tree_digest(output).items()
                         if not p.startswith("_ledger")}
    entry = watcher.ledger[f"{MONTH}/{KENT}"]
    assert entry["status"] == "unchanged" and len(entry["history"]) == 1


runner = CliRunner()


@pytest.mark.parametrize("mount", ["add_typer", "command"])
def test_watch_has_help_however_it_is_mounted(mount: str) -> None:
    cli = typer.Typer()
    cli.command("other")(lambda: None)
    if mount == "add_typer":
        cli.add_typer(app, name="watch")
    else:
        cli.command("watch", context_settings={"allow_extra_args": True,
                                               "ignore_unknown_options": True})(watch)
    result = runner.invoke(cli, ["watch", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--input", "--output", "--gazetteer", "--interval", "--once"):
        assert option in result.output


def test_watch_once_from_the_command_line(demo_month: dict, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    (incoming / MONTH).mkdir(parents=True)
    shutil.copy(Path(demo_month["input"]) / KENT, incoming / MONTH / KENT)
    result = runner.invoke(app, ["--input", str(incoming), "--output", str(tmp_path / "out"),
                                 "--gazetteer", demo_month["gazetteer"], "--once",
                                 "--settle", "0"])
    assert result.exit_code == 0, result.output
    assert f"ingested {MONTH}/{KENT}" in result.output
    assert "stopped: 1 file(s) ingested" in result.output
    assert runner.invoke(app, ["--input", "x", "--output", "y", "--interval", "0"]
                         ).exit_code == 2


def test_feedback_left_pending_by_a_kill_is_published_at_the_next_start(
        demo_month: dict, tmp_path: Path) -> None:
    """Issue 17, finding 9: a kill between a file's ledger entry and its feedback refresh
    left that force-month's feedback unpublished for ever (restarts skip the file)."""
    incoming = tmp_path / "incoming"
    (incoming / MONTH).mkdir(parents=True)
    shutil.copy(Path(demo_month["input"]) / KENT, incoming / MONTH / KENT)
    output = tmp_path / "out"
    settings = settings_from_argv(["--input", str(incoming), "--output", str(output),
                                   "--gazetteer", demo_month["gazetteer"]])
    watcher = Watcher(settings, Polling(settle=0.0), QUIET)
    assert watcher.run(threading.Event(), once=True).ingested == 1
    feedback = live(output, MONTH) / "feedback" / "force=kent" / f"month={MONTH}"
    published = (feedback / "corrections.csv").read_bytes()
    assert not read_ledger(str(output))[f"{MONTH}/{KENT}"]["feedback_pending"]
    # As a kill after the ledger entry and before the refresh leaves things:
    shutil.rmtree(feedback)
    entry = read_ledger(str(output))[f"{MONTH}/{KENT}"]
    write_entry(str(output), {**entry, "feedback_pending": [f"{MONTH}/kent"]})
    restarted = Watcher(settings, Polling(settle=0.0), QUIET)
    assert restarted.recovered == [f"{MONTH}/kent"]
    assert (feedback / "corrections.csv").read_bytes() == published
    assert not read_ledger(str(output))[f"{MONTH}/{KENT}"]["feedback_pending"]
    assert restarted.poll() == []  # the file itself is not ingested again




def test_a_signal_never_deadlocks_the_stop_it_sets() -> None:
    """A handler that set a `threading.Event` hung the watcher about once in a few hundred
    signals, those that landed while `Event.wait` held the event's lock (not re-entrant).
    Signal a loop of very short waits two thousand times, from outside as Ctrl-C comes, in a
    child process so that a hang fails this test instead of hanging the suite."""
    child = textwrap.dedent("""
        import os
        from rich.console import Console
        from crimegeo.flows.watch import stop_on_signals
        quiet = Console(file=open(os.devnull, "w"))
        for trial in range(2000):
            with stop_on_signals(quiet) as stop:
                print("ready", flush=True)
                while not stop.is_set():
                    stop.wait(0.0005)
        print("all stopped", flush=True)
    """)
    process = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE,
                               env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True)
    try:
        for trial in range(2000):
            ready, _, _ = select.select([process.stdout], [], [], 20)
            assert ready, f"the loop did not stop after signal {trial}"
            assert process.stdout.readline() == "ready\n"
            time.sleep(0.003)  # inside the loop of waits
            process.send_signal(signal.SIGINT)
        assert process.stdout.readline() == "all stopped\n"
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
        process.wait()
