"""Storage through fsspec: one place that knows how local disks and object stores differ.

Local filesystems rename atomically, so a file is written under a temporary name and renamed,
and a folder is moved with one rename. Object stores (gs://, s3://) have no rename: a single
object upload is already atomic, and a folder "move" is a server-side copy then a delete.
Also the small shared reads: a JSON file or None, checksums, listings of forces and parts.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid

import fsspec

from crimegeo.store.layout import force_of, leaf


def filesystem(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem and bare path of any fsspec URL (a local path, file://, gs://, ...)."""
    return fsspec.core.url_to_fs(url)


def is_local(fs: fsspec.AbstractFileSystem) -> bool:
    """True for filesystems where rename is atomic and cheap."""
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


def unsafe_link(fs: fsspec.AbstractFileSystem, path: str, root: str) -> str | None:
    """Why an input listed under `root` must not be read, or None when it may be.

    On a local disk a file may be (or sit under) a symbolic link: one that loops or dangles
    cannot be read, and one that leads outside the input folder would read (and name in
    errors) a file the operator never gave us. `root` itself, named by the operator, is
    trusted. Object stores have no links, so this is None there.
    """
    if not is_local(fs) or path.rstrip("/") == root.rstrip("/"):
        return None
    try:
        target = os.path.realpath(path, strict=True)
    except OSError:  # ELOOP, or the target is gone
        return "a symbolic link that loops or leads nowhere: not read"
    base = os.path.realpath(root)
    if os.path.commonpath([base, target]) != base:
        return "a symbolic link to a file outside the input folder: not read"
    return None


def write_bytes_atomic(url: str, data: bytes) -> None:
    """Write `data` to `url` so that no reader ever sees a partial file."""
    fs, path = filesystem(url)
    parent = path.rsplit("/", 1)[0]
    if not is_local(fs):
        fs.pipe_file(path, data)  # one object upload: atomic on object stores
        return
    fs.makedirs(parent, exist_ok=True)
    temporary = f"{parent}/.tmp-{uuid.uuid4().hex}"
    with fs.open(temporary, "wb") as handle:
        handle.write(data)
    fs.mv(temporary, path)


def json_bytes(value: object, *, sort_keys: bool = False) -> bytes:
    """`value` as the output's JSON files hold it: indented by two, with a final newline."""
    return (json.dumps(value, indent=2, sort_keys=sort_keys) + "\n").encode()


def write_json_atomic(url: str, value: object, *, sort_keys: bool = True) -> str:
    """Write `value` as JSON to `url` atomically (keys sorted unless told); returns `url`."""
    write_bytes_atomic(url, json_bytes(value, sort_keys=sort_keys))
    return url


def read_file(fs: fsspec.AbstractFileSystem, path: str) -> bytes | None:
    """A file's bytes in one read, or None when it is not a readable file."""
    try:
        return fs.cat_file(path)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def read_bytes(url: str) -> bytes | None:
    """The bytes at `url` in one read, or None when there is no such file."""
    return read_file(*filesystem(url))


def read_json(url: str) -> dict | None:
    """A JSON file through fsspec, or None when it does not exist."""
    data = read_bytes(url)
    return None if data is None else json.loads(data)


def move_tree(fs: fsspec.AbstractFileSystem, source: str, target: str) -> None:
    """Move a folder: one rename locally, copy then delete on object stores."""
    if is_local(fs):
        fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        fs.mv(source, target, recursive=True)
        return
    fs.copy(source.rstrip("/"), target.rstrip("/"), recursive=True)
    fs.rm(source, recursive=True)
    fs.invalidate_cache()


def sha256_hex(data: bytes) -> str:
    """The sha256 of `data` as lower-case hex."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(fs: fsspec.AbstractFileSystem, path: str) -> str:
    """The sha256 of a file's bytes, streamed, as lower-case hex."""
    digest = hashlib.sha256()
    with fs.open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_of(fs: fsspec.AbstractFileSystem, path: str) -> str:
    """The sha256 of a file's bytes, streamed, as `sha256:<hex>` (how manifests record it)."""
    return "sha256:" + sha256_file(fs, path)


def children(fs: fsspec.AbstractFileSystem, path: str) -> list[str]:
    """The names directly under `path`, sorted; empty when it does not exist."""
    if not fs.exists(path):
        return []
    return sorted(leaf(p) for p in fs.ls(path, detail=False))


def force_folders(fs: fsspec.AbstractFileSystem, path: str) -> dict[str, str]:
    """The `force=CODE` folders directly under `path`: force code -> folder, by code."""
    if not fs.exists(path):
        return {}
    found = {}
    for folder in sorted(fs.ls(path, detail=False)):
        force = force_of(folder)
        if force is not None:
            found[force] = folder
    return found


def _is_part(path: str) -> bool:
    return path.endswith(".parquet") and not path.rsplit("/", 1)[-1].startswith((".", "_"))


def parquet_files(fs: fsspec.AbstractFileSystem, folder: str) -> list[str]:
    """The Parquet parts directly in `folder`, sorted (hidden and `_` names left out)."""
    if not fs.exists(folder):
        return []
    return sorted(path for path in fs.ls(folder, detail=False) if _is_part(path))


def find_parts(fs: fsspec.AbstractFileSystem, folder: str) -> list[str]:
    """Every Parquet part anywhere under `folder`, sorted; empty when it does not exist."""
    if not fs.exists(folder):
        return []
    return sorted(path for path in fs.find(folder) if _is_part(path))
