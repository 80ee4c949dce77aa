"""The feedback store on its own: any fsspec URL, validation before paths, JSON corrections."""

from __future__ import annotations

import hashlib
import json
import uuid

import fsspec
import pytest
from feeds_support import month_files

from crimegeo.feeds.store import FeedStore, corrections_json, valid_month


@pytest.fixture()
def memory_store() -> FeedStore:
    """A feedback tree in fsspec's memory filesystem: kent with an index, surrey without."""
    root = f"memory://feeds-{uuid.uuid4().hex}"
    fs = fsspec.filesystem("memory")
    for force in ("kent", "surrey"):
        files = month_files(force, "2024-03", f"run-{force}", 3)
        for name, data in files.items():
            fs.pipe_file(f"{root}/feedback/force={force}/month=2024-03/{name}", data)
    index = {"force": "kent", "updated_at": "2024-04-02T09:00:00+00:00", "months": [
        {"month": "2024-03", "run_id": "run-kent", "files": {
            "corrections.csv": {"sha256": "abc", "bytes": 1}, "extra.txt": {"sha256": "x"}}},
        {"month": "../../etc", "files": {}}, "junk"]}
    fs.pipe_file(f"{root}/feedback/force=kent/index.json", json.dumps(index).encode())
    fs.pipe_file(f"{root}/feedback/force=not-a-force/month=2024-03/summary.json", b"{}")
    return FeedStore(root, ["kent", "surrey", "dorset"])


def test_months_from_the_index_keep_only_known_fields(memory_store: FeedStore) -> None:
    assert memory_store.months("kent") == [{
        "month": "2024-03", "run_id": "run-kent", "updated_at": "2024-04-02T09:00:00+00:00",
        "files": {"corrections.csv": {"sha256": "abc", "bytes": 1}}}]


def test_months_from_folders_without_an_index(memory_store: FeedStore) -> None:
    (entry,) = memory_store.months("surrey")
    data = month_files("surrey", "2024-03", "run-surrey", 3)
    assert entry["run_id"] == "run-surrey"
    assert entry["files"] == {name: {"sha256": hashlib.sha256(d).hexdigest(), "bytes": len(d)}
                              for name, d in data.items()}
    assert memory_store.months("dorset") == []
    assert memory_store.forces() == ["kent", "surrey"]


def test_reads_are_validated_before_any_path_is_built(memory_store: FeedStore) -> None:
    assert memory_store.read_month_file("kent", "2024-03", "summary.json") is not None
    assert memory_store.read_month_file("kent", "2024-04", "summary.json") is None
    for force, month, name in [("../kent", "2024-03", "summary.json"),
                               ("kent", "2024-3", "summary.json"),
                               ("kent", "2024-03/..", "summary.json"),
                               ("kent", "2024-03", "../index.json"),
                               ("not-a-force", "2024-03", "summary.json")]:
        with pytest.raises(ValueError):
            memory_store.read_month_file(force, month, name)


def test_month_validation() -> None:
    assert valid_month("2024-03") and valid_month("1999-12")
    for bad in ("2024-13", "2024-00", "2024-3", "2024-03\n", "２０２４-03", None, 202403):
        assert not valid_month(bad)


def test_corrections_json_is_derived_from_the_very_bytes() -> None:
    data = month_files("kent", "2024-03", "r1", 4)["corrections.csv"]
    document = json.loads(corrections_json(data, "kent", "2024-03"))
    assert document["source_sha256"] == hashlib.sha256(data).hexdigest()
    assert document["count"] == 4
    assert document["records"][0]["supplied_x"] is None
    assert document["records"][0]["reasons"] == ["SWAPPED_AXES"]
    assert document["records"][3]["source_row"] == 4
    assert corrections_json(b"", "kent", "2024-03").startswith(b'{"force":"kent"')


def test_a_cell_longer_than_pythons_csv_limit_is_served() -> None:
    """Issue 17, finding 10: a force's own free text can make a cell of any length."""
    long_text = "x" * 300_000
    data = ("crime_id,context\nc1,\"" + long_text + "\"\nc2,short\n").encode()
    document = json.loads(corrections_json(data, "kent", "2024-03"))
    assert document["count"] == 2
    assert document["records"][0]["context"] == long_text
