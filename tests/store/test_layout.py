"""The output layout: every path of the output contract, from one object."""

from __future__ import annotations

import ast
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from crimegeo.store.layout import (
    FEEDBACK_FILES,
    OutputLayout,
    force_of,
    month_of,
    part_key,
    part_name,
)


def test_the_trailing_slash_is_stripped_once() -> None:
    assert OutputLayout("gs://bucket/out/").root == OutputLayout("gs://bucket/out").root
    assert OutputLayout("/data/out/") == OutputLayout("/data/out")


def test_paths_of_the_contract() -> None:
    out = OutputLayout("gs://b/out/")
    assert out.partition("restricted", "2024-03", "kent") == (
        "gs://b/out/restricted/month=2024-03/force=kent")
    assert out.partition("rejected", "2024-03", None).endswith("/force=unknown")
    assert out.part("public", "2024-03", "kent", "p.parquet") == (
        "gs://b/out/public/month=2024-03/force=kent/p.parquet")
    assert out.feedback_file("kent", "2024-03", "corrections.csv") == (
        "gs://b/out/feedback/force=kent/month=2024-03/corrections.csv")
    assert out.feedback_index("kent") == "gs://b/out/feedback/force=kent/index.json"
    assert out.manifest("2024-03") == "gs://b/out/runs/2024-03/manifest.json"
    assert out.report("2024-03") == "gs://b/out/runs/2024-03/report.html"
    assert out.report_summary("2024-03") == "gs://b/out/runs/2024-03/report.json"
    assert out.fingerprint("2024-03") == "gs://b/out/runs/2024-03/fingerprint.json"
    assert out.staging("r1") == "gs://b/out/_staging/r1"
    assert out.staged("r1").part("restricted", "2024-03", "kent", "p") == (
        "gs://b/out/_staging/r1/restricted/month=2024-03/force=kent/p")
    assert out.journal("r1") == "gs://b/out/_staging/r1/_commit.json"
    assert out.ledger_entry("2024-03/kent.csv") == (
        "gs://b/out/_ledger/files/2024-03/kent.csv.json")
    assert out.ledger_close("2024-03") == "gs://b/out/_ledger/closed/2024-03.json"
    assert out.gazetteer_cache() == "gs://b/out/_gazetteer"
    assert FEEDBACK_FILES[-1] == "summary.json"  # written last


@pytest.mark.parametrize("key", ["", "a//b", "../x", "a/./b"])
def test_ledger_keys_cannot_leave_the_ledger(key: str) -> None:
    with pytest.raises(ValueError, match="not a ledger key"):
        OutputLayout("/out").ledger_entry(key)


def test_relative_parts_and_folder_names() -> None:
    name = part_name("kent.csv")
    assert part_key("restricted", "2024-03", "kent", name) == (
        f"restricted/month=2024-03/force=kent/{name}")
    out = OutputLayout("/out")
    assert out.relative(out.part("restricted", "2024-03", "kent", name)) == (
        part_key("restricted", "2024-03", "kent", name))
    assert force_of("/out/feedback/force=kent/") == "kent" and force_of("month=x") is None
    assert month_of("force=kent/month=2024-03") == "2024-03" and month_of("kent") is None


def test_a_layout_travels_to_workers() -> None:
    out = OutputLayout("memory://out")
    assert pickle.loads(pickle.dumps(out)) == out


def test_the_store_imports_only_the_standards() -> None:
    root = Path(__file__).resolve().parents[2] / "store"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                ours = name.startswith("crimegeo.")
                assert not ours or name.startswith(("crimegeo.standards", "crimegeo.store")), (
                    f"{path.name} imports {name}")
                assert not name.startswith(("apache_beam", "prefect")), f"{path.name}: {name}"
    code = ("import sys, crimegeo.store.publish, crimegeo.store.ledger, crimegeo.store.inputs, "
            "crimegeo.store.parts\n"
            "assert 'apache_beam' not in sys.modules and 'prefect' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
