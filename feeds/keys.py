"""API keys for the force feeds: one file, salted hashes only, atomic updates.

A key looks like ``cgf.<key id>.<secret>``: the key id (12 hex digits) names the entry in the
keys file so that checking a key costs one hash, not one per entry; the secret is
``secrets.token_urlsafe(32)`` (256 random bits). The keys file is JSON::

    {"version": 1, "keys": [
      {"key_id": "3f9c0a1b2c4d", "force": "kent", "label": null,
       "kdf": "pbkdf2_sha256", "iterations": 300000, "salt": "<hex>", "hash": "<hex>",
       "created_at": "2024-04-02T09:00:00+00:00", "revoked_at": null}]}

``force`` is a registry force code, or ``"*"`` for an operator key that reads every force. The
key itself is shown once, when it is made, and never stored. Keys are compared in constant
time (:func:`hmac.compare_digest`). Writes go to a temporary file in the same folder, then
replace the file (``os.replace``), under an exclusive lock so two ``keys add`` never lose an
entry; the file is made readable by its owner only.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

OPERATOR = "*"
KEY_PREFIX = "cgf"
KDF = "pbkdf2_sha256"
#: PBKDF2-HMAC-SHA256 iterations for new keys (about 0.1 s per check here; checks are cached).
DEFAULT_ITERATIONS = 300_000
MIN_ITERATIONS = 100_000
#: The shape of a key: prefix, 12 hex digits of key id, a URL-safe base64 secret.
KEY_PATTERN = re.compile(r"^cgf\.([0-9a-f]{12})\.([A-Za-z0-9_-]{32,128})$")
FILE_VERSION = 1


class KeysFileError(ValueError):
    """The keys file is unreadable or not in the expected form."""


@dataclass(frozen=True)
class KeyEntry:
    """One key's record in the keys file (no secret: only its salted hash)."""

    key_id: str
    force: str
    salt: str
    hash: str
    created_at: str
    revoked_at: str | None = None
    label: str | None = None
    kdf: str = KDF
    iterations: int = DEFAULT_ITERATIONS

    @property
    def is_operator(self) -> bool:
        """Whether this key reads every force's feed."""
        return self.force == OPERATOR

    @property
    def active(self) -> bool:
        """Whether the key has not been revoked."""
        return self.revoked_at is None

    def to_json(self) -> dict:
        """The entry as stored in the keys file."""
        return asdict(self)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _derive(key: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", key.encode("utf-8"), salt, iterations)


def parse_key(key: str) -> str | None:
    """The key id of a well-formed key, or None when ``key`` is not shaped like one."""
    match = KEY_PATTERN.fullmatch(key) if isinstance(key, str) else None
    return match.group(1) if match else None


def new_key() -> tuple[str, str]:
    """A fresh ``(key_id, key)``; the key is ``cgf.<key_id>.<token_urlsafe(32)>``."""
    key_id = secrets.token_hex(6)
    return key_id, f"{KEY_PREFIX}.{key_id}.{secrets.token_urlsafe(32)}"


def hash_key(key: str, *, iterations: int = DEFAULT_ITERATIONS) -> tuple[str, str]:
    """``(salt_hex, hash_hex)`` of ``key`` with a new random 16-byte salt."""
    if iterations < MIN_ITERATIONS:
        raise ValueError(f"iterations must be at least {MIN_ITERATIONS}")
    salt = secrets.token_bytes(16)
    return salt.hex(), _derive(key, salt, iterations).hex()


def verify_key(key: str, entry: KeyEntry) -> bool:
    """Whether ``key`` is the key ``entry`` was made for (constant-time comparison)."""
    if entry.kdf != KDF:
        return False
    try:
        salt = bytes.fromhex(entry.salt)
        expected = bytes.fromhex(entry.hash)
    except ValueError:
        return False
    return hmac.compare_digest(_derive(key, salt, entry.iterations), expected)


@dataclass(frozen=True)
class KeyStore:
    """The entries of one keys file, by key id."""

    entries: tuple[KeyEntry, ...] = ()

    def get(self, key_id: str) -> KeyEntry | None:
        """The entry with this key id, or None."""
        for entry in self.entries:
            if entry.key_id == key_id:
                return entry
        return None

    def authenticate(self, key: str) -> KeyEntry | None:
        """The active entry ``key`` belongs to, or None for an unknown, wrong or revoked key."""
        key_id = parse_key(key)
        entry = self.get(key_id) if key_id else None
        if entry is None or not entry.active:
            return None
        return entry if verify_key(key, entry) else None

    def to_json(self) -> dict:
        """The keys file's content."""
        return {"version": FILE_VERSION, "keys": [e.to_json() for e in self.entries]}


def _entry_from_json(value: object) -> KeyEntry:
    if not isinstance(value, dict):
        raise KeysFileError("each key entry must be an object")
    try:
        entry = KeyEntry(**{k: value[k] for k in value if k in KeyEntry.__dataclass_fields__})
    except TypeError as error:
        raise KeysFileError(f"key entry is missing a field: {error}") from error
    if not re.fullmatch(r"[0-9a-f]{12}", str(entry.key_id)):
        raise KeysFileError(f"bad key id {entry.key_id!r}")
    if not isinstance(entry.iterations, int) or entry.iterations < MIN_ITERATIONS:
        raise KeysFileError(f"key {entry.key_id}: iterations must be >= {MIN_ITERATIONS}")
    return entry


def load_keys(path: str | os.PathLike[str]) -> KeyStore:
    """Read a keys file; a file that does not exist yet holds no keys."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return KeyStore()
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise KeysFileError(f"{path} is not JSON: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise KeysFileError(f"{path} must be an object with a 'keys' list")
    return KeyStore(tuple(_entry_from_json(item) for item in data["keys"]))


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then replace ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock for a read-modify-write of the keys file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(f".{path.name}.lock")
    with open(lock_path, "a+b") as lock:
        os.chmod(lock_path, 0o600)
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def save_keys(path: str | os.PathLike[str], store: KeyStore) -> None:
    """Write a keys file atomically, readable by its owner only."""
    data = (json.dumps(store.to_json(), indent=2) + "\n").encode()
    _write_atomic(Path(path), data)


def add_key(path: str | os.PathLike[str], force: str, *, label: str | None = None,
            iterations: int = DEFAULT_ITERATIONS) -> tuple[KeyEntry, str]:
    """Make a key for ``force`` (a validated code, or ``"*"``), store its hash, return it.

    Returns ``(entry, key)``; the key is not stored anywhere and cannot be recovered.
    """
    path = Path(path)
    key_id, key = new_key()
    salt, digest = hash_key(key, iterations=iterations)
    entry = KeyEntry(key_id=key_id, force=force, salt=salt, hash=digest, created_at=_now(),
                     label=label, iterations=iterations)
    with _locked(path):
        store = load_keys(path)
        if store.get(key_id) is not None:  # 48 random bits: practically never
            raise RuntimeError("key id collision, try again")
        save_keys(path, KeyStore((*store.entries, entry)))
    return entry, key


def revoke_keys(path: str | os.PathLike[str], force: str, *,
                key_id: str | None = None) -> list[KeyEntry]:
    """Revoke the active keys of ``force`` (or only ``key_id``); returns the revoked entries."""
    path = Path(path)
    with _locked(path):
        store = load_keys(path)
        now = _now()
        revoked: list[KeyEntry] = []
        entries = []
        for entry in store.entries:
            if (entry.force == force and entry.active
                    and (key_id is None or entry.key_id == key_id)):
                entry = KeyEntry(**{**entry.to_json(), "revoked_at": now})
                revoked.append(entry)
            entries.append(entry)
        if revoked:
            save_keys(path, KeyStore(tuple(entries)))
    return revoked
