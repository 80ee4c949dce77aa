"""Storage through fsspec: one place that knows how local disks and object stores differ.

Local filesystems rename atomically, so a file is written under a temporary name and renamed,
and a folder is moved with one rename. Object stores (gs://, s3://) have no rename: a single
object upload is already atomic, and a folder "move" is a server-side copy then a delete.
"""

from __future__ import annotations

import uuid

import fsspec


def filesystem(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem and bare path of any fsspec URL (a local path, file://, gs://, ...)."""
    return fsspec.core.url_to_fs(url)


def is_local(fs: fsspec.AbstractFileSystem) -> bool:
    """True for filesystems where rename is atomic and cheap."""
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


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


def move_tree(fs: fsspec.AbstractFileSystem, source: str, target: str) -> None:
    """Move a folder: one rename locally, copy then delete on object stores."""
    if is_local(fs):
        fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        fs.mv(source, target, recursive=True)
        return
    fs.copy(source.rstrip("/"), target.rstrip("/"), recursive=True)
    fs.rm(source, recursive=True)
    fs.invalidate_cache()
