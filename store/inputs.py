"""Find a month's input files through fsspec and match each to a force profile.

Runs on the driver before the pipeline starts, so an unrecognised file stops the run at once
with an error naming the file and the profiles tried, before any work is done.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from crimegeo.standards.months import months_in
from crimegeo.standards.profiles import ForceProfile, profile_for_file
from crimegeo.store.files import filesystem, sha256_of, unsafe_link

INPUT_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".txt")
#: Files whose checksums are read at once: hashing and reading let go of the interpreter, so
#: a month's files are checksummed side by side (and a bucket's reads overlap).
CHECKSUM_THREADS = 4


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


def discover_month(input_url: str, month: str,
                   profiles: Sequence[ForceProfile]) -> Discovery:
    """List the input files of `month` under `input_url` and match each to a profile.

    If `input_url` has a `<month>/` or `month=<month>/` folder, that folder is the month;
    otherwise every file under `input_url` is taken, except files whose names carry another
    month (police.uk's `2019-01-city-of-london-street.csv`), which are listed as skipped, as
    are empty (0-byte) files. The files' checksums are read side by side (CHECKSUM_THREADS).
    Raises `UnmatchedFileError` for a file no profile recognises, FileNotFoundError when the
    input does not exist.
    """
    fs, root = filesystem(input_url)
    if not fs.exists(root):
        raise FileNotFoundError(f"input {input_url} does not exist")
    input_root = root
    base = root.rstrip("/")
    for candidate in (f"{base}/{month}", f"{base}/month={month}"):
        if fs.isdir(candidate):
            root = candidate
            break
    paths = [root] if fs.isfile(root) else sorted(fs.find(root))
    found: list[tuple[str, str, str, str, int]] = []  # path, url, name, profile, size
    skipped: list[tuple[str, str]] = []
    for path in paths:
        name = path.rsplit("/", 1)[-1]
        url = _join(path, fs.protocol)
        if name.startswith((".", "_")):
            continue
        if not name.lower().endswith(INPUT_SUFFIXES):
            skipped.append((url, "not an input file type (" + ", ".join(INPUT_SUFFIXES) + ")"))
            continue
        refused = unsafe_link(fs, path, input_root)
        if refused:
            skipped.append((url, refused))
            continue
        months = months_in(name)
        if months and month not in months:
            skipped.append((url, f"file name is for {', '.join(sorted(months))}, not {month}"))
            continue
        size = int(fs.size(path))
        if size == 0:  # an upload cut short, or a placeholder: nothing to read, no format
            skipped.append((url, "an empty file (0 bytes): nothing to read"))
            continue
        profile = profile_for_file(lambda path=path: fs.open(path, "rb"), name, profiles)
        found.append((path, url, name, profile.name, size))
    names = [name for _, _, name, _, _ in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(
            f"input files share a name ({', '.join(duplicates)}): records are keyed by file "
            "name and row, so names must be unique within a month"
        )
    paths = [path for path, *_ in found]
    threads = min(CHECKSUM_THREADS, os.cpu_count() or 1, len(paths))
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            checksums = list(pool.map(lambda path: sha256_of(fs, path), paths))
    else:
        checksums = [sha256_of(fs, path) for path in paths]
    files = tuple(InputFile(url=url, name=name, profile=profile, size=size, checksum=checksum)
                  for (_, url, name, profile, size), checksum in zip(found, checksums,
                                                                     strict=True))
    return Discovery(files, tuple(skipped))
