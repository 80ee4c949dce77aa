"""A force's feedback `index.json` kept up to date without reading every month again.

A commit names its month; the other months keep their entries where the index lists them as
written by the run whose generation is live. Whatever was kept, the index must equal one
rebuilt from every month's files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crimegeo.store import feedback
from crimegeo.store.current import live_months
from crimegeo.store.files import write_bytes_atomic
from crimegeo.store.layout import OutputLayout
from crimegeo.store.publish import commit_month
from tests.store.test_reader_atomic import _manifest

FORCES = ("kent", "met")


def _commit(output: str, month: str, run_id: str, corrections: bytes = b"a,b\n1,2\n") -> None:
    """A month staged with each force's three feedback files, then committed."""
    staged = OutputLayout(output).staged(run_id)
    for force in FORCES:
        files = {"corrections.csv": corrections, "corrections.geojson": b'{"features": []}',
                 "summary.json": json.dumps({"run_id": run_id, "force": force}).encode()}
        for name, data in files.items():
            write_bytes_atomic(staged.feedback_file(force, month, name), data)
    manifest = _manifest(run_id, dict.fromkeys(FORCES, 1))
    manifest["month"] = month
    commit_month(output, run_id, month, manifest)


def _index(output: str, force: str) -> dict:
    return json.loads(Path(OutputLayout(output).feedback_index(force)).read_text())


def _rebuilt(output: str, force: str) -> list[dict]:
    """The index's months as a rebuild from every month's files has them."""
    return feedback.write_force_index(output, force)["months"]


@pytest.fixture
def read_months(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Each (force, month) whose files were read for an index entry."""
    read: list[tuple[str, str]] = []
    entry = feedback._month_entry

    def counted(fs, published, force, month):
        read.append((force, month))
        return entry(fs, published, force, month)

    monkeypatch.setattr(feedback, "_month_entry", counted)
    return read


def test_a_commit_reads_only_its_own_month_and_the_index_is_whole(
        tmp_path: Path, read_months: list) -> None:
    output = str(tmp_path / "out")
    for month in ("2024-01", "2024-02", "2024-03"):
        _commit(output, month, f"run-{month}")
    read_months.clear()

    _commit(output, "2024-04", "run-2024-04")

    assert sorted(read_months) == [("kent", "2024-04"), ("met", "2024-04")]
    for force in FORCES:
        index = _index(output, force)
        assert [m["month"] for m in index["months"]] == [
            "2024-01", "2024-02", "2024-03", "2024-04"]
        assert index["months"] == _rebuilt(output, force)


def test_a_month_run_again_is_read_again_and_the_others_are_kept(
        tmp_path: Path, read_months: list) -> None:
    output = str(tmp_path / "out")
    _commit(output, "2024-01", "first-jan")
    _commit(output, "2024-02", "first-feb")
    read_months.clear()

    _commit(output, "2024-01", "second-jan", corrections=b"a,b\n1,2\n3,4\n")

    assert sorted(read_months) == [("kent", "2024-01"), ("met", "2024-01")]
    months = {m["month"]: m for m in _index(output, "kent")["months"]}
    assert months["2024-01"]["run_id"] == "second-jan"
    assert months["2024-01"]["files"]["corrections.csv"]["bytes"] == len(b"a,b\n1,2\n3,4\n")
    assert months["2024-02"]["run_id"] == "first-feb"
    assert _index(output, "kent")["months"] == _rebuilt(output, "kent")


def test_an_entry_not_of_the_live_generation_is_read_again(
        tmp_path: Path, read_months: list) -> None:
    """An entry whose run is not the generation readers see (feedback rewritten in place by
    a streaming refresh, say, or an index edited by hand) is never trusted."""
    output = str(tmp_path / "out")
    _commit(output, "2024-01", "run-jan")
    index_path = Path(OutputLayout(output).feedback_index("kent"))
    stale = _index(output, "kent")
    stale["months"][0]["run_id"] = "streaming"
    stale["months"][0]["files"]["corrections.csv"]["sha256"] = "0" * 64
    index_path.write_text(json.dumps(stale))
    read_months.clear()

    _commit(output, "2024-02", "run-feb")

    assert ("kent", "2024-01") in read_months and ("met", "2024-01") not in read_months
    assert _index(output, "kent")["months"] == _rebuilt(output, "kent")


def test_an_index_that_cannot_be_read_is_rebuilt_from_every_month(
        tmp_path: Path, read_months: list) -> None:
    output = str(tmp_path / "out")
    _commit(output, "2024-01", "run-jan")
    _commit(output, "2024-02", "run-feb")
    Path(OutputLayout(output).feedback_index("met")).write_text('{"months": [')
    read_months.clear()

    _commit(output, "2024-03", "run-mar")

    assert sorted(m for f, m in read_months if f == "met") == ["2024-01", "2024-02", "2024-03"]
    assert [m["month"] for m in _index(output, "met")["months"]] == [
        "2024-01", "2024-02", "2024-03"]


def test_a_month_no_longer_live_leaves_the_index(tmp_path: Path) -> None:
    output = str(tmp_path / "out")
    _commit(output, "2024-01", "run-jan")
    _commit(output, "2024-02", "run-feb")
    live = live_months(output)
    del live["2024-01"]  # as if the month were no longer published

    index = feedback.write_force_index(output, "kent", live=live, changed={"2024-02"})

    assert [m["month"] for m in index["months"]] == ["2024-02"]
