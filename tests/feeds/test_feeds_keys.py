"""The keys file and the ``crimegeo feeds keys`` commands: hashes only, atomic, revocable."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crimegeo.feeds.cli import app as cli_app
from crimegeo.feeds.keys import (
    MIN_ITERATIONS,
    KeysFileError,
    add_key,
    load_keys,
    new_key,
    parse_key,
    revoke_keys,
)

runner = CliRunner()


def test_a_key_is_stored_only_as_a_salted_hash(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    entry_a, key_a = add_key(path, "kent")
    entry_b, key_b = add_key(path, "kent", iterations=MIN_ITERATIONS)
    text = path.read_text()
    assert key_a not in text and key_b not in text
    assert key_a.split(".")[2] not in text
    assert entry_a.salt != entry_b.salt and entry_a.hash != entry_b.hash
    assert entry_a.iterations >= 100_000 and entry_a.kdf == "pbkdf2_sha256"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(text)["keys"]
    assert {e["force"] for e in stored} == {"kent"}
    assert all(e["revoked_at"] is None and e["created_at"] for e in stored)
    store = load_keys(path)
    assert store.authenticate(key_a).key_id == entry_a.key_id
    assert store.authenticate(key_b).key_id == entry_b.key_id
    assert store.authenticate(key_a[:-1] + ("A" if key_a[-1] != "A" else "B")) is None
    assert store.authenticate("cgf." + entry_a.key_id + ".x") is None
    assert store.authenticate("") is None


def test_keys_have_the_documented_shape() -> None:
    _, key = new_key()
    assert parse_key(key) is not None
    assert len(key.split(".")[2]) >= 43  # token_urlsafe(32)
    for bad in ("", "cgf", "cgf.zz.abc", "cgf.0123456789ab", "Bearer x", "cgf.0123456789ab.a b"):
        assert parse_key(bad) is None


def test_revoking_keeps_the_entry_and_refuses_the_key(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    entry, key = add_key(path, "kent", iterations=MIN_ITERATIONS)
    _, other = add_key(path, "merseyside", iterations=MIN_ITERATIONS)
    revoked = revoke_keys(path, "kent")
    assert [e.key_id for e in revoked] == [entry.key_id]
    store = load_keys(path)
    assert store.get(entry.key_id).revoked_at is not None
    assert store.authenticate(key) is None
    assert store.authenticate(other) is not None
    assert revoke_keys(path, "kent") == []


def test_concurrent_adds_lose_no_entry(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    threads = [threading.Thread(target=add_key, args=(path, "kent"),
                                kwargs={"iterations": MIN_ITERATIONS}) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(load_keys(path).entries) == 8
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".keys.json.")
                and not p.name.endswith(".lock")]


def test_a_missing_file_has_no_keys_and_a_broken_one_is_an_error(tmp_path: Path) -> None:
    assert load_keys(tmp_path / "absent.json").entries == ()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(KeysFileError):
        load_keys(broken)
    broken.write_text(json.dumps({"keys": [{"key_id": "abc"}]}))
    with pytest.raises(KeysFileError):
        load_keys(broken)


def test_cli_add_prints_the_key_once_as_the_last_line(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    result = runner.invoke(cli_app, ["keys", "add", "kent", "--keys", str(path),
                                     "--label", "Kent data team",
                                     "--iterations", str(MIN_ITERATIONS)])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert parse_key(key) is not None
    assert result.output.count(key) == 1
    assert load_keys(path).authenticate(key).force == "kent"
    listing = runner.invoke(cli_app, ["keys", "list", "--keys", str(path)])
    assert listing.exit_code == 0
    assert "kent" in listing.output and "Kent data team" in listing.output
    assert key not in listing.output and load_keys(path).entries[0].hash not in listing.output


def test_cli_operator_keys_and_unknown_forces(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    result = runner.invoke(cli_app, ["keys", "add", "*", "--keys", str(path),
                                     "--iterations", str(MIN_ITERATIONS)])
    assert result.exit_code == 0
    assert load_keys(path).authenticate(result.output.strip().splitlines()[-1]).is_operator
    result = runner.invoke(cli_app, ["keys", "add", "kentt", "--keys", str(path)])
    assert result.exit_code == 2
    assert "kent" in result.output  # suggests the close code
    assert runner.invoke(cli_app, ["keys", "add", "--keys", str(path),
                                   "--iterations", "1000", "kent"]).exit_code != 0


def test_cli_revoke(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    add_key(path, "kent", iterations=MIN_ITERATIONS)
    result = runner.invoke(cli_app, ["keys", "revoke", "kent", "--keys", str(path)])
    assert result.exit_code == 0 and "revoked key" in result.output
    again = runner.invoke(cli_app, ["keys", "revoke", "kent", "--keys", str(path)])
    assert again.exit_code == 1


@pytest.mark.parametrize("command", [[], ["serve"], ["keys"], ["keys", "add"],
                                     ["keys", "revoke"], ["keys", "list"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(cli_app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output
