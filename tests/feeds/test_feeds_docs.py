"""The curl and Python examples of docs/feeds.md run against the real server."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import live

DOC = Path(__file__).resolve().parents[2] / "docs" / "feeds.md"
TEXT = DOC.read_text()
PYTHON = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)
SHELL = re.findall(r"```sh\n(.*?)```", TEXT, flags=re.S)


def test_the_doc_links_the_standard_and_has_both_examples() -> None:
    assert "(location-standard.md)" in TEXT
    assert (DOC.parent / "location-standard.md").exists()
    assert len(PYTHON) == 1 and any("curl" in block for block in SHELL)


def test_the_python_example_pulls_only_what_changed(
        feed_server: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    code = PYTHON[0].replace('BASE = "https://feeds.example.org"',
                             f'BASE = "{feed_server["url"]}"')
    assert feed_server["url"] in code
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRIMEGEO_FEED_KEY", feed_server["keys"]["kent"])
    exec(compile(code, "docs/feeds.md python example", "exec"), {})
    first = capsys.readouterr().out
    assert first.count("updated") == 8  # two months, four files each
    csv_path = tmp_path / "feedback" / "2024-03" / "corrections.csv"
    published = live(feed_server["output"], "2024-03") / "feedback" / "force=kent" / "month=2024-03"
    assert csv_path.read_bytes() == (published / "corrections.csv").read_bytes()
    exec(compile(code, "docs/feeds.md python example", "exec"), {})
    assert "updated" not in capsys.readouterr().out  # every file answered 304


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_curl_example(feed_server: dict, tmp_path: Path) -> None:
    script = next(block for block in SHELL if "curl" in block)
    script = re.sub(r"^KEY=.*$", f"KEY='{feed_server['keys']['kent']}'", script, flags=re.M)
    script = script.replace("BASE=https://feeds.example.org", f"BASE={feed_server['url']}")
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert '"force":"kent"' in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "304"
    published = live(feed_server["output"], "2024-03") / "feedback" / "force=kent" / "month=2024-03"
    assert (tmp_path / "kent-2024-03-corrections.csv").read_bytes() == (
        published / "corrections.csv").read_bytes()
