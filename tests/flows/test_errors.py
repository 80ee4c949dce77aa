"""Expected failures are one line that names the thing, at once, before Prefect or Beam
start; `--debug` keeps the traceback; text from outside is never terminal markup."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crimegeo.flows import cli, server
from crimegeo.flows.cli import app
from crimegeo.flows.errors import printable

runner = CliRunner()


@pytest.fixture
def no_prefect(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a command gets as far as starting Prefect's server."""
    def started() -> None:
        raise AssertionError("Prefect's server was started before the arguments were checked")

    monkeypatch.setattr(server, "start_temporary_server", started)


def _error_line(args: list[str]) -> str:
    result = runner.invoke(app, args, terminal_width=300)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("command", ["run", "pipeline"])
def test_each_expected_failure_is_one_line_before_anything_starts(
        command: str, tmp_path: Path, demo_month: dict, no_prefect: None) -> None:
    good = ["--month", "2024-03", "--input", str(demo_month["input"]),
            "--output", str(tmp_path / "out")]
    cases = {
        "does not exist": ["--month", "2024-03", "--input", str(tmp_path / "nowhere"),
                           "--output", str(tmp_path / "out")],
        "got '2024-3'": ["--month", "2024-3", *good[2:]],
        "not a gazetteer": [*good, "--gazetteer", str(tmp_path)],
        "cannot be written": [*good[:4], "--output", "/proc/crimegeo-output"],
        "--areas": [*good, "--areas", f"lsoa={tmp_path / 'no-such.shp'}"],
    }
    for expected, args in cases.items():
        assert expected in _error_line([command, *args])


def test_debug_keeps_the_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--debug", "pipeline", "--month", "2024-03", "--input",
                                 str(tmp_path / "nowhere"), "--output", str(tmp_path)])
    assert isinstance(result.exception, FileNotFoundError)
    cli.Debug.on = False


def test_untrusted_text_is_printed_as_text(tmp_path: Path) -> None:
    odd = tmp_path / "[bold red]not markup[/bold red]"
    line = _error_line(["pipeline", "--month", "2024-03", "--input", str(odd),
                        "--output", str(tmp_path)])
    assert "[bold red]not markup[/bold red]" in line


def test_terminal_control_characters_from_outside_are_shown_not_obeyed(tmp_path: Path) -> None:
    # A file name (or header) can carry ESC sequences that recolour, retitle or reset the
    # operator's terminal (ESC c), or a CR that overwrites the line printed so far.
    odd = tmp_path / "red\x1b[31mreset\x1bc\rover"
    line = _error_line(["pipeline", "--month", "2024-03", "--input", str(odd),
                        "--output", str(tmp_path)])
    assert "\x1b" not in line and "\r" not in line
    assert "red\\x1b[31mreset\\x1bc\\x0dover" in line
    assert printable("tab\tand\nnewline [b]x[/b] \x9b") == (
        "tab\tand\nnewline \\[b]x\\[/b] \\x9b")


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"crimegeo {version('crimegeo')}"
