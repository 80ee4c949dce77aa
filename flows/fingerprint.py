"""What a month's output was made from, so an unchanged month is not run twice.

A month's output depends on its input files, the code, the gazetteer and the run's options.
After a run has been verified, the flow records all of these in `runs/YYYY-MM/fingerprint.json`
next to the run manifest; a backfill or scheduled run compares the month as it is now with that
record and skips the month when nothing changed. A resubmitted or late file changes the inputs,
so the month runs again. The same checksums key the gazetteer cache. No Beam, no Prefect here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from crimegeo.store.files import filesystem, read_json
from crimegeo.store.files import sha256_file as sha256_of_file
from crimegeo.store.layout import OutputLayout

#: Packages whose source decides what a month's output is (not flows/: it only orchestrates).
#: The packages (`crimegeo.<name>`) whose files make the output.
CODE_PACKAGES = ("standards", "gazetteer", "store", "transforms", "pipelines")
CODE_SUFFIXES = (".py", ".yaml", ".yml", ".json")


def sha256_file(url: str) -> str:
    """The sha256 of one file's bytes (any fsspec URL), streamed."""
    return sha256_of_file(*filesystem(url))


def sha256_tree(url: str) -> str:
    """The sha256 of a file, or of a folder's files (relative names and contents)."""
    fs, root = filesystem(url)
    if not fs.exists(root):
        raise FileNotFoundError(f"{url} does not exist")
    if fs.isfile(root):
        return sha256_file(url)
    digest = hashlib.sha256()
    for path in sorted(fs.find(root)):
        relative = path[len(root.rstrip("/")) + 1:]
        if relative.rsplit("/", 1)[-1].startswith("."):
            continue
        digest.update(f"{relative}:{sha256_of_file(fs, path)}\n".encode())
    return digest.hexdigest()


def code_fingerprint(packages: Sequence[str] = CODE_PACKAGES) -> str:
    """A sha256 over the source and data files of the packages that make the output.

    Found through the import system without importing them, so it reflects the files on disk.
    """
    digest = hashlib.sha256()
    for package in packages:
        spec = importlib.util.find_spec(f"crimegeo.{package}")
        if spec is None or not spec.submodule_search_locations:
            raise ModuleNotFoundError(f"package {package} not found")
        for location in spec.submodule_search_locations:
            base = Path(location)
            for path in sorted(base.rglob("*")):
                if path.suffix in CODE_SUFFIXES and "__pycache__" not in path.parts:
                    digest.update(f"{package}/{path.relative_to(base).as_posix()}:".encode())
                    digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def gazetteer_cache_key(sources: Iterable[str], format: str | None) -> str:
    """The cache key of a gazetteer built from `sources`: their checksums and the format."""
    lines = sorted(sha256_tree(source) for source in sources)
    payload = json.dumps({"sources": lines, "format": format}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def resource_checksums(urls: Iterable[str | None]) -> dict[str, str]:
    """sha256 of each resource (boundary files, area layers); `NAME=` prefixes are kept."""
    result = {}
    for spec in urls:
        if not spec:
            continue
        url = spec.split("=", 1)[1] if "=" in spec.split("://", 1)[0] else spec
        result[spec] = sha256_tree(url)
    return result


def month_fingerprint(*, inputs: dict[str, str], code: str, gazetteer_checksum: str | None,
                      options: dict) -> dict:
    """The record of what a month's output is made from (JSON-ready, stable key order)."""
    return {"inputs": dict(sorted(inputs.items())), "code": code,
            "gazetteer_checksum": gazetteer_checksum,
            "options": json.loads(json.dumps(options, sort_keys=True))}


def fingerprint_url(output: str, month: str) -> str:
    """Where the month's fingerprint lives, next to its run manifest."""
    return OutputLayout(output).fingerprint(month)


def read_fingerprint(output: str, month: str) -> dict | None:
    """The recorded fingerprint of the month's last good run, or None."""
    return read_json(fingerprint_url(output, month))


def differences(previous: dict | None, current: dict) -> list[str]:
    """What changed between the last good run's fingerprint and now, in words."""
    if previous is None:
        return ["no verified run recorded"]
    changes = []
    before, now = previous.get("inputs", {}), current["inputs"]
    for name in sorted(set(now) - set(before)):
        changes.append(f"new file {name}")
    for name in sorted(set(before) - set(now)):
        changes.append(f"file {name} is gone")
    for name in sorted(set(now) & set(before)):
        if now[name] != before[name]:
            changes.append(f"file {name} was resubmitted (checksum changed)")
    if previous.get("code") != current["code"]:
        changes.append("code changed")
    if previous.get("gazetteer_checksum") != current["gazetteer_checksum"]:
        changes.append("gazetteer changed")
    if previous.get("options") != current["options"]:
        changes.append("options changed")
    return changes
