"""Every Python example in docs/analysts.md runs against a real generated month."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import run_month_args

DOC = Path(__file__).resolve().parents[2] / "docs" / "analysts.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.fixture(scope="module")
def output(demo_month: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:

    out = tmp_path_factory.mktemp("analysts")
    run_month_args(["--month", "2024-03", "--input", str(demo_month["root"] /
                                                                   "input"),
                              "--output", str(out), "--gazetteer", demo_month["gazetteer"]])
    return out


def test_the_doc_has_examples() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_example_runs(index: int, output: Path, capsys: pytest.CaptureFixture) -> None:
    code = EXAMPLES[index].replace('OUTPUT = "demo-output/output"', f'OUTPUT = "{output}"')
    assert f'OUTPUT = "{output}"' in code
    exec(compile(code, f"docs/analysts.md example {index + 1}", "exec"), {})
    printed = capsys.readouterr().out
    assert printed.strip()
    assert printed.strip() != "[]"
