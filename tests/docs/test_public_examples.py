"""Every curl and Python example in docs/public.md runs against a served demo output."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "public.md"
TEXT = DOC.read_text()
PYTHON = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)
SHELL = re.findall(r"```sh\n(.*?)```", TEXT, flags=re.S)
CURL = [line for block in SHELL for line in block.replace("\\\n", " ").splitlines()
        if line.startswith("curl ")]
DOC_BASE = "http://127.0.0.1:8000"

pytest_plugins = ["tests.public.conftest"]


def test_the_doc_has_examples_and_its_screenshots() -> None:
    assert len(PYTHON) >= 3 and len(CURL) >= 4
    for image in re.findall(r"\]\((img/[^)]+\.png)\)", TEXT):
        assert (DOC.parent / image).stat().st_size > 5_000, image


@pytest.mark.parametrize("index", range(len(CURL)))
def test_curl_example_runs(index: int, site_url: str) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    command = CURL[index].replace(DOC_BASE, site_url)
    done = subprocess.run(["bash", "-c", command], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() and "error" not in done.stdout[:40].lower()


@pytest.mark.parametrize("index", range(len(PYTHON)))
def test_python_example_runs(index: int, site_url: str,
                             capsys: pytest.CaptureFixture) -> None:
    code = PYTHON[index].replace(f'BASE = "{DOC_BASE}"', f'BASE = "{site_url}"')
    assert f'BASE = "{site_url}"' in code
    exec(compile(code, f"docs/public.md example {index + 1}", "exec"), {})
    printed = capsys.readouterr().out
    assert printed.strip()
