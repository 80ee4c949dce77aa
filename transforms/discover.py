"""Find a month's input files through fsspec and match each to a force profile.

Runs on the driver before the pipeline starts, so an unrecognised file stops the run at once
with an error naming the file and the profiles tried, before any work is done.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import fsspec

from crimegeo.standards.profiles import ForceProfile, match_profile
from crimegeo.transforms.readers import read_header

INPUT_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".txt")
_MONTH_TOKEN = re.compile(r"(?<!\d)(\d{4}-(?:0[1-9]|1[0-2]))(?!\d)")


@dataclass(frozen=True)
class InputFile:
    """One input file of a run, with the profile it is read by."""

    url: str
    name: str
    profile: str
    size: int
    checksum: str  # "sha256:<hex>" of the file's bytes


@dataclass(frozen=True)
class Discovery:
    """The files of a month, and the files seen but left out (with why)."""

    files: tuple[InputFile, ...]
    skipped: tuple[tuple[str, str], ...]


def _join(path: str, protocol: str | tuple[str, ...]) -> str:
    proto = protocol[0] if isinstance(protocol, tuple) else protocol
    if proto in ("file", "local"):
        return path
    return f"{proto}://{path}" if "://" not in path else path


def sha256_of(fs: fsspec.AbstractFileSystem, path: str) -> str:
    """The sha256 of a file's bytes, streamed."""
    digest = hashlib.sha256()
    with fs.open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def discover_month(input_url: str, month: str,
                   profiles: Sequence[ForceProfile]) -> Discovery:
    """List the input files of `month` under `input_url` and match each to a profile.

    If `input_url` has a `<month>/` or `month=<month>/` folder, that folder is the month;
    otherwise every file under `input_url` is taken, except files whose names carry another
    month (police.uk's `2019-01-city-of-london-street.csv`), which are listed as skipped.
    Raises `UnmatchedFileError` for a file no profile recognises, FileNotFoundError when the
    input does not exist.
    """
    fs, root = fsspec.core.url_to_fs(input_url)
    if not fs.exists(root):
        raise FileNotFoundError(f"input {input_url} does not exist")
    for candidate in (f"{root.rstrip('/')}/{month}", f"{root.rstrip('/')}/month={month}"):
        if fs.isdir(candidate):
            root = candidate
            break
    paths = [root] if fs.isfile(root) else sorted(fs.find(root))
    files: list[InputFile] = []
    skipped: list[tuple[str, str]] = []
    for path in paths:
        name = path.rsplit("/", 1)[-1]
        url = _join(path, fs.protocol)
        if name.startswith((".", "_")):
            continue
        if not name.lower().endswith(INPUT_SUFFIXES):
            skipped.append((url, "not an input file type (" + ", ".join(INPUT_SUFFIXES) + ")"))
            continue
        months = set(_MONTH_TOKEN.findall(name))
        if months and month not in months:
            skipped.append((url, f"file name is for {', '.join(sorted(months))}, not {month}"))
            continue
        profile = _profile_for(fs, path, name, profiles)
        files.append(InputFile(url=url, name=name, profile=profile.name,
                               size=int(fs.size(path)), checksum=sha256_of(fs, path)))
    names = [f.name for f in files]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(
            f"input files share a name ({', '.join(duplicates)}): records are keyed by file "
            "name and row, so names must be unique within a month"
        )
    return Discovery(tuple(files), tuple(skipped))


def _profile_for(fs: fsspec.AbstractFileSystem, path: str, name: str,
                 profiles: Sequence[ForceProfile]) -> ForceProfile:
    headers: dict[tuple[str, str, str], list[str] | None] = {}
    candidates = []
    for profile in profiles:
        key = (profile.format, profile.encoding, profile.delimiter)
        if key not in headers:
            try:
                headers[key] = read_header(lambda: fs.open(path, "rb"), *key)
            except (UnicodeDecodeError, ValueError):
                headers[key] = None
        if profile.matches(name, headers[key]):
            candidates.append(profile)
    if candidates:
        return match_profile(name, headers[(candidates[0].format, candidates[0].encoding,
                                            candidates[0].delimiter)], candidates)
    # Report the header as the most common reader sees it.
    shown = headers.get(("csv", "utf-8", ",")) or next(
        (h for h in headers.values() if h), None)
    return match_profile(name, shown, list(profiles))
