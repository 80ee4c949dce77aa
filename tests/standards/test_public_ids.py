"""Public ids: keyed one-way ids in police.uk's shape; police.uk's own ids pass; the key is
read from a file or the environment, checked, and never shown."""

from __future__ import annotations

import hmac
import pickle
from pathlib import Path

import pyarrow as pa
import pytest

from crimegeo.standards.profiles import FORCE_REFERENCE, POLICE_UK_PERSISTENT_ID
from crimegeo.standards.public_ids import (
    KEY_ENVIRONMENT_VARIABLE,
    PublicIdKey,
    PublicIdKeyError,
    keyed_ids,
    load_public_id_key,
    public_ids,
    refuse_without_key,
    write_new_key,
)

KEY = PublicIdKey(b"an-operator-key-of-at-least-32-characters")
POLICE_UK_ID = "69cf6aa3" + "0" * 56


@pytest.mark.parametrize("secret", [b"k" * 40, b"k" * 100])  # shorter and longer than a block
def test_keyed_ids_are_hmac_sha256_of_force_and_reference(secret: bytes) -> None:
    ids = keyed_ids(PublicIdKey(secret), pa.array(["kent", "kent", "west-midlands", None]),
                    pa.array(["KT/24/000370", "KT/24/000466", "KT/24/000370", "x"]))
    expected = [hmac.new(secret, f"{force}\x1f{ref}".encode(), "sha256").hexdigest()
                for force, ref in (("kent", "KT/24/000370"), ("kent", "KT/24/000466"),
                                   ("west-midlands", "KT/24/000370"))]
    assert ids.to_pylist() == [*expected, None]
    assert len(set(expected)) == 3  # another force's same reference is another id


def test_force_references_are_keyed_and_police_uk_ids_pass() -> None:
    refs = pa.array(["KT/24/000370", "cg-0123456789abcdef0123"])
    forces = pa.array(["kent", "kent"])
    keyed = public_ids(refs, forces, FORCE_REFERENCE, KEY).to_pylist()
    assert keyed == keyed_ids(KEY, forces, refs).to_pylist()
    assert keyed == public_ids(refs, forces, FORCE_REFERENCE, KEY).to_pylist()  # stable
    other = PublicIdKey(b"another-operator-key-of-32-characters-or-more")
    assert not set(keyed) & set(public_ids(refs, forces, FORCE_REFERENCE, other).to_pylist())
    mixed = pa.array([POLICE_UK_ID, "cg-0123456789abcdef0123", "KT/24/000370"])
    three = pa.array(["city-of-london"] * 3)
    published = public_ids(mixed, three, POLICE_UK_PERSISTENT_ID, KEY).to_pylist()
    assert published[0] == POLICE_UK_ID
    assert published[1:] == keyed_ids(KEY, three.slice(1), mixed.slice(1)).to_pylist()
    # Without a key police.uk's ids still pass; what would need the key is left empty.
    assert public_ids(mixed, three, POLICE_UK_PERSISTENT_ID, None).to_pylist() == [
        POLICE_UK_ID, None, None]


def test_force_references_without_a_key_raise_rather_than_publish() -> None:
    with pytest.raises(PublicIdKeyError, match="crimegeo public-id-key FILE"):
        public_ids(pa.array(["KT/24/000370"]), pa.array(["kent"]), FORCE_REFERENCE, None)
    with pytest.raises(PublicIdKeyError, match="kent.csv hold force references"):
        refuse_without_key("2024-03", [("kent.csv", FORCE_REFERENCE),
                                       ("city.csv", POLICE_UK_PERSISTENT_ID)], None)
    refuse_without_key("2024-03", [("city.csv", POLICE_UK_PERSISTENT_ID)], None)
    refuse_without_key("2024-03", [("kent.csv", FORCE_REFERENCE)], KEY)


def test_the_key_comes_from_its_file_before_the_environment(tmp_path: Path) -> None:
    made = write_new_key(tmp_path / "k" / "public-id.key")
    env = {KEY_ENVIRONMENT_VARIABLE: "e" * 40}
    assert load_public_id_key(str(tmp_path / "k" / "public-id.key"), env) == made
    assert load_public_id_key(None, env) == PublicIdKey(b"e" * 40)
    assert load_public_id_key(None, {}) is None
    with pytest.raises(PublicIdKeyError, match="already exists"):
        write_new_key(tmp_path / "k" / "public-id.key")
    with pytest.raises(PublicIdKeyError, match=r"nowhere\.key cannot be read"):
        load_public_id_key(str(tmp_path / "nowhere.key"), env)
    (tmp_path / "short.key").write_text("password\n")
    with pytest.raises(PublicIdKeyError, match="8 characters; at least 32"):
        load_public_id_key(str(tmp_path / "short.key"), env)


def test_the_key_is_never_shown_only_its_one_way_id() -> None:
    assert "an-operator-key" not in repr(KEY) and KEY.key_id in repr(KEY)
    assert len(KEY.key_id) == 16 and KEY.key_id not in KEY.secret.decode()
    assert pickle.loads(pickle.dumps(KEY)) == KEY  # it travels to workers with the DoFns
