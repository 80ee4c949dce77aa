"""Finding a month's inputs: symbolic links that loop or lead out of the input are refused
per file, with a reason, and never read (issue 17, findings 2 and 11)."""

from __future__ import annotations

import shutil
from pathlib import Path

from crimegeo.standards.profiles import load_profiles
from crimegeo.store.inputs import discover_month
from crimegeo.transforms.notifications import list_arrivals

SECRET = "root-only first line that must never be printed"


def _input_with_links(demo_month: dict, tmp_path: Path) -> Path:
    inputs = tmp_path / "inputs"
    shutil.copytree(demo_month["root"] / "input", inputs)
    month = inputs / "2024-03"
    outside = tmp_path / "elsewhere" / "system.csv"
    outside.parent.mkdir()
    outside.write_text(SECRET + "\n")
    (month / "2024-03-outside.csv").symlink_to(outside)
    (month / "2024-03-loop.csv").symlink_to(month / "2024-03-loop.csv")
    (month / "2024-03-gone.csv").symlink_to(tmp_path / "deleted.csv")
    # A link that stays inside the input is an ordinary way to arrange files: it is read.
    (inputs / "archive").mkdir()
    kept = inputs / "archive" / "2024-03-archived-city-of-london-street.csv"
    shutil.copy(month / "2024-03-city-of-london-street.csv", kept)
    (month / "2024-03-inside.csv").symlink_to(kept)
    return inputs


def test_links_outside_the_input_and_link_loops_are_skipped_with_a_reason(
        demo_month: dict, tmp_path: Path) -> None:
    inputs = _input_with_links(demo_month, tmp_path)
    ordinary = sorted(p.name for p in (inputs / "2024-03").iterdir() if not p.is_symlink())
    discovery = discover_month(str(inputs), "2024-03", load_profiles())
    assert sorted(f.name for f in discovery.files) == sorted([*ordinary, "2024-03-inside.csv"])
    skipped = {url.rsplit("/", 1)[-1]: why for url, why in discovery.skipped}
    assert "outside the input folder" in skipped["2024-03-outside.csv"]
    assert "loops or leads nowhere" in skipped["2024-03-loop.csv"]
    assert "loops or leads nowhere" in skipped["2024-03-gone.csv"]
    assert not any(SECRET in why for why in skipped.values())
    # Given the month's folder as the input, the archive is outside it.
    narrow = discover_month(str(inputs / "2024-03"), "2024-03", load_profiles())
    assert sorted(f.name for f in narrow.files) == ordinary


def test_an_empty_file_is_skipped_with_a_reason_and_the_month_goes_on(
        demo_month: dict, tmp_path: Path) -> None:
    """Issue 17, finding 12: a 0-byte file stopped the whole month with "no input profile
    recognises this file (header: (no header read))"."""
    inputs = tmp_path / "inputs" / "2024-03"
    shutil.copytree(demo_month["input"], inputs)
    ordinary = sorted(p.name for p in inputs.iterdir())
    (inputs / "2024-03-kent-resubmitted.csv").write_bytes(b"")
    discovery = discover_month(str(inputs.parent), "2024-03", load_profiles())
    assert sorted(f.name for f in discovery.files) == ordinary
    ((url, why),) = discovery.skipped
    assert url.endswith("2024-03-kent-resubmitted.csv")
    assert why == "an empty file (0 bytes): nothing to read"


def test_watch_lists_refused_links_without_reading_them(demo_month: dict,
                                                        tmp_path: Path) -> None:
    inputs = _input_with_links(demo_month, tmp_path)
    arrivals, _ = list_arrivals(str(inputs))
    refused = {a.name: a.refused for a in arrivals if a.refused}
    assert set(refused) == {"2024-03-outside.csv", "2024-03-loop.csv", "2024-03-gone.csv"}
    readable = [a for a in arrivals if not a.refused]
    assert "2024-03-inside.csv" in {a.name for a in readable}
    assert len(readable) == len(arrivals) - 3


def test_watch_records_refused_links_as_skipped_and_ingests_the_rest(
        demo_month: dict, tmp_path: Path) -> None:
    from crimegeo.pipelines.settings import settings_from_argv
    from crimegeo.pipelines.streaming import ingest_files, read_ledger

    inputs = _input_with_links(demo_month, tmp_path)
    output = tmp_path / "out"
    arrivals, _ = list_arrivals(str(inputs))
    chosen = [a for a in arrivals if a.refused or a.name == "2024-03-inside.csv"]
    settings = settings_from_argv(["--input", str(inputs), "--output", str(output),
                                   "--gazetteer", demo_month["gazetteer"]])
    ingest_files(settings, chosen)
    ledger = read_ledger(str(output))
    statuses = {key.rsplit("/", 1)[-1]: (entry["status"], entry.get("why", ""))
                for key, entry in ledger.items()}
    assert statuses["2024-03-inside.csv"][0] == "processed"
    for name in ("2024-03-outside.csv", "2024-03-loop.csv", "2024-03-gone.csv"):
        status, why = statuses[name]
        assert status == "skipped" and "symbolic link" in why and SECRET not in why


def test_each_file_carries_the_checksum_of_its_own_bytes(demo_month: dict,
                                                         tmp_path: Path) -> None:
    """The checksums are read side by side: each must still be its own file's, in order."""
    import hashlib

    inputs = tmp_path / "inputs" / "2024-03"
    shutil.copytree(demo_month["input"], inputs)
    discovery = discover_month(str(inputs.parent), "2024-03", load_profiles())
    assert len(discovery.files) > 2
    for item in discovery.files:
        data = (inputs / item.name).read_bytes()
        assert item.checksum == "sha256:" + hashlib.sha256(data).hexdigest(), item.name
        assert item.size == len(data)
